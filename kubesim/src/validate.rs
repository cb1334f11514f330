//! Validation as the API server does it, with its messages: object names (DNS-1123
//! subdomains and labels, DNS-1035 labels for Services), required fields of workloads and
//! pods, selectors that must match template labels, PersistentVolumeClaims ([`claims`]) and
//! PodDisruptionBudgets ([`budgets`]), and immutable fields on update.

pub mod autoscalers;
pub mod budgets;
pub mod claims;

use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError};
use crate::meta;
use crate::resources::{Kind, NameRule};
use crate::selector::LabelSelector;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn is_label(s: &str, first_alpha: bool) -> bool {
    let b = s.as_bytes();
    let inner_ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-';
    let end_ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            (if first_alpha {
                first.is_ascii_lowercase()
            } else {
                end_ok(first)
            }) && end_ok(last)
                && b.iter().all(inner_ok)
        }
        _ => false,
    }
}

/// Go's `%q` of a string, which is what the messages quote values with.
fn quote(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// Problems with `name` under `rule`, reported at `field`.
pub fn name_errors(name: &str, rule: NameRule, field: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let (max, ok, msg) = match rule {
        NameRule::Subdomain => (
            253,
            !name.is_empty() && name.split('.').all(|l| is_label(l, false)),
            SUBDOMAIN_MSG,
        ),
        NameRule::Label1123 => (63, is_label(name, false), LABEL_MSG),
        NameRule::Label1035 => (63, is_label(name, true), DNS1035_MSG),
        NameRule::Path => {
            if name.contains('/') || name.contains('%') || name == "." || name == ".." {
                errors.push(FieldError::invalid(
                    field,
                    quote(name),
                    "may not contain '/' or '%'",
                ));
            }
            return errors;
        }
    };
    if name.len() > max {
        errors.push(FieldError::invalid(
            field,
            quote(name),
            &format!("must be no more than {max} characters"),
        ));
    }
    if !ok {
        errors.push(FieldError::invalid(field, quote(name), msg));
    }
    errors
}

/// Go's `%#v` of a string map: `map[string]string{"app":"web"}`.
fn go_map(map: &Map<String, Value>) -> String {
    let parts: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}:{}", quote(k), quote(v.as_str().unwrap_or(""))))
        .collect();
    format!("map[string]string{{{}}}", parts.join(", "))
}

/// Go's `%#v` of a `LabelSelector`, as the immutability message prints it.
fn go_selector(selector: &Value) -> String {
    let labels = meta::map_at(selector, &["matchLabels"]);
    let labels = if labels.is_empty() {
        "map[string]string(nil)".to_string()
    } else {
        go_map(labels)
    };
    let exprs = meta::array_at(selector, &["matchExpressions"]);
    let exprs = if exprs.is_empty() {
        "[]v1.LabelSelectorRequirement(nil)".to_string()
    } else {
        let items: Vec<String> = exprs
            .iter()
            .map(|e| {
                format!(
                    "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                    quote(e["key"].as_str().unwrap_or("")),
                    quote(e["operator"].as_str().unwrap_or("")),
                    e["values"]
                )
            })
            .collect();
        format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
    };
    format!("v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{exprs}}}")
}

fn pod_spec_errors(spec: Option<&Value>, field: &str, errors: &mut Vec<FieldError>) {
    let containers = spec
        .map(|s| meta::array_at(s, &["containers"]))
        .unwrap_or(&[]);
    if containers.is_empty() {
        errors.push(FieldError::required(format!("{field}.containers"), ""));
    }
    for (i, c) in containers.iter().enumerate() {
        let at = format!("{field}.containers[{i}]");
        match c["name"].as_str() {
            None | Some("") => errors.push(FieldError::required(format!("{at}.name"), "")),
            Some(n) => errors.extend(name_errors(n, NameRule::Label1123, &format!("{at}.name"))),
        }
        if c["image"].as_str().is_none_or(str::is_empty) {
            errors.push(FieldError::required(format!("{at}.image"), ""));
        }
        for (j, p) in meta::array_at(c, &["ports"]).iter().enumerate() {
            let port = p["containerPort"].as_i64().unwrap_or(0);
            if !(1..=65535).contains(&port) {
                errors.push(FieldError::invalid(
                    format!("{at}.ports[{j}].containerPort"),
                    port,
                    "must be between 1 and 65535, inclusive",
                ));
            }
        }
    }
}

