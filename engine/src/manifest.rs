//! Manifests as a user wrote them: multi-document YAML or JSON, `List` objects flattened, empty
//! documents skipped, and every object remembering its file, document index and line so any
//! problem can be reported where it is.

use serde_json::Value;

/// Where an object came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    /// 1-based index of the YAML document in the file.
    pub document: usize,
    /// 1-based line where the document (or the `List` item) starts.
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} (document {})",
            self.file, self.line, self.document
        )
    }
}

/// One Kubernetes object from a manifest file.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub origin: Origin,
    pub object: Value,
}

impl Manifest {
    pub fn api_version(&self) -> &str {
        self.object["apiVersion"].as_str().unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.object["metadata"]["namespace"].as_str()
    }
}

/// A document that could not be read as an object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ParseProblem {
    pub origin: Origin,
    pub message: String,
}

/// Splits `text` (the content of `file`) into objects. Every document is parsed, so all
/// problems are reported together.
pub fn parse(file: &str, text: &str) -> (Vec<Manifest>, Vec<ParseProblem>) {
    let mut manifests = Vec::new();
    let mut problems = Vec::new();
    for (index, document) in documents(text).into_iter().enumerate() {
        let origin = Origin {
            file: file.to_owned(),
            document: index + 1,
            line: document.first_line,
        };
        match serde_norway::from_str::<Value>(&document.text) {
            Ok(Value::Null) => {}
            Ok(Value::Object(object)) => {
                flatten(Value::Object(object), origin, &mut manifests, &mut problems)
            }
            Ok(_) => problems.push(ParseProblem {
                origin,
                message: "a manifest document must be a mapping (an object)".into(),
            }),
            Err(e) => {
                // An error at the end of input points past the last line; keep it inside.
                let last_line = document.first_line + document.text.lines().count().max(1) - 1;
                let line = e.location().map_or(document.first_line, |l| {
                    (document.first_line + l.line() - 1).min(last_line)
                });
                let message = e.to_string();
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_owned();
                problems.push(ParseProblem {
                    origin: Origin { line, ..origin },
                    message: format!("not valid YAML: {message}"),
                });
            }
        }
    }
    (manifests, problems)
}

/// Adds `object`, or the items of a `List`, to `manifests`.
fn flatten(
    object: Value,
    origin: Origin,
    manifests: &mut Vec<Manifest>,
    problems: &mut Vec<ParseProblem>,
) {
    let is_list = object["kind"]
        .as_str()
        .is_some_and(|k| k == "List" || k.ends_with("List"))
        && object.get("items").is_some();
    if !is_list {
        manifests.push(Manifest { origin, object });
        return;
    }
    match object.get("items") {
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::Object(_) => manifests.push(Manifest {
                        origin: origin.clone(),
                        object: item.clone(),
                    }),
                    _ => problems.push(ParseProblem {
                        origin: origin.clone(),
                        message: "every item of a List must be an object".into(),
                    }),
                }
            }
        }
        _ => problems.push(ParseProblem {
            origin,
            message: "a List's items must be an array".into(),
        }),
    }
}

/// One YAML document of a stream and the line it starts on.
struct Document {
    first_line: usize,
    text: String,
}

/// Splits a YAML stream at `---` document markers (a marker may carry content after it, as in
/// `--- {}`), keeping line numbers. JSON files have no markers and form one document.
fn documents(text: &str) -> Vec<Document> {
    let mut documents = Vec::new();
    let mut current = Document {
        first_line: 1,
        text: String::new(),
    };
    let mut started = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let marker = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if marker {
            if started || !current.text.trim().is_empty() {
                documents.push(std::mem::replace(
                    &mut current,
                    Document {
                        first_line: number + 1,
                        text: String::new(),
                    },
                ));
            } else {
                current.first_line = number + 1;
            }
            started = true;
            let rest = line[3..].trim();
            if !rest.is_empty() {
                current.first_line = number;
                current.text.push_str(rest);
                current.text.push('\n');
            }
            continue;
        }
        if line == "..." {
            continue;
        }
        if current.text.is_empty() && (line.trim().is_empty() || line.trim_start().starts_with('#'))
        {
            // Leading blank lines and comments: the document starts after them.
            current.first_line = number + 1;
            continue;
        }
        current.text.push_str(line);
        current.text.push('\n');
    }
    if !current.text.trim().is_empty() {
        documents.push(current);
    }
    documents
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_remember_where_they_start() {
        let text = "# comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n\n---\n\n# note\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n";
        let (manifests, problems) = parse("k8s/app.yaml", text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(manifests.len(), 2, "the empty document is skipped");
        assert_eq!(
            (manifests[0].origin.document, manifests[0].origin.line),
            (1, 3)
        );
        assert_eq!(manifests[1].kind(), "Service");
        assert_eq!(manifests[1].origin.line, 12);
    }

    #[test]
    fn lists_are_flattened_and_json_works() {
        let text = r#"{"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}}]}"#;
        let (manifests, problems) = parse("list.json", text);
        assert!(problems.is_empty());
        assert_eq!(
            manifests.iter().map(Manifest::name).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn every_bad_document_is_reported_with_its_line() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\nkey: [unclosed\n---\n- just\n- a list\n";
        let (manifests, problems) = parse("bad.yaml", text);
        assert_eq!(manifests.len(), 1);
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].origin.document, 2);
        assert!(problems[0].origin.line >= 6, "{:?}", problems[0]);
        assert!(problems[0].message.starts_with("not valid YAML"));
        assert_eq!(
            (problems[1].origin.document, problems[1].origin.line),
            (3, 8)
        );
    }

    #[test]
    fn the_fixture_has_its_thirty_five_objects() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/microservices-demo/kubernetes-manifests.yaml"
        );
        let text =
            std::fs::read_to_string(path).expect("the shared fixtures lie beside the repository");
        let (manifests, problems) = parse("kubernetes-manifests.yaml", &text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(manifests.len(), 35);
        assert_eq!(manifests[0].kind(), "Deployment");
        assert_eq!(manifests[0].name(), "frontend");
    }
}
