//! `mode: plan` on a pull request: the plan, as the job summary shows it, in one comment on the
//! pull request, updated on every push (`shiplog_engine::pr_comment`). Needs `github-token`
//! with `pull-requests: write`; any trouble is a warning, never a failed step.

use shiplog_engine::github::{self, GithubError};
use shiplog_engine::kube::client::Kube;
use shiplog_engine::pipeline::Platform as _;
use shiplog_engine::pr_comment::{self, Upserted};
use shiplog_engine::sources::FileSystem as _;

use crate::host::NodeHost;
use crate::platform::Node;
use crate::step_inputs::StepInputs;

/// Comments `summary` on the pull request this run is for, if it is for one.
pub async fn post(platform: &Node, inputs: &StepInputs, environment: &str, summary: &str) {
    let event = platform.env("GITHUB_EVENT_NAME").unwrap_or_default();
    if !matches!(event.as_str(), "pull_request" | "pull_request_target") {
        return;
    }
    match comment(platform, inputs, environment, summary).await {
        Ok((number, Upserted::Created)) => {
            platform.log(&format!("the plan is commented on pull request #{number}"));
        }
        Ok((number, Upserted::Updated)) => {
            platform.log(&format!(
                "the plan's comment on pull request #{number} is updated"
            ));
        }
        Err(e) => platform.warn(&format!(
            "the plan is not commented on the pull request: {e}"
        )),
    }
}

async fn comment(
    platform: &Node,
    inputs: &StepInputs,
    environment: &str,
    summary: &str,
) -> Result<(u64, Upserted), String> {
    let env = |name: &str| {
        platform
            .env(name)
            .ok_or_else(|| format!("{name} is not set"))
    };
    let event_path = env("GITHUB_EVENT_PATH")?;
    let event: serde_json::Value = platform
        .files()
        .read(&event_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("the event payload cannot be read")?;
    let number =
        pr_comment::pull_request_number(&event).ok_or("the event payload names no pull request")?;
    let token = inputs
        .text("github-token")
        .ok_or("the github-token input is empty")?;
    let repo = env("GITHUB_REPOSITORY")?;
    let server = platform
        .env("GITHUB_SERVER_URL")
        .unwrap_or_else(|| "https://github.com".into());
    let summary_url = format!(
        "{server}/{repo}/actions/runs/{}/attempts/{}",
        env("GITHUB_RUN_ID")?,
        platform
            .env("GITHUB_RUN_ATTEMPT")
            .unwrap_or_else(|| "1".into())
    );
    let api_url = platform
        .env("GITHUB_API_URL")
        .unwrap_or_else(|| "https://api.github.com".into());
    let api = Kube::new(NodeHost::public(&api_url, Some(&token))?, github::BACKOFF);
    let marker = pr_comment::marker(environment);
    let body = pr_comment::body(&marker, summary, &summary_url);
    let done = pr_comment::upsert(&api, &repo, number, &marker, &body)
        .await
        .map_err(|e| match e {
            GithubError::Refused {
                status: 403,
                message,
            } => format!(
                "GitHub refused the comment (403): {message} (the github-token needs the \
                 `pull-requests: write` permission)"
            ),
            other => other.to_string(),
        })?;
    Ok((number, done))
}