fn workload_errors(kind: Kind, obj: &Value, errors: &mut Vec<FieldError>) {
    let selector = meta::at(obj, &["spec", "selector"]);
    let template = meta::at(obj, &["spec", "template"]);
    match selector {
        None => errors.push(FieldError::required("spec.selector", "")),
        Some(sel) => {
            let parsed = LabelSelector::from_spec(sel);
            if parsed.is_empty() && kind != Kind::Job {
                errors.push(FieldError::invalid(
                    "spec.selector",
                    go_selector(sel),
                    &format!("empty selector is invalid for {}", kind.def().singular),
                ));
            } else if template.is_some() {
                let labels = meta::map_at(obj, &["spec", "template", "metadata", "labels"]);
                if !parsed.matches_labels(labels) {
                    errors.push(FieldError::invalid(
                        "spec.template.metadata.labels",
                        go_map(labels),
                        "`selector` does not match template `labels`",
                    ));
                }
            }
        }
    }
    match template {
        None => errors.push(FieldError::required("spec.template", "")),
        Some(t) => pod_spec_errors(t.get("spec"), "spec.template.spec", errors),
    }
    if let Some(replicas) = meta::i64_at(obj, &["spec", "replicas"])
        && replicas < 0
    {
        errors.push(FieldError::invalid(
            "spec.replicas",
            replicas,
            "must be greater than or equal to 0",
        ));
    }
}

fn service_errors(obj: &Value, errors: &mut Vec<FieldError>) {
    let headless = meta::str_at(obj, &["spec", "clusterIP"]) == Some("None");
    let external = meta::str_at(obj, &["spec", "type"]) == Some("ExternalName");
    let ports = meta::array_at(obj, &["spec", "ports"]);
    if ports.is_empty() && !headless && !external {
        errors.push(FieldError::required("spec.ports", ""));
    }
    for (i, p) in ports.iter().enumerate() {
        let port = p["port"].as_i64().unwrap_or(0);
        if !(1..=65535).contains(&port) {
            errors.push(FieldError::invalid(
                format!("spec.ports[{i}].port"),
                port,
                "must be between 1 and 65535, inclusive",
            ));
        }
        if ports.len() > 1 && p["name"].as_str().is_none_or(str::is_empty) {
            errors.push(FieldError::required(format!("spec.ports[{i}].name"), ""));
        }
    }
    let ty = meta::str_at(obj, &["spec", "type"]).unwrap_or("ClusterIP");
    let types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if !types.contains(&ty) {
        errors.push(FieldError::not_supported("spec.type", ty, &types));
    }
}

/// Checks `obj` (already defaulted) of `kind`; `old` is the stored object on update.
pub fn validate(kind: Kind, obj: &Value, old: Option<&Value>) -> Result<(), ApiError> {
    let def = kind.def();
    let name = meta::name(obj);
    if kind == Kind::PersistentVolumeClaim {
        claims::decode(obj)?;
    }
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        errors.extend(name_errors(name, def.name_rule, "metadata.name"));
    }
    match kind {
        Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet | Kind::DaemonSet => {
            workload_errors(kind, obj, &mut errors);
        }
        Kind::Job => {
            if meta::at(obj, &["spec", "template"]).is_none() {
                errors.push(FieldError::required("spec.template", ""));
            } else {
                pod_spec_errors(
                    meta::at(obj, &["spec", "template", "spec"]),
                    "spec.template.spec",
                    &mut errors,
                );
                let policy =
                    meta::str_at(obj, &["spec", "template", "spec", "restartPolicy"]).unwrap_or("");
                if !matches!(policy, "OnFailure" | "Never") {
                    errors.push(FieldError::not_supported(
                        "spec.template.spec.restartPolicy",
                        policy,
                        &["OnFailure", "Never"],
                    ));
                }
            }
        }
        Kind::CronJob => {
            if meta::str_at(obj, &["spec", "schedule"]).is_none_or(str::is_empty) {
                errors.push(FieldError::required("spec.schedule", ""));
            }
            pod_spec_errors(
                meta::at(obj, &["spec", "jobTemplate", "spec", "template", "spec"]),
                "spec.jobTemplate.spec.template.spec",
                &mut errors,
            );
        }
        Kind::Pod => pod_spec_errors(obj.get("spec"), "spec", &mut errors),
        Kind::Service => service_errors(obj, &mut errors),
        Kind::PersistentVolumeClaim => claims::errors(obj, &mut errors),
        Kind::PodDisruptionBudget => budgets::errors(obj, &mut errors),
        Kind::HorizontalPodAutoscaler => autoscalers::errors(obj, &mut errors),
        Kind::ControllerRevision => {
            if obj.get("data").is_none() {
                errors.push(FieldError::required("data", "data is mandatory"));
            }
            if let Some(revision) = meta::i64_at(obj, &["revision"])
                && revision < 0
            {
                errors.push(FieldError::invalid(
                    "revision",
                    revision,
                    "must be greater than or equal to 0",
                ));
            }
        }
        _ => {}
    }
    if let Some(old) = old {
        immutable_errors(kind, obj, old, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(def, name, errors))
    }
}

