//! The simulated kubelet: schedules every pod onto the one node, and `--rollout-ms` later
//! reports its containers running and ready — or failing the way a real kubelet reports it:
//! image-rule failures (`ImagePullBackOff`, `ErrImagePull`, `CrashLoopBackOff`) and
//! `CreateContainerConfigError` while a referenced ConfigMap or Secret (or key) is missing.
//! A failed pull or a missing ConfigMap is tried again after a back-off (10 s, doubling, at
//! most 5 min of simulated time), each attempt counted on its event as a kubelet's recorder
//! counts it; an image rule can let the pull succeed after N failures.
//! Pods owned by a Job complete (`Succeeded`) one step after they start.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Ctl, NODE, config_refs, pod_ready};
use crate::config::ImageFailure;
use crate::meta;
use crate::registry;
use crate::store::ObjKey;

/// Why a container cannot start.
enum Blocked {
    Config(String),
    /// The failure, the container, and how many pulls fail (`None`: all).
    Image(ImageFailure, String, Option<u32>),
}

fn condition(kind: &str, ok: bool, now: &str) -> Value {
    json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": now})
}

fn conditions(scheduled: bool, ready: bool, now: &str) -> Value {
    json!([
        condition("PodReadyToStartContainers", scheduled, now),
        condition("Initialized", true, now),
        condition("Ready", ready, now),
        condition("ContainersReady", ready, now),
        condition("PodScheduled", true, now),
    ])
}

fn pod_ip(pod: &Value) -> String {
    let hash = meta::short_hash(&json!(meta::uid(pod)));
    let n: u32 = hash
        .bytes()
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("10.244.{}.{}", (n >> 8) % 250, n % 250 + 2)
}

fn blocked(ctl: &Ctl, pod: &Value) -> Option<Blocked> {
    if let Some(message) = config_refs::first_missing(ctl.store(), pod) {
        return Some(Blocked::Config(message));
    }
    meta::array_at(pod, &["spec", "containers"])
        .iter()
        .find_map(|c| {
            let image = c["image"].as_str().unwrap_or("");
            ctl.settings()
                .image_rules
                .iter()
                .find(|r| r.matches(image))
                .map(|r| {
                    let container = c["name"].as_str().unwrap_or("").to_string();
                    Blocked::Image(r.failure, container, r.failed_pulls)
                })
        })
}

fn job_owned(pod: &Value) -> bool {
    meta::array_at(pod, &["metadata", "ownerReferences"])
        .iter()
        .any(|r| r["kind"] == "Job" && r["controller"] == true)
}

/// The container statuses of `pod`: `state` gives each container's state, restart count
/// and last state.
fn container_statuses(
    pod: &Value,
    ready: bool,
    state: impl Fn(&Value) -> (Value, i64, Option<Value>),
) -> Value {
    meta::array_at(pod, &["spec", "containers"])
        .iter()
        .map(|c| {
            let (state, restarts, last) = state(c);
            let running = state.get("running").is_some();
            let mut status = json!({
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "ready": ready,
                "started": running,
                "restartCount": restarts,
                "state": state,
                "lastState": last.unwrap_or(json!({})),
            });
            if running || ready {
                status["containerID"] = json!(format!(
                    "containerd://{}",
                    meta::short_hash(&json!([meta::uid(pod), c["name"]]))
                ));
            }
            status
        })
        .collect()
}

