//! The job's steps as GitHub's REST API reports them, for a failure alert that covers the
//! whole job rather than only the deploy step: the post step lists the jobs of the run attempt
//! (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt}/jobs`), finds its own
//! job ([`current_job`]) and the steps that failed in it ([`failed_steps`]).
//!
//! The requests go through a [`Kube`] over a host whose base URL is `GITHUB_API_URL`
//! (`https://api.github.com` by default) and whose token is the job's `GITHUB_TOKEN`
//! (`actions: read`). Parsing and choosing are pure.

use std::time::Duration;

use serde::Deserialize;

use crate::host::Host;
use crate::kube::client::{Kube, KubeError};
use crate::kube::request::{Request, encode};
use crate::kube::retry::Backoff;

/// How hard to try GitHub: an alert is worth a few seconds, not more.
pub const BACKOFF: Backoff = Backoff {
    attempts: 4,
    connect_attempts: 2,
    first: Duration::from_millis(500),
    max: Duration::from_secs(5),
};

/// Jobs per page, GitHub's maximum.
pub const PER_PAGE: usize = 100;
/// Pages read at most (1,000 jobs).
pub const MAX_PAGES: usize = 10;

/// The state of a job or step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Queued,
    InProgress,
    Completed,
    Waiting,
    Requested,
    Pending,
    /// A status GitHub added later.
    #[serde(other)]
    Other,
}

/// How a completed job or step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    Success,
    Failure,
    Neutral,
    Cancelled,
    Skipped,
    TimedOut,
    ActionRequired,
    /// A conclusion GitHub added later.
    #[serde(other)]
    Other,
}

/// One step of a job.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Step {
    pub name: String,
    pub status: Status,
    /// `null` until the step has completed.
    pub conclusion: Option<Conclusion>,
    /// 1-based position in the job (and in its log).
    pub number: u32,
}

/// One job of a run attempt.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Job {
    pub id: u64,
    /// The job's display name: its `name:`, or its id, with the matrix values in parentheses
    /// (`deploy (prod, eu)`).
    pub name: String,
    pub status: Status,
    pub conclusion: Option<Conclusion>,
    /// The job's page, e.g. `https://github.com/acme/shop/actions/runs/7/job/42`.
    #[serde(default)]
    pub html_url: Option<String>,
    /// `null` until a runner has picked the job up.
    #[serde(default)]
    pub runner_name: Option<String>,
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// A page of the answer, and the whole list once [`fetch_jobs`] has read every page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Jobs {
    pub total_count: usize,
    pub jobs: Vec<Job>,
}

/// Why the jobs could not be listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GithubError {
    #[error("GITHUB_REPOSITORY {0:?} is not owner/name")]
    Repository(String),
    #[error("GitHub is unreachable: {0}")]
    Unreachable(String),
    /// 401 or 403: a missing, wrong or underprivileged token (`actions: read` is needed), or a
    /// 403 for a rate limit.
    #[error("GitHub refused the request ({status}): {message}{}", hint(*status, message))]
    Refused { status: u16, message: String },
    #[error("GitHub answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("GitHub's list of jobs could not be read: {0}")]
    InvalidAnswer(String),
    #[error("the request to GitHub could not be built: {0}")]
    Request(String),
}

/// What a 403 means for the jobs API: a rate limit when GitHub's message says so (it answers
/// "API rate limit exceeded…" or "You have exceeded a secondary rate limit…" with 403), else a
/// token without the permission.
fn hint(status: u16, message: &str) -> &'static str {
    if status != 403 {
        ""
    } else if message.to_ascii_lowercase().contains("rate limit") {
        " (GitHub's rate limit for this token; the job's steps are not checked this time)"
    } else {
        " (the github-token needs the `actions: read` permission)"
    }
}

impl From<KubeError> for GithubError {
    fn from(error: KubeError) -> Self {
        match error {
            KubeError::Unreachable(message) => GithubError::Unreachable(message),
            KubeError::Unauthorized { status, message } => GithubError::Refused { status, message },
            KubeError::Api {
                status, message, ..
            } => GithubError::Api { status, message },
            KubeError::Request(error) => GithubError::Request(error.to_string()),
            KubeError::TooLarge(message) => GithubError::InvalidAnswer(message),
        }
    }
}

/// `owner` and `name` of `owner/name`, each percent-encoded for a path.
pub fn owner_and_name(repo: &str) -> Result<(String, String), GithubError> {
    repo.split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
        .map(|(owner, name)| (encode(owner), encode(name)))
        .ok_or_else(|| GithubError::Repository(repo.to_owned()))
}

