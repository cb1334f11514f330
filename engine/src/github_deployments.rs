//! A deploy as a GitHub deployment: the requests of GitHub's REST API that create a deployment
//! for an environment (`POST /repos/{owner}/{repo}/deployments`) and move it through its
//! statuses (`POST /repos/{owner}/{repo}/deployments/{id}/statuses`), and the texts they carry
//! fitted to GitHub's rules by construction (a status's description: at most
//! [`MAX_DESCRIPTION_CHARS`] characters, no control characters).
//!
//! Like [`crate::github`], the requests go through a [`Kube`] over a host whose base URL is
//! `GITHUB_API_URL` and whose bearer token is the `github-token` (`deployments: write`); the
//! host sends the `User-Agent` GitHub requires and reads at most
//! [`crate::host::MAX_ANSWER_BYTES`] of an answer. The host sends `Accept: application/json`,
//! which GitHub serves as `application/vnd.github+json`, and no `X-GitHub-Api-Version`, which
//! GitHub then takes as `2022-11-28`: the version these requests are written for.
//!
//! Not for: deciding when a deploy's GitHub deployment changes state
//! (`pipeline::github_deployment` does).

use serde::Deserialize;
use serde_json::{Value, json};

use crate::github::{GithubError, owner_and_name};
use crate::host::Host;
use crate::kube::client::{Kube, Landed, Sent};
use crate::kube::request::{Request, encode};

/// GitHub's limit for a deployment status's description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 140;

/// A deployment status's state, as GitHub names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    InProgress,
    Success,
    Failure,
    Error,
    Inactive,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::InProgress => "in_progress",
            State::Success => "success",
            State::Failure => "failure",
            State::Error => "error",
            State::Inactive => "inactive",
        }
    }
}

/// `text` as a status's description: each run of control characters and whitespace (line
/// breaks, tabs, escapes from cluster messages) one space, trimmed, and cut to at most
/// [`MAX_DESCRIPTION_CHARS`] characters — not bytes — ending with `…` when cut.
pub fn description(text: &str) -> String {
    let mut flat = String::with_capacity(text.len().min(4 * MAX_DESCRIPTION_CHARS));
    let mut gap = false;
    for c in text.chars() {
        if c.is_control() || c.is_whitespace() {
            gap = !flat.is_empty();
        } else {
            if gap {
                flat.push(' ');
                gap = false;
            }
            flat.push(c);
        }
    }
    if flat.chars().count() <= MAX_DESCRIPTION_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// What a new deployment says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeployment<'a> {
    /// The branch, tag or SHA deployed.
    pub git_ref: &'a str,
    pub environment: &'a str,
    /// Carried in the deployment's `payload` for whoever reads its events.
    pub payload: Value,
    pub description: &'a str,
}

/// The request that creates a deployment in `repo` (`owner/name`): never merging the default
/// branch in (`auto_merge: false`), with no commit status required (`required_contexts: []`:
/// the checks of the job that deploys are still running), neither transient nor production
/// by our say (GitHub decides `production_environment` by the environment's name).
pub fn create_request(repo: &str, new: &NewDeployment) -> Result<Request, GithubError> {
    let (owner, name) = owner_and_name(repo)?;
    let body = json!({
        "ref": new.git_ref,
        "environment": new.environment,
        "auto_merge": false,
        "required_contexts": [],
        "transient_environment": false,
        "payload": new.payload,
        "description": description(new.description),
    });
    Ok(Request::post_json(
        format!("/repos/{owner}/{name}/deployments"),
        &body,
    ))
}

/// A status to add to a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStatus<'a> {
    pub state: State,
    pub log_url: Option<&'a str>,
    pub environment_url: Option<&'a str>,
    pub description: &'a str,
}

/// The request that adds `status` to deployment `id` of `repo`. `auto_inactive` is explicit:
/// a success marks the environment's earlier successful deployments inactive (GitHub's way of
/// showing which one is live); no other state does.
pub fn status_request(repo: &str, id: i64, status: &NewStatus) -> Result<Request, GithubError> {
    let (owner, name) = owner_and_name(repo)?;
    let mut body = json!({
        "state": status.state.as_str(),
        "description": description(status.description),
        "auto_inactive": status.state == State::Success,
    });
    if let Some(url) = status.log_url {
        body["log_url"] = url.into();
    }
    if let Some(url) = status.environment_url {
        body["environment_url"] = url.into();
    }
    Ok(Request::post_json(
        format!("/repos/{owner}/{name}/deployments/{id}/statuses"),
        &body,
    ))
}

#[derive(Deserialize)]
struct Created {
    id: i64,
}

/// How many of an environment's newest deployments are searched for one whose creation
/// failed to answer: what else the environment got meanwhile (seconds of retries) fits.
const RECENT: usize = 30;

