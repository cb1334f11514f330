//! The release story: the real deploys the built Action makes into kubesim, in order, with the
//! manifests, images and commits each one carries and how each is expected to end; then a plan
//! of the next boutique release for prod (`mode: plan`) and a roll-back of the ledger in prod to
//! 1.4.0 by redeploying its earlier deploy (`redeploy:`).

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// The microservices demo (35 objects, 12 Deployments), shared with kubesim's and the Action's
/// tests.
pub(super) const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/microservices-demo/kubernetes-manifests.yaml"
);

/// Where the fixture's images live (its tags are `v0.10.6`).
const BOUTIQUE_REGISTRY: &str = "us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo";

/// Images kubesim is told to fail, so the story has a failed and a rolled-back deploy.
pub(super) const IMAGE_RULES: [(&str, &str, &str); 2] = [
    (
        "*/microservices-demo/frontend:v0.11.0",
        "ImagePullBackOff",
        "frontend:v0.11.0 was never pushed",
    ),
    (
        "ghcr.io/acme/ledger:1.5.0",
        "CrashLoopBackOff",
        "ledger:1.5.0 crashes at start-up",
    ),
];
/// One run of the Action's main step.
#[derive(Clone)]
pub(super) struct Deploy {
    pub(super) app: &'static str,
    pub(super) version: &'static str,
    pub(super) env: &'static str,
    pub(super) manifests: PathBuf,
    pub(super) images: Vec<String>,
    pub(super) message: &'static str,
    pub(super) actor: &'static str,
    /// The workflow run: one per release, one job per environment.
    pub(super) run_id: u64,
    /// `rollback-on-failure`.
    pub(super) rollback: bool,
    /// How the story expects it to end (`status` output).
    pub(super) expect: &'static str,
    /// The Action's `mode` (`deploy` or `plan`).
    pub(super) mode: &'static str,
    /// For a redeploy: the story's deploy (its index) whose recorded deploy it deploys again.
    pub(super) restores: Option<usize>,
}

/// The releases, oldest first: each goes through the environments listed, in order.
#[allow(clippy::type_complexity)]
const RELEASES: [(&str, &str, &[&str], &str, &str); 11] = [
    (
        "boutique",
        "v0.10.6",
        &["dev", "stage", "prod"],
        "alice",
        "Move the boutique to the v0.10.6 images",
    ),
    (
        "ledger",
        "1.4.0",
        &["dev", "stage", "prod"],
        "bob",
        "Ledger 1.4.0: monthly statements",
    ),
    (
        "mailer",
        "2.0.0",
        &["dev", "stage", "prod"],
        "chen",
        "Mailer 2.0.0: run as a StatefulSet with a durable outbox",
    ),
    (
        "boutique",
        "v0.10.7",
        &["dev", "stage", "prod"],
        "alice",
        "Frontend, cart and checkout v0.10.7: faster product pages",
    ),
    (
        "ledger",
        "1.5.0",
        &["dev"],
        "bob",
        "Ledger 1.5.0: switch to the new settings loader",
    ),
    (
        "ledger",
        "1.5.1",
        &["dev", "stage"],
        "bob",
        "Ledger 1.5.1: fix the crash at start-up when LEDGER_REGION is unset",
    ),
    (
        "mailer",
        "2.1.0",
        &["dev"],
        "chen",
        "Mailer 2.1.0: retry \"soft\" bounces & <defer> the rest",
    ),
    (
        "boutique",
        "v0.11.0",
        &["dev"],
        "dana",
        "Frontend v0.11.0: new checkout flow",
    ),
    (
        "boutique",
        "v0.11.1",
        &["dev", "stage"],
        "dana",
        "Frontend v0.11.1: publish the image this time",
    ),
    (
        "mailer",
        "2.1.0",
        &["stage"],
        "chen",
        "Mailer 2.1.0: retry \"soft\" bounces & <defer> the rest",
    ),
    (
        "ledger",
        "1.5.1",
        &["prod"],
        "bob",
        "Ledger 1.5.1: fix the crash at start-up when LEDGER_REGION is unset",
    ),
];

