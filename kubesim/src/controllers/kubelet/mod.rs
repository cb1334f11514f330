//! The simulated scheduler and kubelet. Every pod is scheduled onto the one node — unless a
//! PersistentVolumeClaim it mounts is missing or unbound, or an image rule makes it
//! `Unschedulable` — and `--rollout-ms` later its init containers run,
//! one step each and in order, then its containers start, running and ready; or they fail
//! the way a real kubelet reports it: image-rule failures (`ImagePullBackOff`,
//! `ErrImagePull`, `CrashLoopBackOff`, `OOMKilled`, a readiness probe that never passes) and
//! `CreateContainerConfigError` while a referenced ConfigMap or Secret (or key) is missing
//! ([`failures`]). A crashing container is restarted after the kubelet's back-off unless the
//! pod's `restartPolicy` is `Never`, when the pod fails. The pod's conditions are derived
//! from its container statuses ([`status`]). Pods owned by a Job complete (`Succeeded`) one
//! step after they start.

mod failures;
mod status;

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Ctl, NODE, config_refs, pod_ready, volumes};
use crate::config::ImageFailure;
use crate::meta;
use crate::registry;
use crate::store::ObjKey;
use status::{Container, Group, statuses};

/// The failure of the first image rule matching `container`'s image, with its number of
/// failing pulls.
fn rule_for(ctl: &Ctl, container: &Value) -> Option<(ImageFailure, Option<u32>)> {
    let image = container["image"].as_str().unwrap_or("");
    ctl.settings()
        .image_rules
        .iter()
        .find(|r| r.matches(image))
        .map(|r| (r.failure, r.failed_pulls))
}

/// Whether `container`'s image rule makes it fail with `failure`.
fn fails_with(ctl: &Ctl, container: &Value, failure: ImageFailure) -> bool {
    rule_for(ctl, container).is_some_and(|(f, _)| f == failure)
}

/// `pod`'s `group` containers, as its spec lists them.
fn containers(pod: &Value, group: Group) -> &[Value] {
    meta::array_at(pod, &["spec", group.spec()])
}

fn name_of(container: &Value) -> &str {
    container["name"].as_str().unwrap_or("")
}

/// The image of `pod`'s `container` (an app or init container).
fn image_of(pod: &Value, container: &str) -> String {
    [Group::Init, Group::App]
        .iter()
        .flat_map(|g| containers(pod, *g))
        .find(|c| c["name"] == container)
        .and_then(|c| c["image"].as_str())
        .unwrap_or("")
        .to_string()
}

/// `name_namespace(uid)`, as the kubelet names a pod in its messages.
fn pod_id(pod: &Value) -> String {
    format!(
        "{}_{}({})",
        meta::name(pod),
        meta::namespace(pod),
        meta::uid(pod)
    )
}

fn job_owned(pod: &Value) -> bool {
    meta::array_at(pod, &["metadata", "ownerReferences"])
        .iter()
        .any(|r| r["kind"] == "Job" && r["controller"] == true)
}

/// Whether a failed container is left failed rather than restarted.
fn restart_never(pod: &Value) -> bool {
    meta::str_at(pod, &["spec", "restartPolicy"]) == Some("Never")
}

fn pod_ip(pod: &Value) -> String {
    let hash = meta::short_hash(&json!(meta::uid(pod)));
    let n: u32 = hash
        .bytes()
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("10.244.{}.{}", (n >> 8) % 250, n % 250 + 2)
}

/// Edits `key` with `edit` and derives the pod's conditions from the status it leaves.
fn write(ctl: &Ctl, key: &ObjKey, edit: impl FnOnce(&mut Value)) -> Option<Arc<Value>> {
    let now = meta::now();
    registry::edit(ctl.store(), key, |p| {
        edit(p);
        let previous = meta::array_at(p, &["status", "conditions"]).to_vec();
        p["status"]["conditions"] = status::conditions(&p["status"], &previous, &now);
    })
}

/// `group`'s statuses with container `name` in `current`: init containers before it
/// completed and after it still waiting; the other app containers running and ready.
fn with_one(pod: &Value, group: Group, name: &str, current: &Container, now: &str) -> Value {
    let names: Vec<&str> = containers(pod, group).iter().map(name_of).collect();
    let index = |n: &str| names.iter().position(|m| *m == n).unwrap_or(0);
    let at = index(name);
    statuses(pod, group, |c| {
        let i = index(name_of(c));
        match group {
            _ if i == at => current.clone(),
            Group::Init if i < at => Container::completed(now),
            Group::Init => Container::waiting("PodInitializing", None),
            Group::App => Container::running(now, true),
        }
    })
}

