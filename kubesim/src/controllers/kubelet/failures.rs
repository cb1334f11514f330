//! How pods fail, as the scheduler and the kubelet report it: a pod no node fits
//! (`FailedScheduling`), failed image pulls, containers that crash (exit 1, `Error`) or are
//! killed for memory (exit 137, `OOMKilled`) and are restarted after a back-off — or fail the
//! pod when its `restartPolicy` is `Never` —, readiness probes that fail (`Unhealthy`), and
//! missing ConfigMaps or Secrets (`CreateContainerConfigError`). Each repeated report is
//! counted on its Event, as the real recorders count them.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::status::{self, Container, Group, statuses};
use super::{
    Ctl, backoff, container_started, containers, fails_with, go_duration, image_of, name_of,
    pod_id, restart_never, with_one, write,
};
use crate::config::ImageFailure;
use crate::meta;
use crate::registry;
use crate::store::ObjKey;

/// What the scheduler says of a pod whose resource requests no node can meet.
pub const UNSCHEDULABLE: &str = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";

/// The readiness probe's failure, as the kubelet words it.
pub const PROBE_FAILED: &str = "Readiness probe failed: HTTP probe failed with statuscode: 503";

/// The probe period when the container declares none (`periodSeconds`).
const DEFAULT_PROBE_PERIOD_SECS: f64 = 10.0;

/// No node fits the pod: it stays `Pending` and unbound, and the scheduler says why
/// (`message`) again after each back-off (10 s, doubling, at most 5 min: its flush of
/// unschedulable pods).
pub fn unschedulable(ctl: &mut Ctl, key: &ObjKey, pod: &Value, message: &str, now: &str) {
    let Some(attempts) = ctl.attempt_due(key) else {
        return;
    };
    registry::edit(ctl.store(), key, |p| {
        let since = meta::array_at(p, &["status", "conditions"])
            .iter()
            .find(|c| c["type"] == "PodScheduled" && c["reason"] == "Unschedulable")
            .map_or_else(|| json!(now), |c| c["lastTransitionTime"].clone());
        p["status"] = json!({
            "phase": "Pending",
            "conditions": [{
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": null,
                "lastTransitionTime": since,
                "reason": "Unschedulable",
                "message": message,
            }],
            "qosClass": "BestEffort",
        });
    });
    ctl.event(
        pod,
        "Warning",
        "FailedScheduling",
        message,
        "default-scheduler",
    );
    ctl.attempt_failed(key, backoff(i64::from(attempts) + 1));
}

/// One attempt to pull `container`'s image, which the rule fails `failed_pulls` times (or
/// always). Returns whether the image is there now; otherwise the failure is reported and the
/// pull tried again after the back-off.
pub fn pull(
    ctl: &mut Ctl,
    key: &ObjKey,
    pod: &Value,
    group: Group,
    container: &str,
    failure: ImageFailure,
    failed_pulls: Option<u32>,
) -> bool {
    let Some(failures) = ctl.attempt_due(key) else {
        return false;
    };
    if failed_pulls.is_some_and(|n| failures >= n) {
        return true;
    }
    pull_failed(ctl, key, pod, group, failure, container);
    ctl.attempt_failed(key, backoff(i64::from(failures) + 1));
    false
}