/// The request for page `page` (1-based) of the jobs of a run attempt; `repo` is
/// `owner/name` as in `GITHUB_REPOSITORY`.
pub fn jobs_request(
    repo: &str,
    run_id: u64,
    attempt: u32,
    page: usize,
) -> Result<Request, GithubError> {
    let (owner, name) = owner_and_name(repo)?;
    let page = if page > 1 {
        format!("&page={page}")
    } else {
        String::new()
    };
    Ok(Request::get(format!(
        "/repos/{owner}/{name}/actions/runs/{run_id}/attempts/{attempt}/jobs?per_page={PER_PAGE}{page}"
    )))
}

/// Every job of a run attempt, page by page (at most [`MAX_PAGES`]).
pub async fn fetch_jobs<H: Host>(
    api: &Kube<H>,
    repo: &str,
    run_id: u64,
    attempt: u32,
) -> Result<Jobs, GithubError> {
    let mut all = Jobs {
        total_count: 0,
        jobs: Vec::new(),
    };
    for page in 1..=MAX_PAGES {
        let answer = api
            .send(&jobs_request(repo, run_id, attempt, page)?)
            .await?;
        let Jobs { total_count, jobs } = serde_json::from_slice(&answer.body)
            .map_err(|e| GithubError::InvalidAnswer(e.to_string()))?;
        let last = jobs.len() < PER_PAGE;
        all.total_count = total_count;
        all.jobs.extend(jobs);
        if last || all.jobs.len() >= total_count {
            break;
        }
    }
    Ok(all)
}

/// The job this step runs in: the in-progress job on the runner `runner_name` (`RUNNER_NAME`),
/// else the one in-progress job named `job_name` (`GITHUB_JOB`), or `job_name (…)` for a
/// matrix job. `None` when no job or more than one fits.
///
/// `GITHUB_JOB` is the job's id in the workflow; a job with its own `name:` is only found by
/// its runner.
pub fn current_job<'j>(
    jobs: &'j [Job],
    runner_name: Option<&str>,
    job_name: &str,
) -> Option<&'j Job> {
    let running = || jobs.iter().filter(|job| job.status == Status::InProgress);
    if let Some(runner) = runner_name.filter(|r| !r.is_empty())
        && let Some(job) = only(running().filter(|job| job.runner_name.as_deref() == Some(runner)))
    {
        return Some(job);
    }
    let matrix = format!("{job_name} (");
    only(running().filter(|job| job.name == job_name || job.name.starts_with(&matrix)))
}

/// The one item of `fits`, if it has exactly one.
fn only<'j>(mut fits: impl Iterator<Item = &'j Job>) -> Option<&'j Job> {
    let first = fits.next()?;
    fits.next().is_none().then_some(first)
}

/// A step that failed, with a link to its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedStep {
    pub name: String,
    pub number: u32,
    /// `{html_url}#step:{number}:1`, the first line of the step's log.
    pub log_url: Option<String>,
}

