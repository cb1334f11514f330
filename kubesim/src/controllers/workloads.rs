//! StatefulSet, DaemonSet and Job controllers: pods from the template (ordinal pods one at a
//! time for StatefulSets, one pod on the one node for DaemonSets, pods until the completions
//! for Jobs), template changes rolled out by replacing pods, the ControllerRevisions of
//! StatefulSets and DaemonSets ([`super::history`]), and the status fields
//! `kubectl rollout status` and `kubectl get` read. Jobs replace failed pods after a back-off
//! and fail (`BackoffLimitExceeded`, `DeadlineExceeded`) as the real Job controller does.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::replicaset::{create_pod, delete_pod, pod_from_template};
use super::{Ctl, history, owned, pod_ready};
use crate::meta;
use crate::registry;
use crate::resources::Kind;
use crate::store::ObjKey;

/// The pod label naming the revision a pod was made from (for StatefulSets the revision's
/// name, for DaemonSets its hash; on DaemonSets' revisions too).
const REVISION_LABEL: &str = "controller-revision-hash";
/// The label that carries the hash on a StatefulSet's revisions.
const STATEFULSET_HASH_LABEL: &str = "controller.kubernetes.io/hash";

fn generation(obj: &Value) -> i64 {
    meta::i64_at(obj, &["metadata", "generation"]).unwrap_or(1)
}

/// The template with the revision label (and `extra` labels) added.
fn labelled_template(obj: &Value, revision: &str, extra: &[(&str, &str)]) -> Value {
    let mut template = obj["spec"]["template"].clone();
    meta::set(
        &mut template,
        &["metadata", "labels", REVISION_LABEL],
        json!(revision),
    );
    for (k, v) in extra {
        meta::set(&mut template, &["metadata", "labels", k], json!(v));
    }
    template
}

fn pod_revision(pod: &Value) -> &str {
    meta::str_at(pod, &["metadata", "labels", REVISION_LABEL]).unwrap_or("")
}

pub fn statefulset(ctl: &mut Ctl, key: &ObjKey) {
    const COMPONENT: &str = "statefulset-controller";
    let Some(sts) = ctl.store().get(key) else {
        return;
    };
    let desired = meta::i64_at(&sts, &["spec", "replicas"])
        .unwrap_or(1)
        .max(0) as usize;
    let revision = history::record(ctl, &sts, STATEFULSET_HASH_LABEL, COMPONENT);
    let pods = owned(ctl.store(), Kind::Pod, &key.namespace, meta::uid(&sts));
    let pod_named = |i: usize| {
        let name = format!("{}-{i}", key.name);
        pods.iter().find(|p| meta::name(p) == name).cloned()
    };
    // One step at a time, in ordinal order: create the first missing pod once all before it
    // are ready; then remove surplus from the top; then replace outdated pods from the top.
    let all_ready = pods.iter().all(|p| pod_ready(p));
    if let Some(i) = (0..desired).find(|i| pod_named(*i).is_none()) {
        if (0..i).all(|j| pod_named(j).is_some_and(|p| pod_ready(&p))) {
            let name = format!("{}-{i}", key.name);
            let template = labelled_template(
                &sts,
                &revision,
                &[
                    ("statefulset.kubernetes.io/pod-name", &name),
                    ("apps.kubernetes.io/pod-index", &i.to_string()),
                ],
            );
            let pod = pod_from_template(&sts, &template, Some(name), "");
            create_pod(ctl, &sts, pod, COMPONENT);
        }
    } else if let Some(extra) = pods
        .iter()
        .filter(|p| ordinal(p, &key.name).is_none_or(|o| o >= desired))
        .max_by_key(|p| ordinal(p, &key.name))
    {
        if all_ready {
            delete_pod(ctl, &sts, extra, COMPONENT);
        }
    } else if all_ready
        && let Some(outdated) = pods
            .iter()
            .filter(|p| pod_revision(p) != revision)
            .max_by_key(|p| ordinal(p, &key.name))
    {
        delete_pod(ctl, &sts, outdated, COMPONENT);
    }
    let pods = owned(ctl.store(), Kind::Pod, &key.namespace, meta::uid(&sts));
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let updated = pods.iter().filter(|p| pod_revision(p) == revision).count();
    let previous_current = meta::str_at(&sts, &["status", "currentRevision"])
        .unwrap_or("")
        .to_string();
    let current = if updated == desired && ready == desired || previous_current.is_empty() {
        revision.clone()
    } else {
        previous_current
    };
    let current_replicas = pods.iter().filter(|p| pod_revision(p) == current).count();
    let mut status = json!({
        "observedGeneration": generation(&sts),
        "replicas": pods.len(),
        "currentReplicas": current_replicas,
        "updatedReplicas": updated,
        "currentRevision": current,
        "updateRevision": revision,
        "collisionCount": 0,
    });
    if ready > 0 {
        status["readyReplicas"] = json!(ready);
        status["availableReplicas"] = json!(ready);
    }
    let live: Vec<String> = pods
        .iter()
        .map(|p| pod_revision(p).to_string())
        .chain([current, revision])
        .collect();
    history::truncate(ctl, &sts, &live);
    registry::write_status(ctl.store(), key, status);
}

