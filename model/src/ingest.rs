//! What writers send: a new deploy ([`NewDeploy`]), an update to it ([`DeployUpdate`]), and what
//! the server answers ([`Created`]).
//!
//! Validation and the status state machine are pure functions here so the action can check a
//! payload before sending it and the server enforces exactly the same rules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::deploy::{
    Commit, Deploy, DeployId, DeployStatus, Failure, GithubDeployment, ResourceChange,
    SlackMessage, WorkflowRun, WorkloadRef,
};
use crate::error::FieldError;
use crate::lifecycle;
use crate::limits::{Carried, check_limits};

pub use crate::limits::{MAX_LONG_TEXT, MAX_SHORT_TEXT};

/// The payload of `POST /api/v1/deploys`.
///
/// The idempotency key is (repo, run.id, run.attempt, run.job, run.step, app, environment,
/// namespace): sending the same payload twice yields one deploy, while two matrix legs or two
/// shiplog steps of one job are two deploys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDeploy {
    pub repo: String,
    pub app: String,
    /// Defaults to the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Defaults to `in_progress`; a deploy may also be recorded once it has ended.
    #[serde(default = "in_progress")]
    pub status: DeployStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub workloads: Vec<WorkloadRef>,
    pub commit: Commit,
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    pub actor: String,
    pub run: WorkflowRun,
    /// Defaults to the time the server receives the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// When the result is due (the deploy's timeout plus some grace); past it, the server marks
    /// the deploy `abandoned`. At most 25 hours ahead; defaults to 1 hour after receipt (see
    /// [`crate::lifecycle`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    #[serde(default)]
    pub resources: Vec<ResourceChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackMessage>,
    /// The earlier deploy this one deploys again (`shiplog redeploy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restores: Option<DeployId>,
    /// The lock or freeze this deploy went ahead despite (`override-lock`), as its message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_override: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_deployment: Option<GithubDeployment>,
}

fn in_progress() -> DeployStatus {
    DeployStatus::InProgress
}

impl NewDeploy {
    /// Checks every field, naming the first one that is wrong.
    pub fn validate(&self) -> Result<(), FieldError> {
        check_limits(&self.carried())?;
        required("repo", &self.repo)?;
        required("app", &self.app)?;
        required("namespace", &self.namespace)?;
        required("actor", &self.actor)?;
        required("commit.sha", &self.commit.sha)?;
        if let Some(environment) = &self.environment {
            required("environment", environment)?;
        }
        for (field, value) in [
            ("cluster", &self.cluster),
            ("version", &self.version),
            ("ref", &self.git_ref),
            ("commit.url", &self.commit.url),
            ("run.url", &self.run.url),
        ] {
            if let Some(value) = value {
                short(field, value)?;
            }
        }
        short("run.job", &self.run.job)?;
        if let Some(step) = &self.run.step {
            short("run.step", step)?;
        }
        long("commit.message", &self.commit.message)?;
        if let Some(hold) = &self.lock_override {
            long("lock_override", hold)?;
        }
        if self.run.id < 0 {
            return Err(FieldError::new("run.id", "must not be negative"));
        }
        if self.run.attempt < 1 {
            return Err(FieldError::new("run.attempt", "must be at least 1"));
        }
        for (i, image) in self.images.iter().enumerate() {
            required(&format!("images[{i}]"), image)?;
        }
        for (i, workload) in self.workloads.iter().enumerate() {
            required(&format!("workloads[{i}].kind"), &workload.kind)?;
            required(&format!("workloads[{i}].name"), &workload.name)?;
        }
        validate_results(
            self.status,
            self.started_at,
            self.finished_at,
            &self.resources,
            self.failure.as_ref(),
        )?;
        if let Some(slack) = &self.slack {
            validate_slack(slack)?;
        }
        if let Some(github) = &self.github_deployment {
            validate_github(github)?;
        }
        Ok(())
    }

    /// [`validate`](Self::validate), then the lifecycle's rules, which depend on the server's
    /// clock `now`: no start or end more than [`lifecycle::MAX_CLOCK_SKEW`] ahead, a deadline
    /// within its bounds, and no writer recording a deploy as `abandoned`.
    pub fn validate_at(&self, now: DateTime<Utc>) -> Result<(), FieldError> {
        self.validate()?;
        lifecycle::writable_status(self.status)?;
        lifecycle::not_in_future("started_at", self.started_at, now)?;
        lifecycle::not_in_future("finished_at", self.finished_at, now)?;
        lifecycle::check_deadline(self.deadline, self.started_at, now)
    }

