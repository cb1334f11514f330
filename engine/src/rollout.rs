//! Judging a rollout from a workload's observed status, with the same completeness rules as
//! `kubectl rollout status`.

use serde_json::Value;

/// Where a workload's rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Rolled out.
    Complete,
    /// Still going; the text says what is awaited.
    Progressing(String),
    /// Will not complete without intervention (e.g. `ProgressDeadlineExceeded`).
    Failed { reason: String, message: String },
}

fn int(value: &Value, path: &[&str]) -> i64 {
    path.iter()
        .fold(value, |v, key| &v[*key])
        .as_i64()
        .unwrap_or(0)
}

fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// The verdict for `object` of `kind`; kinds without a rollout are complete at once.
pub fn verdict(kind: &str, object: &Value) -> Verdict {
    match kind {
        "Deployment" => deployment(object),
        "StatefulSet" => stateful_set(object),
        "DaemonSet" => daemon_set(object),
        "Job" => job(object),
        _ => Verdict::Complete,
    }
}

fn observed(object: &Value) -> bool {
    int(object, &["status", "observedGeneration"]) >= int(object, &["metadata", "generation"])
}

fn deployment(object: &Value) -> Verdict {
    // As kubectl: a condition is only meaningful once the current generation is observed (a
    // Deployment just rolled back still carries the old ProgressDeadlineExceeded).
    if !observed(object) {
        return Verdict::Progressing(
            "waiting for the deployment spec update to be observed".into(),
        );
    }
    if let Some(progressing) = condition(object, "Progressing")
        && progressing["reason"] == "ProgressDeadlineExceeded"
    {
        return Verdict::Failed {
            reason: "ProgressDeadlineExceeded".into(),
            message: progressing["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
    }
    let wanted = object["spec"]["replicas"].as_i64().unwrap_or(1);
    let status = |key| int(object, &["status", key]);
    let (updated, replicas, available) = (
        status("updatedReplicas"),
        status("replicas"),
        status("availableReplicas"),
    );
    if updated < wanted {
        Verdict::Progressing(format!(
            "{updated} of {wanted} updated replicas are available"
        ))
    } else if replicas > updated {
        Verdict::Progressing(format!(
            "{} old replicas are pending termination",
            replicas - updated
        ))
    } else if available < updated {
        Verdict::Progressing(format!(
            "{available} of {updated} updated replicas are available"
        ))
    } else {
        Verdict::Complete
    }
}

fn stateful_set(object: &Value) -> Verdict {
    if !observed(object) {
        return Verdict::Progressing(
            "waiting for the statefulset spec update to be observed".into(),
        );
    }
    let wanted = object["spec"]["replicas"].as_i64().unwrap_or(1);
    let ready = int(object, &["status", "readyReplicas"]);
    let updated = int(object, &["status", "updatedReplicas"]);
    let revisions_match = object["status"]["updateRevision"] == object["status"]["currentRevision"];
    if ready < wanted {
        Verdict::Progressing(format!("{ready} of {wanted} pods are ready"))
    } else if updated < wanted || !revisions_match {
        Verdict::Progressing(format!("{updated} of {wanted} pods are updated"))
    } else {
        Verdict::Complete
    }
}

fn daemon_set(object: &Value) -> Verdict {
    if !observed(object) {
        return Verdict::Progressing(
            "waiting for the daemon set spec update to be observed".into(),
        );
    }
    let desired = int(object, &["status", "desiredNumberScheduled"]);
    let updated = int(object, &["status", "updatedNumberScheduled"]);
    let available = int(object, &["status", "numberAvailable"]);
    if updated < desired {
        Verdict::Progressing(format!("{updated} of {desired} updated pods are scheduled"))
    } else if available < desired {
        Verdict::Progressing(format!(
            "{available} of {desired} updated pods are available"
        ))
    } else {
        Verdict::Complete
    }
}

fn job(object: &Value) -> Verdict {
    if let Some(failed) = condition(object, "Failed").filter(|c| c["status"] == "True") {
        return Verdict::Failed {
            reason: failed["reason"].as_str().unwrap_or("Failed").to_owned(),
            message: failed["message"].as_str().unwrap_or_default().to_owned(),
        };
    }
    let complete = condition(object, "Complete").is_some_and(|c| c["status"] == "True");
    let completions = object["spec"]["completions"].as_i64().unwrap_or(1);
    let succeeded = int(object, &["status", "succeeded"]);
    if complete || succeeded >= completions {
        Verdict::Complete
    } else {
        Verdict::Progressing(format!("{succeeded} of {completions} completions"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(generation: i64, status: Value) -> Value {
        json!({"metadata": {"generation": generation}, "spec": {"replicas": 3}, "status": status})
    }

    #[test]
    fn deployments_follow_kubectl_rollout_status() {
        let done = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3});
        assert_eq!(
            verdict("Deployment", &deploy(2, done.clone())),
            Verdict::Complete
        );
        assert!(
            matches!(verdict("Deployment", &deploy(3, done)), Verdict::Progressing(m) if m.contains("observed"))
        );
        let surge = json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3});
        assert!(
            matches!(verdict("Deployment", &deploy(2, surge)), Verdict::Progressing(m) if m.contains("old replicas"))
        );
        let unavailable = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1});
        assert_eq!(
            verdict("Deployment", &deploy(2, unavailable)),
            Verdict::Progressing("1 of 3 updated replicas are available".into())
        );
        let stuck = json!({"observedGeneration": 2, "conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": "ReplicaSet \"api-7d\" has timed out progressing."}]});
        assert!(
            matches!(verdict("Deployment", &deploy(2, stuck.clone())), Verdict::Failed { reason, .. } if reason == "ProgressDeadlineExceeded")
        );
        assert!(
            matches!(
                verdict("Deployment", &deploy(3, stuck)),
                Verdict::Progressing(_)
            ),
            "an old deadline does not fail a new generation"
        );
    }

    #[test]
    fn other_workloads() {
        let sts = json!({"metadata": {"generation": 1}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 2, "currentRevision": "a", "updateRevision": "a"}});
        assert_eq!(verdict("StatefulSet", &sts), Verdict::Complete);
        let ds = json!({"metadata": {"generation": 1},
            "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2}});
        assert!(matches!(verdict("DaemonSet", &ds), Verdict::Progressing(_)));
        let job = json!({"spec": {"completions": 1}, "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
        assert!(
            matches!(verdict("Job", &job), Verdict::Failed { reason, .. } if reason == "BackoffLimitExceeded")
        );
        assert_eq!(verdict("ConfigMap", &json!({})), Verdict::Complete);
    }
}
