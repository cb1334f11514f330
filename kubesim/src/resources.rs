//! The kinds kubesim serves and their static description (group, version, plural, scope,
//! short names, naming rule). Everything that needs to know "which kinds exist" asks here;
//! nothing in this module knows about HTTP or storage.

use serde::{Deserialize, Serialize};

/// The validation rule the API server applies to an object's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain (most kinds).
    Subdomain,
    /// DNS-1123 label (namespaces).
    Label1123,
    /// DNS-1035 label (services: no dots, starts with a letter).
    Label1035,
    /// Anything non-empty without `/` or `%` (events).
    Path,
}

/// A served kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    Namespace,
    ConfigMap,
    Secret,
    ServiceAccount,
    Service,
    Pod,
    Event,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    ControllerRevision,
    Job,
    CronJob,
    Ingress,
    ResourceQuota,
    PersistentVolumeClaim,
    PodDisruptionBudget,
    HorizontalPodAutoscaler,
}

/// The static description of a kind.
#[derive(Debug)]
pub struct ResourceDef {
    pub kind: Kind,
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// Member of the `all` category (`kubectl get all`).
    pub in_all: bool,
    /// Has a `status` subresource (status is ignored on writes to the main resource).
    pub has_status: bool,
    /// Has a `scale` subresource.
    pub has_scale: bool,
    pub name_rule: NameRule,
}

const fn def(
    kind: Kind,
    group: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
) -> ResourceDef {
    ResourceDef {
        kind,
        group,
        version: "v1",
        plural,
        singular,
        namespaced,
        short_names,
        in_all: false,
        has_status: false,
        has_scale: false,
        name_rule: NameRule::Subdomain,
    }
}

const fn workload(mut d: ResourceDef, scale: bool) -> ResourceDef {
    d.in_all = true;
    d.has_status = true;
    d.has_scale = scale;
    d
}

static DEFS: [ResourceDef; 19] = [
    {
        let mut d = def(
            Kind::Namespace,
            "",
            "namespaces",
            "namespace",
            false,
            &["ns"],
        );
        d.has_status = true;
        d.name_rule = NameRule::Label1123;
        d
    },
    def(
        Kind::ConfigMap,
        "",
        "configmaps",
        "configmap",
        true,
        &["cm"],
    ),
    def(Kind::Secret, "", "secrets", "secret", true, &[]),
    def(
        Kind::ServiceAccount,
        "",
        "serviceaccounts",
        "serviceaccount",
        true,
        &["sa"],
    ),
    {
        let mut d = workload(
            def(Kind::Service, "", "services", "service", true, &["svc"]),
            false,
        );
        d.name_rule = NameRule::Label1035;
        d
    },
    workload(def(Kind::Pod, "", "pods", "pod", true, &["po"]), false),
    {
        let mut d = def(Kind::Event, "", "events", "event", true, &["ev"]);
        d.name_rule = NameRule::Path;
        d
    },
    workload(
        def(
            Kind::Deployment,
            "apps",
            "deployments",
            "deployment",
            true,
            &["deploy"],
        ),
        true,
    ),
    workload(
        def(
            Kind::ReplicaSet,
            "apps",
            "replicasets",
            "replicaset",
            true,
            &["rs"],
        ),
        true,
    ),
    workload(
        def(
            Kind::StatefulSet,
            "apps",
            "statefulsets",
            "statefulset",
            true,
            &["sts"],
        ),
        true,
    ),
    workload(
        def(
            Kind::DaemonSet,
            "apps",
            "daemonsets",
            "daemonset",
            true,
            &["ds"],
        ),
        false,
    ),
    def(
        Kind::ControllerRevision,
        "apps",
        "controllerrevisions",
        "controllerrevision",
        true,
        &[],
    ),
    workload(def(Kind::Job, "batch", "jobs", "job", true, &[]), false),
    workload(
        def(Kind::CronJob, "batch", "cronjobs", "cronjob", true, &["cj"]),
        false,
    ),
    {
        let mut d = def(
            Kind::Ingress,
            "networking.k8s.io",
            "ingresses",
            "ingress",
            true,
            &["ing"],
        );
        d.has_status = true;
        d
    },
    {
        let mut d = def(
            Kind::ResourceQuota,
            "",
            "resourcequotas",
            "resourcequota",
            true,
            &["quota"],
        );
        d.has_status = true;
        d
    },
    {
        let mut d = def(
            Kind::PersistentVolumeClaim,
            "",
            "persistentvolumeclaims",
            "persistentvolumeclaim",
            true,
            &["pvc"],
        );
        d.has_status = true;
        d
    },
    {
        let mut d = def(
            Kind::PodDisruptionBudget,
            "policy",
            "poddisruptionbudgets",
            "poddisruptionbudget",
            true,
            &["pdb"],
        );
        d.has_status = true;
        d
    },
    {
        // Stored and validated; no controller scales anything.
        let mut d = def(
            Kind::HorizontalPodAutoscaler,
            "autoscaling",
            "horizontalpodautoscalers",
            "horizontalpodautoscaler",
            true,
            &["hpa"],
        );
        d.version = "v2";
        d.has_status = true;
        d
    },
];