pub(super) fn story(dir: &Path) -> anyhow::Result<Vec<Deploy>> {
    let manifests = dir.join("manifests");
    std::fs::create_dir_all(&manifests)?;
    std::fs::write(manifests.join("ledger.yaml"), LEDGER)?;
    std::fs::write(manifests.join("mailer.yaml"), MAILER)?;
    let mut deploys = Vec::new();
    for (r, (app, version, envs, actor, message)) in RELEASES.into_iter().enumerate() {
        for env in envs {
            let broken = matches!(
                (app, version),
                ("boutique", "v0.11.0") | ("ledger", "1.5.0")
            );
            deploys.push(Deploy {
                app,
                version,
                env,
                manifests: if app == "boutique" {
                    PathBuf::from(FIXTURE)
                } else {
                    manifests.join(format!("{app}.yaml"))
                },
                images: images(app, version),
                message,
                actor,
                run_id: 5100 + 3 * r as u64,
                // The boutique's pipeline rolls back; the ledger's does not (yet).
                rollback: app == "boutique",
                expect: match (broken, app) {
                    (false, _) => "succeeded",
                    (true, "boutique") => "rolled_back",
                    (true, _) => "failed",
                },
                mode: "deploy",
                restores: None,
            });
        }
    }
    let boutique_next = Deploy {
        version: "v0.11.1",
        env: "prod",
        images: images("boutique", "v0.11.1"),
        message: "Frontend v0.11.1: publish the image this time",
        actor: "dana",
        run_id: 5200,
        mode: "plan",
        ..deploys[0].clone()
    };
    let first_ledger_in_prod = deploys
        .iter()
        .position(|d| (d.app, d.version, d.env) == ("ledger", "1.4.0", "prod"))
        .expect("the story deploys ledger 1.4.0 to prod");
    let ledger_back = Deploy {
        message: "Roll the ledger in prod back to 1.4.0",
        actor: "bob",
        run_id: 5201,
        restores: Some(first_ledger_in_prod),
        ..deploys[first_ledger_in_prod].clone()
    };
    deploys.extend([boutique_next, ledger_back]);
    Ok(deploys)
}

/// The story's deploys whose comparison the demo links: the boutique in prod, v0.10.6 and
/// v0.10.7.
pub(super) fn compared(deploys: &[Deploy]) -> Option<(usize, usize)> {
    let find = |version: &str| {
        deploys.iter().position(|d| {
            (d.app, d.version, d.env, d.mode) == ("boutique", version, "prod", "deploy")
        })
    };
    Some((find("v0.10.6")?, find("v0.10.7")?))
}

/// The Action's `images` input for a release (its first image's tag is the recorded version).
pub(super) fn images(app: &str, version: &str) -> Vec<String> {
    if app == "boutique" {
        ["frontend", "cartservice", "checkoutservice"]
            .iter()
            .map(|service| format!("{BOUTIQUE_REGISTRY}/{service}:{version}"))
            .collect()
    } else {
        vec![format!("ghcr.io/acme/{app}:{version}")]
    }
}

/// A commit sha for a release: 40 hex digits, the same in every environment.
pub(super) fn sha(app: &str, version: &str) -> String {
    let digest = Sha256::digest(format!("{app}@{version}"));
    digest.iter().take(20).map(|b| format!("{b:02x}")).collect()
}

/// A small app: settings, a Deployment and its Service.
const LEDGER: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: ledger-settings
data:
  LEDGER_REGION: eu-west
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ledger
  labels: {app: ledger}
spec:
  replicas: 2
  selector:
    matchLabels: {app: ledger}
  template:
    metadata:
      labels: {app: ledger}
    spec:
      containers:
      - name: ledger
        image: ghcr.io/acme/ledger:1.4.0
        ports: [{containerPort: 8080}]
        envFrom: [{configMapRef: {name: ledger-settings}}]
---
apiVersion: v1
kind: Service
metadata:
  name: ledger
spec:
  selector: {app: ledger}
  ports: [{port: 80, targetPort: 8080}]
"#;

/// A small stateful app: a StatefulSet behind a headless Service.
const MAILER: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: mailer
spec:
  clusterIP: None
  selector: {app: mailer}
  ports: [{port: 2525}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: mailer
  labels: {app: mailer}
spec:
  serviceName: mailer
  replicas: 2
  selector:
    matchLabels: {app: mailer}
  template:
    metadata:
      labels: {app: mailer}
    spec:
      containers:
      - name: mailer
        image: ghcr.io/acme/mailer:2.0.0
        ports: [{containerPort: 2525}]
"#;
