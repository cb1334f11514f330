//! Requests as plain values — method, path with query string, content type and body — that the
//! [`crate::host`] sends. Nothing here sends anything.
//!
//! Kubernetes API requests are built with kube's request layer (`kube::core::Request` and its
//! `*Params`) from an [`ApiResource`] that discovery found, and become the engine's [`Request`]
//! through one adapter, [`Request::from_http`]. Paths built by hand remain only where kube-core
//! has no builder:
//! - the discovery documents (`/api/v1`, `/apis`, `/apis/{group}/{version}`, in
//!   [`super::discovery`]): kube's client discovers with requests of its own, kube-core offers
//!   none;
//! - requests to services that are not Kubernetes (the history server, Slack, GitHub), built
//!   with [`Request::get`], [`Request::post_json`] and [`Request::patch_json`].

use kube::core::params::{DeleteParams, GetParams, ListParams, Patch, PatchParams, WatchParams};
use kube::core::{DynamicObject, GroupVersionKind, Resource as _};
use serde_json::Value;

pub use json_patch::jsonptr::PointerBuf;

/// An HTTP method the engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// Whether repeating the request after an unknown outcome is harmless.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post)
    }
}

/// A request relative to the server's base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// Path and query string, e.g. `/api/v1/namespaces/prod/pods?limit=10`.
    pub path: String,
    pub content_type: Option<&'static str>,
    pub body: Option<Vec<u8>>,
}

/// A request kube's builders refused (an invalid name or parameter) or that the engine cannot
/// send (a method or content type it does not know).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RequestError(String);

/// Content type of a JSON body.
pub const JSON: &str = "application/json";
/// Content type of a server-side apply.
pub const APPLY_PATCH: &str = "application/apply-patch+yaml";
/// Content type of an RFC 6902 JSON patch.
pub const JSON_PATCH: &str = "application/json-patch+json";
/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "shiplog";

impl Request {
    pub fn get(path: String) -> Self {
        Request {
            method: Method::Get,
            path,
            content_type: None,
            body: None,
        }
    }

    fn with_body(method: Method, path: String, body: &Value) -> Self {
        Request {
            method,
            path,
            content_type: Some(JSON),
            body: Some(body.to_string().into_bytes()),
        }
    }

    pub fn post_json(path: String, body: &Value) -> Self {
        Self::with_body(Method::Post, path, body)
    }

    pub fn patch_json(path: String, body: &Value) -> Self {
        Self::with_body(Method::Patch, path, body)
    }

    pub fn put_json(path: String, body: &Value) -> Self {
        Self::with_body(Method::Put, path, body)
    }

    /// A `DELETE` of `path` (for services that are not Kubernetes; kube's builders make the
    /// cluster's).
    pub fn delete(path: String) -> Self {
        Request {
            method: Method::Delete,
            ..Request::get(path)
        }
    }

    /// The adapter from a request kube's builders made. An empty body is no body.
    pub fn from_http(request: http::Request<Vec<u8>>) -> Result<Self, RequestError> {
        let (parts, body) = request.into_parts();
        let method = match parts.method {
            http::Method::GET => Method::Get,
            http::Method::POST => Method::Post,
            http::Method::PATCH => Method::Patch,
            http::Method::DELETE => Method::Delete,
            other => return Err(RequestError(format!("unsupported method {other}"))),
        };
        let content_type = match parts.headers.get(http::header::CONTENT_TYPE) {
            None => None,
            Some(value) => Some(
                [JSON, APPLY_PATCH, JSON_PATCH]
                    .into_iter()
                    .find(|known| value == known)
                    .ok_or_else(|| RequestError(format!("unsupported content type {value:?}")))?,
            ),
        };
        let path = tidy(
            parts
                .uri
                .path_and_query()
                .map_or(parts.uri.path(), |p| p.as_str()),
        );
        Ok(Request {
            method,
            path,
            content_type,
            body: (!body.is_empty()).then_some(body),
        })
    }
}