/// Creates a deployment; its id. GitHub answers 202 (with a message, no deployment) when it
/// merged the default branch instead, which `auto_merge: false` rules out: read as an error.
///
/// Creating is not idempotent: a 502 or a dropped connection may come after GitHub stored the
/// deployment. So once an attempt may have taken effect, the environment's newest deployments
/// of the same ref are searched ([`Kube::send_once`]) for one with the very payload sent, which
/// the caller makes unique to the deploy step: before sending again and after the last attempt.
/// A match is the deployment; a search that fails means the request is not sent again.
pub async fn create<H: Host>(
    api: &Kube<H>,
    repo: &str,
    new: &NewDeployment<'_>,
) -> Result<i64, GithubError> {
    let request = create_request(repo, new)?;
    let answer = match api
        .send_once(&request, async || find(api, repo, new).await)
        .await?
    {
        Sent::Landed(id) => return Ok(id),
        Sent::Answered(answer) => answer,
    };
    let created: Created = serde_json::from_slice(&answer.body).map_err(|e| {
        GithubError::InvalidAnswer(format!("the deployment's answer ({}): {e}", answer.status))
    })?;
    Ok(created.id)
}

/// Whether `repo` has a deployment that `new` would create: same environment, ref and payload,
/// among the [`RECENT`] newest; [`Landed::Unknown`] when the search fails.
async fn find<H: Host>(api: &Kube<H>, repo: &str, new: &NewDeployment<'_>) -> Landed<i64> {
    let Ok((owner, name)) = owner_and_name(repo) else {
        return Landed::Unknown;
    };
    let request = Request::get(format!(
        "/repos/{owner}/{name}/deployments?environment={}&ref={}&per_page={RECENT}",
        encode(new.environment),
        encode(new.git_ref)
    ));
    // One attempt: the creation's own retries are the retries, and each waits its back-off.
    let listed = match api.host().send(&request).await {
        Ok(answer) if answer.is_success() => serde_json::from_slice::<Value>(&answer.body).ok(),
        _ => None,
    };
    let Some(listed) = listed.as_ref().and_then(Value::as_array) else {
        return Landed::Unknown;
    };
    listed
        .iter()
        .find(|d| d["environment"] == new.environment && d["payload"] == new.payload)
        .and_then(|d| d["id"].as_i64())
        .map_or(Landed::Absent, Landed::Found)
}

/// Adds a status to deployment `id`.
pub async fn set_status<H: Host>(
    api: &Kube<H>,
    repo: &str,
    id: i64,
    status: &NewStatus<'_>,
) -> Result<(), GithubError> {
    api.send(&status_request(repo, id, status)?).await?;
    Ok(())
}

