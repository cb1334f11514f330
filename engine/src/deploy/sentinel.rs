//! Failing fast, never falsely: while workloads roll out, the Warning events of their namespace
//! are followed, and a failure of a new pod that the kubelet has shown to persist ends its
//! workload's wait at once instead of at the deadline.
//!
//! The rule ([`persisting_failure`]), on a pod of a pending workload at its current revision
//! (a Deployment's pods of its current ReplicaSet; another workload's pods it controls):
//!
//! - an image that cannot be pulled: the container waits in `ErrImagePull` or
//!   `ImagePullBackOff` and the pod's `Failed to pull image` event has counted
//!   [`PULL_FAILURES`] failed pulls (the kubelet backed off 10 s, then 20 s, and failed
//!   again); `InvalidImageName` and `ErrImageNeverPull` at once, as no retry can succeed;
//! - a crash loop: the container waits in `CrashLoopBackOff` after [`CRASH_RESTARTS`]
//!   restarts or more;
//! - a missing ConfigMap, Secret or key: the container waits in `CreateContainerConfigError`
//!   and the kubelet's `Error: …` event has counted [`CONFIG_FAILURES`] attempts.
//!
//! One failed pull or one restart is never enough (a registry hiccup must not fail a deploy).
//! A Job's crash-looping pods are left to the Job's own `backoffLimit` (its verdict
//! `BackoffLimitExceeded`): restarting is what a Job is told to do. A Deployment's pods refused
//! by a ResourceQuota follow [`super::quota`]'s rule; everything else waits for the workload's
//! own verdict or the deadline. An event only makes
//! the sentinel look: the decision is taken on the pod and its owner as read afterwards.
//!
//! Best effort: when events cannot be listed or watched (RBAC), or a look fails, the deploy
//! waits as it would without the sentinel.

use serde_json::Value;

use super::diagnose::{owned_by, owner_of, revision};
use super::quota::{self, QuotaRefusals};
use super::watch::Group;
use crate::host::Host;
use crate::kube::client::{Kube, KubeError};
use crate::kube::discovery::Discovery;
use crate::rollout::Verdict;

/// Failed pulls that make an image failure certain.
pub const PULL_FAILURES: i64 = 3;
/// Restarts that make a crash loop certain.
pub const CRASH_RESTARTS: i64 = 2;
/// Failed attempts that make a missing ConfigMap or Secret certain.
pub const CONFIG_FAILURES: i64 = 3;
/// The most Warning events listed when the sentinel starts.
pub const EVENTS_LISTED: u32 = 500;

/// How often the event has happened (`count`, or its `series`'s), at least once.
fn occurrences(event: &Value) -> i64 {
    event["count"]
        .as_i64()
        .or_else(|| event["series"]["count"].as_i64())
        .unwrap_or(1)
        .max(1)
}

/// Whether a Warning event could announce a persisting failure: one about a pod, or a
/// quota's refusal of a ReplicaSet's pods. Worth a look.
pub fn worth_a_look(event: &Value) -> bool {
    let about_pod = event["involvedObject"]["kind"] == "Pod"
        && matches!(
            event["reason"].as_str(),
            Some("Failed" | "BackOff" | "InspectFailed" | "ErrImageNeverPull")
        );
    about_pod || quota::is_refusal(event)
}

/// The persisting failure of `pod`, by the rule in the module doc, given the `event` that
/// made the sentinel look: `(waiting reason, message)` of the failing container. `of_job`: the
/// pod belongs to a Job, whose crash loops its `backoffLimit` judges.
pub fn persisting_failure(pod: &Value, event: &Value, of_job: bool) -> Option<(String, String)> {
    let message = event["message"].as_str().unwrap_or_default();
    let seen = occurrences(event);
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|list| pod["status"][*list].as_array())
        .flatten()
        .find_map(|status| {
            let waiting = &status["state"]["waiting"];
            let reason = waiting["reason"].as_str()?;
            let certain = match reason {
                "InvalidImageName" | "ErrImageNeverPull" => true,
                "ErrImagePull" | "ImagePullBackOff" => {
                    message.starts_with("Failed to pull image") && seen >= PULL_FAILURES
                }
                "CrashLoopBackOff" => {
                    !of_job && status["restartCount"].as_i64().unwrap_or(0) >= CRASH_RESTARTS
                }
                "CreateContainerConfigError" => {
                    message.starts_with("Error: ") && seen >= CONFIG_FAILURES
                }
                _ => false,
            };
            certain.then(|| {
                let text = waiting["message"].as_str().unwrap_or(message);
                (reason.to_owned(), text.to_owned())
            })
        })
}

/// Whether `pod` belongs to `workload` at its current revision: a Deployment's through its
/// ReplicaSet of the current revision, another workload's directly (and, when the workload
/// says which revision it rolls out to, with that revision's hash).
async fn current_pod_of<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    workload: &Value,
    pod: &Value,
) -> Result<bool, KubeError> {
    if workload["kind"] != "Deployment" {
        let update = workload["status"]["updateRevision"].as_str();
        let hash = pod["metadata"]["labels"]["controller-revision-hash"].as_str();
        return Ok(owned_by(pod, workload) && (update.is_none() || update == hash));
    }
    let Some(owner) = owner_of(pod, "ReplicaSet") else {
        return Ok(false);
    };
    let replica_sets = discovery
        .resource("apps/v1", "ReplicaSet")
        .cloned()
        .unwrap_or_else(|| Discovery::builtin("apps/v1", "ReplicaSet", "replicasets"));
    let namespace = pod["metadata"]["namespace"].as_str();
    let replica_set = kube.json(&replica_sets.get(namespace, owner)?).await?;
    Ok(owned_by(pod, &replica_set)
        && owned_by(&replica_set, workload)
        && revision(&replica_set).is_some()
        && revision(&replica_set) == revision(workload))
}

