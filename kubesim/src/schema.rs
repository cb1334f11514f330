//! The field names of the served kinds, enough to reject unknown fields the way
//! `fieldValidation=Strict` and server-side apply do. Rarely used substructures (probes,
//! affinity, volume sources, …) are open: anything goes below them.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::resources::Kind;

/// `Type = field field:Type field:[Type] field:*` — `*` is open, a bare name is a scalar.
const SCHEMA: &str = "
ObjectMeta = name generateName namespace uid resourceVersion generation creationTimestamp deletionTimestamp deletionGracePeriodSeconds labels:* annotations:* ownerReferences:* finalizers:* managedFields:* selfLink
PodTemplateSpec = metadata:ObjectMeta spec:PodSpec
PodSpec = volumes:* initContainers:[Container] containers:[Container] ephemeralContainers:* restartPolicy terminationGracePeriodSeconds activeDeadlineSeconds dnsPolicy nodeSelector:* serviceAccountName serviceAccount automountServiceAccountToken nodeName hostNetwork hostPID hostIPC shareProcessNamespace securityContext:* imagePullSecrets:* hostname subdomain affinity:* schedulerName tolerations:* hostAliases:* priorityClassName priority dnsConfig:* readinessGates:* runtimeClassName enableServiceLinks preemptionPolicy overhead:* topologySpreadConstraints:* setHostnameAsFQDN os:* hostUsers schedulingGates:* resourceClaims:* resources:*
Container = name image command:* args:* workingDir ports:[ContainerPort] envFrom:* env:[EnvVar] resources:* resizePolicy:* restartPolicy volumeMounts:* volumeDevices:* livenessProbe:* readinessProbe:* startupProbe:* lifecycle:* terminationMessagePath terminationMessagePolicy imagePullPolicy securityContext:* stdin stdinOnce tty
ContainerPort = name hostPort containerPort protocol hostIP
EnvVar = name value valueFrom:*
DeploymentSpec = replicas selector:* template:PodTemplateSpec strategy:* minReadySeconds revisionHistoryLimit paused progressDeadlineSeconds
ReplicaSetSpec = replicas selector:* template:PodTemplateSpec minReadySeconds
StatefulSetSpec = replicas selector:* template:PodTemplateSpec serviceName volumeClaimTemplates:* podManagementPolicy updateStrategy:* revisionHistoryLimit minReadySeconds persistentVolumeClaimRetentionPolicy:* ordinals:*
DaemonSetSpec = selector:* template:PodTemplateSpec updateStrategy:* minReadySeconds revisionHistoryLimit
JobSpec = parallelism completions activeDeadlineSeconds podFailurePolicy:* successPolicy:* backoffLimit backoffLimitPerIndex maxFailedIndexes selector:* manualSelector template:PodTemplateSpec ttlSecondsAfterFinished completionMode suspend podReplacementPolicy managedBy
JobTemplateSpec = metadata:ObjectMeta spec:JobSpec
CronJobSpec = schedule timeZone startingDeadlineSeconds concurrencyPolicy suspend jobTemplate:JobTemplateSpec successfulJobsHistoryLimit failedJobsHistoryLimit
ServiceSpec = ports:[ServicePort] selector:* clusterIP clusterIPs:* type externalIPs:* sessionAffinity loadBalancerIP loadBalancerSourceRanges:* externalName externalTrafficPolicy healthCheckNodePort publishNotReadyAddresses sessionAffinityConfig:* ipFamilies:* ipFamilyPolicy allocateLoadBalancerNodePorts loadBalancerClass internalTrafficPolicy trafficDistribution
ServicePort = name protocol appProtocol port targetPort nodePort
IngressSpec = ingressClassName defaultBackend:* tls:* rules:*
NamespaceSpec = finalizers:*
Namespace = spec:NamespaceSpec
ConfigMap = data:* binaryData:* immutable
Secret = data:* stringData:* type immutable
ServiceAccount = secrets:* imagePullSecrets:* automountServiceAccountToken
Service = spec:ServiceSpec
Pod = spec:PodSpec
Deployment = spec:DeploymentSpec
ReplicaSet = spec:ReplicaSetSpec
StatefulSet = spec:StatefulSetSpec
DaemonSet = spec:DaemonSetSpec
ControllerRevision = data:* revision
Job = spec:JobSpec
CronJob = spec:CronJobSpec
Ingress = spec:IngressSpec
ResourceQuotaSpec = hard:* scopes:* scopeSelector:*
ResourceQuota = spec:ResourceQuotaSpec
VolumeResourceRequirements = limits:* requests:*
PersistentVolumeClaimSpec = accessModes:* selector:* resources:VolumeResourceRequirements volumeName storageClassName volumeMode dataSource:* dataSourceRef:* volumeAttributesClassName
PersistentVolumeClaim = spec:PersistentVolumeClaimSpec
PodDisruptionBudgetSpec = minAvailable selector:* maxUnavailable unhealthyPodEvictionPolicy
PodDisruptionBudget = spec:PodDisruptionBudgetSpec
CrossVersionObjectReference = apiVersion kind name
HorizontalPodAutoscalerSpec = scaleTargetRef:CrossVersionObjectReference minReplicas maxReplicas metrics:* behavior:*
HorizontalPodAutoscaler = spec:HorizontalPodAutoscalerSpec
";