pub fn reconcile(ctl: &mut Ctl, key: &ObjKey) {
    let Some(pod) = ctl.store().get(key) else {
        return;
    };
    if meta::at(&pod, &["metadata", "deletionTimestamp"]).is_some() {
        return;
    }
    let now = meta::now();
    let phase = meta::str_at(&pod, &["status", "phase"]).unwrap_or("");
    match phase {
        "" => schedule(ctl, key, &pod, &now),
        "Pending" => {
            // Unknown (after a restart): due now.
            let rollout = ctl.settings().rollout;
            let since = *ctl
                .pod_since
                .entry(key.clone())
                .or_insert_with(|| Instant::now() - rollout);
            if Instant::now() < since + rollout {
                ctl.at(since + rollout, key);
                return;
            }
            start(ctl, key, &pod, &now);
        }
        "Running" if job_owned(&pod) && pod_ready(&pod) => {
            let since = *ctl
                .pod_since
                .entry(key.clone())
                .or_insert_with(Instant::now);
            let due = since + ctl.settings().rollout * 2;
            if Instant::now() < due {
                ctl.at(due, key);
                return;
            }
            complete(ctl, key, &pod, &now);
        }
        "Running" => restart_crashed(ctl, key, &pod, &now),
        _ => {}
    }
}

/// The longest crash-loop back-off, in simulated seconds (the kubelet's five minutes).
const MAX_BACKOFF_SECS: f64 = 300.0;

