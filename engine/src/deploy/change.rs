//! What a deploy changes in one object, as people read it: the object as it is and as the API
//! server's dry run says it will be, both without the server's bookkeeping, as a unified YAML
//! diff (what `kubectl diff` shows).
//!
//! A Secret's values never appear: each value of `data` and `stringData` (and the
//! last-applied annotation, which holds them all) is replaced on both sides by a word saying
//! whether it changed, so the diff names the keys that change and nothing of their content.
//! A diff is cut to [`MAX_OBJECT_DIFF`] bytes, saying how many lines it leaves out.

use std::collections::BTreeSet;

use serde_json::Value;
use shiplog_model::limits::cut;
use similar::TextDiff;

use super::prepare::without_traceability;

/// Most bytes of one object's diff; longer diffs keep their first lines and count the rest.
pub const MAX_OBJECT_DIFF: usize = 16 * 1024;

/// Metadata the API server writes for itself: never a change the manifests make.
const SERVER_METADATA: [&str; 6] = [
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
];

/// The annotation `kubectl apply` (client-side) leaves with the whole object it applied.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `object` as the manifests can change it: without `status`, the server's bookkeeping
/// ([`SERVER_METADATA`]) and shiplog's traceability annotations.
pub fn comparable(object: &Value) -> Value {
    let mut object = without_traceability(object);
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in SERVER_METADATA {
                metadata.remove(key);
            }
        }
    }
    object
}

/// The change from `live` (absent for an object the deploy creates) to `planned`, as a unified
/// diff of their YAML with three lines of context; `None` when they are the same.
pub fn diff(kind: &str, name: &str, live: Option<&Value>, planned: &Value) -> Option<String> {
    let mut old = live.map(comparable);
    let mut new = comparable(planned);
    if old.as_ref() == Some(&new) {
        return None;
    }
    if kind == "Secret" {
        hide_secret_values(old.as_mut(), &mut new);
    }
    let old_text = old.as_ref().map(yaml).unwrap_or_default();
    let new_text = yaml(&new);
    let text = TextDiff::from_lines(&old_text, &new_text)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("live {kind}/{name}"),
            &format!("planned {kind}/{name}"),
        )
        .to_string();
    Some(cut(text.trim_end(), MAX_OBJECT_DIFF))
}

fn yaml(object: &Value) -> String {
    serde_norway::to_string(object).unwrap_or_else(|e| format!("# not shown: {e}\n"))
}

/// Replaces every Secret value on both sides by what a reader may know of it: `(unchanged)`,
/// `(value changed)` (the new side of a change; the old side says `(value hidden)`),
/// `(value added)`, `(value removed)`.
fn hide_secret_values(old: Option<&mut Value>, new: &mut Value) {
    let mut empty = Value::Null;
    let old = old.unwrap_or(&mut empty);
    for path in [&["data"][..], &["stringData"], &["metadata", "annotations"]] {
        let old_map = map_at(old, path);
        let new_map = map_at(new, path);
        let keys: BTreeSet<String> = [&old_map, &new_map]
            .into_iter()
            .flatten()
            .flat_map(|map| map.keys().cloned())
            .filter(|key| path[0] != "metadata" || key == LAST_APPLIED)
            .collect();
        let (mut old_marks, mut new_marks) = (Vec::new(), Vec::new());
        for key in keys {
            let before = old_map.as_ref().and_then(|m| m.get(&key));
            let after = new_map.as_ref().and_then(|m| m.get(&key));
            let (was, will) = match (before, after) {
                (Some(a), Some(b)) if a == b => ("(unchanged)", "(unchanged)"),
                (Some(_), Some(_)) => ("(value hidden)", "(value changed)"),
                (None, _) => ("", "(value added)"),
                (_, None) => ("(value removed)", ""),
            };
            old_marks.push((key.clone(), was));
            new_marks.push((key, will));
        }
        mark(old, path, &old_marks);
        mark(new, path, &new_marks);
    }
}

fn map_at(object: &Value, path: &[&str]) -> Option<serde_json::Map<String, Value>> {
    path.iter()
        .try_fold(object, |value, key| value.get(key))?
        .as_object()
        .cloned()
}

