//! The Deployment controller: one ReplicaSet per pod template (named by its
//! `pod-template-hash`, numbered by `deployment.kubernetes.io/revision`), a rolling update
//! that moves one replica at a time from the old ReplicaSets to the new one as new pods
//! become available, and the status kubectl reads: counts, `observedGeneration`, and the
//! `Available` / `Progressing` conditions with the real reasons, including
//! `ProgressDeadlineExceeded`, and `ReplicaFailure` mirrored from a ReplicaSet that cannot
//! create its pods.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Ctl, owned};
use crate::meta;
use crate::registry::{self, WriteOptions};
use crate::resources::Kind;
use crate::store::ObjKey;

const COMPONENT: &str = "deployment-controller";
const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH: &str = "pod-template-hash";

fn revision(obj: &Value) -> i64 {
    meta::str_at(obj, &["metadata", "annotations", REVISION])
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn replicas(obj: &Value, path: &[&str]) -> i64 {
    meta::i64_at(obj, path).unwrap_or(0)
}

/// The ReplicaSet for `deploy`'s current template, with revision `revision`.
fn new_replica_set(deploy: &Value, hash: &str, revision: i64) -> Value {
    let name = format!("{}-{hash}", meta::name(deploy));
    let mut template = deploy["spec"]["template"].clone();
    meta::set(&mut template, &["metadata", "labels", HASH], json!(hash));
    let mut selector = deploy["spec"]["selector"].clone();
    meta::set(&mut selector, &["matchLabels", HASH], json!(hash));
    let labels = template["metadata"]["labels"].clone();
    let desired = replicas(deploy, &["spec", "replicas"]);
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": meta::namespace(deploy),
            "labels": labels,
            "annotations": {
                REVISION: revision.to_string(),
                "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                "deployment.kubernetes.io/max-replicas": (desired + 1).to_string(),
            },
            "ownerReferences": [meta::controller_ref(deploy)],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
    })
}

fn scale(ctl: &mut Ctl, deploy: &Value, rs: &Value, to: i64) {
    let from = replicas(rs, &["spec", "replicas"]);
    if from == to {
        return;
    }
    let key = ObjKey::of(Kind::ReplicaSet, rs);
    let desired = replicas(deploy, &["spec", "replicas"]);
    registry::edit(ctl.store(), &key, |r| {
        r["spec"]["replicas"] = json!(to);
        meta::set(
            r,
            &[
                "metadata",
                "annotations",
                "deployment.kubernetes.io/desired-replicas",
            ],
            json!(desired.to_string()),
        );
    });
    let direction = if to > from { "up" } else { "down" };
    let message = format!(
        "Scaled {direction} replica set {} from {from} to {to}",
        meta::name(rs)
    );
    ctl.event(deploy, "Normal", "ScalingReplicaSet", &message, COMPONENT);
}

/// `maxUnavailable` of a rolling update, resolved against `desired`.
fn max_unavailable(deploy: &Value, desired: i64) -> i64 {
    match meta::at(
        deploy,
        &["spec", "strategy", "rollingUpdate", "maxUnavailable"],
    ) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s
            .strip_suffix('%')
            .and_then(|p| p.parse::<i64>().ok())
            .map_or(0, |p| desired * p / 100),
        _ => desired / 4,
    }
}

