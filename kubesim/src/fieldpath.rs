//! Field paths and field sets as server-side apply sees an object: every leaf, every element
//! of an associative list (keyed by `name`, `containerPort`, …), their `fieldsV1` encoding in
//! `managedFields`, and the merge of one object into another that apply and strategic merge
//! patch share. Pure functions over `serde_json::Value`.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Elem {
    /// A map field.
    Field(String),
    /// An element of an associative list, by its key fields (a JSON object).
    Key(String),
    /// An element of a set list, by value (JSON).
    Value(String),
}

pub type Path = Vec<Elem>;

/// A set of owned paths.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldSet(pub BTreeSet<Path>);

/// The key fields of the associative lists kubesim knows, by field name; `None` for lists
/// that are atomic (replaced as a whole).
pub fn list_keys(field: &str, items: &[Value]) -> Option<&'static [&'static str]> {
    let keys: &'static [&'static str] = match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => &["name"],
        "ports" if items.iter().any(|i| i.get("containerPort").is_some()) => {
            &["containerPort", "protocol"]
        }
        "ports" => &["port", "protocol"],
        "volumeMounts" => &["mountPath"],
        "conditions" => &["type"],
        "ownerReferences" => &["uid"],
        "hostAliases" => &["ip"],
        "topologySpreadConstraints" => &["topologyKey", "whenUnsatisfiable"],
        _ => return None,
    };
    let keyed = items
        .iter()
        .all(|i| i.is_object() && i.get(keys[0]).is_some());
    keyed.then_some(keys)
}

/// The key of a list element: its key fields that are present.
fn key_of(item: &Value, keys: &[&str]) -> String {
    let mut map = Map::new();
    for k in keys {
        if let Some(v) = item.get(*k) {
            map.insert((*k).to_string(), v.clone());
        }
    }
    Value::Object(map).to_string()
}

/// Whether `item` is the set-list element `encoded` (JSON).
fn is_value(item: &Value, encoded: &str) -> bool {
    serde_json::from_str::<Value>(encoded).is_ok_and(|v| *item == v)
}

fn has_key(item: &Value, key: &str) -> bool {
    serde_json::from_str::<Map<String, Value>>(key)
        .is_ok_and(|k| k.iter().all(|(name, v)| item.get(name) == Some(v)))
}

impl FieldSet {
    /// Every leaf and associative-list element of `value`.
    pub fn of(value: &Value) -> Self {
        let mut out = BTreeSet::new();
        collect(value, None, &mut Vec::new(), &mut out);
        // The root itself is not a field.
        out.remove(&Vec::new());
        Self(out)
    }

    pub fn contains(&self, path: &Path) -> bool {
        self.0.contains(path)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `fieldsV1` tree of this set.
    pub fn to_fields_v1(&self) -> Value {
        let mut root = Map::new();
        for path in &self.0 {
            let mut node = &mut root;
            for elem in path {
                node = node
                    .entry(encode(elem))
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .expect("fieldsV1 nodes are objects");
            }
            if matches!(path.last(), Some(Elem::Key(_) | Elem::Value(_))) {
                node.insert(".".into(), Value::Object(Map::new()));
            }
        }
        Value::Object(root)
    }

    /// Reads a `fieldsV1` tree.
    pub fn from_fields_v1(tree: &Value) -> Self {
        let mut out = BTreeSet::new();
        read_tree(tree, &mut Vec::new(), &mut out);
        Self(out)
    }
}

fn collect(value: &Value, field: Option<&str>, path: &mut Path, out: &mut BTreeSet<Path>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, child) in map {
                path.push(Elem::Field(k.clone()));
                collect(child, Some(k), path, out);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match field.and_then(|f| list_keys(f, items)) {
            Some(keys) => {
                for item in items {
                    path.push(Elem::Key(key_of(item, keys)));
                    out.insert(path.clone());
                    collect(item, None, path, out);
                    path.pop();
                }
            }
            None => {
                out.insert(path.clone());
            }
        },
        _ => {
            out.insert(path.clone());
        }
    }
}

fn encode(elem: &Elem) -> String {
    match elem {
        Elem::Field(f) => format!("f:{f}"),
        Elem::Key(k) => format!("k:{k}"),
        Elem::Value(v) => format!("v:{v}"),
    }
}

fn read_tree(tree: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
    let Some(map) = tree.as_object() else { return };
    for (k, child) in map {
        if k == "." {
            out.insert(path.clone());
            continue;
        }
        let elem = if let Some(f) = k.strip_prefix("f:") {
            Elem::Field(f.to_string())
        } else if let Some(key) = k.strip_prefix("k:") {
            Elem::Key(key.to_string())
        } else if let Some(v) = k.strip_prefix("v:") {
            Elem::Value(v.to_string())
        } else {
            continue;
        };
        path.push(elem);
        if child.as_object().is_some_and(Map::is_empty) {
            out.insert(path.clone());
        } else {
            read_tree(child, path, out);
        }
        path.pop();
    }
}

/// The value at `path` in `obj`.
pub fn value_at<'a>(obj: &'a Value, path: &Path) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, elem| match elem {
        Elem::Field(f) => v.get(f),
        Elem::Key(k) => v.as_array()?.iter().find(|i| has_key(i, k)),
        Elem::Value(want) => v.as_array()?.iter().find(|i| is_value(i, want)),
    })
}

