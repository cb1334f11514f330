//! Gathering what explains a failed rollout — the workload's new pods, the Warning events
//! about it, its current ReplicaSet and its first new pods, the last log lines of a failing
//! container and, when it restarted, of its previous instance — and handing them to
//! [`crate::explain`]. Every read has a bound: lists carry `limit`, events are asked for per
//! object with a field selector, logs with `tailLines` and `limitBytes`.

use serde_json::Value;

use super::DeployError;
use super::watch::Settled;
use crate::explain::{Explanation, Observation};
use crate::host::Host;
use crate::kube::client::{Kube, KubeError};
use crate::kube::discovery::Discovery;
use crate::kube::request::{ApiResource, LogTail, label_selector, pod_log};
use crate::rollout::Verdict;
use futures_util::future::try_join_all;

/// How much of a failing container's log is read: the last 20 lines, at most 16 KiB of them
/// (a container can write lines of any length, and the answer is read whole).
const LOG_TAIL: LogTail = LogTail {
    lines: 20,
    limit_bytes: 16 * 1024,
    previous: false,
};
/// The most pods and ReplicaSets of the workload read.
const MAX_LISTED: u32 = 500;
/// The new pods whose events are read (one request each).
const PODS_WITH_EVENTS: usize = 3;
/// The most Warning events read per object.
const EVENTS_PER_OBJECT: u32 = 20;
/// The annotation that numbers a Deployment's revisions (also on its ReplicaSets).
pub const REVISION: &str = "deployment.kubernetes.io/revision";

