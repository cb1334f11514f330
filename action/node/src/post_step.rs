//! The post step (runs at the end of the job, whatever happened): when a step of this job
//! failed — before or after the deploy, or in a job that only builds (`mode: notify`) — alert
//! Slack naming the step with a link to its log. The main step's own failure is not repeated:
//! it announced it already. The post step never fails the job.

use shiplog_action::pipeline::notify::slack_client;
use shiplog_action::pipeline::{Platform as _, commit_message};
use shiplog_action::slack::job::{self as alert, JobFailure};
use shiplog_model::Commit;

use crate::job;
use crate::platform::Node;
use crate::protocol::state;
use crate::step_inputs::{runner_inputs, slack_target};

pub async fn run() -> u8 {
    let platform = Node::default();
    let inputs = runner_inputs(&platform);
    let target = match slack_target(&inputs, &platform) {
        Ok(Some(target)) => target,
        Ok(None) => return 0,
        Err(e) => {
            platform.warn(&e.to_string());
            return 0;
        }
    };
    let check = match job::check(&platform, &inputs).await {
        Ok(check) => check,
        Err(e) => {
            platform.warn(&format!("the job's steps could not be checked: {e}"));
            return 0;
        }
    };
    let own_step: Option<u32> = state("step-number").and_then(|n| n.parse().ok());
    let failed: Vec<_> = check
        .failed
        .into_iter()
        .filter(|step| Some(step.number) != own_step)
        .collect();
    if failed.is_empty() {
        platform.log("no step of this job failed");
        return 0;
    }
    let env = |name: &str| platform.env(name).unwrap_or_default();
    let repo = env("GITHUB_REPOSITORY");
    let server = platform
        .env("GITHUB_SERVER_URL")
        .unwrap_or_else(|| "https://github.com".into());
    let sha = env("GITHUB_SHA");
    let failure = JobFailure {
        job: check.job_name,
        steps: failed
            .iter()
            .map(|step| alert::FailedStep {
                name: step.name.clone(),
                log_url: step.log_url.clone(),
            })
            .collect(),
        run_url: platform
            .env("GITHUB_RUN_ID")
            .map(|id| format!("{server}/{repo}/actions/runs/{id}")),
        actor: env("GITHUB_ACTOR"),
        commit: Commit {
            url: (!sha.is_empty()).then(|| format!("{server}/{repo}/commit/{sha}")),
            sha,
            message: commit_message(&platform).unwrap_or_default(),
        },
        git_ref: platform.env("GITHUB_REF"),
        deploy_page: state("deploy-url"),
        repo,
    };
    let names: Vec<&str> = failed.iter().map(|s| s.name.as_str()).collect();
    platform.log(&format!("failed steps: {}", names.join(", ")));
    let sent = match slack_client(&platform, &target) {
        Ok(slack) => slack
            .post(&alert::job_failure(&failure))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match sent {
        Ok(()) => platform.log("Slack was told"),
        Err(e) => platform.warn(&format!("Slack: {e}")),
    }
    0
}
