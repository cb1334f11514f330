//! `meta.k8s.io/v1` Tables, the server-side printing `kubectl get` asks for: the columns of
//! each kind and the cells of a row, computed the way the API server's printers do.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::meta;
use crate::resources::Kind;

mod claims;

/// (name, type, priority) of a column; priority 1 columns show with `-o wide`.
type Column = (&'static str, &'static str, u8);

fn columns(kind: Kind) -> &'static [Column] {
    const NAME: Column = ("Name", "string", 0);
    const AGE: Column = ("Age", "string", 0);
    match kind {
        Kind::Namespace => &[NAME, ("Status", "string", 0), AGE],
        Kind::ConfigMap => &[NAME, ("Data", "integer", 0), AGE],
        Kind::Secret => &[NAME, ("Type", "string", 0), ("Data", "integer", 0), AGE],
        Kind::ServiceAccount => &[NAME, ("Secrets", "integer", 0), AGE],
        Kind::Service => &[
            NAME,
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            AGE,
            ("Selector", "string", 1),
        ],
        Kind::Pod => &[
            NAME,
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            AGE,
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        Kind::Event => &[
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Subobject", "string", 1),
            ("Source", "string", 1),
            ("Message", "string", 0),
            ("First Seen", "string", 1),
            ("Count", "string", 1),
            ("Name", "string", 1),
        ],
        Kind::Deployment => &[
            NAME,
            ("Ready", "string", 0),
            ("Up-to-date", "string", 0),
            ("Available", "string", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        Kind::ReplicaSet => &[
            NAME,
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        Kind::StatefulSet => &[
            NAME,
            ("Ready", "string", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
        ],
        Kind::DaemonSet => &[
            NAME,
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Node Selector", "string", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        Kind::ControllerRevision => &[
            NAME,
            ("Controller", "string", 0),
            ("Revision", "integer", 0),
            AGE,
        ],
        Kind::Job => &[
            NAME,
            ("Status", "string", 0),
            ("Completions", "string", 0),
            ("Duration", "string", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        Kind::CronJob => &[
            NAME,
            ("Schedule", "string", 0),
            ("Timezone", "string", 0),
            ("Suspend", "boolean", 0),
            ("Active", "integer", 0),
            ("Last Schedule", "string", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        Kind::ResourceQuota => &[NAME, AGE, ("Request", "string", 0), ("Limit", "string", 0)],
        Kind::PersistentVolumeClaim => &[
            NAME,
            ("Status", "string", 0),
            ("Volume", "string", 0),
            ("Capacity", "string", 0),
            ("Access Modes", "string", 0),
            ("StorageClass", "string", 0),
            ("VolumeAttributesClass", "string", 0),
            AGE,
            ("VolumeMode", "string", 1),
        ],
        Kind::HorizontalPodAutoscaler => &[
            NAME,
            ("Reference", "string", 0),
            ("Targets", "string", 0),
            ("MinPods", "string", 0),
            ("MaxPods", "integer", 0),
            ("Replicas", "integer", 0),
            AGE,
        ],
        Kind::PodDisruptionBudget => &[
            NAME,
            ("Min Available", "string", 0),
            ("Max Unavailable", "string", 0),
            ("Allowed Disruptions", "integer", 0),
            AGE,
        ],
        Kind::Ingress => &[
            NAME,
            ("Class", "string", 0),
            ("Hosts", "string", 0),
            ("Address", "string", 0),
            ("Ports", "string", 0),
            AGE,
        ],
    }
}

/// The `columnDefinitions` of `kind`.
pub fn column_definitions(kind: Kind) -> Value {
    columns(kind)
        .iter()
        .map(|(name, ty, priority)| {
            json!({
                "name": name,
                "type": ty,
                "format": if *name == "Name" { "name" } else { "" },
                "description": "",
                "priority": priority,
            })
        })
        .collect()
}

/// How long ago, the way `kubectl` prints ages (`5s`, `3m2s`, `4h`, `2d3h`).
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let s = secs.max(0);
    let (m, h) = (s / 60, s / 3600);
    match () {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 && s % 60 == 0 => format!("{m}m"),
        _ if m < 10 => format!("{m}m{}s", s % 60),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 && m % 60 == 0 => format!("{h}h"),
        _ if h < 8 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ if h < 192 && h % 24 == 0 => format!("{}d", h / 24),
        _ if h < 192 => format!("{}d{}h", h / 24, h % 24),
        _ if h < 24 * 365 * 2 => format!("{}d", h / 24),
        _ if h < 24 * 365 * 8 && (h / 24) % 365 == 0 => format!("{}y", h / 24 / 365),
        _ if h < 24 * 365 * 8 => format!("{}y{}d", h / 24 / 365, (h / 24) % 365),
        _ => format!("{}y", h / 24 / 365),
    }
}

fn age_of(time: Option<&str>, now: i64) -> String {
    match time.and_then(meta::parse_time) {
        Some(t) => human_duration(now - t.timestamp()),
        None => "<unknown>".into(),
    }
}

fn num(obj: &Value, path: &[&str]) -> i64 {
    meta::i64_at(obj, path).unwrap_or(0)
}

fn or_none(s: String) -> String {
    if s.is_empty() { "<none>".into() } else { s }
}

fn containers_and_images(spec: Option<&Value>) -> (String, String) {
    let cs = spec
        .map(|s| meta::array_at(s, &["containers"]))
        .unwrap_or(&[]);
    let names: Vec<&str> = cs.iter().filter_map(|c| c["name"].as_str()).collect();
    let images: Vec<&str> = cs.iter().filter_map(|c| c["image"].as_str()).collect();
    (names.join(","), images.join(","))
}

fn selector_string(selector: Option<&Value>) -> String {
    or_none(selector.map(crate::selector::to_query).unwrap_or_default())
}

/// The reason a terminated container gives: its reason, else its signal or exit code.
fn terminated_reason(terminated: &Value) -> String {
    match (
        terminated["reason"].as_str().filter(|r| !r.is_empty()),
        terminated["signal"].as_i64().filter(|s| *s != 0),
    ) {
        (Some(reason), _) => reason.to_string(),
        (None, Some(signal)) => format!("Signal:{signal}"),
        (None, None) => format!("ExitCode:{}", terminated["exitCode"].as_i64().unwrap_or(0)),
    }
}

/// The Ready, Status and Restarts cells of a pod, as the API server's pod printer computes
/// them: the first init container not done (`Init:CrashLoopBackOff`, `Init:0/1`), else the
/// last app container's waiting or terminated reason, else the phase.
fn pod_status(pod: &Value) -> (String, String, String) {
    let restarts_of = |s: &Value| s["restartCount"].as_i64().unwrap_or(0);
    let has_condition = |kind: &str| {
        meta::array_at(pod, &["status", "conditions"])
            .iter()
            .any(|c| c["type"] == kind && c["status"] == "True")
    };
    let total = meta::array_at(pod, &["spec", "containers"]).len();
    let init_total = meta::array_at(pod, &["spec", "initContainers"]).len();
    let mut reason = meta::str_at(pod, &["status", "reason"])
        .or_else(|| meta::str_at(pod, &["status", "phase"]))
        .unwrap_or("Pending")
        .to_string();
    let mut restarts = 0;
    let mut initializing = false;
    for (i, s) in meta::array_at(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        restarts += restarts_of(s);
        let terminated = meta::at(s, &["state", "terminated"]);
        let waiting = meta::str_at(s, &["state", "waiting", "reason"])
            .filter(|r| !r.is_empty() && *r != "PodInitializing");
        reason = match (terminated, waiting) {
            (Some(t), _) if t["exitCode"].as_i64() == Some(0) => continue,
            (Some(t), _) => format!("Init:{}", terminated_reason(t)),
            (None, Some(waiting)) => format!("Init:{waiting}"),
            (None, None) => format!("Init:{i}/{init_total}"),
        };
        initializing = true;
        break;
    }
    let mut ready = 0;
    if !initializing || has_condition("Initialized") {
        restarts = 0;
        let mut running = false;
        for s in meta::array_at(pod, &["status", "containerStatuses"])
            .iter()
            .rev()
        {
            restarts += restarts_of(s);
            if let Some(waiting) =
                meta::str_at(s, &["state", "waiting", "reason"]).filter(|r| !r.is_empty())
            {
                reason = waiting.to_string();
            } else if let Some(t) = meta::at(s, &["state", "terminated"]) {
                reason = terminated_reason(t);
            } else if s["ready"] == true && meta::at(s, &["state", "running"]).is_some() {
                running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && running {
            reason = if has_condition("Ready") {
                "Running"
            } else {
                "NotReady"
            }
            .into();
        }
    }
    if meta::at(pod, &["metadata", "deletionTimestamp"]).is_some() {
        reason = "Terminating".into();
    }
    (format!("{ready}/{total}"), reason, restarts.to_string())
}

/// The Request and Limit cells of a ResourceQuota: `resource: used/hard` for each resource
/// of `status.hard` by name, `limits.*` ones in Limit.
fn quota_usage(quota: &Value) -> (String, String) {
    let quantity = |path: &[&str]| match meta::at(quota, path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".into(),
    };
    let (mut request, mut limit) = (Vec::new(), Vec::new());
    let mut resources: Vec<&String> = meta::map_at(quota, &["status", "hard"]).keys().collect();
    resources.sort();
    for resource in resources {
        let used = quantity(&["status", "used", resource]);
        let hard = quantity(&["status", "hard", resource]);
        let cell = if resource.starts_with("limits.") {
            &mut limit
        } else {
            &mut request
        };
        cell.push(format!("{resource}: {used}/{hard}"));
    }
    (request.join(", "), limit.join(", "))
}

/// An `IntOrString` of a budget's spec as printed (`1`, `50%`), or `N/A`.
fn int_or_string(obj: &Value, field: &str) -> String {
    match meta::at(obj, &["spec", field]) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "N/A".into(),
    }
}

/// The controller named in `obj`'s owner references as `statefulset.apps/web`, or `<none>`.
fn controller_name(obj: &Value) -> String {
    meta::array_at(obj, &["metadata", "ownerReferences"])
        .iter()
        .find(|r| r["controller"].as_bool() == Some(true))
        .map_or_else(
            || "<none>".into(),
            |r| {
                let kind = r["kind"].as_str().unwrap_or("").to_lowercase();
                let group = r["apiVersion"]
                    .as_str()
                    .and_then(|v| v.split_once('/'))
                    .map_or("", |(group, _)| group);
                let name = r["name"].as_str().unwrap_or("");
                if group.is_empty() {
                    format!("{kind}/{name}")
                } else {
                    format!("{kind}.{group}/{name}")
                }
            },
        )
}

fn job_status(job: &Value) -> &'static str {
    let conditions = meta::array_at(job, &["status", "conditions"]);
    let has = |t: &str| {
        conditions
            .iter()
            .any(|c| c["type"] == t && c["status"] == "True")
    };
    if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if meta::at(job, &["spec", "suspend"]) == Some(&json!(true)) {
        "Suspended"
    } else {
        "Running"
    }
}

/// The cells of `obj`'s row, `now` in Unix seconds.
pub fn cells(kind: Kind, obj: &Value, now: i64) -> Vec<Value> {
    let name = json!(meta::name(obj));
    let age = json!(age_of(
        meta::str_at(obj, &["metadata", "creationTimestamp"]),
        now
    ));
    let template_spec = meta::at(obj, &["spec", "template", "spec"]);
    match kind {
        Kind::Namespace => vec![
            name,
            json!(meta::str_at(obj, &["status", "phase"]).unwrap_or("Active")),
            age,
        ],
        Kind::ConfigMap => {
            let n = meta::map_at(obj, &["data"]).len() + meta::map_at(obj, &["binaryData"]).len();
            vec![name, json!(n), age]
        }
        Kind::Secret => {
            let n = meta::map_at(obj, &["data"]).len() + meta::map_at(obj, &["stringData"]).len();
            vec![
                name,
                json!(obj["type"].as_str().unwrap_or("Opaque")),
                json!(n),
                age,
            ]
        }
        Kind::ServiceAccount => vec![name, json!(meta::array_at(obj, &["secrets"]).len()), age],
        Kind::Service => {
            let ports: Vec<String> = meta::array_at(obj, &["spec", "ports"])
                .iter()
                .map(|p| {
                    let proto = p["protocol"].as_str().unwrap_or("TCP");
                    match p["nodePort"].as_i64() {
                        Some(np) => format!("{}:{np}/{proto}", p["port"]),
                        None => format!("{}/{proto}", p["port"]),
                    }
                })
                .collect();
            let selector: Vec<String> = meta::map_at(obj, &["spec", "selector"])
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            vec![
                name,
                json!(meta::str_at(obj, &["spec", "type"]).unwrap_or("ClusterIP")),
                json!(meta::str_at(obj, &["spec", "clusterIP"]).unwrap_or("<none>")),
                json!("<none>"),
                json!(or_none(ports.join(","))),
                age,
                json!(or_none(selector.join(","))),
            ]
        }
        Kind::Pod => {
            let (ready, status, restarts) = pod_status(obj);
            vec![
                name,
                json!(ready),
                json!(status),
                json!(restarts),
                age,
                json!(meta::str_at(obj, &["status", "podIP"]).unwrap_or("<none>")),
                json!(meta::str_at(obj, &["spec", "nodeName"]).unwrap_or("<none>")),
                json!("<none>"),
                json!("<none>"),
            ]
        }
        Kind::Event => {
            let involved = &obj["involvedObject"];
            let last =
                meta::str_at(obj, &["lastTimestamp"]).or_else(|| meta::str_at(obj, &["eventTime"]));
            let first = meta::str_at(obj, &["firstTimestamp"]).or(last);
            vec![
                json!(age_of(last, now)),
                json!(obj["type"].as_str().unwrap_or("")),
                json!(obj["reason"].as_str().unwrap_or("")),
                json!(format!(
                    "{}/{}",
                    involved["kind"].as_str().unwrap_or("").to_lowercase(),
                    involved["name"].as_str().unwrap_or("")
                )),
                json!(involved["fieldPath"].as_str().unwrap_or("")),
                json!(meta::str_at(obj, &["source", "component"]).unwrap_or("")),
                json!(obj["message"].as_str().unwrap_or("")),
                json!(age_of(first, now)),
                json!(obj["count"].as_i64().unwrap_or(1).to_string()),
                name,
            ]
        }
        Kind::Deployment => {
            let (containers, images) = containers_and_images(template_spec);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    num(obj, &["status", "readyReplicas"]),
                    num(obj, &["spec", "replicas"])
                )),
                json!(num(obj, &["status", "updatedReplicas"]).to_string()),
                json!(num(obj, &["status", "availableReplicas"]).to_string()),
                age,
                json!(containers),
                json!(images),
                json!(selector_string(meta::at(obj, &["spec", "selector"]))),
            ]
        }
        Kind::ReplicaSet => {
            let (containers, images) = containers_and_images(template_spec);
            vec![
                name,
                json!(num(obj, &["spec", "replicas"])),
                json!(num(obj, &["status", "replicas"])),
                json!(num(obj, &["status", "readyReplicas"])),
                age,
                json!(containers),
                json!(images),
                json!(selector_string(meta::at(obj, &["spec", "selector"]))),
            ]
        }
        Kind::StatefulSet => {
            let (containers, images) = containers_and_images(template_spec);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    num(obj, &["status", "readyReplicas"]),
                    num(obj, &["spec", "replicas"])
                )),
                age,
                json!(containers),
                json!(images),
            ]
        }
        Kind::DaemonSet => {
            let (containers, images) = containers_and_images(template_spec);
            let node_selector: Vec<String> =
                meta::map_at(obj, &["spec", "template", "spec", "nodeSelector"])
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect();
            vec![
                name,
                json!(num(obj, &["status", "desiredNumberScheduled"])),
                json!(num(obj, &["status", "currentNumberScheduled"])),
                json!(num(obj, &["status", "numberReady"])),
                json!(num(obj, &["status", "updatedNumberScheduled"])),
                json!(num(obj, &["status", "numberAvailable"])),
                json!(or_none(node_selector.join(","))),
                age,
                json!(containers),
                json!(images),
                json!(selector_string(meta::at(obj, &["spec", "selector"]))),
            ]
        }
        Kind::ControllerRevision => vec![
            name,
            json!(controller_name(obj)),
            json!(num(obj, &["revision"])),
            age,
        ],
        Kind::Job => {
            let (containers, images) = containers_and_images(template_spec);
            let start = meta::str_at(obj, &["status", "startTime"]).and_then(meta::parse_time);
            let end = meta::str_at(obj, &["status", "completionTime"])
                .and_then(meta::parse_time)
                .map_or(now, |t| t.timestamp());
            let duration = start.map_or(String::new(), |s| human_duration(end - s.timestamp()));
            vec![
                name,
                json!(job_status(obj)),
                json!(format!(
                    "{}/{}",
                    num(obj, &["status", "succeeded"]),
                    num(obj, &["spec", "completions"])
                )),
                json!(duration),
                age,
                json!(containers),
                json!(images),
                json!(selector_string(meta::at(obj, &["spec", "selector"]))),
            ]
        }
        Kind::CronJob => {
            let (containers, images) = containers_and_images(meta::at(
                obj,
                &["spec", "jobTemplate", "spec", "template", "spec"],
            ));
            let last = meta::str_at(obj, &["status", "lastScheduleTime"]);
            vec![
                name,
                json!(meta::str_at(obj, &["spec", "schedule"]).unwrap_or("")),
                json!(meta::str_at(obj, &["spec", "timeZone"]).unwrap_or("<none>")),
                json!(meta::at(obj, &["spec", "suspend"]) == Some(&json!(true))),
                json!(meta::array_at(obj, &["status", "active"]).len()),
                json!(if last.is_some() {
                    age_of(last, now)
                } else {
                    "<none>".into()
                }),
                age,
                json!(containers),
                json!(images),
                json!("<none>"),
            ]
        }
        Kind::ResourceQuota => {
            let (request, limit) = quota_usage(obj);
            vec![name, age, json!(request), json!(limit)]
        }
        Kind::PersistentVolumeClaim => {
            let [phase, volume, capacity, modes, class, attributes, mode] = claims::cells(obj);
            let mut row = vec![name];
            row.extend([phase, volume, capacity, modes, class, attributes].map(Value::from));
            row.extend([age, json!(mode)]);
            row
        }
        Kind::HorizontalPodAutoscaler => {
            let target = |field: &str| {
                meta::str_at(obj, &["spec", "scaleTargetRef", field]).unwrap_or_default()
            };
            let min = meta::i64_at(obj, &["spec", "minReplicas"]).unwrap_or(1);
            vec![
                name,
                json!(format!("{}/{}", target("kind"), target("name"))),
                json!("<unknown>"),
                json!(min.to_string()),
                json!(num(obj, &["spec", "maxReplicas"])),
                json!(num(obj, &["status", "currentReplicas"])),
                age,
            ]
        }
        Kind::PodDisruptionBudget => vec![
            name,
            json!(int_or_string(obj, "minAvailable")),
            json!(int_or_string(obj, "maxUnavailable")),
            json!(num(obj, &["status", "disruptionsAllowed"])),
            age,
        ],
        Kind::Ingress => {
            let rules = meta::array_at(obj, &["spec", "rules"]);
            let hosts: Vec<&str> = rules.iter().filter_map(|r| r["host"].as_str()).collect();
            let tls = !meta::array_at(obj, &["spec", "tls"]).is_empty();
            vec![
                name,
                json!(meta::str_at(obj, &["spec", "ingressClassName"]).unwrap_or("<none>")),
                json!(if hosts.is_empty() {
                    "*".to_string()
                } else {
                    hosts.join(",")
                }),
                json!(""),
                json!(if tls { "80, 443" } else { "80" }),
                age,
            ]
        }
    }
}

/// The `PartialObjectMetadata` each row carries.
pub fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
    })
}

