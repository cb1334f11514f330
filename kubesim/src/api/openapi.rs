//! The OpenAPI v3 documents kubectl reads before a validated apply: `/openapi/v3` (the index
//! of group/version documents) and one document per group/version whose PATCH operations
//! carry `x-kubernetes-group-version-kind` and a `fieldValidation` parameter, which is how
//! kubectl learns that the server validates fields itself. Schemas are left open: kubesim
//! validates on the server.

use serde_json::{Map, Value, json};

use crate::resources::{self, ResourceDef};

/// A version tag for the documents (changes only with the served kinds).
fn hash(group: &str, version: &str) -> String {
    crate::meta::short_hash(&json!([env!("CARGO_PKG_VERSION"), group, version]))
}

/// `/openapi/v3`.
pub fn index() -> Value {
    let mut paths = Map::new();
    for (group, version) in resources::group_versions() {
        let rel = resources::gv_path(group, version);
        paths.insert(
            rel.trim_start_matches('/').to_string(),
            json!({"serverRelativeURL": format!("/openapi/v3{rel}?hash={}", hash(group, version))}),
        );
    }
    json!({"paths": paths})
}

fn gvk(def: &ResourceDef) -> Value {
    json!({"group": def.group, "version": def.version, "kind": def.kind.name()})
}

fn query_param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn item_path(def: &ResourceDef) -> Value {
    let response = json!({"200": {"description": "OK", "content": {"application/json": {
        "schema": {"$ref": format!("#/components/schemas/{}", schema_name(def))}}}}});
    let params = json!([
        query_param("dryRun"),
        query_param("fieldManager"),
        query_param("fieldValidation"),
        query_param("force"),
    ]);
    let op = |action: &str| {
        json!({
            "description": format!("{action} the specified {}", def.kind.name()),
            "operationId": format!("{action}{}", def.kind.name()),
            "parameters": params,
            "responses": response,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk(def),
        })
    };
    json!({
        "get": op("get"),
        "put": op("put"),
        "patch": op("patch"),
        "delete": op("delete"),
        "parameters": [query_param("pretty")],
    })
}

fn schema_name(def: &ResourceDef) -> String {
    let group = match def.group {
        "" => "core".to_string(),
        "networking.k8s.io" => "networking".to_string(),
        g => g.to_string(),
    };
    format!("io.k8s.api.{group}.{}.{}", def.version, def.kind.name())
}

/// The document of one group/version; `None` when it is not served.
pub fn group_version(group: &str, version: &str) -> Option<Value> {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for def in resources::kinds_in(group, version) {
        let base = def.gv_path();
        let item = if def.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", def.plural)
        } else {
            format!("{base}/{}/{{name}}", def.plural)
        };
        paths.insert(item, item_path(def));
        schemas.insert(
            schema_name(def),
            json!({
                "type": "object",
                "description": format!("{} (kubesim: fields are validated by the server)", def.kind.name()),
                "x-kubernetes-group-version-kind": [gvk(def)],
                "x-kubernetes-preserve-unknown-fields": true,
            }),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (kubesim)", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_advertise_field_validation() {
        let index = index();
        assert!(
            index["paths"]["apis/apps/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .starts_with("/openapi/v3/apis/apps/v1?hash=")
        );
        let doc = group_version("apps", "v1").unwrap();
        let path = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
        assert_eq!(
            path["patch"]["x-kubernetes-group-version-kind"]["kind"],
            "Deployment"
        );
        assert!(
            path["patch"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
    }
}