fn items(list: Value) -> Vec<Value> {
    match list {
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

pub fn revision(object: &Value) -> Option<i64> {
    object["metadata"]["annotations"][REVISION]
        .as_str()?
        .parse()
        .ok()
}

/// The name of `object`'s owner of `kind` (a pod's ReplicaSet or Job), if it has one.
pub fn owner_of<'a>(object: &'a Value, kind: &str) -> Option<&'a str> {
    object["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["kind"] == kind)?["name"]
        .as_str()
}

/// Whether `object` is controlled by `owner`.
pub fn owned_by(object: &Value, owner: &Value) -> bool {
    let uid = &owner["metadata"]["uid"];
    object["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| !uid.is_null() && r["uid"] == *uid)
}

/// The pods of a Deployment's current revision; for other workloads every pod it controls.
pub fn new_pods(workload: &Value, replica_sets: &[Value], pods: &[Value]) -> Vec<Value> {
    let owners: Vec<&Value> = match revision(workload) {
        Some(current) => replica_sets
            .iter()
            .filter(|rs| owned_by(rs, workload) && revision(rs) == Some(current))
            .collect(),
        None => vec![workload],
    };
    pods.iter()
        .filter(|pod| owners.iter().any(|owner| owned_by(pod, owner)))
        .cloned()
        .collect()
}

/// The events about any of `names`, oldest first.
pub fn related_events(events: Vec<Value>, names: &[&str]) -> Vec<Value> {
    let mut related: Vec<Value> = events
        .into_iter()
        .filter(|e| {
            e["involvedObject"]["name"]
                .as_str()
                .is_some_and(|n| names.contains(&n))
        })
        .collect();
    let time = |e: &Value| {
        ["lastTimestamp", "eventTime", "firstTimestamp"]
            .iter()
            .find_map(|k| e[*k].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    related.sort_by_key(time);
    related
}

/// A container whose log is worth reading: one that started and keeps failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTarget {
    pub pod: String,
    pub container: String,
    /// Whether it has restarted, so that its previous instance's log exists.
    pub restarted: bool,
}

/// The first container of `pods` (init containers first) that started and keeps failing;
/// without one, the first that runs but is not ready (its readiness probe fails).
pub fn log_target(pods: &[Value]) -> Option<LogTarget> {
    let failing = |s: &Value| {
        matches!(
            s["state"]["waiting"]["reason"].as_str(),
            Some("CrashLoopBackOff" | "RunContainerError")
        ) || s["state"]["terminated"].is_object()
    };
    let unready = |s: &Value| s["state"]["running"].is_object() && s["ready"] == false;
    first_container(pods, failing).or_else(|| first_container(pods, unready))
}

/// The first container of `pods` (init containers first) whose status is `wanted`.
fn first_container(pods: &[Value], wanted: impl Fn(&Value) -> bool) -> Option<LogTarget> {
    pods.iter().find_map(|pod| {
        let status = ["initContainerStatuses", "containerStatuses"]
            .iter()
            .filter_map(|list| pod["status"][*list].as_array())
            .flatten()
            .find(|s| wanted(s))?;
        Some(LogTarget {
            pod: pod["metadata"]["name"].as_str()?.to_owned(),
            container: status["name"].as_str()?.to_owned(),
            restarted: status["restartCount"].as_i64().unwrap_or(0) > 0,
        })
    })
}

/// Reads what explains `settled`'s failure and explains it.
pub async fn explain<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    settled: &Settled,
) -> Result<Explanation, DeployError> {
    gather(kube, discovery, settled)
        .await
        .map_err(|e| DeployError::from_kube(e, || format!("diagnosing {}", settled.workload())))
}

async fn gather<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    settled: &Settled,
) -> Result<Explanation, KubeError> {
    let ns = settled.namespace.as_deref();
    let workload = kube.json(&settled.resource.get(ns, &settled.name)?).await?;
    let selector = label_selector(&workload["spec"]["selector"]["matchLabels"]);
    let pods = Discovery::builtin("v1", "Pod", "pods");
    let listed = |resource: &ApiResource| resource.list_at_most(ns, &selector, "", MAX_LISTED);
    let all_pods = items(kube.json(&listed(&pods)?).await?);
    let replica_sets = if settled.resource.kind() == "Deployment" {
        let resource = discovery
            .resource("apps/v1", "ReplicaSet")
            .cloned()
            .unwrap_or_else(|| Discovery::builtin("apps/v1", "ReplicaSet", "replicasets"));
        items(kube.json(&listed(&resource)?).await?)
    } else {
        Vec::new()
    };
    let new = new_pods(&workload, &replica_sets, &all_pods);
    let current_sets = replica_sets
        .iter()
        .filter(|rs| owned_by(rs, &workload) && revision(rs) == revision(&workload));
    let mut names: Vec<&str> = vec![settled.name.as_str()];
    names.extend(current_sets.filter_map(|rs| rs["metadata"]["name"].as_str()));
    names.extend(
        new.iter()
            .take(PODS_WITH_EVENTS)
            .filter_map(|p| p["metadata"]["name"].as_str()),
    );
    let events = warning_events(kube, ns, &names).await?;
    let (mut log_tail, mut previous_log) = (Vec::new(), Vec::new());
    if let (Some(target), Some(ns)) = (log_target(&new), ns) {
        log_tail = read_log(kube, &pods, ns, &target, LOG_TAIL).await?;
        if target.restarted {
            let previous = LogTail {
                previous: true,
                ..LOG_TAIL
            };
            previous_log = read_log(kube, &pods, ns, &target, previous).await?;
        }
    }
    let (verdict_reason, verdict_message) = match &settled.verdict {
        Verdict::Failed { reason, message } => (Some(reason.as_str()), Some(message.as_str())),
        _ => (None, None),
    };
    Ok(crate::explain::explain(&Observation {
        workload: settled.workload(),
        pods: &new,
        events: &events,
        log_tail: &log_tail,
        previous_log: &previous_log,
        verdict_reason,
        verdict_message,
    }))
}

/// The Warning events about each of `names` (at most [`EVENTS_PER_OBJECT`] each), oldest
/// first.
async fn warning_events<H: Host>(
    kube: &Kube<H>,
    ns: Option<&str>,
    names: &[&str],
) -> Result<Vec<Value>, KubeError> {
    let events = Discovery::builtin("v1", "Event", "events");
    let requests = names
        .iter()
        .map(|name| {
            let fields = format!("involvedObject.name={name},type=Warning");
            events.list_at_most(ns, "", &fields, EVENTS_PER_OBJECT)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let lists = try_join_all(requests.iter().map(|request| kube.json(request))).await?;
    Ok(related_events(
        lists.into_iter().flat_map(items).collect(),
        names,
    ))
}

/// The lines of `target`'s log `tail` asks for; none when the log cannot be read (the
/// container may be gone), unless the credentials may not read logs at all.
async fn read_log<H: Host>(
    kube: &Kube<H>,
    pods: &ApiResource,
    ns: &str,
    target: &LogTarget,
    tail: LogTail,
) -> Result<Vec<String>, KubeError> {
    let request = pod_log(pods, ns, &target.pod, &target.container, tail)?;
    match kube.send(&request).await {
        Ok(answer) => Ok(String::from_utf8_lossy(&answer.body)
            .lines()
            .map(str::to_owned)
            .collect()),
        Err(e) if e.is_access() => Err(e),
        Err(_) => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn owned(name: &str, owner_uid: &str, extra: Value) -> Value {
        let mut object = json!({"metadata": {"name": name, "uid": format!("uid-{name}"),
            "ownerReferences": [{"uid": owner_uid}]}});
        if let (Some(target), Some(extra)) = (object["metadata"].as_object_mut(), extra.as_object())
        {
            target.extend(extra.clone());
        }
        object
    }

    #[test]
    fn only_the_current_revisions_pods_are_new() {
        let deploy = json!({"metadata": {"name": "api", "uid": "d1",
            "annotations": {REVISION: "2"}}});
        let old_rs = owned("api-1", "d1", json!({"annotations": {REVISION: "1"}}));
        let new_rs = owned("api-2", "d1", json!({"annotations": {REVISION: "2"}}));
        let pods = [
            owned("api-1-a", "uid-api-1", json!({})),
            owned("api-2-a", "uid-api-2", json!({})),
        ];
        let new = new_pods(&deploy, &[old_rs, new_rs], &pods);
        assert_eq!(new.len(), 1);
        assert_eq!(new[0]["metadata"]["name"], "api-2-a");
    }

    #[test]
    fn events_are_filtered_and_ordered_and_crashing_containers_logged() {
        let events = vec![
            json!({"involvedObject": {"name": "api-2-a"}, "lastTimestamp": "2026-01-01T00:00:02Z", "reason": "BackOff"}),
            json!({"involvedObject": {"name": "other"}, "lastTimestamp": "2026-01-01T00:00:00Z"}),
            json!({"involvedObject": {"name": "api"}, "lastTimestamp": "2026-01-01T00:00:01Z", "reason": "ScalingReplicaSet"}),
        ];
        let related = related_events(events, &["api", "api-2-a"]);
        let reasons: Vec<&str> = related
            .iter()
            .map(|e| e["reason"].as_str().unwrap())
            .collect();
        assert_eq!(reasons, ["ScalingReplicaSet", "BackOff"]);

        let pulling = json!({"metadata": {"name": "p1"}, "status": {"containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}});
        assert_eq!(
            log_target(std::slice::from_ref(&pulling)),
            None,
            "nothing ran, no log"
        );
        let crashing = json!({"metadata": {"name": "p2"}, "status": {"containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(
            log_target(&[pulling, crashing]),
            Some(LogTarget {
                pod: "p2".into(),
                container: "app".into(),
                restarted: false
            })
        );
        let init_looping = json!({"metadata": {"name": "p3"}, "status": {
            "initContainerStatuses": [{"name": "migrate", "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
            "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}]}});
        assert_eq!(
            log_target(&[init_looping]),
            Some(LogTarget {
                pod: "p3".into(),
                container: "migrate".into(),
                restarted: true
            })
        );
        let unready = json!({"metadata": {"name": "p4"}, "status": {"containerStatuses": [
            {"name": "app", "ready": false, "state": {"running": {}}}]}});
        let crashing_later = json!({"metadata": {"name": "p5"}, "status": {"containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let target = |pods: &[Value]| log_target(pods).map(|t| t.pod);
        assert_eq!(
            target(&[unready.clone(), crashing_later]).as_deref(),
            Some("p5"),
            "a crash explains more than a failing probe"
        );
        assert_eq!(target(&[unready]).as_deref(), Some("p4"));
    }
}