impl Kind {
    /// Every served kind, in a stable order.
    pub fn all() -> impl Iterator<Item = Kind> {
        DEFS.iter().map(|d| d.kind)
    }

    pub fn def(self) -> &'static ResourceDef {
        DEFS.iter()
            .find(|d| d.kind == self)
            .expect("every kind has a definition")
    }

    /// The kind of `apiVersion` + `kind` as written in an object.
    pub fn from_type(api_version: &str, kind: &str) -> Option<Kind> {
        DEFS.iter()
            .find(|d| d.api_version() == api_version && d.kind.name() == kind)
            .map(|d| d.kind)
    }

    /// The kind served at `group`/`version` under `plural`.
    pub fn from_plural(group: &str, version: &str, plural: &str) -> Option<Kind> {
        DEFS.iter()
            .find(|d| d.group == group && d.version == version && d.plural == plural)
            .map(|d| d.kind)
    }

    /// The `kind` string (`Deployment`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Service => "Service",
            Kind::Pod => "Pod",
            Kind::Event => "Event",
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::ControllerRevision => "ControllerRevision",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
            Kind::Ingress => "Ingress",
            Kind::ResourceQuota => "ResourceQuota",
            Kind::PersistentVolumeClaim => "PersistentVolumeClaim",
            Kind::PodDisruptionBudget => "PodDisruptionBudget",
            Kind::HorizontalPodAutoscaler => "HorizontalPodAutoscaler",
        }
    }
}

impl ResourceDef {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `services` for the core group (as error messages name it).
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Deployment.apps`, or `Service` (as validation messages name it).
    pub fn group_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.name().to_string()
        } else {
            format!("{}.{}", self.kind.name(), self.group)
        }
    }

    /// `/apis/apps/v1` or `/api/v1`.
    pub fn gv_path(&self) -> String {
        gv_path(self.group, self.version)
    }
}

/// `/apis/{group}/{version}` or `/api/{version}` for the core group.
pub fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// The served group/versions, core first, each once.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for d in &DEFS {
        if !out.contains(&(d.group, d.version)) {
            out.push((d.group, d.version));
        }
    }
    out
}

/// The kinds served at one group/version.
pub fn kinds_in(group: &str, version: &str) -> impl Iterator<Item = &'static ResourceDef> {
    DEFS.iter()
        .filter(move |d| d.group == group && d.version == version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_agree() {
        for kind in Kind::all() {
            let d = kind.def();
            assert_eq!(Kind::from_type(&d.api_version(), kind.name()), Some(kind));
            assert_eq!(Kind::from_plural(d.group, d.version, d.plural), Some(kind));
        }
        assert_eq!(Kind::Deployment.def().group_resource(), "deployments.apps");
        assert_eq!(Kind::Service.def().group_kind(), "Service");
        assert_eq!(group_versions()[0], ("", "v1"));
    }
}
