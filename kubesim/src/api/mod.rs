//! The HTTP API: fixed routes for version, discovery, OpenAPI and health, and one handler for
//! every resource path, which parses the path and hands the request to the read side
//! (`read`: get, list, watch, logs) or the write side (`write`: create, update, patch,
//! delete, scale).

pub mod discovery;
pub mod openapi;
pub mod path;
mod read;
pub mod table;
mod write;

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// How the client wants objects rendered (from `Accept`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Object,
    Table,
    Metadata,
}

impl Format {
    fn from_headers(headers: &HeaderMap) -> Self {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept.contains("as=Table") {
            Format::Table
        } else if accept.contains("as=PartialObjectMetadata") {
            Format::Metadata
        } else {
            Format::Object
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Table => "application/json;as=Table;v=v1;g=meta.k8s.io",
            Format::Metadata => "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
            Format::Object => "application/json",
        }
    }
}

/// A JSON answer with `status` and `content_type`.
pub fn json_response(status: StatusCode, content_type: &str, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, content_type.to_string())],
        serde_json::to_vec(body).expect("JSON values serialize"),
    )
        .into_response()
}

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, "application/json", &body)
}

fn found(body: Option<Value>) -> Response {
    body.map_or_else(|| ApiError::path_not_found().into_response(), ok)
}

/// The routes of the API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/version", get(|| async { ok(discovery::version()) }))
        .route(
            "/api",
            get(|State(app): State<AppState>| async move {
                ok(discovery::core_versions(&app.server_address))
            }),
        )
        .route("/apis", get(|| async { ok(discovery::groups()) }))
        .route(
            "/api/{version}",
            get(|UrlPath(v): UrlPath<String>| async move { found(discovery::resource_list("", &v)) }),
        )
        .route(
            "/apis/{group}",
            get(|UrlPath(g): UrlPath<String>| async move { found(discovery::group(&g)) }),
        )
        .route(
            "/apis/{group}/{version}",
            get(|UrlPath((g, v)): UrlPath<(String, String)>| async move {
                found(discovery::resource_list(&g, &v))
            }),
        )
        .route("/openapi/v3", get(|| async { ok(openapi::index()) }))
        .route("/openapi/v3/{*path}", get(openapi_document))
        .route("/healthz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .fallback(resource)
}

async fn openapi_document(UrlPath(path): UrlPath<String>) -> Response {
    let parts: Vec<&str> = path.split('/').collect();
    let doc = match parts.as_slice() {
        ["api", version] => openapi::group_version("", version),
        ["apis", group, version] => openapi::group_version(group, version),
        _ => None,
    };
    found(doc)
}

/// The parts of a resource request the handlers need.
pub struct Request {
    pub target: path::Target,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub format: Format,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("true" | "1"))
    }
}

async fn resource(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let Some(target) = path::parse(uri.path()) else {
        return ApiError::path_not_found().into_response();
    };
    let format = Format::from_headers(&headers);
    let req = Request {
        target,
        query,
        headers,
        format,
    };
    let result: ApiResult<Response> = match method {
        Method::GET if req.target.watch || req.flag("watch") => read::watch(&app, &req),
        Method::GET => read::get_or_list(&app, &req),
        Method::POST => write::create(&app, &req, &body),
        Method::PUT => write::update(&app, &req, &body),
        Method::PATCH => write::patch(&app, &req, &body),
        Method::DELETE => write::delete(&app, &req, &body),
        _ => Err(ApiError::method_not_allowed()),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}