    /// Builds the stored record, with the id and start time the server assigned.
    pub fn into_deploy(self, id: DeployId, received_at: DateTime<Utc>) -> Deploy {
        let environment = self.environment.unwrap_or_else(|| self.namespace.clone());
        let deadline = lifecycle::deadline(self.deadline, self.status, received_at);
        Deploy {
            id,
            repo: self.repo,
            app: self.app,
            environment,
            namespace: self.namespace,
            cluster: self.cluster,
            status: self.status,
            version: self.version,
            images: self.images,
            workloads: self.workloads,
            commit: self.commit,
            git_ref: self.git_ref,
            actor: self.actor,
            run: self.run,
            started_at: self.started_at.unwrap_or(received_at),
            finished_at: self
                .finished_at
                .or_else(|| self.status.is_terminal().then_some(received_at)),
            deadline,
            resources: self.resources,
            failure: self.failure,
            slack: self.slack,
            restores: self.restores,
            lock_override: self.lock_override,
            github_deployment: self.github_deployment,
        }
    }
}

/// The payload of `PATCH /api/v1/deploys/{id}`: every field is optional and replaces the stored
/// value when present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeployUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeployStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workloads: Option<Vec<WorkloadRef>>,
    /// Defaults to the time the server receives a terminal status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ResourceChange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_deployment: Option<GithubDeployment>,
}

/// A status change the state machine forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {from} deploy cannot become {to}")]
pub struct TransitionError {
    pub from: DeployStatus,
    pub to: DeployStatus,
}

/// An update to a deploy that has already finished, and which would change it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the deploy has already finished ({status}): its record no longer changes")]
pub struct FinishedError {
    pub status: DeployStatus,
}

/// Why an update was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Finished(#[from] FinishedError),
}

impl DeployUpdate {
    /// Applies the update to `deploy`, enforcing the status state machine and field rules.
    /// `deploy` is left untouched when an error is returned.
    ///
    /// A finished deploy never changes: an update that would change it is refused
    /// ([`FinishedError`]); one that changes nothing — the same update sent again because its
    /// answer was lost — is accepted.
    pub fn apply_to(&self, deploy: &mut Deploy, now: DateTime<Utc>) -> Result<(), UpdateError> {
        if deploy.status.is_terminal() {
            return self.replay_on_finished(deploy, now);
        }
        let status = self.status.unwrap_or(deploy.status);
        if !deploy.status.can_become(status) {
            return Err(TransitionError {
                from: deploy.status,
                to: status,
            }
            .into());
        }
        self.apply_fields(deploy, now)
    }

    /// Accepts an update to a finished deploy only if it changes nothing.
    fn replay_on_finished(&self, deploy: &Deploy, now: DateTime<Utc>) -> Result<(), UpdateError> {
        let mut replayed = deploy.clone();
        match self.apply_fields(&mut replayed, now) {
            Ok(()) if replayed == *deploy => Ok(()),
            _ => Err(FinishedError {
                status: deploy.status,
            }
            .into()),
        }
    }

    /// Checks and applies every field, the status included, whatever the state machine says.
    fn apply_fields(&self, deploy: &mut Deploy, now: DateTime<Utc>) -> Result<(), UpdateError> {
        let status = self.status.unwrap_or(deploy.status);
        lifecycle::not_in_future("finished_at", self.finished_at, now)?;
        self.check_limits(deploy)?;
        if let Some(version) = &self.version {
            short("version", version)?;
        }
        if let Some(images) = &self.images {
            for (i, image) in images.iter().enumerate() {
                required(&format!("images[{i}]"), image)?;
            }
        }
        let finished_at = match (self.finished_at, deploy.finished_at) {
            (Some(at), _) => Some(at),
            (None, Some(at)) => Some(at),
            (None, None) => status.is_terminal().then_some(now),
        };
        let resources = self.resources.as_ref().unwrap_or(&deploy.resources);
        let failure = self.failure.as_ref().or(deploy.failure.as_ref());
        validate_results(
            status,
            Some(deploy.started_at),
            finished_at,
            resources,
            failure,
        )?;
        if let Some(slack) = &self.slack {
            validate_slack(slack)?;
        }
        if let Some(github) = &self.github_deployment {
            validate_github(github)?;
        }

        deploy.status = status;
        deploy.finished_at = finished_at;
        let update = self.clone();
        if let Some(version) = update.version {
            deploy.version = Some(version);
        }
        if let Some(images) = update.images {
            deploy.images = images;
        }
        if let Some(workloads) = update.workloads {
            deploy.workloads = workloads;
        }
        if let Some(resources) = update.resources {
            deploy.resources = resources;
        }
        if let Some(failure) = update.failure {
            deploy.failure = Some(failure);
        }
        if let Some(slack) = update.slack {
            deploy.slack = Some(slack);
        }
        if let Some(github) = update.github_deployment {
            deploy.github_deployment = Some(github);
        }
        Ok(())
    }
}