fn mark(object: &mut Value, path: &[&str], marks: &[(String, &str)]) {
    let Some(map) = path
        .iter()
        .try_fold(object, |value, key| value.get_mut(key))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (key, word) in marks {
        if let Some(value) = map.get_mut(key) {
            *value = Value::String((*word).to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment(image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "prod", "resourceVersion": "7",
                "generation": 3, "uid": "u-1", "creationTimestamp": "2026-01-01T00:00:00Z",
                "managedFields": [{"manager": "shiplog"}]},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "api", "image": image}]}}},
            "status": {"readyReplicas": 2}
        })
    }

    #[test]
    fn a_new_image_is_one_changed_line() {
        let live = deployment("ghcr.io/acme/api:v1");
        let mut planned = deployment("ghcr.io/acme/api:v2");
        planned["metadata"]["resourceVersion"] = "8".into();
        planned["status"] = json!({});
        let text = diff("Deployment", "api", Some(&live), &planned).unwrap();
        assert!(text.starts_with("--- live Deployment/api\n+++ planned Deployment/api\n"));
        let changed: Vec<&str> = text
            .lines()
            .skip(2)
            .filter(|l| l.starts_with(['-', '+']))
            .collect();
        assert_eq!(
            changed,
            [
                "-      - image: ghcr.io/acme/api:v1",
                "+      - image: ghcr.io/acme/api:v2"
            ],
            "{text}"
        );
        assert!(!text.contains("resourceVersion") && !text.contains("readyReplicas"));
        assert_eq!(diff("Deployment", "api", Some(&live), &live.clone()), None);
        assert_eq!(
            diff(
                "Deployment",
                "api",
                Some(&live),
                &deployment("ghcr.io/acme/api:v1")
            ),
            None
        );
    }

    #[test]
    fn bookkeeping_and_traceability_are_not_changes() {
        let a = json!({"metadata": {"name": "a", "managedFields": [{"time": "1"}]}, "data": {"k": "v"}});
        let traced = json!({"metadata": {"name": "a", "resourceVersion": "9",
            "annotations": {"shiplog.dev/commit": "4f2a9c1e"}}, "data": {"k": "v"}});
        assert_eq!(
            diff("ConfigMap", "a", Some(&a), &traced),
            None,
            "the commit that last changed it is not a change"
        );
        let c = json!({"metadata": {"name": "a"}, "data": {"k": "w"}});
        assert!(diff("ConfigMap", "a", Some(&a), &c).is_some());
    }

    #[test]
    fn a_created_object_is_all_additions() {
        let text = diff("ConfigMap", "cfg", None, &json!({"data": {"a": "1"}})).unwrap();
        assert!(text.lines().skip(2).all(|l| !l.starts_with('-')), "{text}");
        assert!(text.contains("+  a: '1'"), "{text}");
    }

    #[test]
    fn secret_values_never_appear() {
        let annotation = r#"{"data":{"password":"aHVudGVyMg=="}}"#;
        let live = json!({"kind": "Secret", "metadata": {"name": "db",
                "annotations": {LAST_APPLIED: annotation, "team": "core"}},
            "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4=", "old": "eA=="}});
        let planned = json!({"kind": "Secret", "metadata": {"name": "db",
                "annotations": {LAST_APPLIED: annotation, "team": "payments"}},
            "data": {"password": "czNjcjN0", "user": "YWRtaW4=", "token": "dG9r"}});
        let text = diff("Secret", "db", Some(&live), &planned).unwrap();
        for value in ["aHVudGVyMg==", "czNjcjN0", "YWRtaW4=", "dG9r", "eA=="] {
            assert!(!text.contains(value), "{value} shown in\n{text}");
        }
        assert!(text.contains("-  password: (value hidden)"), "{text}");
        assert!(text.contains("+  password: (value changed)"), "{text}");
        assert!(text.contains("   user: (unchanged)"), "{text}");
        assert!(text.contains("+  token: (value added)"), "{text}");
        assert!(text.contains("-  old: (value removed)"), "{text}");
        assert!(
            text.contains("+    team: payments"),
            "other annotations are shown"
        );
        // A created Secret shows its keys only.
        let text = diff("Secret", "db", None, &planned).unwrap();
        assert!(!text.contains("czNjcjN0") && text.contains("password: (value added)"));
        // A change of a value alone still shows that the Secret changes.
        let mut rotated = live.clone();
        rotated["data"]["user"] = "cm9vdA==".into();
        let text = diff("Secret", "db", Some(&live), &rotated).unwrap();
        assert!(text.contains("+  user: (value changed)") && !text.contains("cm9vdA=="));
    }

    #[test]
    fn a_long_diff_is_cut_and_says_so() {
        let data: serde_json::Map<String, Value> = (0..5000)
            .map(|i| (format!("key{i:05}"), Value::String(format!("value {i}"))))
            .collect();
        let text = diff("ConfigMap", "big", None, &json!({"data": data})).unwrap();
        assert!(text.len() <= MAX_OBJECT_DIFF, "{}", text.len());
        assert!(
            text.ends_with(" more lines"),
            "{}",
            &text[text.len() - 40..]
        );
    }
}
