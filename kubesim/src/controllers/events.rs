//! Recording `v1` Events about objects, as controllers and the kubelet do: one Event per
//! (object, reason, message), whose `count` and `lastTimestamp` grow when it repeats; and,
//! as client-go's event aggregator does, once an object has had 10 different messages of
//! one type and reason (from one component) within 10 minutes, the further ones go to one
//! Event whose message is `(combined from similar events): ` and the latest message, and
//! whose count grows.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::meta;
use crate::registry::{self, WriteOptions};
use crate::resources::Kind;
use crate::store::{ObjKey, Store};

/// How many different messages of one kind an object gets before they are combined.
const MAX_SIMILAR: usize = 10;

/// How long different messages are remembered for combining.
const SIMILAR_WITHIN: Duration = Duration::from_secs(600);

/// The prefix of a combined Event's message.
pub const COMBINED: &str = "(combined from similar events): ";

/// The object (uid), type, reason and component whose different messages may be combined.
type Similar = (String, String, String, String);

/// What an Event's occurrences are counted by: the object, type, reason and component,
/// and the message (`None` for the combined Event).
type EventId = (String, String, String, String, Option<String>);

/// Remembers which Event each repeated occurrence belongs to.
#[derive(Default)]
pub struct Recorder {
    seen: HashMap<EventId, ObjKey>,
    /// The different messages of each object, type, reason and component lately, and when
    /// the last came.
    similar: HashMap<Similar, (HashSet<String>, Instant)>,
    sequence: u64,
}

impl Recorder {
    /// The id an occurrence is counted by, and the message it is recorded with.
    fn aggregate(&mut self, id: Similar, message: &str) -> (EventId, String) {
        let (messages, last) = self
            .similar
            .entry(id.clone())
            .or_insert_with(|| (HashSet::new(), Instant::now()));
        if last.elapsed() > SIMILAR_WITHIN {
            messages.clear();
        }
        *last = Instant::now();
        messages.insert(message.to_string());
        let (object, kind, reason, component) = id;
        if messages.len() < MAX_SIMILAR {
            let id = (object, kind, reason, component, Some(message.to_string()));
            return (id, message.to_string());
        }
        // Keep the set from growing, as the aggregator does.
        if let Some(any) = messages.iter().find(|m| *m != message).cloned() {
            messages.remove(&any);
        }
        (
            (object, kind, reason, component, None),
            format!("{COMBINED}{message}"),
        )
    }
}

impl Recorder {
    pub fn record(
        &mut self,
        store: &Store,
        involved: &Value,
        kind: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        let now = meta::now();
        let (id, message) = self.aggregate(
            (
                meta::uid(involved).to_string(),
                kind.to_string(),
                reason.to_string(),
                component.to_string(),
            ),
            message,
        );
        let message = message.as_str();
        if let Some(key) = self.seen.get(&id) {
            let bumped = registry::edit(store, key, |e| {
                let count = e["count"].as_i64().unwrap_or(1);
                e["count"] = json!(count + 1);
                e["lastTimestamp"] = json!(now);
                e["message"] = json!(message);
            });
            if bumped.is_some() {
                return;
            }
        }
        self.sequence += 1;
        let namespace = meta::namespace(involved).to_string();
        let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0) as u64;
        let name = format!(
            "{}.{:x}",
            meta::name(involved),
            nanos.wrapping_add(self.sequence)
        );
        let event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "kind": involved["kind"],
                "namespace": namespace,
                "name": meta::name(involved),
                "uid": meta::uid(involved),
                "apiVersion": involved["apiVersion"],
                "resourceVersion": involved["metadata"]["resourceVersion"],
            },
            "reason": reason,
            "message": message,
            "source": {"component": component, "host": if component == "kubelet" { super::NODE } else { "" }},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": kind,
            "eventTime": null,
            "reportingComponent": component,
            "reportingInstance": "",
        });
        match registry::create(
            store,
            Kind::Event,
            &namespace,
            event,
            &WriteOptions::controller(component),
        ) {
            Ok(created) => {
                self.seen.insert(id, ObjKey::of(Kind::Event, &created));
            }
            Err(e) => tracing::debug!("recording event: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenth_different_message_is_combined_and_counted_on_one_event() {
        let mut recorder = Recorder::default();
        let id = || {
            (
                "uid".to_string(),
                "Warning".to_string(),
                "FailedCreate".to_string(),
                "rs".to_string(),
            )
        };
        for n in 1..MAX_SIMILAR {
            let (key, message) = recorder.aggregate(id(), &format!("pod {n}"));
            assert_eq!(message, format!("pod {n}"));
            assert_eq!(key.4.as_deref(), Some(message.as_str()));
        }
        // A repeated message is still its own Event.
        assert_eq!(recorder.aggregate(id(), "pod 1").1, "pod 1");
        let (first, message) = recorder.aggregate(id(), "pod 10");
        assert_eq!(message, "(combined from similar events): pod 10");
        let (second, message) = recorder.aggregate(id(), "pod 11");
        assert_eq!(message, "(combined from similar events): pod 11");
        assert_eq!(first.4, None);
        assert_eq!(first, second);
    }
}