/// Removes the field or list element at `path`; a no-op when it is absent.
pub fn remove_at(obj: &mut Value, path: &Path) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for elem in parents {
        let next = match elem {
            Elem::Field(f) => cur.get_mut(f),
            Elem::Key(k) => cur
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| has_key(i, k))),
            Elem::Value(want) => cur
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| is_value(i, want))),
        };
        match next {
            Some(next) => cur = next,
            None => return,
        }
    }
    match last {
        Elem::Field(f) => {
            if let Some(map) = cur.as_object_mut() {
                map.remove(f);
            }
        }
        Elem::Key(k) => {
            if let Some(items) = cur.as_array_mut() {
                items.retain(|i| !has_key(i, k));
            }
        }
        Elem::Value(want) => {
            if let Some(items) = cur.as_array_mut() {
                items.retain(|i| !is_value(i, want));
            }
        }
    }
}

/// How [`merge`] treats `null` and `$patch` directives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeMode {
    /// Server-side apply: values replace, associative lists merge by key.
    Apply,
    /// Strategic merge patch: additionally `null` deletes and `$patch: delete` removes a list
    /// element; other `$` directives are ignored.
    Strategic,
}

/// Merges `src` into `dst`: maps recursively, associative lists element by element, anything
/// else replaced.
pub fn merge(dst: &mut Value, src: &Value, mode: MergeMode) {
    merge_field(dst, src, None, mode);
}

fn merge_field(dst: &mut Value, src: &Value, field: Option<&str>, mode: MergeMode) {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) => {
            if mode == MergeMode::Strategic
                && s.get("$patch").and_then(Value::as_str) == Some("replace")
            {
                *d = s.clone();
                d.remove("$patch");
                return;
            }
            for (k, sv) in s {
                if k.starts_with('$') {
                    continue;
                }
                if mode == MergeMode::Strategic && sv.is_null() {
                    d.remove(k);
                    continue;
                }
                match d.get_mut(k) {
                    Some(dv) => merge_field(dv, sv, Some(k), mode),
                    None => {
                        d.insert(k.clone(), sv.clone());
                    }
                }
            }
        }
        (Value::Array(d), Value::Array(s)) => {
            let keys = field.and_then(|f| {
                list_keys(f, s).filter(|_| list_keys(f, d).is_some() || d.is_empty())
            });
            let Some(keys) = keys else {
                *d = s.clone();
                return;
            };
            for item in s {
                let key = key_of(item, keys);
                let pos = d.iter().position(|i| has_key(i, &key));
                let delete = mode == MergeMode::Strategic
                    && item.get("$patch").and_then(Value::as_str) == Some("delete");
                match (pos, delete) {
                    (Some(p), true) => {
                        d.remove(p);
                    }
                    (None, true) => {}
                    (Some(p), false) => merge_field(&mut d[p], item, None, mode),
                    (None, false) => d.push(item.clone()),
                }
            }
        }
        (dst, src) => *dst = src.clone(),
    }
}

/// Renders a path the way the API server's messages do:
/// `.spec.template.spec.containers[name="web"].image`.
pub struct Display<'a>(pub &'a Path);

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for elem in self.0 {
            match elem {
                Elem::Field(name) => write!(f, ".{name}")?,
                Elem::Key(key) => {
                    let map: Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
                    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    write!(f, "[{}]", parts.join(","))?;
                }
                Elem::Value(v) => write!(f, "[={v}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(path: &[&str]) -> Path {
        path.iter().map(|f| Elem::Field((*f).into())).collect()
    }

    #[test]
    fn field_sets_round_trip_through_fields_v1() {
        let obj = json!({
            "metadata": {"labels": {"app": "web"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "web", "image": "nginx", "args": ["a"], "ports": [{"containerPort": 80}]}
            ]}}},
        });
        let set = FieldSet::of(&obj);
        assert!(set.contains(&field(&["spec", "replicas"])));
        let container = {
            let mut p = field(&["spec", "template", "spec", "containers"]);
            p.push(Elem::Key(r#"{"name":"web"}"#.into()));
            p
        };
        assert!(set.contains(&container));
        let mut args = container.clone();
        args.push(Elem::Field("args".into()));
        assert!(set.contains(&args));
        let tree = set.to_fields_v1();
        assert_eq!(
            tree["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["."],
            json!({})
        );
        assert_eq!(FieldSet::from_fields_v1(&tree), set);
        let mut image = container.clone();
        image.push(Elem::Field("image".into()));
        assert_eq!(value_at(&obj, &image), Some(&json!("nginx")));
        assert_eq!(
            Display(&image).to_string(),
            ".spec.template.spec.containers[name=\"web\"].image"
        );
    }

    #[test]
    fn merge_by_key_and_remove() {
        let mut live = json!({"spec": {"containers": [
            {"name": "a", "image": "1"}, {"name": "b", "image": "2"}
        ], "args": ["x", "y"]}});
        merge(
            &mut live,
            &json!({"spec": {"containers": [{"name": "b", "image": "3"}], "args": ["z"]}}),
            MergeMode::Apply,
        );
        assert_eq!(live["spec"]["containers"][1]["image"], "3");
        assert_eq!(live["spec"]["containers"][0]["image"], "1");
        assert_eq!(live["spec"]["args"], json!(["z"]));
        let mut path = field(&["spec", "containers"]);
        path.push(Elem::Key(r#"{"name":"a"}"#.into()));
        remove_at(&mut live, &path);
        assert_eq!(live["spec"]["containers"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn strategic_directives() {
        let mut live = json!({"metadata": {"annotations": {"a": "1", "b": "2"}},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        merge(
            &mut live,
            &json!({"metadata": {"annotations": {"a": null}},
                "spec": {"$setElementOrder/containers": [], "containers": [{"name": "a", "$patch": "delete"}]}}),
            MergeMode::Strategic,
        );
        assert_eq!(live["metadata"]["annotations"], json!({"b": "2"}));
        assert_eq!(live["spec"]["containers"], json!([{"name": "b"}]));
    }
}