impl DeployUpdate {
    /// Holds the record as this update would leave it to [`check_limits`].
    fn check_limits(&self, deploy: &Deploy) -> Result<(), FieldError> {
        check_limits(&Carried {
            commit_message: &deploy.commit.message,
            images: self.images.as_ref().unwrap_or(&deploy.images),
            workloads: self.workloads.as_ref().unwrap_or(&deploy.workloads),
            resources: self.resources.as_ref().unwrap_or(&deploy.resources),
            failure: self.failure.as_ref().or(deploy.failure.as_ref()),
        })
    }
}

/// What the server answers to a create: the deploy's id and its console link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Created {
    pub id: DeployId,
    pub url: String,
}

pub(crate) fn required(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    short(field, value)
}

pub(crate) fn short(field: &str, value: &str) -> Result<(), FieldError> {
    if value.contains('\0') {
        return Err(FieldError::new(field, "must not contain NUL characters"));
    }
    limit(field, value, MAX_SHORT_TEXT)
}

fn long(field: &str, value: &str) -> Result<(), FieldError> {
    limit(field, value, MAX_LONG_TEXT)
}

fn limit(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.len() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} bytes"),
        ));
    }
    Ok(())
}

fn validate_results(
    status: DeployStatus,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    resources: &[ResourceChange],
    failure: Option<&Failure>,
) -> Result<(), FieldError> {
    if let (Some(start), Some(end)) = (started_at, finished_at)
        && end < start
    {
        return Err(FieldError::new(
            "finished_at",
            "must not be before started_at",
        ));
    }
    if finished_at.is_some() && !status.is_terminal() {
        return Err(FieldError::new(
            "finished_at",
            "must be absent while the deploy is in progress",
        ));
    }
    for (i, resource) in resources.iter().enumerate() {
        required(&format!("resources[{i}].kind"), &resource.kind)?;
        required(&format!("resources[{i}].name"), &resource.name)?;
        if let Some(message) = &resource.message {
            long(&format!("resources[{i}].message"), message)?;
        }
        if let Some(diff) = &resource.diff {
            long(&format!("resources[{i}].diff"), diff)?;
        }
    }
    if let Some(failure) = failure {
        required("failure.reason", &failure.reason)?;
        for (i, detail) in failure.details.iter().enumerate() {
            long(&format!("failure.details[{i}]"), detail)?;
        }
    }
    Ok(())
}

fn validate_slack(slack: &SlackMessage) -> Result<(), FieldError> {
    required("slack.channel", &slack.channel)?;
    for (field, value) in [
        ("slack.ts", &slack.ts),
        ("slack.permalink", &slack.permalink),
    ] {
        if let Some(value) = value {
            short(field, value)?;
        }
    }
    Ok(())
}

