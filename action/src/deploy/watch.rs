//! Waiting for rollouts with watches: judge each workload as last seen — as the apply answered
//! it, else as read — then follow its changes from that resourceVersion, judging every version
//! with [`crate::rollout::verdict`] until it is complete, has failed, or the timeout passes. A
//! watch that ends or expires is resumed from a fresh read.

use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, join_all, select};
use serde_json::Value;

use super::DeployError;
use crate::host::{Host, Lines as _};
use crate::kube::client::{Kube, KubeError};
use crate::kube::discovery::Discovery;
use crate::kube::request::ApiResource;
use crate::manifest::Manifest;
use crate::rollout::{Verdict, verdict};

/// How a workload's rollout ended.
#[derive(Debug, Clone)]
pub struct Settled {
    pub resource: ApiResource,
    pub name: String,
    pub namespace: Option<String>,
    /// The last verdict; `Progressing` when the timeout passed.
    pub verdict: Verdict,
}

impl Settled {
    pub fn is_complete(&self) -> bool {
        self.verdict == Verdict::Complete
    }

    /// `Kind/name`.
    pub fn workload(&self) -> String {
        format!("{}/{}", self.resource.kind, self.name)
    }
}

/// The pause before reopening a watch whose connection broke.
const RECONNECT: Duration = Duration::from_millis(100);

/// What one watch event means for the rollout.
enum Step {
    Judge(Value),
    Resume(String),
    Restart,
    Ignore,
}

fn step(line: &[u8]) -> Step {
    let Ok(event) = serde_json::from_slice::<Value>(line) else {
        return Step::Ignore;
    };
    match event["type"].as_str() {
        Some("ADDED" | "MODIFIED") => Step::Judge(event["object"].clone()),
        Some("BOOKMARK") => event["object"]["metadata"]["resourceVersion"]
            .as_str()
            .map_or(Step::Ignore, |rv| Step::Resume(rv.to_owned())),
        Some("ERROR" | "DELETED") => Step::Restart,
        _ => Step::Ignore,
    }
}

/// Follows one object until its verdict is final, starting from `seen` (the object as an
/// answer of the API server showed it) when it carries a resourceVersion, else from a read.
async fn follow<H: Host>(
    kube: &Kube<H>,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    mut seen: Option<Value>,
    last: &std::cell::RefCell<Verdict>,
) -> Result<Verdict, KubeError> {
    loop {
        let object = match seen
            .take()
            .filter(|o| o["metadata"]["resourceVersion"].is_string())
        {
            Some(object) => object,
            None => kube.json(&resource.get(namespace, name)).await?,
        };
        let judged = verdict(&resource.kind, &object);
        if !matches!(judged, Verdict::Progressing(_)) {
            return Ok(judged);
        }
        *last.borrow_mut() = judged;
        let mut version = object["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("0")
            .to_owned();
        // Follow the watch, resuming where it ended, until the server asks for a fresh read.
        'watching: loop {
            let mut lines = kube
                .open(&resource.watch(namespace, name, &version))
                .await?;
            loop {
                let line = match lines.next_line().await {
                    Ok(Some(line)) => line,
                    Ok(None) => continue 'watching,
                    Err(_) => {
                        kube.host().sleep(RECONNECT).await;
                        continue 'watching;
                    }
                };
                match step(&line) {
                    Step::Judge(object) => {
                        let judged = verdict(&resource.kind, &object);
                        if !matches!(judged, Verdict::Progressing(_)) {
                            return Ok(judged);
                        }
                        *last.borrow_mut() = judged;
                        if let Some(rv) = object["metadata"]["resourceVersion"].as_str() {
                            version = rv.to_owned();
                        }
                    }
                    Step::Resume(rv) => version = rv,
                    Step::Restart => break 'watching,
                    Step::Ignore => {}
                }
            }
        }
    }
}

/// Waits for `workload` (a Deployment, StatefulSet, DaemonSet or Job) for at most `timeout`,
/// from `seen` (see [`follow`]) if given.
pub async fn settle<H: Host>(
    kube: &Kube<H>,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    seen: Option<Value>,
    timeout: Duration,
) -> Result<Settled, DeployError> {
    let last = std::cell::RefCell::new(Verdict::Progressing("not observed yet".into()));
    let following = pin!(follow(kube, resource, namespace, name, seen, &last));
    let verdict = match select(following, pin!(kube.host().sleep(timeout))).await {
        Either::Left((Ok(verdict), _)) => verdict,
        Either::Left((Err(e), _)) => {
            return Err(super::DeployError::from_kube(e, || {
                format!("watching {}/{name}", resource.kind)
            }));
        }
        Either::Right(_) => last.borrow().clone(),
    };
    Ok(Settled {
        resource: resource.clone(),
        name: name.to_owned(),
        namespace: namespace.map(str::to_owned),
        verdict,
    })
}

/// Waits for every workload at once, each from the object as the apply answered it.
pub async fn settle_all<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    workloads: &[(&Manifest, &Value)],
    timeout: Duration,
) -> Result<Vec<Settled>, DeployError> {
    join_all(workloads.iter().map(|(m, applied)| {
        let resource = discovery
            .resource(m.api_version(), m.kind())
            .expect("validated kinds are served");
        let seen = Some((*applied).clone());
        settle(kube, resource, m.namespace(), m.name(), seen, timeout)
    }))
    .await
    .into_iter()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_applied_object_replaces_the_first_read() {
        use crate::kube::client::tests::{Scripted, answer};
        use crate::kube::retry::Backoff;
        let deployments = Discovery::builtin("apps/v1", "Deployment", "deployments");
        let done = serde_json::json!({"metadata": {"generation": 2, "resourceVersion": "7"},
            "spec": {"replicas": 1}, "status": {"observedGeneration": 2, "replicas": 1,
            "updatedReplicas": 1, "availableReplicas": 1}});
        let kube = Kube::new(Scripted::default(), Backoff::default());
        let settle = |seen: Option<Value>| {
            let settling = settle(
                &kube,
                &deployments,
                Some("prod"),
                "api",
                seen,
                Duration::MAX,
            );
            futures_util::FutureExt::now_or_never(settling)
                .expect("scripted futures never wait")
                .unwrap()
        };
        assert!(settle(Some(done.clone())).is_complete());
        assert!(kube.host().sent.borrow().is_empty(), "no request");

        let mut unversioned = done.clone();
        unversioned["metadata"]["resourceVersion"].take();
        kube.host()
            .answers
            .borrow_mut()
            .push_back(answer(200, &done.to_string()));
        assert!(settle(Some(unversioned)).is_complete());
        assert_eq!(
            *kube.host().sent.borrow(),
            ["GET /apis/apps/v1/namespaces/prod/deployments/api"],
            "an object without a resourceVersion is read again"
        );
    }

    #[test]
    fn watch_events_are_judged_resumed_or_restarted() {
        assert!(matches!(
            step(br#"{"type":"MODIFIED","object":{"metadata":{"resourceVersion":"9"}}}"#),
            Step::Judge(o) if o["metadata"]["resourceVersion"] == "9"
        ));
        assert!(matches!(
            step(br#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}}"#),
            Step::Resume(rv) if rv == "12"
        ));
        assert!(matches!(
            step(br#"{"type":"ERROR","object":{"code":410}}"#),
            Step::Restart
        ));
        assert!(matches!(step(b"not json"), Step::Ignore));
    }
}
