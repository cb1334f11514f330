//! The cells of a PersistentVolumeClaim's row, as the API server's printer computes them:
//! capacity and access modes (abbreviated, in kubectl's order) once the claim is bound to a
//! volume, the class from the beta annotation first, `<unset>` for what the spec leaves out.

use serde_json::Value;

use crate::meta;
use crate::validate::claims::BETA_CLASS_ANNOTATION;

/// Access modes as kubectl abbreviates them, in its order (`RWO,RWX`).
fn access_modes(modes: &[Value]) -> String {
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| modes.iter().any(|m| m == mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The Status, Volume, Capacity, Access Modes, StorageClass, VolumeAttributesClass and
/// VolumeMode cells of a PersistentVolumeClaim: capacity and access modes once it is bound to
/// a volume, the class from the beta annotation first.
pub fn cells(claim: &Value) -> [String; 7] {
    let phase = if meta::at(claim, &["metadata", "deletionTimestamp"]).is_some() {
        "Terminating"
    } else {
        meta::str_at(claim, &["status", "phase"]).unwrap_or("")
    };
    let volume = meta::str_at(claim, &["spec", "volumeName"]).unwrap_or("");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            meta::str_at(claim, &["status", "capacity", "storage"])
                .unwrap_or("0")
                .to_string(),
            access_modes(meta::array_at(claim, &["status", "accessModes"])),
        )
    };
    let class = meta::str_at(claim, &["metadata", "annotations", BETA_CLASS_ANNOTATION])
        .or_else(|| meta::str_at(claim, &["spec", "storageClassName"]))
        .unwrap_or("");
    let unset = |field: &str| meta::str_at(claim, &["spec", field]).unwrap_or("<unset>");
    [
        phase.to_string(),
        volume.to_string(),
        capacity,
        modes,
        class.to_string(),
        unset("volumeAttributesClassName").to_string(),
        unset("volumeMode").to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_claim_shows_its_volume_once_bound() {
        let pending = json!({"spec": {"accessModes": ["ReadWriteMany", "ReadWriteOnce"],
            "storageClassName": "standard"}, "status": {"phase": "Pending"}});
        assert_eq!(
            cells(&pending),
            ["Pending", "", "", "", "standard", "<unset>", "<unset>"]
        );
        let bound = json!({"metadata": {"annotations": {BETA_CLASS_ANNOTATION: "old"}},
            "spec": {"volumeName": "pvc-1", "volumeMode": "Block", "volumeAttributesClassName": "gold"},
            "status": {"phase": "Bound", "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadOnlyMany"],
                "capacity": {"storage": "5Gi"}}});
        assert_eq!(
            cells(&bound),
            [
                "Bound",
                "pvc-1",
                "5Gi",
                "RWO,ROX,RWX",
                "old",
                "gold",
                "Block"
            ]
        );
    }
}
