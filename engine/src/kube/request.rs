//! Requests to the API server as plain values: method, path with query string, content type
//! and body. Nothing here sends anything.

use serde_json::Value;

/// An HTTP method the engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
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

impl Request {
    pub fn get(path: String) -> Self {
        Request {
            method: Method::Get,
            path,
            content_type: None,
            body: None,
        }
    }

    fn with_body(method: Method, path: String, content_type: &'static str, body: &Value) -> Self {
        Request {
            method,
            path,
            content_type: Some(content_type),
            body: Some(body.to_string().into_bytes()),
        }
    }

    pub fn post_json(path: String, body: &Value) -> Self {
        Self::with_body(Method::Post, path, "application/json", body)
    }

    pub fn patch_json(path: String, body: &Value) -> Self {
        Self::with_body(Method::Patch, path, "application/json", body)
    }
}

/// Content type of a server-side apply.
pub const APPLY_PATCH: &str = "application/apply-patch+yaml";
/// Content type of an RFC 6902 JSON patch.
pub const JSON_PATCH: &str = "application/json-patch+json";
/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "shiplog";

/// Percent-encodes a query value (RFC 3986 unreserved characters are kept).
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

fn query(pairs: &[(&str, &str)]) -> String {
    let joined: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if joined.is_empty() {
        String::new()
    } else {
        format!("?{}", joined.join("&"))
    }
}

/// A kind the cluster serves: where its objects live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResource {
    /// `v1` or `group/version`.
    pub api_version: String,
    pub kind: String,
    /// The path segment, e.g. `deployments`.
    pub plural: String,
    pub namespaced: bool,
}

impl ApiResource {
    /// The collection path, in `namespace` when the kind is namespaced.
    pub fn collection(&self, namespace: Option<&str>) -> String {
        let root = if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        };
        match namespace.filter(|_| self.namespaced) {
            Some(ns) => format!("{root}/namespaces/{ns}/{}", self.plural),
            None => format!("{root}/{}", self.plural),
        }
    }

    /// The path of one object.
    pub fn item(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}/{name}", self.collection(namespace))
    }

    pub fn get(&self, namespace: Option<&str>, name: &str) -> Request {
        Request::get(self.item(namespace, name))
    }

    /// Server-side apply of `object` (force, field manager `shiplog`), optionally a dry run.
    pub fn apply(
        &self,
        namespace: Option<&str>,
        name: &str,
        object: &Value,
        dry_run: bool,
    ) -> Request {
        let mut pairs = vec![("fieldManager", FIELD_MANAGER), ("force", "true")];
        if dry_run {
            pairs.push(("dryRun", "All"));
        }
        let path = format!("{}{}", self.item(namespace, name), query(&pairs));
        Request::with_body(Method::Patch, path, APPLY_PATCH, object)
    }

    /// A JSON patch (RFC 6902) of one object.
    pub fn json_patch(&self, namespace: Option<&str>, name: &str, ops: &Value) -> Request {
        let path = format!(
            "{}{}",
            self.item(namespace, name),
            query(&[("fieldManager", FIELD_MANAGER)])
        );
        Request::with_body(Method::Patch, path, JSON_PATCH, ops)
    }

    /// Deletes one object (with the server's default propagation).
    pub fn delete(&self, namespace: Option<&str>, name: &str) -> Request {
        Request {
            method: Method::Delete,
            path: self.item(namespace, name),
            content_type: None,
            body: None,
        }
    }

    /// A list filtered by a label selector (empty: everything).
    pub fn list(&self, namespace: Option<&str>, label_selector: &str) -> Request {
        let pairs: Vec<(&str, &str)> = if label_selector.is_empty() {
            Vec::new()
        } else {
            vec![("labelSelector", label_selector)]
        };
        Request::get(format!("{}{}", self.collection(namespace), query(&pairs)))
    }

    /// A watch of the object `name` from `resource_version`.
    /// Lists the collection, optionally narrowed by a field selector (`metadata.name=api`).
    pub fn list_fields(&self, namespace: Option<&str>, field_selector: Option<&str>) -> Request {
        let pairs: Vec<(&str, &str)> = field_selector
            .map(|selector| ("fieldSelector", selector))
            .into_iter()
            .collect();
        Request::get(format!("{}{}", self.collection(namespace), query(&pairs)))
    }

    /// Watches the collection (optionally narrowed by a field selector) from
    /// `resource_version`, with bookmarks.
    pub fn watch(
        &self,
        namespace: Option<&str>,
        field_selector: Option<&str>,
        resource_version: &str,
    ) -> Request {
        let mut pairs = vec![("watch", "true")];
        pairs.extend(field_selector.map(|selector| ("fieldSelector", selector)));
        pairs.extend([
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
        ]);
        Request::get(format!("{}{}", self.collection(namespace), query(&pairs)))
    }
}

/// The last `lines` lines of `container`'s log in pod `pod`.
pub fn pod_log(namespace: &str, pod: &str, container: &str, lines: u32) -> Request {
    let tail = lines.to_string();
    Request::get(format!(
        "/api/v1/namespaces/{namespace}/pods/{pod}/log{}",
        query(&[("container", container), ("tailLines", &tail)])
    ))
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
        ApiResource {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            plural: "deployments".into(),
            namespaced: true,
        }
    }

    #[test]
    fn apply_is_a_forced_server_side_patch_by_shiplog() {
        let request =
            deployments().apply(Some("prod"), "api", &json!({"kind": "Deployment"}), true);
        assert_eq!(request.method, Method::Patch);
        assert_eq!(
            request.path,
            "/apis/apps/v1/namespaces/prod/deployments/api?fieldManager=shiplog&force=true&dryRun=All"
        );
        assert_eq!(request.content_type, Some(APPLY_PATCH));
        assert_eq!(request.body.unwrap(), br#"{"kind":"Deployment"}"#);
    }

    #[test]
    fn core_and_cluster_scoped_paths() {
        let namespaces = ApiResource {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            plural: "namespaces".into(),
            namespaced: false,
        };
        assert_eq!(
            namespaces.item(Some("ignored"), "prod"),
            "/api/v1/namespaces/prod"
        );
        assert_eq!(namespaces.collection(None), "/api/v1/namespaces");
        let delete = deployments().delete(Some("prod"), "api");
        assert_eq!(
            (delete.method.as_str(), delete.path.as_str(), delete.body),
            (
                "DELETE",
                "/apis/apps/v1/namespaces/prod/deployments/api",
                None
            )
        );
        assert!(delete.method.is_idempotent());
    }

    #[test]
    fn watches_and_selectors_are_encoded() {
        assert_eq!(
            deployments()
                .watch(Some("prod"), Some("metadata.name=api"), "42")
                .path,
            "/apis/apps/v1/namespaces/prod/deployments?watch=true&fieldSelector=metadata.name%3Dapi&resourceVersion=42&allowWatchBookmarks=true"
        );
        let selector = label_selector(&json!({"tier": "web", "app": "api"}));
        assert_eq!(selector, "app=api,tier=web");
        assert_eq!(
            deployments().list(Some("prod"), &selector).path,
            "/apis/apps/v1/namespaces/prod/deployments?labelSelector=app%3Dapi%2Ctier%3Dweb"
        );
        assert_eq!(
            pod_log("prod", "api-1", "server", 20).path,
            "/api/v1/namespaces/prod/pods/api-1/log?container=server&tailLines=20"
        );
    }
}
