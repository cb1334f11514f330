//! `metadata.managedFields`: who owns which fields. Server-side apply ([`apply`]) merges an
//! applied configuration, detects conflicts with other managers, and removes fields its
//! manager stopped applying; ordinary writes ([`record_update`]) take ownership of the fields
//! they change.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::fieldpath::{self, Display, Elem, FieldSet, MergeMode, Path};
use crate::meta;

/// One `managedFields` entry.
#[derive(Clone, Debug)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: Option<String>,
    fields: FieldSet,
}

fn read(obj: Option<&Value>) -> Vec<Entry> {
    let Some(obj) = obj else { return Vec::new() };
    meta::array_at(obj, &["metadata", "managedFields"])
        .iter()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or("").into(),
            operation: e["operation"].as_str().unwrap_or("Update").into(),
            api_version: e["apiVersion"].as_str().unwrap_or("").into(),
            time: e["time"].as_str().unwrap_or("").into(),
            subresource: e["subresource"].as_str().map(String::from),
            fields: FieldSet::from_fields_v1(&e["fieldsV1"]),
        })
        .collect()
}

fn write(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": e.fields.to_fields_v1(),
            });
            if let Some(sub) = &e.subresource {
                v["subresource"] = json!(sub);
            }
            v
        })
        .collect();
    if list.is_empty() {
        meta::remove(obj, &["metadata", "managedFields"]);
    } else {
        meta::set(obj, &["metadata", "managedFields"], Value::Array(list));
    }
}

/// The fields of `obj` that managers can own: not its identity, bookkeeping or status.
fn owned_fields(obj: &Value, has_status: bool) -> FieldSet {
    let mut stripped = obj.clone();
    if let Some(map) = stripped.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
        if has_status {
            map.remove("status");
        }
    }
    for field in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "managedFields",
        "selfLink",
    ] {
        meta::remove(&mut stripped, &["metadata", field]);
    }
    if meta::at(&stripped, &["metadata"])
        .and_then(Value::as_object)
        .is_some_and(|m| m.is_empty())
    {
        meta::remove(&mut stripped, &["metadata"]);
    }
    FieldSet::of(&stripped)
}

/// Who asks for a write.
pub struct Manager<'a> {
    pub name: &'a str,
    /// `apps/v1`
    pub api_version: &'a str,
    /// The kind has a status subresource (its status is not owned through the main resource).
    pub has_status: bool,
    pub time: &'a str,
}

/// An apply that conflicts with other managers' fields.
#[derive(Debug, PartialEq)]
pub struct Conflicts {
    /// `Apply failed with 1 conflict: conflict with "x" using apps/v1: .spec.replicas`
    pub message: String,
    /// (cause message, field) pairs.
    pub causes: Vec<(String, String)>,
}

fn leaf(path: &Path) -> bool {
    matches!(path.last(), Some(Elem::Field(_)))
}

