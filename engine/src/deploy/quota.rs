//! Failing fast on a ResourceQuota that refuses a Deployment's new pods — but only once
//! nothing in sight can make room for them.
//!
//! A quota refusal (the ReplicaSet's `FailedCreate` event: `Error creating: pods "…" is
//! forbidden: exceeded quota: …`) is often transient: a rolling update frees room by scaling
//! the old ReplicaSet down, and a terminating pod counts against the quota until its grace
//! period ends. The rule ([`QuotaRefusals::judge`]): a Deployment being deployed fails at once
//! when its current ReplicaSet is refused **twice** while, each time,
//!
//! - no Deployment still being deployed in that namespace keeps pods of an older revision
//!   (`status.replicas > status.updatedReplicas`: their scale-down would free room), and
//! - no pod of the namespace is terminating,
//!
//! as read after each refusal (both lists complete, at most [`LISTED`] items each). The second
//! refusal proves the quota stayed full with nothing going away; otherwise the deploy waits for
//! its deadline, where the refusal is still the explanation. StatefulSets, DaemonSets and Jobs
//! refused by a quota always wait for the deadline.

use std::collections::BTreeSet;

use serde_json::Value;

use super::diagnose::{owned_by, revision};
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

/// Whether nothing in the namespace can make room: none of the `pending` Deployments in
/// `deployments` keeps pods of an older revision, no pod in `pods` is terminating, and both
/// lists are complete.
pub fn no_room_coming(deployments: &Value, pending: &[String], pods: &Value) -> bool {
    let old_pods_left = items(deployments).iter().any(|d| {
        let name = d["metadata"]["name"].as_str().unwrap_or_default();
        let status = |key: &str| d["status"][key].as_i64().unwrap_or(0);
        pending.iter().any(|p| p == name) && status("replicas") > status("updatedReplicas")
    });
    let terminating = items(pods)
        .iter()
        .any(|p| !p["metadata"]["deletionTimestamp"].is_null());
    complete(deployments) && complete(pods) && !old_pods_left && !terminating
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
        let pods = Discovery::builtin("v1", "Pod", "pods");
        let pods = kube
            .json(&pods.list_at_most(namespace, "", "", LISTED)?)
            .await?;
        let room_coming = !no_room_coming(&deployments, &pending, &pods);
        if self.judge(namespace, replica_set, room_coming) {
            let message = event["message"].as_str().unwrap_or_default();
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

    fn deployments(replicas: i64, updated: i64) -> Value {
        json!({"metadata": {}, "items": [{"metadata": {"name": "api"},
            "status": {"replicas": replicas, "updatedReplicas": updated}}]})
    }

    fn pods(terminating: bool) -> Value {
        let deleted = terminating.then_some("2026-12-02T18:00:00Z");
        json!({"metadata": {}, "items": [
            {"metadata": {"name": "db-0", "deletionTimestamp": deleted}}]})
    }

    #[test]
    fn room_comes_from_old_replicas_and_terminating_pods() {
        let pending = ["api".to_owned()];
        assert!(no_room_coming(&deployments(0, 0), &pending, &pods(false)));
        // The old ReplicaSet's pods will be scaled down as the rollout goes on.
        assert!(!no_room_coming(&deployments(3, 0), &pending, &pods(false)));
        // Another Deployment's old pods count only while it is being deployed too.
        assert!(no_room_coming(&deployments(3, 0), &[], &pods(false)));
        // A terminating pod holds its quota until its grace period ends.
        assert!(!no_room_coming(&deployments(0, 0), &pending, &pods(true)));
        // A list cut short proves nothing.
        let mut partial = pods(false);
        partial["metadata"]["continue"] = json!("next");
        assert!(!no_room_coming(&deployments(0, 0), &pending, &partial));
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