/// Go's rendering of a whole number of seconds (`40s`, `1m20s`, `5m0s`).
fn go_duration(secs: f64) -> String {
    let secs = secs.round() as u64;
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

/// The back-off before restart number `restarts + 1` (10 s, doubling, at most 5 min).
fn backoff(restarts: i64) -> f64 {
    (10.0 * 2f64.powi(restarts.clamp(1, 10) as i32 - 1)).min(MAX_BACKOFF_SECS)
}

/// Restarts a crash-looping container when its back-off has passed, as a kubelet does.
fn restart_crashed(ctl: &mut Ctl, key: &ObjKey, pod: &Value, now: &str) {
    let Some(status) = meta::array_at(pod, &["status", "containerStatuses"])
        .iter()
        .find(|s| meta::str_at(s, &["state", "waiting", "reason"]) == Some("CrashLoopBackOff"))
    else {
        return;
    };
    let container = status["name"].as_str().unwrap_or("").to_string();
    let restarts = status["restartCount"].as_i64().unwrap_or(0);
    let since = *ctl
        .pod_since
        .entry(key.clone())
        .or_insert_with(Instant::now);
    let due = since + ctl.real(backoff(restarts));
    if Instant::now() < due {
        ctl.at(due, key);
        return;
    }
    let pod_id = format!("{}_{}({})", key.name, key.namespace, meta::uid(pod));
    let message = format!(
        "back-off {} restarting failed container={container} pod={pod_id}",
        go_duration(backoff(restarts + 1))
    );
    registry::edit(ctl.store(), key, |p| {
        let statuses = p["status"]["containerStatuses"].as_array_mut();
        for s in statuses
            .into_iter()
            .flatten()
            .filter(|s| s["name"] == container.as_str())
        {
            s["restartCount"] = json!(restarts + 1);
            s["state"]["waiting"]["message"] = json!(message);
            s["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}});
        }
    });
    ctl.pod_since.insert(key.clone(), Instant::now());
    let event = format!("Back-off restarting failed container {container} in pod {pod_id}");
    ctl.event(pod, "Warning", "BackOff", &event, "kubelet");
}

fn schedule(ctl: &mut Ctl, key: &ObjKey, pod: &Value, now: &str) {
    let written = registry::edit(ctl.store(), key, |p| {
        p["spec"]["nodeName"] = json!(NODE);
        p["status"] = json!({
            "phase": "Pending",
            "conditions": conditions(false, false, now),
            "hostIP": "10.0.0.2",
            "hostIPs": [{"ip": "10.0.0.2"}],
            "startTime": now,
            "qosClass": "BestEffort",
            "containerStatuses": container_statuses(pod, false, |_| {
                (json!({"waiting": {"reason": "ContainerCreating"}}), 0, None)
            }),
        });
    });
    if written.is_some() {
        let message = format!(
            "Successfully assigned {}/{} to {NODE}",
            key.namespace, key.name
        );
        ctl.event(pod, "Normal", "Scheduled", &message, "default-scheduler");
        ctl.pod_since.insert(key.clone(), Instant::now());
        ctl.after(ctl.settings().rollout, key);
    }
}

fn start(ctl: &mut Ctl, key: &ObjKey, pod: &Value, now: &str) {
    let blocked = blocked(ctl, pod);
    if !matches!(blocked, Some(Blocked::Config(_))) {
        ctl.config_blocked.remove(key);
    }
    match blocked {
        Some(Blocked::Config(message)) => config_missing(ctl, key, pod, &message),
        Some(Blocked::Image(ImageFailure::CrashLoopBackOff, container, _)) => {
            if !already_failing(pod, &container) {
                crash(ctl, key, pod, &container, now);
            }
        }
        Some(Blocked::Image(failure, container, failed_pulls)) => {
            let Some(failures) = ctl.attempt_due(key) else {
                return;
            };
            if failed_pulls.is_some_and(|n| failures >= n) {
                run(ctl, key, pod, now);
            } else {
                pull_failed(ctl, key, pod, failure, &container);
                ctl.attempt_failed(key, backoff(i64::from(failures) + 1));
            }
        }
        None => run(ctl, key, pod, now),
    }
}

/// A referenced ConfigMap or Secret (or key) is missing: the container cannot be created, and
/// the kubelet says so again after each back-off.
fn config_missing(ctl: &mut Ctl, key: &ObjKey, pod: &Value, message: &str) {
    ctl.config_blocked.insert(key.clone());
    let Some(failures) = ctl.attempt_due(key) else {
        return;
    };
    registry::edit(ctl.store(), key, |p| {
        p["status"]["containerStatuses"] = container_statuses(pod, false, |_| {
            (
                json!({"waiting": {"reason": "CreateContainerConfigError", "message": message}}),
                0,
                None,
            )
        });
    });
    ctl.event(
        pod,
        "Warning",
        "Failed",
        &format!("Error: {message}"),
        "kubelet",
    );
    ctl.attempt_failed(key, backoff(i64::from(failures) + 1));
}

/// The image of `pod`'s `container`.
fn image_of(pod: &Value, container: &str) -> String {
    meta::array_at(pod, &["spec", "containers"])
        .iter()
        .find(|c| c["name"] == container)
        .and_then(|c| c["image"].as_str())
        .unwrap_or("")
        .to_string()
}

/// One failed pull of `container`'s image, reported as a kubelet reports it.
fn pull_failed(ctl: &mut Ctl, key: &ObjKey, pod: &Value, failure: ImageFailure, container: &str) {
    let image = image_of(pod, container);
    let pull_error = format!(
        "failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": not found (simulated by kubesim)"
    );
    let backing_off = failure == ImageFailure::ImagePullBackOff;
    let (reason, message) = if backing_off {
        (
            "ImagePullBackOff",
            format!("Back-off pulling image \"{image}\": ErrImagePull: {pull_error}"),
        )
    } else {
        ("ErrImagePull", pull_error.clone())
    };
    let now = meta::now();
    registry::edit(ctl.store(), key, |p| {
        p["status"]["containerStatuses"] = container_statuses(pod, false, |c| {
            if c["name"] != container {
                return (json!({"running": {"startedAt": now}}), 0, None);
            }
            (
                json!({"waiting": {"reason": reason, "message": message}}),
                0,
                None,
            )
        });
    });
    let pulling = format!("Pulling image \"{image}\"");
    ctl.event(pod, "Normal", "Pulling", &pulling, "kubelet");
    let failed = format!("Failed to pull image \"{image}\": {pull_error}");
    ctl.event(pod, "Warning", "Failed", &failed, "kubelet");
    ctl.event(pod, "Warning", "Failed", "Error: ErrImagePull", "kubelet");
    if backing_off {
        let backoff = format!("Back-off pulling image \"{image}\"");
        ctl.event(pod, "Normal", "BackOff", &backoff, "kubelet");
        ctl.event(
            pod,
            "Warning",
            "Failed",
            "Error: ImagePullBackOff",
            "kubelet",
        );
    }
}

/// `container` starts and exits with an error: the pod runs, the container waits in
/// `CrashLoopBackOff` (restarted by [`restart_crashed`]).
fn crash(ctl: &mut Ctl, key: &ObjKey, pod: &Value, container: &str, now: &str) {
    let pod_id = format!("{}_{}({})", meta::name(pod), key.namespace, meta::uid(pod));
    let image = image_of(pod, container);
    let message = format!("back-off 10s restarting failed container={container} pod={pod_id}");
    registry::edit(ctl.store(), key, |p| {
        p["status"]["phase"] = json!("Running");
        p["status"]["podIP"] = json!(pod_ip(pod));
        p["status"]["podIPs"] = json!([{"ip": pod_ip(pod)}]);
        p["status"]["conditions"] = conditions(true, false, now);
        p["status"]["containerStatuses"] = container_statuses(pod, false, |c| {
            if c["name"] != container {
                return (json!({"running": {"startedAt": now}}), 0, None);
            }
            let last = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}});
            (
                json!({"waiting": {"reason": "CrashLoopBackOff", "message": message}}),
                1,
                Some(last),
            )
        });
    });
    ctl.pod_since.insert(key.clone(), Instant::now());
    container_started(ctl, pod, &image, container);
    ctl.event(
        pod,
        "Warning",
        "BackOff",
        &format!("Back-off restarting failed container {container} in pod {pod_id}"),
        "kubelet",
    );
}

