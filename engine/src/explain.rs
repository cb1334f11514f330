//! Explaining a failed rollout in one line a person understands, with the supporting facts:
//! the new pods' waiting reasons and messages (init containers named as such), the scheduler's
//! message for pods it cannot place, how a crashing container last ended (exit code, reason
//! such as `OOMKilled`, signal), quota refusals, the last readiness-probe failure of pods that
//! run but never become ready, how a failed Job's pod ended, recent warning events and the last
//! lines of the failing container's log and of its previous instance.

use serde_json::Value;

/// What the engine observed about a failing workload.
#[derive(Debug, Clone, Default)]
pub struct Observation<'a> {
    /// `Kind/name` of the workload, e.g. `Deployment/api`.
    pub workload: String,
    /// The workload's new pods.
    pub pods: &'a [Value],
    /// Events about the workload, its ReplicaSets and pods, oldest first.
    pub events: &'a [Value],
    /// The last lines of the failing container's log, when they could be read.
    pub log_tail: &'a [String],
    /// The last lines of that container's previous instance's log, when it restarted: a crash
    /// loop's cause is there.
    pub previous_log: &'a [String],
    /// The reason the rollout verdict gave, e.g. `ProgressDeadlineExceeded`.
    pub verdict_reason: Option<&'a str>,
    /// The message that came with it, e.g. `Job has reached the specified backoff limit`.
    pub verdict_message: Option<&'a str>,
}

/// The explanation: one line and the details behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub reason: String,
    pub details: Vec<String>,
}

/// Waiting reasons that mean a container will not start by itself.
const STUCK: [&str; 7] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// A container of a pod stuck in one of the [`STUCK`] reasons.
struct Stuck<'a> {
    pod: &'a str,
    /// `container` or `init container`.
    role: &'static str,
    container: &'a str,
    image: &'a str,
    reason: &'a str,
    message: &'a str,
    restarts: i64,
    /// How the container's previous instance ended, e.g. `exit code 137 (OOMKilled)`.
    last_end: Option<String>,
}

/// `exit code 137 (OOMKilled)`, `signal 9`: how a terminated state says a container ended.
fn termination(terminated: &Value) -> Option<String> {
    let terminated = terminated.as_object()?;
    let mut text = match (terminated.get("exitCode"), terminated.get("signal")) {
        (_, Some(signal)) if signal.as_i64().is_some_and(|s| s != 0) => format!("signal {signal}"),
        (Some(code), _) => format!("exit code {code}"),
        _ => "ended".to_owned(),
    };
    if let Some(reason) = terminated.get("reason").and_then(Value::as_str) {
        text.push_str(&format!(" ({reason})"));
    }
    Some(text)
}

/// Every container status of `pods`, init containers first: `(pod name, role, status)`, the
/// role being `init container` or `container`.
fn statuses(pods: &[Value]) -> impl Iterator<Item = (&str, &'static str, &Value)> {
    pods.iter().flat_map(|pod| {
        let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
        [
            ("initContainerStatuses", "init container"),
            ("containerStatuses", "container"),
        ]
        .into_iter()
        .flat_map(move |(list, role)| {
            pod["status"][list]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |status| (pod_name, role, status))
        })
    })
}

fn stuck_containers(pods: &[Value]) -> Vec<Stuck<'_>> {
    statuses(pods)
        .filter_map(|(pod, role, status)| {
            let waiting = &status["state"]["waiting"];
            let reason = waiting["reason"].as_str().unwrap_or_default();
            STUCK.contains(&reason).then(|| Stuck {
                pod,
                role,
                container: status["name"].as_str().unwrap_or_default(),
                image: status["image"].as_str().unwrap_or_default(),
                reason,
                message: waiting["message"].as_str().unwrap_or_default(),
                restarts: status["restartCount"].as_i64().unwrap_or(0),
                last_end: termination(&status["lastState"]["terminated"]),
            })
        })
        .collect()
}

