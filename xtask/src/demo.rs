//! `cargo xtask demo`: installs what it needs, builds the console and the history server, starts
//! the server on SQLite, records a sample history through its API (several apps in dev, stage
//! and prod, one failed rollout), prints the console's URL, and stays up until Ctrl-C.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, bail};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::workspace::{cargo, exec, root};
use crate::{console, setup};

/// The write token the demo server accepts.
const DEMO_TOKEN: &str = "demo-token";

#[derive(clap::Args)]
pub struct Args {
    /// Address for the server.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    setup::run()?;
    console::build()?;
    exec(cargo().args(["build", "--package", "shiplog-server"]))?;
    let dir = root().join("target").join("demo");
    std::fs::create_dir_all(&dir)?;
    let database = format!("sqlite://{}", dir.join("shiplog.db").display());
    let mut server = Command::new(root().join("target/debug/shiplog-server"))
        .args([
            "--listen",
            &args.listen,
            "--database",
            &database,
            "--token",
            DEMO_TOKEN,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting shiplog-server")?;
    let base = listening_url(&mut server)?;
    let recorded = record_sample_history(&base).inspect_err(|_| {
        let _ = server.kill();
    })?;
    println!();
    println!("shiplog demo is up ({recorded} deploys recorded on SQLite at {database})");
    println!("  console       {base}/");
    println!("  history       {base}/history?namespace=prod");
    println!("  failures      {base}/history?status=failed");
    println!("  insights      {base}/insights");
    println!("  API document  {base}/api/v1/openapi.json");
    println!("  write token   {DEMO_TOKEN}");
    println!("Press Ctrl-C to stop.");
    let status = server.wait()?;
    if !status.success() && status.code().is_some() {
        bail!("shiplog-server exited with {status}");
    }
    Ok(())
}

/// Reads the server's "listening on URL" line.
fn listening_url(server: &mut Child) -> anyhow::Result<String> {
    let stdout = server.stdout.take().context("server stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line?;
        if let Some(url) = line.strip_prefix("shiplog-server listening on ") {
            let url = url.trim().to_owned();
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(url);
        }
    }
    bail!("shiplog-server exited before it was ready (see the messages above)")
}

/// Records three apps deployed through dev → stage → prod, with one failed prod rollout.
fn record_sample_history(base: &str) -> anyhow::Result<usize> {
    let apps = [
        ("api", "Deployment"),
        ("web", "Deployment"),
        ("worker", "StatefulSet"),
    ];
    let people = ["alice", "bob", "chen"];
    let start = Utc::now() - Duration::days(6);
    let mut recorded = 0;
    for (release, version) in ["v1.3.0", "v1.4.0", "v1.4.1", "v1.5.0"].iter().enumerate() {
        for (a, (app, kind)) in apps.iter().enumerate() {
            for (n, namespace) in ["dev", "stage", "prod"].iter().enumerate() {
                // The newest release has not reached prod yet, and stage is one behind for web.
                if release == 3 && (n == 2 || (*app == "web" && n == 1)) {
                    continue;
                }
                let run_id = 1000 + (release * 10 + a) as i64;
                let started = start
                    + Duration::hours((release * 36 + a * 2) as i64)
                    + Duration::minutes((n * 25) as i64);
                let sha = format!(
                    "{:x}{:02x}{:02x}c0ffee1234567890abcdef1234567",
                    release + 1,
                    a,
                    n
                );
                let new = json!({
                    "repo": format!("acme/{app}"),
                    "app": app,
                    "namespace": namespace,
                    "cluster": "aks-demo",
                    "version": version,
                    "images": [format!("ghcr.io/acme/{app}:{version}")],
                    "workloads": [{"kind": kind, "name": app}],
                    "commit": {
                        "sha": sha,
                        "message": format!("Release {version} of {app}\n\nIncludes fixes for \"edge\" cases & <markup>."),
                        "url": format!("https://github.com/acme/{app}/commit/{sha}"),
                    },
                    "ref": "refs/heads/main",
                    "actor": people[(release + a) % people.len()],
                    "run": {
                        "id": run_id,
                        "attempt": 1,
                        "job": format!("deploy-{namespace}"),
                        "url": format!("https://github.com/acme/{app}/actions/runs/{run_id}"),
                    },
                    "started_at": started.to_rfc3339(),
                });
                let id = post(base, &new)?;
                let failed = *app == "worker" && release == 2 && *namespace == "prod";
                let finish = if failed {
                    json!({
                        "status": "failed",
                        "finished_at": (started + Duration::minutes(5)).to_rfc3339(),
                        "resources": [{"api_version": "apps/v1", "kind": kind, "name": app, "namespace": namespace, "action": "failed",
                                       "message": "1 of 3 pods cannot pull ghcr.io/acme/worker:v1.4.1"}],
                        "failure": {"reason": "worker: image ghcr.io/acme/worker:v1.4.1 cannot be pulled (ImagePullBackOff)",
                                    "details": ["pod worker-1: Back-off pulling image \"ghcr.io/acme/worker:v1.4.1\""]},
                    })
                } else {
                    json!({
                        "status": "succeeded",
                        "finished_at": (started + Duration::seconds(40 + (a * 17) as i64)).to_rfc3339(),
                        "resources": [{"api_version": "apps/v1", "kind": kind, "name": app, "namespace": namespace,
                                       "action": if release == 0 { "created" } else { "configured" }}],
                    })
                };
                patch(base, id, &finish)?;
                recorded += 1;
            }
        }
    }
    Ok(recorded)
}

fn post(base: &str, body: &Value) -> anyhow::Result<i64> {
    let response: Value = ureq::post(&format!("{base}/api/v1/deploys"))
        .set("Authorization", &format!("Bearer {DEMO_TOKEN}"))
        .send_json(body)
        .context("recording a sample deploy")?
        .into_json()?;
    response["id"]
        .as_i64()
        .context("the server's answer has no id")
}

fn patch(base: &str, id: i64, body: &Value) -> anyhow::Result<()> {
    ureq::request("PATCH", &format!("{base}/api/v1/deploys/{id}"))
        .set("Authorization", &format!("Bearer {DEMO_TOKEN}"))
        .send_json(body)
        .with_context(|| format!("finishing sample deploy {id}"))?;
    Ok(())
}
