//! ResourceQuota for pods: how many pods a namespace's quotas allow (`spec.hard.pods` and
//! `count/pods`), the check the API server's quota admission makes when a pod is created, and
//! the `status` (`hard`, `used`) the quota controller reports. Pods that have ended
//! (`Succeeded`, `Failed`) do not count. Other resources (cpu, memory, other kinds) are
//! reported as hard with nothing used, and never refused.

use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::meta;
use crate::resources::Kind;
use crate::store::Store;

/// The quota resources that count pods.
const POD_RESOURCES: [&str; 2] = ["count/pods", "pods"];

/// The pods of `namespace` that count against its quotas: those not ended.
pub fn pods_used(store: &Store, namespace: &str) -> i64 {
    let (pods, _) = store.list(Kind::Pod, Some(namespace), None);
    pods.iter()
        .filter(|p| {
            !matches!(
                meta::str_at(p, &["status", "phase"]),
                Some("Succeeded" | "Failed")
            )
        })
        .count() as i64
}

/// A quantity as a whole number (pods are counted; `2`, `"2"`, `"2k"` as written).
fn count(quantity: &Value) -> Option<i64> {
    match quantity {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let s = s.trim();
            let (digits, factor) = match s.strip_suffix('k') {
                Some(d) => (d, 1000),
                None => (s, 1),
            };
            digits.parse::<i64>().ok().map(|n| n * factor)
        }
        _ => None,
    }
}

/// Refuses the creation of pod `name` in `namespace` when a quota there has no room for it,
/// with the API server's message.
pub fn admit_pod(store: &Store, namespace: &str, name: &str) -> ApiResult<()> {
    let (quotas, _) = store.list(Kind::ResourceQuota, Some(namespace), None);
    if quotas.is_empty() {
        return Ok(());
    }
    let used = pods_used(store, namespace);
    for quota in &quotas {
        let exceeded: Vec<(&str, i64)> = POD_RESOURCES
            .iter()
            .filter_map(|r| {
                let hard = count(meta::at(quota, &["spec", "hard", r])?)?;
                (used + 1 > hard).then_some((*r, hard))
            })
            .collect();
        if exceeded.is_empty() {
            continue;
        }
        let list = |value: &dyn Fn(i64) -> i64| -> String {
            exceeded
                .iter()
                .map(|(r, hard)| format!("{r}={}", value(*hard)))
                .collect::<Vec<_>>()
                .join(",")
        };
        let why = format!(
            "exceeded quota: {}, requested: {}, used: {}, limited: {}",
            meta::name(quota),
            list(&|_| 1),
            list(&|_| used),
            list(&|hard| hard)
        );
        return Err(ApiError::forbidden(Kind::Pod.def(), name, &why));
    }
    Ok(())
}

/// The status of `quota`: `hard` as its spec says, `used` counted (pods) or `0`.
pub fn status(store: &Store, quota: &Value) -> Value {
    let hard = meta::map_at(quota, &["spec", "hard"]).clone();
    let pods = pods_used(store, meta::namespace(quota));
    let used: Map<String, Value> = hard
        .keys()
        .map(|r| {
            let n = if POD_RESOURCES.contains(&r.as_str()) {
                pods
            } else {
                0
            };
            (r.clone(), json!(n.to_string()))
        })
        .collect();
    json!({"hard": hard, "used": used})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{self, WriteOptions};

    fn store_with(hard: Value, pods: &[(&str, &str)]) -> Store {
        let store = Store::new();
        let opts = WriteOptions::controller("test");
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
        registry::create(&store, Kind::Namespace, "", ns, &opts).unwrap();
        let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "compute"}, "spec": {"hard": hard}});
        registry::create(&store, Kind::ResourceQuota, "default", quota, &opts).unwrap();
        for (name, phase) in pods {
            let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {"phase": phase}});
            store
                .mutate::<()>(
                    &crate::store::ObjKey::new(Kind::Pod, "default", name),
                    true,
                    |_| Ok(crate::store::Decision::Put(pod)),
                )
                .unwrap();
        }
        store
    }

    #[test]
    fn pods_beyond_the_quota_are_forbidden_and_ended_pods_do_not_count() {
        let store = store_with(
            json!({"pods": "2", "cpu": "4"}),
            &[("a", "Running"), ("b", "Pending"), ("c", "Succeeded")],
        );
        let err = admit_pod(&store, "default", "d").unwrap_err();
        assert_eq!(err.code.as_u16(), 403);
        assert_eq!(err.reason, "Forbidden");
        assert_eq!(
            err.message,
            "pods \"d\" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2"
        );
        let quota = store.list(Kind::ResourceQuota, Some("default"), None).0[0].clone();
        assert_eq!(
            status(&store, &quota),
            json!({"hard": {"cpu": "4", "pods": "2"}, "used": {"cpu": "0", "pods": "2"}})
        );
        let roomy = store_with(
            json!({"count/pods": 3}),
            &[("a", "Running"), ("b", "Failed")],
        );
        assert!(admit_pod(&roomy, "default", "c").is_ok());
        assert!(admit_pod(&roomy, "other", "c").is_ok());
    }
}