fn ordinal(pod: &Value, set: &str) -> Option<usize> {
    meta::name(pod)
        .strip_prefix(set)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

pub fn daemonset(ctl: &mut Ctl, key: &ObjKey) {
    const COMPONENT: &str = "daemonset-controller";
    let Some(ds) = ctl.store().get(key) else {
        return;
    };
    let current = history::record(ctl, &ds, REVISION_LABEL, COMPONENT);
    let revision = history::template_hash(&ds);
    let pods = owned(ctl.store(), Kind::Pod, &key.namespace, meta::uid(&ds));
    match pods.as_slice() {
        [] => {
            let template = labelled_template(
                &ds,
                &revision,
                &[("pod-template-generation", &generation(&ds).to_string())],
            );
            let pod = pod_from_template(&ds, &template, None, &format!("{}-", key.name));
            create_pod(ctl, &ds, pod, COMPONENT);
        }
        [pod, rest @ ..] => {
            for extra in rest {
                delete_pod(ctl, &ds, extra, COMPONENT);
            }
            if pod_revision(pod) != revision {
                delete_pod(ctl, &ds, pod, COMPONENT);
            }
        }
    }
    let pods = owned(ctl.store(), Kind::Pod, &key.namespace, meta::uid(&ds));
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let updated = pods.iter().filter(|p| pod_revision(p) == revision).count();
    let status = json!({
        "observedGeneration": generation(&ds),
        "desiredNumberScheduled": 1,
        "currentNumberScheduled": pods.len(),
        "numberMisscheduled": 0,
        "numberReady": ready,
        "numberAvailable": ready,
        "numberUnavailable": 1 - ready.min(1),
        "updatedNumberScheduled": updated,
    });
    let live: Vec<String> = pods
        .iter()
        .map(|p| history::revision_name(&ds, pod_revision(p)))
        .chain([current])
        .collect();
    history::truncate(ctl, &ds, &live);
    registry::write_status(ctl.store(), key, status);
}

/// The Job controller's delay before it replaces failed pods: 10 s after the first failure,
/// doubling with each, at most 6 min (simulated).
fn job_backoff(failed: i64) -> f64 {
    (10.0 * 2f64.powi((failed - 1).clamp(0, 10) as i32)).min(360.0)
}

/// When `key`'s Job started: now for a new one, else its `startTime` (after a restart).
fn job_started(ctl: &mut Ctl, key: &ObjKey, job: &Value) -> Instant {
    *ctl.since.entry(key.clone()).or_insert_with(|| {
        let ago = meta::str_at(job, &["status", "startTime"])
            .and_then(meta::parse_time)
            .and_then(|t| (chrono::Utc::now() - t).to_std().ok())
            .unwrap_or_default();
        Instant::now().checked_sub(ago).unwrap_or_else(Instant::now)
    })
}

/// Whether the Job may create pods now: not before the back-off after its latest failure
/// has passed (`key` is reconciled again then).
fn job_backoff_passed(ctl: &mut Ctl, key: &ObjKey, failed: i64) -> bool {
    if failed <= 0 {
        return true;
    }
    let seen = u32::try_from(failed).unwrap_or(u32::MAX);
    let due = match ctl.retries.get(key) {
        Some(&(known, due)) if known >= seen => due,
        _ => {
            let due = Instant::now() + ctl.real(job_backoff(failed));
            ctl.retries.insert(key.clone(), (seen, due));
            due
        }
    };
    if Instant::now() < due {
        ctl.at(due, key);
        return false;
    }
    true
}

pub fn job(ctl: &mut Ctl, key: &ObjKey) {
    const COMPONENT: &str = "job-controller";
    let Some(job) = ctl.store().get(key) else {
        return;
    };
    let completions = meta::i64_at(&job, &["spec", "completions"]).unwrap_or(1);
    let parallelism = meta::i64_at(&job, &["spec", "parallelism"]).unwrap_or(1);
    let backoff_limit = meta::i64_at(&job, &["spec", "backoffLimit"]).unwrap_or(6);
    let deadline = meta::i64_at(&job, &["spec", "activeDeadlineSeconds"]);
    let suspended = meta::at(&job, &["spec", "suspend"]) == Some(&json!(true));
    let pods = owned(ctl.store(), Kind::Pod, &key.namespace, meta::uid(&job));
    let phase = |p: &Value| {
        meta::str_at(p, &["status", "phase"])
            .unwrap_or("")
            .to_string()
    };
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
    let mut failed = pods.iter().filter(|p| phase(p) == "Failed").count() as i64
        + pods
            .iter()
            .flat_map(|p| meta::array_at(p, &["status", "containerStatuses"]))
            .map(|s| s["restartCount"].as_i64().unwrap_or(0))
            .sum::<i64>();
    let mut active = pods
        .iter()
        .filter(|p| !matches!(phase(p).as_str(), "Succeeded" | "Failed"))
        .count() as i64;
    let now = meta::now();
    let previous = job.get("status").cloned().unwrap_or(json!({}));
    let finished = meta::array_at(&previous, &["conditions"])
        .iter()
        .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True");
    if finished {
        return;
    }
    let started = job_started(ctl, key, &job);
    let mut status = json!({
        "startTime": previous.get("startTime").cloned().unwrap_or(json!(now)),
        "uncountedTerminatedPods": {},
        "terminating": 0,
        "ready": pods.iter().filter(|p| pod_ready(p)).count(),
    });
    let condition = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": reason, "message": message});
    let past_deadline = deadline.filter(|d| !suspended && ctl.sim_elapsed(started) >= *d as f64);
    let failure = if failed > backoff_limit {
        Some((
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ))
    } else if past_deadline.is_some() {
        Some((
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
        ))
    } else {
        None
    };
    if succeeded >= completions {
        status["completionTime"] = json!(now);
        status["conditions"] = json!([
            condition(
                "SuccessCriteriaMet",
                "CompletionsReached",
                "Reached expected number of succeeded pods"
            ),
            condition(
                "Complete",
                "CompletionsReached",
                "Reached expected number of succeeded pods"
            ),
        ]);
        ctl.event(&job, "Normal", "Completed", "Job completed", COMPONENT);
    } else if let Some((reason, message)) = failure {
        status["conditions"] = json!([
            condition("FailureTarget", reason, message),
            condition("Failed", reason, message),
        ]);
        // The active pods are deleted; they count as failed.
        for pod in pods
            .iter()
            .filter(|p| !matches!(phase(p).as_str(), "Succeeded" | "Failed"))
        {
            delete_pod(ctl, &job, pod, COMPONENT);
        }
        failed += active;
        active = 0;
        ctl.event(&job, "Warning", reason, message, COMPONENT);
    } else {
        if let Some(deadline) = deadline.filter(|_| !suspended) {
            let due = started + ctl.real(deadline as f64) + std::time::Duration::from_millis(5);
            ctl.at(due, key);
        }
        let want = parallelism.min(completions - succeeded) - active;
        if !suspended && want > 0 && job_backoff_passed(ctl, key, failed) {
            let template = job["spec"]["template"].clone();
            for _ in 0..want {
                let pod = pod_from_template(&job, &template, None, &format!("{}-", key.name));
                create_pod(ctl, &job, pod, COMPONENT);
            }
        }
    }
    for (field, value) in [
        ("active", active),
        ("succeeded", succeeded),
        ("failed", failed),
    ] {
        if value > 0 {
            status[field] = json!(value);
        }
    }
    registry::write_status(ctl.store(), key, status);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_pods_are_replaced_after_a_doubling_back_off() {
        assert_eq!(job_backoff(1), 10.0);
        assert_eq!(job_backoff(3), 40.0);
        assert_eq!(job_backoff(10), 360.0);
    }
}