/// The one-line reason and the details for `observation`.
pub fn explain(observation: &Observation<'_>) -> Explanation {
    let workload = &observation.workload;
    let stuck = stuck_containers(observation.pods);
    let mut details: Vec<String> = stuck
        .iter()
        .map(|s| {
            let message = if s.message.is_empty() {
                String::new()
            } else {
                format!(": {}", s.message)
            };
            let ended = s
                .last_end
                .as_ref()
                .map(|end| format!(" (last ended: {end})"))
                .unwrap_or_default();
            format!(
                "pod {} {} {}: {}{message}{ended}",
                s.pod, s.role, s.container, s.reason
            )
        })
        .collect();
    let warnings: Vec<&Value> = observation
        .events
        .iter()
        .filter(|e| e["type"] == "Warning")
        .collect();
    let quota = warnings.iter().find(|e| {
        e["reason"] == "FailedCreate" && e["message"].as_str().is_some_and(|m| m.contains("quota"))
    });
    for event in warnings.iter().rev().take(5).rev() {
        let object = event["involvedObject"]["name"].as_str().unwrap_or_default();
        details.push(format!(
            "event {} on {object}: {}",
            event["reason"].as_str().unwrap_or_default(),
            event["message"].as_str().unwrap_or_default()
        ));
    }
    if !observation.log_tail.is_empty() {
        details.push(format!(
            "last log lines:\n{}",
            observation.log_tail.join("\n")
        ));
    }
    if !observation.previous_log.is_empty() {
        details.push(format!(
            "last log lines before the last restart:\n{}",
            observation.previous_log.join("\n")
        ));
    }

    let unscheduled = unscheduled_pods(observation.pods);
    if let Some((pod, message)) = unscheduled.first() {
        details.push(format!("pod {pod}: Unschedulable: {message}"));
    }
    let unready = unready_pods(observation.pods, &warnings);
    if let Some((pod, message)) = unready.first() {
        details.push(format!("pod {pod} is not ready: {message}"));
    }
    let failed = failed_containers(observation.pods);
    for failure in failed.iter().take(3) {
        details.push(format!(
            "pod {} container {}: {}",
            failure.pod, failure.container, failure.end
        ));
    }

    let verdict = observation
        .verdict_reason
        .map(|reason| format!(" ({reason})"))
        .unwrap_or_default();
    let reason = if let Some(first) = stuck.first() {
        stuck_reason(workload, &stuck, first)
    } else if let Some((pod, message)) = unscheduled.first() {
        let more = and_more(unscheduled.len());
        format!("{workload}: pod {pod}{more} cannot be scheduled: {message} (Unschedulable)")
    } else if let Some(event) = quota {
        format!(
            "{workload}: pods cannot be created: {}",
            event["message"].as_str().unwrap_or_default()
        )
    } else if let (Some(failure), Some(message)) = (failed.first(), observation.verdict_message)
        && workload.starts_with("Job/")
    {
        format!(
            "{workload} failed: {message}{verdict} — pod {} container {}: {}",
            failure.pod, failure.container, failure.end
        )
    } else if let Some((pod, message)) = unready.first() {
        let more = and_more(unready.len());
        format!("{workload}: pod {pod}{more} runs but never became ready: {message}{verdict}")
    } else if observation.verdict_reason == Some("ProgressDeadlineExceeded") {
        format!("{workload}: the rollout exceeded its progress deadline (ProgressDeadlineExceeded)")
    } else if let (Some(reason), Some(message)) =
        (observation.verdict_reason, observation.verdict_message)
        && !message.is_empty()
    {
        format!("{workload}: the rollout failed: {message} ({reason})")
    } else if let Some(reason) = observation.verdict_reason {
        format!("{workload}: the rollout failed ({reason})")
    } else {
        format!("{workload}: the rollout did not complete in time")
    };
    Explanation { reason, details }
}

