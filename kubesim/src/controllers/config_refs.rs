//! What a pod's containers reference that must exist before they can start: ConfigMaps and
//! Secrets (and their keys) named in `env[].valueFrom`, `envFrom` and volumes, optional
//! references excepted. A missing one is the kubelet's `CreateContainerConfigError`.

use serde_json::Value;

use crate::meta;
use crate::resources::Kind;
use crate::store::{ObjKey, Store};

/// The first missing ConfigMap, Secret or key a container of `pod` references.
pub fn first_missing(store: &Store, pod: &Value) -> Option<String> {
    let ns = meta::namespace(pod);
    let lookup = |kind: Kind, name: &str, key: Option<&str>, optional: bool| -> Option<String> {
        if optional {
            return None;
        }
        let (label, type_name) = match kind {
            Kind::ConfigMap => ("configmap", "ConfigMap"),
            _ => ("secret", "Secret"),
        };
        let Some(obj) = store.get(&ObjKey::new(kind, ns, name)) else {
            return Some(format!("{label} \"{name}\" not found"));
        };
        let key = key?;
        let has = meta::map_at(&obj, &["data"]).contains_key(key)
            || meta::map_at(&obj, &["binaryData"]).contains_key(key)
            || meta::map_at(&obj, &["stringData"]).contains_key(key);
        (!has).then(|| format!("couldn't find key {key} in {type_name} {ns}/{name}"))
    };
    let optional = |r: &Value| r["optional"].as_bool() == Some(true);
    let spec = &pod["spec"];
    let containers = meta::array_at(spec, &["initContainers"])
        .iter()
        .chain(meta::array_at(spec, &["containers"]));
    for c in containers {
        for env in meta::array_at(c, &["env"]) {
            if let Some(r) = meta::at(env, &["valueFrom", "configMapKeyRef"]) {
                let found = lookup(
                    Kind::ConfigMap,
                    r["name"].as_str().unwrap_or(""),
                    r["key"].as_str(),
                    optional(r),
                );
                if found.is_some() {
                    return found;
                }
            }
            if let Some(r) = meta::at(env, &["valueFrom", "secretKeyRef"]) {
                let found = lookup(
                    Kind::Secret,
                    r["name"].as_str().unwrap_or(""),
                    r["key"].as_str(),
                    optional(r),
                );
                if found.is_some() {
                    return found;
                }
            }
        }
        for from in meta::array_at(c, &["envFrom"]) {
            for (field, kind) in [
                ("configMapRef", Kind::ConfigMap),
                ("secretRef", Kind::Secret),
            ] {
                if let Some(r) = from.get(field) {
                    let found = lookup(kind, r["name"].as_str().unwrap_or(""), None, optional(r));
                    if found.is_some() {
                        return found;
                    }
                }
            }
        }
    }
    for volume in meta::array_at(spec, &["volumes"]) {
        let mut refs: Vec<(Kind, &Value, &str)> = Vec::new();
        if let Some(r) = volume.get("configMap") {
            refs.push((Kind::ConfigMap, r, "name"));
        }
        if let Some(r) = volume.get("secret") {
            refs.push((Kind::Secret, r, "secretName"));
        }
        for source in meta::array_at(volume, &["projected", "sources"]) {
            if let Some(r) = source.get("configMap") {
                refs.push((Kind::ConfigMap, r, "name"));
            }
            if let Some(r) = source.get("secret") {
                refs.push((Kind::Secret, r, "name"));
            }
        }
        for (kind, r, name_field) in refs {
            let found = lookup(
                kind,
                r[name_field].as_str().unwrap_or(""),
                None,
                optional(r),
            );
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{self, WriteOptions};
    use serde_json::json;

    #[test]
    fn reports_missing_objects_and_keys() {
        let store = Store::new();
        let opts = WriteOptions::controller("test");
        registry::create(
            &store,
            Kind::Namespace,
            "",
            json!({"metadata": {"name": "ns"}}),
            &opts,
        )
        .unwrap();
        let pod = json!({"metadata": {"namespace": "ns"}, "spec": {"containers": [{"name": "c", "env": [
            {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}],
            "volumes": [{"name": "v", "configMap": {"name": "opt", "optional": true}}]}});
        assert_eq!(
            first_missing(&store, &pod).as_deref(),
            Some("secret \"s\" not found")
        );
        registry::create(
            &store,
            Kind::Secret,
            "ns",
            json!({"metadata": {"name": "s"}, "data": {}}),
            &opts,
        )
        .unwrap();
        assert_eq!(
            first_missing(&store, &pod).as_deref(),
            Some("couldn't find key k in Secret ns/s")
        );
    }
}