/// Fields every top-level object has.
const OBJECT_FIELDS: &str = "apiVersion kind metadata:ObjectMeta status:*";

#[derive(Clone, Copy, Debug)]
enum Field {
    Scalar,
    Open,
    Object(&'static str),
    List(&'static str),
}

type Types = HashMap<&'static str, HashMap<&'static str, Field>>;

fn parse_fields(spec: &'static str) -> impl Iterator<Item = (&'static str, Field)> {
    spec.split_whitespace().map(|f| match f.split_once(':') {
        None => (f, Field::Scalar),
        Some((name, "*")) => (name, Field::Open),
        Some((name, ty)) => match ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            Some(inner) => (name, Field::List(inner)),
            None => (name, Field::Object(ty)),
        },
    })
}

fn types() -> &'static Types {
    static TYPES: OnceLock<Types> = OnceLock::new();
    TYPES.get_or_init(|| {
        let mut types: Types = HashMap::new();
        for line in SCHEMA.lines().filter(|l| !l.trim().is_empty()) {
            let (name, fields) = line
                .split_once(" = ")
                .expect("schema lines are `T = fields`");
            let mut map: HashMap<_, _> = parse_fields(fields).collect();
            if Kind::all().any(|k| k.name() == name) {
                map.extend(parse_fields(OBJECT_FIELDS));
            }
            types.insert(name.trim(), map);
        }
        types
    })
}

fn walk(types: &Types, ty: &str, value: &mut Value, path: &str, drop: bool, out: &mut Vec<String>) {
    let (Some(fields), Some(map)) = (types.get(ty), value.as_object_mut()) else {
        return;
    };
    let mut unknown = Vec::new();
    for (name, child) in map.iter_mut() {
        let at = format!("{path}.{name}");
        match fields.get(name.as_str()) {
            None => {
                out.push(at);
                unknown.push(name.clone());
            }
            Some(Field::Object(t)) => walk(types, t, child, &at, drop, out),
            Some(Field::List(t)) => {
                for (i, item) in child.as_array_mut().into_iter().flatten().enumerate() {
                    walk(types, t, item, &format!("{at}[{i}]"), drop, out);
                }
            }
            Some(Field::Scalar | Field::Open) => {}
        }
    }
    if drop {
        for name in unknown {
            map.remove(&name);
        }
    }
}

/// The paths of fields in `obj` that `kind` does not declare (`.spec.replica`); with `drop`,
/// they are also removed from `obj`.
pub fn unknown_fields(kind: Kind, obj: &mut Value, drop: bool) -> Vec<String> {
    let mut out = Vec::new();
    if kind != Kind::Event {
        walk(types(), kind.name(), obj, "", drop, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_unknown_fields() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "labelz": {}},
            "spec": {"replica": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicyy": "x",
                "livenessProbe": {"anything": 1}}]}}}});
        assert_eq!(
            unknown_fields(Kind::Deployment, &mut d, true),
            [
                ".metadata.labelz",
                ".spec.replica",
                ".spec.template.spec.containers[0].imagePullPolicyy"
            ]
        );
        assert!(unknown_fields(Kind::Deployment, &mut d, false).is_empty());
        assert!(
            unknown_fields(Kind::ConfigMap, &mut json!({"data": {"a": "b"}}), false).is_empty()
        );
        for kind in Kind::all().filter(|k| *k != Kind::Event) {
            assert!(types().contains_key(kind.name()), "{kind:?}");
        }
    }
}
