//! The in-memory object store: objects by kind, namespace and name, a global
//! `resourceVersion` counter, and the change feed watches and controllers read (a bounded
//! history for resuming from a `resourceVersion`, then a broadcast of live changes).
//!
//! The store knows nothing about validation or HTTP: callers compute the new object from the
//! current one inside [`Store::mutate`], which runs under the store's lock so that
//! read-modify-write is atomic, and the store stamps `metadata.resourceVersion`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::meta;
use crate::resources::Kind;

/// Changes kept for watches that resume from a `resourceVersion`.
const HISTORY: usize = 20_000;
/// Live changes buffered per subscriber before it is considered lagging.
const FEED_CAPACITY: usize = 16_384;

/// Where an object lives. `namespace` is empty for cluster-scoped kinds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjKey {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(kind: Kind, namespace: &str, name: &str) -> Self {
        let namespace = if kind.def().namespaced { namespace } else { "" };
        Self {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// The key of a stored object.
    pub fn of(kind: Kind, obj: &Value) -> Self {
        Self::new(kind, meta::namespace(obj), meta::name(obj))
    }
}

/// What kind of change an event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change. `object` is the object after the change (before it, for deletions, with the
/// deletion's resourceVersion).
#[derive(Debug)]
pub struct Change {
    pub event: EventType,
    pub key: ObjKey,
    pub rv: u64,
    pub object: Arc<Value>,
}

/// What a [`Store::mutate`] closure decides.
pub enum Decision {
    /// Store this object (create or replace).
    Put(Value),
    /// Delete the object.
    Delete,
    /// Leave everything as is.
    Keep,
}

/// The result of a mutation.
#[derive(Debug)]
pub struct Outcome {
    /// The object after the mutation (the last state, for a deletion); `None` after `Keep`
    /// of an absent object.
    pub object: Option<Arc<Value>>,
    pub created: bool,
    pub deleted: bool,
}

struct Inner {
    rv: u64,
    objects: BTreeMap<ObjKey, Arc<Value>>,
    history: VecDeque<Arc<Change>>,
}

/// The store. Cheap to share behind an `Arc`.
pub struct Store {
    inner: Mutex<Inner>,
    feed: broadcast::Sender<Arc<Change>>,
}

/// Serialized contents for `--state`.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    pub resource_version: u64,
    pub objects: Vec<(ObjKey, Value)>,
}

/// The start of a watch: the changes it begins with, the live feed after them, and the
/// resourceVersion at that moment.
pub struct WatchStart {
    pub backlog: Vec<Arc<Change>>,
    pub feed: broadcast::Receiver<Arc<Change>>,
    pub resource_version: u64,
}

