//! `--rollback-on-failure`: what `kubectl rollout undo` does for a Deployment — put back the
//! pod template of the previous revision (the ReplicaSet with the highest revision below the
//! current one) — then wait for that rollout. Other kinds keep no history to go back to.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use super::DeployError;
use super::diagnose::{owned_by, revision};
use super::watch::{Settled, settle};
use crate::host::Host;
use crate::kube::client::Kube;
use crate::kube::discovery::Discovery;
use crate::kube::request::label_selector;

/// What rolling back achieved.
#[derive(Debug, Default)]
pub struct Restored {
    /// Every failed workload is back on its previous version.
    pub all: bool,
    pub notes: Vec<String>,
}

/// The previous revision's number and pod template (without the ReplicaSet's
/// `pod-template-hash` label), if there is one.
pub fn previous_template(deployment: &Value, replica_sets: &[Value]) -> Option<(i64, Value)> {
    let current = revision(deployment)?;
    let previous = replica_sets
        .iter()
        .filter(|rs| owned_by(rs, deployment))
        .filter_map(|rs| Some((revision(rs)?, rs)))
        .filter(|(n, _)| *n < current)
        .max_by_key(|(n, _)| *n)?;
    let mut template = previous.1["spec"]["template"].clone();
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    Some((previous.0, template))
}

async fn undo<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    failed: &Settled,
    timeout: Duration,
) -> Result<Result<String, String>, DeployError> {
    let workload = failed.workload();
    if failed.resource.kind != "Deployment" {
        return Ok(Err(format!(
            "{workload}: only Deployments can be rolled back"
        )));
    }
    let ns = failed.namespace.as_deref();
    let access = |e| DeployError::from_kube(e, || format!("rolling back {workload}"));
    let deployment = kube
        .json(&failed.resource.get(ns, &failed.name))
        .await
        .map_err(access)?;
    let selector = label_selector(&deployment["spec"]["selector"]["matchLabels"]);
    let replica_sets = discovery
        .resource("apps/v1", "ReplicaSet")
        .cloned()
        .unwrap_or_else(|| Discovery::builtin("apps/v1", "ReplicaSet", "replicasets"));
    let list = kube
        .json(&replica_sets.list(ns, &selector))
        .await
        .map_err(access)?;
    let sets = list["items"].as_array().cloned().unwrap_or_default();
    let Some((number, template)) = previous_template(&deployment, &sets) else {
        return Ok(Err(format!(
            "{workload}: there is no previous revision to roll back to"
        )));
    };
    let ops = json!([{"op": "replace", "path": "/spec/template", "value": template}]);
    kube.send(&failed.resource.json_patch(ns, &failed.name, &ops))
        .await
        .map_err(access)?;
    let settled = settle(kube, &failed.resource, ns, &failed.name, None, timeout).await?;
    Ok(if settled.is_complete() {
        Ok(format!("{workload}: rolled back to revision {number}"))
    } else {
        Err(format!(
            "{workload}: the rollback to revision {number} did not complete"
        ))
    })
}

/// Rolls back every failed workload, concurrently.
pub async fn roll_back<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    failed: &[&Settled],
    timeout: Duration,
) -> Result<Restored, DeployError> {
    let outcomes = join_all(failed.iter().map(|f| undo(kube, discovery, f, timeout))).await;
    let mut restored = Restored {
        all: true,
        notes: Vec::new(),
    };
    for outcome in outcomes {
        match outcome? {
            Ok(note) => restored.notes.push(note),
            Err(note) => {
                restored.all = false;
                restored.notes.push(note);
            }
        }
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::diagnose::REVISION;

    fn rs(revision: &str, owner: &str, image: &str) -> Value {
        json!({"metadata": {"annotations": {REVISION: revision}, "ownerReferences": [{"uid": owner}]},
            "spec": {"template": {"metadata": {"labels": {"app": "api", "pod-template-hash": "abc"}},
                "spec": {"containers": [{"name": "api", "image": image}]}}}})
    }

    #[test]
    fn the_previous_revision_is_the_highest_below_the_current() {
        let deployment = json!({"metadata": {"uid": "d1", "annotations": {REVISION: "3"}}});
        let sets = [
            rs("1", "d1", "api:v1"),
            rs("3", "d1", "api:v3"),
            rs("2", "d1", "api:v2"),
            rs("2", "someone-else", "other:v9"),
        ];
        let (number, template) = previous_template(&deployment, &sets).unwrap();
        assert_eq!(number, 2);
        assert_eq!(template["spec"]["containers"][0]["image"], "api:v2");
        assert_eq!(template["metadata"]["labels"], json!({"app": "api"}));
        let first = json!({"metadata": {"uid": "d1", "annotations": {REVISION: "1"}}});
        assert_eq!(previous_template(&first, &sets), None);
    }
}