fn cond(kind: &str, ok: bool, reason: &str, message: &str, previous: &[Value], now: &str) -> Value {
    let status = if ok { "True" } else { "False" };
    let old = previous.iter().find(|c| c["type"] == kind);
    let same = old
        .is_some_and(|c| c["status"] == status && c["reason"] == reason && c["message"] == message);
    let transition = match old {
        Some(c) if c["status"] == status => c["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    let update = match old {
        Some(c) if same => c["lastUpdateTime"].clone(),
        _ => json!(now),
    };
    json!({"type": kind, "status": status, "lastUpdateTime": update, "lastTransitionTime": transition, "reason": reason, "message": message})
}

/// The ReplicaSet of the deployment's current template: the existing one (made the newest
/// revision again after a `rollout undo`), or a new one.
fn current_replica_set(ctl: &mut Ctl, deploy: &Value, sets: &[Arc<Value>]) -> Option<Arc<Value>> {
    let hash = meta::short_hash(&deploy["spec"]["template"]);
    let max_revision = sets.iter().map(|r| revision(r)).max().unwrap_or(0);
    let existing = sets
        .iter()
        .find(|r| meta::str_at(r, &["metadata", "labels", HASH]) == Some(hash.as_str()));
    match existing {
        Some(rs) if revision(rs) == max_revision => Some(rs.clone()),
        Some(rs) => registry::edit(ctl.store(), &ObjKey::of(Kind::ReplicaSet, rs), |r| {
            let next = json!((max_revision + 1).to_string());
            meta::set(r, &["metadata", "annotations", REVISION], next);
        }),
        None => {
            let rs = new_replica_set(deploy, &hash, max_revision + 1);
            let opts = WriteOptions::controller(COMPONENT);
            match registry::create(
                ctl.store(),
                Kind::ReplicaSet,
                meta::namespace(deploy),
                rs,
                &opts,
            ) {
                Ok(rs) => Some(rs),
                Err(e) => {
                    let message = format!("Failed to create new replica set: {e}");
                    ctl.event(deploy, "Warning", "FailedCreate", &message, COMPONENT);
                    None
                }
            }
        }
    }
}

/// One rollout step: scale the new ReplicaSet up by one once its pods are available, or else
/// the old ones down as `maxUnavailable` allows ([`scale_down_olds`]; everything old first,
/// for `Recreate`). Returns whether anything was scaled.
fn step(ctl: &mut Ctl, deploy: &Value, new_rs: &Value, olds: &[Arc<Value>]) -> bool {
    if meta::at(deploy, &["spec", "paused"]) == Some(&json!(true)) {
        return false;
    }
    let desired = replicas(deploy, &["spec", "replicas"]);
    let recreate = meta::str_at(deploy, &["spec", "strategy", "type"]) == Some("Recreate");
    let new_spec = replicas(new_rs, &["spec", "replicas"]);
    let new_available = replicas(new_rs, &["status", "availableReplicas"]);
    let old_spec: i64 = olds
        .iter()
        .map(|r| replicas(r, &["spec", "replicas"]))
        .sum();
    let old_pods: i64 = olds
        .iter()
        .map(|r| replicas(r, &["status", "replicas"]))
        .sum();
    let mut progressed = false;
    if recreate && old_spec > 0 {
        for rs in olds {
            scale(ctl, deploy, rs, 0);
        }
        return true;
    }
    if new_spec > desired {
        scale(ctl, deploy, new_rs, desired);
        progressed = true;
    } else if new_spec < desired && new_available >= new_spec && !(recreate && old_pods > 0) {
        scale(
            ctl,
            deploy,
            new_rs,
            if recreate { desired } else { new_spec + 1 },
        );
        progressed = true;
    }
    // As the real controller, a step that scaled the new ReplicaSet scales nothing else: the
    // old ones go in a later step, after the new one has tried to create its pods.
    if recreate || progressed {
        return progressed;
    }
    scale_down_olds(ctl, deploy, new_rs, olds)
}

/// Scales the old ReplicaSets down as far as `maxUnavailable` allows, as the real controller
/// does: nothing while the new and old pods together would fall below the minimum available
/// (counting the new ReplicaSet's pods not yet available); else their unavailable pods
/// first, then available ones beyond the minimum. Returns whether anything was scaled.
fn scale_down_olds(ctl: &mut Ctl, deploy: &Value, new_rs: &Value, olds: &[Arc<Value>]) -> bool {
    let desired = replicas(deploy, &["spec", "replicas"]);
    let min_available = desired - max_unavailable(deploy, desired);
    let new_spec = replicas(new_rs, &["spec", "replicas"]);
    let new_available = replicas(new_rs, &["status", "availableReplicas"]);
    let mut olds: Vec<(&Arc<Value>, i64, i64)> = olds
        .iter()
        .map(|r| {
            let spec = replicas(r, &["spec", "replicas"]);
            (
                r,
                spec,
                replicas(r, &["status", "availableReplicas"]).min(spec),
            )
        })
        .collect();
    let all: i64 = new_spec + olds.iter().map(|(_, spec, _)| spec).sum::<i64>();
    let mut room = all - min_available - (new_spec - new_available);
    if room <= 0 {
        return false;
    }
    let mut scaled = false;
    for (rs, spec, available) in &mut olds {
        let down = (*spec - *available).min(room);
        if down > 0 {
            scale(ctl, deploy, rs, *spec - down);
            *spec -= down;
            room -= down;
            scaled = true;
        }
    }
    let available: i64 = new_available + olds.iter().map(|(_, _, a)| a).sum::<i64>();
    let mut surplus = available - min_available;
    for (rs, spec, _) in olds.iter().filter(|(_, spec, _)| *spec > 0) {
        if surplus <= 0 {
            break;
        }
        let down = surplus.min(*spec);
        scale(ctl, deploy, rs, spec - down);
        surplus -= down;
        scaled = true;
    }
    scaled
}

/// The deployment's status from its ReplicaSets as they are now, with the conditions; arms
/// a timer for the progress deadline while the rollout is incomplete.
fn status(
    ctl: &mut Ctl,
    key: &ObjKey,
    deploy: &Value,
    new_rs: &Value,
    progressed: bool,
    restarted: bool,
) -> Value {
    let generation = meta::i64_at(deploy, &["metadata", "generation"]).unwrap_or(1);
    let desired = replicas(deploy, &["spec", "replicas"]);
    let sets = owned(
        ctl.store(),
        Kind::ReplicaSet,
        &key.namespace,
        meta::uid(deploy),
    );
    let sum = |path: &[&str]| -> i64 { sets.iter().map(|r| replicas(r, path)).sum() };
    let (total, ready, available) = (
        sum(&["status", "replicas"]),
        sum(&["status", "readyReplicas"]),
        sum(&["status", "availableReplicas"]),
    );
    let new_rs = sets
        .iter()
        .find(|r| meta::uid(r) == meta::uid(new_rs))
        .map_or(new_rs, |r| r.as_ref());
    let updated = replicas(new_rs, &["status", "replicas"]);
    let new_available = replicas(new_rs, &["status", "availableReplicas"]);

    let previous_status = deploy.get("status").cloned().unwrap_or(json!({}));
    let previous = meta::array_at(&previous_status, &["conditions"]);
    let moved = (
        replicas(&previous_status, &["updatedReplicas"]),
        replicas(&previous_status, &["availableReplicas"]),
    ) != (updated, available);
    if progressed || (moved && !restarted) {
        ctl.progress
            .insert(key.clone(), (generation, Instant::now()));
    }
    let complete =
        updated == desired && total == updated && available == updated && new_available == desired;
    let deadline = meta::i64_at(deploy, &["spec", "progressDeadlineSeconds"]).unwrap_or(600) as f64;
    let since = ctl.progress.get(key).map_or_else(Instant::now, |(_, t)| *t);
    let already_exceeded = previous
        .iter()
        .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded");
    let stalled = already_exceeded && !progressed && !restarted;
    let exceeded = !complete && (ctl.sim_elapsed(since) >= deadline || stalled);
    if !complete && !exceeded {
        let wait =
            ctl.real(deadline - ctl.sim_elapsed(since)) + std::time::Duration::from_millis(5);
        ctl.after(wait, key);
    }

    let now = meta::now();
    let rs_name = meta::name(new_rs);
    let minimum = desired - max_unavailable(deploy, desired);
    let available_cond = if available >= minimum {
        cond(
            "Available",
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            previous,
            &now,
        )
    } else {
        cond(
            "Available",
            false,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            previous,
            &now,
        )
    };
    let progressing_cond = if complete {
        cond(
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
            previous,
            &now,
        )
    } else if exceeded {
        cond(
            "Progressing",
            false,
            "ProgressDeadlineExceeded",
            &format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
            previous,
            &now,
        )
    } else {
        cond(
            "Progressing",
            true,
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{rs_name}\" is progressing."),
            previous,
            &now,
        )
    };
    let mut conditions = vec![available_cond, progressing_cond];
    // A ReplicaSet's failure to create pods (the new one's first) is the deployment's too.
    let failure = std::iter::once(new_rs)
        .chain(sets.iter().map(|r| r.as_ref()))
        .flat_map(|r| meta::array_at(r, &["status", "conditions"]))
        .find(|c| c["type"] == "ReplicaFailure" && c["status"] == "True");
    if let Some(failure) = failure {
        conditions.push(cond(
            "ReplicaFailure",
            true,
            failure["reason"].as_str().unwrap_or(""),
            failure["message"].as_str().unwrap_or(""),
            previous,
            &now,
        ));
    }
    let mut status = json!({
        "observedGeneration": generation,
        "conditions": conditions,
    });
    let unavailable = (total - available).max(desired - available);
    // Zero counts are omitted, as the API server's JSON does.
    for (field, value) in [
        ("replicas", total),
        ("updatedReplicas", updated),
        ("readyReplicas", ready),
        ("availableReplicas", available),
        ("unavailableReplicas", unavailable),
    ] {
        if value > 0 {
            status[field] = json!(value);
        }
    }
    status
}