pub fn reconcile(ctl: &mut Ctl, key: &ObjKey) {
    let Some(pod) = ctl.store().get(key) else {
        return;
    };
    if meta::at(&pod, &["metadata", "deletionTimestamp"]).is_some() {
        return;
    }
    let now = meta::now();
    let scheduled = meta::str_at(&pod, &["spec", "nodeName"]).is_some();
    match meta::str_at(&pod, &["status", "phase"]).unwrap_or("") {
        "" => schedule(ctl, key, &pod, &now),
        "Pending" if !scheduled => schedule(ctl, key, &pod, &now),
        "Pending" => {
            if failures::restart_crashed(ctl, key, &pod, Group::Init) {
                return;
            }
            // Unknown (after a restart): due now.
            let rollout = ctl.settings().rollout;
            let since = *ctl
                .since
                .entry(key.clone())
                .or_insert_with(|| Instant::now() - rollout);
            if Instant::now() < since + rollout {
                ctl.at(since + rollout, key);
                return;
            }
            match next_init(&pod) {
                Some(i) => init_step(ctl, key, &pod, i, &now),
                None => start(ctl, key, &pod, &now),
            }
        }
        "Running" if job_owned(&pod) && pod_ready(&pod) => {
            let since = *ctl.since.entry(key.clone()).or_insert_with(Instant::now);
            let due = since + ctl.settings().rollout * 2;
            if Instant::now() < due {
                ctl.at(due, key);
                return;
            }
            complete(ctl, key, &pod, &now);
        }
        "Running" if !failures::restart_crashed(ctl, key, &pod, Group::App) => {
            failures::probe(ctl, key, &pod);
        }
        _ => {}
    }
}

/// The longest back-off, in simulated seconds (the kubelet's five minutes).
const MAX_BACKOFF_SECS: f64 = 300.0;

/// The back-off before attempt number `attempts + 1` (10 s, doubling, at most 5 min).
fn backoff(attempts: i64) -> f64 {
    (10.0 * 2f64.powi(attempts.clamp(1, 10) as i32 - 1)).min(MAX_BACKOFF_SECS)
}

