//! The deploy record: what was deployed, where, by whom, from which commit, and how it went.
//!
//! A [`Deploy`] is what the server stores and returns. It is created from a
//! [`NewDeploy`](crate::NewDeploy) and changed only through [`DeployUpdate`](crate::DeployUpdate),
//! whose status changes obey [`DeployStatus::can_become`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The server-assigned identifier of a deploy. Positive and increasing in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct DeployId(pub i64);

impl fmt::Display for DeployId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for DeployId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(DeployId)
    }
}

/// Where a deploy stands.
///
/// `in_progress` is the only open state; every other one is final and never changes again (see
/// [`crate::lifecycle`]). A writer reports the final status once; `abandoned` is decided by the
/// server alone, for a deploy still open past its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeployStatus {
    /// Manifests are being applied or rollouts watched.
    InProgress,
    /// Every workload rolled out.
    Succeeded,
    /// A workload failed to roll out, or applying failed.
    Failed,
    /// The deploy failed and the previous version was restored.
    RolledBack,
    /// The deploy was stopped before it finished (for example, the job was cancelled).
    Cancelled,
    /// Nobody reported a result before the deploy's deadline (the job was cancelled or its
    /// runner stopped); set by the server, never by a writer.
    Abandoned,
    /// A lock or freeze window held the deploy: nothing was applied.
    Blocked,
}

impl DeployStatus {
    /// Every status, in a stable order.
    pub const ALL: [DeployStatus; 7] = [
        DeployStatus::InProgress,
        DeployStatus::Succeeded,
        DeployStatus::Failed,
        DeployStatus::RolledBack,
        DeployStatus::Cancelled,
        DeployStatus::Abandoned,
        DeployStatus::Blocked,
    ];

    /// The wire name (`in_progress`, `succeeded`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DeployStatus::InProgress => "in_progress",
            DeployStatus::Succeeded => "succeeded",
            DeployStatus::Failed => "failed",
            DeployStatus::RolledBack => "rolled_back",
            DeployStatus::Cancelled => "cancelled",
            DeployStatus::Abandoned => "abandoned",
            DeployStatus::Blocked => "blocked",
        }
    }

    /// Whether the deploy has ended.
    pub fn is_terminal(self) -> bool {
        self != DeployStatus::InProgress
    }

    /// Whether a writer may move a deploy in status `self` to `next`: only an open deploy
    /// moves, to any status but `abandoned` (the server's verdict on a deploy nobody finished).
    /// A finished deploy never changes; a retried update that changes nothing is accepted by
    /// [`DeployUpdate::apply_to`](crate::DeployUpdate::apply_to).
    pub fn can_become(self, next: DeployStatus) -> bool {
        self == DeployStatus::InProgress && next != DeployStatus::Abandoned
    }

    /// Whether a deploy ended with an outcome: it succeeded, or it failed (rolled back or
    /// not). Cancelled, abandoned and blocked deploys have none: insights count them apart, as neither
    /// success nor failure.
    pub fn has_outcome(self) -> bool {
        matches!(
            self,
            DeployStatus::Succeeded | DeployStatus::Failed | DeployStatus::RolledBack
        )
    }
}

impl fmt::Display for DeployStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown status name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown status {0:?}; expected one of in_progress, succeeded, failed, rolled_back, cancelled, abandoned, blocked"
)]
pub struct UnknownStatus(pub String);

impl FromStr for DeployStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeployStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// The commit a deploy was built from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Commit {
    /// Full commit SHA.
    pub sha: String,
    /// The whole commit message, verbatim.
    #[serde(default)]
    pub message: String,
    /// Link to the commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Commit {
    /// The first seven characters of the SHA, as people quote it.
    pub fn short_sha(&self) -> &str {
        self.sha.get(..7).unwrap_or(&self.sha)
    }

    /// The first line of the commit message.
    pub fn title(&self) -> &str {
        self.message.lines().next().unwrap_or_default()
    }
}