/// `path` without the empty query pairs kube's builders leave (`?&force=true`, a bare `?`),
/// as the request appears in logs.
fn tidy(path: &str) -> String {
    let Some((path, query)) = path.split_once('?') else {
        return path.to_owned();
    };
    let pairs: Vec<&str> = query.split('&').filter(|pair| !pair.is_empty()).collect();
    if pairs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

/// Builds with kube, then adapts.
fn built(
    request: Result<http::Request<Vec<u8>>, kube::core::request::Error>,
) -> Result<Request, RequestError> {
    Request::from_http(request.map_err(|e| RequestError(e.to_string()))?)
}

/// Percent-encodes a query value (RFC 3986 unreserved characters are kept), for the requests
/// to services that are not Kubernetes.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A kind the cluster serves, as discovery found it: kube's `ApiResource` (group, version,
/// kind, plural) and whether its objects live in namespaces, which kube's type does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResource {
    pub api: kube::core::ApiResource,
    pub namespaced: bool,
}

impl ApiResource {
    /// The kind `kind` of `api_version` (`v1`, `apps/v1`), served under `plural`.
    pub fn new(api_version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        ApiResource {
            api: kube::core::ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk(group, version, kind),
                plural,
            ),
            namespaced,
        }
    }

    pub fn kind(&self) -> &str {
        &self.api.kind
    }

    /// The collection path, in `namespace` when the kind is namespaced.
    pub fn collection(&self, namespace: Option<&str>) -> String {
        DynamicObject::url_path(&self.api, namespace.filter(|_| self.namespaced))
    }

    fn builder(&self, namespace: Option<&str>) -> kube::core::Request {
        kube::core::Request::new(self.collection(namespace))
    }

    pub fn get(&self, namespace: Option<&str>, name: &str) -> Result<Request, RequestError> {
        built(self.builder(namespace).get(name, &GetParams::default()))
    }

    /// Server-side apply of `object` (field manager `shiplog`), optionally a dry run; with
    /// `force`, fields other managers hold are taken over instead of refused (409).
    pub fn apply(
        &self,
        namespace: Option<&str>,
        name: &str,
        object: &Value,
        dry_run: bool,
        force: bool,
    ) -> Result<Request, RequestError> {
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.force = force;
        params.dry_run = dry_run;
        built(
            self.builder(namespace)
                .patch(name, &params, &Patch::Apply(object)),
        )
    }

    /// A JSON patch (RFC 6902) of one object.
    pub fn json_patch(
        &self,
        namespace: Option<&str>,
        name: &str,
        operations: json_patch::Patch,
    ) -> Result<Request, RequestError> {
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        built(
            self.builder(namespace)
                .patch(name, &params, &Patch::<()>::Json(operations)),
        )
    }

    /// Deletes one object (with the server's default propagation).
    pub fn delete(&self, namespace: Option<&str>, name: &str) -> Result<Request, RequestError> {
        built(
            self.builder(namespace)
                .delete(name, &DeleteParams::default()),
        )
    }

    /// A list filtered by a label selector (empty: everything).
    pub fn list(
        &self,
        namespace: Option<&str>,
        label_selector: &str,
    ) -> Result<Request, RequestError> {
        let mut params = ListParams::default();
        if !label_selector.is_empty() {
            params = params.labels(label_selector);
        }
        built(self.builder(namespace).list(&params))
    }

    /// Lists at most `limit` objects of the collection that match both selectors (an empty one
    /// matches everything): what a reader that only needs a sample asks for, so that the
    /// answer's size has a bound whatever the cluster holds.
    pub fn list_at_most(
        &self,
        namespace: Option<&str>,
        label_selector: &str,
        field_selector: &str,
        limit: u32,
    ) -> Result<Request, RequestError> {
        let mut params = ListParams::default().limit(limit);
        if !label_selector.is_empty() {
            params = params.labels(label_selector);
        }
        if !field_selector.is_empty() {
            params = params.fields(field_selector);
        }
        built(self.builder(namespace).list(&params))
    }

    /// Lists the collection, optionally narrowed by a field selector (`metadata.name=api`).
    pub fn list_fields(
        &self,
        namespace: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<Request, RequestError> {
        let mut params = ListParams::default();
        if let Some(selector) = field_selector {
            params = params.fields(selector);
        }
        built(self.builder(namespace).list(&params))
    }

    /// Watches the collection (optionally narrowed by a field selector) from
    /// `resource_version`, with bookmarks. The server ends it after kube's default timeout
    /// (290 s); the caller resumes from the last version it saw.
    pub fn watch(
        &self,
        namespace: Option<&str>,
        field_selector: Option<&str>,
        resource_version: &str,
    ) -> Result<Request, RequestError> {
        let mut params = WatchParams::default();
        if let Some(selector) = field_selector {
            params = params.fields(selector);
        }
        built(self.builder(namespace).watch(&params, resource_version))
    }
}