/// A Table of `objects`. `with_columns == false` leaves out the column definitions (watch
/// events after the first).
pub fn table(kind: Kind, objects: &[Arc<Value>], list_meta: Value, with_columns: bool) -> Value {
    let now = chrono::Utc::now().timestamp();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| json!({"cells": cells(kind, o, now), "object": partial_metadata(o)}))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": if with_columns { column_definitions(kind) } else { Value::Null },
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_print_like_kubectl() {
        for (secs, want) in [
            (5, "5s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (30 * 3600, "30h"),
            (50 * 3600, "2d2h"),
            (400 * 86400, "400d"),
        ] {
            assert_eq!(human_duration(secs), want);
        }
    }

    #[test]
    fn every_kind_has_as_many_cells_as_columns() {
        let obj = json!({"metadata": {"name": "x", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        for kind in Kind::all() {
            assert_eq!(cells(kind, &obj, 0).len(), columns(kind).len(), "{kind:?}");
        }
    }

    #[test]
    fn controller_revisions_name_their_controller_with_its_group() {
        let owned = json!({"metadata": {"ownerReferences": [
            {"apiVersion": "v1", "kind": "Pod", "name": "other", "controller": false},
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": true}]}});
        assert_eq!(controller_name(&owned), "statefulset.apps/db");
        assert_eq!(controller_name(&json!({})), "<none>");
    }

    #[test]
    fn pod_status_shows_the_init_containers_progress_and_failures() {
        let pod = |init: Value, phase: &str| {
            json!({"spec": {"initContainers": [{"name": "a"}, {"name": "b"}], "containers": [{"name": "c"}]},
                "status": {"phase": phase, "initContainerStatuses": init, "containerStatuses": [
                    {"ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}})
        };
        let done = json!({"restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
        let waiting = |reason: &str, restarts: i64| json!({"restartCount": restarts, "state": {"waiting": {"reason": reason}}});
        let status = |init: Value, phase: &str| pod_status(&pod(init, phase));
        assert_eq!(
            status(json!([done, waiting("PodInitializing", 0)]), "Pending").1,
            "Init:1/2"
        );
        assert_eq!(
            status(
                json!([
                    waiting("CrashLoopBackOff", 3),
                    waiting("PodInitializing", 0)
                ]),
                "Pending"
            ),
            ("0/1".into(), "Init:CrashLoopBackOff".into(), "3".into())
        );
        assert_eq!(
            status(
                json!([
                    waiting("ImagePullBackOff", 0),
                    waiting("PodInitializing", 0)
                ]),
                "Pending"
            )
            .1,
            "Init:ImagePullBackOff"
        );
        let failed = json!({"restartCount": 0, "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}});
        assert_eq!(
            status(json!([failed, waiting("PodInitializing", 0)]), "Failed").1,
            "Init:OOMKilled"
        );
        assert_eq!(status(json!([done, done]), "Pending").1, "PodInitializing");
    }

    #[test]
    fn pod_status_shows_waiting_reason() {
        let pod = json!({"spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Pending",
            "containerStatuses": [{"ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}});
        assert_eq!(
            pod_status(&pod),
            ("0/1".into(), "ImagePullBackOff".into(), "0".into())
        );
    }
}
