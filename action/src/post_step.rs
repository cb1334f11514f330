//! The post step (runs at the end of the job, whatever happened, cancellation included). First,
//! a deploy record the main step opened but never finished — the job was cancelled mid-deploy,
//! or the step's process was killed — is recorded as `cancelled`, and its GitHub deployment made
//! `inactive`. Then, when a step of this job
//! failed — before or after the deploy, or in a job that only builds (`mode: notify`) — Slack
//! is alerted naming the step with a link to its log. The main step's own failure is not
//! repeated: it announced it already. After a plan (`mode: plan`) it does nothing: a plan
//! records and announces nothing. The post step never fails the job.

use shiplog_engine::kube::client::Kube;
use shiplog_engine::pipeline::github_deployment::GithubDeployer;
use shiplog_engine::pipeline::notify::slack_client;
use shiplog_engine::pipeline::{Platform as _, ServerTarget, commit_message, id_token};
use shiplog_engine::record;
use shiplog_engine::slack::job::{self as alert, JobFailure};
use shiplog_model::{Commit, DeployId};

use crate::job;
use crate::platform::Node;
use crate::protocol::state;
use crate::step_inputs::{StepInputs, runner_inputs, slack_target};

/// The state in which the main step keeps the id of the deploy it recorded the start of.
pub const DEPLOY_ID: &str = "deploy-id";
/// The state in which the main step keeps the history server's URL.
pub const SERVER_URL: &str = "server-url";
/// The state in which the main step keeps the id of the deploy's GitHub deployment.
pub const GITHUB_DEPLOYMENT_ID: &str = "github-deployment-id";
/// The state the main step saves once it has reported the deploy's end.
const REPORTED_STATUS: &str = "status";

pub async fn run() -> u8 {
    let platform = Node::default();
    let inputs = runner_inputs(&platform);
    if state("mode").as_deref() == Some("plan") {
        return 0;
    }
    finish_open_record(&platform, &inputs).await;
    end_open_github_deployment(&platform, &inputs).await;
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

/// Records as `cancelled` the deploy whose start the main step recorded ([`DEPLOY_ID`]) when the
/// main step never reported its end (no `status` state): it was stopped mid-deploy. A record
/// that has ended meanwhile is left as it is (the server answers 409).
async fn finish_open_record(platform: &Node, inputs: &StepInputs) {
    let (Some(id), Some(url)) = (state(DEPLOY_ID), state(SERVER_URL)) else {
        return;
    };
    if state(REPORTED_STATUS).is_some() {
        return;
    }
    let Ok(id) = id.parse().map(DeployId) else {
        platform.warn(&format!(
            "the main step left a deploy id that is not one: {id:?}"
        ));
        return;
    };
    let given = ServerTarget {
        url,
        token: inputs.text("server-token"),
    };
    // Without a server token, the job's OIDC token, as the main step used.
    let Some(ServerTarget { url, token }) = id_token::target(platform, Some(&given)).await else {
        return;
    };
    let server = match platform.public_host(&url, token.as_deref()) {
        Ok(host) => Kube::new(host, record::BACKOFF),
        Err(e) => {
            platform.warn(&format!("deploy {id} is not recorded as cancelled: {e}"));
            return;
        }
    };
    match record::end(&server, id, &record::cancelled(platform.now())).await {
        Ok(()) => platform.log(&format!(
            "the deploy step was stopped before the deploy ended: deploy {id} is recorded as cancelled"
        )),
        Err(e) if e.is_conflict() => {
            platform.log(&format!("deploy {id} had already ended: its record is left as it is"))
        }
        Err(e) => platform.warn(&format!("deploy {id} is not recorded as cancelled: {url}: {e}")),
    }
}

/// Makes the GitHub deployment the main step created ([`GITHUB_DEPLOYMENT_ID`]) `inactive` when
/// the main step never reported the deploy's end.
async fn end_open_github_deployment(platform: &Node, inputs: &StepInputs) {
    let Some(id) = state(GITHUB_DEPLOYMENT_ID).and_then(|id| id.parse().ok()) else {
        return;
    };
    if state(REPORTED_STATUS).is_some() {
        return;
    }
    if let Ok(Some(target)) = crate::github_deployment::target(inputs, platform) {
        GithubDeployer::cancelled(platform, &target, id).await;
    }
}
