//! PersistentVolumeClaims, as the persistent volume controller and a dynamic provisioner
//! handle them: kubesim's provisioner ([`PROVISIONER`], behind every class) binds each new
//! claim at once to a volume `pvc-<uid>` of the requested size — the binder's annotations,
//! `spec.volumeName`, and a `Bound` status with the claim's access modes and capacity, with
//! the events a real cluster records (`ExternalProvisioning`, `Provisioning`,
//! `ProvisioningSucceeded`) — and grows the capacity when the request grows. A claim with
//! `storageClassName: ""` asks for an existing volume; there are none, so it stays `Pending`
//! (`FailedBinding`). Also what the scheduler asks of a pod's claims ([`unschedulable`]).

use serde_json::{Value, json};

use super::Ctl;
use crate::meta;
use crate::quantity::Quantity;
use crate::registry;
use crate::resources::Kind;
use crate::store::{ObjKey, Store};

/// The provisioner of kubesim's volumes (of every storage class).
pub const PROVISIONER: &str = "kubesim.io/hostpath";

/// The provisioner's identity in its events (`name_node`).
const PROVISIONER_IDENTITY: &str = "kubesim.io/hostpath_kubesim-node";

/// The persistent volume controller's events.
const COMPONENT: &str = "persistentvolume-controller";

/// What the scheduler adds to a reason no node can help with.
const NOT_HELPFUL: &str =
    "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

/// Binds a new claim, or brings a bound claim's capacity up to its request.
pub fn reconcile(ctl: &mut Ctl, key: &ObjKey) {
    let Some(claim) = ctl.store().get(key) else {
        return;
    };
    if meta::at(&claim, &["metadata", "deletionTimestamp"]).is_some() {
        return;
    }
    let requested = meta::at(&claim, &["spec", "resources", "requests", "storage"])
        .and_then(Quantity::of)
        .map(|q| q.canonical());
    if meta::str_at(&claim, &["spec", "volumeName"]).is_some_and(|v| !v.is_empty()) {
        expand(ctl, key, &claim, requested);
    } else if meta::str_at(&claim, &["spec", "storageClassName"]) == Some("") {
        let message = "no persistent volumes available for this claim and no storage class is set";
        ctl.event(&claim, "Normal", "FailedBinding", message, COMPONENT);
    } else {
        bind(ctl, key, &claim, requested);
    }
}

/// Provisions a volume for `claim` and binds them.
fn bind(ctl: &mut Ctl, key: &ObjKey, claim: &Value, requested: Option<String>) {
    let volume = format!("pvc-{}", meta::uid(claim));
    let modes = claim["spec"]["accessModes"].clone();
    let bound = registry::edit(ctl.store(), key, |c| {
        for (annotation, value) in [
            ("pv.kubernetes.io/bind-completed", "yes"),
            ("pv.kubernetes.io/bound-by-controller", "yes"),
            ("volume.beta.kubernetes.io/storage-provisioner", PROVISIONER),
            ("volume.kubernetes.io/storage-provisioner", PROVISIONER),
        ] {
            meta::set(c, &["metadata", "annotations", annotation], json!(value));
        }
        c["spec"]["volumeName"] = json!(volume);
        c["status"] = json!({
            "phase": "Bound",
            "accessModes": modes,
            "capacity": {"storage": requested.as_deref().unwrap_or("0")},
        });
    });
    if bound.is_none() {
        return;
    }
    let waiting = format!(
        "Waiting for a volume to be created either by the external provisioner '{PROVISIONER}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."
    );
    ctl.event(claim, "Normal", "ExternalProvisioning", &waiting, COMPONENT);
    let provisioning = format!(
        "External provisioner is provisioning volume for claim \"{}/{}\"",
        key.namespace, key.name
    );
    for (reason, message) in [
        ("Provisioning", provisioning),
        (
            "ProvisioningSucceeded",
            format!("Successfully provisioned volume {volume}"),
        ),
    ] {
        ctl.event(claim, "Normal", reason, &message, PROVISIONER_IDENTITY);
    }
}

/// The volume grows to a larger request at once (its class allows expansion).
fn expand(ctl: &mut Ctl, key: &ObjKey, claim: &Value, requested: Option<String>) {
    let capacity = meta::at(claim, &["status", "capacity", "storage"]).and_then(Quantity::of);
    let Some(requested) = requested else {
        return;
    };
    let larger = Quantity::parse(&requested)
        .zip(capacity)
        .is_some_and(|(r, c)| r > c);
    if larger {
        registry::edit(ctl.store(), key, |c| {
            c["status"]["capacity"]["storage"] = json!(requested);
        });
    }
}

/// The scheduler's message when `pod` cannot be scheduled for its claims — one that does not
/// exist, or one not bound to a volume — as its volume binding plugin reports it.
pub fn unschedulable(store: &Store, pod: &Value) -> Option<String> {
    let mut unbound = false;
    for volume in meta::array_at(pod, &["spec", "volumes"]) {
        let Some(name) = meta::str_at(volume, &["persistentVolumeClaim", "claimName"]) else {
            continue;
        };
        let key = ObjKey::new(Kind::PersistentVolumeClaim, meta::namespace(pod), name);
        match store.get(&key) {
            None => {
                return Some(format!(
                    "0/1 nodes are available: persistentvolumeclaim \"{name}\" not found. {NOT_HELPFUL}"
                ));
            }
            Some(claim) => {
                unbound |= meta::str_at(&claim, &["spec", "volumeName"]).is_none_or(str::is_empty);
            }
        }
    }
    unbound.then(|| {
        format!(
            "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. {NOT_HELPFUL}"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::WriteOptions;

    #[test]
    fn pods_wait_for_their_claims_to_exist_and_be_bound() {
        let store = Store::new();
        let opts = WriteOptions::controller("test");
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
        registry::create(&store, Kind::Namespace, "", ns, &opts).unwrap();
        let pod = json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"volumes": [
            {"name": "tmp", "emptyDir": {}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}});
        assert_eq!(
            unschedulable(&store, &pod).as_deref(),
            Some(
                "0/1 nodes are available: persistentvolumeclaim \"data\" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
            )
        );
        let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                "storageClassName": "", "resources": {"requests": {"storage": "1Gi"}}}});
        let claim =
            registry::create(&store, Kind::PersistentVolumeClaim, "default", claim, &opts).unwrap();
        assert!(
            unschedulable(&store, &pod)
                .unwrap()
                .contains("unbound immediate")
        );
        registry::edit(
            &store,
            &ObjKey::of(Kind::PersistentVolumeClaim, &claim),
            |c| {
                c["spec"]["volumeName"] = json!("pvc-1");
            },
        );
        assert_eq!(unschedulable(&store, &pod), None);
    }
}