/// Server-side apply of `applied` by `who` over `live` (absent on create). Returns the new
/// object with updated `managedFields`.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    who: &Manager<'_>,
    force: bool,
) -> Result<Value, Conflicts> {
    let mut entries = read(live);
    let fields = owned_fields(applied, who.has_status);
    let empty = Value::Null;
    let live_value = live.unwrap_or(&empty);

    // Fields other managers own with a different value.
    let mut conflicts: BTreeMap<(String, String), Vec<Path>> = BTreeMap::new();
    for entry in entries
        .iter()
        .filter(|e| !(e.manager == who.name && e.operation == "Apply"))
    {
        for path in entry.fields.0.intersection(&fields.0) {
            if leaf(path)
                && fieldpath::value_at(live_value, path) != fieldpath::value_at(applied, path)
            {
                conflicts
                    .entry((entry.manager.clone(), entry.api_version.clone()))
                    .or_default()
                    .push(path.clone());
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflict_error(&conflicts));
    }
    for entry in entries
        .iter_mut()
        .filter(|e| !(e.manager == who.name && e.operation == "Apply"))
    {
        for paths in conflicts.values() {
            for path in paths {
                entry.fields.0.remove(path);
            }
        }
    }

    let mut merged = live.cloned().unwrap_or_else(|| json!({}));
    fieldpath::merge(&mut merged, applied, MergeMode::Apply);

    // Fields this manager applied before, no longer applies, and nobody else owns.
    let own = entries
        .iter()
        .position(|e| e.manager == who.name && e.operation == "Apply");
    if let Some(i) = own {
        let previous = &entries[i].fields;
        for path in previous.0.difference(&fields.0) {
            let shared = entries
                .iter()
                .enumerate()
                .any(|(j, e)| j != i && e.fields.contains(path));
            if !shared {
                fieldpath::remove_at(&mut merged, path);
            }
        }
    }
    let entry = Entry {
        manager: who.name.to_string(),
        operation: "Apply".into(),
        api_version: who.api_version.to_string(),
        time: who.time.to_string(),
        subresource: None,
        fields,
    };
    match own {
        Some(i) => entries[i] = entry,
        None => entries.push(entry),
    }
    write(&mut merged, &entries);
    Ok(merged)
}

fn conflict_error(conflicts: &BTreeMap<(String, String), Vec<Path>>) -> Conflicts {
    let total: usize = conflicts.values().map(Vec::len).sum();
    let mut causes = Vec::new();
    for ((manager, api_version), paths) in conflicts {
        for path in paths {
            causes.push((
                format!("conflict with \"{manager}\" using {api_version}"),
                Display(path).to_string(),
            ));
        }
    }
    let detail = if total == 1 {
        format!("{}: {}", causes[0].0, causes[0].1)
    } else {
        let mut lines = Vec::new();
        for ((manager, api_version), paths) in conflicts {
            lines.push(format!("conflicts with \"{manager}\" using {api_version}:"));
            lines.extend(paths.iter().map(|p| format!("- {}", Display(p))));
        }
        lines.join("\n")
    };
    Conflicts {
        message: format!(
            "Apply failed with {total} conflict{}: {detail}",
            if total == 1 { "" } else { "s" }
        ),
        causes,
    }
}

/// Records an ordinary write (create, update, patch) by `who`: it takes ownership of every
/// field whose value it changed; fields that disappeared are owned by nobody.
pub fn record_update(old: Option<&Value>, new: &mut Value, who: &Manager<'_>) {
    let mut entries = read(old);
    let new_fields = owned_fields(new, who.has_status);
    let changed: Vec<Path> = new_fields
        .0
        .iter()
        .filter(|p| old.is_none_or(|o| fieldpath::value_at(o, p) != fieldpath::value_at(new, p)))
        .cloned()
        .collect();
    for entry in &mut entries {
        entry.fields.0.retain(|p| new_fields.contains(p));
        if entry.manager != who.name || entry.operation != "Update" {
            for path in &changed {
                entry.fields.0.remove(path);
            }
        }
    }
    match entries
        .iter_mut()
        .find(|e| e.manager == who.name && e.operation == "Update")
    {
        Some(entry) => {
            if !changed.is_empty() {
                entry.time = who.time.to_string();
            }
            entry.fields.0.extend(changed);
        }
        None => entries.push(Entry {
            manager: who.name.to_string(),
            operation: "Update".into(),
            api_version: who.api_version.to_string(),
            time: who.time.to_string(),
            subresource: None,
            fields: FieldSet(changed.into_iter().collect()),
        }),
    }
    write(new, &entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(name: &str) -> Manager<'_> {
        Manager {
            name,
            api_version: "apps/v1",
            has_status: true,
            time: "2025-01-01T00:00:00Z",
        }
    }

    fn deploy(replicas: i64, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "c", "image": image}]}}}})
    }

    #[test]
    fn same_manager_reapplies_and_drops_fields() {
        let first = apply(None, &deploy(2, "a"), &who("kubectl"), false).unwrap();
        let mut second_cfg = deploy(2, "b");
        meta::remove(&mut second_cfg, &["spec", "replicas"]);
        let second = apply(Some(&first), &second_cfg, &who("kubectl"), false).unwrap();
        assert_eq!(
            second["spec"]["template"]["spec"]["containers"][0]["image"],
            "b"
        );
        assert!(second["spec"].get("replicas").is_none());
        assert_eq!(
            second["metadata"]["managedFields"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn other_manager_conflicts_unless_forced() {
        let first = apply(None, &deploy(2, "a"), &who("kubectl"), false).unwrap();
        let err = apply(Some(&first), &deploy(3, "a"), &who("shiplog"), false).unwrap_err();
        assert_eq!(
            err.message,
            "Apply failed with 1 conflict: conflict with \"kubectl\" using apps/v1: .spec.replicas"
        );
        // Same values are shared, not conflicting.
        assert!(apply(Some(&first), &deploy(2, "a"), &who("shiplog"), false).is_ok());
        let forced = apply(Some(&first), &deploy(3, "a"), &who("shiplog"), true).unwrap();
        assert_eq!(forced["spec"]["replicas"], 3);
        let again = apply(Some(&forced), &deploy(2, "a"), &who("kubectl"), false).unwrap_err();
        assert!(again.message.contains("\"shiplog\""));
    }

    #[test]
    fn updates_take_ownership() {
        let applied = apply(None, &deploy(2, "a"), &who("kubectl"), false).unwrap();
        let mut edited = applied.clone();
        edited["spec"]["replicas"] = json!(5);
        record_update(Some(&applied), &mut edited, &who("kubectl-edit"));
        let err = apply(Some(&edited), &deploy(2, "a"), &who("kubectl"), false).unwrap_err();
        assert!(err.message.contains("kubectl-edit"), "{}", err.message);
    }
}
