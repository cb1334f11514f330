//! Listing the jobs of a run attempt against a local GitHub stand-in ([`github_standin`]),
//! through the native host as the `shiplog` binary would: finding the current job and its
//! failed steps, paging, and GitHub's refusals (wrong token, no `User-Agent`, unknown run);
//! and a deploy's GitHub deployment and its statuses ([`deployments`]).

mod deployments;

use shiplog_testkit::github as github_standin;

use github_standin::{GithubStandin, NO_USER_AGENT, job};
use shiplog::http::{HttpHost, USER_AGENT};
use shiplog_engine::github::{
    self, FailedStep, GithubError, current_job, failed_steps, fetch_jobs,
};
use shiplog_engine::kube::client::Kube;

const TOKEN: &str = "ghs_standinToken0123456789";
const REPO: &str = "acme/shop";

/// The GitHub API as the post step sees it, with `token`.
fn api(standin: &GithubStandin, token: Option<&str>) -> Kube<HttpHost> {
    let host = HttpHost::public(&standin.base, token.map(str::to_owned)).unwrap();
    Kube::new(host, github::BACKOFF)
}

/// A matrix run: this job on `runner-3` with a failed build, its sibling on `runner-4`.
fn matrix_run() -> Vec<serde_json::Value> {
    vec![
        job(
            101,
            "build",
            "completed",
            Some("runner-3"),
            &[("Set up job", "completed", Some("success"))],
        ),
        job(
            102,
            "deploy (prod, eu)",
            "in_progress",
            Some("runner-3"),
            &[
                ("Set up job", "completed", Some("success")),
                ("Build image", "completed", Some("failure")),
                ("Smoke test", "completed", Some("cancelled")),
                ("Deploy", "completed", Some("skipped")),
                ("Post shiplog", "in_progress", None),
            ],
        ),
        job(
            103,
            "deploy (prod, us)",
            "in_progress",
            Some("runner-4"),
            &[("Set up job", "in_progress", None)],
        ),
    ]
}

#[tokio::test]
async fn the_current_job_and_its_failed_steps_are_found() {
    let standin = GithubStandin::start(TOKEN).await;
    standin.serve_jobs(REPO, 7, 2, matrix_run());
    let jobs = fetch_jobs(&api(&standin, Some(TOKEN)), REPO, 7, 2)
        .await
        .unwrap();
    assert_eq!((jobs.total_count, jobs.jobs.len()), (3, 3));

    let this = current_job(&jobs.jobs, Some("runner-3"), "deploy").unwrap();
    assert_eq!(this.id, 102);
    assert_eq!(
        failed_steps(this),
        [FailedStep {
            name: "Build image".into(),
            number: 2,
            log_url: Some("https://github.com/acme/shop/actions/runs/7/job/102#step:2:1".into()),
        }]
    );
    assert_eq!(
        current_job(&jobs.jobs, None, "deploy"),
        None,
        "by name alone, two matrix jobs are running"
    );

    let seen = standin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].path,
        "/repos/acme/shop/actions/runs/7/attempts/2/jobs?per_page=100"
    );
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(seen[0].user_agent.as_deref(), Some(USER_AGENT));
    assert!(USER_AGENT.starts_with("shiplog/"));
}

#[tokio::test]
async fn a_long_matrix_is_read_page_by_page() {
    let standin = GithubStandin::start(TOKEN).await;
    let mut jobs: Vec<_> = (0..149)
        .map(|i| {
            let name = format!("test ({i})");
            job(i, &name, "completed", Some("hosted"), &[])
        })
        .collect();
    jobs.push(job(
        500,
        "deploy",
        "in_progress",
        Some("runner-9"),
        &[("Apply", "completed", Some("failure"))],
    ));
    standin.serve_jobs(REPO, 8, 1, jobs);
    let all = fetch_jobs(&api(&standin, Some(TOKEN)), REPO, 8, 1)
        .await
        .unwrap();
    assert_eq!(all.jobs.len(), 150);
    let this = current_job(&all.jobs, Some("runner-9"), "deploy").unwrap();
    assert_eq!(failed_steps(this)[0].name, "Apply");
    let paths: Vec<String> = standin.requests().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        [
            "/repos/acme/shop/actions/runs/8/attempts/1/jobs?per_page=100",
            "/repos/acme/shop/actions/runs/8/attempts/1/jobs?per_page=100&page=2",
        ]
    );
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused() {
    let standin = GithubStandin::start(TOKEN).await;
    standin.serve_jobs(REPO, 7, 1, matrix_run());
    for token in [Some("ghs_wrong"), None] {
        let error = fetch_jobs(&api(&standin, token), REPO, 7, 1)
            .await
            .unwrap_err();
        assert_eq!(
            error,
            GithubError::Refused {
                status: 401,
                message: "Bad credentials".into()
            },
            "token {token:?}"
        );
        assert_eq!(
            error.to_string(),
            "GitHub refused the request (401): Bad credentials"
        );
    }
    let sent: Vec<Option<String>> = standin
        .requests()
        .into_iter()
        .map(|seen| seen.authorization)
        .collect();
    assert_eq!(
        sent,
        [Some("Bearer ghs_wrong".into()), None],
        "one request each: refusals are not retried"
    );
}

