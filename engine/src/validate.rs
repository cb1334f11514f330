//! Client-side validation of every object before anything is sent to a cluster: required
//! fields, name rules per kind (with the API server's own wording), kinds the cluster does not
//! serve, and duplicates. All problems are collected so they can be reported at once.

use std::collections::HashMap;

use crate::manifest::{Manifest, Origin};

/// Something wrong with one object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {kind}/{name}: {field}: {message}")]
pub struct Problem {
    pub origin: Origin,
    pub kind: String,
    pub name: String,
    /// The field at fault, e.g. `metadata.name`.
    pub field: String,
    pub message: String,
}

const DNS_1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS_1123_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS_1035_LABEL: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/// Which rule a kind's names follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameRule {
    Subdomain,
    Label,
    Dns1035,
}

fn name_rule(kind: &str) -> NameRule {
    match kind {
        "Service" => NameRule::Dns1035,
        "Namespace" => NameRule::Label,
        _ => NameRule::Subdomain,
    }
}

fn is_label(text: &str, first_alpha: bool) -> bool {
    let bytes = text.as_bytes();
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    bytes.len() <= 63
        && bytes.iter().all(allowed)
        && (if first_alpha {
            first.is_ascii_lowercase()
        } else {
            first.is_ascii_alphanumeric()
        })
        && last.is_ascii_alphanumeric()
}

/// Why `name` breaks the naming rule of `kind`, in the API server's words, if it does.
pub fn name_error(kind: &str, name: &str) -> Option<String> {
    let (valid, limit, explanation) = match name_rule(kind) {
        NameRule::Dns1035 => (is_label(name, true), 63, DNS_1035_LABEL),
        NameRule::Label => (is_label(name, false), 63, DNS_1123_LABEL),
        NameRule::Subdomain => (
            name.len() <= 253 && name.split('.').all(|part| is_label(part, false)),
            253,
            DNS_1123_SUBDOMAIN,
        ),
    };
    if name.len() > limit {
        return Some(format!(
            "Invalid value: \"{name}\": must be no more than {limit} characters"
        ));
    }
    (!valid).then(|| format!("Invalid value: \"{name}\": {explanation}"))
}

/// Validates `manifests`. `serves(api_version, kind)` says whether the cluster serves a kind;
/// pass `|_, _| true` when validating without a cluster.
pub fn validate(manifests: &[Manifest], serves: impl Fn(&str, &str) -> bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen: HashMap<(String, String, String, String), &Origin> = HashMap::new();
    for manifest in manifests {
        let problem = |field: &str, message: String| Problem {
            origin: manifest.origin.clone(),
            kind: or_unknown(manifest.kind()),
            name: or_unknown(manifest.name()),
            field: field.to_owned(),
            message,
        };
        let (api_version, kind, name) = (manifest.api_version(), manifest.kind(), manifest.name());
        if api_version.is_empty() {
            problems.push(problem(
                "apiVersion",
                "Required value: apiVersion must be set".into(),
            ));
        }
        if kind.is_empty() {
            problems.push(problem("kind", "Required value: kind must be set".into()));
        }
        if name.is_empty() {
            problems.push(problem(
                "metadata.name",
                "Required value: name or generateName is required".into(),
            ));
        } else if let Some(message) = name_error(kind, name) {
            problems.push(problem("metadata.name", message));
        }
        if let Some(namespace) = manifest.namespace().filter(|ns| !ns.is_empty())
            && let Some(message) = name_error("Namespace", namespace)
        {
            problems.push(problem("metadata.namespace", message));
        }
        if !api_version.is_empty() && !kind.is_empty() && !serves(api_version, kind) {
            problems.push(problem(
                "kind",
                format!("the cluster does not serve kind \"{kind}\" in version \"{api_version}\""),
            ));
        }
        if !kind.is_empty() && !name.is_empty() {
            let group = api_version
                .rsplit_once('/')
                .map_or("", |(group, _)| group)
                .to_owned();
            let key = (
                group,
                kind.to_owned(),
                manifest.namespace().unwrap_or_default().to_owned(),
                name.to_owned(),
            );
            if let Some(first) = seen.get(&key) {
                problems.push(problem(
                    "metadata.name",
                    format!("Duplicate value: the same object is also defined at {first}"),
                ));
            } else {
                seen.insert(key, &manifest.origin);
            }
        }
    }
    problems
}

fn or_unknown(text: &str) -> String {
    if text.is_empty() {
        "<unknown>".into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse;

    #[test]
    fn names_follow_the_rule_of_their_kind() {
        assert_eq!(name_error("Deployment", "api.v2"), None);
        assert_eq!(name_error("Service", "api"), None);
        let message = name_error("Service", "api.v2").unwrap();
        assert!(
            message.starts_with("Invalid value: \"api.v2\": a DNS-1035 label"),
            "{message}"
        );
        assert!(
            name_error("Service", "2api").is_some(),
            "DNS-1035 labels start with a letter"
        );
        assert!(name_error("Deployment", "API").is_some());
        assert!(name_error("Namespace", "team.prod").is_some());
        assert!(
            name_error("ConfigMap", &"a".repeat(254))
                .unwrap()
                .contains("no more than 253")
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_origin() {
        let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: my.svc\n---\nkind: ConfigMap\nmetadata:\n  name: cfg\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n";
        let (manifests, _) = parse("app.yaml", text);
        let problems = validate(&manifests, |api_version, _| {
            !api_version.starts_with("example.com")
        });
        let found: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.origin.line, p.field.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (1, "metadata.name"),
                (6, "apiVersion"),
                (10, "metadata.name"),
                (15, "kind")
            ],
            "{problems:#?}"
        );
        assert!(
            problems[2].message.contains("app.yaml:6"),
            "duplicates point at the first definition"
        );
    }
}