/// A GitHub deployment's id is GitHub's (positive) and its link a short `https` URL.
fn validate_github(github: &GithubDeployment) -> Result<(), FieldError> {
    if github.id < 1 {
        return Err(FieldError::new("github_deployment.id", "must be positive"));
    }
    required("github_deployment.url", &github.url)?;
    if !github.url.starts_with("https://") {
        return Err(FieldError::new(
            "github_deployment.url",
            "must be an https URL",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> NewDeploy {
        serde_json::from_value(serde_json::json!({
            "repo": "acme/shop",
            "app": "api",
            "namespace": "prod",
            "commit": {"sha": "0123456789abcdef", "message": "Ship it"},
            "actor": "alice",
            "run": {"id": 42, "job": "deploy"}
        }))
        .unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_fill_environment_status_and_start() {
        let new = sample();
        assert_eq!(new.validate(), Ok(()));
        assert_eq!(new.run.attempt, 1);
        let deploy = new.into_deploy(DeployId(7), at("2026-01-01T00:00:00Z"));
        assert_eq!(deploy.environment, "prod");
        assert_eq!(deploy.status, DeployStatus::InProgress);
        assert_eq!(deploy.started_at, at("2026-01-01T00:00:00Z"));
        assert_eq!(deploy.finished_at, None);
    }

    #[test]
    fn validation_names_the_field() {
        let mut new = sample();
        new.app = "  ".into();
        assert_eq!(new.validate().unwrap_err().field, "app");

        let mut new = sample();
        new.images = vec!["ok".into(), String::new()];
        assert_eq!(new.validate().unwrap_err().field, "images[1]");

        let mut new = sample();
        new.commit.message = "x".repeat(MAX_LONG_TEXT + 1);
        assert_eq!(new.validate().unwrap_err().field, "commit.message");

        let mut new = sample();
        new.started_at = Some(at("2026-01-02T00:00:00Z"));
        new.finished_at = Some(at("2026-01-01T00:00:00Z"));
        new.status = DeployStatus::Succeeded;
        assert_eq!(new.validate().unwrap_err().field, "finished_at");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let mut json = serde_json::to_value(sample()).unwrap();
        json["colour"] = "blue".into();
        let err = serde_json::from_value::<NewDeploy>(json).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn update_finishes_and_refuses_going_back() {
        let now = at("2026-01-01T00:05:00Z");
        let mut deploy = sample().into_deploy(DeployId(1), at("2026-01-01T00:00:00Z"));
        let finish = DeployUpdate {
            status: Some(DeployStatus::Succeeded),
            ..Default::default()
        };
        finish.apply_to(&mut deploy, now).unwrap();
        assert_eq!(deploy.status, DeployStatus::Succeeded);
        assert_eq!(deploy.finished_at, Some(now));
        assert_eq!(deploy.duration(), Some(chrono::Duration::minutes(5)));

        let before = deploy.clone();
        let back = DeployUpdate {
            status: Some(DeployStatus::InProgress),
            ..Default::default()
        };
        assert_eq!(
            back.apply_to(&mut deploy, now),
            Err(UpdateError::Finished(FinishedError {
                status: DeployStatus::Succeeded
            }))
        );
        assert_eq!(deploy, before, "a refused update changes nothing");
    }

    #[test]
    fn the_finishing_update_carries_the_github_deployment_which_is_checked() {
        let now = at("2026-01-01T00:05:00Z");
        let mut deploy = sample().into_deploy(DeployId(1), at("2026-01-01T00:00:00Z"));
        let github = GithubDeployment {
            id: 42,
            url: "https://github.com/acme/shop/deployments/prod".into(),
        };
        for (bad, field) in [
            (
                GithubDeployment {
                    id: 0,
                    ..github.clone()
                },
                "github_deployment.id",
            ),
            (
                GithubDeployment {
                    url: "javascript:alert(1)".into(),
                    ..github.clone()
                },
                "github_deployment.url",
            ),
            (
                GithubDeployment {
                    url: format!("https://github.com/{}", "a".repeat(MAX_SHORT_TEXT)),
                    ..github.clone()
                },
                "github_deployment.url",
            ),
        ] {
            let update = DeployUpdate {
                github_deployment: Some(bad),
                ..Default::default()
            };
            match update.apply_to(&mut deploy, now) {
                Err(UpdateError::Invalid(e)) => assert_eq!(e.field, field),
                other => panic!("{other:?}"),
            }
        }
        let finish = DeployUpdate {
            status: Some(DeployStatus::Succeeded),
            github_deployment: Some(github.clone()),
            ..Default::default()
        };
        finish.apply_to(&mut deploy, now).unwrap();
        assert_eq!(deploy.github_deployment, Some(github));
        let json = serde_json::to_value(&deploy).unwrap();
        assert_eq!(json["github_deployment"]["id"], 42);
        let without = sample().into_deploy(DeployId(2), now);
        let json = serde_json::to_value(&without).unwrap();
        assert!(json.get("github_deployment").is_none(), "{json}");
    }

    #[test]
    fn a_finished_deploy_takes_only_a_retry_that_changes_nothing() {
        let now = at("2026-01-01T00:05:00Z");
        let mut deploy = sample().into_deploy(DeployId(1), at("2026-01-01T00:00:00Z"));
        let fail = DeployUpdate {
            status: Some(DeployStatus::Failed),
            finished_at: Some(now),
            failure: Some(Failure {
                reason: "api: ImagePullBackOff".into(),
                details: vec![],
            }),
            ..Default::default()
        };
        fail.apply_to(&mut deploy, now).unwrap();
        let finished = deploy.clone();
        // The same update again (its answer was lost), even later: accepted, nothing changes.
        fail.apply_to(&mut deploy, now + chrono::Duration::minutes(1))
            .unwrap();
        assert_eq!(deploy, finished);
        let status_only = DeployUpdate {
            status: Some(DeployStatus::Failed),
            ..Default::default()
        };
        status_only.apply_to(&mut deploy, now).unwrap();
        // Anything that would change it is refused, the status or any field.
        let changes = [
            DeployUpdate {
                status: Some(DeployStatus::RolledBack),
                ..Default::default()
            },
            DeployUpdate {
                version: Some("v2".into()),
                ..Default::default()
            },
            DeployUpdate {
                status: Some(DeployStatus::Failed),
                finished_at: Some(now + chrono::Duration::seconds(1)),
                ..Default::default()
            },
        ];
        for change in changes {
            assert_eq!(
                change.apply_to(&mut deploy, now),
                Err(UpdateError::Finished(FinishedError {
                    status: DeployStatus::Failed
                })),
                "{change:?}"
            );
            assert_eq!(deploy, finished);
        }
    }

    #[test]
    fn writers_cannot_abandon_a_deploy() {
        let now = at("2026-01-01T00:05:00Z");
        let mut deploy = sample().into_deploy(DeployId(1), at("2026-01-01T00:00:00Z"));
        let abandon = DeployUpdate {
            status: Some(DeployStatus::Abandoned),
            ..Default::default()
        };
        assert_eq!(
            abandon.apply_to(&mut deploy, now),
            Err(UpdateError::Transition(TransitionError {
                from: DeployStatus::InProgress,
                to: DeployStatus::Abandoned
            }))
        );
    }

    #[test]
    fn times_far_ahead_of_the_server_are_refused() {
        let now = at("2026-01-01T00:00:00Z");
        let mut new = sample();
        new.started_at = Some(at("2099-01-01T00:00:00Z"));
        assert_eq!(new.validate(), Ok(()), "the clock-free checks pass");
        assert_eq!(new.validate_at(now).unwrap_err().field, "started_at");

        let mut new = sample();
        new.status = DeployStatus::Succeeded;
        new.finished_at = Some(now + chrono::Duration::hours(1));
        assert_eq!(new.validate_at(now).unwrap_err().field, "finished_at");

        let mut new = sample();
        new.status = DeployStatus::Abandoned;
        assert_eq!(new.validate_at(now).unwrap_err().field, "status");

        let mut new = sample();
        new.deadline = Some(now + chrono::Duration::hours(26));
        assert_eq!(new.validate_at(now).unwrap_err().field, "deadline");
        new.deadline = Some(now + chrono::Duration::minutes(20));
        assert_eq!(new.validate_at(now), Ok(()));
        assert_eq!(
            new.into_deploy(DeployId(1), now).deadline,
            Some(now + chrono::Duration::minutes(20))
        );

        let mut deploy = sample().into_deploy(DeployId(1), now);
        let finish = DeployUpdate {
            status: Some(DeployStatus::Succeeded),
            finished_at: Some(now + chrono::Duration::days(3)),
            ..Default::default()
        };
        assert_eq!(
            finish.apply_to(&mut deploy, now),
            Err(UpdateError::Invalid(FieldError::new(
                "finished_at",
                "is 3 days in the future; at most 5 minutes ahead of the server's clock are accepted"
            )))
        );
        assert_eq!(deploy.status, DeployStatus::InProgress);
    }

    #[test]
    fn the_step_is_optional_and_bounded() {
        let mut json = serde_json::to_value(sample()).unwrap();
        assert!(json["run"].get("step").is_none(), "old writers send none");
        json["run"]["step"] = "deploy-api".into();
        let new: NewDeploy = serde_json::from_value(json).unwrap();
        assert_eq!(new.run.step.as_deref(), Some("deploy-api"));
        let mut long = new.clone();
        long.run.step = Some("x".repeat(MAX_SHORT_TEXT + 1));
        assert_eq!(long.validate().unwrap_err().field, "run.step");
    }

    #[test]
    fn text_survives_a_round_trip_verbatim() {
        let mut new = sample();
        new.commit.message =
            "\"quoted\" 'single' <script>alert(1)</script>\n🚀 & done; DROP TABLE deploys;--"
                .into();
        let json = serde_json::to_string(&new).unwrap();
        let back: NewDeploy = serde_json::from_str(&json).unwrap();
        assert_eq!(back, new);
    }
}
