//! The difference between what two deploys applied ([`ManifestsDiff`]): object by object,
//! matched by kind, name and namespace, each a unified diff of its YAML. Pure: the store reads
//! the sets, this compares them.
//!
//! Bounded: a comparison searches for the shortest diffs for at most [`COMPARE_TIME`], then
//! settles for correct but longer ones, so two hostile sets (512 KiB of lines that share
//! nothing) cost a bounded amount of CPU. The handler runs it off the async workers. The
//! answer is bounded by the sets: a unified diff holds each line of either side at most once
//! (512 KiB of YAML each), plus a header per object and three lines of context per change.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use shiplog_model::limits::{MAX_LONG_TEXT, cut};
use shiplog_model::{
    AppliedManifests, AppliedObject, DeployId, ManifestsDiff, ObjectChange, ObjectDiff,
};
use similar::TextDiff;

/// How long one comparison searches for the shortest diffs.
pub const COMPARE_TIME: Duration = Duration::from_secs(1);

/// What one deploy applied, as far as it was kept.
pub struct Side<'a> {
    pub id: DeployId,
    pub set: Option<&'a AppliedManifests>,
}

impl Side<'_> {
    /// The objects, or why there are none to compare.
    fn objects(&self) -> Result<&[AppliedObject], String> {
        match self.set {
            None => Err(format!(
                "deploy {} has no manifests kept (recorded before shiplog kept them, or by a \
                 writer that does not send them)",
                self.id
            )),
            Some(set) => match &set.note {
                Some(note) if set.objects.is_empty() => {
                    Err(format!("deploy {} keeps only its digest: {note}", self.id))
                }
                _ => Ok(&set.objects),
            },
        }
    }
}

/// How `to` differs from `from`.
pub fn compare(from: &Side<'_>, to: &Side<'_>) -> ManifestsDiff {
    let deadline = Instant::now() + COMPARE_TIME;
    let mut answer = ManifestsDiff {
        from: from.id,
        to: to.id,
        objects: Vec::new(),
        unchanged: 0,
        notes: Vec::new(),
    };
    let (old, new) = match (from.objects(), to.objects()) {
        (Ok(old), Ok(new)) => (old, new),
        (old, new) => {
            answer.notes.extend(old.err());
            answer.notes.extend(new.err());
            if let (Some(a), Some(b)) = (from.set, to.set)
                && a.digest == b.digest
            {
                answer
                    .notes
                    .push("both deploys applied the same set (equal digests)".into());
            }
            return answer;
        }
    };
    let by_identity: HashMap<String, &AppliedObject> =
        old.iter().map(|o| (o.identity(), o)).collect();
    let mut seen = std::collections::HashSet::new();
    for object in new {
        let identity = object.identity();
        seen.insert(identity.clone());
        match by_identity.get(&identity) {
            Some(before) if before.yaml == object.yaml => answer.unchanged += 1,
            Some(before) => answer.objects.push(diff(
                identity,
                ObjectChange::Changed,
                &before.yaml,
                &object.yaml,
                (from.id, to.id, deadline),
            )),
            None => answer.objects.push(diff(
                identity,
                ObjectChange::Added,
                "",
                &object.yaml,
                (from.id, to.id, deadline),
            )),
        }
    }
    for object in old {
        let identity = object.identity();
        if !seen.contains(&identity) {
            answer.objects.push(diff(
                identity,
                ObjectChange::Removed,
                &object.yaml,
                "",
                (from.id, to.id, deadline),
            ));
        }
    }
    answer
}

fn diff(
    object: String,
    change: ObjectChange,
    old: &str,
    new: &str,
    (from, to, deadline): (DeployId, DeployId, Instant),
) -> ObjectDiff {
    let text = TextDiff::configure()
        .deadline(deadline)
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("deploy {from} {object}"),
            &format!("deploy {to} {object}"),
        )
        .to_string();
    ObjectDiff {
        object,
        change,
        diff: cut(text.trim_end(), MAX_LONG_TEXT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(name: &str, yaml: &str) -> AppliedObject {
        AppliedObject {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: name.into(),
            namespace: Some("prod".into()),
            yaml: yaml.into(),
        }
    }

    /// Deploy 2's set (`new`) against deploy 1's (`old`).
    fn between(old: Option<&AppliedManifests>, new: Option<&AppliedManifests>) -> ManifestsDiff {
        compare(
            &Side {
                id: DeployId(1),
                set: old,
            },
            &Side {
                id: DeployId(2),
                set: new,
            },
        )
    }

    fn set(objects: Vec<AppliedObject>) -> AppliedManifests {
        AppliedManifests {
            digest: "0".repeat(64),
            objects,
            note: None,
        }
    }

    #[test]
    fn objects_are_matched_by_identity_and_diffed() {
        let old = set(vec![
            object("api", "image: api:v1\nreplicas: 2\n"),
            object("web", "image: web:v1\n"),
            object("gone", "image: gone:v1\n"),
        ]);
        let new = set(vec![
            object("web", "image: web:v1\n"),
            object("api", "image: api:v2\nreplicas: 2\n"),
            object("cron", "image: cron:v1\n"),
        ]);
        let answer = between(Some(&old), Some(&new));
        assert_eq!(answer.unchanged, 1);
        let changes: Vec<(&str, ObjectChange)> = answer
            .objects
            .iter()
            .map(|o| (o.object.as_str(), o.change))
            .collect();
        assert_eq!(
            changes,
            [
                ("Deployment/api in prod", ObjectChange::Changed),
                ("Deployment/cron in prod", ObjectChange::Added),
                ("Deployment/gone in prod", ObjectChange::Removed),
            ]
        );
        let api = &answer.objects[0].diff;
        assert!(api.contains("-image: api:v1\n+image: api:v2"), "{api}");
        assert!(api.starts_with("--- deploy 1 Deployment/api in prod\n+++ deploy 2"));
    }

    #[test]
    fn sets_that_share_nothing_are_still_compared_whole() {
        let lines = |tag: &str| -> String { (0..20_000).map(|i| format!("{tag}{i}\n")).collect() };
        let old = set(vec![object("api", &lines("a"))]);
        let new = set(vec![object("api", &lines("b"))]);
        let answer = between(Some(&old), Some(&new));
        let diff = &answer.objects[0].diff;
        assert!(diff.starts_with("--- deploy 1"), "{}", &diff[..80]);
        assert!(diff.ends_with(" more lines"), "cut to a long text's limit");
    }

    #[test]
    fn a_missing_or_digest_only_set_is_a_note_not_an_error() {
        let kept = set(vec![object("api", "image: api:v1\n")]);
        let digest_only = AppliedManifests {
            note: Some("too large".into()),
            ..set(Vec::new())
        };
        let answer = between(None, Some(&digest_only));
        assert!(answer.objects.is_empty());
        assert_eq!(answer.notes.len(), 2, "{:?}", answer.notes);
        assert!(answer.notes[0].contains("deploy 1 has no manifests kept"));
        assert!(answer.notes[1].contains("keeps only its digest: too large"));
        let answer = between(Some(&kept), Some(&kept));
        assert_eq!((answer.unchanged, answer.objects.len()), (1, 0));
    }
}
