//! `shiplog validate`: manifests checked without a cluster.

use crate::support::{FIXTURE, shiplog, shiplog_with};

#[test]
fn the_fixture_validates() {
    let (code, stdout, stderr) = shiplog(&["validate", "--manifests", FIXTURE]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "35 objects in 1 file are valid");
}

#[test]
fn every_problem_is_reported_with_file_and_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &good,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
    )
    .unwrap();
    std::fs::write(&bad, "apiVersion: v1\nkind: Service\nmetadata:\n  name: api.v2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n---\nkind: [\n").unwrap();
    let (code, _, stderr) =
        shiplog(&["validate", "--manifests", &dir.path().display().to_string()]);
    assert_eq!(code, 2, "{stderr}");
    let bad = bad.display();
    assert!(
        stderr.contains(&format!(
            "{bad}:1: Service/api.v2: metadata.name: Invalid value: \"api.v2\": a DNS-1035 label"
        )),
        "{stderr}"
    );
    let good = good.display();
    let duplicate = format!(
        "{good}:1: ConfigMap/app: metadata.name: Duplicate value: \
         the same object is also defined at {bad}:6"
    );
    assert!(stderr.contains(&duplicate), "{stderr}");
    assert!(
        stderr.contains(&format!("{bad}:11: not valid YAML")),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 problems in 2 files; nothing was changed"),
        "{stderr}"
    );

    let (code, stdout, _) = shiplog(&[
        "validate",
        "--output",
        "json",
        "--manifests",
        &bad.to_string(),
    ]);
    assert_eq!(code, 2);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["problems"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["problems"][0]["field"], "metadata.name");
}

#[test]
fn a_missing_path_is_a_clear_error() {
    let (code, _, stderr) = shiplog(&["validate", "--manifests", "no/such/dir"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr.trim(),
        "shiplog: no/such/dir: no such file or directory"
    );
}

#[test]
fn flags_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("extra.yaml");
    std::fs::write(
        &extra,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
    )
    .unwrap();
    // Several manifests as several lines, the way a CI system passes a list.
    let manifests = format!("{FIXTURE}\n{}", extra.display());
    let (code, stdout, stderr) = shiplog_with(
        &["validate"],
        &[
            ("SHIPLOG_MANIFESTS", &manifests),
            ("SHIPLOG_OUTPUT", "json"),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON report");
    assert_eq!(report["objects"], 36, "{report}");
}
