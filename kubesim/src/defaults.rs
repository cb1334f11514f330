//! Defaulting as the API server does it before validation and storage: replicas, rollout
//! strategies, pod template fields, Service cluster IPs and port protocols, Job selectors,
//! ResourceQuota quantities as strings, PersistentVolumeClaims (volume mode, canonical
//! quantities, and what admission adds to a new claim: the default class and the protection
//! finalizer) and the zero status of a new PodDisruptionBudget.
//! Only fields that kubectl output or the simulated controllers read are defaulted.

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

use crate::meta;
use crate::resources::Kind;

/// Sets `path` to `value` when absent.
fn default(obj: &mut Value, path: &[&str], value: Value) {
    if meta::at(obj, path).is_none_or(Value::is_null) {
        meta::set(obj, path, value);
    }
}

fn container(c: &mut Value) {
    let image = c["image"].as_str().unwrap_or("");
    let tag = image.rsplit('/').next().unwrap_or("");
    let latest = !image.contains('@') && (!tag.contains(':') || tag.ends_with(":latest"));
    default(
        c,
        &["imagePullPolicy"],
        json!(if latest { "Always" } else { "IfNotPresent" }),
    );
    default(
        c,
        &["terminationMessagePath"],
        json!("/dev/termination-log"),
    );
    default(c, &["terminationMessagePolicy"], json!("File"));
    default(c, &["resources"], json!({}));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            default(p, &["protocol"], json!("TCP"));
        }
    }
}

fn pod_spec(spec: &mut Value, restart_policy: &str) {
    default(spec, &["restartPolicy"], json!(restart_policy));
    default(spec, &["terminationGracePeriodSeconds"], json!(30));
    default(spec, &["dnsPolicy"], json!("ClusterFirst"));
    default(spec, &["schedulerName"], json!("default-scheduler"));
    default(spec, &["securityContext"], json!({}));
    for list in ["containers", "initContainers"] {
        if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
            cs.iter_mut().for_each(container);
        }
    }
}

fn template(obj: &mut Value, path: &[&str]) {
    let mut full: Vec<&str> = path.to_vec();
    full.push("spec");
    if let Some(spec) = at_mut(obj, &full) {
        pod_spec(spec, "Always");
    }
}

fn at_mut<'a>(obj: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    path.iter().try_fold(obj, |v, k| v.get_mut(*k))
}

/// The next cluster IP from 10.96.0.0/12 (never reused within a run).
fn next_cluster_ip() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(10);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff)
}

