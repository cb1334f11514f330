//! The disruption controller: each PodDisruptionBudget's status from the pods its selector
//! matches (a null selector matches none, `{}` every pod of the namespace): `currentHealthy`
//! (ready and not being deleted), `desiredHealthy` and `expectedPods` — for an integer
//! `minAvailable` the pods matched; for a percentage or `maxUnavailable` the replicas of their
//! controllers (Deployment, ReplicaSet, StatefulSet), percentages rounded up —,
//! `disruptionsAllowed`, `observedGeneration` and the `DisruptionAllowed` condition
//! (`SufficientPods`, `InsufficientPods`, or `SyncFailed` when the expected pods cannot be
//! counted), kept current as pods change, with the controller's events.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{Ctl, pod_ready};
use crate::meta;
use crate::registry;
use crate::resources::Kind;
use crate::selector::LabelSelector;
use crate::store::{ObjKey, Store};
use crate::validate::budgets::percent;

/// The source of the controller's events.
const COMPONENT: &str = "controllermanager";

/// Whether `budget`'s selector matches `pod` (same namespace).
pub fn selects(budget: &Value, pod: &Value) -> bool {
    meta::at(budget, &["spec", "selector"])
        .filter(|s| !s.is_null())
        .is_some_and(|s| LabelSelector::from_spec(s).matches(pod))
}

