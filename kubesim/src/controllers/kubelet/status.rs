//! The pod status the simulated kubelet writes: each container's status, and the pod
//! conditions derived from them as the kubelet's status manager derives them
//! (`PodReadyToStartContainers`, `Initialized`, `Ready`, `ContainersReady`, `PodScheduled`,
//! with `ContainersNotInitialized` / `ContainersNotReady` and the names of the containers
//! holding the pod back). Nothing here decides what happens to a pod.

use serde_json::{Value, json};

use crate::meta;

/// Which containers of a pod: the init containers or the app containers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Init,
    App,
}

impl Group {
    /// The field of the pod spec listing them.
    pub fn spec(self) -> &'static str {
        match self {
            Group::Init => "initContainers",
            Group::App => "containers",
        }
    }

    /// The field of the pod status reporting them.
    pub fn status(self) -> &'static str {
        match self {
            Group::Init => "initContainerStatuses",
            Group::App => "containerStatuses",
        }
    }
}

/// One container's status: its state, readiness, restart count and last state.
#[derive(Clone, Debug)]
pub struct Container {
    pub state: Value,
    pub ready: bool,
    pub restarts: i64,
    pub last: Option<Value>,
}

impl Container {
    /// Waiting for `reason`, with an optional message.
    pub fn waiting(reason: &str, message: Option<&str>) -> Self {
        let mut waiting = json!({"reason": reason});
        if let Some(message) = message {
            waiting["message"] = json!(message);
        }
        Self::new(json!({ "waiting": waiting }), false)
    }

    /// Running since `now`, ready or not.
    pub fn running(now: &str, ready: bool) -> Self {
        Self::new(json!({"running": {"startedAt": now}}), ready)
    }

    /// Ended with `exit_code` and `reason` at `now`.
    pub fn terminated(exit_code: i64, reason: &str, now: &str) -> Self {
        Self::new(
            json!({ "terminated": terminated(exit_code, reason, now) }),
            false,
        )
    }

    /// An init container that ran to completion (ready, as the kubelet reports it).
    pub fn completed(now: &str) -> Self {
        let mut done = Self::terminated(0, "Completed", now);
        done.ready = true;
        done
    }

    fn new(state: Value, ready: bool) -> Self {
        Self {
            state,
            ready,
            restarts: 0,
            last: None,
        }
    }

    /// With `restarts` restarts, the previous instance ended as `last`.
    pub fn restarted(mut self, restarts: i64, last: Option<Value>) -> Self {
        self.restarts = restarts;
        self.last = last;
        self
    }
}

/// The `terminated` state of an instance that ended with `exit_code` and `reason` at `now`.
pub fn terminated(exit_code: i64, reason: &str, now: &str) -> Value {
    json!({"exitCode": exit_code, "reason": reason, "startedAt": now, "finishedAt": now})
}

/// The statuses of `pod`'s `group` containers: `status` gives each one's.
pub fn statuses(pod: &Value, group: Group, status: impl Fn(&Value) -> Container) -> Value {
    meta::array_at(pod, &["spec", group.spec()])
        .iter()
        .map(|c| {
            let Container {
                state,
                ready,
                restarts,
                last,
            } = status(c);
            let running = state.get("running").is_some();
            let ran = running || state.get("terminated").is_some() || last.is_some();
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
            if ran {
                status["containerID"] = json!(format!(
                    "containerd://{}",
                    meta::short_hash(&json!([meta::uid(pod), c["name"], restarts]))
                ));
            }
            status
        })
        .collect()
}

/// Whether a container status says the container ran to completion.
pub fn completed(status: &Value) -> bool {
    meta::i64_at(status, &["state", "terminated", "exitCode"]) == Some(0)
}

/// Whether the pod's containers still wait to be created (nothing has happened on the node).
fn untouched(status: &Value) -> bool {
    [Group::Init, Group::App].iter().all(|g| {
        meta::array_at(status, &[g.status()]).iter().all(|s| {
            matches!(
                meta::str_at(s, &["state", "waiting", "reason"]),
                Some("ContainerCreating" | "PodInitializing")
            )
        })
    })
}

/// `[a b]`: Go's rendering of a list of names, as condition messages carry it.
fn go_list(names: &[&str]) -> String {
    format!("[{}]", names.join(" "))
}

