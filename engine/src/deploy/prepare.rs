//! Preparing objects for the apply: images from `--images`, and the deploy's traceability
//! annotations for the objects the deploy writes.
//!
//! The annotations (repository and commit) say which commit last changed an object. They are
//! written only on objects the deploy creates or changes anyway ([`annotate`], at apply time),
//! on the object's own metadata, never in a pod template: an object the user did not change is
//! neither rewritten nor reported `configured` because the commit moved, and no pod restarts for
//! an annotation. Per-run facts (deploy id, run URL) live in the history server, which links a
//! commit to its deploys.

use serde_json::Value;

use crate::images::{Substitution, substitute};
use crate::manifest::Manifest;

/// Annotation with the repository the deploy came from.
pub const REPOSITORY: &str = "shiplog.dev/repository";
/// Annotation with the commit deployed.
pub const COMMIT: &str = "shiplog.dev/commit";

/// Where a deploy came from, when known (in GitHub Actions: `GITHUB_REPOSITORY`, `GITHUB_SHA`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Traceability {
    pub repository: Option<String>,
    pub commit: Option<String>,
}

impl Traceability {
    fn annotations(&self) -> Vec<(&'static str, &str)> {
        [(REPOSITORY, &self.repository), (COMMIT, &self.commit)]
            .into_iter()
            .filter_map(|(key, value)| Some((key, value.as_deref()?)))
            .collect()
    }
}

/// Substitutes `images` into every object; returns the substitutions made, as
/// `Kind/name container: from → to`.
pub fn prepare(manifests: &mut [Manifest], images: &[String]) -> Vec<String> {
    let mut done = Vec::new();
    for manifest in manifests {
        let kind = manifest.kind().to_owned();
        let name = manifest.name().to_owned();
        for Substitution {
            container,
            from,
            to,
        } in substitute(&kind, &mut manifest.object, images)
        {
            done.push(format!("{kind}/{name} {container}: {from} → {to}"));
        }
    }
    done
}

/// `object` with the traceability annotations of `trace` in its metadata.
pub fn annotate(object: &Value, trace: &Traceability) -> Value {
    let mut object = object.clone();
    let annotations = trace.annotations();
    if let (false, Some(metadata)) = (annotations.is_empty(), object["metadata"].as_object_mut()) {
        let map = metadata
            .entry("annotations")
            .or_insert_with(|| serde_json::json!({}));
        for (key, value) in annotations {
            map[key] = value.into();
        }
    }
    object
}

/// `object` without the traceability annotations (and without an annotation map they leave
/// empty): what the user's manifests say, for comparing a live object with its new version.
pub fn without_traceability(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(metadata) = object["metadata"].as_object_mut() {
        if let Some(map) = metadata
            .get_mut("annotations")
            .and_then(Value::as_object_mut)
        {
            map.remove(REPOSITORY);
            map.remove(COMMIT);
        }
        if metadata
            .get("annotations")
            .and_then(Value::as_object)
            .is_some_and(serde_json::Map::is_empty)
        {
            metadata.remove("annotations");
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse;

    #[test]
    fn images_are_substituted_and_annotations_written_only_when_asked() {
        let text = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers: [{name: init, image: ghcr.io/acme/api:v1}]\n          containers: [{name: run, image: ghcr.io/acme/api:v1}]\n";
        let (mut manifests, _) = parse("a.yaml", text);
        let done = prepare(&mut manifests, &["ghcr.io/acme/api:v2".into()]);
        assert_eq!(done.len(), 2, "{done:?}");
        assert_eq!(
            done[0],
            "CronJob/nightly init: ghcr.io/acme/api:v1 → ghcr.io/acme/api:v2"
        );
        let object = &manifests[0].object;
        assert!(object["metadata"]["annotations"].is_null());
        let trace = Traceability {
            repository: Some("acme/shop".into()),
            commit: Some("4f2a9c1e".into()),
        };
        let annotated = annotate(object, &trace);
        assert_eq!(annotated["metadata"]["annotations"][COMMIT], "4f2a9c1e");
        assert!(
            annotated["spec"]["jobTemplate"]["spec"]["template"]["metadata"].is_null(),
            "pod templates are left alone"
        );
        assert_eq!(&without_traceability(&annotated), object);
        assert_eq!(annotate(object, &Traceability::default()), *object);
    }
}
