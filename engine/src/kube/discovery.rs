//! Which kinds the cluster serves, from the legacy discovery documents (`/api/v1`, `/apis`,
//! `/apis/{group}/{version}`): for each `apiVersion` and kind, its plural and whether it is
//! namespaced. Pure: the caller fetches the documents. Their paths are built here by hand:
//! kube-core has no request builder for discovery.

use std::collections::HashMap;

use serde_json::Value;

use super::request::{ApiResource, Request};

/// The kinds a cluster serves.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    resources: HashMap<(String, String), ApiResource>,
}

/// The request for the group list (`/apis`); `/api/v1` is always fetched too.
pub fn groups_request() -> Request {
    Request::get("/apis".into())
}

/// The resource-list requests for every version of every group in the `/apis` answer.
pub fn group_version_requests(groups: &Value) -> Vec<Request> {
    let mut requests = vec![Request::get("/api/v1".into())];
    for group in groups["groups"].as_array().into_iter().flatten() {
        for version in group["versions"].as_array().into_iter().flatten() {
            if let Some(gv) = version["groupVersion"].as_str() {
                requests.push(Request::get(format!("/apis/{gv}")));
            }
        }
    }
    requests
}

impl Discovery {
    /// Adds the kinds of one `APIResourceList`; subresources (`pods/log`) are skipped.
    pub fn add(&mut self, list: &Value) {
        let Some(api_version) = list["groupVersion"].as_str() else {
            return;
        };
        for resource in list["resources"].as_array().into_iter().flatten() {
            let (Some(plural), Some(kind)) = (resource["name"].as_str(), resource["kind"].as_str())
            else {
                continue;
            };
            if plural.contains('/') {
                continue;
            }
            self.resources.insert(
                (api_version.to_owned(), kind.to_owned()),
                ApiResource::new(
                    api_version,
                    kind,
                    plural,
                    resource["namespaced"].as_bool().unwrap_or(true),
                ),
            );
        }
    }

    /// Where objects of `kind` in `api_version` live, if the cluster serves them.
    pub fn resource(&self, api_version: &str, kind: &str) -> Option<&ApiResource> {
        self.resources
            .get(&(api_version.to_owned(), kind.to_owned()))
    }

    pub fn serves(&self, api_version: &str, kind: &str) -> bool {
        self.resource(api_version, kind).is_some()
    }

    /// A core (`v1`) or `apps/v1` kind the engine itself needs (pods, events, ReplicaSets).
    pub fn builtin(api_version: &str, kind: &str, plural: &str) -> ApiResource {
        ApiResource::new(api_version, kind, plural, kind != "Namespace")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_are_found_by_api_version_and_subresources_skipped() {
        let groups = json!({"groups": [{"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}]}]});
        let paths: Vec<String> = group_version_requests(&groups)
            .into_iter()
            .map(|r| r.path)
            .collect();
        assert_eq!(paths, ["/api/v1", "/apis/apps/v1"]);
        let mut discovery = Discovery::default();
        discovery.add(&json!({"groupVersion": "v1", "resources": [
            {"name": "namespaces", "kind": "Namespace", "namespaced": false},
            {"name": "pods", "kind": "Pod", "namespaced": true},
            {"name": "pods/log", "kind": "Pod", "namespaced": true}]}));
        discovery.add(&json!({"groupVersion": "apps/v1", "resources": [
            {"name": "deployments", "kind": "Deployment", "namespaced": true}]}));
        assert!(!discovery.resource("v1", "Namespace").unwrap().namespaced);
        assert_eq!(discovery.resource("v1", "Pod").unwrap().api.plural, "pods");
        assert!(discovery.serves("apps/v1", "Deployment"));
        assert!(!discovery.serves("extensions/v1beta1", "Deployment"));
    }
}
