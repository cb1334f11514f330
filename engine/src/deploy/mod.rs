//! A deploy against a cluster: prepare the objects (images), make sure their namespaces exist,
//! dry-run every object on the server, plan (compare with the live objects, diff each change),
//! apply what changes tier by tier, watch every workload, explain a failure and optionally roll
//! back. Generic over the [`Host`], so the same flow runs natively and under Node.
//!
//! Not for: reading files or flags (the binary does) or validating manifests without a
//! cluster ([`crate::check`]).

mod apply;
mod change;
mod diagnose;
mod owners;
mod prepare;
mod quota;
mod revisions;
mod rollback;
mod sentinel;
mod watch;

use std::time::Duration;

use futures_util::future::join_all;
use serde::Serialize;
use shiplog_model::{DeployStatus, Failure, ResourceAction, ResourceChange};

pub use apply::classify;
pub use change::diff as object_diff;
pub use prepare::{Traceability, prepare};

use crate::host::Host;
use crate::kube::client::{Kube, KubeError};
use crate::kube::discovery::Discovery;
use crate::manifest::Manifest;
use crate::plan::is_workload;
use watch::Settled;

/// How to deploy.
#[derive(Debug, Clone)]
pub struct Options {
    pub create_namespace: bool,
    /// Only the server-side dry run; nothing is changed.
    pub dry_run: bool,
    /// How long rollouts may take (and, separately, a rollback).
    pub timeout: Duration,
    pub rollback_on_failure: bool,
    /// Take over fields other managers hold (named in the plan), instead of refusing the
    /// deploy. A workload's replicas an autoscaler sets are never taken over.
    pub force_conflicts: bool,
}

/// What a deploy did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub status: DeployStatus,
    pub dry_run: bool,
    pub namespaces_created: Vec<String>,
    pub resources: Vec<ResourceChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// A deploy that could not be carried out.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeployError {
    /// The cluster cannot be reached or refuses the credentials (exit 3).
    #[error("{0}")]
    Access(KubeError),
    /// The server-side dry run refused objects; nothing but the listed namespaces was changed
    /// (exit 2).
    #[error("the API server refused {}", crate::wording::counted(problems.len(), "object"))]
    Rejected {
        problems: Vec<String>,
        namespaces_created: Vec<String>,
    },
    /// Applying failed part-way (exit 1).
    #[error("{0}")]
    Apply(String),
}

impl DeployError {
    fn from_kube(error: KubeError, context: impl FnOnce() -> String) -> Self {
        if error.is_access() {
            DeployError::Access(error)
        } else {
            DeployError::Apply(format!("{}: {error}", context()))
        }
    }
}

/// Reads which kinds the cluster serves (`/apis`, then `/api/v1` and every group version,
/// concurrently).
pub async fn discover<H: Host>(kube: &Kube<H>) -> Result<Discovery, KubeError> {
    use crate::kube::discovery::{group_version_requests, groups_request};
    let groups = kube.json(&groups_request()).await?;
    let lists = join_all(
        group_version_requests(&groups)
            .into_iter()
            .map(|request| async move { kube.json(&request).await }),
    )
    .await;
    let mut discovery = Discovery::default();
    for list in lists {
        discovery.add(&list?);
    }
    Ok(discovery)
}

/// `Kind/name` as people write it.
pub fn object_name(manifest: &Manifest) -> String {
    format!("{}/{}", manifest.kind(), manifest.name())
}

/// Deploys `manifests` (validated, namespaces assigned, prepared) to the cluster; the objects
/// it writes carry the annotations of `trace`.
pub async fn deploy<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    manifests: &[Manifest],
    trace: &Traceability,
    options: &Options,
) -> Result<Report, DeployError> {
    let mut manifests = manifests.to_vec();
    let deferred = owners::defer_to_autoscalers(kube, discovery, &mut manifests)
        .await
        .map_err(|e| DeployError::from_kube(e, || "reading the autoscalers".into()))?;
    let manifests = manifests.as_slice();
    let (existing, namespaces_created) = apply::ensure_namespaces(kube, manifests, options).await?;
    let before = apply::dry_run(
        kube,
        discovery,
        manifests,
        &existing,
        &namespaces_created,
        options.force_conflicts,
    )
    .await?;
    let mut plan = apply::plan(kube, discovery, manifests, &before).await?;
    for (i, note) in deferred {
        let planned = &mut plan[i];
        planned.note = Some(match planned.note.take() {
            Some(other) => format!("{note}; {other}"),
            None => note,
        });
    }
    let mut report = Report {
        status: DeployStatus::Succeeded,
        dry_run: options.dry_run,
        namespaces_created,
        resources: Vec::new(),
        failure: None,
    };
    if options.dry_run {
        report.resources = apply::predicted(manifests, &plan);
        return Ok(report);
    }
    let applied = apply::apply(kube, discovery, manifests, &plan, trace).await?;
    report.resources = applied.changes;

    // Each workload is judged first as the apply answered it, and watched from there.
    let workloads: Vec<(&Manifest, &serde_json::Value)> = manifests
        .iter()
        .zip(&applied.objects)
        .filter(|(m, _)| is_workload(m.kind()))
        .collect();
    let settled = watch::settle_all(kube, discovery, &workloads, options.timeout).await?;
    let failed: Vec<&Settled> = settled.iter().filter(|s| !s.is_complete()).collect();
    if failed.is_empty() {
        return Ok(report);
    }
    let mut details = Vec::new();
    let mut reason = String::new();
    for settled in &failed {
        let explanation = diagnose::explain(kube, discovery, settled).await?;
        if reason.is_empty() {
            reason = explanation.reason.clone();
        }
        details.extend(explanation.details);
        mark_failed(&mut report.resources, settled, &explanation.reason);
    }
    if failed.len() > 1 {
        reason = format!("{reason} (and {} more workloads failed)", failed.len() - 1);
    }
    report.status = DeployStatus::Failed;
    if options.rollback_on_failure {
        let restored = rollback::roll_back(kube, discovery, &failed, options.timeout).await?;
        details.extend(restored.notes);
        if restored.all {
            report.status = DeployStatus::RolledBack;
        }
    }
    report.failure = Some(Failure { reason, details });
    Ok(report)
}

fn mark_failed(resources: &mut [ResourceChange], settled: &Settled, reason: &str) {
    if let Some(change) = resources.iter_mut().find(|c| {
        c.kind == settled.resource.kind()
            && c.name == settled.name
            && c.namespace == settled.namespace
    }) {
        change.action = ResourceAction::Failed;
        change.message = Some(reason.to_owned());
    }
}