/// The steps of `job` that failed: conclusion `failure` or `timed_out`. Cancelled steps are
/// not failures (someone or a concurrency group stopped the run on purpose), nor are skipped
/// ones (they follow a failure, which is reported).
pub fn failed_steps(job: &Job) -> Vec<FailedStep> {
    job.steps
        .iter()
        .filter(|step| {
            matches!(
                step.conclusion,
                Some(Conclusion::Failure | Conclusion::TimedOut)
            )
        })
        .map(|step| FailedStep {
            name: step.name.clone(),
            number: step.number,
            log_url: job
                .html_url
                .as_deref()
                .filter(|url| !url.is_empty())
                .map(|url| format!("{url}#step:{}:1", step.number)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::kube::client::tests::{Scripted, answer};

    fn job(id: u64, name: &str, status: &str, runner: Option<&str>) -> serde_json::Value {
        json!({
            "id": id, "run_id": 7, "name": name, "status": status,
            "conclusion": null, "runner_name": runner, "labels": ["ubuntu-latest"],
            "html_url": format!("https://github.com/acme/shop/actions/runs/7/job/{id}"),
            "steps": []
        })
    }

    fn jobs(list: Vec<serde_json::Value>) -> Vec<Job> {
        let answer = json!({"total_count": list.len(), "jobs": list});
        serde_json::from_value::<Jobs>(answer).unwrap().jobs
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        futures_util::FutureExt::now_or_never(future).expect("scripted futures never wait")
    }

    #[test]
    fn the_request_is_the_documented_path() {
        assert_eq!(
            jobs_request("acme/shop", 7, 2, 1).unwrap().path,
            "/repos/acme/shop/actions/runs/7/attempts/2/jobs?per_page=100"
        );
        assert_eq!(
            jobs_request("acme/shop", 7, 2, 3).unwrap().path,
            "/repos/acme/shop/actions/runs/7/attempts/2/jobs?per_page=100&page=3"
        );
        for bad in ["shop", "/shop", "acme/", "a/b/c"] {
            assert_eq!(
                jobs_request(bad, 7, 1, 1),
                Err(GithubError::Repository(bad.into()))
            );
        }
    }

    #[test]
    fn the_job_on_this_runner_comes_first() {
        let jobs = jobs(vec![
            job(1, "build", "completed", Some("runner-3")),
            job(2, "deploy (prod, eu)", "in_progress", Some("runner-3")),
            job(3, "deploy (prod, us)", "in_progress", Some("runner-4")),
        ]);
        let found = current_job(&jobs, Some("runner-3"), "deploy").unwrap();
        assert_eq!(
            found.id, 2,
            "the completed job on the same runner is not it"
        );
        assert_eq!(
            current_job(&jobs, None, "deploy"),
            None,
            "two matrix jobs run: ambiguous"
        );
        assert_eq!(
            current_job(&jobs, Some("runner-9"), "deploy"),
            None,
            "an unknown runner falls back to the (ambiguous) name"
        );
    }

    #[test]
    fn without_a_runner_the_job_is_found_by_name() {
        let jobs = jobs(vec![
            job(1, "deploy (prod, eu)", "in_progress", None),
            job(2, "deploy (prod, us)", "completed", None),
            job(3, "deploy-docs", "in_progress", None),
            job(4, "lint", "in_progress", None),
        ]);
        assert_eq!(current_job(&jobs, None, "deploy").unwrap().id, 1);
        assert_eq!(current_job(&jobs, Some(""), "lint").unwrap().id, 4);
        assert_eq!(current_job(&jobs, None, "test"), None);
    }

    #[test]
    fn failed_and_timed_out_steps_are_failures_cancelled_and_skipped_ones_are_not() {
        let mut value = job(42, "deploy", "in_progress", Some("r"));
        value["steps"] = json!([
            {"name": "Checkout", "status": "completed", "conclusion": "success", "number": 1},
            {"name": "Build", "status": "completed", "conclusion": "failure", "number": 2},
            {"name": "Migrate", "status": "completed", "conclusion": "timed_out", "number": 3},
            {"name": "Test", "status": "completed", "conclusion": "cancelled", "number": 4},
            {"name": "Push", "status": "completed", "conclusion": "skipped", "number": 5},
            {"name": "Post shiplog", "status": "in_progress", "conclusion": null, "number": 6},
            {"name": "Future", "status": "brand_new", "conclusion": "brand_new", "number": 7}
        ]);
        let job = &jobs(vec![value])[0];
        let url = "https://github.com/acme/shop/actions/runs/7/job/42";
        assert_eq!(
            failed_steps(job),
            [
                FailedStep {
                    name: "Build".into(),
                    number: 2,
                    log_url: Some(format!("{url}#step:2:1")),
                },
                FailedStep {
                    name: "Migrate".into(),
                    number: 3,
                    log_url: Some(format!("{url}#step:3:1")),
                },
            ]
        );
    }

    #[test]
    fn every_page_is_read_and_refusals_are_told_apart() {
        let page = |from: u64, to: u64| {
            let list: Vec<_> = (from..to).map(|i| job(i, "j", "queued", None)).collect();
            answer(200, &json!({"total_count": 150, "jobs": list}).to_string())
        };
        let host = Scripted::default();
        host.answers
            .borrow_mut()
            .extend([page(0, 100), page(100, 150)]);
        let api = Kube::new(host, BACKOFF);
        let all = block_on(fetch_jobs(&api, "acme/shop", 7, 1)).unwrap();
        assert_eq!((all.total_count, all.jobs.len()), (150, 150));
        assert_eq!(
            *api.host().sent.borrow(),
            [
                "GET /repos/acme/shop/actions/runs/7/attempts/1/jobs?per_page=100",
                "GET /repos/acme/shop/actions/runs/7/attempts/1/jobs?per_page=100&page=2",
            ]
        );

        api.host()
            .answers
            .borrow_mut()
            .push_back(answer(401, r#"{"message":"Bad credentials"}"#));
        assert_eq!(
            block_on(fetch_jobs(&api, "acme/shop", 7, 1)).unwrap_err(),
            GithubError::Refused {
                status: 401,
                message: "Bad credentials".into()
            }
        );
        for (body, hint) in [
            (
                r#"{"message":"Resource not accessible by integration"}"#,
                "actions: read",
            ),
            (
                r#"{"message":"API rate limit exceeded for installation ID 1."}"#,
                "rate limit for this token",
            ),
            (
                r#"{"message":"You have exceeded a secondary rate limit."}"#,
                "rate limit for this token",
            ),
        ] {
            api.host().answers.borrow_mut().push_back(answer(403, body));
            let refused = block_on(fetch_jobs(&api, "acme/shop", 7, 1)).unwrap_err();
            assert!(refused.to_string().contains(hint), "{refused}");
        }
        api.host()
            .answers
            .borrow_mut()
            .push_back(answer(200, r#"{"jobs": "nope"}"#));
        assert!(matches!(
            block_on(fetch_jobs(&api, "acme/shop", 7, 1)),
            Err(GithubError::InvalidAnswer(_))
        ));
    }
}
