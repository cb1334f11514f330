//! What changed, before and after, through a history server: each record keeps its objects'
//! diffs and what it applied, two deploys compare object by object, `shiplog redeploy` deploys
//! an earlier one again — and no Secret value appears in any output, record or kept set.

use crate::record::{TOKEN, get, history_server};
use crate::support::{API_DEPLOYMENT, Deploys as _, Sim, shiplog, write};

const SECRET: &str = "hunter2-s3cret";

fn manifests(sim: &Sim) -> String {
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: db}}\nstringData: {{password: {SECRET}}}\n"
    );
    write(
        sim.dir.path(),
        "app.yaml",
        &format!("{API_DEPLOYMENT}---\n{secret}"),
    )
}

#[test]
fn a_deploy_is_kept_compared_and_redeployed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = history_server(&runtime, dir.path());
    let sim = Sim::start(&[]);
    let manifests = manifests(&sim);
    let recorded = [
        "--server-url",
        &server.base,
        "--server-token",
        TOKEN,
        "--repo",
        "acme/shop",
    ];
    let mut outputs = Vec::new();
    for (image, commit) in [
        ("ghcr.io/acme/api:v1", "1111111"),
        ("ghcr.io/acme/api:v2", "2222222"),
    ] {
        let mut args = vec![
            "--manifests",
            &manifests,
            "--images",
            image,
            "--commit",
            commit,
        ];
        args.extend(recorded);
        let (code, stdout, stderr) = sim.deploy(&args);
        assert_eq!(code, 0, "{stdout}{stderr}");
        outputs.extend([stdout, stderr]);
    }
    let second = runtime.block_on(get(&server.base, "/api/v1/deploys/2"));
    let api = &second["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "Deployment")
        .unwrap()["diff"];
    let api = api.as_str().unwrap_or_else(|| panic!("{second:#}"));
    assert!(
        api.lines()
            .any(|l| l.starts_with('-') && l.ends_with("ghcr.io/acme/api:v1")),
        "{api}"
    );
    assert!(
        api.lines()
            .any(|l| l.starts_with('+') && l.ends_with("ghcr.io/acme/api:v2")),
        "{api}"
    );

    let compared = runtime.block_on(get(&server.base, "/api/v1/deploys/1/diff/2"));
    assert_eq!(
        compared["unchanged"], 1,
        "the Secret is the same: {compared:#}"
    );
    assert_eq!(
        compared["objects"][0]["object"],
        "Deployment/api in default"
    );

    // Deploy 1 again, as the history server kept it.
    let (code, stdout, stderr) = shiplog(&[
        "redeploy",
        "1",
        "--kubeconfig",
        &sim.kubeconfig(),
        "--server-url",
        &server.base,
        "--server-token",
        TOKEN,
        "--repo",
        "acme/shop",
        "--commit",
        "3333333",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("redeploying what deploy 1 applied"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Secret/db in default is left as it is in the cluster"),
        "{stderr}"
    );
    outputs.extend([stdout, stderr]);
    let live = sim.get("/apis/apps/v1/namespaces/default/deployments/api");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/acme/api:v1"
    );
    let third = runtime.block_on(get(&server.base, "/api/v1/deploys/3"));
    assert_eq!(third["restores"], 1, "{third:#}");
    assert_eq!(third["version"], "v1", "the restored deploy's version");
    assert_eq!(third["images"][0], "ghcr.io/acme/api:v1");
    assert_eq!(third["status"], "succeeded");
    assert_eq!(third["app"], second["app"]);

    // No Secret value anywhere: outputs, records, kept sets, comparisons.
    for path in [
        "/api/v1/deploys/1",
        "/api/v1/deploys/2",
        "/api/v1/deploys/3",
        "/api/v1/deploys/1/manifests",
        "/api/v1/deploys/3/manifests",
        "/api/v1/deploys/1/diff/3",
    ] {
        outputs.push(runtime.block_on(get(&server.base, path)).to_string());
    }
    for output in &outputs {
        assert!(
            !output.contains(SECRET),
            "the Secret's value shows in {output}"
        );
    }

    let (code, _, stderr) = shiplog(&[
        "redeploy",
        "99",
        "--kubeconfig",
        &sim.kubeconfig(),
        "--server-url",
        &server.base,
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no deploy has this id"), "{stderr}");
    runtime.block_on(server.stop()).unwrap();
}
