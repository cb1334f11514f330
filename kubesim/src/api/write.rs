//! The write side of the HTTP API: decodes bodies (JSON or YAML) and query options
//! (`dryRun`, `fieldManager`, `force`, `fieldValidation`), calls the registry, and renders
//! the answer (201 on creation, a `Status` on deletion). Also the `scale` subresource.

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::read::{item_key, render_one, scale_of};
use super::{Request, json_response};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::meta;
use crate::registry::{self, PatchType, WriteOptions};
use crate::store::ObjKey;
use crate::{protobuf, schema};

fn content_type(req: &Request) -> &str {
    req.headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
}

/// Decodes a JSON or YAML body, or protobuf for the kinds [`protobuf`] knows; anything else
/// (protobuf of other kinds, CBOR) is refused with `415`.
fn decode(req: &Request, body: &Bytes) -> ApiResult<Value> {
    let content_type = content_type(req);
    if content_type.contains("protobuf") {
        return protobuf::decode(req.target.kind, body)
            .ok_or_else(|| ApiError::unsupported_media_type(content_type));
    }
    if content_type.contains("cbor") {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the body of the request was empty"));
    }
    serde_json::from_slice(body).or_else(|json_err| {
        serde_norway::from_slice::<Value>(body).map_err(|_| {
            ApiError::bad_request(format!(
                "the body of the request could not be decoded: {json_err}"
            ))
        })
    })
}

fn options(req: &Request) -> ApiResult<WriteOptions> {
    let dry_run = match req.param("dryRun") {
        None => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "dryRun: Unsupported value: \"{other}\": supported values: \"All\""
            )));
        }
    };
    let default_manager = req
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.split('/').next())
        .unwrap_or("unknown");
    Ok(WriteOptions {
        dry_run,
        field_manager: req
            .param("fieldManager")
            .unwrap_or(default_manager)
            .to_string(),
        force: req.flag("force"),
        track_fields: true,
    })
}

/// Applies `fieldValidation` to a body: `Strict` rejects unknown fields (with the messages of
/// a real server, which differ for apply), `Warn` (the default) drops them and returns one
/// warning each, `Ignore` drops them silently.
fn check_fields(req: &Request, body: &mut Value, apply: bool) -> ApiResult<Vec<String>> {
    let strict = match req.param("fieldValidation").unwrap_or("Warn") {
        "Strict" => true,
        "Warn" | "Ignore" => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            )));
        }
    };
    let unknown = schema::unknown_fields(req.target.kind, body, !strict);
    if unknown.is_empty() || req.param("fieldValidation") == Some("Ignore") {
        return Ok(Vec::new());
    }
    let listed: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{}\"", f.trim_start_matches('.')))
        .collect();
    if !strict {
        return Ok(listed);
    }
    if apply {
        let def = req.target.kind.def();
        let ns = req.target.namespace.as_deref().unwrap_or("");
        let name = req.target.name.as_deref().unwrap_or(meta::name(body));
        let id = if ns.is_empty() {
            name.to_string()
        } else {
            format!("{ns}/{name}")
        };
        return Err(ApiError::bad_request(format!(
            "failed to create typed patch object ({id}; {}, Kind={}): {}: field not declared in schema",
            def.api_version(),
            def.kind.name(),
            unknown[0]
        )));
    }
    Err(ApiError::bad_request(format!(
        "strict decoding error: {}",
        listed.join(", ")
    )))
}

/// Adds one `Warning` header per warning, as the API server does.
fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for warning in warnings {
        let text = format!("299 - {}", Value::String(warning.clone()));
        if let Ok(value) = header::HeaderValue::from_str(&text) {
            response.headers_mut().append("warning", value);
        }
    }
    response
}

pub fn create(app: &AppState, req: &Request, body: &Bytes) -> ApiResult<Response> {
    if req.target.name.is_some() {
        return Err(ApiError::method_not_allowed());
    }
    let mut obj = decode(req, body)?;
    let warnings = check_fields(req, &mut obj, false)?;
    let opts = options(req)?;
    let namespace = req.target.namespace.as_deref().unwrap_or("");
    let created = registry::create(&app.sim.store, req.target.kind, namespace, obj, &opts)?;
    Ok(with_warnings(
        render_one(req, &created, StatusCode::CREATED),
        &warnings,
    ))
}

