//! The order of an apply: namespaces first, then identities, configuration, services,
//! workloads and finally ingresses, so that everything an object refers to exists before it.
//! Objects in the same tier do not depend on each other and are applied concurrently.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::manifest::Manifest;

/// Kinds that live outside namespaces.
pub fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "Node"
            | "PersistentVolume"
            | "StorageClass"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "PriorityClass"
            | "IngressClass"
            | "ValidatingWebhookConfiguration"
            | "MutatingWebhookConfiguration"
            | "APIService"
            | "RuntimeClass"
    )
}

/// The tier of a kind: lower tiers are applied first.
pub fn tier(kind: &str) -> u8 {
    match kind {
        "Namespace" | "CustomResourceDefinition" | "StorageClass" | "PriorityClass" => 0,
        "ServiceAccount" | "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => 1,
        "ConfigMap" | "Secret" | "PersistentVolumeClaim" | "LimitRange" | "ResourceQuota" => 2,
        "Service" => 3,
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "CronJob" | "Pod" => 4,
        "Ingress" | "HorizontalPodAutoscaler" | "PodDisruptionBudget" | "NetworkPolicy" => 5,
        _ => 6,
    }
}

/// Kinds whose rollout the engine watches.
pub fn is_workload(kind: &str) -> bool {
    matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet" | "Job")
}

/// Gives every namespaced object without a namespace `default_namespace`.
pub fn assign_namespace(manifests: &mut [Manifest], default_namespace: &str) {
    for manifest in manifests {
        let kind = manifest.kind().to_owned();
        if is_cluster_scoped(&kind) || manifest.namespace().is_some_and(|ns| !ns.is_empty()) {
            continue;
        }
        if let Some(metadata) = manifest
            .object
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
        {
            metadata.insert(
                "namespace".into(),
                Value::String(default_namespace.to_owned()),
            );
        }
    }
}

/// The namespaces the objects live in that the manifests do not create themselves.
pub fn namespaces_needed(manifests: &[Manifest]) -> BTreeSet<String> {
    let created: BTreeSet<&str> = manifests
        .iter()
        .filter(|m| m.kind() == "Namespace")
        .map(Manifest::name)
        .collect();
    manifests
        .iter()
        .filter_map(Manifest::namespace)
        .filter(|ns| !created.contains(ns))
        .map(str::to_owned)
        .collect()
}

/// The objects grouped by tier, in apply order; the input order is kept within a tier.
pub fn tiers(manifests: &[Manifest]) -> Vec<Vec<&Manifest>> {
    let mut groups: Vec<Vec<&Manifest>> = vec![Vec::new(); 7];
    for manifest in manifests {
        groups[usize::from(tier(manifest.kind()))].push(manifest);
    }
    groups.retain(|group| !group.is_empty());
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse;

    #[test]
    fn objects_are_ordered_by_what_they_depend_on() {
        let text = "kind: Ingress\nmetadata: {name: web}\n---\nkind: Deployment\nmetadata: {name: web}\n---\nkind: Service\nmetadata: {name: web}\n---\nkind: ConfigMap\nmetadata: {name: cfg}\n---\nkind: Namespace\nmetadata: {name: shop}\n";
        let (mut manifests, _) = parse("app.yaml", text);
        assign_namespace(&mut manifests, "prod");
        let order: Vec<Vec<&str>> = tiers(&manifests)
            .iter()
            .map(|t| t.iter().map(|m| m.kind()).collect())
            .collect();
        assert_eq!(
            order,
            [
                ["Namespace"],
                ["ConfigMap"],
                ["Service"],
                ["Deployment"],
                ["Ingress"]
            ]
        );
        assert_eq!(manifests[0].namespace(), Some("prod"));
        assert_eq!(
            manifests[4].namespace(),
            None,
            "namespaces are cluster-scoped"
        );
        assert_eq!(
            namespaces_needed(&manifests)
                .into_iter()
                .collect::<Vec<_>>(),
            ["prod"]
        );
    }
}