/// Looks at what `event` is about: a quota's refusal goes to `refusals`; for a pod, when a
/// pending workload of `groups` owns it at its current revision and its failure persists, that
/// workload's verdict becomes `Failed`.
pub(super) async fn look<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    groups: &[&Group],
    event: &Value,
    refusals: &mut QuotaRefusals,
) -> Result<(), KubeError> {
    if quota::is_refusal(event) {
        return refusals.look(kube, discovery, groups, event).await;
    }
    if !worth_a_look(event) {
        return Ok(());
    }
    let pod_name = event["involvedObject"]["name"].as_str().unwrap_or_default();
    let namespace = event["involvedObject"]["namespace"].as_str();
    // A pod is named after its workload: `api-7d9f-x2b1` for Deployment `api`.
    let candidates: Vec<(&Group, String)> = groups
        .iter()
        .flat_map(|group| group.pending().into_iter().map(move |name| (*group, name)))
        .filter(|(_, name)| pod_name.starts_with(&format!("{name}-")))
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let pods = Discovery::builtin("v1", "Pod", "pods");
    let pod = kube.json(&pods.get(namespace, pod_name)?).await?;
    let of_job = owner_of(&pod, "Job").is_some();
    let Some((reason, message)) = persisting_failure(&pod, event, of_job) else {
        return Ok(());
    };
    for (group, name) in candidates {
        let workload = kube.json(&group.resource.get(namespace, &name)?).await?;
        if current_pod_of(kube, discovery, &workload, &pod).await? {
            group.fail(
                &name,
                Verdict::Failed {
                    reason: reason.clone(),
                    message: format!("pod {pod_name}: {message}"),
                },
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(reason: &str, restarts: i64) -> Value {
        json!({"metadata": {"name": "api-7d-x1"}, "status": {"containerStatuses": [
            {"name": "api", "restartCount": restarts,
             "state": {"waiting": {"reason": reason, "message": "the kubelet's words"}}}]}})
    }

    fn event(reason: &str, message: &str, count: i64) -> Value {
        json!({"reason": reason, "message": message, "count": count,
               "involvedObject": {"kind": "Pod", "name": "api-7d-x1"}})
    }

    #[test]
    fn one_failed_pull_or_one_restart_is_not_a_failure() {
        let pull = |count| event("Failed", "Failed to pull image \"x\": not found", count);
        assert_eq!(
            persisting_failure(&pod("ErrImagePull", 0), &pull(1), false),
            None
        );
        assert_eq!(
            persisting_failure(&pod("ImagePullBackOff", 0), &pull(2), false),
            None
        );
        assert_eq!(
            persisting_failure(&pod("ImagePullBackOff", 0), &pull(3), false),
            Some(("ImagePullBackOff".into(), "the kubelet's words".into()))
        );
        // The pull failed three times but has since succeeded: the container runs.
        let running = json!({"status": {"containerStatuses": [
            {"name": "api", "state": {"running": {}}}]}});
        assert_eq!(persisting_failure(&running, &pull(3), false), None);

        let backoff = event("BackOff", "Back-off restarting failed container api", 5);
        assert_eq!(
            persisting_failure(&pod("CrashLoopBackOff", 1), &backoff, false),
            None
        );
        assert!(persisting_failure(&pod("CrashLoopBackOff", 2), &backoff, false).is_some());
        // A Job's pod restarts as its backoffLimit allows; the Job's verdict decides.
        assert_eq!(
            persisting_failure(&pod("CrashLoopBackOff", 4), &backoff, true),
            None
        );
        let pull = pull(3);
        assert!(persisting_failure(&pod("ImagePullBackOff", 0), &pull, true).is_some());
    }

    #[test]
    fn invalid_names_fail_at_once_and_missing_config_after_three_attempts() {
        let inspect = event("InspectFailed", "Failed to apply default image tag", 1);
        assert!(persisting_failure(&pod("InvalidImageName", 0), &inspect, false).is_some());
        let config = |count| event("Failed", "Error: configmap \"qa-config\" not found", count);
        let waiting = pod("CreateContainerConfigError", 0);
        assert_eq!(persisting_failure(&waiting, &config(2), false), None);
        assert!(persisting_failure(&waiting, &config(3), false).is_some());
    }

    #[test]
    fn only_pod_failures_and_quota_refusals_are_worth_a_look() {
        assert!(worth_a_look(&event("Failed", "x", 1)));
        let mut scaling = event("FailedCreate", "exceeded quota", 1);
        scaling["involvedObject"]["kind"] = "ReplicaSet".into();
        assert!(worth_a_look(&scaling));
        scaling["message"] = "error looking up service account".into();
        assert!(!worth_a_look(&scaling));
        assert!(!worth_a_look(&event(
            "Unhealthy",
            "Readiness probe failed",
            9
        )));
        let series = json!({"series": {"count": 4}});
        assert_eq!(occurrences(&series), 4);
        assert_eq!(occurrences(&json!({})), 1);
    }
}