/// One condition, its transition time kept from `previous` when its status is unchanged.
fn condition(
    kind: &str,
    ok: bool,
    reason_message: Option<(&str, Option<String>)>,
    previous: &[Value],
    now: &str,
) -> Value {
    let status = if ok { "True" } else { "False" };
    let since = previous
        .iter()
        .find(|c| c["type"] == kind && c["status"] == status)
        .map_or_else(|| json!(now), |c| c["lastTransitionTime"].clone());
    let mut condition =
        json!({"type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": since});
    if let Some((reason, message)) = reason_message {
        condition["reason"] = json!(reason);
        if let Some(message) = message {
            condition["message"] = json!(message);
        }
    }
    condition
}

/// The conditions of a scheduled pod whose status is `status`, as the kubelet derives them.
pub fn conditions(status: &Value, previous: &[Value], now: &str) -> Value {
    let phase = meta::str_at(status, &["phase"]).unwrap_or("Pending");
    let succeeded = phase == "Succeeded";
    let names = |group: Group, keep: fn(&Value) -> bool| -> Vec<&str> {
        meta::array_at(status, &[group.status()])
            .iter()
            .filter(|s| keep(s))
            .filter_map(|s| s["name"].as_str())
            .collect()
    };
    let incomplete = names(Group::Init, |s| !completed(s));
    let unready = names(Group::App, |s| s["ready"] != true);
    let sandbox = phase == "Running" || (phase == "Pending" && !untouched(status));
    let initialized = if !incomplete.is_empty() {
        let message = format!(
            "containers with incomplete status: {}",
            go_list(&incomplete)
        );
        Some(("ContainersNotInitialized", Some(message)))
    } else if succeeded {
        Some(("PodCompleted", None))
    } else {
        None
    };
    let ready = if unready.is_empty() {
        None
    } else if succeeded {
        Some(("PodCompleted", None))
    } else {
        let message = format!("containers with unready status: {}", go_list(&unready));
        Some(("ContainersNotReady", Some(message)))
    };
    json!([
        condition("PodReadyToStartContainers", sandbox, None, previous, now),
        condition(
            "Initialized",
            incomplete.is_empty(),
            initialized,
            previous,
            now
        ),
        condition("Ready", unready.is_empty(), ready.clone(), previous, now),
        condition("ContainersReady", unready.is_empty(), ready, previous, now),
        condition("PodScheduled", true, None, previous, now),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_type<'a>(conditions: &'a Value, kind: &str) -> &'a Value {
        conditions
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == kind)
            .unwrap()
    }

    #[test]
    fn conditions_name_the_containers_holding_the_pod_back() {
        let status = json!({"phase": "Pending",
            "initContainerStatuses": [
                {"name": "migrate", "ready": false, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
            "containerStatuses": [
                {"name": "api", "ready": false, "state": {"waiting": {"reason": "PodInitializing"}}},
                {"name": "proxy", "ready": false, "state": {"waiting": {"reason": "PodInitializing"}}}]});
        let conditions = conditions(&status, &[], "t");
        let initialized = by_type(&conditions, "Initialized");
        assert_eq!(initialized["status"], "False");
        assert_eq!(initialized["reason"], "ContainersNotInitialized");
        assert_eq!(
            initialized["message"],
            "containers with incomplete status: [migrate]"
        );
        let ready = by_type(&conditions, "Ready");
        assert_eq!(ready["reason"], "ContainersNotReady");
        assert_eq!(
            ready["message"],
            "containers with unready status: [api proxy]"
        );
        assert_eq!(
            by_type(&conditions, "PodReadyToStartContainers")["status"],
            "True"
        );
    }

    #[test]
    fn ready_pods_have_no_reasons_and_keep_transition_times() {
        let status = json!({"phase": "Running",
            "containerStatuses": [{"name": "api", "ready": true, "state": {"running": {}}}]});
        let first = conditions(&status, &[], "t1");
        let again = conditions(&status, first.as_array().unwrap(), "t2");
        assert_eq!(first, again);
        let ready = by_type(&again, "Ready");
        assert_eq!(
            (&ready["status"], ready.get("reason")),
            (&json!("True"), None)
        );
        let done = json!({"phase": "Succeeded",
            "containerStatuses": [{"name": "api", "ready": false, "state": {"terminated": {"exitCode": 0}}}]});
        let done = conditions(&done, again.as_array().unwrap(), "t3");
        assert_eq!(by_type(&done, "Ready")["reason"], "PodCompleted");
        assert_eq!(by_type(&done, "Ready")["lastTransitionTime"], "t3");
        assert_eq!(
            by_type(&done, "PodReadyToStartContainers")["status"],
            "False"
        );
    }
}