/// Every container starts and is ready.
fn run(ctl: &mut Ctl, key: &ObjKey, pod: &Value, now: &str) {
    ctl.attempts_done(key);
    registry::edit(ctl.store(), key, |p| {
        p["status"]["phase"] = json!("Running");
        p["status"]["podIP"] = json!(pod_ip(pod));
        p["status"]["podIPs"] = json!([{"ip": pod_ip(pod)}]);
        p["status"]["conditions"] = conditions(true, true, now);
        p["status"]["containerStatuses"] = container_statuses(pod, true, |_| {
            (json!({"running": {"startedAt": now}}), 0, None)
        });
    });
    for c in meta::array_at(pod, &["spec", "containers"]) {
        let (name, image) = (
            c["name"].as_str().unwrap_or(""),
            c["image"].as_str().unwrap_or(""),
        );
        container_started(ctl, pod, image, name);
    }
    ctl.pod_since.insert(key.clone(), Instant::now());
    if job_owned(pod) {
        ctl.after(ctl.settings().rollout * 2, key);
    }
}

/// The events a kubelet records when it starts a container whose image is present.
fn container_started(ctl: &mut Ctl, pod: &Value, image: &str, container: &str) {
    let pulled = format!("Container image \"{image}\" already present on machine");
    ctl.event(pod, "Normal", "Pulled", &pulled, "kubelet");
    ctl.event(
        pod,
        "Normal",
        "Created",
        &format!("Created container: {container}"),
        "kubelet",
    );
    ctl.event(
        pod,
        "Normal",
        "Started",
        &format!("Started container {container}"),
        "kubelet",
    );
}

/// Whether `container` of `pod` already reports a failure (reported once, like a kubelet
/// between back-offs).
fn already_failing(pod: &Value, container: &str) -> bool {
    meta::array_at(pod, &["status", "containerStatuses"])
        .iter()
        .any(|s| {
            s["name"] == container
                && meta::str_at(s, &["state", "waiting", "reason"])
                    .is_some_and(|r| r != "ContainerCreating")
        })
}

fn complete(ctl: &mut Ctl, key: &ObjKey, pod: &Value, now: &str) {
    registry::edit(ctl.store(), key, |p| {
        p["status"]["phase"] = json!("Succeeded");
        p["status"]["conditions"] = conditions(false, false, now);
        p["status"]["containerStatuses"] = container_statuses(pod, false, |_| {
            (
                json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}}),
                0,
                None,
            )
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_loop_backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(1), 10.0);
        assert_eq!(backoff(3), 40.0);
        assert_eq!(backoff(9), 300.0);
        assert_eq!(go_duration(40.0), "40s");
        assert_eq!(go_duration(300.0), "5m0s");
    }
}