/// Go's rendering of a whole number of seconds (`40s`, `1m20s`, `5m0s`).
fn go_duration(secs: f64) -> String {
    let secs = secs.round() as u64;
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

/// The scheduler binds the pod to the node — or reports it unschedulable: while a
/// PersistentVolumeClaim it mounts is missing or unbound (tried again when claims change), or
/// when an image rule says no node fits.
fn schedule(ctl: &mut Ctl, key: &ObjKey, pod: &Value, now: &str) {
    if let Some(message) = volumes::unschedulable(ctl.store(), pod) {
        ctl.claim_blocked.insert(key.clone());
        failures::unschedulable(ctl, key, pod, &message, now);
        return;
    }
    ctl.claim_blocked.remove(key);
    let unschedulable = [Group::Init, Group::App]
        .iter()
        .flat_map(|g| containers(pod, *g))
        .any(|c| fails_with(ctl, c, ImageFailure::Unschedulable));
    if unschedulable {
        failures::unschedulable(ctl, key, pod, failures::UNSCHEDULABLE, now);
        return;
    }
    let initializing = !containers(pod, Group::Init).is_empty();
    let written = write(ctl, key, |p| {
        p["spec"]["nodeName"] = json!(NODE);
        p["status"] = json!({
            "phase": "Pending",
            "hostIP": "10.0.0.2",
            "hostIPs": [{"ip": "10.0.0.2"}],
            "startTime": now,
            "qosClass": "BestEffort",
            "containerStatuses": statuses(pod, Group::App, |_| {
                let reason = if initializing { "PodInitializing" } else { "ContainerCreating" };
                Container::waiting(reason, None)
            }),
        });
        if initializing {
            p["status"]["initContainerStatuses"] = statuses(pod, Group::Init, |_| {
                Container::waiting("PodInitializing", None)
            });
        }
    });
    if written.is_some() {
        let message = format!(
            "Successfully assigned {}/{} to {NODE}",
            key.namespace, key.name
        );
        ctl.event(pod, "Normal", "Scheduled", &message, "default-scheduler");
        ctl.since.insert(key.clone(), Instant::now());
        ctl.after(ctl.settings().rollout, key);
    }
}

/// The index of the first init container that has not completed.
fn next_init(pod: &Value) -> Option<usize> {
    let done = meta::array_at(pod, &["status", Group::Init.status()]);
    containers(pod, Group::Init).iter().position(|c| {
        !done
            .iter()
            .any(|s| s["name"] == c["name"] && status::completed(s))
    })
}

/// Init container `index` runs: it completes, or fails as its image rule says.
fn init_step(ctl: &mut Ctl, key: &ObjKey, pod: &Value, index: usize, now: &str) {
    let container = &containers(pod, Group::Init)[index];
    let name = name_of(container).to_string();
    match rule_for(ctl, container) {
        Some((failure, _)) if failure.crash_exit().is_some() => {
            failures::crash(ctl, key, pod, Group::Init, &name, failure, now);
        }
        Some((failure, failed_pulls)) if failure.is_pull() => {
            if failures::pull(ctl, key, pod, Group::Init, &name, failure, failed_pulls) {
                init_completed(ctl, key, pod, index, now);
            }
        }
        // Init containers have no readiness probe; scheduling was decided already.
        _ => init_completed(ctl, key, pod, index, now),
    }
}

/// Init container `index` ran to completion; the next one (or the app containers) start one
/// step later.
fn init_completed(ctl: &mut Ctl, key: &ObjKey, pod: &Value, index: usize, now: &str) {
    ctl.attempts_done(key);
    let inits = containers(pod, Group::Init);
    let name = name_of(&inits[index]);
    // The app containers keep waiting in `PodInitializing` until they start.
    write(ctl, key, |p| {
        p["status"][Group::Init.status()] =
            with_one(pod, Group::Init, name, &Container::completed(now), now);
    });
    container_started(ctl, pod, name);
    ctl.since.insert(key.clone(), Instant::now());
    ctl.after(ctl.settings().rollout, key);
}

/// The app containers start, or fail as a missing ConfigMap or their image rule says.
fn start(ctl: &mut Ctl, key: &ObjKey, pod: &Value, now: &str) {
    if let Some(message) = config_refs::first_missing(ctl.store(), pod) {
        failures::config_missing(ctl, key, pod, &message);
        return;
    }
    ctl.config_blocked.remove(key);
    let failing = containers(pod, Group::App).iter().find_map(|c| {
        rule_for(ctl, c)
            .filter(|(f, _)| f.is_pull() || f.crash_exit().is_some())
            .map(|(f, n)| (name_of(c).to_string(), f, n))
    });
    match failing {
        Some((name, failure, _)) if failure.crash_exit().is_some() => {
            if !already_failing(pod, &name) {
                failures::crash(ctl, key, pod, Group::App, &name, failure, now);
            }
        }
        Some((name, failure, failed_pulls)) => {
            if failures::pull(ctl, key, pod, Group::App, &name, failure, failed_pulls) {
                run(ctl, key, pod, now);
            }
        }
        None => run(ctl, key, pod, now),
    }
}

/// Every app container starts; each is ready unless its readiness probe fails (`NotReady`).
fn run(ctl: &mut Ctl, key: &ObjKey, pod: &Value, now: &str) {
    ctl.attempts_done(key);
    let unready: Vec<String> = containers(pod, Group::App)
        .iter()
        .filter(|c| fails_with(ctl, c, ImageFailure::NotReady))
        .map(|c| name_of(c).to_string())
        .collect();
    write(ctl, key, |p| {
        p["status"]["phase"] = json!("Running");
        p["status"]["podIP"] = json!(pod_ip(pod));
        p["status"]["podIPs"] = json!([{"ip": pod_ip(pod)}]);
        p["status"][Group::App.status()] = statuses(pod, Group::App, |c| {
            Container::running(now, !unready.iter().any(|n| c["name"] == n.as_str()))
        });
    });
    for c in containers(pod, Group::App) {
        container_started(ctl, pod, name_of(c));
    }
    ctl.since.insert(key.clone(), Instant::now());
    if job_owned(pod) {
        ctl.after(ctl.settings().rollout * 2, key);
    }
}

/// The events a kubelet records when it starts a container whose image is present.
fn container_started(ctl: &mut Ctl, pod: &Value, container: &str) {
    let image = image_of(pod, container);
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
    meta::array_at(pod, &["status", Group::App.status()])
        .iter()
        .any(|s| {
            s["name"] == container
                && meta::str_at(s, &["state", "waiting", "reason"])
                    .is_some_and(|r| r != "ContainerCreating")
        })
}

/// A Job's pod ran to completion.
fn complete(ctl: &mut Ctl, key: &ObjKey, pod: &Value, now: &str) {
    write(ctl, key, |p| {
        p["status"]["phase"] = json!("Succeeded");
        p["status"][Group::App.status()] = statuses(pod, Group::App, |_| {
            Container::terminated(0, "Completed", now)
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(1), 10.0);
        assert_eq!(backoff(3), 40.0);
        assert_eq!(backoff(9), 300.0);
        assert_eq!(go_duration(40.0), "40s");
        assert_eq!(go_duration(300.0), "5m0s");
    }

    #[test]
    fn the_next_init_container_is_the_first_not_completed() {
        let pod = json!({"spec": {"initContainers": [{"name": "a"}, {"name": "b"}]},
            "status": {"initContainerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 0}}},
                {"name": "b", "state": {"waiting": {"reason": "PodInitializing"}}}]}});
        assert_eq!(next_init(&pod), Some(1));
        assert_eq!(next_init(&json!({"spec": {}})), None);
    }
}
