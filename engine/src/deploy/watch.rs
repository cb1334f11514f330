//! Waiting for rollouts with watches: judge each workload as last seen — as the apply answered
//! it — then follow the rest with one list and one watch per kind and namespace (as an
//! informer does; a single workload is selected by name), judging every version with
//! [`crate::rollout::verdict`] until each is complete, has failed, or the timeout passes. A
//! watch that ends after delivering events is resumed from its last resourceVersion. One that
//! ends or breaks without delivering anything, or that the server expires, is followed by a
//! fresh list after an exponential, jittered wait ([`Reopen`]): a server or proxy that answers
//! an empty `200` (or `410 Gone`) at once must not turn the watch into a request storm, and a
//! proxy that breaks every watch turns the wait into polling rather than a hang.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, join_all, select};
use kube::core::WatchEvent;
use serde_json::Value;

use super::{DeployError, sentinel};
use crate::host::{Host, Lines as _};
use crate::kube::client::{Kube, KubeError};
use crate::kube::discovery::Discovery;
use crate::kube::request::{ApiResource, Request, RequestError};
use crate::kube::retry::exponential;
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

/// The waits before reopening a watch: none after one that delivered events (servers end
/// every watch after a while), otherwise from [`Reopen::FIRST`] doubling to [`Reopen::MAX`],
/// each with "equal jitter" (half of it fixed, half spread) so that watchers that failed
/// together do not come back together.
#[derive(Debug)]
struct Reopen {
    empty_in_row: u32,
    /// The state of the jitter's xorshift generator: the spread need not be unpredictable, only
    /// different between watchers.
    jitter: u64,
}

impl Reopen {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    /// Jitter seeded by `what` is watched, so that two groups spread apart.
    fn new(what: &str) -> Reopen {
        let seed = what.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Reopen {
            empty_in_row: 0,
            jitter: seed | 1,
        }
    }

    /// The wait before reopening a watch that `delivered` something, or not.
    fn wait(&mut self, delivered: bool) -> Duration {
        if delivered {
            self.empty_in_row = 0;
            return Duration::ZERO;
        }
        self.empty_in_row = self.empty_in_row.saturating_add(1);
        let full = exponential(Self::FIRST, Self::MAX, self.empty_in_row);
        let half = full / 2;
        half + half.mul_f64(self.unit())
    }

