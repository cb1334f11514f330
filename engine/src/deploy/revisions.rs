//! Which revision `kubectl rollout undo` goes back to, as pure functions over a workload and
//! the objects that record its history: a Deployment's ReplicaSets (numbered by
//! `deployment.kubernetes.io/revision`), a StatefulSet's or DaemonSet's ControllerRevisions
//! (numbered by `revision`, the template in `data` as the strategic merge patch that restores
//! it). Also which pods a StatefulSet leaves stuck on a failed revision.

use serde_json::Value;

use super::diagnose::{owned_by, revision};
use crate::kube::discovery::Discovery;
use crate::kube::request::ApiResource;

/// The label on a StatefulSet's pods naming the ControllerRevision they were made from.
const POD_REVISION: &str = "controller-revision-hash";

/// Where a kind of workload keeps its revisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// A Deployment: its ReplicaSets.
    ReplicaSets,
    /// A StatefulSet or DaemonSet: its ControllerRevisions.
    ControllerRevisions,
}

/// A revision to go back to.
#[derive(Debug, Clone, PartialEq)]
pub struct Previous {
    pub number: i64,
    /// The pod template to restore.
    pub template: Value,
    /// The name of the newest revision, the one being left (ControllerRevisions only).
    pub leaving: Option<String>,
}

impl History {
    /// The history `kind` keeps, if it keeps one.
    pub fn of(kind: &str) -> Option<History> {
        match kind {
            "Deployment" => Some(History::ReplicaSets),
            "StatefulSet" | "DaemonSet" => Some(History::ControllerRevisions),
            _ => None,
        }
    }

    /// Where the objects that record the history are served.
    pub fn resource(self, discovery: &Discovery) -> ApiResource {
        let (kind, plural) = match self {
            History::ReplicaSets => ("ReplicaSet", "replicasets"),
            History::ControllerRevisions => ("ControllerRevision", "controllerrevisions"),
        };
        discovery
            .resource("apps/v1", kind)
            .cloned()
            .unwrap_or_else(|| Discovery::builtin("apps/v1", kind, plural))
    }

    /// The revision `kubectl rollout undo` would restore for `workload`, from `records` (its
    /// ReplicaSets or ControllerRevisions; others' are ignored).
    pub fn previous(self, workload: &Value, records: &[Value]) -> Option<Previous> {
        match self {
            History::ReplicaSets => previous_replica_set(workload, records),
            History::ControllerRevisions => previous_controller_revision(workload, records),
        }
    }
}

/// The ReplicaSet with the highest revision below the Deployment's, its template without
/// the `pod-template-hash` label.
fn previous_replica_set(deployment: &Value, replica_sets: &[Value]) -> Option<Previous> {
    let current = revision(deployment)?;
    let (number, previous) = replica_sets
        .iter()
        .filter(|rs| owned_by(rs, deployment))
        .filter_map(|rs| Some((revision(rs)?, rs)))
        .filter(|(n, _)| *n < current)
        .max_by_key(|(n, _)| *n)?;
    let mut template = previous["spec"]["template"].clone();
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    Some(Previous {
        number,
        template,
        leaving: None,
    })
}

