//! Simulated controllers: what a real cluster's controller manager and kubelet would do to
//! the objects clients write, compressed in time. One task watches the store's change feed,
//! marks the objects a change affects as dirty, and reconciles them; timers wake it when a
//! pod should become ready or a deadline passes. Every reconcile is idempotent and writes
//! only when something changed, so the loop settles.
//!
//! - [`deployment`]: Deployment → ReplicaSets, replica by replica, with conditions.
//! - [`replicaset`]: ReplicaSet → Pods.
//! - [`workloads`]: StatefulSet, DaemonSet and Job → Pods, with their status.
//! - [`history`]: the ControllerRevisions of StatefulSets and DaemonSets.
//! - [`kubelet`]: the scheduler and the kubelet: Pod status, init containers, image-rule
//!   failures, missing ConfigMaps/Secrets ([`config_refs`]).
//! - the quota controller: each ResourceQuota's `status` ([`crate::quota`]).
//! - [`volumes`]: PersistentVolumeClaims bound at once by a simulated provisioner; pods wait
//!   for their claims.
//! - [`disruption`]: each PodDisruptionBudget's `status`, from the pods it selects.
//! - [`events`]: the Events all of them record.
//! - garbage collection of dependents whose owner is gone, and the default namespaces and
//!   service accounts.

mod config_refs;
mod deployment;
mod disruption;
pub mod events;
mod history;
mod kubelet;
mod replicaset;
mod volumes;
mod workloads;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::Instant;

use crate::registry::{self, WriteOptions};
use crate::resources::Kind;
use crate::store::{Change, EventType, ObjKey, Store};
use crate::{Sim, meta};

/// The namespaces every cluster starts with.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// The one simulated node.
pub const NODE: &str = "kubesim-node";

/// Creates the default namespaces (and `namespace`, the kubeconfig's) when missing.
pub fn bootstrap(store: &Store, namespace: &str) {
    let opts = WriteOptions::controller("kube-apiserver");
    for ns in SYSTEM_NAMESPACES.iter().copied().chain([namespace]) {
        if store.get(&ObjKey::new(Kind::Namespace, "", ns)).is_none() {
            let ns_obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            if let Err(e) = registry::create(store, Kind::Namespace, "", ns_obj, &opts) {
                tracing::warn!("creating namespace {ns}: {e}");
            }
        }
    }
}

/// The controllers' working state.
pub(crate) struct Ctl {
    sim: Arc<Sim>,
    dirty: BTreeSet<ObjKey>,
    timers: BinaryHeap<Reverse<(Instant, ObjKey)>>,
    /// When each pod last moved on (scheduled, a container started or restarted: its next
    /// step is due `rollout` or a back-off later), and when each Job started.
    since: HashMap<ObjKey, Instant>,
    /// When each workload last made progress (for `progressDeadlineSeconds`).
    progress: HashMap<ObjKey, (i64, Instant)>,
    /// Pods waiting for a ConfigMap or Secret.
    config_blocked: BTreeSet<ObjKey>,
    /// Pods the scheduler holds back for their PersistentVolumeClaims.
    claim_blocked: BTreeSet<ObjKey>,
    /// The failed attempts of each pod (to be scheduled, to pull, to find its configuration,
    /// readiness probes) and when the next is due; for Jobs, the failures seen and when a
    /// replacement pod may be created.
    retries: HashMap<ObjKey, (u32, Instant)>,
    /// Workloads whose pod creation the API server refused (a quota), with the refusals so
    /// far and when their controller tries again.
    refused: HashMap<ObjKey, (u32, Instant)>,
    events: events::Recorder,
    /// Owner uids deleted since the last pass.
    deleted_owners: Vec<(String, String)>,
}