    /// The next number of the jitter, in [0, 1).
    fn unit(&mut self) -> f64 {
        let mut x = self.jitter;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

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
pub(super) struct Group {
    pub(super) resource: ApiResource,
    namespace: Option<String>,
    verdicts: RefCell<BTreeMap<String, Verdict>>,
}

impl Group {
    /// The workloads without a final verdict.
    pub(super) fn pending(&self) -> Vec<String> {
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

    /// Ends the wait for `name` with `verdict`, unless it already has a final one.
    pub(super) fn fail(&self, name: &str, verdict: Verdict) {
        if let Some(current) = self.verdicts.borrow_mut().get_mut(name)
            && !is_final(current)
        {
            *current = verdict;
        }
    }

    /// Follows the group with one list and one watch (per resumption) until every verdict is
    /// final: a single workload is selected by name, several are picked out of the
    /// namespace's stream.
    async fn follow<H: Host>(&self, kube: &Kube<H>) -> Result<(), KubeError> {
        if self.pending().is_empty() {
            return Ok(());
        }
        let namespace = self.namespace.as_deref();
        let selector = match self.pending().as_slice() {
            [one] => Some(format!("metadata.name={one}")),
            _ => None,
        };
        let selector = selector.as_deref();
        let list = || self.resource.list_fields(namespace, selector);
        let watch = |version: &str| self.resource.watch(namespace, selector, version);
        inform(
            kube,
            &self.resource,
            namespace,
            list,
            watch,
            async |object| {
                self.judge(object);
                Ok(self.pending().is_empty())
            },
        )
        .await
    }
}

/// Follows a collection as an informer does: lists it (`list`), then watches it from the
/// list's resourceVersion (`watch`), resuming where a watch ended and listing again when the
/// server asks to; every object listed or changed goes to `seen`, until `seen` says it has
/// seen enough (`Ok(true)`).
async fn inform<H: Host>(
    kube: &Kube<H>,
    resource: &ApiResource,
    namespace: Option<&str>,
    list: impl Fn() -> Result<Request, RequestError>,
    watch: impl Fn(&str) -> Result<Request, RequestError>,
    mut seen: impl AsyncFnMut(&Value) -> Result<bool, KubeError>,
) -> Result<(), KubeError> {
    let mut reopen = Reopen::new(&resource.collection(namespace));
    loop {
        let listed = kube.json(&list()?).await?;
        for object in listed["items"].as_array().into_iter().flatten() {
            if seen(object).await? {
                return Ok(());
            }
        }
        let mut version = listed["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("0")
            .to_owned();
        // Follow the watch, resuming where it ended, until the server asks for a fresh list.
        'watching: loop {
            let mut lines = kube.open(&watch(&version)?).await?;
            let mut delivered = false;
            loop {
                let line = match lines.next_line().await {
                    Ok(Some(line)) => line,
                    Ok(None) | Err(_) if delivered => {
                        reopen.wait(true);
                        continue 'watching;
                    }
                    Ok(None) | Err(_) => {
                        // Nothing came: after a growing wait, list again, so that a proxy
                        // that breaks watches turns the wait into polling, not a hang.
                        kube.host().sleep(reopen.wait(false)).await;
                        break 'watching;
                    }
                };
                delivered = true;
                match step(&line) {
                    Step::Judge(object) => {
                        if seen(&object).await? {
                            return Ok(());
                        }
                        if let Some(rv) = object["metadata"]["resourceVersion"].as_str() {
                            version = rv.to_owned();
                        }
                    }
                    Step::Resume(rv) => version = rv,
                    Step::Restart => {
                        // The server expired the version: list again, after a wait should
                        // it keep doing so.
                        kube.host().sleep(reopen.wait(false)).await;
                        break 'watching;
                    }
                    Step::Ignore => {}
                }
            }
        }
    }
}

/// Follows the Warning events of `namespace` and hands each to the [`sentinel`] until no
/// workload of `groups` is pending; never returns when events cannot be followed (the wait
/// then ends as it would without the sentinel).
async fn sentinel_for<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    namespace: Option<&str>,
    groups: &[&Group],
) {
    let done = || groups.iter().all(|g| g.pending().is_empty());
    let events = Discovery::builtin("v1", "Event", "events");
    let list = || events.list_at_most(namespace, "", "type=Warning", sentinel::EVENTS_LISTED);
    let watch = |version: &str| events.watch(namespace, Some("type=Warning"), version);
    // Each occurrence of an event is looked at once (a list after a resumed watch repeats them).
    let mut looked = std::collections::BTreeSet::new();
    let mut refusals = super::quota::QuotaRefusals::default();
    let followed = inform(kube, &events, namespace, list, watch, async |event| {
        let occurrence = (
            event["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            event["count"].as_i64(),
            event["series"]["count"].as_i64(),
        );
        if sentinel::worth_a_look(event) && looked.insert(occurrence) {
            // A look that fails leaves the verdicts as they were.
            let _ = sentinel::look(kube, discovery, groups, event, &mut refusals).await;
        }
        Ok(done())
    })
    .await;
    if followed.is_err() || !done() {
        futures_util::future::pending::<()>().await;
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
/// namespace, and the Warning events of each namespace with pending workloads are followed by
/// the [`sentinel`], which fails a workload whose new pods' failure persists. The verdicts come
/// back in the order of `workloads`; a workload still progressing when the timeout passes keeps
/// its last verdict.
pub async fn settle<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
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
    let mut namespaces: BTreeMap<Option<&str>, Vec<&Group>> = BTreeMap::new();
    for group in groups.values().filter(|g| !g.pending().is_empty()) {
        namespaces
            .entry(group.namespace.as_deref())
            .or_default()
            .push(group);
    }
    let watching = join_all(
        namespaces
            .iter()
            .map(|(namespace, groups)| sentinel_for(kube, discovery, *namespace, groups)),
    );
    let (following, watching) = (pin!(following), pin!(watching));
    let until_final = select(following, watching);
    if let Either::Left((Either::Left((results, _)), _)) =
        select(until_final, pin!(kube.host().sleep(timeout))).await
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
    settle(kube, discovery, &workloads, timeout).await
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
            let discovery = Discovery::default();
            let settling = settle(&kube, &discovery, &workloads, Duration::MAX);
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
    fn empty_watches_are_reopened_after_growing_jittered_waits() {
        let mut reopen = Reopen::new("/apis/apps/v1/namespaces/prod/deployments");
        let waits: Vec<Duration> = (0..10).map(|_| reopen.wait(false)).collect();
        for (n, wait) in waits.iter().enumerate() {
            let full = (Reopen::FIRST * (1 << n.min(16))).min(Reopen::MAX);
            assert!(
                *wait >= full / 2 && *wait <= full,
                "wait {n}: {wait:?} outside [{:?}, {full:?}]",
                full / 2
            );
        }
        assert!(waits[9] >= Reopen::MAX / 2, "the waits grow to the maximum");
        assert_eq!(
            reopen.wait(true),
            Duration::ZERO,
            "a watch that delivered reopens at once"
        );
        assert!(
            reopen.wait(false) <= Reopen::FIRST,
            "and the waits start over"
        );
        let mut other = Reopen::new("/api/v1/namespaces/prod/pods");
        assert_ne!(
            Reopen::new("/apis/apps/v1/namespaces/prod/deployments").wait(false),
            other.wait(false),
            "two watchers spread apart"
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
