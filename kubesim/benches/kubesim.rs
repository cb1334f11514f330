//! `cargo xtask bench kubesim`: how fast kubesim answers, so that it is never the bottleneck
//! of another benchmark.
//!
//! Against the real `shiplog-kubesim` binary (release build, plain HTTP, on a loopback port):
//!
//! 1. **Server-side apply throughput**: [`Args::clients`] concurrent clients send
//!    `PATCH …?fieldManager=bench` with `application/apply-patch+yaml`, each object once to
//!    create it and once more unchanged (the steady state of repeated deploys), first
//!    ConfigMaps (the API alone), then Deployments (the API plus the simulated controllers
//!    creating ReplicaSets, Pods and Events). Reports applies per second and p50/p99 latency.
//! 2. **kubectl**: the wall time of `kubectl apply --server-side` of the 35-object
//!    microservices-demo fixture over HTTPS with default validation, cold (empty kubectl
//!    cache) and warm. Skipped when kubectl is not installed.
//!
//! Options: `cargo xtask bench kubesim -- --help`.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser)]
#[command(about = "kubesim benchmark: server-side apply throughput and kubectl apply time")]
struct Args {
    /// Concurrent clients of the throughput benchmark.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Objects per phase of the throughput benchmark.
    #[arg(long, default_value_t = 4000)]
    objects: usize,
    /// Runs of `kubectl apply --server-side` of the fixture.
    #[arg(long, default_value_t = 5)]
    kubectl_runs: usize,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

/// A kubesim process, killed when dropped.
struct Server {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_shiplog-kubesim"))
            .args(["--listen", "127.0.0.1:0", "--rollout-ms", "100"])
            .arg("--kubeconfig-out")
            .arg(dir.path().join("kubeconfig"))
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .context("starting shiplog-kubesim")?;
        let mut url = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut url)?;
        Ok(Self {
            child,
            url: url.trim().to_string(),
            dir,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_map(i: usize) -> (String, Value) {
    let name = format!("cm-{i}");
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": "bench"}},
        "data": {"A": "1", "B": format!("value-{i}")}});
    (
        format!("/api/v1/namespaces/default/configmaps/{name}"),
        body,
    )
}

fn deployment(i: usize) -> (String, Value) {
    let name = format!("app-{i}");
    let body = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{
                "name": "main", "image": format!("ghcr.io/acme/{name}:v1"),
                "ports": [{"containerPort": 8080}],
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}});
    (
        format!("/apis/apps/v1/namespaces/default/deployments/{name}"),
        body,
    )
}

struct Phase {
    applies: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

async fn throughput(
    base: &str,
    clients: usize,
    objects: usize,
    make: fn(usize) -> (String, Value),
) -> anyhow::Result<Phase> {
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let total = objects * 2;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, next, base) = (client.clone(), next.clone(), base.to_string());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let (path, body) = make(n % objects);
                let began = Instant::now();
                let response = client
                    .patch(format!("{base}{path}?fieldManager=bench&force=true"))
                    .header("Content-Type", "application/apply-patch+yaml")
                    .body(body.to_string())
                    .send()
                    .await?;
                let status = response.status();
                response.bytes().await?;
                if !status.is_success() {
                    bail!("apply {path}: {status}");
                }
                latencies.push(began.elapsed());
            }
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Ok(Phase {
        applies: latencies.len(),
        elapsed,
        latencies,
    })
}

fn report(name: &str, phase: &Phase) {
    println!(
        "{name:<34} {:>7} applies in {:>6.2}s = {:>8.0} applies/s   p50 {:>6.2} ms   p99 {:>6.2} ms",
        phase.applies,
        phase.elapsed.as_secs_f64(),
        phase.applies as f64 / phase.elapsed.as_secs_f64(),
        percentile(&phase.latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&phase.latencies, 0.99).as_secs_f64() * 1000.0,
    );
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn kubectl_fixture(runs: usize) -> anyhow::Result<()> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/microservices-demo/kubernetes-manifests.yaml");
    let server = Server::start(&[])?;
    let cache = server.dir.path().join("kubectl-cache");
    let mut times = Vec::new();
    for run in 0..runs {
        let began = Instant::now();
        let out = Command::new("kubectl")
            .env("KUBECONFIG", server.dir.path().join("kubeconfig"))
            .arg("--cache-dir")
            .arg(&cache)
            .args(["apply", "--server-side", "-f"])
            .arg(&fixture)
            .output()
            .context("running kubectl")?;
        let elapsed = began.elapsed();
        if !out.status.success() {
            bail!(
                "kubectl apply failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let label = if run == 0 {
            "cold cache, creates"
        } else {
            "warm cache, unchanged"
        };
        println!(
            "kubectl apply --server-side (35 objects, HTTPS) run {}: {:>7.1} ms  ({label})",
            run + 1,
            elapsed.as_secs_f64() * 1000.0
        );
        times.push(elapsed);
    }
    times.sort();
    if let Some(median) = times.get(times.len() / 2) {
        println!(
            "kubectl apply --server-side median: {:.1} ms",
            median.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = Server::start(&["--insecure-http"])?;
    println!(
        "kubesim benchmark: {} clients, {} objects per phase (each applied twice), plain HTTP",
        args.clients, args.objects
    );
    let cms = throughput(&server.url, args.clients, args.objects, config_map).await?;
    report("SSA ConfigMaps", &cms);
    let deploys = throughput(&server.url, args.clients, args.objects, deployment).await?;
    report("SSA Deployments (+ controllers)", &deploys);
    drop(server);
    if kubectl_available() {
        kubectl_fixture(args.kubectl_runs)?;
    } else {
        println!("kubectl not found: skipping the kubectl benchmark");
    }
    Ok(())
}