/// Defaults `obj` of `kind`. `old` is the stored object on update (keeps allocated values).
pub fn apply(kind: Kind, obj: &mut Value, old: Option<&Value>) {
    match kind {
        Kind::Deployment => {
            default(obj, &["spec", "replicas"], json!(1));
            default(obj, &["spec", "revisionHistoryLimit"], json!(10));
            default(obj, &["spec", "progressDeadlineSeconds"], json!(600));
            default(
                obj,
                &["spec", "strategy"],
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
            );
            template(obj, &["spec", "template"]);
        }
        Kind::ReplicaSet => {
            default(obj, &["spec", "replicas"], json!(1));
            template(obj, &["spec", "template"]);
        }
        Kind::StatefulSet => {
            default(obj, &["spec", "replicas"], json!(1));
            default(obj, &["spec", "podManagementPolicy"], json!("OrderedReady"));
            default(obj, &["spec", "revisionHistoryLimit"], json!(10));
            default(
                obj,
                &["spec", "updateStrategy"],
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            template(obj, &["spec", "template"]);
        }
        Kind::DaemonSet => {
            default(obj, &["spec", "revisionHistoryLimit"], json!(10));
            default(
                obj,
                &["spec", "updateStrategy"],
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}),
            );
            template(obj, &["spec", "template"]);
        }
        Kind::Job => job(obj),
        Kind::CronJob => {
            default(obj, &["spec", "concurrencyPolicy"], json!("Allow"));
            default(obj, &["spec", "suspend"], json!(false));
            default(obj, &["spec", "successfulJobsHistoryLimit"], json!(3));
            default(obj, &["spec", "failedJobsHistoryLimit"], json!(1));
            template(obj, &["spec", "jobTemplate", "spec", "template"]);
        }
        Kind::Pod => {
            if let Some(spec) = obj.get_mut("spec") {
                pod_spec(spec, "Always");
                default(spec, &["serviceAccountName"], json!("default"));
                default(spec, &["enableServiceLinks"], json!(true));
                default(spec, &["priority"], json!(0));
            }
        }
        Kind::Service => service(obj, old),
        Kind::Secret => default(obj, &["type"], json!("Opaque")),
        Kind::ResourceQuota => {
            // Quantities are strings (`pods: 2` is stored as `"2"`).
            if let Some(hard) = at_mut(obj, &["spec", "hard"]).and_then(Value::as_object_mut) {
                for value in hard.values_mut() {
                    if let Value::Number(n) = value {
                        *value = json!(n.to_string());
                    }
                }
            }
        }
        Kind::PersistentVolumeClaim => claim(obj, old),
        Kind::PodDisruptionBudget if old.is_none() => default(
            obj,
            &["status"],
            json!({"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}),
        ),
        Kind::Namespace => {
            let name = meta::name(obj).to_string();
            default(obj, &["spec", "finalizers"], json!(["kubernetes"]));
            default(obj, &["status", "phase"], json!("Active"));
            meta::set(
                obj,
                &["metadata", "labels", "kubernetes.io/metadata.name"],
                json!(name),
            );
        }
        _ => {}
    }
}

/// The class a new claim without one gets (the DefaultStorageClass admission plugin, with
/// kubesim's one class marked default).
pub const DEFAULT_STORAGE_CLASS: &str = "standard";

/// The finalizer that keeps a claim while pods use it (StorageObjectInUseProtection).
const CLAIM_PROTECTION: &str = "kubernetes.io/pvc-protection";

fn claim(obj: &mut Value, old: Option<&Value>) {
    default(obj, &["spec", "volumeMode"], json!("Filesystem"));
    for part in ["requests", "limits"] {
        crate::quantity::canonicalize_map(at_mut(obj, &["spec", "resources", part]));
    }
    if old.is_some() {
        return;
    }
    // Admission, on creation only: a claim that names no class (nor the beta annotation) gets
    // the default one; `""` asks for none.
    let annotated = meta::map_at(obj, &["metadata", "annotations"])
        .contains_key(crate::validate::claims::BETA_CLASS_ANNOTATION);
    if !annotated {
        default(
            obj,
            &["spec", "storageClassName"],
            json!(DEFAULT_STORAGE_CLASS),
        );
    }
    let finalizers = meta::array_at(obj, &["metadata", "finalizers"]);
    if !finalizers.iter().any(|f| f == CLAIM_PROTECTION) {
        let mut finalizers = finalizers.to_vec();
        finalizers.push(json!(CLAIM_PROTECTION));
        meta::set(obj, &["metadata", "finalizers"], json!(finalizers));
    }
    default(obj, &["status", "phase"], json!("Pending"));
}

fn job(obj: &mut Value) {
    default(obj, &["spec", "parallelism"], json!(1));
    default(obj, &["spec", "completions"], json!(1));
    default(obj, &["spec", "backoffLimit"], json!(6));
    default(obj, &["spec", "completionMode"], json!("NonIndexed"));
    default(obj, &["spec", "suspend"], json!(false));
    let uid = meta::uid(obj).to_string();
    let name = meta::name(obj).to_string();
    if meta::at(obj, &["spec", "selector"]).is_none() && !uid.is_empty() {
        meta::set(
            obj,
            &["spec", "selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
        );
        for (k, v) in [
            ("batch.kubernetes.io/controller-uid", &uid),
            ("batch.kubernetes.io/job-name", &name),
            ("controller-uid", &uid),
            ("job-name", &name),
        ] {
            meta::set(
                obj,
                &["spec", "template", "metadata", "labels", k],
                json!(v),
            );
        }
    }
    if let Some(spec) = at_mut(obj, &["spec", "template", "spec"]) {
        pod_spec(spec, "Always");
    }
}

fn service(obj: &mut Value, old: Option<&Value>) {
    default(obj, &["spec", "type"], json!("ClusterIP"));
    default(obj, &["spec", "sessionAffinity"], json!("None"));
    if meta::str_at(obj, &["spec", "type"]) != Some("ExternalName") {
        let ip = old
            .and_then(|o| meta::str_at(o, &["spec", "clusterIP"]))
            .map(String::from)
            .unwrap_or_else(next_cluster_ip);
        default(obj, &["spec", "clusterIP"], json!(ip));
        let ip = meta::str_at(obj, &["spec", "clusterIP"])
            .unwrap_or("")
            .to_string();
        default(obj, &["spec", "clusterIPs"], json!([ip]));
        default(obj, &["spec", "ipFamilies"], json!(["IPv4"]));
        default(obj, &["spec", "ipFamilyPolicy"], json!("SingleStack"));
        default(obj, &["spec", "internalTrafficPolicy"], json!("Cluster"));
    }
    if let Some(ports) = at_mut(obj, &["spec", "ports"]).and_then(Value::as_array_mut) {
        for p in ports {
            default(p, &["protocol"], json!("TCP"));
            let port = p["port"].clone();
            default(p, &["targetPort"], port);
        }
    }
    default(obj, &["status", "loadBalancer"], json!({}));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_and_service_defaults() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]},
            {"name": "d", "image": "r/x:1.2"}]}}}});
        apply(Kind::Deployment, &mut d, None);
        assert_eq!(d["spec"]["replicas"], 1);
        let cs = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(cs[0]["imagePullPolicy"], "Always");
        assert_eq!(cs[1]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(cs[0]["ports"][0]["protocol"], "TCP");

        let mut s = json!({"spec": {"ports": [{"port": 80}]}});
        apply(Kind::Service, &mut s, None);
        assert_eq!(s["spec"]["ports"][0]["targetPort"], 80);
        let ip = s["spec"]["clusterIP"].clone();
        let mut again = json!({"spec": {"ports": [{"port": 80}]}});
        apply(Kind::Service, &mut again, Some(&s));
        assert_eq!(again["spec"]["clusterIP"], ip);
    }
}
