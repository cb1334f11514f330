//! The deploy mirrored as a GitHub deployment, for the faces that know their repository's
//! GitHub (the Action): created when the deploy starts — once the history server has recorded
//! it, so the deployment's payload carries the record's id and page — marked `in_progress`
//! while it runs, and at its end `success`, `failure` (a rollout failed, rolled back or not),
//! `error` (it could not be carried out: invalid input, an unreachable cluster, a refused
//! dry run or apply) or `inactive` (cancelled). A success marks the environment's earlier
//! deployments inactive (`auto_inactive`), as GitHub expects of a redeploy or a rollback. A
//! deploy stopped before its end is made `inactive` by whoever finds it open (the Action's post
//! step, [`GithubDeployer::cancelled`]).
//!
//! Best effort, like the record and Slack: every problem is a warning, never a different
//! outcome. A token without `deployments: write` (403) is told once, and no other request of
//! the run goes to GitHub's deployments.
//!
//! Not for: the requests themselves ([`crate::github_deployments`]).

use serde_json::json;
use shiplog_model::{Deploy, DeployStatus, GithubDeployment};

use crate::github::{self, GithubError};
use crate::github_deployments::{self as api, NewDeployment, NewStatus, State};
use crate::host::Host;
use crate::kube::client::Kube;

use super::Platform;

/// The warning for a token that may not write deployments.
pub const NOT_PERMITTED: &str =
    "GitHub deployments are not updated: the token lacks `deployments: write`";

/// Where the deploy is mirrored: a repository's deployments on GitHub.
#[derive(Clone, PartialEq, Eq)]
pub struct GithubDeployTarget {
    /// The REST API's base URL (`GITHUB_API_URL`).
    pub api: String,
    /// A token with `deployments: write`.
    pub token: String,
    /// `owner/name` (`GITHUB_REPOSITORY`).
    pub repository: String,
    /// The web server (`GITHUB_SERVER_URL`), for the link people open.
    pub web: String,
    /// What the deployment deploys: the commit's SHA (exactly what was deployed, where a
    /// branch name would be resolved again by GitHub), else a branch or tag.
    pub git_ref: String,
    /// The branch or tag the run is for (`GITHUB_REF`), carried in the payload.
    pub run_ref: Option<String>,
    /// The deploy's log: the job's run attempt.
    pub log_url: Option<String>,
    /// Where the deployed environment is reached (the `environment-url` input).
    pub environment_url: Option<String>,
}

impl std::fmt::Debug for GithubDeployTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubDeployTarget")
            .field("api", &self.api)
            .field("repository", &self.repository)
            .field("git_ref", &self.git_ref)
            .finish_non_exhaustive()
    }
}

/// The state a deploy that ended as `status` leaves its GitHub deployment in; `rolled_out`
/// when the deploy applied its objects and judged their rollouts (a failure), rather than
/// stopping before (an error).
pub fn final_state(status: DeployStatus, rolled_out: bool) -> State {
    match status {
        DeployStatus::Succeeded => State::Success,
        DeployStatus::RolledBack => State::Failure,
        DeployStatus::Failed if rolled_out => State::Failure,
        DeployStatus::Cancelled => State::Inactive,
        _ => State::Error,
    }
}

/// One deploy's GitHub deployment.
pub struct GithubDeployer<H> {
    /// `None` once GitHub refused the token: nothing more is asked.
    api: Option<Kube<H>>,
    target: GithubDeployTarget,
    /// The deployment, once created.
    pub deployment: Option<GithubDeployment>,
}

impl<H: Host> GithubDeployer<H> {
    /// A deployer for `target` over the platform's transport; `None` (with a warning) when
    /// there is none.
    pub fn new<P: Platform<Host = H>>(platform: &P, target: &GithubDeployTarget) -> Option<Self> {
        match platform.public_host(&target.api, Some(&target.token)) {
            Ok(host) => Some(GithubDeployer {
                api: Some(Kube::new(host, github::BACKOFF)),
                target: target.clone(),
                deployment: None,
            }),
            Err(e) => {
                platform.warn(&format!(
                    "GitHub deployments are not updated: {}",
                    e.replace(&target.token, "***")
                ));
                None
            }
        }
    }

