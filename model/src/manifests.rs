//! What a deploy applied, kept beside its record, and the comparison of two deploys' sets.
//!
//! A writer sends [`AppliedManifests`] once the deploy has been applied: every object as it
//! went to the cluster (images substituted), each as YAML. A Secret is kept as its name and
//! keys with a digest per value, never a value. A set larger than [`MAX_MANIFEST_BYTES`] is
//! kept as its digest and a note instead of its objects: the record never fails for it. The
//! server stores the set compressed and answers [`ManifestsDiff`], the object-by-object diff
//! of two deploys' sets.

use serde::{Deserialize, Serialize};

use crate::deploy::DeployId;
use crate::error::FieldError;
use crate::limits::{MAX_RESOURCES, MAX_SHORT_TEXT};

/// Most bytes of YAML a deploy's stored objects take together; a larger set is kept as its
/// digest and a note.
pub const MAX_MANIFEST_BYTES: usize = 512 * 1024;
/// Most objects a stored set lists.
pub const MAX_MANIFEST_OBJECTS: usize = MAX_RESOURCES;

/// One object as the deploy applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedObject {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object as YAML (a Secret's values replaced by `sha256:` digests).
    pub yaml: String,
}

impl AppliedObject {
    /// `Deployment/api in prod`: what names the object across deploys.
    pub fn identity(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{}/{} in {namespace}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

/// The objects a deploy applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedManifests {
    /// SHA-256 (64 hex digits) of the objects' YAML, in order: equal sets have equal digests,
    /// also when the objects themselves are not kept.
    pub digest: String,
    /// The objects, in the order they were applied; empty when `note` says why.
    #[serde(default)]
    pub objects: Vec<AppliedObject>,
    /// Why the objects are not kept (a set over [`MAX_MANIFEST_BYTES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl AppliedManifests {
    /// What the YAML of the objects takes together.
    pub fn yaml_bytes(&self) -> usize {
        self.objects.iter().map(|o| o.yaml.len()).sum()
    }

    /// Checks the digest's form, the number of objects, their names and their size.
    pub fn validate(&self) -> Result<(), FieldError> {
        let is_hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
        if self.digest.len() != 64 || !self.digest.chars().all(is_hex) {
            return Err(FieldError::new(
                "digest",
                "must be a SHA-256 digest: 64 lowercase hex digits",
            ));
        }
        if self.objects.len() > MAX_MANIFEST_OBJECTS {
            return Err(FieldError::new(
                "objects",
                format!(
                    "must have at most {MAX_MANIFEST_OBJECTS} entries (has {})",
                    self.objects.len()
                ),
            ));
        }
        if self.yaml_bytes() > MAX_MANIFEST_BYTES {
            return Err(FieldError::new(
                "objects",
                format!(
                    "take {} bytes of YAML: a deploy keeps at most {MAX_MANIFEST_BYTES}",
                    self.yaml_bytes()
                ),
            ));
        }
        for (i, object) in self.objects.iter().enumerate() {
            let texts = [
                ("kind", object.kind.as_str(), true),
                ("name", &object.name, true),
                ("api_version", &object.api_version, false),
                (
                    "namespace",
                    object.namespace.as_deref().unwrap_or_default(),
                    false,
                ),
            ];
            for (field, value, required) in texts {
                if value.len() > MAX_SHORT_TEXT || required && value.is_empty() {
                    return Err(FieldError::new(
                        format!("objects[{i}].{field}"),
                        format!("must be 1 to {MAX_SHORT_TEXT} bytes"),
                    ));
                }
            }
        }
        if self.note.as_ref().is_some_and(|n| n.len() > MAX_SHORT_TEXT) {
            return Err(FieldError::new(
                "note",
                format!("must be at most {MAX_SHORT_TEXT} bytes"),
            ));
        }
        Ok(())
    }
}

/// How an object differs from one deploy to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ObjectChange {
    /// Only the later deploy applied it.
    Added,
    /// Only the earlier deploy applied it.
    Removed,
    Changed,
}

/// One object's difference between two deploys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectDiff {
    /// `Deployment/api in prod`.
    pub object: String,
    pub change: ObjectChange,
    /// Unified diff of the object's YAML, `from` against `to`.
    pub diff: String,
}

/// The difference between what two deploys applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestsDiff {
    pub from: DeployId,
    pub to: DeployId,
    /// The objects that differ, in the later deploy's order (removed ones last).
    pub objects: Vec<ObjectDiff>,
    /// How many objects both deploys applied alike.
    pub unchanged: usize,
    /// What the comparison could not see (a set kept as its digest only, a deploy recorded
    /// before sets were kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(yaml: &str) -> AppliedObject {
        AppliedObject {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "cfg".into(),
            namespace: Some("prod".into()),
            yaml: yaml.into(),
        }
    }

    #[test]
    fn sets_are_held_to_their_limits() {
        let mut set = AppliedManifests {
            digest: "0".repeat(64),
            objects: vec![object("data: {}\n")],
            note: None,
        };
        assert_eq!(set.validate(), Ok(()));
        assert_eq!(set.objects[0].identity(), "ConfigMap/cfg in prod");
        set.digest = "Z".repeat(64);
        assert_eq!(set.validate().unwrap_err().field, "digest");
        set.digest = "0".repeat(64);
        set.objects = vec![object(&"x".repeat(MAX_MANIFEST_BYTES + 1))];
        assert_eq!(set.validate().unwrap_err().field, "objects");
        set.objects = vec![object("a: 1\n"); MAX_MANIFEST_OBJECTS + 1];
        assert_eq!(set.validate().unwrap_err().field, "objects");
        set.objects = vec![AppliedObject {
            name: String::new(),
            ..object("a: 1\n")
        }];
        assert_eq!(set.validate().unwrap_err().field, "objects[0].name");
    }
}
