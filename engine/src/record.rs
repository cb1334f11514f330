//! Recording a deploy in the history server: `POST /api/v1/deploys` when it starts, `PATCH
//! /api/v1/deploys/{id}` once when it ends, each retried with bounded backoff. The facts come
//! from the GitHub runner's environment (`GITHUB_REPOSITORY`, `GITHUB_SHA`, …), read through a
//! lookup function so this stays pure. Recording never changes a deploy's outcome: the caller
//! turns an error into a warning.
//!
//! The record's idempotency key is the run, its attempt, the job, the step (`GITHUB_ACTION`),
//! the app, the environment and the namespace. Outside GitHub Actions (no `GITHUB_RUN_ID`) the
//! run id is random, so every invocation is a deploy of its own. The start declares when the
//! result is due ([`deadline`]): past it, the server marks a record still open `abandoned`.
//! Once applied, the objects themselves are kept beside the record ([`keep_manifests`]).

mod applied;
mod fit;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use shiplog_model::{
    AppliedManifests, Commit, Created, DeployId, DeployStatus, DeployUpdate, Failure, NewDeploy,
    ResourceChange, WorkflowRun, WorkloadRef,
};

use crate::deploy::Options;
use crate::host::Host;
use crate::kube::client::{Kube, KubeError};
use crate::kube::request::Request;
use crate::kube::retry::Backoff;
use crate::manifest::Manifest;
use crate::plan::is_workload;

pub use applied::applied;
pub use fit::{OMITTED, fit_new, fit_update};

/// How hard to try the history server: a few seconds at most, the deploy matters more.
pub const BACKOFF: Backoff = Backoff {
    attempts: 5,
    connect_attempts: 3,
    first: Duration::from_millis(200),
    max: Duration::from_secs(2),
};

/// What the deploy is, for the record.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub app: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub namespace: &'a str,
    pub images: &'a [String],
    pub manifests: &'a [Manifest],
    /// When the result is due ([`deadline`]).
    pub deadline: DateTime<Utc>,
    /// The run id outside GitHub Actions (no `GITHUB_RUN_ID`): random ([`local_run_id`]).
    pub local_run_id: i64,
}

/// Time a deploy may take beyond its rollout timeouts: reading, checking and applying the
/// manifests, explaining a failure, announcing and recording it.
pub const DEADLINE_GRACE: Duration = Duration::from_secs(10 * 60);

/// The latest deadline declared, inside the server's 25 hours whatever the clocks' skew.
pub const MAX_DEADLINE: Duration = Duration::from_secs(24 * 3600);

/// When the result of a deploy starting at `now` with `options` is due: its rollout timeout
/// (twice when a failure is rolled back, which waits as long again) plus [`DEADLINE_GRACE`], at
/// most [`MAX_DEADLINE`] ahead.
pub fn deadline(now: DateTime<Utc>, options: &Options) -> DateTime<Utc> {
    let watches = if options.rollback_on_failure { 2 } else { 1 };
    let due = options
        .timeout
        .saturating_mul(watches)
        .saturating_add(DEADLINE_GRACE)
        .min(MAX_DEADLINE);
    now + chrono::TimeDelta::from_std(due).unwrap_or(chrono::TimeDelta::MAX)
}

/// A run id for a deploy outside GitHub Actions, from 64 random bits: between 1 and 2^53 − 1,
/// which every JSON reader (the console's JavaScript too) holds exactly.
pub fn local_run_id(random: u64) -> i64 {
    const SAFE: u64 = (1 << 53) - 1;
    (random % SAFE + 1) as i64
}

/// The environment variables a record needs that are not set.
const REQUIRED: [&str; 3] = ["GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_ACTOR"];