/// The workflow run (CI job) that performed a deploy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowRun {
    /// `GITHUB_RUN_ID`.
    pub id: i64,
    /// `GITHUB_RUN_ATTEMPT`, starting at 1.
    #[serde(default = "first_attempt")]
    pub attempt: i32,
    /// `GITHUB_JOB`: the job's id within the workflow.
    #[serde(default)]
    pub job: String,
    /// `GITHUB_ACTION`: the step's id within the job (`deploy-api`, or `__owner_shiplog` for a
    /// step without an `id`). Part of the idempotency key, so two shiplog steps of one job are
    /// two deploys; absent from old writers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Link to the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

fn first_attempt() -> i32 {
    1
}

/// A workload (Deployment, StatefulSet, …) that a deploy touched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkloadRef {
    /// Kubernetes kind, e.g. `Deployment`.
    pub kind: String,
    /// Object name.
    pub name: String,
}

/// What applying one object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResourceAction {
    /// The object did not exist and was created.
    Created,
    /// The object existed and was changed.
    Configured,
    /// The object existed and applying changed nothing.
    Unchanged,
    /// Applying or rolling out the object failed.
    Failed,
}

impl ResourceAction {
    /// The word for it, as the API spells it (`created`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceAction::Created => "created",
            ResourceAction::Configured => "configured",
            ResourceAction::Unchanged => "unchanged",
            ResourceAction::Failed => "failed",
        }
    }
}

/// The outcome for one object of the deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceChange {
    /// `apiVersion` of the object, e.g. `apps/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Kubernetes kind.
    pub kind: String,
    /// Object name.
    pub name: String,
    /// Namespace, absent for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// What happened.
    pub action: ResourceAction,
    /// A human explanation, mostly for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What changed in the object: a unified diff of its YAML, live against planned, without
    /// the server's bookkeeping; a Secret's values are never in it (only whether each key's
    /// value changed). Absent for unchanged objects and in records written before diffs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl ResourceChange {
    /// `Deployment/api in prod configured`, as a log line says it.
    pub fn describe(&self) -> String {
        let place = self
            .namespace
            .as_deref()
            .map(|ns| format!(" in {ns}"))
            .unwrap_or_default();
        format!(
            "{}/{}{place} {}",
            self.kind,
            self.name,
            self.action.as_str()
        )
    }
}

/// Why a deploy failed, explained for a person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Failure {
    /// One line, e.g. `api: image ghcr.io/acme/api:v2 cannot be pulled (ImagePullBackOff)`.
    pub reason: String,
    /// Supporting facts: pod waiting reasons, events, the last log lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// The Slack message that announced a deploy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlackMessage {
    /// Channel id.
    pub channel: String,
    /// Message timestamp (Slack's message id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    /// Link to the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permalink: Option<String>,
}

/// The GitHub deployment that mirrors a deploy (the Action creates one when its `github-token`
/// may write deployments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GithubDeployment {
    /// The deployment's id in GitHub's REST API.
    pub id: i64,
    /// A page people can open: the environment's deployments on GitHub
    /// (`https://github.com/{owner}/{repo}/deployments/{environment}`), which lists this one.
    pub url: String,
}

