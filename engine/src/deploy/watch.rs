//! Waiting for rollouts with watches: judge each workload as last seen — as the apply answered
//! it — then follow the rest with one list and one watch per kind and namespace (as an
//! informer does; a single workload is selected by name), judging every version with
//! [`crate::rollout::verdict`] until each is complete, has failed, or the timeout passes. A
//! watch that ends is resumed from its last resourceVersion; one that expires, from a fresh
//! list.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, join_all, select};
use kube::core::WatchEvent;
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
        format!("{}/{}", self.resource.kind(), self.name)
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
    match serde_json::from_slice::<WatchEvent<Value>>(line) {
        Ok(WatchEvent::Added(object) | WatchEvent::Modified(object)) => Step::Judge(object),
        Ok(WatchEvent::Bookmark(bookmark)) => Step::Resume(bookmark.metadata.resource_version),
        Ok(WatchEvent::Error(_) | WatchEvent::Deleted(_)) => Step::Restart,
        Err(_) => Step::Ignore,
    }
}

fn is_final(verdict: &Verdict) -> bool {
    !matches!(verdict, Verdict::Progressing(_))
}

/// The workloads of one kind in one namespace, with their latest verdicts.
struct Group {
    resource: ApiResource,
    namespace: Option<String>,
    verdicts: RefCell<BTreeMap<String, Verdict>>,
}

