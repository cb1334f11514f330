//! `shiplog deploy` authenticating with a client certificate instead of a token: kubesim's
//! certificate kubeconfig as it is (`client-certificate-data`, `client-key-data`), the same
//! certificate and key as files relative to the kubeconfig, and a certificate of another CA,
//! which the API server refuses. The key never shows in the output, even of a failed deploy.

use base64::Engine as _;
use serde_json::Value;

use crate::support::{API_DEPLOYMENT, Sim, shiplog, write};

/// A ConfigMap and a Deployment.
fn app() -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{mode: certificate}}\n---{API_DEPLOYMENT}"
    )
}

fn read_yaml(path: &str) -> Value {
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The user section of a kubeconfig.
fn user(kubeconfig: &Value) -> &Value {
    &kubeconfig["users"][0]["user"]
}

/// The client certificate and key (PEM) of the kubeconfig at `path`.
fn client_pem(path: &str) -> (String, String) {
    let config = read_yaml(path);
    let decode = |field: &str| {
        let data = user(&config)[field].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap();
        String::from_utf8(bytes).unwrap()
    };
    (decode("client-certificate-data"), decode("client-key-data"))
}

/// `shiplog deploy --kubeconfig <kubeconfig> --manifests <app()>`.
fn deploy_with(sim: &Sim, kubeconfig: &str) -> (i32, String, String) {
    let manifests = write(sim.dir.path(), "app.yaml", &app());
    shiplog(&[
        "deploy",
        "--kubeconfig",
        kubeconfig,
        "--manifests",
        &manifests,
    ])
}

/// Fails if any output holds the client key of the kubeconfig at `path`: its base64
/// `client-key-data`, or any line of its PEM body.
fn assert_no_key(path: &str, outputs: &[&str]) {
    let config = read_yaml(path);
    let data = user(&config)["client-key-data"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, key) = client_pem(path);
    let body: Vec<&str> = key
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 8)
        .collect();
    assert!(!body.is_empty(), "the key has a PEM body");
    for output in outputs {
        assert!(!output.contains(&data), "the key data leaked: {output}");
        for line in &body {
            assert!(!output.contains(line), "the key leaked: {output}");
        }
    }
}

#[test]
fn a_client_certificate_kubeconfig_deploys() {
    let sim = Sim::start(&[]);
    let kubeconfig = sim.cert_kubeconfig();
    assert!(user(&read_yaml(&kubeconfig))["token"].is_null());
    let (code, stdout, stderr) = deploy_with(&sim, &kubeconfig);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("deployed 2 objects: 2 created, 0 configured, 0 unchanged"),
        "{stdout}"
    );
    let settings = sim.get("/api/v1/namespaces/default/configmaps/settings");
    assert_eq!(settings["data"]["mode"], "certificate");
    let (code, stdout, stderr) = deploy_with(&sim, &kubeconfig);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("no changes: 2 objects unchanged"),
        "{stdout}"
    );
    assert_no_key(&kubeconfig, &[&stdout, &stderr]);
}

#[test]
fn certificate_and_key_files_are_found_relative_to_the_kubeconfig() {
    let sim = Sim::start(&[]);
    let (cert, key) = client_pem(&sim.cert_kubeconfig());
    let dir = sim.dir.path().join("conf");
    std::fs::create_dir_all(dir.join("creds")).unwrap();
    write(&dir, "creds/client.crt", &cert);
    write(&dir, "creds/client.key", &key);
    let mut config = read_yaml(&sim.cert_kubeconfig());
    config["users"][0]["user"] = serde_json::json!({
        "client-certificate": "creds/client.crt",
        "client-key": "creds/client.key",
    });
    let kubeconfig = write(
        &dir,
        "kubeconfig",
        &serde_norway::to_string(&config).unwrap(),
    );
    assert_ne!(
        std::env::current_dir().unwrap(),
        dir,
        "relative to the kubeconfig, not the working directory"
    );
    let (code, stdout, stderr) = deploy_with(&sim, &kubeconfig);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("2 created"), "{stdout}");
    assert_no_key(&sim.cert_kubeconfig(), &[&stdout, &stderr]);
}

#[test]
fn a_client_certificate_of_another_ca_is_refused_with_exit_3() {
    let sim = Sim::start(&[]);
    let other = Sim::start(&[]);
    let mut config = read_yaml(&sim.cert_kubeconfig());
    config["users"][0]["user"] = user(&read_yaml(&other.cert_kubeconfig())).clone();
    let forged = write(
        sim.dir.path(),
        "foreign-cert.yaml",
        &serde_norway::to_string(&config).unwrap(),
    );
    let (code, stdout, stderr) = deploy_with(&sim, &forged);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} (context kubesim): the cluster refused the credentials (401)",
            sim.url()
        )),
        "{stderr}"
    );
    let refused = sim.requests().iter().filter(|r| r["status"] == 401).count();
    assert!(refused > 0, "answered 401, not a failed handshake");
    assert_eq!(
        sim.requests()
            .iter()
            .filter(|r| r["method"] != "GET")
            .count(),
        0,
        "nothing was changed"
    );
    assert_no_key(&other.cert_kubeconfig(), &[&stdout, &stderr]);
}

#[test]
fn the_client_key_never_shows_in_the_output_of_a_failing_deploy() {
    let sim = Sim::start(&["--image-rule", "*:broken=ImagePullBackOff"]);
    let kubeconfig = sim.cert_kubeconfig();
    let manifests = write(sim.dir.path(), "app.yaml", &app());
    for output in ["text", "json"] {
        let (code, stdout, stderr) = shiplog(&[
            "deploy",
            "--kubeconfig",
            &kubeconfig,
            "--manifests",
            &manifests,
            "--images",
            "ghcr.io/acme/api:broken",
            "--rollback-on-failure",
            "--output",
            output,
        ]);
        assert_eq!(code, 1, "{stdout}{stderr}");
        assert!(
            format!("{stdout}{stderr}").contains("ImagePullBackOff"),
            "the failure is explained: {stdout}{stderr}"
        );
        assert_no_key(&kubeconfig, &[&stdout, &stderr]);
    }
}
