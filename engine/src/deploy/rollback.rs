//! `--rollback-on-failure`: what `kubectl rollout undo` does — put back the pod template of
//! the previous revision ([`super::revisions`]: a Deployment's ReplicaSets, a StatefulSet's
//! or DaemonSet's ControllerRevisions) — then wait for that rollout. A StatefulSet's pods
//! that are stuck on the failed revision are deleted after the template is restored, as the
//! Kubernetes documentation prescribes, or the StatefulSet would wait for them forever.
//! Other kinds keep no history to go back to.

use std::time::Duration;

use futures_util::future::join_all;

use super::DeployError;
use super::revisions::{History, Previous, stuck_pods};
use super::watch::{Settled, Workload, settle};
use crate::host::Host;
use crate::kube::client::{Kube, KubeError};
use crate::kube::discovery::Discovery;
use crate::kube::request::{PointerBuf, RequestError, label_selector, replace};

/// What rolling back achieved.
#[derive(Debug, Default)]
pub struct Restored {
    /// Every failed workload is back on its previous version.
    pub all: bool,
    pub notes: Vec<String>,
}

/// Deletes `statefulset`'s pods stuck on the revision `leaving`; their names.
async fn replace_stuck_pods<H: Host>(
    kube: &Kube<H>,
    namespace: Option<&str>,
    statefulset: &serde_json::Value,
    selector: &str,
    leaving: &str,
) -> Result<Vec<String>, KubeError> {
    let pods = Discovery::builtin("v1", "Pod", "pods");
    let list = kube.json(&pods.list(namespace, selector)?).await?;
    let items = list["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let stuck = stuck_pods(statefulset, items, leaving);
    for name in &stuck {
        match kube.send(&pods.delete(namespace, name)?).await {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
    }
    Ok(stuck)
}

async fn undo<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    failed: &Settled,
    timeout: Duration,
) -> Result<Result<String, String>, DeployError> {
    let workload = failed.workload();
    let Some(history) = History::of(failed.resource.kind()) else {
        return Ok(Err(format!(
            "{workload}: only Deployments, StatefulSets and DaemonSets can be rolled back"
        )));
    };
    let ns = failed.namespace.as_deref();
    let access = |e| DeployError::from_kube(e, || format!("rolling back {workload}"));
    let built = |request: Result<_, RequestError>| request.map_err(|e| access(e.into()));
    let object = kube
        .json(&built(failed.resource.get(ns, &failed.name))?)
        .await
        .map_err(access)?;
    let selector = label_selector(&object["spec"]["selector"]["matchLabels"]);
    let list = kube
        .json(&built(history.resource(discovery).list(ns, &selector))?)
        .await
        .map_err(access)?;
    let records = list["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let Some(Previous {
        number,
        template,
        leaving,
    }) = history.previous(&object, records)
    else {
        return Ok(Err(format!(
            "{workload}: there is no previous revision to roll back to"
        )));
    };
    let restore = replace(PointerBuf::from_tokens(["spec", "template"]), template);
    kube.send(&built(failed.resource.json_patch(
        ns,
        &failed.name,
        restore,
    ))?)
    .await
    .map_err(access)?;
    let mut done = format!("{workload}: rolled back to revision {number}");
    if let (Some(leaving), "StatefulSet") = (leaving, failed.resource.kind()) {
        let replaced = replace_stuck_pods(kube, ns, &object, &selector, &leaving)
            .await
            .map_err(access)?;
        if !replaced.is_empty() {
            done = format!(
                "{done} (deleted pods stuck on the failed revision: {})",
                replaced.join(", ")
            );
        }
    }
    let restored = Workload {
        resource: &failed.resource,
        namespace: ns,
        name: &failed.name,
        seen: None,
    };
    let settled = settle(kube, discovery, &[restored], timeout).await?;
    Ok(if settled.iter().all(Settled::is_complete) {
        Ok(done)
    } else {
        Err(format!(
            "{workload}: the rollback to revision {number} did not complete"
        ))
    })
}

