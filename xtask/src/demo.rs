//! `cargo xtask demo`: the product end to end on its embedded defaults. It installs what it
//! needs; builds the console, the history server, kubesim and the GitHub Action; starts kubesim
//! (a local Kubernetes API *simulator*, never a real cluster) and the server on a fresh SQLite
//! database; then runs the built Action under `node` exactly as a GitHub runner does (`INPUT_*`
//! and `GITHUB_*` variables, `GITHUB_OUTPUT`/`GITHUB_STATE`/`GITHUB_STEP_SUMMARY` files) for a
//! release story: the microservices fixture as app "boutique" and two small apps through dev,
//! stage and prod, one rollout that fails and one that fails and is rolled back. Every deploy
//! in the story is real: applied to kubesim, watched, and recorded by the Action itself.
//!
//! Before the story, a small backfill of older history is recorded straight through the API
//! (labelled as such in each record's cluster field) so the insights page has more than one day
//! to show. Then it prints the console's URL and keeps kubesim and the server up until Ctrl-C.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context as _, bail};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::workspace::{cargo, exec, root};
use crate::{console, dist, setup};

/// The write token the demo server accepts (the Action's `server-token`).
const DEMO_TOKEN: &str = "demo-token";

/// The microservices demo (35 objects, 12 Deployments), shared with kubesim's and the Action's
/// tests.
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/microservices-demo/kubernetes-manifests.yaml"
);

/// Where the fixture's images live (its tags are `v0.10.6`).
const BOUTIQUE_REGISTRY: &str = "us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo";