/// Which log of a container to read, and how much of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogTail {
    /// The last lines.
    pub lines: u32,
    /// At most this many bytes of them: a container can write lines of any length.
    pub limit_bytes: u32,
    /// The log of the container's previous instance (one that restarted): where a crash loop's
    /// cause is.
    pub previous: bool,
}

/// The tail of `container`'s log in pod `pod`, as `tail` says.
pub fn pod_log(
    pods: &ApiResource,
    namespace: &str,
    pod: &str,
    container: &str,
    tail: LogTail,
) -> Result<Request, RequestError> {
    // Built here rather than with kube's `LogParams`, whose `sinceTime` (a `jiff` timestamp)
    // would link a second date-time library into the Action for a parameter never sent.
    let mut path = format!(
        "{}/{}/log?container={}&tailLines={}&limitBytes={}",
        pods.collection(Some(namespace)),
        encode(pod),
        encode(container),
        tail.lines,
        tail.limit_bytes
    );
    if tail.previous {
        path.push_str("&previous=true");
    }
    Ok(Request::get(path))
}

/// A JSON patch (RFC 6902) of one operation: replace what is at `path` with `value`.
pub fn replace(path: PointerBuf, value: Value) -> json_patch::Patch {
    json_patch::Patch(vec![json_patch::PatchOperation::Replace(
        json_patch::ReplaceOperation { path, value },
    )])
}