pub fn reconcile(ctl: &mut Ctl, key: &ObjKey) {
    let Some(deploy) = ctl.store().get(key) else {
        ctl.progress.remove(key);
        return;
    };
    let sets = owned(
        ctl.store(),
        Kind::ReplicaSet,
        &key.namespace,
        meta::uid(&deploy),
    );
    let Some(new_rs) = current_replica_set(ctl, &deploy, &sets) else {
        return;
    };
    // A new generation starts a new progress deadline.
    let generation = meta::i64_at(&deploy, &["metadata", "generation"]).unwrap_or(1);
    let restarted = ctl.progress.get(key).is_none_or(|(g, _)| *g != generation);
    if restarted {
        ctl.progress
            .insert(key.clone(), (generation, Instant::now()));
    }
    let olds: Vec<Arc<Value>> = sets
        .into_iter()
        .filter(|r| meta::uid(r) != meta::uid(&new_rs))
        .collect();
    let progressed = step(ctl, &deploy, &new_rs, &olds);
    let status = status(ctl, key, &deploy, &new_rs, progressed, restarted);
    let rev = revision(&new_rs).to_string();
    registry::edit(ctl.store(), key, |d| {
        meta::set(d, &["metadata", "annotations", REVISION], json!(rev));
        d["status"] = status;
    });
}
