//! The objects a deploy applied, as the history server keeps them beside the record
//! ([`shiplog_model::AppliedManifests`]): each as YAML, in apply order, after image
//! substitution; a Secret as its name and keys with a digest per value, never a value. A set
//! over [`MAX_MANIFEST_BYTES`] is sent as its digest and a note.

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use shiplog_model::manifests::{MAX_MANIFEST_BYTES, MAX_MANIFEST_OBJECTS};
use shiplog_model::{AppliedManifests, AppliedObject};

use crate::manifest::Manifest;
use crate::wording::counted;

/// The annotation `kubectl apply` (client-side) leaves with the whole object, values and all.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The set of `manifests` to keep with the record.
pub fn applied(manifests: &[Manifest]) -> AppliedManifests {
    let objects: Vec<AppliedObject> = manifests.iter().map(object).collect();
    let mut digest = Sha256::new();
    for object in &objects {
        digest.update(object.yaml.as_bytes());
        digest.update(b"---\n");
    }
    let digest = hex(&digest.finalize());
    let bytes: usize = objects.iter().map(|o| o.yaml.len()).sum();
    if bytes > MAX_MANIFEST_BYTES || objects.len() > MAX_MANIFEST_OBJECTS {
        let note = format!(
            "{} take {} KiB as YAML; a deploy keeps at most {} objects and {} KiB, so only \
             their digest is kept",
            counted(objects.len(), "object"),
            bytes.div_ceil(1024),
            MAX_MANIFEST_OBJECTS,
            MAX_MANIFEST_BYTES / 1024
        );
        return AppliedManifests {
            digest,
            objects: Vec::new(),
            note: Some(note),
        };
    }
    AppliedManifests {
        digest,
        objects,
        note: None,
    }
}

fn object(manifest: &Manifest) -> AppliedObject {
    let mut value = manifest.object.clone();
    if manifest.kind() == "Secret" {
        hide_values(&mut value, manifest);
    }
    AppliedObject {
        api_version: manifest.api_version().to_owned(),
        kind: manifest.kind().to_owned(),
        name: manifest.name().to_owned(),
        namespace: manifest.namespace().map(str::to_owned),
        yaml: serde_norway::to_string(&value).unwrap_or_else(|e| format!("# not kept: {e}\n")),
    }
}

/// Replaces each value of a Secret by `sha256:` and the first 16 hex digits of the digest of
/// the Secret's identity, the key and the value: a changed value shows as a changed digest,
/// and the digest of a value in one Secret says nothing about the same value in another.
fn hide_values(secret: &mut Value, manifest: &Manifest) {
    let identity = format!(
        "{}/{}",
        manifest.namespace().unwrap_or_default(),
        manifest.name()
    );
    for field in ["data", "stringData"] {
        let Some(map) = secret.get_mut(field).and_then(Value::as_object_mut) else {
            continue;
        };
        for (key, value) in map.iter_mut() {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            let mut digest = Sha256::new();
            for part in [identity.as_str(), field, key, &text] {
                digest.update(part.as_bytes());
                digest.update([0]);
            }
            *value = Value::String(format!("sha256:{}", &hex(&digest.finalize())[..16]));
        }
    }
    if let Some(annotations) = secret["metadata"]
        .get_mut("annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove(LAST_APPLIED);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse;

    #[test]
    fn objects_are_kept_as_yaml_and_secret_values_as_digests() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\n  annotations: {kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"password\":\"aHVudGVy\"}}'}\ndata: {password: aHVudGVy}\nstringData: {token: plain-secret}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: prod}\ndata: {mode: fast}\n";
        let (manifests, findings) = parse("app.yaml", text);
        assert!(findings.is_empty());
        let set = applied(&manifests);
        assert_eq!(set.validate(), Ok(()));
        assert_eq!(set.objects.len(), 2);
        let secret = &set.objects[0].yaml;
        assert!(
            !secret.contains("aHVudGVy") && !secret.contains("plain-secret"),
            "{secret}"
        );
        assert!(secret.contains("password: sha256:"), "{secret}");
        assert_eq!(set.objects[1].identity(), "ConfigMap/cfg in prod");
        assert!(set.objects[1].yaml.contains("mode: fast"));
        assert_eq!(
            applied(&manifests).digest,
            set.digest,
            "the same set, the same digest"
        );

        let (rotated, _) = parse("app.yaml", &text.replace("plain-secret", "other-secret"));
        let rotated = applied(&rotated);
        assert_ne!(rotated.digest, set.digest);
        assert_ne!(
            rotated.objects[0].yaml, set.objects[0].yaml,
            "a new value, a new digest"
        );
    }

    #[test]
    fn a_set_over_the_cap_is_kept_as_its_digest_and_a_note() {
        let big = format!(
            "kind: ConfigMap\nmetadata: {{name: big}}\ndata: {{blob: '{}'}}\n",
            "x".repeat(MAX_MANIFEST_BYTES)
        );
        let (manifests, _) = parse("big.yaml", &big);
        let set = applied(&manifests);
        assert!(set.objects.is_empty());
        assert_eq!(set.digest.len(), 64);
        assert!(
            set.note
                .as_deref()
                .unwrap()
                .contains("only their digest is kept")
        );
        assert_eq!(set.validate(), Ok(()));
    }
}
