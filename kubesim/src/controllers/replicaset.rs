//! The ReplicaSet controller: keeps `spec.replicas` pods from the template (creating the
//! missing ones, deleting the surplus, not-ready first) and reports replicas, ready and
//! available counts.

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

/// Creates `pod` as the controller `component` does and records the event on `owner`.
pub fn create_pod(ctl: &mut Ctl, owner: &Value, pod: Value, component: &str) {
    let ns = meta::namespace(owner).to_string();
    match registry::create(
        ctl.store(),
        Kind::Pod,
        &ns,
        pod,
        &WriteOptions::controller(component),
    ) {
        Ok(pod) => {
            let message = format!("Created pod: {}", meta::name(&pod));
            ctl.event(owner, "Normal", "SuccessfulCreate", &message, component);
        }
        Err(e) => {
            let message = format!("Error creating: {e}");
            ctl.event(owner, "Warning", "FailedCreate", &message, component);
        }
    }
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
    if pods.len() < desired {
        let template = rs["spec"]["template"].clone();
        for _ in pods.len()..desired {
            let pod = pod_from_template(&rs, &template, None, &format!("{}-", key.name));
            create_pod(ctl, &rs, pod, COMPONENT);
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
    registry::write_status(ctl.store(), key, status);
}