/// The one line for stuck containers, named after the first.
fn stuck_reason(workload: &str, stuck: &[Stuck<'_>], first: &Stuck<'_>) -> String {
    let pods = count_pods(stuck, first.reason);
    let (role, container, pod) = (first.role, first.container, first.pod);
    match first.reason {
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" => format!(
            "{workload}: image {} cannot be pulled ({}) — pod {pod}{pods}",
            first.image, first.reason
        ),
        "CrashLoopBackOff" => {
            let last = first
                .last_end
                .as_ref()
                .map(|end| format!(", last {end}"))
                .unwrap_or_default();
            let restarts =
                crate::wording::counted(usize::try_from(first.restarts).unwrap_or(0), "restart");
            format!(
                "{workload}: {role} {container} keeps crashing (CrashLoopBackOff, {restarts}{last}) — pod {pod}{pods}"
            )
        }
        "CreateContainerConfigError" => format!(
            "{workload}: pod {pod} cannot start: {} (CreateContainerConfigError){pods}",
            if first.message.is_empty() {
                "a referenced ConfigMap or Secret is missing"
            } else {
                first.message
            }
        ),
        other => format!("{workload}: {role} {container} cannot start ({other}) — pod {pod}{pods}"),
    }
}

/// ` and N more` for `count` pods named by their first.
fn and_more(count: usize) -> String {
    match count {
        0 | 1 => String::new(),
        n => format!(" and {} more", n - 1),
    }
}

/// The pods that run but are not ready, each with the last readiness-probe failure among
/// `warnings` about it (or, without one, the kubelet's `Ready` condition message).
fn unready_pods<'a>(pods: &'a [Value], warnings: &[&'a Value]) -> Vec<(&'a str, &'a str)> {
    pods.iter()
        .filter(|pod| pod["status"]["phase"] == "Running")
        .filter_map(|pod| {
            let ready = pod["status"]["conditions"]
                .as_array()?
                .iter()
                .find(|c| c["type"] == "Ready")?;
            if ready["status"] != "False" {
                return None;
            }
            let name = pod["metadata"]["name"].as_str().unwrap_or_default();
            let probe = warnings.iter().rev().find_map(|e| {
                let message = e["message"].as_str()?;
                (e["reason"] == "Unhealthy"
                    && e["involvedObject"]["name"] == name
                    && message.starts_with("Readiness probe failed"))
                .then_some(message)
            });
            let message = probe.or_else(|| ready["message"].as_str()).unwrap_or("");
            Some((name, message))
        })
        .collect()
}

/// A container that ended in failure (a failed Job's pods).
struct Failed<'a> {
    pod: &'a str,
    container: &'a str,
    /// How it ended, e.g. `exit code 1 (Error)`.
    end: String,
}

/// The containers of `pods` whose last instance ended with a non-zero exit code or a signal.
fn failed_containers(pods: &[Value]) -> Vec<Failed<'_>> {
    statuses(pods)
        .filter_map(|(pod, _, status)| {
            let terminated = &status["state"]["terminated"];
            let failed = terminated["exitCode"].as_i64().is_some_and(|c| c != 0)
                || terminated["signal"].as_i64().is_some_and(|s| s != 0);
            Some(Failed {
                pod,
                container: status["name"].as_str().unwrap_or_default(),
                end: termination(terminated).filter(|_| failed)?,
            })
        })
        .collect()
}

/// The pods the scheduler cannot place, with its message (`0/3 nodes are available: 3
/// Insufficient cpu.`).
fn unscheduled_pods(pods: &[Value]) -> Vec<(&str, &str)> {
    pods.iter()
        .filter_map(|pod| {
            let scheduled = pod["status"]["conditions"]
                .as_array()?
                .iter()
                .find(|c| c["type"] == "PodScheduled")?;
            (scheduled["status"] == "False" && scheduled["reason"] == "Unschedulable").then(|| {
                (
                    pod["metadata"]["name"].as_str().unwrap_or_default(),
                    scheduled["message"].as_str().unwrap_or_default(),
                )
            })
        })
        .collect()
}

