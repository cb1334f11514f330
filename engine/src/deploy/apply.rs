//! The changing half of a deploy: namespaces, the server-side dry run of every object, the plan
//! (each existing object's dry-run answer compared with the live object: `created`,
//! `configured` or `unchanged`, with the diff of each change, see [`super::change`]), then the
//! server-side apply of what the plan changes, tier by tier, concurrently within a tier. An
//! unchanged object is not written at all: a redeploy of identical manifests makes no mutating
//! request.

use std::collections::BTreeSet;

use futures_util::{StreamExt as _, future::join_all, stream};
use serde_json::{Value, json};
use shiplog_model::{ResourceAction, ResourceChange};

use super::change::diff;
use super::owners::conflicts;
use super::prepare::{Traceability, annotate};
use super::{DeployError, Options, object_name};
use crate::host::Host;
use crate::kube::client::{Kube, KubeError};
use crate::kube::discovery::Discovery;
use crate::kube::request::ApiResource;
use crate::manifest::Manifest;
use crate::plan::tier;

/// Requests in flight at once within a tier.
const CONCURRENCY: usize = 8;

/// What the dry run answered for one object.
pub struct Before {
    /// The HTTP status and the object as it would be; `None` when the object's namespace does
    /// not exist yet (it is created by the manifests).
    pub answer: Option<(u16, Value)>,
    /// The fields other managers hold that the apply takes over, `.spec.x (manager)`.
    pub conflicts: Vec<String>,
}

fn resource<'a>(discovery: &'a Discovery, manifest: &Manifest) -> &'a ApiResource {
    discovery
        .resource(manifest.api_version(), manifest.kind())
        .expect("validation rejects kinds the cluster does not serve")
}

fn resource_version(object: &Value) -> Option<&str> {
    object["metadata"]["resourceVersion"].as_str()
}

/// What an apply did, from its status and the resourceVersions of the dry run's answer (the
/// version before) and of the apply's answer.
pub fn classify(status: u16, before: Option<&str>, after: Option<&str>) -> ResourceAction {
    match (status, before) {
        (201, _) => ResourceAction::Created,
        (_, Some(before)) if Some(before) == after => ResourceAction::Unchanged,
        _ => ResourceAction::Configured,
    }
}

fn change(manifest: &Manifest, action: ResourceAction, planned: &Planned) -> ResourceChange {
    ResourceChange {
        api_version: manifest.api_version().to_owned(),
        kind: manifest.kind().to_owned(),
        name: manifest.name().to_owned(),
        namespace: manifest.namespace().map(str::to_owned),
        action,
        message: planned.note.clone(),
        diff: planned
            .diff
            .clone()
            .filter(|_| action != ResourceAction::Unchanged),
    }
}

/// Makes sure every namespace the objects live in exists. Returns the namespaces that exist
/// now and those created (or, in a dry run, those that would be).
pub async fn ensure_namespaces<H: Host>(
    kube: &Kube<H>,
    manifests: &[Manifest],
    options: &Options,
) -> Result<(BTreeSet<String>, Vec<String>), DeployError> {
    let namespaces = Discovery::builtin("v1", "Namespace", "namespaces");
    let wanted: BTreeSet<&str> = manifests.iter().filter_map(Manifest::namespace).collect();
    let declared: BTreeSet<&str> = manifests
        .iter()
        .filter(|m| m.kind() == "Namespace")
        .map(Manifest::name)
        .collect();
    let namespaces = &namespaces;
    let found = join_all(wanted.iter().map(|ns| async move {
        let found = match namespaces.get(None, ns) {
            Ok(request) => kube.send(&request).await,
            Err(e) => Err(e.into()),
        };
        match found {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(DeployError::from_kube(e, || {
                format!("reading namespace {ns}")
            })),
        }
    }))
    .await;
    let mut existing = BTreeSet::new();
    let mut missing = Vec::new();
    for (ns, found) in wanted.iter().zip(found) {
        if found? {
            existing.insert((*ns).to_owned());
        } else if !declared.contains(ns) {
            missing.push((*ns).to_owned());
        }
    }
    if !missing.is_empty() && !options.create_namespace {
        return Err(DeployError::Rejected {
            problems: missing
                .iter()
                .map(|ns| format!("namespace \"{ns}\" does not exist (--create-namespace=false)"))
                .collect(),
            namespaces_created: Vec::new(),
        });
    }
    if options.dry_run {
        return Ok((existing, missing));
    }
    for ns in &missing {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        match kube
            .send(&crate::kube::request::Request::post_json(
                namespaces.collection(None),
                &body,
            ))
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_conflict() => {}
            Err(e) => {
                return Err(DeployError::from_kube(e, || {
                    format!("creating namespace {ns}")
                }));
            }
        }
        existing.insert(ns.clone());
    }
    Ok((existing, missing))
}