pub fn update(app: &AppState, req: &Request, body: &Bytes) -> ApiResult<Response> {
    let key = item_key(req).ok_or_else(ApiError::method_not_allowed)?;
    let mut obj = decode(req, body)?;
    let opts = options(req)?;
    match req.target.subresource.as_deref() {
        None => {
            let warnings = check_fields(req, &mut obj, false)?;
            let updated = registry::update(&app.sim.store, &key, obj, &opts)?;
            Ok(with_warnings(
                render_one(req, &updated, StatusCode::OK),
                &warnings,
            ))
        }
        Some("scale") if key.kind.def().has_scale => {
            let replicas = meta::i64_at(&obj, &["spec", "replicas"]).unwrap_or(0);
            scale_to(app, &key, replicas, &opts)
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn scale_to(
    app: &AppState,
    key: &ObjKey,
    replicas: i64,
    opts: &WriteOptions,
) -> ApiResult<Response> {
    let (updated, _) = registry::patch(
        &app.sim.store,
        key,
        PatchType::Merge,
        &json!({"spec": {"replicas": replicas}}),
        opts,
    )?;
    Ok(json_response(
        StatusCode::OK,
        "application/json",
        &scale_of(&updated),
    ))
}

pub fn patch(app: &AppState, req: &Request, body: &Bytes) -> ApiResult<Response> {
    let key = item_key(req).ok_or_else(ApiError::method_not_allowed)?;
    let content_type = content_type(req);
    let patch_type = PatchType::from_content_type(content_type)
        .ok_or_else(|| ApiError::unsupported_media_type(content_type))?;
    let mut patch = decode(req, body)?;
    let opts = options(req)?;
    match req.target.subresource.as_deref() {
        None => {
            let warnings = if patch_type == PatchType::Json {
                Vec::new()
            } else {
                check_fields(req, &mut patch, patch_type == PatchType::Apply)?
            };
            let (obj, created) = registry::patch(&app.sim.store, &key, patch_type, &patch, &opts)?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(with_warnings(render_one(req, &obj, status), &warnings))
        }
        Some("scale") if key.kind.def().has_scale && patch_type != PatchType::Apply => {
            let current = app
                .sim
                .store
                .get(&key)
                .ok_or_else(|| ApiError::not_found(key.kind.def(), &key.name))?;
            let mut scale = scale_of(&current);
            match patch_type {
                PatchType::Json => {
                    let ops: json_patch::Patch = serde_json::from_value(patch)
                        .map_err(|e| ApiError::bad_request(e.to_string()))?;
                    json_patch::patch(&mut scale, &ops)
                        .map_err(|e| ApiError::bad_request(e.to_string()))?;
                }
                _ => json_patch::merge(&mut scale, &patch),
            }
            let replicas = meta::i64_at(&scale, &["spec", "replicas"]).unwrap_or(0);
            scale_to(app, &key, replicas, &opts)
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

pub fn delete(app: &AppState, req: &Request, body: &Bytes) -> ApiResult<Response> {
    let dry_run = options(req)?.dry_run
        || decode(req, body)
            .is_ok_and(|b| meta::array_at(&b, &["dryRun"]).iter().any(|v| v == "All"));
    let store = &app.sim.store;
    let Some(key) = item_key(req) else {
        // Collection delete: every object the selectors match.
        let labels =
            crate::selector::LabelSelector::parse(req.param("labelSelector").unwrap_or(""))?;
        let fields =
            crate::selector::FieldSelector::parse(req.param("fieldSelector").unwrap_or(""))?;
        let (items, rv) = store.list(req.target.kind, req.target.namespace.as_deref(), None);
        let mut deleted = Vec::new();
        for item in items
            .iter()
            .filter(|o| labels.matches(o) && fields.matches(o))
        {
            if let Ok(last) = registry::delete(store, &ObjKey::of(req.target.kind, item), dry_run) {
                deleted.push((*last).clone());
            }
        }
        let def = req.target.kind.def();
        let body = json!({"kind": format!("{}List", def.kind.name()), "apiVersion": def.api_version(),
            "metadata": {"resourceVersion": rv.to_string()}, "items": deleted});
        return Ok(json_response(StatusCode::OK, "application/json", &body));
    };
    if req.target.subresource.is_some() {
        return Err(ApiError::method_not_allowed());
    }
    let last = registry::delete(store, &key, dry_run)?;
    let def = key.kind.def();
    let status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": key.name, "group": def.group, "kind": def.plural, "uid": meta::uid(&last)},
    });
    Ok(json_response(StatusCode::OK, "application/json", &status))
}
