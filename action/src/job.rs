//! This job, as GitHub's REST API sees it: which of its steps failed, and which step is this
//! one (the step in progress when the main step asks). Needs the `github-token` input
//! (`actions: read`).

use shiplog_engine::github::{self, FailedStep};
use shiplog_engine::kube::client::Kube;
use shiplog_engine::pipeline::Platform as _;

use crate::host::NodeHost;
use crate::platform::Node;
use crate::step_inputs::StepInputs;

/// What the jobs API says about this job.
#[derive(Debug, Clone)]
pub struct JobCheck {
    pub job_name: String,
    /// The step in progress: this one, when the main step asks.
    pub own_step: Option<u32>,
    pub failed: Vec<FailedStep>,
}

/// Asks GitHub about this job.
pub async fn check(platform: &Node, inputs: &StepInputs) -> Result<JobCheck, String> {
    let token = inputs
        .text("github-token")
        .ok_or("the github-token input is empty")?;
    let env = |name: &str| {
        platform
            .env(name)
            .ok_or_else(|| format!("{name} is not set"))
    };
    let repo = env("GITHUB_REPOSITORY")?;
    let run_id: u64 = env("GITHUB_RUN_ID")?
        .parse()
        .map_err(|_| "GITHUB_RUN_ID is not a number".to_owned())?;
    let attempt: u32 = platform
        .env("GITHUB_RUN_ATTEMPT")
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let api_url = platform
        .env("GITHUB_API_URL")
        .unwrap_or_else(|| "https://api.github.com".into());
    let api = Kube::new(NodeHost::public(&api_url, Some(&token))?, github::BACKOFF);
    let jobs = github::fetch_jobs(&api, &repo, run_id, attempt)
        .await
        .map_err(|e| format!("GitHub's jobs API: {e}"))?;
    let job_name = env("GITHUB_JOB")?;
    let runner = platform.env("RUNNER_NAME");
    let job = github::current_job(&jobs.jobs, runner.as_deref(), &job_name)
        .ok_or_else(|| format!("job {job_name} is not among the run's jobs in progress"))?;
    Ok(JobCheck {
        job_name: job.name.clone(),
        own_step: job
            .steps
            .iter()
            .find(|s| s.status == github::Status::InProgress)
            .map(|s| s.number),
        failed: github::failed_steps(job),
    })
}