/// One failed pull of `container`'s image, reported as a kubelet reports it.
fn pull_failed(
    ctl: &mut Ctl,
    key: &ObjKey,
    pod: &Value,
    group: Group,
    failure: ImageFailure,
    container: &str,
) {
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
    let waiting = Container::waiting(reason, Some(&message));
    write(ctl, key, |p| {
        p["status"][group.status()] = with_one(pod, group, container, &waiting, &now);
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

/// The kubelet's message for a container waiting out its crash-loop back-off.
fn backoff_message(secs: f64, container: &str, pod: &Value) -> String {
    format!(
        "back-off {} restarting failed container={container} pod={}",
        go_duration(secs),
        pod_id(pod)
    )
}

/// The `BackOff` event of a crash-looping container.
fn backoff_event(ctl: &mut Ctl, pod: &Value, container: &str) {
    let message = format!(
        "Back-off restarting failed container {container} in pod {}",
        pod_id(pod)
    );
    ctl.event(pod, "Warning", "BackOff", &message, "kubelet");
}

/// `container` starts and ends as `failure` says (exit 1 `Error`, or 137 `OOMKilled`). With
/// `restartPolicy: Never` the pod fails; otherwise the container waits in `CrashLoopBackOff`
/// (restarted by [`restart_crashed`]), the pod `Running` — or still `Pending` for an init
/// container.
pub fn crash(
    ctl: &mut Ctl,
    key: &ObjKey,
    pod: &Value,
    group: Group,
    container: &str,
    failure: ImageFailure,
    now: &str,
) {
    let (exit_code, reason) = failure.crash_exit().unwrap_or((1, "Error"));
    let ended = status::terminated(exit_code, reason, now);
    let never = restart_never(pod);
    write(ctl, key, |p| {
        if never {
            p["status"]["phase"] = json!("Failed");
            let dead = Container::terminated(exit_code, reason, now);
            p["status"][group.status()] = match group {
                Group::Init => with_one(pod, group, container, &dead, now),
                // The pod is over: its other containers have ended too.
                Group::App => statuses(pod, group, |c| {
                    if name_of(c) == container {
                        dead.clone()
                    } else {
                        Container::terminated(0, "Completed", now)
                    }
                }),
            };
            return;
        }
        if group == Group::App {
            p["status"]["phase"] = json!("Running");
            p["status"]["podIP"] = json!(super::pod_ip(pod));
            p["status"]["podIPs"] = json!([{"ip": super::pod_ip(pod)}]);
        }
        let message = backoff_message(backoff(1), container, pod);
        let waiting = Container::waiting("CrashLoopBackOff", Some(&message))
            .restarted(1, Some(json!({ "terminated": ended })));
        p["status"][group.status()] = with_one(pod, group, container, &waiting, now);
    });
    ctl.since.insert(key.clone(), Instant::now());
    container_started(ctl, pod, container);
    if !never {
        backoff_event(ctl, pod, container);
    }
}

/// Restarts a crash-looping container of `group` when its back-off has passed, as a kubelet
/// does; the new instance ends as the last one did. Returns whether one is crash-looping.
pub fn restart_crashed(ctl: &mut Ctl, key: &ObjKey, pod: &Value, group: Group) -> bool {
    let Some(status) = meta::array_at(pod, &["status", group.status()])
        .iter()
        .find(|s| meta::str_at(s, &["state", "waiting", "reason"]) == Some("CrashLoopBackOff"))
    else {
        return false;
    };
    let container = status["name"].as_str().unwrap_or("").to_string();
    let restarts = status["restartCount"].as_i64().unwrap_or(0);
    let since = *ctl.since.entry(key.clone()).or_insert_with(Instant::now);
    let due = since + ctl.real(backoff(restarts));
    if Instant::now() < due {
        ctl.at(due, key);
        return true;
    }
    let now = meta::now();
    let last = &status["lastState"]["terminated"];
    let ended = status::terminated(
        last["exitCode"].as_i64().unwrap_or(1),
        last["reason"].as_str().unwrap_or("Error"),
        &now,
    );
    let message = backoff_message(backoff(restarts + 1), &container, pod);
    registry::edit(ctl.store(), key, |p| {
        let statuses = p["status"][group.status()].as_array_mut();
        for s in statuses
            .into_iter()
            .flatten()
            .filter(|s| s["name"] == container.as_str())
        {
            s["restartCount"] = json!(restarts + 1);
            s["state"]["waiting"]["message"] = json!(message);
            s["lastState"] = json!({ "terminated": ended });
        }
    });
    ctl.since.insert(key.clone(), Instant::now());
    backoff_event(ctl, pod, &container);
    true
}

/// The readiness probes of `NotReady` containers fail again each period (`periodSeconds`,
/// 10 s by default, simulated).
pub fn probe(ctl: &mut Ctl, key: &ObjKey, pod: &Value) {
    let failing: Vec<&Value> = containers(pod, Group::App)
        .iter()
        .filter(|c| fails_with(ctl, c, ImageFailure::NotReady))
        .collect();
    let Some(first) = failing.first() else {
        return;
    };
    let period = meta::at(first, &["readinessProbe", "periodSeconds"])
        .and_then(Value::as_f64)
        .filter(|p| *p > 0.0)
        .unwrap_or(DEFAULT_PROBE_PERIOD_SECS);
    if ctl.attempt_due(key).is_none() {
        return;
    }
    for _ in &failing {
        ctl.event(pod, "Warning", "Unhealthy", PROBE_FAILED, "kubelet");
    }
    ctl.attempt_failed(key, period);
}

/// A referenced ConfigMap or Secret (or key) is missing: the container cannot be created, and
/// the kubelet says so again after each back-off.
pub fn config_missing(ctl: &mut Ctl, key: &ObjKey, pod: &Value, message: &str) {
    ctl.config_blocked.insert(key.clone());
    let Some(failures) = ctl.attempt_due(key) else {
        return;
    };
    write(ctl, key, |p| {
        p["status"][Group::App.status()] = statuses(pod, Group::App, |_| {
            Container::waiting("CreateContainerConfigError", Some(message))
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