/// The `NewDeploy` for `facts` in the environment `env`, or the names of the missing
/// variables.
pub fn new_deploy(
    facts: &Facts<'_>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<NewDeploy, Vec<&'static str>> {
    let missing: Vec<&'static str> = REQUIRED
        .into_iter()
        .filter(|name| env(name).is_none_or(|v| v.is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let var = |name: &str| env(name).unwrap_or_default();
    let repo = var("GITHUB_REPOSITORY");
    let server = env("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
    let github_run: Option<i64> = var("GITHUB_RUN_ID").parse().ok().filter(|id| *id > 0);
    let workloads: Vec<WorkloadRef> = facts
        .manifests
        .iter()
        .filter(|m| is_workload(m.kind()) || m.kind() == "CronJob")
        .map(|m| WorkloadRef {
            kind: m.kind().to_owned(),
            name: m.name().to_owned(),
        })
        .collect();
    let app = facts
        .app
        .map(str::to_owned)
        .or_else(|| workloads.first().map(|w| w.name.clone()))
        .or_else(|| facts.manifests.first().map(|m| m.name().to_owned()))
        .unwrap_or_else(|| repo.rsplit('/').next().unwrap_or_default().to_owned());
    let sha = var("GITHUB_SHA");
    Ok(NewDeploy {
        restores: None,
        lock_override: None,
        github_deployment: None,
        app,
        environment: facts.environment.map(str::to_owned),
        namespace: facts.namespace.to_owned(),
        cluster: None,
        status: DeployStatus::InProgress,
        version: facts
            .images
            .first()
            .and_then(|image| image.rsplit_once(':'))
            .map(|(_, tag)| tag.to_owned())
            .filter(|tag| !tag.contains('/')),
        images: facts.images.to_vec(),
        workloads,
        commit: Commit {
            url: Some(format!("{server}/{repo}/commit/{sha}")),
            sha,
            message: String::new(),
        },
        git_ref: env("GITHUB_REF"),
        actor: var("GITHUB_ACTOR"),
        run: WorkflowRun {
            id: github_run.unwrap_or(facts.local_run_id),
            attempt: var("GITHUB_RUN_ATTEMPT").parse().unwrap_or(1),
            job: var("GITHUB_JOB"),
            step: env("GITHUB_ACTION").filter(|step| !step.is_empty()),
            url: github_run.map(|id| format!("{server}/{repo}/actions/runs/{id}")),
        },
        repo,
        started_at: None,
        finished_at: None,
        deadline: Some(facts.deadline),
        resources: Vec::new(),
        failure: None,
        slack: None,
    })
}

/// The final update of a deploy.
pub fn finish(
    status: DeployStatus,
    resources: Vec<ResourceChange>,
    failure: Option<Failure>,
) -> DeployUpdate {
    DeployUpdate {
        status: Some(status),
        resources: Some(resources),
        failure,
        ..DeployUpdate::default()
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("model types serialize")
}

/// Records the start; the deploy's id and URL.
pub async fn start<H: Host>(server: &Kube<H>, deploy: &NewDeploy) -> Result<Created, KubeError> {
    let answer = server
        .json(&Request::post_json(
            "/api/v1/deploys".into(),
            &to_json(deploy),
        ))
        .await?;
    serde_json::from_value(answer).map_err(|e| KubeError::Api {
        status: 200,
        reason: "InvalidResponse".into(),
        message: format!("the history server answered: {e}"),
    })
}

/// Records the end (once: a finished record never changes; the same update sent again is
/// harmless, anything else is refused with 409).
pub async fn end<H: Host>(
    server: &Kube<H>,
    id: DeployId,
    update: &DeployUpdate,
) -> Result<(), KubeError> {
    let request = Request::patch_json(format!("/api/v1/deploys/{id}"), &to_json(update));
    server.send(&request).await.map(|_| ())
}

/// Keeps the objects the deploy applied beside its record (once: the same set sent again is
/// harmless, another set is refused with 409).
pub async fn keep_manifests<H: Host>(
    server: &Kube<H>,
    id: DeployId,
    set: &AppliedManifests,
) -> Result<(), KubeError> {
    let request = Request::post_json(format!("/api/v1/deploys/{id}/manifests"), &to_json(set));
    server.send(&request).await.map(|_| ())
}

/// The end of a record whose deploy step was stopped before it could report one (the job was
/// cancelled mid-deploy), as the Action's post step reports it.
pub fn cancelled(now: DateTime<Utc>) -> DeployUpdate {
    DeployUpdate {
        status: Some(DeployStatus::Cancelled),
        finished_at: Some(now),
        failure: Some(Failure {
            reason: "the deploy step was stopped before the deploy ended (the job was cancelled)"
                .into(),
            details: Vec::new(),
        }),
        ..DeployUpdate::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse;

    fn env(name: &str) -> Option<String> {
        Some(
            match name {
                "GITHUB_REPOSITORY" => "acme/shop",
                "GITHUB_SHA" => "4f2a9c1e",
                "GITHUB_ACTOR" => "alice",
                "GITHUB_RUN_ID" => "123",
                "GITHUB_JOB" => "deploy",
                _ => return None,
            }
            .to_owned(),
        )
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_record_comes_from_the_runner_and_the_manifests() {
        let (manifests, _) = parse(
            "a.yaml",
            "kind: ConfigMap\nmetadata: {name: cfg}\n---\nkind: Deployment\nmetadata: {name: api}\n",
        );
        let images = ["ghcr.io/acme/api:v1.4.2".to_owned()];
        let facts = Facts {
            app: None,
            environment: Some("production"),
            namespace: "prod",
            images: &images,
            manifests: &manifests,
            deadline: at("2026-03-01T12:15:00Z"),
            local_run_id: 99,
        };
        let deploy = new_deploy(&facts, env).unwrap();
        assert_eq!(deploy.app, "api", "the first workload names the app");
        assert_eq!(deploy.version.as_deref(), Some("v1.4.2"));
        assert_eq!(
            deploy.run.url.as_deref(),
            Some("https://github.com/acme/shop/actions/runs/123")
        );
        assert_eq!(deploy.run.attempt, 1);
        assert_eq!(deploy.run.id, 123, "GitHub's run id wins");
        assert_eq!(deploy.run.step, None, "no GITHUB_ACTION here");
        assert_eq!(deploy.deadline, Some(at("2026-03-01T12:15:00Z")));
        assert!(deploy.validate().is_ok());
        assert_eq!(
            new_deploy(&facts, |_| None).unwrap_err(),
            ["GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_ACTOR"]
        );
    }

    #[test]
    fn the_step_and_a_random_run_outside_github_make_the_key() {
        let facts = Facts {
            app: Some("api"),
            environment: None,
            namespace: "prod",
            images: &[],
            manifests: &[],
            deadline: at("2026-03-01T12:15:00Z"),
            local_run_id: 4711,
        };
        let in_a_step = |name: &str| match name {
            "GITHUB_ACTION" => Some("deploy-api".to_owned()),
            other => env(other),
        };
        let deploy = new_deploy(&facts, in_a_step).unwrap();
        assert_eq!(deploy.run.step.as_deref(), Some("deploy-api"));

        // `GITHUB_*` set by hand, outside a workflow run: no run id, so a random one and no link.
        let by_hand = |name: &str| match name {
            "GITHUB_RUN_ID" | "GITHUB_JOB" => None,
            other => env(other),
        };
        let deploy = new_deploy(&facts, by_hand).unwrap();
        assert_eq!(deploy.run.id, 4711);
        assert_eq!(deploy.run.url, None);
        assert!(deploy.validate().is_ok());
    }

    #[test]
    fn local_run_ids_are_positive_and_exact_in_javascript() {
        for random in [0, 1, u64::MAX, (1 << 53) - 2, (1 << 53) - 1, 1 << 60] {
            let id = local_run_id(random);
            assert!((1..1 << 53).contains(&id), "{random} -> {id}");
        }
        assert_ne!(local_run_id(1), local_run_id(2));
    }

    #[test]
    fn the_deadline_covers_the_watches_and_stays_within_the_servers_bound() {
        let now = at("2026-03-01T12:00:00Z");
        let options = |timeout: u64, rollback_on_failure: bool| Options {
            create_namespace: true,
            dry_run: false,
            timeout: Duration::from_secs(timeout),
            rollback_on_failure,
            force_conflicts: true,
        };
        assert_eq!(
            deadline(now, &options(300, false)),
            at("2026-03-01T12:15:00Z")
        );
        assert_eq!(
            deadline(now, &options(300, true)),
            at("2026-03-01T12:20:00Z")
        );
        assert_eq!(
            deadline(now, &options(7 * 24 * 3600, true)),
            at("2026-03-02T12:00:00Z"),
            "a week's timeout is declared as 24 hours"
        );
        let new = NewDeploy {
            deadline: Some(deadline(now, &options(u64::MAX / 4, true))),
            ..new_deploy(
                &Facts {
                    app: Some("api"),
                    environment: None,
                    namespace: "prod",
                    images: &[],
                    manifests: &[],
                    deadline: now,
                    local_run_id: 1,
                },
                env,
            )
            .unwrap()
        };
        assert_eq!(new.validate_at(now), Ok(()), "the server accepts it");
    }
}
