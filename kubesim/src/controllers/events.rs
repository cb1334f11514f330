//! Recording `v1` Events about objects, as controllers and the kubelet do: one Event per
//! (object, reason, message), whose `count` and `lastTimestamp` grow when it repeats.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::meta;
use crate::registry::{self, WriteOptions};
use crate::resources::Kind;
use crate::store::{ObjKey, Store};

/// Remembers which Event each repeated occurrence belongs to.
#[derive(Default)]
pub struct Recorder {
    seen: HashMap<(String, String, String), ObjKey>,
    sequence: u64,
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
        let id = (
            meta::uid(involved).to_string(),
            reason.to_string(),
            message.to_string(),
        );
        if let Some(key) = self.seen.get(&id) {
            let bumped = registry::edit(store, key, |e| {
                let count = e["count"].as_i64().unwrap_or(1);
                e["count"] = json!(count + 1);
                e["lastTimestamp"] = json!(now);
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