/// Go's `%v` of a `*LabelSelector` (its generated `String`), as the events print it.
fn selector_string(selector: Option<&Value>) -> String {
    let Some(selector) = selector.filter(|s| !s.is_null()) else {
        return "nil".into();
    };
    let labels: String = meta::map_at(selector, &["matchLabels"])
        .iter()
        .map(|(k, v)| format!("{k}: {},", v.as_str().unwrap_or("")))
        .collect();
    let expressions: String = meta::array_at(selector, &["matchExpressions"])
        .iter()
        .map(|e| {
            let values: Vec<&str> = meta::array_at(e, &["values"])
                .iter()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                e["key"].as_str().unwrap_or(""),
                e["operator"].as_str().unwrap_or(""),
                values.join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )
}

/// `value` of an `IntOrString` scaled to `total` (a percentage rounded up).
fn scaled(value: &Value, total: i64) -> i64 {
    match value {
        Value::String(s) => percent(s).map_or(0, |p| (p as i64 * total + 99) / 100),
        other => other.as_i64().unwrap_or(0),
    }
}

/// The replicas of the controller of each pod, summed once per controller; the pods with no
/// controller apart. An error when a controller cannot be found or has no scale.
fn expected_scale(store: &Store, pods: &[Arc<Value>]) -> Result<(i64, Vec<String>), String> {
    let mut scales: HashMap<String, i64> = HashMap::new();
    let mut unmanaged = Vec::new();
    for pod in pods {
        let Some(owner) = meta::array_at(pod, &["metadata", "ownerReferences"])
            .iter()
            .find(|r| r["controller"] == true)
        else {
            unmanaged.push(meta::name(pod).to_string());
            continue;
        };
        if scales.contains_key(owner["uid"].as_str().unwrap_or("")) {
            continue;
        }
        let found = controller_scale(store, meta::namespace(pod), owner)?
            .ok_or_else(|| format!("found no controllers for pod \"{}\"", meta::name(pod)))?;
        scales.insert(found.0, found.1);
    }
    Ok((scales.values().sum(), unmanaged))
}

/// The (uid, replicas) of the workload that scales the pods of `owner`: a ReplicaSet's
/// Deployment, else the ReplicaSet or StatefulSet itself.
fn controller_scale(
    store: &Store,
    namespace: &str,
    owner: &Value,
) -> Result<Option<(String, i64)>, String> {
    let api_version = owner["apiVersion"].as_str().unwrap_or("");
    let kind_name = owner["kind"].as_str().unwrap_or("");
    let Some(kind) = Kind::from_type(api_version, kind_name) else {
        return Err(format!(
            "no matches for kind \"{kind_name}\" in version \"{api_version}\""
        ));
    };
    let get = |kind: Kind, name: &str, uid: &str| {
        store
            .get(&ObjKey::new(kind, namespace, name))
            .filter(|o| meta::uid(o) == uid)
    };
    let scale = |o: &Value| {
        (
            meta::uid(o).to_string(),
            meta::i64_at(o, &["spec", "replicas"]).unwrap_or(1),
        )
    };
    let (name, uid) = (
        owner["name"].as_str().unwrap_or(""),
        owner["uid"].as_str().unwrap_or(""),
    );
    if !kind.def().has_scale {
        return Err(format!(
            "{} does not implement the scale subresource",
            kind.def().group_resource()
        ));
    }
    let Some(controller) = get(kind, name, uid) else {
        return Ok(None);
    };
    if kind != Kind::ReplicaSet {
        return Ok(Some(scale(&controller)));
    }
    let deployment = meta::array_at(&controller, &["metadata", "ownerReferences"])
        .iter()
        .find(|r| r["controller"] == true && r["kind"] == "Deployment");
    // A ReplicaSet whose Deployment is gone is found through its own scale.
    let deployment = deployment.and_then(|d| {
        get(
            Kind::Deployment,
            d["name"].as_str().unwrap_or(""),
            d["uid"].as_str().unwrap_or(""),
        )
    });
    Ok(Some(scale(deployment.as_deref().unwrap_or(&controller))))
}

/// `(expectedPods, desiredHealthy, unmanaged pods)` of `budget` over `pods`.
fn expected(
    store: &Store,
    budget: &Value,
    pods: &[Arc<Value>],
) -> Result<(i64, i64, Vec<String>), String> {
    let field = |name: &str| meta::at(budget, &["spec", name]).filter(|v| !v.is_null());
    if let Some(max) = field("maxUnavailable") {
        let (expected, unmanaged) = expected_scale(store, pods)?;
        return Ok((
            expected,
            (expected - scaled(max, expected)).max(0),
            unmanaged,
        ));
    }
    match field("minAvailable") {
        Some(Value::String(_)) => {
            let (expected, unmanaged) = expected_scale(store, pods)?;
            let min = field("minAvailable").map_or(0, |m| scaled(m, expected));
            Ok((expected, min, unmanaged))
        }
        Some(min) => Ok((pods.len() as i64, min.as_i64().unwrap_or(0), Vec::new())),
        None => Ok((0, 0, Vec::new())),
    }
}

/// `conditions` with the `DisruptionAllowed` condition set as `meta.SetStatusCondition` does:
/// in place, its transition time moving only when its status does.
fn with_condition(
    conditions: &[Value],
    allowed: bool,
    reason: &str,
    message: &str,
    generation: i64,
) -> Value {
    let status = if allowed { "True" } else { "False" };
    let previous = conditions.iter().find(|c| c["type"] == "DisruptionAllowed");
    let since = previous
        .filter(|c| c["status"] == status)
        .map_or_else(|| json!(meta::now()), |c| c["lastTransitionTime"].clone());
    let mut condition = json!({"type": "DisruptionAllowed", "status": status,
        "lastTransitionTime": since, "reason": reason, "message": message});
    if generation != 0 {
        condition["observedGeneration"] = json!(generation);
    }
    let mut out = conditions.to_vec();
    match out.iter_mut().find(|c| c["type"] == "DisruptionAllowed") {
        Some(c) => *c = condition,
        None => out.push(condition),
    }
    json!(out)
}

/// Computes `key`'s status and writes it when it changed.
pub fn reconcile(ctl: &mut Ctl, key: &ObjKey) {
    let Some(budget) = ctl.store().get(key) else {
        return;
    };
    let (pods, _) = ctl.store().list(Kind::Pod, Some(&key.namespace), None);
    let pods: Vec<Arc<Value>> = pods.into_iter().filter(|p| selects(&budget, p)).collect();
    if pods.is_empty() {
        ctl.event(
            &budget,
            "Normal",
            "NoPods",
            "No matching pods found",
            COMPONENT,
        );
    }
    let previous = budget.get("status").cloned().unwrap_or_else(|| json!({}));
    let conditions = meta::array_at(&previous, &["conditions"]);
    let (expected, desired, unmanaged) = match expected(ctl.store(), &budget, &pods) {
        Ok(counts) => counts,
        Err(error) => {
            let message = format!("Failed to calculate the number of expected pods: {error}");
            ctl.event(
                &budget,
                "Warning",
                "CalculateExpectedPodCountFailed",
                &message,
                COMPONENT,
            );
            // Fail safe: no disruption allowed, the rest of the status as it was.
            let mut status = previous.clone();
            let observed = meta::i64_at(&previous, &["observedGeneration"]).unwrap_or(0);
            status["disruptionsAllowed"] = json!(0);
            status["conditions"] =
                with_condition(conditions, false, "SyncFailed", &error, observed);
            registry::write_status(ctl.store(), key, status);
            return;
        }
    };
    if !unmanaged.is_empty() {
        let message = format!(
            "Pods selected by this PodDisruptionBudget (selector: {}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.",
            selector_string(meta::at(&budget, &["spec", "selector"]))
        );
        ctl.event(&budget, "Warning", "UnmanagedPods", &message, COMPONENT);
    }
    let healthy = pods
        .iter()
        .filter(|p| meta::at(p, &["metadata", "deletionTimestamp"]).is_none() && pod_ready(p))
        .count() as i64;
    let allowed = if expected <= 0 {
        0
    } else {
        (healthy - desired).max(0)
    };
    let generation = meta::i64_at(&budget, &["metadata", "generation"]).unwrap_or(0);
    let (reason, allowing) = if allowed > 0 {
        ("SufficientPods", true)
    } else {
        ("InsufficientPods", false)
    };
    let status = json!({
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": with_condition(conditions, allowing, reason, "", generation),
    });
    registry::write_status(ctl.store(), key, status);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_up_and_selectors_print_as_go_does() {
        assert_eq!(scaled(&json!("50%"), 3), 2);
        assert_eq!(scaled(&json!("25%"), 4), 1);
        assert_eq!(scaled(&json!(2), 10), 2);
        assert_eq!(
            selector_string(Some(
                &json!({"matchLabels": {"app": "web", "tier": "front"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["a", "b"]}]})
            )),
            "&LabelSelector{MatchLabels:map[string]string{app: web,tier: front,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:env,Operator:In,Values:[a b],},},}"
        );
        assert_eq!(selector_string(None), "nil");
        let empty = json!({"spec": {"selector": {}}});
        let none = json!({"spec": {}});
        let pod = json!({"metadata": {"labels": {"app": "web"}}});
        assert!(selects(&empty, &pod) && !selects(&none, &pod));
    }

    #[test]
    fn the_condition_moves_only_when_its_status_does() {
        let first = with_condition(&[], true, "SufficientPods", "", 1);
        let since = first[0]["lastTransitionTime"].clone();
        let old = json!([{"type": "DisruptionAllowed", "status": "True",
            "lastTransitionTime": "2020-01-01T00:00:00Z", "reason": "SufficientPods", "message": ""}]);
        let kept = with_condition(old.as_array().unwrap(), true, "SufficientPods", "", 2);
        assert_eq!(kept[0]["lastTransitionTime"], "2020-01-01T00:00:00Z");
        assert_eq!(kept[0]["observedGeneration"], 2);
        let flipped = with_condition(old.as_array().unwrap(), false, "InsufficientPods", "", 2);
        assert_ne!(flipped[0]["lastTransitionTime"], "2020-01-01T00:00:00Z");
        assert!(since.is_string());
    }
}