/// One deploy as the server stores and returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deploy {
    /// Server-assigned id.
    pub id: DeployId,
    /// `owner/name` of the repository.
    pub repo: String,
    /// The application deployed.
    pub app: String,
    /// The environment (defaults to the namespace).
    pub environment: String,
    /// The namespace deployed to.
    pub namespace: String,
    /// The cluster's name or server URL, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Where the deploy stands.
    pub status: DeployStatus,
    /// The version deployed (a tag, or the short SHA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Images set by the deploy.
    #[serde(default)]
    pub images: Vec<String>,
    /// Workloads the deploy touched.
    #[serde(default)]
    pub workloads: Vec<WorkloadRef>,
    /// The commit deployed.
    pub commit: Commit,
    /// Git ref, e.g. `refs/heads/main`.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Who triggered the deploy.
    pub actor: String,
    /// The workflow run that performed it.
    pub run: WorkflowRun,
    /// When the deploy started.
    pub started_at: DateTime<Utc>,
    /// When it ended, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// When a result is due: past it, an open deploy is marked `abandoned` by the server (see
    /// [`crate::lifecycle`]). Absent from deploys recorded before deadlines existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    /// Per-object outcomes.
    #[serde(default)]
    pub resources: Vec<ResourceChange>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The Slack message about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackMessage>,
    /// The earlier deploy this one deploys again (`shiplog redeploy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restores: Option<DeployId>,
    /// The lock or freeze this deploy went ahead despite (`override-lock`), as its message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_override: Option<String>,
    /// The GitHub deployment that mirrors this deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_deployment: Option<GithubDeployment>,
}

impl Deploy {
    /// How long the deploy took, once finished.
    pub fn duration(&self) -> Option<chrono::Duration> {
        self.finished_at.map(|end| end - self.started_at)
    }

    /// The texts the history's free-text filter (`q`) searches: app, repository, environment,
    /// namespace, actor, commit SHA and message, version, ref, images, workloads and the failure
    /// reason. The server indexes them and the console matches live events against them.
    pub fn search_fields(&self) -> Vec<&str> {
        let mut fields: Vec<&str> = vec![
            &self.app,
            &self.repo,
            &self.environment,
            &self.namespace,
            &self.actor,
            &self.commit.sha,
            &self.commit.message,
        ];
        fields.extend(self.version.as_deref());
        fields.extend(self.git_ref.as_deref());
        fields.extend(self.images.iter().map(String::as_str));
        fields.extend(self.workloads.iter().map(|w| w.name.as_str()));
        fields.extend(self.failure.as_ref().map(|f| f.reason.as_str()));
        fields
    }

    /// How many resources ended with each action, in the order created, configured, unchanged,
    /// failed.
    pub fn resource_counts(&self) -> [usize; 4] {
        let count = |action| self.resources.iter().filter(|r| r.action == action).count();
        [
            count(ResourceAction::Created),
            count(ResourceAction::Configured),
            count(ResourceAction::Unchanged),
            count(ResourceAction::Failed),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_its_wire_name() {
        for status in DeployStatus::ALL {
            assert_eq!(status.as_str().parse::<DeployStatus>(), Ok(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert!("done".parse::<DeployStatus>().is_err());
    }

    #[test]
    fn only_an_open_deploy_moves_and_never_to_abandoned() {
        use DeployStatus::*;
        for next in [InProgress, Succeeded, Failed, RolledBack, Cancelled] {
            assert!(InProgress.can_become(next), "{next}");
        }
        assert!(
            !InProgress.can_become(Abandoned),
            "only the server abandons a deploy"
        );
        for finished in [Succeeded, Failed, RolledBack, Cancelled, Abandoned] {
            for next in DeployStatus::ALL {
                assert!(!finished.can_become(next), "{finished} -> {next}");
            }
        }
    }

    #[test]
    fn cancelled_and_abandoned_deploys_have_no_outcome() {
        use DeployStatus::*;
        let with_outcome: Vec<_> = DeployStatus::ALL
            .into_iter()
            .filter(|s| s.has_outcome())
            .collect();
        assert_eq!(with_outcome, [Succeeded, Failed, RolledBack]);
        assert!(Abandoned.is_terminal() && Cancelled.is_terminal());
    }

    #[test]
    fn commit_helpers() {
        let commit = Commit {
            sha: "0123456789abcdef".into(),
            message: "Fix \"quotes\" & <tags>\n\nbody".into(),
            url: None,
        };
        assert_eq!(commit.short_sha(), "0123456");
        assert_eq!(commit.title(), "Fix \"quotes\" & <tags>");
    }
}