fn immutable_errors(kind: Kind, obj: &Value, old: &Value, errors: &mut Vec<FieldError>) {
    let selector_immutable = matches!(
        kind,
        Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet | Kind::DaemonSet | Kind::Job
    );
    if selector_immutable {
        let new = meta::at(obj, &["spec", "selector"]);
        if new != meta::at(old, &["spec", "selector"]) {
            errors.push(FieldError::invalid(
                "spec.selector",
                go_selector(new.unwrap_or(&Value::Null)),
                "field is immutable",
            ));
        }
    }
    if kind == Kind::PersistentVolumeClaim {
        claims::update_errors(obj, old, errors);
    }
    if kind == Kind::ControllerRevision && obj.get("data") != old.get("data") {
        errors.push(FieldError::invalid(
            "data",
            obj.get("data").unwrap_or(&Value::Null),
            "field is immutable",
        ));
    }
    if kind == Kind::Service {
        let (new, was) = (
            meta::str_at(obj, &["spec", "clusterIP"]),
            meta::str_at(old, &["spec", "clusterIP"]),
        );
        if was.is_some() && new.is_some() && new != was {
            errors.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                quote(new.unwrap_or("")),
                "may not change once set",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_names_are_dns1035_labels() {
        let svc = json!({"metadata": {"name": "my.svc"}, "spec": {"ports": [{"port": 80}]}});
        let err = validate(Kind::Service, &svc, None).unwrap_err();
        assert_eq!(
            err.message,
            format!(
                "Service \"my.svc\" is invalid: metadata.name: Invalid value: \"my.svc\": {DNS1035_MSG}"
            )
        );
        assert!(name_errors("my.app", NameRule::Subdomain, "n").is_empty());
        assert!(!name_errors("My", NameRule::Subdomain, "n").is_empty());
        assert!(!name_errors("1abc", NameRule::Label1035, "n").is_empty());
    }

    #[test]
    fn workloads_need_matching_selectors_and_images() {
        let d = json!({"metadata": {"name": "d"}, "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c"}]}}}});
        let err = validate(Kind::Deployment, &d, None).unwrap_err();
        assert_eq!(
            err.message,
            "Deployment.apps \"d\" is invalid: [spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"b\"}: `selector` does not match template `labels`, spec.template.spec.containers[0].image: Required value]"
        );
    }

    #[test]
    fn controller_revisions_need_data_that_never_changes() {
        let revision = |image: &str| {
            json!({"metadata": {"name": "db-abc"}, "revision": 1,
                "data": {"spec": {"template": {"$patch": "replace", "spec": {"image": image}}}}})
        };
        let err = validate(
            Kind::ControllerRevision,
            &json!({"metadata": {"name": "db-abc"}, "revision": -1}),
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "ControllerRevision.apps \"db-abc\" is invalid: [data: Required value: data is mandatory, revision: Invalid value: -1: must be greater than or equal to 0]"
        );
        assert!(
            validate(
                Kind::ControllerRevision,
                &revision("a"),
                Some(&revision("a"))
            )
            .is_ok()
        );
        let err = validate(
            Kind::ControllerRevision,
            &revision("b"),
            Some(&revision("a")),
        )
        .unwrap_err();
        assert!(
            err.message.ends_with("field is immutable"),
            "{}",
            err.message
        );
    }

    #[test]
    fn deployment_selector_is_immutable() {
        let mk = |app: &str| {
            json!({"metadata": {"name": "d"}, "spec": {
            "selector": {"matchLabels": {"app": app}},
            "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
        };
        let err = validate(Kind::Deployment, &mk("b"), Some(&mk("a"))).unwrap_err();
        assert_eq!(err.code.as_u16(), 422);
        assert!(err.message.ends_with(
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"b\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
        ), "{}", err.message);
    }
}
