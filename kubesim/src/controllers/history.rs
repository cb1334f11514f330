//! ControllerRevisions: the history StatefulSets and DaemonSets keep of their pod templates,
//! which `kubectl rollout history` lists and `kubectl rollout undo` restores. As the real
//! controllers keep it:
//!
//! - one revision per distinct template, named `{owner}-{hash}`, controlled by the workload
//!   (controller owner reference), labelled with the template's labels plus the hash, and
//!   annotated with the workload's annotations at the time;
//! - `data` is the strategic merge patch that puts the template back,
//!   `{"spec": {"template": {…, "$patch": "replace"}}}`, which `rollout undo` sends as is;
//! - `revision` numbers them; going back to an earlier template renumbers its revision as the
//!   newest instead of creating another;
//! - revisions that no pod uses are deleted, oldest first, beyond
//!   `spec.revisionHistoryLimit`.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Ctl, owned};
use crate::meta;
use crate::registry::{self, WriteOptions};
use crate::resources::Kind;
use crate::store::ObjKey;

/// The hash of `owner`'s pod template, as its revision's name and labels carry it.
pub fn template_hash(owner: &Value) -> String {
    meta::short_hash(&owner["spec"]["template"])
}

/// The name of `owner`'s revision with template hash `hash`.
pub fn revision_name(owner: &Value, hash: &str) -> String {
    format!("{}-{hash}", meta::name(owner))
}

/// The `revision` number of a ControllerRevision.
fn number(revision: &Value) -> i64 {
    meta::i64_at(revision, &["revision"]).unwrap_or(0)
}

/// The strategic merge patch that restores `owner`'s current template.
pub fn restore_patch(owner: &Value) -> Value {
    let mut template = owner["spec"]["template"].clone();
    meta::object_mut(&mut template).insert("$patch".into(), json!("replace"));
    json!({"spec": {"template": template}})
}

/// A new ControllerRevision of `owner`'s current template.
fn new_revision(owner: &Value, hash: &str, hash_label: &str, revision: i64) -> Value {
    let mut labels = owner["spec"]["template"]["metadata"]["labels"].clone();
    meta::object_mut(&mut labels).insert(hash_label.into(), json!(hash));
    let mut metadata = json!({
        "name": revision_name(owner, hash),
        "namespace": meta::namespace(owner),
        "labels": labels,
        "ownerReferences": [meta::controller_ref(owner)],
    });
    if let Some(annotations) = meta::at(owner, &["metadata", "annotations"]) {
        metadata["annotations"] = annotations.clone();
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": metadata,
        "data": restore_patch(owner),
        "revision": revision,
    })
}

/// Makes sure `owner`'s current template has the newest revision (creating it, or
/// renumbering an earlier one it went back to); returns the revision's name. `hash_label`
/// is the label that carries the hash (`controller.kubernetes.io/hash` for StatefulSets,
/// `controller-revision-hash` for DaemonSets).
pub fn record(ctl: &mut Ctl, owner: &Value, hash_label: &str, component: &str) -> String {
    let hash = template_hash(owner);
    let name = revision_name(owner, &hash);
    let revisions = owned(
        ctl.store(),
        Kind::ControllerRevision,
        meta::namespace(owner),
        meta::uid(owner),
    );
    let newest = revisions.iter().map(|r| number(r)).max().unwrap_or(0);
    match revisions.iter().find(|r| meta::name(r) == name) {
        Some(existing) if number(existing) == newest => {}
        Some(existing) => {
            registry::edit(
                ctl.store(),
                &ObjKey::of(Kind::ControllerRevision, existing),
                |r| r["revision"] = json!(newest + 1),
            );
        }
        None => {
            let revision = new_revision(owner, &hash, hash_label, newest + 1);
            if let Err(e) = registry::create(
                ctl.store(),
                Kind::ControllerRevision,
                meta::namespace(owner),
                revision,
                &WriteOptions::controller(component),
            ) {
                let message = format!("create Controller Revision {name} failed: {e}");
                ctl.event(owner, "Warning", "FailedCreate", &message, component);
            }
        }
    }
    name
}

/// The revisions to delete: those not in `live`, oldest first, beyond `limit`.
fn surplus<'a>(revisions: &'a [Arc<Value>], live: &[String], limit: usize) -> Vec<&'a Value> {
    let mut unused: Vec<&Value> = revisions
        .iter()
        .map(AsRef::as_ref)
        .filter(|r| !live.iter().any(|l| l == meta::name(r)))
        .collect();
    unused.sort_by_key(|r| number(r));
    let excess = unused.len().saturating_sub(limit);
    unused.truncate(excess);
    unused
}

/// Deletes `owner`'s revisions beyond `spec.revisionHistoryLimit` that are not named in
/// `live` (the current and update revisions, and those of existing pods).
pub fn truncate(ctl: &mut Ctl, owner: &Value, live: &[String]) {
    let limit = meta::i64_at(owner, &["spec", "revisionHistoryLimit"])
        .unwrap_or(10)
        .max(0) as usize;
    let revisions = owned(
        ctl.store(),
        Kind::ControllerRevision,
        meta::namespace(owner),
        meta::uid(owner),
    );
    for revision in surplus(&revisions, live, limit) {
        // Already gone is fine.
        let _ = registry::delete(
            ctl.store(),
            &ObjKey::of(Kind::ControllerRevision, revision),
            false,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restore_patch_replaces_the_whole_template() {
        let sts = json!({"metadata": {"name": "db"}, "spec": {"template": {
            "metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}});
        let patch = restore_patch(&sts);
        assert_eq!(patch["spec"]["template"]["$patch"], "replace");
        assert_eq!(
            patch["spec"]["template"]["spec"],
            sts["spec"]["template"]["spec"]
        );
        let revision = new_revision(&sts, "abc", "controller.kubernetes.io/hash", 3);
        assert_eq!(revision["metadata"]["name"], "db-abc");
        assert_eq!(
            revision["metadata"]["labels"],
            json!({"app": "db", "controller.kubernetes.io/hash": "abc"})
        );
        assert_eq!(revision["revision"], 3);
    }

    #[test]
    fn only_unused_revisions_beyond_the_limit_go_oldest_first() {
        let rev = |name: &str, n: i64| Arc::new(json!({"metadata": {"name": name}, "revision": n}));
        let revisions = [
            rev("a", 1),
            rev("b", 2),
            rev("c", 3),
            rev("d", 4),
            rev("e", 5),
        ];
        let live = ["e".to_string(), "a".to_string()];
        let names = |limit| -> Vec<String> {
            surplus(&revisions, &live, limit)
                .iter()
                .map(|r| meta::name(r).to_string())
                .collect()
        };
        assert_eq!(names(1), ["b", "c"]);
        assert_eq!(names(3), Vec::<String>::new());
        assert_eq!(names(0), ["b", "c", "d"]);
    }
}