/// Images kubesim is told to fail, so the story has a failed and a rolled-back deploy.
const IMAGE_RULES: [(&str, &str, &str); 2] = [
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

/// What the backfilled records carry as their cluster, so the console shows what they are.
const BACKFILL_CLUSTER: &str = "backfill (recorded via the API, not deployed)";

#[derive(clap::Args)]
pub struct Args {
    /// Address for the server.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Run the committed `action/dist` (what `uses:` runs) instead of building the Action
    /// afresh into target/demo/action.
    #[arg(long)]
    pub committed_action: bool,
    /// Record no API-seeded backfill: only the real deploys.
    #[arg(long)]
    pub no_backfill: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    setup::run()?;
    console::build()?;
    exec(cargo().args([
        "build",
        "--package",
        "shiplog-server",
        "--package",
        "shiplog-kubesim",
    ]))?;
    let dir = root().join("target").join("demo");
    std::fs::create_dir_all(&dir)?;
    let action = if args.committed_action {
        dist::committed()
    } else {
        let out = dir.join("action");
        dist::build(&out)?;
        out
    };
    anyhow::ensure!(
        Path::new(FIXTURE).is_file(),
        "the microservices fixture is missing: {FIXTURE}"
    );
    fresh_state(&dir)?;

    let database = format!("sqlite://{}", dir.join("shiplog.db").display());
    let (mut server, mut base) = start_server(&args.listen, &database)?;
    if !console_served(&base) {
        // A debug server reads console/dist from disk, but rust-embed fixes the folder's
        // canonical path when the server compiles: one compiled before console/dist existed
        // never serves it. Rebuild just that crate.
        eprintln!(
            "demo: this shiplog-server was compiled before console/dist existed and cannot \
             serve the console; rebuilding it"
        );
        drop(server);
        exec(cargo().args(["clean", "--package", "shiplog-server"]))?;
        exec(cargo().args(["build", "--package", "shiplog-server"]))?;
        (server, base) = start_server(&args.listen, &database)?;
        anyhow::ensure!(
            console_served(&base),
            "shiplog-server still does not serve the console from {}",
            console::dist().display()
        );
    }
    let (kubesim, kube_url) = start_kubesim(&dir)?;
    println!();
    println!(
        "shiplog demo: the GitHub Action deploys into kubesim, a local Kubernetes API SIMULATOR"
    );
    println!("  (not a real cluster: nothing is scheduled, no image is pulled, no container runs)");
    println!(
        "  kubesim       {kube_url}  (kubeconfig {}, log {})",
        shown(&dir.join("kubeconfig")),
        shown(&dir.join("kubesim.log"))
    );
    for (_, reason, why) in IMAGE_RULES {
        println!("  kubesim rule  {why}: its pods fail with {reason}");
    }
    println!(
        "  history       {base} on SQLite {}",
        shown(&dir.join("shiplog.db"))
    );

    let backfilled = if args.no_backfill {
        0
    } else {
        let n = record_backfill(&base)?;
        println!(
            "backfill: {n} older deploys recorded straight through the API for the insights page \
             (never deployed; their cluster reads \"{BACKFILL_CLUSTER}\")"
        );
        n
    };

    let runner = Runner::new(&dir, &action, &base, &dir.join("kubeconfig"))?;
    println!(
        "deploying: node {} as a GitHub runner runs it (each step's log in {})",
        shown(&action.join("main.mjs")),
        shown(&runner.runs)
    );
    let story = story(&dir)?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut surprises = 0;
    let started = Instant::now();
    for (n, deploy) in story.iter().enumerate() {
        let outcome = runner.deploy(n + 1, story.len(), deploy)?;
        *counts.entry(outcome.clone()).or_default() += 1;
        surprises += usize::from(outcome != deploy.expect);
    }
    println!("{} deploys in {:.0?}", story.len(), started.elapsed());
    if surprises > 0 {
        println!(
            "WARNING: {surprises} deploy(s) did not end as the story expects (see the logs above)"
        );
    }

    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!();
    println!(
        "shiplog demo is up: {} deploys by the Action into kubesim ({}){}",
        story.len(),
        summary.join(", "),
        if backfilled > 0 {
            format!(" + {backfilled} backfilled via the API")
        } else {
            String::new()
        }
    );
    println!("  console       {base}/");
    println!("  environments  {base}/environments");
    println!("  history       {base}/history?namespace=prod");
    println!("  failures      {base}/history?status=failed");
    println!("  rollbacks     {base}/history?status=rolled_back");
    println!("  insights      {base}/insights");
    println!("  API document  {base}/api/v1/openapi.json");
    println!("  write token   {DEMO_TOKEN}");
    println!(
        "  kubectl       KUBECONFIG={} kubectl get deployments -A",
        shown(&dir.join("kubeconfig"))
    );
    println!("Press Ctrl-C to stop (kubesim and the server stop with it).");
    wait_for_either(server, kubesim)
}

/// Starts from nothing each time: kubesim keeps its objects in memory, so the history must
/// begin afresh too.
fn fresh_state(dir: &Path) -> anyhow::Result<()> {
    for name in [
        "shiplog.db",
        "shiplog.db-wal",
        "shiplog.db-shm",
        "kubeconfig",
    ] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    for name in ["runs", "runner", "manifests"] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// A path as the user sees it: relative to the repository when it is inside it.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A process the demo started; killed if the demo ends (or fails) while it still runs.
struct Background {
    name: &'static str,
    child: Child,
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn start_server(listen: &str, database: &str) -> anyhow::Result<(Background, String)> {
    let child = Command::new(root().join("target/debug/shiplog-server"))
        .args([
            "--listen",
            listen,
            "--database",
            database,
            "--token",
            DEMO_TOKEN,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting shiplog-server")?;
    let mut server = Background {
        name: "shiplog-server",
        child,
    };
    let url = first_line(&mut server, "shiplog-server listening on ")?;
    Ok((server, url))
}

fn start_kubesim(dir: &Path) -> anyhow::Result<(Background, String)> {
    let log = File::create(dir.join("kubesim.log"))?;
    let mut command = Command::new(root().join("target/debug/shiplog-kubesim"));
    command
        .args(["--listen", "127.0.0.1:0"])
        .arg("--kubeconfig-out")
        .arg(dir.join("kubeconfig"))
        // A pod is ready in 0.3 s, and a minute of deadlines passes in a second, so a stuck
        // rollout hits its 600 s progressDeadlineSeconds after 10 s.
        .args(["--rollout-ms", "300", "--time-scale", "60"]);
    for (pattern, reason, _) in IMAGE_RULES {
        command
            .arg("--image-rule")
            .arg(format!("{pattern}={reason}"));
    }
    let child = command
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .context("starting shiplog-kubesim")?;
    let mut kubesim = Background {
        name: "shiplog-kubesim",
        child,
    };
    let url = first_line(&mut kubesim, "https://")?;
    Ok((kubesim, url))
}

/// Whether the server answers `/` with the console rather than its "not built" page (503).
fn console_served(base: &str) -> bool {
    !matches!(
        ureq::get(&format!("{base}/")).call(),
        Err(ureq::Error::Status(503, _))
    )
}

/// Reads the process's stdout up to the line that starts with `prefix` (the URL it serves),
/// then keeps draining it so the process never blocks on a full pipe.
fn first_line(process: &mut Background, prefix: &str) -> anyhow::Result<String> {
    let stdout = process.child.stdout.take().context("stdout is piped")?;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line?;
        if let Some(rest) = line.strip_prefix(prefix) {
            let url = if prefix.starts_with("https://") {
                line.trim().to_owned()
            } else {
                rest.trim().to_owned()
            };
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(url);
        }
    }
    bail!(
        "{} exited before it was ready (see the messages above)",
        process.name
    )
}

/// Waits until one of the two ends (Ctrl-C ends both), then stops the other.
fn wait_for_either(mut a: Background, mut b: Background) -> anyhow::Result<()> {
    let (name, status): (&str, ExitStatus) = loop {
        if let Some(status) = a.child.try_wait()? {
            break (a.name, status);
        }
        if let Some(status) = b.child.try_wait()? {
            break (b.name, status);
        }
        std::thread::sleep(StdDuration::from_millis(200));
    };
    drop((a, b));
    if !status.success() && status.code().is_some() {
        bail!("{name} exited with {status}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The story: real deploys by the built Action.
// ---------------------------------------------------------------------------------------------

/// One run of the Action's main step.
struct Deploy {
    app: &'static str,
    version: &'static str,
    env: &'static str,
    manifests: PathBuf,
    images: Vec<String>,
    message: &'static str,
    actor: &'static str,
    /// The workflow run: one per release, one job per environment.
    run_id: u64,
    /// `rollback-on-failure`.
    rollback: bool,
    /// How the story expects it to end (`status` output).
    expect: &'static str,
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

fn story(dir: &Path) -> anyhow::Result<Vec<Deploy>> {
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
            });
        }
    }
    Ok(deploys)
}

/// The Action's `images` input for a release (its first image's tag is the recorded version).
fn images(app: &str, version: &str) -> Vec<String> {
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
fn sha(app: &str, version: &str) -> String {
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

/// A GitHub runner in miniature (as in action/tests/dist/runner.rs): runs the Action's main
/// step under `node` with the job's context and inputs, and reads back what it wrote.
struct Runner {
    main: PathBuf,
    server: String,
    kubeconfig: PathBuf,
    home: PathBuf,
    workspace: PathBuf,
    runs: PathBuf,
}

impl Runner {
    fn new(dir: &Path, action: &Path, server: &str, kubeconfig: &Path) -> anyhow::Result<Runner> {
        let main = action.join("main.mjs");
        anyhow::ensure!(main.is_file(), "{} is missing", main.display());
        let runner = Runner {
            main,
            server: server.to_owned(),
            kubeconfig: kubeconfig.to_owned(),
            home: dir.join("runner").join("home"),
            workspace: dir.join("runner").join("workspace"),
            runs: dir.join("runs"),
        };
        for d in [&runner.home, &runner.workspace, &runner.runs] {
            std::fs::create_dir_all(d)?;
        }
        Ok(runner)
    }

    /// Runs one deploy, prints one line about it; its `status` output (or how node ended).
    fn deploy(&self, n: usize, of: usize, deploy: &Deploy) -> anyhow::Result<String> {
        let step = self.runs.join(format!(
            "{n:02}-{}-{}-{}",
            deploy.app, deploy.env, deploy.version
        ));
        std::fs::create_dir_all(&step)?;
        let sha = sha(deploy.app, deploy.version);
        let event = step.join("event.json");
        std::fs::write(
            &event,
            json!({"head_commit": {"id": sha, "message": deploy.message}}).to_string(),
        )?;
        let files = ["GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"]
            .map(|name| (name, step.join(name.to_lowercase())));
        for (_, path) in &files {
            std::fs::write(path, "")?;
        }
        let log = File::create(step.join("log"))?;
        // Prod deploys the release's tag.
        let git_ref = if deploy.env == "prod" {
            format!("refs/tags/{}", deploy.version)
        } else {
            "refs/heads/main".to_owned()
        };
        let started = Instant::now();
        let status = Command::new("node")
            .arg(&self.main)
            .current_dir(&self.workspace)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("KUBECONFIG", &self.kubeconfig)
            .envs([
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_REPOSITORY", &format!("acme/{}", deploy.app)),
                ("GITHUB_SHA", &sha),
                ("GITHUB_REF", &git_ref),
                ("GITHUB_ACTOR", deploy.actor),
                ("GITHUB_RUN_ID", &deploy.run_id.to_string()),
                ("GITHUB_RUN_ATTEMPT", "1"),
                ("GITHUB_JOB", &format!("deploy-{}", deploy.env)),
                ("GITHUB_WORKFLOW", "deploy"),
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_API_URL", "https://api.github.com"),
                ("RUNNER_NAME", "demo-runner"),
                ("RUNNER_OS", "Linux"),
            ])
            .env("GITHUB_EVENT_PATH", &event)
            .env("GITHUB_WORKSPACE", &self.workspace)
            .envs(files.iter().map(|(k, v)| (k, v)))
            // The `with:` inputs, hyphens kept, and action.yml's defaults as the runner fills
            // them in. No slack-* and no github-token: the Action says it does not check the
            // job's other steps.
            .envs([
                ("INPUT_MODE", "deploy"),
                ("INPUT_MANIFESTS", &deploy.manifests.display().to_string()),
                ("INPUT_NAMESPACE", deploy.env),
                ("INPUT_IMAGES", &deploy.images.join("\n")),
                ("INPUT_APP", deploy.app),
                ("INPUT_ENVIRONMENT", deploy.env),
                (
                    "INPUT_TIMEOUT",
                    if deploy.expect == "succeeded" {
                        "2m"
                    } else {
                        "20s"
                    },
                ),
                ("INPUT_ROLLBACK-ON-FAILURE", &deploy.rollback.to_string()),
                ("INPUT_DRY-RUN", "false"),
                ("INPUT_CREATE-NAMESPACE", "true"),
                ("INPUT_SERVER-URL", &self.server),
                ("INPUT_SERVER-TOKEN", DEMO_TOKEN),
            ])
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .context("running the Action with node (is node on PATH?)")?;
        let elapsed = started.elapsed();
        let outputs = parse_file_commands(&std::fs::read_to_string(&files[0].1)?);
        let outcome = outputs
            .get("status")
            .cloned()
            .unwrap_or_else(|| format!("no status (node {status})"));
        let detail = if outcome == "succeeded" {
            changes(outputs.get("resources").map_or("", String::as_str))
        } else {
            first_error(&std::fs::read_to_string(step.join("log"))?)
        };
        let link = outputs
            .get("deploy-url")
            .map_or("not recorded", String::as_str);
        let width = of.to_string().len();
        println!(
            "  [{n:>width$}/{of}] {:<8} {:<7} → {:<5} {:<11} {:>5.1}s  {link}  {detail}",
            deploy.app,
            deploy.version,
            deploy.env,
            outcome,
            elapsed.as_secs_f64(),
        );
        if outcome != deploy.expect {
            println!(
                "           expected {}; see {}",
                deploy.expect,
                shown(&step.join("log"))
            );
        }
        Ok(outcome)
    }
}

/// Reads a file of file commands: `name=value` or `name<<DELIMITER` … `DELIMITER`.
fn parse_file_commands(text: &str) -> HashMap<String, String> {
    let mut values = HashMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            values.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            values.insert(name.to_owned(), value.to_owned());
        }
    }
    values
}

/// "3 configured, 32 unchanged" from the `resources` output.
fn changes(resources: &str) -> String {
    let list: Vec<Value> = serde_json::from_str(resources).unwrap_or_default();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for resource in &list {
        *counts
            .entry(resource["action"].as_str().unwrap_or("?"))
            .or_default() += 1;
    }
    counts
        .iter()
        .map(|(action, n)| format!("{n} {action}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The message of the step's first `::error` annotation, on one line.
fn first_error(log: &str) -> String {
    let Some(line) = log.lines().find(|l| l.starts_with("::error")) else {
        return String::new();
    };
    let message = line
        .strip_prefix("::error")
        .and_then(|rest| rest.split_once("::"))
        .map_or(line, |(_, message)| message);
    let message = message
        .replace("%0D", "")
        .replace("%0A", " ")
        .replace("%25", "%");
    if message.chars().count() > 90 {
        format!("{}…", message.chars().take(90).collect::<String>())
    } else {
        message
    }
}

// ---------------------------------------------------------------------------------------------
// The backfill: older history recorded straight through the API, never deployed.
// ---------------------------------------------------------------------------------------------

/// The boutique's workloads, as the Action records them.
const BOUTIQUE_WORKLOADS: [&str; 12] = [
    "frontend",
    "adservice",
    "currencyservice",
    "cartservice",
    "redis-cart",
    "loadgenerator",
    "recommendationservice",
    "checkoutservice",
    "emailservice",
    "paymentservice",
    "shippingservice",
    "productcatalogservice",
];

/// BACKFILL, not a deploy: records the apps' older releases of the last two weeks through the
/// server's API (dev → stage → prod, one failed prod rollout fixed the next day), so the
/// insights page has more than today to show. Every record names [`BACKFILL_CLUSTER`] as its
/// cluster. Nothing here touches kubesim.
fn record_backfill(base: &str) -> anyhow::Result<usize> {
    let releases: [(&str, &str, &str, i64); 8] = [
        ("boutique", "v0.10.3", "alice", 13),
        ("ledger", "1.2.0", "bob", 12),
        ("mailer", "1.9.0", "chen", 11),
        ("boutique", "v0.10.4", "dana", 9),
        ("ledger", "1.3.0", "bob", 7),
        ("ledger", "1.3.1", "bob", 6),
        ("boutique", "v0.10.5", "alice", 4),
        ("mailer", "1.9.1", "chen", 2),
    ];
    let now = Utc::now();
    let mut recorded = 0;
    for (r, (app, version, actor, days_ago)) in releases.into_iter().enumerate() {
        let sha = sha(app, version);
        let run_id = 3000 + r as i64;
        let (kind, workloads): (&str, Vec<&str>) = match app {
            "boutique" => ("Deployment", BOUTIQUE_WORKLOADS.to_vec()),
            "mailer" => ("StatefulSet", vec!["mailer"]),
            _ => ("Deployment", vec![app]),
        };
        for (n, env) in ["dev", "stage", "prod"].into_iter().enumerate() {
            let started = now - Duration::days(days_ago) + Duration::minutes(n as i64 * 40);
            let new = json!({
                "repo": format!("acme/{app}"),
                "app": app,
                "environment": env,
                "namespace": env,
                "cluster": BACKFILL_CLUSTER,
                "version": version,
                "images": images(app, version),
                "workloads": workloads.iter().map(|w| json!({"kind": kind, "name": w})).collect::<Vec<_>>(),
                "commit": {
                    "sha": sha,
                    "message": format!("{app} {version}"),
                    "url": format!("https://github.com/acme/{app}/commit/{sha}"),
                },
                "ref": if env == "prod" { format!("refs/tags/{version}") } else { "refs/heads/main".to_owned() },
                "actor": actor,
                "run": {
                    "id": run_id,
                    "attempt": 1,
                    "job": format!("deploy-{env}"),
                    "url": format!("https://github.com/acme/{app}/actions/runs/{run_id}"),
                },
                "started_at": started.to_rfc3339(),
            });
            let id = post(base, &new)?;
            let failed = (app, version, env) == ("ledger", "1.3.0", "prod");
            let workload = workloads[0];
            let finish = if failed {
                json!({
                    "status": "failed",
                    "finished_at": (started + Duration::minutes(5)).to_rfc3339(),
                    "resources": [{"api_version": "apps/v1", "kind": kind, "name": workload, "namespace": env,
                                   "action": "failed", "message": "1 of 2 pods is in CrashLoopBackOff"}],
                    "failure": {"reason": format!("{workload}: container {workload} keeps crashing (CrashLoopBackOff)"),
                                "details": [format!("pod {workload}-7c9f4d-x2x8q: Back-off restarting failed container")]},
                })
            } else {
                json!({
                    "status": "succeeded",
                    "finished_at": (started + Duration::seconds(30 + (r as i64 * 7) % 50)).to_rfc3339(),
                    "resources": workloads.iter().map(|w| json!({"api_version": "apps/v1", "kind": kind, "name": w,
                        "namespace": env, "action": if r < 3 { "created" } else { "configured" }})).collect::<Vec<_>>(),
                })
            };
            patch(base, id, &finish)?;
            recorded += 1;
        }
    }
    Ok(recorded)
}

fn post(base: &str, body: &Value) -> anyhow::Result<i64> {
    let response: Value = ureq::post(&format!("{base}/api/v1/deploys"))
        .set("Authorization", &format!("Bearer {DEMO_TOKEN}"))
        .send_json(body)
        .context("recording a backfilled deploy")?
        .into_json()?;
    response["id"]
        .as_i64()
        .context("the server's answer has no id")
}

fn patch(base: &str, id: i64, body: &Value) -> anyhow::Result<()> {
    ureq::request("PATCH", &format!("{base}/api/v1/deploys/{id}"))
        .set("Authorization", &format!("Bearer {DEMO_TOKEN}"))
        .send_json(body)
        .with_context(|| format!("finishing backfilled deploy {id}"))?;
    Ok(())
}
