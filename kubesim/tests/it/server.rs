//! The server itself: HTTPS with the generated kubeconfig and its token, plain HTTP,
//! `--state` across restarts, and `--help`.

use std::process::Command;

use crate::harness::{Sim, deployment};

#[test]
fn https_requires_the_token() {
    let sim = Sim::start(&[]);
    assert!(sim.url.starts_with("https://127.0.0.1:"), "{}", sim.url);
    let namespaces = sim.ok(&["get", "ns"]);
    assert!(
        namespaces.contains("default") && namespaces.contains("kube-system"),
        "{namespaces}"
    );

    let config = std::fs::read_to_string(&sim.kubeconfig).unwrap();
    let token_line = config
        .lines()
        .find(|l| l.trim_start().starts_with("token:"))
        .unwrap();
    let wrong = sim.dir.path().join("wrong-kubeconfig");
    std::fs::write(&wrong, config.replace(token_line, "      token: wrong")).unwrap();
    let out = sim.kubectl_with(&wrong, &["get", "ns"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Unauthorized"), "{err}");
}

#[test]
fn insecure_http_serves_the_same_api() {
    let sim = Sim::start(&["--insecure-http"]);
    assert!(sim.url.starts_with("http://"), "{}", sim.url);
    let file = sim.manifest("d.yaml", &deployment("web", "nginx:1", 1, ""));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json").to_str().unwrap().to_string();
    let sim = Sim::start_in(dir, &["--state", &state]);
    let file = sim.manifest("d.yaml", &deployment("kept", "nginx:1", 1, ""));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&["rollout", "status", "deployment/kept", "--timeout=30s"]);
    let dir = sim.stop();
    let sim = Sim::start_in(dir, &["--state", &state]);
    let table = sim.ok(&["get", "deploy", "kept"]);
    assert!(table.contains("1/1"), "{table}");
}

#[test]
fn help_says_it_is_a_simulator() {
    let out = Command::new(env!("CARGO_BIN_EXE_shiplog-kubesim"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("SIMULATOR") && help.contains("not a real cluster"),
        "{help}"
    );
}
