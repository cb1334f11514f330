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

/// The kubeconfig at `path` with its user's client certificate and key replaced.
fn with_client_certificate(path: &std::path::Path, cert: &str, key: &str) -> String {
    use base64::Engine as _;
    let text = std::fs::read_to_string(path).unwrap();
    let mut config: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let encode = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
    config["users"][0]["user"] = serde_json::json!({
        "client-certificate-data": encode(cert),
        "client-key-data": encode(key),
    });
    serde_norway::to_string(&config).unwrap()
}

#[test]
fn a_client_certificate_signed_by_kubesim_authenticates_and_another_is_refused() {
    let sim = Sim::start(&[]);
    let config = std::fs::read_to_string(&sim.cert_kubeconfig).unwrap();
    assert!(
        config.contains("client-certificate-data:") && config.contains("client-key-data:"),
        "{config}"
    );
    assert!(!config.contains("token"), "no token to fall back on");
    let run = |kubeconfig: &std::path::Path, args: &[&str]| {
        sim.kubectl_with(kubeconfig, args).output().unwrap()
    };
    let out = run(
        &sim.cert_kubeconfig,
        &["get", "ns", "default", "-o", "name"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "namespace/default\n");
    let file = sim.manifest("d.yaml", &deployment("web", "nginx:1", 1, ""));
    let out = run(
        &sim.cert_kubeconfig,
        &["apply", "--server-side", "-f", &file],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let other = shiplog_kubesim::tls::Authority::new().unwrap();
    let (cert, key) = other
        .client_certificate(
            shiplog_kubesim::tls::CLIENT_USER,
            shiplog_kubesim::tls::CLIENT_GROUP,
        )
        .unwrap();
    let foreign = sim.dir.path().join("foreign-kubeconfig");
    std::fs::write(
        &foreign,
        with_client_certificate(&sim.cert_kubeconfig, &cert, &key),
    )
    .unwrap();
    let out = run(&foreign, &["get", "ns"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Unauthorized"), "{err}");
    let refused = sim
        .requests()
        .into_iter()
        .filter(|r| r["status"] == 401)
        .count();
    assert!(refused > 0, "refused with 401, not a failed handshake");
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
    assert!(help.contains("--cert-kubeconfig-out <PATH>"), "{help}");
    for documented in [
        "OOMKilled",
        "Unschedulable",
        "NotReady",
        "METHOD:empty:RATE",
    ] {
        assert!(help.contains(documented), "{documented} in {help}");
    }
}
