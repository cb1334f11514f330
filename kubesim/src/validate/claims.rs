//! PersistentVolumeClaims as the API server validates them: access modes, the storage request,
//! the class name and volume mode; and on update, the spec of a claim frozen once created but
//! for `volumeName` (set once, by the binder), a class given to a claim that had none, and —
//! for a bound claim — `resources.requests`, whose storage may grow but never fall to
//! `status.capacity` or below.

use serde_json::{Value, json};

use super::{name_errors, quote};
use crate::error::{ApiError, FieldError};
use crate::meta;
use crate::quantity::{self, Quantity};
use crate::resources::NameRule;

const ACCESS_MODES: [&str; 4] = [
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
const VOLUME_MODES: [&str; 2] = ["Block", "Filesystem"];

/// The annotation that named a claim's class before `storageClassName`.
pub const BETA_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

/// The fields of a claim's spec as Go names them, in their order (for the immutability
/// message's diff).
const SPEC_FIELDS: [(&str, &str); 9] = [
    ("accessModes", "AccessModes"),
    ("selector", "Selector"),
    ("resources", "Resources"),
    ("volumeName", "VolumeName"),
    ("storageClassName", "StorageClassName"),
    ("volumeMode", "VolumeMode"),
    ("dataSource", "DataSource"),
    ("dataSourceRef", "DataSourceRef"),
    ("volumeAttributesClassName", "VolumeAttributesClassName"),
];

/// What the API server says of a claim it changes but must not.
pub const IMMUTABLE: &str = "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";

/// A quantity that does not decode fails the whole request (`400`), as decoding does before
/// any validation.
pub fn decode(obj: &Value) -> Result<(), ApiError> {
    let undecodable = ["requests", "limits"]
        .iter()
        .flat_map(|part| meta::map_at(obj, &["spec", "resources", part]).values())
        .any(|q| Quantity::of(q).is_none());
    if undecodable {
        return Err(ApiError::bad_request(format!(
            "PersistentVolumeClaim in version \"v1\" cannot be handled as a PersistentVolumeClaim: {}",
            quantity::FORMAT_ERROR
        )));
    }
    Ok(())
}

/// The problems of a claim's spec.
pub fn errors(obj: &Value, errors: &mut Vec<FieldError>) {
    let modes = meta::array_at(obj, &["spec", "accessModes"]);
    if modes.is_empty() {
        errors.push(FieldError::required(
            "spec.accessModes",
            "at least 1 access mode is required",
        ));
    }
    for mode in modes {
        let mode = mode.as_str().unwrap_or("");
        if !ACCESS_MODES.contains(&mode) {
            errors.push(FieldError::not_supported(
                "spec.accessModes",
                mode,
                &ACCESS_MODES,
            ));
        }
    }
    let once_pod = modes.iter().any(|m| m == "ReadWriteOncePod");
    let others = modes
        .iter()
        .any(|m| m != "ReadWriteOncePod" && ACCESS_MODES.iter().any(|a| m == a));
    if once_pod && others {
        errors.push(FieldError::forbidden(
            "spec.accessModes",
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
    let storage = "spec.resources[storage]";
    match meta::at(obj, &["spec", "resources", "requests", "storage"]).and_then(Quantity::of) {
        None => errors.push(FieldError::required(storage, "")),
        Some(q) if !q.is_positive() => errors.push(FieldError::invalid(
            storage,
            quote(&q.canonical()),
            "must be greater than zero",
        )),
        Some(_) => {}
    }
    if let Some(class) = meta::str_at(obj, &["spec", "storageClassName"]).filter(|c| !c.is_empty())
    {
        errors.extend(name_errors(
            class,
            NameRule::Subdomain,
            "spec.storageClassName",
        ));
    }
    if let Some(mode) = meta::str_at(obj, &["spec", "volumeMode"])
        && !VOLUME_MODES.contains(&mode)
    {
        errors.push(FieldError::not_supported(
            "spec.volumeMode",
            mode,
            &VOLUME_MODES,
        ));
    }
}

/// Sets `field` of `spec` to `value`, or removes it when `None`.
fn put(spec: &mut Value, field: &str, value: Option<Value>) {
    match value {
        Some(v) => meta::set(spec, &[field], v),
        None => {
            meta::remove(spec, &[field]);
        }
    }
}

/// The storage a claim requests.
fn requested(claim: &Value) -> Option<Quantity> {
    meta::at(claim, &["spec", "resources", "requests", "storage"]).and_then(Quantity::of)
}

/// The problems of changing `old` into `obj`.
pub fn update_errors(obj: &Value, old: &Value, errors: &mut Vec<FieldError>) {
    let spec = |o: &Value| o.get("spec").cloned().unwrap_or_else(|| json!({}));
    let (mut new_spec, mut old_spec) = (spec(obj), spec(old));
    if meta::str_at(old, &["spec", "volumeName"]).is_none_or(str::is_empty) {
        put(
            &mut old_spec,
            "volumeName",
            new_spec.get("volumeName").cloned(),
        );
    }
    let had_class = old_spec.get("storageClassName").is_some()
        || meta::map_at(old, &["metadata", "annotations"]).contains_key(BETA_CLASS_ANNOTATION);
    if !had_class {
        put(&mut new_spec, "storageClassName", None);
    }
    for s in [&mut new_spec, &mut old_spec] {
        put(s, "volumeAttributesClassName", None);
    }
    let bound = meta::str_at(obj, &["status", "phase"]) == Some("Bound");
    if bound && let Some(requests) = meta::at(&new_spec, &["resources", "requests"]).cloned() {
        let mut requests = requests;
        put(
            &mut requests,
            "storage",
            meta::at(old, &["spec", "resources", "requests", "storage"]).cloned(),
        );
        meta::set(&mut new_spec, &["resources", "requests"], requests);
    }
    if new_spec != old_spec {
        errors.push(FieldError::forbidden(
            "spec",
            &format!("{IMMUTABLE}\n{}", spec_diff(&old_spec, &new_spec)),
        ));
    }
    let capacity = meta::at(old, &["status", "capacity", "storage"]).and_then(Quantity::of);
    if let (Some(new), Some(was)) = (requested(obj), requested(old))
        && new < was
        && capacity.is_some_and(|c| new <= c)
    {
        errors.push(FieldError::forbidden(
            "spec.resources.requests.storage",
            "field can not be less than status.capacity",
        ));
    }
    let mode = |o: &Value| meta::str_at(o, &["spec", "volumeMode"]).map(String::from);
    if mode(obj) != mode(old) {
        let value = mode(obj).map_or_else(|| "null".to_string(), |m| quote(&m));
        errors.push(FieldError::invalid(
            "volumeMode",
            value,
            "field is immutable",
        ));
    }
}

/// The changed fields of a claim's spec, in the shape of the Go diff the API server appends
/// (values written as JSON).
fn spec_diff(old: &Value, new: &Value) -> String {
    let mut fields: Vec<(String, String)> = SPEC_FIELDS
        .iter()
        .map(|(json, go)| (json.to_string(), go.to_string()))
        .collect();
    for s in [old, new] {
        for key in meta::map_at(s, &[]).keys() {
            if !fields.iter().any(|(json, _)| json == key) {
                fields.push((key.clone(), key.clone()));
            }
        }
    }
    let render = |v: Option<&Value>| v.map_or_else(|| "nil".to_string(), Value::to_string);
    let mut lines = vec!["  core.PersistentVolumeClaimSpec{".to_string()];
    for (json, go) in fields {
        let (was, now) = (old.get(&json), new.get(&json));
        if was != now {
            lines.push(format!("- \t{go}: {},", render(was)));
            lines.push(format!("+ \t{go}: {},", render(now)));
        }
    }
    lines.push("  }".into());
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(modes: Value, storage: &str, phase: &str) -> Value {
        json!({"metadata": {"name": "data"}, "spec": {"accessModes": modes,
            "resources": {"requests": {"storage": storage}}, "volumeMode": "Filesystem",
            "storageClassName": "standard", "volumeName": "pvc-1"},
            "status": {"phase": phase, "capacity": {"storage": storage}}})
    }

    fn messages(f: impl FnOnce(&mut Vec<FieldError>)) -> Vec<String> {
        let mut errors = Vec::new();
        f(&mut errors);
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn claims_need_access_modes_and_a_positive_storage_request() {
        let bad = json!({"spec": {"accessModes": ["ReadWriteOncePod", "ReadWriteOnce", "Sometimes"],
            "resources": {"requests": {"storage": "0"}}, "volumeMode": "Raw"}});
        assert_eq!(
            messages(|e| errors(&bad, e)),
            [
                "spec.accessModes: Unsupported value: \"Sometimes\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
                "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
                "spec.resources[storage]: Invalid value: \"0\": must be greater than zero",
                "spec.volumeMode: Unsupported value: \"Raw\": supported values: \"Block\", \"Filesystem\"",
            ]
        );
        assert_eq!(
            messages(|e| errors(&json!({"spec": {}}), e)),
            [
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Required value",
            ]
        );
        let undecodable = json!({"spec": {"resources": {"requests": {"storage": "5GB"}}}});
        assert_eq!(decode(&undecodable).unwrap_err().code.as_u16(), 400);
    }

    #[test]
    fn a_bound_claim_may_only_grow() {
        let old = claim(json!(["ReadWriteOnce"]), "1Gi", "Bound");
        assert!(messages(|e| update_errors(&old, &old, e)).is_empty());
        let grown = claim(json!(["ReadWriteOnce"]), "2Gi", "Bound");
        assert!(messages(|e| update_errors(&grown, &old, e)).is_empty());
        let shrunk = claim(json!(["ReadWriteOnce"]), "512Mi", "Bound");
        assert_eq!(
            messages(|e| update_errors(&shrunk, &old, e)),
            [
                "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
            ]
        );
        let shared = claim(json!(["ReadWriteMany"]), "1Gi", "Bound");
        let refused = messages(|e| update_errors(&shared, &old, e));
        assert_eq!(refused.len(), 1);
        assert_eq!(
            refused[0],
            format!(
                "spec: Forbidden: {IMMUTABLE}\n  core.PersistentVolumeClaimSpec{{\n- \tAccessModes: [\"ReadWriteOnce\"],\n+ \tAccessModes: [\"ReadWriteMany\"],\n  }}"
            )
        );
        let mut block = old.clone();
        block["spec"]["volumeMode"] = json!("Block");
        let refused = messages(|e| update_errors(&block, &old, e));
        assert_eq!(
            refused.last().map(String::as_str),
            Some("volumeMode: Invalid value: \"Block\": field is immutable")
        );
        // Before binding the binder sets volumeName; the request may not change.
        let mut pending = claim(json!(["ReadWriteOnce"]), "1Gi", "Pending");
        meta::remove(&mut pending, &["spec", "volumeName"]);
        let bound = claim(json!(["ReadWriteOnce"]), "1Gi", "Pending");
        assert!(messages(|e| update_errors(&bound, &pending, e)).is_empty());
        let more = claim(json!(["ReadWriteOnce"]), "2Gi", "Pending");
        assert_eq!(messages(|e| update_errors(&more, &bound, e)).len(), 1);
    }
}
