//! Failing fast on a ResourceQuota that refuses a Deployment's new pods — but only once
//! nothing in sight can make room for them.
//!
//! A quota refusal (the ReplicaSet's `FailedCreate` event: `Error creating: pods "…" is
//! forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2`) is
//! often transient: a rolling update frees room by scaling the old ReplicaSet down, a
//! terminating pod counts against the quota until its grace period ends, and the quota's
//! `used` lags behind pods that are already gone. The rule ([`QuotaRefusals::judge`]): a
//! Deployment being deployed fails at once when its current ReplicaSet is refused **twice**
//! while, each time, as read after the refusal (both lists complete, at most [`LISTED`] items
//! each):
//!
//! - the ReplicaSet still has fewer pods than it wants (an event can be read after the refusal
//!   stopped);
//! - the exceeded resource is the number of pods (`pods` or `count/pods`), and the namespace's
//!   running or pending pods really fill that limit;
//! - none of them is terminating;
//! - none belongs to an older ReplicaSet of the refused Deployment, and no other Deployment
//!   being deployed in the namespace keeps pods of an older revision
//!   (`status.replicas > status.updatedReplicas`): their scale-down would free room.
//!
//! The second refusal proves the quota stayed full with nothing going away; otherwise — and for
//! quotas on CPU or memory, whose use shiplog does not add up — the deploy waits for its
//! deadline, where the refusal is still the explanation. StatefulSets, DaemonSets and Jobs
//! refused by a quota always wait for the deadline.

use std::collections::BTreeSet;

use serde_json::Value;

use super::diagnose::{owned_by, owner_of, revision};
use super::watch::Group;
use crate::host::Host;
use crate::kube::client::{Kube, KubeError};
use crate::kube::discovery::Discovery;
use crate::rollout::Verdict;

/// The most Deployments and pods of the namespace read to judge a refusal.
pub const LISTED: u32 = 500;

/// Whether `event` is a ReplicaSet's refusal by a ResourceQuota.
pub fn is_refusal(event: &Value) -> bool {
    event["involvedObject"]["kind"] == "ReplicaSet"
        && event["reason"] == "FailedCreate"
        && event["message"]
            .as_str()
            .is_some_and(|m| m.contains("exceeded quota"))
}

fn items(list: &Value) -> &[Value] {
    list["items"].as_array().map_or(&[], Vec::as_slice)
}

fn complete(list: &Value) -> bool {
    list["metadata"]["continue"]
        .as_str()
        .is_none_or(str::is_empty)
}

/// What was read after a refusal, to judge it.
pub struct Scene<'a> {
    /// The namespace's Deployments (a list answer).
    pub deployments: &'a Value,
    /// The Deployments of the namespace still being deployed.
    pub pending: &'a [String],
    /// The namespace's pods (a list answer).
    pub pods: &'a Value,
    /// The refused ReplicaSet and its Deployment.
    pub replica_set: &'a str,
    pub deployment: &'a str,
    /// The refusal's message.
    pub message: &'a str,
}

/// The pod-count limit the refusal names (`limited: …,pods=2`), if pods are what it exceeded.
pub fn pods_limit(message: &str) -> Option<i64> {
    let (_, limited) = message.split_once("limited: ")?;
    limited.split(',').find_map(|pair| {
        let (resource, amount) = pair.trim().split_once('=')?;
        matches!(resource, "pods" | "count/pods")
            .then(|| amount.trim().parse().ok())
            .flatten()
    })
}