fn count_pods(stuck: &[Stuck<'_>], reason: &str) -> String {
    let mut pods: Vec<&str> = stuck
        .iter()
        .filter(|s| s.reason == reason)
        .map(|s| s.pod)
        .collect();
    pods.dedup();
    and_more(pods.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, reason: &str, message: &str) -> Value {
        json!({"metadata": {"name": name}, "status": {"containerStatuses": [
            {"name": "server", "image": "ghcr.io/acme/api:v2", "restartCount": 4,
             "state": {"waiting": {"reason": reason, "message": message}}}]}})
    }

    #[test]
    fn image_pull_failures_name_the_image_and_pod() {
        let pods = [
            pod(
                "api-7d-x1",
                "ImagePullBackOff",
                "Back-off pulling image \"ghcr.io/acme/api:v2\"",
            ),
            pod("api-7d-x2", "ImagePullBackOff", ""),
        ];
        let events = [
            json!({"type": "Warning", "reason": "Failed", "message": "Failed to pull image", "involvedObject": {"name": "api-7d-x1"}}),
        ];
        let explanation = explain(&Observation {
            workload: "Deployment/api".into(),
            pods: &pods,
            events: &events,
            ..Default::default()
        });
        assert_eq!(
            explanation.reason,
            "Deployment/api: image ghcr.io/acme/api:v2 cannot be pulled (ImagePullBackOff) — pod api-7d-x1 and 1 more"
        );
        assert!(explanation.details[0].contains("Back-off pulling image"));
        assert!(
            explanation
                .details
                .iter()
                .any(|d| d.starts_with("event Failed on api-7d-x1"))
        );
    }

    #[test]
    fn a_containers_end_reads_as_exit_code_reason_or_signal() {
        let end = |terminated: Value| termination(&terminated);
        assert_eq!(
            end(json!({"exitCode": 137, "reason": "OOMKilled"})).as_deref(),
            Some("exit code 137 (OOMKilled)")
        );
        assert_eq!(
            end(json!({"exitCode": 0, "signal": 9})).as_deref(),
            Some("signal 9")
        );
        assert_eq!(
            end(json!({"reason": "Unknown"})).as_deref(),
            Some("ended (Unknown)")
        );
        assert_eq!(end(Value::Null), None);
    }

    #[test]
    fn pods_the_scheduler_cannot_place_are_named_with_its_message() {
        let pending = |name: &str| {
            json!({"metadata": {"name": name}, "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": "0/3 nodes are available: 3 Insufficient cpu."}]}})
        };
        let pods = [pending("api-7d-x1"), pending("api-7d-x2")];
        let explanation = explain(&Observation {
            workload: "Deployment/api".into(),
            pods: &pods,
            verdict_reason: Some("ProgressDeadlineExceeded"),
            ..Default::default()
        });
        assert_eq!(
            explanation.reason,
            "Deployment/api: pod api-7d-x1 and 1 more cannot be scheduled: 0/3 nodes are \
             available: 3 Insufficient cpu. (Unschedulable)"
        );
        assert_eq!(
            explanation.details[0],
            "pod api-7d-x1: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu."
        );
    }

    #[test]
    fn missing_config_is_named() {
        let pods = [pod(
            "api-1",
            "CreateContainerConfigError",
            "configmap \"api-config\" not found",
        )];
        let explanation = explain(&Observation {
            workload: "Deployment/api".into(),
            pods: &pods,
            ..Default::default()
        });
        assert_eq!(
            explanation.reason,
            "Deployment/api: pod api-1 cannot start: configmap \"api-config\" not found (CreateContainerConfigError)"
        );
    }

    #[test]
    fn crash_loops_quota_and_deadlines() {
        let pods = [pod(
            "api-1",
            "CrashLoopBackOff",
            "back-off 40s restarting failed container",
        )];
        let mut pods = pods;
        pods[0]["status"]["containerStatuses"][0]["lastState"] =
            json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}});
        let logs = ["panic: missing DATABASE_URL".to_owned()];
        let explanation = explain(&Observation {
            workload: "Deployment/api".into(),
            pods: &pods,
            previous_log: &logs,
            ..Default::default()
        });
        assert!(
            explanation.details[0].ends_with("(last ended: exit code 137 (OOMKilled))"),
            "{:?}",
            explanation.details
        );
        assert!(explanation.reason.contains(
            "keeps crashing (CrashLoopBackOff, 4 restarts, last exit code 137 (OOMKilled))"
        ));
        assert!(
            explanation
                .details
                .last()
                .unwrap()
                .contains("before the last restart:\npanic: missing DATABASE_URL")
        );

        let events = [
            json!({"type": "Warning", "reason": "FailedCreate", "message": "pods \"api-1\" is forbidden: exceeded quota: compute", "involvedObject": {"name": "api-7d"}}),
        ];
        let explanation = explain(&Observation {
            workload: "Deployment/api".into(),
            events: &events,
            ..Default::default()
        });
        assert!(
            explanation
                .reason
                .contains("pods cannot be created: pods \"api-1\" is forbidden: exceeded quota")
        );

        let explanation = explain(&Observation {
            workload: "Deployment/api".into(),
            verdict_reason: Some("ProgressDeadlineExceeded"),
            ..Default::default()
        });
        assert!(explanation.reason.ends_with("(ProgressDeadlineExceeded)"));
    }

    #[test]
    fn an_init_container_is_named_as_one() {
        let mut pods = [pod("api-1", "CrashLoopBackOff", "back-off 20s")];
        let status = pods[0]["status"]["containerStatuses"].take();
        pods[0]["status"]["initContainerStatuses"] = status;
        let explanation = explain(&Observation {
            workload: "Deployment/api".into(),
            pods: &pods,
            ..Default::default()
        });
        assert!(
            explanation
                .reason
                .starts_with("Deployment/api: init container server keeps crashing"),
            "{}",
            explanation.reason
        );
        assert!(explanation.details[0].starts_with("pod api-1 init container server:"));
    }

    #[test]
    fn pods_that_never_become_ready_are_named_with_the_last_probe_failure() {
        let running = |name: &str| {
            json!({"metadata": {"name": name}, "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [server]"}]}})
        };
        let pods = [running("api-7d-x1"), running("api-7d-x2")];
        let probe = |message: &str| {
            json!({"type": "Warning", "reason": "Unhealthy", "message": message,
                   "involvedObject": {"name": "api-7d-x1"}})
        };
        let events = [
            probe(
                "Readiness probe failed: Get \"http://10.244.0.5:8080/ready\": connection refused",
            ),
            probe("Readiness probe failed: HTTP probe failed with statuscode: 503"),
        ];
        let observation = Observation {
            workload: "Deployment/api".into(),
            pods: &pods,
            events: &events,
            verdict_reason: Some("ProgressDeadlineExceeded"),
            ..Default::default()
        };
        let explanation = explain(&observation);
        assert_eq!(
            explanation.reason,
            "Deployment/api: pod api-7d-x1 and 1 more runs but never became ready: Readiness \
             probe failed: HTTP probe failed with statuscode: 503 (ProgressDeadlineExceeded)"
        );
        // Without the probe's events, the kubelet's condition says which container.
        let explanation = explain(&Observation {
            events: &[],
            ..observation
        });
        assert!(
            explanation
                .reason
                .contains("never became ready: containers with unready status: [server]"),
            "{}",
            explanation.reason
        );
    }

    #[test]
    fn a_failed_job_names_its_limit_and_how_its_pod_ended() {
        let pods = [
            json!({"metadata": {"name": "migrate-x1"}, "status": {"phase": "Failed",
            "containerStatuses": [{"name": "migrate", "state": {"terminated":
                {"exitCode": 1, "reason": "Error"}}}]}}),
        ];
        let explanation = explain(&Observation {
            workload: "Job/migrate".into(),
            pods: &pods,
            verdict_reason: Some("BackoffLimitExceeded"),
            verdict_message: Some("Job has reached the specified backoff limit"),
            ..Default::default()
        });
        assert_eq!(
            explanation.reason,
            "Job/migrate failed: Job has reached the specified backoff limit \
             (BackoffLimitExceeded) — pod migrate-x1 container migrate: exit code 1 (Error)"
        );
        assert!(
            explanation
                .details
                .contains(&"pod migrate-x1 container migrate: exit code 1 (Error)".to_owned())
        );
        // Without a failed pod (a deadline ended them), the Job's own words.
        let explanation = explain(&Observation {
            workload: "Job/migrate".into(),
            verdict_reason: Some("DeadlineExceeded"),
            verdict_message: Some("Job was active longer than specified deadline"),
            ..Default::default()
        });
        assert_eq!(
            explanation.reason,
            "Job/migrate: the rollout failed: Job was active longer than specified deadline \
             (DeadlineExceeded)"
        );
    }
}