impl Ctl {
    fn new(sim: Arc<Sim>) -> Self {
        Self {
            sim,
            dirty: BTreeSet::new(),
            timers: BinaryHeap::new(),
            since: HashMap::new(),
            progress: HashMap::new(),
            config_blocked: BTreeSet::new(),
            claim_blocked: BTreeSet::new(),
            retries: HashMap::new(),
            refused: HashMap::new(),
            events: events::Recorder::default(),
            deleted_owners: Vec::new(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.sim.store
    }

    pub fn settings(&self) -> &crate::Settings {
        &self.sim.settings
    }

    /// Reconciles `key` again after `delay`.
    pub fn after(&mut self, delay: Duration, key: &ObjKey) {
        self.at(Instant::now() + delay, key);
    }

    /// Reconciles `key` again at `when`.
    pub fn at(&mut self, when: Instant, key: &ObjKey) {
        self.timers.push(Reverse((when, key.clone())));
    }

    /// Simulated seconds since `since`.
    pub fn sim_elapsed(&self, since: Instant) -> f64 {
        since.elapsed().as_secs_f64() * self.settings().time_scale
    }

    /// Real time for `secs` simulated seconds.
    pub fn real(&self, secs: f64) -> Duration {
        Duration::from_secs_f64((secs / self.settings().time_scale).max(0.0))
    }

    /// The kubelet's failed attempts to start `key` so far, when it may try again now;
    /// otherwise `None`, and `key` is reconciled again when the back-off has passed.
    pub fn attempt_due(&mut self, key: &ObjKey) -> Option<u32> {
        match self.retries.get(key) {
            Some(&(_, next)) if Instant::now() < next => {
                self.at(next, key);
                None
            }
            Some(&(failures, _)) => Some(failures),
            None => Some(0),
        }
    }

    /// Notes a failed attempt to start `key`: the next comes after `backoff` simulated
    /// seconds.
    pub fn attempt_failed(&mut self, key: &ObjKey, backoff: f64) {
        let failures = self.retries.get(key).map_or(0, |r| r.0) + 1;
        let next = Instant::now() + self.real(backoff);
        self.retries.insert(key.clone(), (failures, next));
        self.at(next, key);
    }

    /// Forgets `key`'s failed attempts (it started).
    pub fn attempts_done(&mut self, key: &ObjKey) {
        self.retries.remove(key);
    }

    /// Whether `owner` may create pods now: not while it backs off after a refusal (it is
    /// reconciled again when the back-off has passed).
    pub fn creation_due(&mut self, owner: &ObjKey) -> bool {
        match self.refused.get(owner) {
            Some(&(_, next)) if Instant::now() < next => {
                self.at(next, owner);
                false
            }
            _ => true,
        }
    }

    /// Notes that the API server refused a pod of `owner`: its controller tries again after
    /// the work queue's back-off (5 ms, doubling, at most 1000 s of simulated time), or as
    /// soon as a pod of its namespace goes or a quota there changes.
    pub fn creation_refused(&mut self, owner: &ObjKey) {
        let refusals = self.refused.get(owner).map_or(0, |r| r.0) + 1;
        let delay = (0.005 * 2f64.powi(refusals.min(30) as i32 - 1)).min(1000.0);
        let next = Instant::now() + self.real(delay);
        self.refused.insert(owner.clone(), (refusals, next));
        self.at(next, owner);
    }

    /// Forgets `owner`'s refusals (a pod was created).
    pub fn creation_done(&mut self, owner: &ObjKey) {
        self.refused.remove(owner);
    }

    /// Room may have been made in `namespace` (a pod went, a quota changed): the workloads
    /// refused there try again now.
    fn room_made(&mut self, namespace: &str) {
        let now = Instant::now();
        for (key, (_, next)) in self
            .refused
            .iter_mut()
            .filter(|(k, _)| k.namespace == namespace)
        {
            *next = now;
            self.dirty.insert(key.clone());
        }
    }

    /// Records an event about `involved`.
    pub fn event(
        &mut self,
        involved: &Value,
        kind: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        let store = &self.sim.store;
        self.events
            .record(store, involved, kind, reason, message, component);
    }

    fn resync(&mut self) {
        for kind in [
            Kind::Deployment,
            Kind::ReplicaSet,
            Kind::StatefulSet,
            Kind::DaemonSet,
            Kind::Job,
            Kind::Pod,
            Kind::ResourceQuota,
            Kind::PersistentVolumeClaim,
            Kind::PodDisruptionBudget,
        ] {
            let (items, _) = self.store().list(kind, None, None);
            self.dirty.extend(items.iter().map(|o| ObjKey::of(kind, o)));
        }
        let (namespaces, _) = self.store().list(Kind::Namespace, None, None);
        self.dirty
            .extend(namespaces.iter().map(|o| ObjKey::of(Kind::Namespace, o)));
    }

    /// Marks what `change` affects.
    fn observe(&mut self, change: &Change) {
        let key = &change.key;
        match key.kind {
            Kind::Event | Kind::Service | Kind::ServiceAccount | Kind::Ingress | Kind::CronJob => {}
            Kind::ConfigMap | Kind::Secret => {
                let blocked: Vec<ObjKey> = self
                    .config_blocked
                    .iter()
                    .filter(|p| p.namespace == key.namespace)
                    .cloned()
                    .collect();
                self.dirty.extend(blocked);
            }
            Kind::Namespace => {
                if change.event == EventType::Added {
                    self.dirty.insert(key.clone());
                }
            }
            Kind::ResourceQuota => {
                self.dirty.insert(key.clone());
                // A changed spec (not the controller's status write) may make room.
                let hard = |part: &str| meta::at(&change.object, &[part, "hard"]).cloned();
                if change.event != EventType::Modified || hard("spec") != hard("status") {
                    self.room_made(&key.namespace);
                }
            }
            Kind::PersistentVolumeClaim => {
                self.dirty.insert(key.clone());
                // A claim created or bound: the pods held back for claims are scheduled again.
                let waiting: Vec<ObjKey> = self
                    .claim_blocked
                    .iter()
                    .filter(|p| p.namespace == key.namespace)
                    .cloned()
                    .collect();
                for pod in waiting {
                    self.attempts_done(&pod);
                    self.dirty.insert(pod);
                }
            }
            _ => {
                self.dirty.insert(key.clone());
                for owner in meta::array_at(&change.object, &["metadata", "ownerReferences"]) {
                    let owner_kind = owner["apiVersion"]
                        .as_str()
                        .zip(owner["kind"].as_str())
                        .and_then(|(v, k)| Kind::from_type(v, k));
                    if let (Some(kind), Some(name)) = (owner_kind, owner["name"].as_str()) {
                        self.dirty.insert(ObjKey::new(kind, &key.namespace, name));
                    }
                }
                if key.kind == Kind::Pod {
                    self.pod_counted(change);
                    self.pod_budgeted(change);
                }
            }
        }
        if change.event == EventType::Deleted {
            let uid = meta::uid(&change.object);
            if !uid.is_empty()
                && matches!(
                    key.kind,
                    Kind::Deployment
                        | Kind::ReplicaSet
                        | Kind::StatefulSet
                        | Kind::DaemonSet
                        | Kind::Job
                        | Kind::CronJob
                )
            {
                self.deleted_owners
                    .push((key.namespace.clone(), uid.to_string()));
            }
            self.since.remove(key);
            self.retries.remove(key);
            self.refused.remove(key);
            self.config_blocked.remove(key);
            self.claim_blocked.remove(key);
        }
    }

    /// A pod changed: the disruption budgets that select it count again.
    fn pod_budgeted(&mut self, change: &Change) {
        let (budgets, _) =
            self.store()
                .list(Kind::PodDisruptionBudget, Some(&change.key.namespace), None);
        self.dirty.extend(
            budgets
                .iter()
                .filter(|b| disruption::selects(b, &change.object))
                .map(|b| ObjKey::of(Kind::PodDisruptionBudget, b)),
        );
    }

    /// A pod changed: the quotas of its namespace count again, and a pod gone (or ended)
    /// makes room for refused ones.
    fn pod_counted(&mut self, change: &Change) {
        let namespace = &change.key.namespace;
        let (quotas, _) = self
            .store()
            .list(Kind::ResourceQuota, Some(namespace), None);
        self.dirty
            .extend(quotas.iter().map(|q| ObjKey::of(Kind::ResourceQuota, q)));
        let ended = matches!(
            meta::str_at(&change.object, &["status", "phase"]),
            Some("Succeeded" | "Failed")
        );
        if change.event == EventType::Deleted || ended {
            self.room_made(namespace);
        }
    }

    /// Deletes the dependents of deleted owners (background propagation).
    fn collect_garbage(&mut self) {
        for (namespace, uid) in std::mem::take(&mut self.deleted_owners) {
            for kind in [
                Kind::ReplicaSet,
                Kind::ControllerRevision,
                Kind::Pod,
                Kind::Job,
            ] {
                let (items, _) = self.store().list(kind, Some(&namespace), None);
                for item in items {
                    let owned = meta::array_at(&item, &["metadata", "ownerReferences"])
                        .iter()
                        .any(|r| r["uid"] == uid.as_str());
                    if owned {
                        // Already gone is fine.
                        let _ = registry::delete(self.store(), &ObjKey::of(kind, &item), false);
                    }
                }
            }
        }
    }

    fn reconcile(&mut self, key: &ObjKey) {
        match key.kind {
            Kind::Deployment => deployment::reconcile(self, key),
            Kind::ReplicaSet => replicaset::reconcile(self, key),
            Kind::StatefulSet => workloads::statefulset(self, key),
            Kind::DaemonSet => workloads::daemonset(self, key),
            Kind::Job => workloads::job(self, key),
            Kind::Pod => kubelet::reconcile(self, key),
            Kind::Namespace => default_service_account(self, key),
            Kind::PersistentVolumeClaim => volumes::reconcile(self, key),
            Kind::PodDisruptionBudget => disruption::reconcile(self, key),
            Kind::ResourceQuota => {
                if let Some(quota) = self.store().get(key) {
                    let status = crate::quota::status(self.store(), &quota);
                    registry::write_status(self.store(), key, status);
                }
            }
            _ => {}
        }
    }

    /// Reconciles everything dirty or due.
    fn process(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Reverse((_, key)) = self.timers.pop().expect("peeked");
            self.dirty.insert(key);
        }
        self.collect_garbage();
        // Bounded passes: writes made here come back through the feed.
        for key in std::mem::take(&mut self.dirty) {
            self.reconcile(&key);
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }
}

/// The `default` ServiceAccount every namespace has.
fn default_service_account(ctl: &mut Ctl, key: &ObjKey) {
    let store = ctl.store();
    if store.get(key).is_none()
        || store
            .get(&ObjKey::new(Kind::ServiceAccount, &key.name, "default"))
            .is_some()
    {
        return;
    }
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": key.name}});
    // A concurrent creation is fine.
    let _ = registry::create(
        store,
        Kind::ServiceAccount,
        &key.name,
        sa,
        &WriteOptions::controller("serviceaccount-controller"),
    );
}

/// Objects of `kind` in `namespace` whose controller is the object with `uid`.
pub(crate) fn owned(store: &Store, kind: Kind, namespace: &str, uid: &str) -> Vec<Arc<Value>> {
    let (items, _) = store.list(kind, Some(namespace), None);
    items
        .into_iter()
        .filter(|o| meta::controller_uid(o) == Some(uid))
        .collect()
}

/// A pod's readiness as the kubelet reported it.
pub(crate) fn pod_ready(pod: &Value) -> bool {
    meta::array_at(pod, &["status", "conditions"])
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// Runs the controllers until shutdown.
pub async fn run(sim: Arc<Sim>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut feed = sim.store.subscribe();
    let mut ctl = Ctl::new(sim);
    ctl.resync();
    loop {
        ctl.process();
        let wake = ctl.next_wake();
        tokio::select! {
            received = feed.recv() => match received {
                Ok(change) => ctl.observe(&change),
                Err(RecvError::Lagged(_)) => ctl.resync(),
                Err(RecvError::Closed) => return,
            },
            _ = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {}
            _ = shutdown.changed() => return,
        }
        loop {
            match feed.try_recv() {
                Ok(change) => ctl.observe(&change),
                Err(TryRecvError::Lagged(_)) => ctl.resync(),
                Err(_) => break,
            }
        }
    }
}