/// Rolls back every failed workload, concurrently.
pub async fn roll_back<H: Host>(
    kube: &Kube<H>,
    discovery: &Discovery,
    failed: &[&Settled],
    timeout: Duration,
) -> Result<Restored, DeployError> {
    let outcomes = join_all(failed.iter().map(|f| undo(kube, discovery, f, timeout))).await;
    let mut restored = Restored {
        all: true,
        notes: Vec::new(),
    };
    for outcome in outcomes {
        match outcome? {
            Ok(note) => restored.notes.push(note),
            Err(note) => {
                restored.all = false;
                restored.notes.push(note);
            }
        }
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::kube::client::tests::{Scripted, answer};
    use crate::kube::retry::Backoff;
    use crate::rollout::Verdict;

    #[test]
    fn a_statefulset_gets_its_previous_template_back_and_its_stuck_pods_deleted() {
        let sts = json!({"metadata": {"name": "db", "uid": "s1", "generation": 3, "resourceVersion": "9"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "db"}}},
            "status": {"observedGeneration": 3, "readyReplicas": 2, "updatedReplicas": 2,
                "currentRevision": "db-a", "updateRevision": "db-a"}});
        let revision = |name: &str, number: i64, image: &str| {
            json!({"metadata": {"name": name, "ownerReferences": [{"uid": "s1", "controller": true}]},
                "revision": number, "data": {"spec": {"template": {"$patch": "replace",
                    "spec": {"containers": [{"name": "db", "image": image}]}}}}})
        };
        let pod = |name: &str, revision: &str, ready: &str| {
            json!({"metadata": {"name": name, "labels": {"controller-revision-hash": revision},
                "ownerReferences": [{"uid": "s1", "controller": true}]},
                "status": {"conditions": [{"type": "Ready", "status": ready}]}})
        };
        let host = Scripted::default();
        host.answers.borrow_mut().extend([
            answer(200, &sts.to_string()),
            answer(
                200,
                &json!({"items": [revision("db-a", 1, "db:v1"), revision("db-b", 2, "db:broken")]})
                    .to_string(),
            ),
            answer(200, "{}"),
            answer(
                200,
                &json!({"items": [pod("db-0", "db-a", "True"), pod("db-1", "db-b", "False")]})
                    .to_string(),
            ),
            answer(
                404,
                r#"{"kind":"Status","reason":"NotFound","message":"gone"}"#,
            ),
            answer(
                200,
                &json!({"metadata": {"resourceVersion": "10"}, "items": [sts]}).to_string(),
            ),
        ]);
        let kube = Kube::new(host, Backoff::default());
        let failed = Settled {
            resource: Discovery::builtin("apps/v1", "StatefulSet", "statefulsets"),
            name: "db".into(),
            namespace: Some("prod".into()),
            verdict: Verdict::Progressing("1 of 2 pods are ready".into()),
        };
        let restored = futures_util::FutureExt::now_or_never(roll_back(
            &kube,
            &Discovery::default(),
            &[&failed],
            Duration::MAX,
        ))
        .expect("scripted futures never wait")
        .unwrap();
        assert!(restored.all);
        assert_eq!(
            restored.notes,
            [
                "StatefulSet/db: rolled back to revision 1 (deleted pods stuck on the failed revision: db-1)"
            ]
        );
        assert_eq!(
            *kube.host().sent.borrow(),
            [
                "GET /apis/apps/v1/namespaces/prod/statefulsets/db",
                "GET /apis/apps/v1/namespaces/prod/controllerrevisions?labelSelector=app%3Ddb",
                "PATCH /apis/apps/v1/namespaces/prod/statefulsets/db?fieldManager=shiplog",
                "GET /api/v1/namespaces/prod/pods?labelSelector=app%3Ddb",
                "DELETE /api/v1/namespaces/prod/pods/db-1",
                "GET /apis/apps/v1/namespaces/prod/statefulsets?fieldSelector=metadata.name%3Ddb",
            ]
        );
    }

    #[test]
    fn kinds_without_history_are_reported_not_rolled_back() {
        let kube = Kube::new(Scripted::default(), Backoff::default());
        let failed = Settled {
            resource: Discovery::builtin("batch/v1", "Job", "jobs"),
            name: "migrate".into(),
            namespace: None,
            verdict: Verdict::Progressing("running".into()),
        };
        let restored = futures_util::FutureExt::now_or_never(roll_back(
            &kube,
            &Discovery::default(),
            &[&failed],
            Duration::MAX,
        ))
        .expect("scripted futures never wait")
        .unwrap();
        assert!(!restored.all);
        assert_eq!(
            restored.notes,
            ["Job/migrate: only Deployments, StatefulSets and DaemonSets can be rolled back"]
        );
        assert!(kube.host().sent.borrow().is_empty());
    }
}