#[tokio::test]
async fn a_request_without_a_user_agent_is_forbidden() {
    let standin = GithubStandin::start(TOKEN).await;
    standin.serve_jobs(REPO, 7, 1, matrix_run());
    let url = format!(
        "{}/repos/acme/shop/actions/runs/7/attempts/1/jobs?per_page=100",
        standin.base
    );
    // reqwest sends no `User-Agent` unless told to, as a bare client of GitHub would.
    let bare = reqwest::Client::new()
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 403);
    assert_eq!(bare.text().await.unwrap(), NO_USER_AGENT);
    assert_eq!(standin.requests()[0].user_agent, None);

    let jobs = fetch_jobs(&api(&standin, Some(TOKEN)), REPO, 7, 1)
        .await
        .expect("the native host sends shiplog's User-Agent");
    assert_eq!(jobs.jobs.len(), 3);
}

#[tokio::test]
async fn an_unknown_run_is_not_found() {
    let standin = GithubStandin::start(TOKEN).await;
    standin.serve_jobs(REPO, 7, 1, matrix_run());
    let api = api(&standin, Some(TOKEN));
    for (repo, run, attempt) in [(REPO, 7, 2), (REPO, 6, 1), ("acme/other", 7, 1)] {
        let error = fetch_jobs(&api, repo, run, attempt).await.unwrap_err();
        assert_eq!(
            error,
            GithubError::Api {
                status: 404,
                message: "Not Found".into()
            }
        );
    }
    assert_eq!(
        fetch_jobs(&api, "not-a-repo", 7, 1).await.unwrap_err(),
        GithubError::Repository("not-a-repo".into())
    );
}

#[tokio::test]
async fn the_token_service_needs_its_bearer_and_signs_for_the_requested_audience() {
    use shiplog_server::auth::oidc::{Oidc, OidcConfig};
    use shiplog_server::auth::scope::RepoScope;

    const REQUEST_TOKEN: &str = "runtime-request-token";
    let standin = GithubStandin::start(TOKEN).await;
    standin.issue_id_tokens(REPO, REQUEST_TOKEN);
    let client = reqwest::Client::new();
    let url = format!(
        "{}&audience=https%3A%2F%2Fshiplog.test",
        standin.id_token_request_url()
    );
    for bearer in [None, Some("wrong"), Some(TOKEN)] {
        let mut request = client.get(&url);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let status = request.send().await.unwrap().status().as_u16();
        assert_eq!(status, 401, "{bearer:?}");
    }
    assert!(standin.issued_id_tokens().is_empty());

    // Verified as a history server would: the stand-in serves the issuer's keys.
    let verifier = |audience: &str| {
        Oidc::new(OidcConfig {
            issuer: standin.base.clone(),
            audience: audience.to_owned(),
            allow: RepoScope::parse(["acme/*"]).unwrap(),
            min_refresh: std::time::Duration::from_secs(60),
        })
        .unwrap()
    };
    for (url, audience) in [
        (url.clone(), "https://shiplog.test"),
        (standin.id_token_request_url(), "https://github.com/acme"),
    ] {
        let answer: serde_json::Value = client
            .get(&url)
            .bearer_auth(REQUEST_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = answer["value"].as_str().unwrap();
        let identity = verifier(audience).verify(token).await.unwrap();
        assert_eq!(identity.repository, REPO);
        assert!(
            verifier("https://elsewhere.test")
                .verify(token)
                .await
                .is_err(),
            "the audience is in the token"
        );
    }
    assert_eq!(standin.issued_id_tokens().len(), 2);
}
