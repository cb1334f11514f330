//! Recording a deploy in the history server: `POST /api/v1/deploys` when it starts, `PATCH
//! /api/v1/deploys/{id}` when it ends, each retried with bounded backoff. The facts come from
//! the GitHub runner's environment (`GITHUB_REPOSITORY`, `GITHUB_SHA`, …), read through a
//! lookup function so this stays pure. Recording never changes a deploy's outcome: the caller
//! turns an error into a warning.

mod fit;

use std::time::Duration;

use serde_json::Value;
use shiplog_model::{
    Commit, Created, DeployStatus, DeployUpdate, Failure, NewDeploy, ResourceChange, WorkflowRun,
    WorkloadRef,
};

use crate::host::Host;
use crate::kube::client::{Kube, KubeError};
use crate::kube::request::Request;
use crate::kube::retry::Backoff;
use crate::manifest::Manifest;
use crate::plan::is_workload;

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
    let run_id: i64 = var("GITHUB_RUN_ID").parse().unwrap_or(0);
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
            id: run_id,
            attempt: var("GITHUB_RUN_ATTEMPT").parse().unwrap_or(1),
            job: var("GITHUB_JOB"),
            url: (run_id > 0).then(|| format!("{server}/{repo}/actions/runs/{run_id}")),
        },
        repo,
        started_at: None,
        finished_at: None,
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

/// Records the end.
pub async fn end<H: Host>(
    server: &Kube<H>,
    created: &Created,
    update: &DeployUpdate,
) -> Result<(), KubeError> {
    let request = Request::patch_json(format!("/api/v1/deploys/{}", created.id), &to_json(update));
    server.send(&request).await.map(|_| ())
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
        };
        let deploy = new_deploy(&facts, env).unwrap();
        assert_eq!(deploy.app, "api", "the first workload names the app");
        assert_eq!(deploy.version.as_deref(), Some("v1.4.2"));
        assert_eq!(
            deploy.run.url.as_deref(),
            Some("https://github.com/acme/shop/actions/runs/123")
        );
        assert_eq!(deploy.run.attempt, 1);
        assert!(deploy.validate().is_ok());
        assert_eq!(
            new_deploy(&facts, |_| None).unwrap_err(),
            ["GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_ACTOR"]
        );
    }
}
