//! `/version` and legacy discovery (`/api`, `/apis`, `/api/v1`, `/apis/{group}/{version}`),
//! which kubectl accepts when the aggregated format is not offered.

use serde_json::{Value, json};

use crate::resources::{self, ResourceDef};

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-kubesim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "kubesim",
        "compiler": "kubesim",
        "platform": "linux/amd64",
    })
}

pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_json(group: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({"name": group, "versions": [gv], "preferredVersion": gv})
}

pub fn groups() -> Value {
    let groups: Vec<Value> = resources::group_versions()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| group_json(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(group: &str) -> Option<Value> {
    resources::group_versions()
        .into_iter()
        .find(|(g, _)| *g == group && !g.is_empty())
        .map(|(g, v)| {
            let mut doc = group_json(g, v);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            doc
        })
}

fn verbs(def: &ResourceDef) -> Vec<&'static str> {
    vec![
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ]
    .into_iter()
    .filter(|v| def.kind != crate::resources::Kind::Namespace || *v != "deletecollection")
    .collect()
}

/// The `APIResourceList` of one group/version, `None` when it is not served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for def in resources::kinds_in(group, version) {
        let mut main = json!({
            "name": def.plural,
            "singularName": def.singular,
            "namespaced": def.namespaced,
            "kind": def.kind.name(),
            "verbs": verbs(def),
        });
        if !def.short_names.is_empty() {
            main["shortNames"] = json!(def.short_names);
        }
        if def.in_all {
            main["categories"] = json!(["all"]);
        }
        resources.push(main);
        let sub = |name: &str, kind: &str, verbs: &[&str]| {
            json!({"name": format!("{}/{name}", def.plural), "singularName": "",
                "namespaced": def.namespaced, "kind": kind, "verbs": verbs})
        };
        if def.has_status {
            resources.push(sub("status", def.kind.name(), &["get", "patch", "update"]));
        }
        if def.has_scale {
            let mut scale = sub("scale", "Scale", &["get", "patch", "update"]);
            scale["group"] = json!("autoscaling");
            scale["version"] = json!("v1");
            resources.push(scale);
        }
        if def.kind == crate::resources::Kind::Pod {
            resources.push(sub("log", "Pod", &["get"]));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_lists_every_group() {
        let names: Vec<String> = groups()["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "apps",
                "batch",
                "networking.k8s.io",
                "policy",
                "autoscaling"
            ]
        );
        let apps = resource_list("apps", "v1").unwrap();
        assert!(
            apps["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["name"] == "deployments/scale")
        );
        let policy = resource_list("policy", "v1").unwrap();
        let budgets = &policy["resources"][0];
        assert_eq!(budgets["name"], "poddisruptionbudgets");
        assert_eq!(budgets["shortNames"], json!(["pdb"]));
        assert_eq!(
            policy["resources"][1]["name"],
            "poddisruptionbudgets/status"
        );
        assert!(resource_list("nope", "v1").is_none());
    }
}