/// The label selector of `matchLabels`, e.g. `app=api,tier=web`.
pub fn label_selector(match_labels: &Value) -> String {
    let mut pairs: Vec<String> = match_labels
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some(format!("{k}={}", v.as_str()?)))
        .collect();
    pairs.sort();
    pairs.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployments() -> ApiResource {
        ApiResource::new("apps/v1", "Deployment", "deployments", true)
    }

    /// The query parameters of `path`, decoded, in order.
    fn query(path: &str) -> Vec<(String, String)> {
        let query = path.split_once('?').map_or("", |(_, q)| q);
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    fn has(path: &str, name: &str, value: &str) -> bool {
        query(path).contains(&(name.to_owned(), value.to_owned()))
    }

    fn path_only(request: &Request) -> &str {
        request.path.split('?').next().unwrap()
    }

    #[test]
    fn apply_is_a_server_side_patch_by_shiplog_forced_when_asked() {
        let request = deployments()
            .apply(
                Some("prod"),
                "api",
                &json!({"kind": "Deployment"}),
                true,
                true,
            )
            .unwrap();
        assert_eq!(request.method, Method::Patch);
        assert_eq!(
            path_only(&request),
            "/apis/apps/v1/namespaces/prod/deployments/api"
        );
        for (name, value) in [
            ("fieldManager", "shiplog"),
            ("force", "true"),
            ("dryRun", "All"),
        ] {
            assert!(
                has(&request.path, name, value),
                "{name} in {}",
                request.path
            );
        }
        assert!(!request.path.contains("?&"), "{}", request.path);
        assert_eq!(request.content_type, Some(APPLY_PATCH));
        assert_eq!(request.body.unwrap(), br#"{"kind":"Deployment"}"#);
        let applied = deployments()
            .apply(Some("prod"), "api", &json!({}), false, false)
            .unwrap();
        assert!(!applied.path.contains("dryRun"), "{}", applied.path);
        assert!(!applied.path.contains("force"), "{}", applied.path);
    }

    #[test]
    fn core_and_cluster_scoped_paths() {
        let namespaces = ApiResource::new("v1", "Namespace", "namespaces", false);
        assert_eq!(
            namespaces.get(Some("ignored"), "prod").unwrap().path,
            "/api/v1/namespaces/prod"
        );
        assert_eq!(namespaces.collection(None), "/api/v1/namespaces");
        let delete = deployments().delete(Some("prod"), "api").unwrap();
        // The adapter drops the bare `?` kube leaves on a request without parameters.
        assert_eq!(
            (delete.method, delete.path.as_str()),
            (
                Method::Delete,
                "/apis/apps/v1/namespaces/prod/deployments/api"
            )
        );
        assert!(delete.method.is_idempotent());
    }

    #[test]
    fn a_json_patch_names_shiplog_as_its_manager() {
        let operations = replace(
            PointerBuf::from_tokens(["spec", "template"]),
            json!({"metadata": {}}),
        );
        let request = deployments()
            .json_patch(Some("prod"), "api", operations)
            .unwrap();
        assert_eq!(request.content_type, Some(JSON_PATCH));
        assert!(has(&request.path, "fieldManager", "shiplog"));
        let body: Value = serde_json::from_slice(&request.body.unwrap()).unwrap();
        assert_eq!(body[0]["path"], "/spec/template");
    }

    #[test]
    fn watches_and_selectors_are_encoded() {
        let watch = deployments()
            .watch(Some("prod"), Some("metadata.name=api"), "42")
            .unwrap();
        assert_eq!(
            path_only(&watch),
            "/apis/apps/v1/namespaces/prod/deployments"
        );
        for (name, value) in [
            ("watch", "true"),
            ("fieldSelector", "metadata.name=api"),
            ("resourceVersion", "42"),
            ("allowWatchBookmarks", "true"),
        ] {
            assert!(has(&watch.path, name, value), "{name} in {}", watch.path);
        }
        let selector = label_selector(&json!({"tier": "web", "app": "api"}));
        assert_eq!(selector, "app=api,tier=web");
        let list = deployments().list(Some("prod"), &selector).unwrap();
        assert!(
            has(&list.path, "labelSelector", "app=api,tier=web"),
            "{}",
            list.path
        );
        let pods = ApiResource::new("v1", "Pod", "pods", true);
        let tail = LogTail {
            lines: 20,
            limit_bytes: 4096,
            previous: true,
        };
        let log = pod_log(&pods, "prod", "api-1", "server", tail).unwrap();
        assert_eq!(path_only(&log), "/api/v1/namespaces/prod/pods/api-1/log");
        for (name, value) in [
            ("container", "server"),
            ("tailLines", "20"),
            ("limitBytes", "4096"),
            ("previous", "true"),
        ] {
            assert!(has(&log.path, name, value), "{name} in {}", log.path);
        }
        let events = ApiResource::new("v1", "Event", "events", true);
        let some = events
            .list_at_most(
                Some("prod"),
                "",
                "involvedObject.name=api-1,type=Warning",
                20,
            )
            .unwrap();
        for (name, value) in [
            ("fieldSelector", "involvedObject.name=api-1,type=Warning"),
            ("limit", "20"),
        ] {
            assert!(has(&some.path, name, value), "{name} in {}", some.path);
        }
        assert!(!some.path.contains("labelSelector"), "{}", some.path);
    }

    #[test]
    fn names_kube_refuses_are_errors_not_requests() {
        assert!(deployments().get(Some("prod"), "").is_err());
    }
}