/// Dry-runs every object whose namespace exists, first without taking over fields other
/// managers hold: a conflict is named, then (with `force_conflicts`) dry-run again taking them
/// over, or refused. Reports every refusal at once.
pub async fn dry_run<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    manifests: &[Manifest],
    existing: &BTreeSet<String>,
    namespaces_created: &[String],
    force_conflicts: bool,
) -> Result<Vec<Before>, DeployError> {
    let answers: Vec<Result<Before, KubeError>> = stream::iter(manifests)
        .map(|manifest| async move {
            if manifest
                .namespace()
                .is_some_and(|ns| !existing.contains(ns))
            {
                return Ok(Before {
                    answer: None,
                    conflicts: Vec::new(),
                });
            }
            let resource = resource(discovery, manifest);
            let request = |force| {
                resource.apply(
                    manifest.namespace(),
                    manifest.name(),
                    &manifest.object,
                    true,
                    force,
                )
            };
            let (answer, conflicts) = match kube.send(&request(false)?).await {
                Ok(answer) => (answer, Vec::new()),
                Err(KubeError::Api {
                    status: 409,
                    message,
                    ..
                }) if force_conflicts => (kube.send(&request(true)?).await?, conflicts(&message)),
                Err(e) => return Err(e),
            };
            let object = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            Ok(Before {
                answer: Some((answer.status, object)),
                conflicts,
            })
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut before = Vec::with_capacity(answers.len());
    let mut problems = Vec::new();
    for (manifest, answer) in manifests.iter().zip(answers) {
        match answer {
            Ok(answer) => before.push(answer),
            Err(e) if e.is_access() => return Err(DeployError::Access(e)),
            Err(KubeError::Api {
                status: 409,
                message,
                ..
            }) => problems.push(format!(
                "{}:{}: {}: other managers hold {} (force-conflicts is off)",
                manifest.origin.file,
                manifest.origin.line,
                object_name(manifest),
                conflicts(&message).join(", ")
            )),
            Err(e) => problems.push(format!(
                "{}:{}: {}: {e}",
                manifest.origin.file,
                manifest.origin.line,
                object_name(manifest)
            )),
        }
    }
    if problems.is_empty() {
        Ok(before)
    } else {
        Err(DeployError::Rejected {
            problems,
            namespaces_created: namespaces_created.to_vec(),
        })
    }
}

/// What the deploy does to one object, decided before anything changes.
pub struct Planned {
    pub action: ResourceAction,
    /// The object as it is now, when it exists.
    pub live: Option<Value>,
    /// What changes, as a YAML diff; `None` for an unchanged object.
    pub diff: Option<String>,
    /// What the deploy leaves to other owners or takes from them, for the reader.
    pub note: Option<String>,
}

/// The plan: for each manifest, in order, whether the apply creates it, changes it or leaves it
/// as it is — the dry run's answer compared with the live object (read for each object the dry
/// run did not create), ignoring the server's bookkeeping and the traceability annotations —
/// and the diff of each change.
pub async fn plan<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    manifests: &[Manifest],
    before: &[Before],
) -> Result<Vec<Planned>, DeployError> {
    let planned: Vec<Result<Planned, KubeError>> = stream::iter(manifests.iter().zip(before))
        .map(|(manifest, before)| async move {
            let (kind, name) = (manifest.kind(), manifest.name());
            let note = (!before.conflicts.is_empty()).then(|| {
                format!(
                    "took over from other managers: {}",
                    before.conflicts.join(", ")
                )
            });
            let answer = before.answer.as_ref();
            let Some((_, would_be)) = answer.filter(|(status, _)| *status != 201) else {
                // Created: as the dry run made it or, in a namespace still to be made, as written.
                let made = answer.map_or(&manifest.object, |(_, made)| made);
                return Ok(Planned {
                    action: ResourceAction::Created,
                    live: None,
                    diff: diff(kind, name, None, made),
                    note,
                });
            };
            let live = kube
                .json(&resource(discovery, manifest).get(manifest.namespace(), name)?)
                .await?;
            let diff = diff(kind, name, Some(&live), would_be);
            let action = match diff {
                None => ResourceAction::Unchanged,
                Some(_) => ResourceAction::Configured,
            };
            Ok(Planned {
                action,
                live: Some(live),
                diff,
                note,
            })
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    manifests
        .iter()
        .zip(planned)
        .map(|(manifest, planned)| {
            planned.map_err(|e| {
                DeployError::from_kube(e, || format!("reading {}", object_name(manifest)))
            })
        })
        .collect()
}

/// The changes `plan` predicts.
pub fn predicted(manifests: &[Manifest], plan: &[Planned]) -> Vec<ResourceChange> {
    manifests
        .iter()
        .zip(plan)
        .map(|(manifest, planned)| change(manifest, planned.action, planned))
        .collect()
}

/// What the apply did: for each manifest, in order, what changed and the object as the API
/// server answered the apply, or as it was read for an unchanged one (with its
/// resourceVersion, from which a watch can start).
pub struct Applied {
    pub changes: Vec<ResourceChange>,
    pub objects: Vec<Value>,
}

/// Applies every object `plan` creates or changes, tier by tier, with the traceability
/// annotations of `trace`; leaves the unchanged ones alone.
pub async fn apply<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    manifests: &[Manifest],
    plan: &[Planned],
    trace: &Traceability,
) -> Result<Applied, DeployError> {
    let mut changes: Vec<Option<ResourceChange>> = vec![None; manifests.len()];
    let mut objects = vec![Value::Null; manifests.len()];
    let mut order: Vec<usize> = Vec::new();
    for (i, planned) in plan.iter().enumerate() {
        match (&planned.action, &planned.live) {
            (ResourceAction::Unchanged, Some(live)) => {
                changes[i] = Some(change(&manifests[i], ResourceAction::Unchanged, planned));
                objects[i] = live.clone();
            }
            _ => order.push(i),
        }
    }
    order.sort_by_key(|i| tier(manifests[*i].kind()));
    for group in order.chunk_by(|a, b| tier(manifests[*a].kind()) == tier(manifests[*b].kind())) {
        let results: Vec<_> = stream::iter(group)
            .map(|i| async move {
                let manifest = &manifests[*i];
                let request = resource(discovery, manifest).apply(
                    manifest.namespace(),
                    manifest.name(),
                    &annotate(&manifest.object, trace),
                    false,
                    true,
                );
                let outcome = match request {
                    Ok(request) => kube.send(&request).await,
                    Err(e) => Err(e.into()),
                };
                let outcome = outcome.map(|answer| {
                    let after: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
                    let previous = plan[*i].live.as_ref().and_then(resource_version);
                    let action = classify(answer.status, previous, resource_version(&after));
                    (action, after)
                });
                (*i, outcome)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut failures = Vec::new();
        for (i, outcome) in results {
            match outcome {
                Ok((action, after)) => {
                    changes[i] = Some(change(&manifests[i], action, &plan[i]));
                    objects[i] = after;
                }
                Err(e) if e.is_access() => return Err(DeployError::Access(e)),
                Err(e) => failures.push(format!("applying {}: {e}", object_name(&manifests[i]))),
            }
        }
        if !failures.is_empty() {
            failures.sort();
            return Err(DeployError::Apply(failures.join("; ")));
        }
    }
    Ok(Applied {
        changes: changes.into_iter().flatten().collect(),
        objects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_configured_unchanged() {
        assert_eq!(classify(201, None, Some("7")), ResourceAction::Created);
        assert_eq!(
            classify(200, Some("5"), Some("5")),
            ResourceAction::Unchanged
        );
        assert_eq!(
            classify(200, Some("5"), Some("9")),
            ResourceAction::Configured
        );
        assert_eq!(
            classify(200, None, Some("9")),
            ResourceAction::Configured,
            "no dry run to compare with: assume a change"
        );
    }
}
