//! The ReplicaSet controller: keeps `spec.replicas` pods from the template (creating the
//! missing ones, deleting the surplus, not-ready first) and reports replicas, ready and
//! available counts, and the `ReplicaFailure` condition while pods cannot be created (a
//! quota). Also the pod creation and deletion every workload controller shares.

use serde_json::{Value, json};

use super::{Ctl, owned, pod_ready};
use crate::meta;
use crate::registry::{self, WriteOptions};
use crate::resources::Kind;
use crate::store::ObjKey;

const COMPONENT: &str = "replicaset-controller";

/// A pod for `owner` from its `spec.template`, named `{prefix}{suffix}`.
pub fn pod_from_template(
    owner: &Value,
    template: &Value,
    name: Option<String>,
    prefix: &str,
) -> Value {
    let mut metadata = template.get("metadata").cloned().unwrap_or(json!({}));
    metadata["namespace"] = json!(meta::namespace(owner));
    metadata["ownerReferences"] = json!([meta::controller_ref(owner)]);
    match name {
        Some(name) => metadata["name"] = json!(name),
        None => metadata["generateName"] = json!(prefix),
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or(json!({})),
    })
}

/// What came of a controller's attempt to create a pod.
#[derive(Clone, Debug, PartialEq)]
pub enum Creation {
    Created,
    /// Not tried: the controller backs off after a refusal.
    Deferred,
    /// The API server refused it, with this message.
    Refused(String),
}

/// Creates `pod` as the controller `component` does and records the event on `owner`
/// (`SuccessfulCreate`, or `FailedCreate` with the API server's message, in the words of the
/// StatefulSet controller for StatefulSets and of the shared pod control for the others).
/// After a refusal the controller backs off ([`Ctl::creation_refused`]).
pub fn create_pod(ctl: &mut Ctl, owner: &Value, pod: Value, component: &str) -> Creation {
    let owner_key = ObjKey::new(
        Kind::from_type(
            owner["apiVersion"].as_str().unwrap_or(""),
            owner["kind"].as_str().unwrap_or(""),
        )
        .unwrap_or(Kind::ReplicaSet),
        meta::namespace(owner),
        meta::name(owner),
    );
    if !ctl.creation_due(&owner_key) {
        return Creation::Deferred;
    }
    let stateful = owner_key.kind == Kind::StatefulSet;
    let wanted = meta::name(&pod).to_string();
    match registry::create(
        ctl.store(),
        Kind::Pod,
        &owner_key.namespace,
        pod,
        &WriteOptions::controller(component),
    ) {
        Ok(pod) => {
            ctl.creation_done(&owner_key);
            let name = meta::name(&pod);
            let message = if stateful {
                format!(
                    "create Pod {name} in StatefulSet {} successful",
                    owner_key.name
                )
            } else {
                format!("Created pod: {name}")
            };
            ctl.event(owner, "Normal", "SuccessfulCreate", &message, component);
            Creation::Created
        }
        Err(e) => {
            ctl.creation_refused(&owner_key);
            let message = if stateful {
                format!(
                    "create Pod {wanted} in StatefulSet {} failed error: {e}",
                    owner_key.name
                )
            } else {
                format!("Error creating: {e}")
            };
            ctl.event(owner, "Warning", "FailedCreate", &message, component);
            Creation::Refused(e.message)
        }
    }
}

/// The ReplicaSet's conditions: `ReplicaFailure` (`FailedCreate`) set when a creation is
/// refused — kept as first set while it lasts — and removed once pods can be created.
fn conditions(rs: &Value, failing: bool, refusal: Option<String>) -> Vec<Value> {
    let previous = meta::array_at(rs, &["status", "conditions"])
        .iter()
        .find(|c| c["type"] == "ReplicaFailure")
        .cloned();
    if !failing {
        return Vec::new();
    }
    previous
        .or_else(|| {
            refusal.map(|message| {
                json!({"type": "ReplicaFailure", "status": "True",
                "lastTransitionTime": meta::now(), "reason": "FailedCreate", "message": message})
            })
        })
        .into_iter()
        .collect()
}

/// Deletes `pod` as the controller `component` does and records the event on `owner`.
pub fn delete_pod(ctl: &mut Ctl, owner: &Value, pod: &Value, component: &str) {
    if registry::delete(ctl.store(), &ObjKey::of(Kind::Pod, pod), false).is_ok() {
        let message = format!("Deleted pod: {}", meta::name(pod));
        ctl.event(owner, "Normal", "SuccessfulDelete", &message, component);
    }
}

pub fn reconcile(ctl: &mut Ctl, key: &ObjKey) {
    let Some(rs) = ctl.store().get(key) else {
        return;
    };
    let desired = meta::i64_at(&rs, &["spec", "replicas"]).unwrap_or(1).max(0) as usize;
    let mut pods = owned(ctl.store(), Kind::Pod, &key.namespace, meta::uid(&rs));
    pods.retain(|p| {
        !matches!(
            meta::str_at(p, &["status", "phase"]),
            Some("Failed" | "Succeeded")
        )
    });
    let (mut failing, mut refusal) = (false, None);
    if pods.len() < desired {
        let template = rs["spec"]["template"].clone();
        for _ in pods.len()..desired {
            let pod = pod_from_template(&rs, &template, None, &format!("{}-", key.name));
            match create_pod(ctl, &rs, pod, COMPONENT) {
                Creation::Created => {}
                Creation::Deferred => failing = true,
                Creation::Refused(message) => (failing, refusal) = (true, Some(message)),
            }
            if failing {
                break;
            }
        }
    } else if pods.len() > desired {
        // Not-ready pods go first, then the newest.
        pods.sort_by_key(|p| {
            (
                pod_ready(p),
                std::cmp::Reverse(
                    meta::str_at(p, &["metadata", "creationTimestamp"])
                        .unwrap_or("")
                        .to_string(),
                ),
            )
        });
        for pod in pods.drain(..pods.len() - desired).collect::<Vec<_>>() {
            delete_pod(ctl, &rs, &pod, COMPONENT);
        }
    }
    let pods = owned(ctl.store(), Kind::Pod, &key.namespace, meta::uid(&rs));
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let mut status = json!({
        "replicas": pods.len(),
        "fullyLabeledReplicas": pods.len(),
        "observedGeneration": meta::i64_at(&rs, &["metadata", "generation"]).unwrap_or(1),
    });
    if ready > 0 {
        status["readyReplicas"] = json!(ready);
        status["availableReplicas"] = json!(ready);
    }
    let conditions = conditions(&rs, failing, refusal);
    if !conditions.is_empty() {
        status["conditions"] = json!(conditions);
    }
    registry::write_status(ctl.store(), key, status);
}