    /// Creates the deployment for `deploy` (its environment; its id and console `page` in the
    /// payload when recorded) and, when `running`, marks it `in_progress`.
    pub async fn start<P: Platform>(
        &mut self,
        platform: &P,
        deploy: &Deploy,
        page: Option<&str>,
        running: bool,
    ) {
        let Some(kube) = &self.api else { return };
        // Unique to this deploy step, so that a creation whose answer was lost is found again
        // by its payload rather than made twice (`github_deployments::create`): the run, its
        // attempt, the job and the step, and, as the legs of a matrix share their job's name,
        // the moment the deploy started.
        let run = &deploy.run;
        let step = format!(
            "{}/{}/{}/{}@{}",
            run.id,
            run.attempt,
            run.job,
            run.step.as_deref().unwrap_or_default(),
            deploy.started_at.timestamp_millis()
        );
        let mut payload = json!({
            "app": deploy.app,
            "namespace": deploy.namespace,
            "shiplog_step": step,
        });
        if let Some(page) = page {
            payload["shiplog_deploy_id"] = deploy.id.0.into();
            payload["shiplog_url"] = page.into();
        }
        if let Some(run_ref) = &self.target.run_ref {
            payload["ref"] = run_ref.as_str().into();
        }
        let new = NewDeployment {
            git_ref: &self.target.git_ref,
            environment: &deploy.environment,
            payload,
            description: &format!("shiplog: {} to {}", deploy.app, deploy.namespace),
        };
        let repo = &self.target.repository;
        let created = api::create(kube, repo, &new).await.and_then(|id| {
            let url = api::environment_page(&self.target.web, repo, &deploy.environment)?;
            Ok(GithubDeployment { id, url })
        });
        match created {
            Ok(deployment) => {
                platform.log(&format!("GitHub deployment {}", deployment.id));
                platform.github_deployment_created(deployment.id);
                self.deployment = Some(deployment);
            }
            Err(e) => {
                self.refused(platform, "created", &e);
                self.api = None;
                return;
            }
        }
        if running {
            let text = format!("deploying {} to {}", deploy.app, deploy.namespace);
            self.status(platform, State::InProgress, &text).await;
        }
    }

    /// Gives the deployment its final state for `deploy`, which has ended.
    pub async fn finish<P: Platform>(&mut self, platform: &P, deploy: &Deploy, rolled_out: bool) {
        let state = final_state(deploy.status, rolled_out);
        let text = match (&deploy.failure, state) {
            (_, State::Success) => format!("deployed {} to {}", deploy.app, deploy.namespace),
            (Some(failure), _) => failure.reason.clone(),
            (None, _) => format!("the deploy {}", deploy.status),
        };
        self.status(platform, state, &text).await;
    }

    async fn status<P: Platform>(&mut self, platform: &P, state: State, text: &str) {
        let (Some(kube), Some(deployment)) = (&self.api, &self.deployment) else {
            return;
        };
        let status = NewStatus {
            state,
            log_url: self.target.log_url.as_deref(),
            environment_url: self.target.environment_url.as_deref(),
            description: text,
        };
        let repo = &self.target.repository;
        if let Err(e) = api::set_status(kube, repo, deployment.id, &status).await {
            self.refused(platform, "updated", &e);
        }
    }

    /// Marks deployment `id` inactive: its deploy was stopped before it ended (the job was
    /// cancelled), which the Action's post step finds.
    pub async fn cancelled<P: Platform<Host = H>>(
        platform: &P,
        target: &GithubDeployTarget,
        id: i64,
    ) {
        let Some(mut deployer) = GithubDeployer::new(platform, target) else {
            return;
        };
        deployer.deployment = Some(GithubDeployment {
            id,
            url: String::new(),
        });
        let text = "the deploy was stopped before it ended (the job was cancelled)";
        deployer.status(platform, State::Inactive, text).await;
    }

    /// Warns of `error`; a refused token ends the conversation with GitHub.
    fn refused<P: Platform>(&mut self, platform: &P, what: &str, error: &GithubError) {
        match error {
            GithubError::Refused {
                status: 403,
                message,
            } if !message.to_ascii_lowercase().contains("rate limit") => {
                platform.warn(NOT_PERMITTED);
                self.api = None;
            }
            GithubError::Refused { status, message } => platform.warn(&format!(
                "the GitHub deployment is not {what}: GitHub refused the request ({status}): \
                 {message}"
            )),
            other => platform.warn(&format!("the GitHub deployment is not {what}: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deploy_that_could_not_be_carried_out_is_an_error_one_that_failed_a_failure() {
        use DeployStatus::*;
        assert_eq!(final_state(Succeeded, true), State::Success);
        assert_eq!(final_state(Failed, true), State::Failure);
        assert_eq!(final_state(RolledBack, true), State::Failure);
        assert_eq!(final_state(Failed, false), State::Error);
        assert_eq!(final_state(Abandoned, false), State::Error);
        assert_eq!(final_state(Cancelled, false), State::Inactive);
    }
}