impl Group {
    fn pending(&self) -> Vec<String> {
        let verdicts = self.verdicts.borrow();
        verdicts
            .iter()
            .filter(|(_, v)| !is_final(v))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Judges `object` if it is one of the group's pending workloads.
    fn judge(&self, object: &Value) {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        if let Some(current) = self.verdicts.borrow_mut().get_mut(name)
            && !is_final(current)
        {
            *current = verdict(self.resource.kind(), object);
        }
    }

    /// Follows the group with one list and one watch (per resumption) until every verdict is
    /// final: a single workload is selected by name, several are picked out of the
    /// namespace's stream.
    async fn follow<H: Host>(&self, kube: &Kube<H>) -> Result<(), KubeError> {
        let namespace = self.namespace.as_deref();
        let selector = match self.pending().as_slice() {
            [one] => Some(format!("metadata.name={one}")),
            _ => None,
        };
        let selector = selector.as_deref();
        loop {
            if self.pending().is_empty() {
                return Ok(());
            }
            let list = kube
                .json(&self.resource.list_fields(namespace, selector)?)
                .await?;
            for object in list["items"].as_array().into_iter().flatten() {
                self.judge(object);
            }
            let mut version = list["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or("0")
                .to_owned();
            // Follow the watch, resuming where it ended, until the server asks for a fresh list.
            'watching: loop {
                if self.pending().is_empty() {
                    return Ok(());
                }
                let request = self.resource.watch(namespace, selector, &version)?;
                let mut lines = kube.open(&request).await?;
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
                            self.judge(&object);
                            if self.pending().is_empty() {
                                return Ok(());
                            }
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
}

/// A workload to wait for, with the object as an answer of the API server showed it, if any.
pub struct Workload<'a> {
    pub resource: &'a ApiResource,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
    pub seen: Option<&'a Value>,
}

/// Waits for `workloads` for at most `timeout`: each is judged first as `seen` showed it (when
/// that carries a resourceVersion), the rest are followed with one list and watch per kind and
/// namespace. The verdicts come back in the order of `workloads`; a workload still progressing
/// when the timeout passes keeps its last verdict.
pub async fn settle<H: Host>(
    kube: &Kube<H>,
    workloads: &[Workload<'_>],
    timeout: Duration,
) -> Result<Vec<Settled>, DeployError> {
    let mut groups: BTreeMap<(String, Option<&str>), Group> = BTreeMap::new();
    for workload in workloads {
        let first = workload
            .seen
            .filter(|o| o["metadata"]["resourceVersion"].is_string())
            .map_or_else(
                || Verdict::Progressing("not observed yet".into()),
                |object| verdict(workload.resource.kind(), object),
            );
        let key = (workload.resource.collection(None), workload.namespace);
        groups
            .entry(key)
            .or_insert_with(|| Group {
                resource: workload.resource.clone(),
                namespace: workload.namespace.map(str::to_owned),
                verdicts: RefCell::default(),
            })
            .verdicts
            .borrow_mut()
            .insert(workload.name.to_owned(), first);
    }
    let following = join_all(groups.values().map(|group| group.follow(kube)));
    if let Either::Left((results, _)) =
        select(pin!(following), pin!(kube.host().sleep(timeout))).await
        && let Some((error, group)) = results
            .into_iter()
            .zip(groups.values())
            .find_map(|(result, group)| result.err().map(|e| (e, group)))
    {
        return Err(DeployError::from_kube(error, || {
            format!(
                "watching the {}",
                group.resource.collection(group.namespace.as_deref())
            )
        }));
    }
    Ok(workloads
        .iter()
        .map(|workload| {
            let group = &groups[&(workload.resource.collection(None), workload.namespace)];
            Settled {
                resource: workload.resource.clone(),
                name: workload.name.to_owned(),
                namespace: workload.namespace.map(str::to_owned),
                verdict: group.verdicts.borrow()[workload.name].clone(),
            }
        })
        .collect())
}

/// Waits for every applied workload at once, each from the object as the apply answered it.
pub async fn settle_all<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    workloads: &[(&Manifest, &Value)],
    timeout: Duration,
) -> Result<Vec<Settled>, DeployError> {
    let workloads: Vec<Workload<'_>> = workloads
        .iter()
        .map(|(m, applied)| Workload {
            resource: discovery
                .resource(m.api_version(), m.kind())
                .expect("validated kinds are served"),
            namespace: m.namespace(),
            name: m.name(),
            seen: Some(applied),
        })
        .collect();
    settle(kube, &workloads, timeout).await
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
        let settle = |seen: Option<&Value>| {
            let workload = Workload {
                resource: &deployments,
                namespace: Some("prod"),
                name: "api",
                seen,
            };
            let workloads = [workload];
            let settling = settle(&kube, &workloads, Duration::MAX);
            futures_util::FutureExt::now_or_never(settling)
                .expect("scripted futures never wait")
                .unwrap()
                .remove(0)
        };
        assert!(settle(Some(&done)).is_complete());
        assert!(kube.host().sent.borrow().is_empty(), "no request");

        let mut unversioned = done.clone();
        unversioned["metadata"]["resourceVersion"].take();
        let mut listed = done.clone();
        listed["metadata"]["name"] = "api".into();
        let list = serde_json::json!({"metadata": {"resourceVersion": "8"}, "items": [listed]});
        kube.host()
            .answers
            .borrow_mut()
            .push_back(answer(200, &list.to_string()));
        assert!(settle(Some(&unversioned)).is_complete());
        assert_eq!(
            *kube.host().sent.borrow(),
            ["GET /apis/apps/v1/namespaces/prod/deployments?fieldSelector=metadata.name%3Dapi"],
            "an object without a resourceVersion is listed again, by name"
        );
    }

    #[test]
    fn watch_events_are_judged_resumed_or_restarted() {
        assert!(matches!(
            step(br#"{"type":"MODIFIED","object":{"metadata":{"resourceVersion":"9"}}}"#),
            Step::Judge(o) if o["metadata"]["resourceVersion"] == "9"
        ));
        assert!(matches!(
            step(
                br#"{"type":"BOOKMARK","object":{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"resourceVersion":"12"}}}"#
            ),
            Step::Resume(rv) if rv == "12"
        ));
        assert!(matches!(
            step(br#"{"type":"ERROR","object":{"code":410}}"#),
            Step::Restart
        ));
        assert!(matches!(step(b"not json"), Step::Ignore));
    }
}
