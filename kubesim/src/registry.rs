//! The write path every client and controller goes through: create, update, patch (JSON
//! patch, merge patch, strategic merge patch, server-side apply) and delete, each as one
//! atomic read-modify-write on the store. It fills in system metadata, applies defaults,
//! validates, admits new pods against the namespace's quotas ([`crate::quota`]), bumps
//! `generation`, records `managedFields`, and honours dry runs.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::fieldpath::{self, MergeMode};
use crate::managed::{self, Manager};
use crate::meta;
use crate::resources::Kind;
use crate::store::{Decision, ObjKey, Store};
use crate::{defaults, validate};

/// How a write is asked for.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// `dryRun=All`: validate and answer, store nothing.
    pub dry_run: bool,
    /// `fieldManager` (or the default derived from the user agent).
    pub field_manager: String,
    /// `force=true` for server-side apply.
    pub force: bool,
    /// Record `managedFields` (controllers' own status writes skip it).
    pub track_fields: bool,
}

impl WriteOptions {
    /// The options of a simulated controller.
    pub fn controller(manager: &str) -> Self {
        Self {
            dry_run: false,
            field_manager: manager.to_string(),
            force: true,
            track_fields: false,
        }
    }
}

/// The body format of a PATCH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let mime = content_type.split(';').next().unwrap_or("").trim();
        Some(match mime {
            "application/json-patch+json" => PatchType::Json,
            "application/merge-patch+json" => PatchType::Merge,
            "application/strategic-merge-patch+json" => PatchType::Strategic,
            "application/apply-patch+yaml" | "application/apply-patch+json" => PatchType::Apply,
            _ => return None,
        })
    }
}

/// Kinds whose `metadata.generation` tracks spec changes.
fn has_generation(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Deployment
            | Kind::ReplicaSet
            | Kind::StatefulSet
            | Kind::DaemonSet
            | Kind::Job
            | Kind::CronJob
            | Kind::Ingress
            | Kind::Pod
            | Kind::PodDisruptionBudget
            | Kind::HorizontalPodAutoscaler
    )
}

/// Kinds the API server creates with a status of its own (defaulted, not the client's).
fn created_with_status(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Namespace | Kind::Service | Kind::PersistentVolumeClaim | Kind::PodDisruptionBudget
    )
}

/// Checks what a body says about itself against where it is sent.
fn check_identity(kind: Kind, key: Option<&ObjKey>, obj: &Value) -> ApiResult<()> {
    let def = kind.def();
    let api_version = def.api_version();
    match obj["apiVersion"].as_str() {
        Some(v) if v != api_version => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
        _ => {}
    }
    match obj["kind"].as_str() {
        Some(k) if k != kind.name() => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                kind.name()
            )));
        }
        _ => {}
    }
    if let Some(key) = key {
        let name = meta::name(obj);
        if !name.is_empty() && name != key.name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({name}) does not match the name on the URL ({})",
                key.name
            )));
        }
        let ns = meta::namespace(obj);
        if def.namespaced && !ns.is_empty() && ns != key.namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    Ok(())
}

/// Turns the requested object into the one to store: identity, system metadata kept from
/// `old`, defaults, validation, generation.
fn finish(
    kind: Kind,
    key: &ObjKey,
    old: Option<&Value>,
    mut obj: Value,
    opts: &WriteOptions,
) -> ApiResult<Value> {
    let def = kind.def();
    meta::object_mut(&mut obj);
    strip_nulls(&mut obj);
    obj["apiVersion"] = json!(def.api_version());
    obj["kind"] = json!(kind.name());
    meta::set(&mut obj, &["metadata", "name"], json!(key.name));
    if def.namespaced {
        meta::set(&mut obj, &["metadata", "namespace"], json!(key.namespace));
    } else {
        meta::remove(&mut obj, &["metadata", "namespace"]);
    }
    let now = meta::now();
    match old {
        Some(old) => {
            for field in ["uid", "creationTimestamp", "deletionTimestamp"] {
                match meta::at(old, &["metadata", field]) {
                    Some(v) => meta::set(&mut obj, &["metadata", field], v.clone()),
                    None => {
                        meta::remove(&mut obj, &["metadata", field]);
                    }
                }
            }
            if def.has_status && opts.track_fields {
                match old.get("status") {
                    Some(s) => obj["status"] = s.clone(),
                    None => {
                        meta::object_mut(&mut obj).remove("status");
                    }
                }
            }
        }
        None => {
            meta::set(&mut obj, &["metadata", "uid"], json!(meta::new_uid()));
            meta::set(&mut obj, &["metadata", "creationTimestamp"], json!(now));
            if def.has_status && opts.track_fields && kind != Kind::Namespace {
                meta::object_mut(&mut obj).remove("status");
            }
        }
    }
    defaults::apply(kind, &mut obj, old);
    validate::validate(kind, &obj, old)?;
    if has_generation(kind) {
        let previous = old.and_then(|o| meta::i64_at(o, &["metadata", "generation"]));
        let spec_changed = old.is_none_or(|o| o.get("spec") != obj.get("spec"));
        let generation = match previous {
            Some(g) if spec_changed => g + 1,
            Some(g) => g,
            None => 1,
        };
        meta::set(&mut obj, &["metadata", "generation"], json!(generation));
    }
    if opts.track_fields && kind != Kind::Event {
        let api_version = def.api_version();
        managed::record_update(
            old,
            &mut obj,
            &Manager {
                name: &opts.field_manager,
                api_version: &api_version,
                has_status: def.has_status,
                time: &now,
            },
        );
    }
    Ok(obj)
}