/// The page people open for the deployments of `environment` in `repo`, on the web server
/// `web` (`GITHUB_SERVER_URL`): `{web}/{owner}/{name}/deployments/{environment}`. (The API's
/// `url` of a deployment is for programs, and GitHub has no page for one deployment alone.)
pub fn environment_page(web: &str, repo: &str, environment: &str) -> Result<String, GithubError> {
    let (owner, name) = owner_and_name(repo)?;
    Ok(format!(
        "{}/{owner}/{name}/deployments/{}",
        web.trim_end_matches('/'),
        encode(environment)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::client::tests::{Scripted, answer};

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        futures_util::FutureExt::now_or_never(future).expect("scripted futures never wait")
    }

    #[test]
    fn descriptions_are_one_line_of_at_most_140_characters() {
        assert_eq!(description("deployed"), "deployed");
        assert_eq!(
            description("  api:\tImagePullBackOff\r\n\u{1b}[31mred\u{7}\u{0}  "),
            "api: ImagePullBackOff [31mred"
        );
        let long = "é".repeat(300);
        let cut = description(&long);
        assert_eq!(cut.chars().count(), MAX_DESCRIPTION_CHARS);
        assert!(cut.ends_with('…'));
        assert!(cut.len() > MAX_DESCRIPTION_CHARS, "counted in characters");
        let exact = "🚀".repeat(MAX_DESCRIPTION_CHARS);
        assert_eq!(description(&exact), exact, "140 characters fit");
        let words = format!("{} tail", "word ".repeat(40));
        let cut = description(&words);
        assert!(cut.chars().count() <= MAX_DESCRIPTION_CHARS);
        assert!(cut.ends_with("word…"), "{cut}");
        assert_eq!(description("\n\u{85}\u{2028}"), "");
    }

    #[test]
    fn the_requests_are_shaped_as_github_documents_them() {
        let new = NewDeployment {
            git_ref: "4f2a9c1e",
            environment: "prod eu",
            payload: json!({"shiplog_deploy_id": 7}),
            description: "deploy api\nto prod",
        };
        let request = create_request("acme/shop", &new).unwrap();
        assert_eq!(request.path, "/repos/acme/shop/deployments");
        let body: Value = serde_json::from_slice(request.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"ref": "4f2a9c1e", "environment": "prod eu", "auto_merge": false,
                   "required_contexts": [], "transient_environment": false,
                   "payload": {"shiplog_deploy_id": 7}, "description": "deploy api to prod"})
        );
        let status = NewStatus {
            state: State::Failure,
            log_url: Some("https://github.com/acme/shop/actions/runs/7/attempts/1"),
            environment_url: None,
            description: &"x".repeat(500),
        };
        let request = status_request("acme/shop", 9, &status).unwrap();
        assert_eq!(request.path, "/repos/acme/shop/deployments/9/statuses");
        let body: Value = serde_json::from_slice(request.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["state"], "failure");
        assert_eq!(body["auto_inactive"], false);
        assert_eq!(body["description"].as_str().unwrap().chars().count(), 140);
        assert!(body.get("environment_url").is_none());
        let success = NewStatus {
            state: State::Success,
            ..status
        };
        let body: Value = serde_json::from_slice(
            status_request("acme/shop", 9, &success)
                .unwrap()
                .body
                .as_deref()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(body["auto_inactive"], true);
        assert_eq!(
            environment_page("https://github.com/", "acme/shop", "prod eu").unwrap(),
            "https://github.com/acme/shop/deployments/prod%20eu"
        );
    }

    #[test]
    fn a_created_deployment_is_read_and_a_refusal_is_told() {
        let host = Scripted::default();
        host.answers.borrow_mut().extend([
            answer(201, r#"{"id": 1234, "url": "https://api.github.com/x"}"#),
            answer(
                403,
                r#"{"message":"Resource not accessible by integration"}"#,
            ),
        ]);
        let api = Kube::new(host, crate::github::BACKOFF);
        let new = NewDeployment {
            git_ref: "main",
            environment: "prod",
            payload: json!({}),
            description: "",
        };
        assert_eq!(block_on(create(&api, "acme/shop", &new)), Ok(1234));
        assert!(matches!(
            block_on(create(&api, "acme/shop", &new)),
            Err(GithubError::Refused { status: 403, .. })
        ));
    }

    #[test]
    fn a_creation_whose_answer_was_lost_is_found_rather_than_repeated() {
        let new = NewDeployment {
            git_ref: "4f2a9c1e",
            environment: "prod",
            payload: json!({"shiplog_step": "7/1/deploy/api"}),
            description: "",
        };
        let listing = |payload: &Value| {
            answer(
                200,
                &json!([{"id": 41, "environment": "prod", "payload": {"shiplog_step": "6/1/deploy/api"}},
                        {"id": 55, "environment": "prod", "payload": payload}])
                .to_string(),
            )
        };
        let (ours, another) = (
            listing(&new.payload),
            listing(&json!({"shiplog_step": "x"})),
        );
        let lost = || answer(502, "Bad Gateway");
        let unknown = Err(GithubError::Unreachable(String::new()));
        // (what GitHub answers in turn, what `create` returns, how many POSTs it sent)
        let cases = [
            // Stored, then 502: the search finds it and nothing is sent again.
            (vec![lost(), ours.clone()], Ok(55), 1),
            // Not stored (only other steps' deployments are listed): sent again.
            (
                vec![lost(), another.clone(), answer(201, r#"{"id": 56}"#)],
                Ok(56),
                2,
            ),
            // Stored on the last attempt: found after it, not reported as an error.
            (
                vec![
                    lost(),
                    another.clone(),
                    lost(),
                    another.clone(),
                    lost(),
                    another,
                    lost(),
                    ours.clone(),
                ],
                Ok(55),
                4,
            ),
            // The search fails: not sent again; searched again after the back-off.
            (vec![lost(), lost(), ours], Ok(55), 1),
            // The search never works: an error, and still one POST.
            (vec![lost(), lost(), lost(), lost(), lost()], unknown, 1),
        ];
        for (answers, expected, posts) in cases {
            let host = Scripted::default();
            host.answers.borrow_mut().extend(answers);
            let api = Kube::new(host, crate::github::BACKOFF);
            let created = block_on(create(&api, "acme/shop", &new));
            let sent = api.host().sent.borrow();
            match (&created, &expected) {
                (Err(GithubError::Unreachable(_)), Err(_)) => {}
                _ => assert_eq!(created, expected, "{sent:#?}"),
            }
            let creations = sent.iter().filter(|s| s.starts_with("POST")).count();
            assert_eq!(creations, posts, "{sent:#?}");
            assert!(
                api.host().answers.borrow().is_empty(),
                "every answer was asked for"
            );
        }
    }
}