/// Whether nothing in the namespace can make room, by the rule in the module doc.
pub fn no_room_coming(scene: &Scene<'_>) -> bool {
    let Some(limit) = pods_limit(scene.message) else {
        return false;
    };
    let live: Vec<&Value> = items(scene.pods)
        .iter()
        .filter(|p| !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
        .collect();
    let terminating = live
        .iter()
        .any(|p| !p["metadata"]["deletionTimestamp"].is_null());
    let prefix = format!("{}-", scene.deployment);
    let old_of_refused = live.iter().any(|p| {
        owner_of(p, "ReplicaSet")
            .is_some_and(|rs| rs.starts_with(&prefix) && rs != scene.replica_set)
    });
    let old_of_others = items(scene.deployments).iter().any(|d| {
        let name = d["metadata"]["name"].as_str().unwrap_or_default();
        let status = |key: &str| d["status"][key].as_i64().unwrap_or(0);
        scene.pending.iter().any(|p| p == name) && status("replicas") > status("updatedReplicas")
    });
    let full = i64::try_from(live.len()).unwrap_or(i64::MAX) >= limit;
    complete(scene.deployments)
        && complete(scene.pods)
        && full
        && !terminating
        && !old_of_refused
        && !old_of_others
}

/// The ReplicaSets refused once with no room coming, waiting for a second refusal.
#[derive(Debug, Default)]
pub struct QuotaRefusals {
    armed: BTreeSet<(Option<String>, String)>,
}

impl QuotaRefusals {
    /// Notes a refusal of `replica_set` read with `room_coming` as [`no_room_coming`] said:
    /// whether it is the second in a row with no room coming (the rule in the module doc).
    pub fn judge(&mut self, namespace: Option<&str>, replica_set: &str, room_coming: bool) -> bool {
        let key = (namespace.map(str::to_owned), replica_set.to_owned());
        if room_coming {
            self.armed.remove(&key);
            false
        } else {
            !self.armed.insert(key)
        }
    }

    /// Looks at the refusal `event`: when it refuses the current ReplicaSet of a pending
    /// Deployment of `groups` for the second time with no room coming, that Deployment's
    /// verdict becomes `Failed` (reason `FailedCreate`).
    pub(super) async fn look<H: Host>(
        &mut self,
        kube: &Kube<H>,
        discovery: &Discovery,
        groups: &[&Group],
        event: &Value,
    ) -> Result<(), KubeError> {
        let replica_set = event["involvedObject"]["name"].as_str().unwrap_or_default();
        let namespace = event["involvedObject"]["namespace"].as_str();
        let Some(group) = groups.iter().find(|g| g.resource.kind() == "Deployment") else {
            return Ok(());
        };
        let pending = group.pending();
        // A ReplicaSet is named after its Deployment: `api-7d9f` for `api`.
        let Some(owner) = pending
            .iter()
            .find(|name| replica_set.starts_with(&format!("{name}-")))
        else {
            return Ok(());
        };
        let replica_sets = discovery
            .resource("apps/v1", "ReplicaSet")
            .cloned()
            .unwrap_or_else(|| Discovery::builtin("apps/v1", "ReplicaSet", "replicasets"));
        let replica_set_now = kube
            .json(&replica_sets.get(namespace, replica_set)?)
            .await?;
        let deployments = kube
            .json(&group.resource.list_at_most(namespace, "", "", LISTED)?)
            .await?;
        let current = items(&deployments).iter().any(|d| {
            d["metadata"]["name"] == owner.as_str()
                && owned_by(&replica_set_now, d)
                && revision(&replica_set_now).is_some()
                && revision(&replica_set_now) == revision(d)
        });
        if !current {
            return Ok(());
        }
        // An event can be read after the refusal stopped: a ReplicaSet with all its pods was
        // given room.
        let wanted = replica_set_now["spec"]["replicas"].as_i64().unwrap_or(0);
        let has = replica_set_now["status"]["replicas"].as_i64().unwrap_or(0);
        if has >= wanted {
            self.judge(namespace, replica_set, true);
            return Ok(());
        }
        let pods = Discovery::builtin("v1", "Pod", "pods");
        let pods = kube
            .json(&pods.list_at_most(namespace, "", "", LISTED)?)
            .await?;
        let message = event["message"].as_str().unwrap_or_default();
        let room_coming = !no_room_coming(&Scene {
            deployments: &deployments,
            pending: &pending,
            pods: &pods,
            replica_set,
            deployment: owner,
            message,
        });
        if self.judge(namespace, replica_set, room_coming) {
            group.fail(
                owner,
                Verdict::Failed {
                    reason: "FailedCreate".into(),
                    message: format!("replica set {replica_set}: {message}"),
                },
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REFUSED: &str = "Error creating: pods \"api-7d-x\" is forbidden: exceeded quota: \
                           compute, requested: pods=1, used: pods=2, limited: pods=2";

    fn deployments(replicas: i64, updated: i64) -> Value {
        json!({"metadata": {}, "items": [{"metadata": {"name": "api"},
            "status": {"replicas": replicas, "updatedReplicas": updated}}]})
    }

    /// A pod of ReplicaSet `rs`, terminating or not.
    fn pod(rs: &str, terminating: bool) -> Value {
        let deleted = terminating.then_some("2026-12-02T18:00:00Z");
        json!({"metadata": {"name": format!("{rs}-p"), "deletionTimestamp": deleted,
            "ownerReferences": [{"kind": "ReplicaSet", "name": rs}]},
            "status": {"phase": "Running"}})
    }

    fn pods(items: &[Value]) -> Value {
        json!({"metadata": {}, "items": items})
    }

    fn room_coming(deployments: &Value, pending: &[String], pods: &Value, message: &str) -> bool {
        !no_room_coming(&Scene {
            deployments,
            pending,
            pods,
            replica_set: "api-7d",
            deployment: "api",
            message,
        })
    }

    #[test]
    fn room_comes_from_old_pods_terminating_pods_and_a_lagging_quota() {
        let pending = ["api".to_owned()];
        let (none, full) = (
            deployments(0, 0),
            [pod("api-7d", false), pod("db-0", false)],
        );
        assert!(!room_coming(&none, &pending, &pods(&full), REFUSED));
        // The old ReplicaSet's pod will be scaled down as the rollout goes on.
        let old = [pod("api-7d", false), pod("api-5c", false)];
        assert!(room_coming(&none, &pending, &pods(&old), REFUSED));
        // Another Deployment being deployed still has old replicas.
        let mut others = deployments(3, 1);
        others["items"][0]["metadata"]["name"] = json!("web");
        let web = ["web".to_owned()];
        assert!(room_coming(&others, &web, &pods(&full), REFUSED));
        // ...which count only while it is being deployed.
        assert!(!room_coming(&others, &pending, &pods(&full), REFUSED));
        // A terminating pod holds its quota until its grace period ends.
        let leaving = [pod("api-7d", false), pod("db-0", true)];
        assert!(room_coming(&none, &pending, &pods(&leaving), REFUSED));
        // The quota says 2 used, but one pod is already gone: its count will catch up.
        let one = [pod("api-7d", false)];
        assert!(room_coming(&none, &pending, &pods(&one), REFUSED));
        // A list cut short proves nothing.
        let mut partial = pods(&full);
        partial["metadata"]["continue"] = json!("next");
        assert!(room_coming(&none, &pending, &partial, REFUSED));
        // CPU and memory are not added up: those refusals wait for the deadline.
        let cpu = "exceeded quota: compute, requested: requests.cpu=1, used: requests.cpu=2, \
                   limited: requests.cpu=2";
        assert!(room_coming(&none, &pending, &pods(&full), cpu));
    }

    #[test]
    fn the_pod_limit_is_read_from_the_refusal() {
        assert_eq!(pods_limit(REFUSED), Some(2));
        assert_eq!(
            pods_limit("limited: requests.cpu=2,count/pods=10"),
            Some(10)
        );
        assert_eq!(pods_limit("limited: requests.memory=1Gi"), None);
        assert_eq!(pods_limit("no limit named"), None);
    }

    #[test]
    fn a_refusal_fails_only_the_second_time_in_a_row_with_no_room_coming() {
        let mut refusals = QuotaRefusals::default();
        assert!(!refusals.judge(Some("shop"), "api-7d", false));
        assert!(refusals.judge(Some("shop"), "api-7d", false));

        let mut refusals = QuotaRefusals::default();
        assert!(!refusals.judge(Some("shop"), "api-7d", false));
        // Room came in between: the count starts again.
        assert!(!refusals.judge(Some("shop"), "api-7d", true));
        assert!(!refusals.judge(Some("shop"), "api-7d", false));
        assert!(!refusals.judge(Some("other"), "api-7d", false));
        assert!(refusals.judge(Some("shop"), "api-7d", false));
    }

    #[test]
    fn only_quota_refusals_of_replica_sets_count() {
        let refusal = |kind: &str, message: &str| {
            json!({"reason": "FailedCreate", "message": message,
                   "involvedObject": {"kind": kind, "name": "api-7d"}})
        };
        let quota = "Error creating: pods \"api-7d-x\" is forbidden: exceeded quota: compute";
        assert!(is_refusal(&refusal("ReplicaSet", quota)));
        assert!(!is_refusal(&refusal("StatefulSet", quota)));
        assert!(!is_refusal(&refusal(
            "ReplicaSet",
            "Error creating: pods is forbidden: error looking up service account"
        )));
    }
}
