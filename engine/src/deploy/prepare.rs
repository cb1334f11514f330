//! Preparing objects for the apply: images from `--images` and the deploy's traceability
//! annotations.
//!
//! Only annotations that stay the same when the same commit is deployed again are written
//! (repository and commit), on the object's own metadata, never in a pod template: a second
//! identical deploy then changes nothing (every object `unchanged`) and no pod restarts for
//! an annotation. Per-run facts (deploy id, run URL) live in the history server, which links
//! a commit to its deploys.

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

/// Substitutes `images` and writes the traceability annotations into every object; returns
/// the substitutions made, as `Kind/name container: from → to`.
pub fn prepare(manifests: &mut [Manifest], images: &[String], trace: &Traceability) -> Vec<String> {
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
        let annotations = trace.annotations();
        if annotations.is_empty() {
            continue;
        }
        if let Some(metadata) = manifest.object["metadata"].as_object_mut() {
            let map = metadata
                .entry("annotations")
                .or_insert_with(|| serde_json::json!({}));
            for (key, value) in annotations {
                map[key] = value.into();
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse;

    #[test]
    fn images_and_stable_annotations_are_written() {
        let text = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers: [{name: init, image: ghcr.io/acme/api:v1}]\n          containers: [{name: run, image: ghcr.io/acme/api:v1}]\n";
        let (mut manifests, _) = parse("a.yaml", text);
        let trace = Traceability {
            repository: Some("acme/shop".into()),
            commit: Some("4f2a9c1e".into()),
        };
        let done = prepare(&mut manifests, &["ghcr.io/acme/api:v2".into()], &trace);
        assert_eq!(done.len(), 2, "{done:?}");
        assert_eq!(
            done[0],
            "CronJob/nightly init: ghcr.io/acme/api:v1 → ghcr.io/acme/api:v2"
        );
        let object = &manifests[0].object;
        assert_eq!(object["metadata"]["annotations"][COMMIT], "4f2a9c1e");
        assert!(
            object["spec"]["jobTemplate"]["spec"]["template"]["metadata"].is_null(),
            "pod templates are left alone"
        );
        let again = object.clone();
        prepare(&mut manifests, &["ghcr.io/acme/api:v2".into()], &trace);
        assert_eq!(
            manifests[0].object, again,
            "preparing twice changes nothing"
        );
    }
}
