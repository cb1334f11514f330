//! `action.yml` holds exactly what the Action's code reads and writes: every input it declares
//! is read by the code and every input the code reads is declared (same for outputs), and it
//! runs the built entry points on node24 with a post step.

use std::collections::BTreeSet;
use std::path::Path;

use serde_norway::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn metadata() -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join("action.yml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

fn declared(section: &str) -> BTreeSet<String> {
    metadata()[section]
        .as_mapping()
        .unwrap_or_else(|| panic!("action.yml has no {section}"))
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// The Action's Rust sources (the Node face), concatenated.
fn sources() -> String {
    let dir = Path::new(ROOT).join("action/src");
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            text.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    text
}

/// The string literals passed to any of `calls` (`.text("slack-token")` gives `slack-token`).
fn literals_after(text: &str, calls: &[&str]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for call in calls {
        let opening = format!("{call}(");
        for (start, _) in text.match_indices(&opening) {
            // rustfmt may put the argument on the next line.
            let Some(rest) = text[start + opening.len()..].trim_start().strip_prefix('"') else {
                continue;
            };
            let end = rest.find('"').expect("a closed literal");
            found.insert(rest[..end].to_owned());
        }
    }
    found
}

#[test]
fn every_declared_input_is_read_and_every_read_input_is_declared() {
    let read = literals_after(
        &sources(),
        &[
            ".text",
            ".lines",
            ".list",
            ".boolean",
            ".duration",
            ".choice",
            ".required",
        ],
    );
    assert!(
        read.contains("manifests") && read.contains("slack-webhook"),
        "{read:?}"
    );
    assert_eq!(
        declared("inputs"),
        read,
        "action.yml inputs (left) vs inputs the code reads (right)"
    );
}

#[test]
fn every_declared_output_is_written_and_every_written_output_is_declared() {
    let written = literals_after(&sources(), &["set_output"]);
    assert_eq!(
        declared("outputs"),
        written,
        "action.yml outputs (left) vs outputs the code sets (right)"
    );
}

#[test]
fn the_action_runs_the_built_entry_points_on_node24() {
    let runs = &metadata()["runs"];
    assert_eq!(runs["using"].as_str(), Some("node24"));
    for entry in ["main", "post"] {
        let path = runs[entry].as_str().unwrap();
        assert!(
            Path::new(ROOT).join(path).is_file(),
            "{entry}: {path} is missing (cargo xtask dist)"
        );
    }
}
