//! Never fighting the cluster's other owners. A workload that a HorizontalPodAutoscaler scales
//! keeps the replicas the autoscaler gave it: its manifest's `spec.replicas` is replaced by the
//! live value before the dry run, so the deploy neither changes nor takes the field. (Leaving
//! the field out is not enough: under server-side apply, a field a manager stops sending is
//! removed when no other manager holds it, and the workload falls to one replica.) Other
//! fields another manager holds are named from the dry run's conflict (`conflicts`) and taken
//! over, or, with `force_conflicts` off, refused.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;
use serde_json::Value;

use crate::host::Host;
use crate::kube::client::{Kube, KubeError};
use crate::kube::discovery::Discovery;
use crate::manifest::Manifest;

/// The autoscaler kind and the version asked for.
const AUTOSCALER: (&str, &str) = ("autoscaling/v2", "HorizontalPodAutoscaler");

/// `(namespace, kind, name)` of a workload an autoscaler scales, with the autoscaler's name.
type Scaled = BTreeMap<(String, String, String), String>;

fn target(autoscaler: &Value, namespace: &str) -> Option<((String, String, String), String)> {
    let reference = &autoscaler["spec"]["scaleTargetRef"];
    Some((
        (
            namespace.to_owned(),
            reference["kind"].as_str()?.to_owned(),
            reference["name"].as_str()?.to_owned(),
        ),
        autoscaler["metadata"]["name"].as_str()?.to_owned(),
    ))
}

/// The workloads scaled by an autoscaler of the manifests or of the cluster (one list per
/// namespace the workloads live in, when the cluster serves autoscalers).
async fn scaled<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    manifests: &[Manifest],
) -> Result<Scaled, KubeError> {
    let mut scaled: Scaled = manifests
        .iter()
        .filter(|m| m.kind() == AUTOSCALER.1)
        .filter_map(|m| target(&m.object, m.namespace().unwrap_or_default()))
        .collect();
    let Some(resource) = discovery.resource(AUTOSCALER.0, AUTOSCALER.1) else {
        return Ok(scaled);
    };
    let namespaces: BTreeSet<&str> = manifests
        .iter()
        .filter(|m| m.object["spec"].get("replicas").is_some())
        .filter_map(Manifest::namespace)
        .collect();
    let lists = join_all(namespaces.iter().map(|ns| async move {
        let list = match resource.list(Some(ns), "") {
            Ok(request) => kube.json(&request).await,
            Err(e) => Err(e.into()),
        };
        (*ns, list)
    }))
    .await;
    for (namespace, list) in lists {
        let list = match list {
            Ok(list) => list,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        for item in list["items"].as_array().into_iter().flatten() {
            scaled.extend(target(item, namespace));
        }
    }
    Ok(scaled)
}

/// Gives every workload an autoscaler scales the replicas it has now (a workload still to be
/// created keeps its manifest's); returns, by manifest index, what was done and why.
pub async fn defer_to_autoscalers<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    manifests: &mut [Manifest],
) -> Result<BTreeMap<usize, String>, KubeError> {
    let scaled = scaled(kube, discovery, manifests).await?;
    let mut notes = BTreeMap::new();
    for (i, manifest) in manifests.iter_mut().enumerate() {
        let key = (
            manifest.namespace().unwrap_or_default().to_owned(),
            manifest.kind().to_owned(),
            manifest.name().to_owned(),
        );
        let Some(autoscaler) = scaled.get(&key) else {
            continue;
        };
        let Some(resource) = discovery.resource(manifest.api_version(), manifest.kind()) else {
            continue;
        };
        let live = match kube
            .json(&resource.get(manifest.namespace(), manifest.name())?)
            .await
        {
            Ok(live) => live,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        let Some(replicas) = live["spec"].get("replicas").cloned() else {
            continue;
        };
        manifest.object["spec"]["replicas"] = replicas.clone();
        notes.insert(
            i,
            format!(
                "spec.replicas left to HorizontalPodAutoscaler {autoscaler} (kept at {replicas})"
            ),
        );
    }
    Ok(notes)
}

/// The fields a refused apply names and their managers, `.spec.replicas (kubectl-scale)`, from
/// the API server's conflict message: `Apply failed with 1 conflict: conflict with "m" using
/// apps/v1: .spec.replicas`, or with several, one `conflicts with "m" using v:` line per
/// manager followed by `- .field` lines.
pub fn conflicts(message: &str) -> Vec<String> {
    let Some((_, detail)) = message.split_once(": ") else {
        return Vec::new();
    };
    let manager = |text: &str| text.split('"').nth(1).map(str::to_owned);
    let mut found = Vec::new();
    let mut current = None;
    for line in detail.lines() {
        let line = line.trim();
        if let Some(field) = line.strip_prefix("- ") {
            if let Some(manager) = &current {
                found.push(format!("{field} ({manager})"));
            }
        } else if line.starts_with("conflict with ") {
            let (head, field) = line.rsplit_once(": ").unwrap_or((line, ""));
            if let Some(manager) = manager(head) {
                found.push(format!("{field} ({manager})"));
            }
        } else if line.starts_with("conflicts with ") {
            current = manager(line);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_are_read_from_the_servers_message() {
        assert_eq!(
            conflicts(
                "Apply failed with 1 conflict: conflict with \"kubectl-scale\" using apps/v1: .spec.replicas"
            ),
            [".spec.replicas (kubectl-scale)"]
        );
        let several = "Apply failed with 3 conflicts: conflicts with \"hpa\" using apps/v1:\n- .spec.replicas\nconflicts with \"kubectl-edit\" using apps/v1:\n- .spec.minReadySeconds\n- .metadata.labels.tier";
        assert_eq!(
            conflicts(several),
            [
                ".spec.replicas (hpa)",
                ".spec.minReadySeconds (kubectl-edit)",
                ".metadata.labels.tier (kubectl-edit)"
            ]
        );
        assert!(conflicts("the server is down").is_empty());
    }
}