/// Where a watch starts.
pub enum WatchFrom {
    /// Synthetic `ADDED` events for every current object, then live changes.
    Current,
    /// Every change after this resourceVersion, then live changes.
    Version(u64),
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
            }),
            feed: broadcast::channel(FEED_CAPACITY).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (every write is one insert).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, key: &ObjKey) -> Option<Arc<Value>> {
        self.lock().objects.get(key).cloned()
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Objects of `kind` (in `namespace`, or all), ordered by namespace and name, starting
    /// after `after` (namespace, name), with the resourceVersion of the read.
    pub fn list(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        after: Option<(&str, &str)>,
    ) -> (Vec<Arc<Value>>, u64) {
        let inner = self.lock();
        let start = match after {
            Some((ns, name)) => std::ops::Bound::Excluded(ObjKey {
                kind,
                namespace: ns.to_string(),
                name: name.to_string(),
            }),
            None => std::ops::Bound::Included(ObjKey {
                kind,
                namespace: namespace.unwrap_or("").to_string(),
                name: String::new(),
            }),
        };
        let items = inner
            .objects
            .range((start, std::ops::Bound::Unbounded))
            .take_while(|(k, _)| k.kind == kind && namespace.is_none_or(|ns| k.namespace == ns))
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.rv)
    }

    /// Runs `decide` on the current object under the store's lock and applies its decision.
    /// With `commit == false` (dry run) nothing is stored but the outcome is the same.
    pub fn mutate<E>(
        &self,
        key: &ObjKey,
        commit: bool,
        decide: impl FnOnce(Option<&Value>) -> Result<Decision, E>,
    ) -> Result<Outcome, E> {
        let mut inner = self.lock();
        let current = inner.objects.get(key).cloned();
        let decision = decide(current.as_deref())?;
        let (event, object) = match decision {
            Decision::Keep => {
                return Ok(Outcome {
                    object: current,
                    created: false,
                    deleted: false,
                });
            }
            Decision::Put(mut obj) => {
                // A dry run leaves the version as it was (absent for a creation).
                let rv = match (commit, &current) {
                    (true, _) => Some(Value::String((inner.rv + 1).to_string())),
                    (false, Some(c)) => c["metadata"].get("resourceVersion").cloned(),
                    (false, None) => None,
                };
                match rv {
                    Some(rv) => meta::set(&mut obj, &["metadata", "resourceVersion"], rv),
                    None => {
                        meta::remove(&mut obj, &["metadata", "resourceVersion"]);
                    }
                }
                let event = if current.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                };
                (event, Arc::new(obj))
            }
            Decision::Delete => match current {
                Some(obj) => (EventType::Deleted, obj),
                None => {
                    return Ok(Outcome {
                        object: None,
                        created: false,
                        deleted: false,
                    });
                }
            },
        };
        if commit {
            inner.rv += 1;
            let rv = inner.rv;
            let object = if event == EventType::Deleted {
                inner.objects.remove(key);
                let mut last = (*object).clone();
                meta::set(
                    &mut last,
                    &["metadata", "resourceVersion"],
                    Value::String(rv.to_string()),
                );
                Arc::new(last)
            } else {
                inner.objects.insert(key.clone(), object.clone());
                object.clone()
            };
            let change = Arc::new(Change {
                event,
                key: key.clone(),
                rv,
                object,
            });
            if inner.history.len() == HISTORY {
                inner.history.pop_front();
            }
            inner.history.push_back(change.clone());
            // No subscriber is fine.
            let _ = self.feed.send(change);
        }
        Ok(Outcome {
            object: Some(object),
            created: event == EventType::Added,
            deleted: event == EventType::Deleted,
        })
    }

    /// Every future change.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.feed.subscribe()
    }

    /// The changes a watch of `kind` in `namespace` starts with, the live feed after them and
    /// the current resourceVersion, taken atomically. `None` when `from` is older than the
    /// kept history.
    pub fn watch(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        from: WatchFrom,
    ) -> Option<WatchStart> {
        let inner = self.lock();
        let relevant = |k: &ObjKey| k.kind == kind && namespace.is_none_or(|ns| k.namespace == ns);
        let backlog = match from {
            WatchFrom::Current => inner
                .objects
                .iter()
                .filter(|(k, _)| relevant(k))
                .map(|(k, v)| {
                    Arc::new(Change {
                        event: EventType::Added,
                        key: k.clone(),
                        rv: inner.rv,
                        object: v.clone(),
                    })
                })
                .collect(),
            WatchFrom::Version(rv) => {
                let oldest = inner.history.front().map_or(inner.rv, |c| c.rv);
                if rv + 1 < oldest && rv < inner.rv {
                    return None;
                }
                inner
                    .history
                    .iter()
                    .filter(|c| c.rv > rv && relevant(&c.key))
                    .cloned()
                    .collect()
            }
        };
        Some(WatchStart {
            backlog,
            feed: self.feed.subscribe(),
            resource_version: inner.rv,
        })
    }

    /// Everything, for `--state`.
    pub fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        Snapshot {
            resource_version: inner.rv,
            objects: inner
                .objects
                .iter()
                .map(|(k, v)| (k.clone(), (**v).clone()))
                .collect(),
        }
    }

    /// Replaces the contents with a snapshot (at start-up, before anyone reads).
    pub fn restore(&self, snapshot: Snapshot) {
        let mut inner = self.lock();
        inner.rv = snapshot.resource_version;
        inner.history.clear();
        inner.objects = snapshot
            .objects
            .into_iter()
            .map(|(k, v)| (k, Arc::new(v)))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn put(store: &Store, name: &str) -> Outcome {
        let key = ObjKey::new(Kind::ConfigMap, "default", name);
        store
            .mutate::<()>(&key, true, |_| {
                Ok(Decision::Put(
                    json!({"metadata": {"name": name, "namespace": "default"}}),
                ))
            })
            .unwrap()
    }

    #[test]
    fn versions_increase_and_watch_resumes() {
        let store = Store::new();
        let a = put(&store, "a");
        assert!(a.created);
        let rv_a: u64 = a.object.unwrap()["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        put(&store, "b");
        put(&store, "a");
        let backlog = store
            .watch(Kind::ConfigMap, Some("default"), WatchFrom::Version(rv_a))
            .unwrap()
            .backlog;
        let names: Vec<_> = backlog.iter().map(|c| c.key.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(backlog[1].event, EventType::Modified);
        let (items, _) = store.list(Kind::ConfigMap, Some("default"), Some(("default", "a")));
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn watch_from_before_the_history_expires() {
        let store = Store::new();
        store.restore(Snapshot {
            resource_version: 100,
            objects: Vec::new(),
        });
        assert!(
            store
                .watch(Kind::ConfigMap, None, WatchFrom::Version(5))
                .is_none()
        );
        assert!(
            store
                .watch(Kind::ConfigMap, None, WatchFrom::Version(100))
                .is_some()
        );
    }

    #[test]
    fn dry_run_changes_nothing() {
        let store = Store::new();
        let key = ObjKey::new(Kind::ConfigMap, "default", "x");
        let out = store
            .mutate::<()>(&key, false, |_| Ok(Decision::Put(json!({}))))
            .unwrap();
        assert!(out.created);
        assert!(store.get(&key).is_none());
        assert_eq!(store.resource_version(), 1);
    }
}
