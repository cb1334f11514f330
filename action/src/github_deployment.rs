//! The deploy's GitHub deployment from the step's inputs and the run's context: on unless
//! `github-deployment: false`, with the `github-token` (`deployments: write`), for the
//! commit the run is for (`GITHUB_SHA`), its log the run attempt's page and its environment's
//! URL the `environment-url` input. The engine's pipeline does the rest
//! (`shiplog_engine::pipeline::github_deployment`).

use crate::runner::inputs::InputError;
use shiplog_engine::pipeline::{GithubDeployTarget, Platform as _};

use crate::platform::Node;
use crate::step_inputs::StepInputs;

/// Where the deploy is mirrored as a GitHub deployment; `None` when turned off or outside a
/// workflow run (no token, repository or commit).
pub fn target(
    inputs: &StepInputs,
    platform: &Node,
) -> Result<Option<GithubDeployTarget>, InputError> {
    if !inputs.boolean("github-deployment", true)? {
        return Ok(None);
    }
    let environment_url = inputs.text("environment-url");
    let (Some(token), Some(repository)) = (
        inputs.text("github-token"),
        platform.env("GITHUB_REPOSITORY"),
    ) else {
        return Ok(None);
    };
    let run_ref = platform.env("GITHUB_REF").filter(|r| !r.is_empty());
    let Some(git_ref) = platform
        .env("GITHUB_SHA")
        .filter(|sha| !sha.is_empty())
        .or(run_ref.clone())
    else {
        return Ok(None);
    };
    let web = platform
        .env("GITHUB_SERVER_URL")
        .unwrap_or_else(|| "https://github.com".into());
    let log_url = platform.env("GITHUB_RUN_ID").map(|run| {
        let attempt = platform
            .env("GITHUB_RUN_ATTEMPT")
            .unwrap_or_else(|| "1".into());
        format!("{web}/{repository}/actions/runs/{run}/attempts/{attempt}")
    });
    Ok(Some(GithubDeployTarget {
        api: platform
            .env("GITHUB_API_URL")
            .unwrap_or_else(|| "https://api.github.com".into()),
        token,
        repository,
        web,
        git_ref,
        run_ref,
        log_url,
        environment_url,
    }))
}
