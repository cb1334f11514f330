//! Checking a set of manifest files as a whole before anything is sent anywhere: parse every
//! document, assign the default namespace, validate every object, and report every problem with
//! its file and line. Pure: callers read the files.

use serde::Serialize;

use crate::manifest::{self, Manifest};
use crate::plan::assign_namespace;
use crate::validate::validate;

/// One problem, located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub document: usize,
    /// `Kind/name` when the object could be read that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(object) = &self.object {
            write!(f, "{object}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The objects of a set of files and everything wrong with them.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub manifests: Vec<Manifest>,
    pub findings: Vec<Finding>,
}

/// Checks `files` (name, content) as one set; objects without a namespace get
/// `default_namespace`. `serves` says whether the cluster serves a kind.
pub fn check(
    files: &[(String, String)],
    default_namespace: &str,
    serves: impl Fn(&str, &str) -> bool,
) -> Checked {
    let mut checked = Checked::default();
    for (name, text) in files {
        let (manifests, problems) = manifest::parse(name, text);
        checked.manifests.extend(manifests);
        checked
            .findings
            .extend(problems.into_iter().map(|p| Finding {
                file: p.origin.file,
                line: p.origin.line,
                document: p.origin.document,
                object: None,
                field: None,
                message: p.message,
            }));
    }
    assign_namespace(&mut checked.manifests, default_namespace);
    checked.findings.extend(
        validate(&checked.manifests, serves)
            .into_iter()
            .map(|p| Finding {
                file: p.origin.file,
                line: p.origin.line,
                document: p.origin.document,
                object: Some(format!("{}/{}", p.kind, p.name)),
                field: Some(p.field),
                message: p.message,
            }),
    );
    checked
        .findings
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_from_every_file_are_collected_and_located() {
        let files = vec![
            (
                "a.yaml".to_owned(),
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad.name\n".to_owned(),
            ),
            (
                "b.yaml".to_owned(),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\n: : :\n".to_owned(),
            ),
        ];
        let checked = check(&files, "prod", |_, _| true);
        assert_eq!(checked.manifests.len(), 2);
        let lines: Vec<String> = checked
            .findings
            .iter()
            .map(|f| format!("{}:{}", f.file, f.line))
            .collect();
        assert_eq!(lines, ["a.yaml:1", "b.yaml:6"]);
        assert!(
            checked.findings[0]
                .to_string()
                .starts_with("a.yaml:1: Service/bad.name: metadata.name: Invalid value")
        );
        assert_eq!(checked.manifests[1].namespace(), Some("prod"));
    }
}