/// The second-newest ControllerRevision (as kubectl: there is no going back from the only
/// one), its template without the `$patch` directive.
fn previous_controller_revision(owner: &Value, revisions: &[Value]) -> Option<Previous> {
    let mut owned: Vec<(i64, &Value)> = revisions
        .iter()
        .filter(|r| owned_by(r, owner))
        .filter_map(|r| Some((r["revision"].as_i64()?, r)))
        .collect();
    owned.sort_by_key(|(n, _)| *n);
    let [.., (number, previous), (_, newest)] = owned.as_slice() else {
        return None;
    };
    let mut template = previous["data"]["spec"]["template"].clone();
    template.as_object_mut()?.remove("$patch");
    Some(Previous {
        number: *number,
        template,
        leaving: newest["metadata"]["name"].as_str().map(str::to_owned),
    })
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// The names of `statefulset`'s pods made from `revision` that are not ready. With the
/// default `OrderedReady` policy a StatefulSet waits for such a pod forever, even once its
/// template is restored: they must be deleted for the rollback to proceed ("forced
/// rollback" in the Kubernetes documentation).
pub fn stuck_pods(statefulset: &Value, pods: &[Value], revision: &str) -> Vec<String> {
    pods.iter()
        .filter(|pod| owned_by(pod, statefulset))
        .filter(|pod| pod["metadata"]["labels"][POD_REVISION] == revision)
        .filter(|pod| !is_ready(pod))
        .filter_map(|pod| pod["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::diagnose::REVISION;
    use serde_json::json;

    fn rs(revision: &str, owner: &str, image: &str) -> Value {
        json!({"metadata": {"annotations": {REVISION: revision}, "ownerReferences": [{"uid": owner}]},
            "spec": {"template": {"metadata": {"labels": {"app": "api", "pod-template-hash": "abc"}},
                "spec": {"containers": [{"name": "api", "image": image}]}}}})
    }

    #[test]
    fn a_deployment_goes_back_to_the_highest_revision_below_the_current() {
        let deployment = json!({"metadata": {"uid": "d1", "annotations": {REVISION: "3"}}});
        let sets = [
            rs("1", "d1", "api:v1"),
            rs("3", "d1", "api:v3"),
            rs("2", "d1", "api:v2"),
            rs("2", "someone-else", "other:v9"),
        ];
        let previous = History::ReplicaSets.previous(&deployment, &sets).unwrap();
        assert_eq!(previous.number, 2);
        assert_eq!(
            previous.template["spec"]["containers"][0]["image"],
            "api:v2"
        );
        assert_eq!(
            previous.template["metadata"]["labels"],
            json!({"app": "api"})
        );
        let first = json!({"metadata": {"uid": "d1", "annotations": {REVISION: "1"}}});
        assert_eq!(History::ReplicaSets.previous(&first, &sets), None);
    }

    fn cr(name: &str, revision: i64, owner: &str, image: &str) -> Value {
        json!({"metadata": {"name": name, "ownerReferences": [{"uid": owner, "controller": true}]},
            "revision": revision,
            "data": {"spec": {"template": {"$patch": "replace",
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": image}]}}}}})
    }

    #[test]
    fn a_statefulset_goes_back_to_its_second_newest_controller_revision() {
        let sts = json!({"metadata": {"uid": "s1"}});
        let revisions = [
            cr("db-c", 4, "s1", "db:v4"),
            cr("db-a", 1, "s1", "db:v1"),
            cr("db-x", 9, "someone-else", "other:v9"),
            cr("db-b", 3, "s1", "db:v3"),
        ];
        let previous = History::ControllerRevisions
            .previous(&sts, &revisions)
            .unwrap();
        assert_eq!(previous.number, 3);
        assert_eq!(previous.leaving.as_deref(), Some("db-c"));
        assert_eq!(
            previous.template,
            json!({"metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "db:v3"}]}})
        );
        assert_eq!(
            History::ControllerRevisions.previous(&sts, &revisions[..1]),
            None,
            "the only revision has nothing before it"
        );
    }

    #[test]
    fn kinds_without_history_are_not_rolled_back() {
        assert_eq!(History::of("DaemonSet"), Some(History::ControllerRevisions));
        assert_eq!(History::of("Deployment"), Some(History::ReplicaSets));
        assert_eq!(History::of("Job"), None);
        assert_eq!(
            History::ControllerRevisions
                .resource(&Discovery::default())
                .collection(Some("prod")),
            "/apis/apps/v1/namespaces/prod/controllerrevisions"
        );
    }

    #[test]
    fn only_unready_pods_of_the_failed_revision_are_stuck() {
        let sts = json!({"metadata": {"uid": "s1"}});
        let pod = |name: &str, revision: &str, ready: &str, owner: &str| {
            json!({"metadata": {"name": name, "labels": {POD_REVISION: revision},
                "ownerReferences": [{"uid": owner, "controller": true}]},
                "status": {"conditions": [{"type": "Ready", "status": ready}]}})
        };
        let pods = [
            pod("db-0", "db-a", "True", "s1"),
            pod("db-1", "db-c", "True", "s1"),
            pod("db-2", "db-c", "False", "s1"),
            pod("other-0", "db-c", "False", "s2"),
        ];
        assert_eq!(stuck_pods(&sts, &pods, "db-c"), ["db-2"]);
    }
}