/// Whether `new` would store nothing new over `old`: equal but for the resourceVersion and
/// the times in `managedFields` (a repeated apply is a no-op, as on a real server).
fn unchanged(old: &Value, new: &Value) -> bool {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return false;
    };
    if old.len() != new.len()
        || old
            .iter()
            .any(|(k, v)| k != "metadata" && new.get(k) != Some(v))
    {
        return false;
    }
    let (Some(om), Some(nm)) = (
        old.get("metadata").and_then(Value::as_object),
        new.get("metadata").and_then(Value::as_object),
    ) else {
        return false;
    };
    let skip = |k: &str| k == "resourceVersion" || k == "managedFields";
    let count = |m: &serde_json::Map<String, Value>| m.keys().filter(|k| !skip(k)).count();
    if count(om) != count(nm) || om.iter().any(|(k, v)| !skip(k) && nm.get(k) != Some(v)) {
        return false;
    }
    let entries = |m: &serde_json::Map<String, Value>| -> Vec<Value> {
        m.get("managedFields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let mut e = e.clone();
                        meta::remove(&mut e, &["time"]);
                        e
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    entries(om) == entries(nm)
}

/// `Put(new)`, or `Keep` when nothing would change.
fn put_unless_unchanged(current: Option<&Value>, new: Value) -> Decision {
    match current {
        Some(old) if unchanged(old, &new) => Decision::Keep,
        _ => Decision::Put(new),
    }
}

/// Drops `null` map values, which typed storage cannot hold (Go clients send
/// `creationTimestamp: null` inside pod templates).
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn namespace_exists(store: &Store, kind: Kind, namespace: &str) -> ApiResult<()> {
    if kind.def().namespaced
        && store
            .get(&ObjKey::new(Kind::Namespace, "", namespace))
            .is_none()
    {
        return Err(ApiError::namespace_not_found(namespace));
    }
    Ok(())
}

/// Admission of a new object: a pod must fit the namespace's quotas.
fn admit(store: &Store, kind: Kind, namespace: &str, name: &str) -> ApiResult<()> {
    match kind {
        Kind::Pod => crate::quota::admit_pod(store, namespace, name),
        _ => Ok(()),
    }
}

/// Creates `obj` in `namespace`. Honours `generateName`.
pub fn create(
    store: &Store,
    kind: Kind,
    namespace: &str,
    obj: Value,
    opts: &WriteOptions,
) -> ApiResult<Arc<Value>> {
    check_identity(kind, None, &obj)?;
    let ns = if kind.def().namespaced {
        match meta::namespace(&obj) {
            "" => namespace,
            ns if ns == namespace || namespace.is_empty() => ns,
            _ => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
        }
    } else {
        ""
    }
    .to_string();
    let mut name = meta::name(&obj).to_string();
    if name.is_empty()
        && let Some(prefix) = meta::str_at(&obj, &["metadata", "generateName"])
    {
        name = format!("{prefix}{}", meta::random_suffix());
    }
    namespace_exists(store, kind, &ns)?;
    admit(store, kind, &ns, &name)?;
    let key = ObjKey::new(kind, &ns, &name);
    let outcome = store.mutate(&key, !opts.dry_run, |current| {
        if current.is_some() {
            return Err(ApiError::already_exists(kind.def(), &name));
        }
        Ok(Decision::Put(finish(kind, &key, None, obj, opts)?))
    })?;
    Ok(outcome.object.expect("created"))
}

/// Replaces the object at `key` (PUT). A `resourceVersion` in the body must be current.
pub fn update(
    store: &Store,
    key: &ObjKey,
    obj: Value,
    opts: &WriteOptions,
) -> ApiResult<Arc<Value>> {
    check_identity(key.kind, Some(key), &obj)?;
    let outcome = store.mutate(key, !opts.dry_run, |current| {
        let Some(current) = current else {
            return Err(ApiError::not_found(key.kind.def(), &key.name));
        };
        let sent = meta::str_at(&obj, &["metadata", "resourceVersion"]).unwrap_or("");
        if !sent.is_empty() && Some(sent) != meta::str_at(current, &["metadata", "resourceVersion"])
        {
            return Err(ApiError::stale(key.kind.def(), &key.name));
        }
        Ok(Decision::Put(finish(
            key.kind,
            key,
            Some(current),
            obj,
            opts,
        )?))
    })?;
    Ok(outcome.object.expect("updated"))
}

/// Applies a PATCH body. Server-side apply creates the object when it is absent; the
/// returned flag says whether it did.
pub fn patch(
    store: &Store,
    key: &ObjKey,
    patch_type: PatchType,
    body: &Value,
    opts: &WriteOptions,
) -> ApiResult<(Arc<Value>, bool)> {
    let kind = key.kind;
    let def = kind.def();
    if patch_type == PatchType::Apply {
        check_identity(kind, Some(key), body)?;
        if body["apiVersion"].as_str().is_none() || body["kind"].as_str().is_none() {
            return Err(ApiError::bad_request(
                "apiVersion and kind must be set in an apply patch",
            ));
        }
        if opts.field_manager.is_empty() {
            return Err(ApiError::bad_request(
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            ));
        }
        if store.get(key).is_none() {
            namespace_exists(store, kind, &key.namespace)?;
            admit(store, kind, &key.namespace, &key.name)?;
        }
    }
    let outcome = store.mutate(key, !opts.dry_run, |current| {
        let patched = match (patch_type, current) {
            (PatchType::Apply, current) => {
                let api_version = def.api_version();
                let now = meta::now();
                let who = Manager {
                    name: &opts.field_manager,
                    api_version: &api_version,
                    has_status: def.has_status,
                    time: &now,
                };
                let mut applied = body.clone();
                meta::set(&mut applied, &["metadata", "name"], json!(key.name));
                if def.namespaced {
                    meta::set(
                        &mut applied,
                        &["metadata", "namespace"],
                        json!(key.namespace),
                    );
                }
                let merged = managed::apply(current, &applied, &who, opts.force)
                    .map_err(|c| ApiError::apply_conflict(c.message, c.causes))?;
                let untracked = WriteOptions {
                    track_fields: false,
                    ..opts.clone()
                };
                let mut obj = finish(kind, key, current, merged, &untracked)?;
                if def.has_status {
                    // Status is never applied through the main resource.
                    match current.and_then(|c| c.get("status")) {
                        Some(s) => obj["status"] = s.clone(),
                        None if !created_with_status(kind) => {
                            meta::object_mut(&mut obj).remove("status");
                        }
                        None => {}
                    }
                }
                return Ok(put_unless_unchanged(current, obj));
            }
            (_, None) => return Err(ApiError::not_found(def, &key.name)),
            (PatchType::Json, Some(current)) => {
                let ops: json_patch::Patch = serde_json::from_value(body.clone())
                    .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
                let mut doc = current.clone();
                json_patch::patch(&mut doc, &ops).map_err(|e| {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", e.to_string())
                })?;
                doc
            }
            (PatchType::Merge, Some(current)) => {
                let mut doc = current.clone();
                json_patch::merge(&mut doc, body);
                doc
            }
            (PatchType::Strategic, Some(current)) => {
                let mut doc = current.clone();
                fieldpath::merge(&mut doc, body, MergeMode::Strategic);
                doc
            }
        };
        let sent = meta::str_at(body, &["metadata", "resourceVersion"]).unwrap_or("");
        let current = current.expect("checked above");
        if !sent.is_empty() && Some(sent) != meta::str_at(current, &["metadata", "resourceVersion"])
        {
            return Err(ApiError::stale(def, &key.name));
        }
        check_identity(kind, Some(key), &patched)?;
        Ok(Decision::Put(finish(
            kind,
            key,
            Some(current),
            patched,
            opts,
        )?))
    })?;
    Ok((outcome.object.expect("patched"), outcome.created))
}

/// Deletes the object at `key`; returns its last state.
pub fn delete(store: &Store, key: &ObjKey, dry_run: bool) -> ApiResult<Arc<Value>> {
    let outcome = store.mutate(key, !dry_run, |current| match current {
        Some(_) => Ok(Decision::Delete),
        None => Err(ApiError::not_found(key.kind.def(), &key.name)),
    })?;
    let last = outcome.object.expect("deleted");
    if key.kind == Kind::Namespace && !dry_run {
        delete_namespace_contents(store, &key.name);
    }
    Ok(last)
}

/// Deletes every namespaced object in `namespace`.
fn delete_namespace_contents(store: &Store, namespace: &str) {
    for kind in Kind::all().filter(|k| k.def().namespaced) {
        let (items, _) = store.list(kind, Some(namespace), None);
        for item in items {
            // Already gone is fine.
            let _ = delete(store, &ObjKey::of(kind, &item), false);
        }
    }
}

/// Writes `status` of the object at `key` as a controller does (no validation, no field
/// tracking); nothing is written when it is unchanged or the object is gone.
pub fn write_status(store: &Store, key: &ObjKey, status: Value) {
    let _ = store.mutate::<()>(key, true, |current| {
        Ok(match current {
            Some(c) if c.get("status") != Some(&status) => {
                let mut next = c.clone();
                next["status"] = status;
                Decision::Put(next)
            }
            _ => Decision::Keep,
        })
    });
}

/// Modifies the object at `key` with `edit` as a controller does; nothing is written when the
/// edit changes nothing or the object is gone.
pub fn edit(store: &Store, key: &ObjKey, edit: impl FnOnce(&mut Value)) -> Option<Arc<Value>> {
    store
        .mutate::<()>(key, true, |current| {
            Ok(match current {
                Some(c) => {
                    let mut next = c.clone();
                    edit(&mut next);
                    if next == *c {
                        Decision::Keep
                    } else {
                        Decision::Put(next)
                    }
                }
                None => Decision::Keep,
            })
        })
        .ok()
        .and_then(|o| o.object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(manager: &str) -> WriteOptions {
        WriteOptions {
            dry_run: false,
            field_manager: manager.into(),
            force: false,
            track_fields: true,
        }
    }

    fn store_with_ns() -> Store {
        let store = Store::new();
        create(
            &store,
            Kind::Namespace,
            "",
            json!({"metadata": {"name": "default"}}),
            &opts("t"),
        )
        .unwrap();
        store
    }

    fn deployment(image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": image}]}}}})
    }

    #[test]
    fn apply_creates_then_bumps_generation() {
        let store = store_with_ns();
        let key = ObjKey::new(Kind::Deployment, "default", "web");
        let (obj, created) = patch(
            &store,
            &key,
            PatchType::Apply,
            &deployment("a:1"),
            &opts("kubectl"),
        )
        .unwrap();
        assert!(created);
        assert_eq!(obj["metadata"]["generation"], 1);
        assert_eq!(obj["spec"]["replicas"], 1);
        let (obj, created) = patch(
            &store,
            &key,
            PatchType::Apply,
            &deployment("a:2"),
            &opts("kubectl"),
        )
        .unwrap();
        assert!(!created);
        assert_eq!(obj["metadata"]["generation"], 2);
        let (same, _) = patch(
            &store,
            &key,
            PatchType::Apply,
            &deployment("a:2"),
            &opts("kubectl"),
        )
        .unwrap();
        assert_eq!(same["metadata"]["generation"], 2);
    }

    #[test]
    fn missing_namespace_and_dry_run() {
        let store = store_with_ns();
        let key = ObjKey::new(Kind::Deployment, "nope", "web");
        let err = patch(&store, &key, PatchType::Apply, &deployment("a"), &opts("k")).unwrap_err();
        assert_eq!(err.message, "namespaces \"nope\" not found");
        let key = ObjKey::new(Kind::Deployment, "default", "web");
        let dry = WriteOptions {
            dry_run: true,
            ..opts("k")
        };
        patch(&store, &key, PatchType::Apply, &deployment("a"), &dry).unwrap();
        assert!(store.get(&key).is_none());
    }

    #[test]
    fn merge_and_json_patches() {
        let store = store_with_ns();
        let key = ObjKey::new(Kind::Deployment, "default", "web");
        create(
            &store,
            Kind::Deployment,
            "default",
            deployment("a"),
            &opts("k"),
        )
        .unwrap();
        let (obj, _) = patch(
            &store,
            &key,
            PatchType::Merge,
            &json!({"metadata": {"annotations": {"x": "y"}}}),
            &opts("kubectl-annotate"),
        )
        .unwrap();
        assert_eq!(obj["metadata"]["annotations"]["x"], "y");
        let (obj, _) = patch(
            &store,
            &key,
            PatchType::Json,
            &json!([{"op": "replace", "path": "/spec/replicas", "value": 3}]),
            &opts("k"),
        )
        .unwrap();
        assert_eq!(obj["spec"]["replicas"], 3);
        let err = patch(
            &store,
            &key,
            PatchType::Merge,
            &json!({"spec": {"selector": {"matchLabels": {"app": "other"}}}}),
            &opts("k"),
        )
        .unwrap_err();
        assert_eq!(err.code.as_u16(), 422);
    }
}
