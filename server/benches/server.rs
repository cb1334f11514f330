//! `cargo xtask bench server`: the history server's ingest rate and query latency, on SQLite
//! and on PostgreSQL.
//!
//! For each backend, against the real server listening on a loopback port in this process:
//!
//! 1. **Ingest**: [`CLIENTS`] concurrent clients `POST /api/v1/deploys`, every deploy under an
//!    idempotency key of its own, into an empty database. Reports deploys per second and the
//!    requests' p50/p99 latency.
//! 2. **Query**: a database seeded with `--deploys` finished deploys through
//!    `Store::insert_bulk` ([`APPS`] apps in [`NAMESPACES`] namespaces, mostly successful,
//!    spread over two years), then rounds of sequential requests after a warm-up: the health
//!    check, a filtered history page, the same filter's page [`DEEP_PAGE`] by cursor, and the
//!    environment matrix. Reports p50/p99 and each p99 relative to the health check's.
//!
//! PostgreSQL runs when `SHIPLOG_BENCH_POSTGRES` holds the superuser URL of a server's
//! `postgres` database (`cargo xtask bench server` starts a throwaway server and sets it); each
//! phase gets a database of its own, dropped afterwards. Without it, only SQLite runs.
//!
//! Options: `cargo xtask bench server -- --help`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use chrono::{DateTime, Utc};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Client, StatusCode};
use shiplog_model::{
    Commit, DeployId, DeployStatus, Failure, NewDeploy, ResourceAction, ResourceChange,
    WorkflowRun, WorkloadRef,
};
use shiplog_server::auth::Tokens;
use shiplog_server::local::LocalServer;
use shiplog_server::store::Store;
use sqlx::Connection as _;
use tokio::task::JoinHandle;

/// Names the PostgreSQL server to benchmark (set by `cargo xtask bench server`).
const POSTGRES_ENV: &str = "SHIPLOG_BENCH_POSTGRES";
/// Concurrent clients of the ingest benchmark.
const CLIENTS: usize = 16;
const APPS: usize = 50;
const NAMESPACES: usize = 5;
/// Deploys handed to `Store::insert_bulk` at a time while seeding.
const SEED_BATCH: usize = 20_000;
/// How far back the seeded history reaches.
const SEED_SPAN: chrono::Duration = chrono::Duration::days(730);
/// Timed requests per query, after [`WARM_UP`] untimed ones.
const SAMPLES: usize = 500;
const WARM_UP: usize = 50;
/// The filtered history view the query benchmark pages through.
const FILTER: &str = "namespace=ns-2&status=failed&limit=50";
/// The page of [`FILTER`] reached by cursor.
const DEEP_PAGE: usize = 100;
const TOKEN: &str = "bench-token";

/// The tokens the benchmark's server accepts: [`TOKEN`] may write.
fn writer() -> Tokens {
    Tokens {
        write: vec![TOKEN.into()],
        read: None,
    }
}

/// Targets: ingest rate on SQLite, and every query's p99 in absolute terms and relative to the
/// health check's.
const INGEST_TARGET: f64 = 1_000.0;
const P99_TARGET: Duration = Duration::from_millis(20);
const RATIO_TARGET: f64 = 3.0;

#[derive(Parser)]
#[command(
    name = "cargo xtask bench server --",
    bin_name = "cargo xtask bench server --",
    about = "Ingest rate and query latency of the shiplog history server"
)]
struct Options {
    /// Deploys seeded for the query benchmark.
    #[arg(long, default_value_t = 1_000_000, value_parser = at_least_one())]
    deploys: usize,
    /// Deploys posted by the ingest benchmark.
    #[arg(long, default_value_t = 20_000, value_parser = at_least_one())]
    ingest: usize,
    /// The databases to benchmark (PostgreSQL needs SHIPLOG_BENCH_POSTGRES).
    #[arg(long, value_enum, default_value_t = Choice::Both)]
    backend: Choice,
    /// Added by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Choice {
    Sqlite,
    Postgres,
    Both,
}

/// A database server to benchmark.
enum Backend {
    Sqlite,
    /// The superuser URL of the server's `postgres` database.
    Postgres(String),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let backends = backends(options.backend)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut report = Vec::new();
    for backend in &backends {
        runtime.block_on(bench_backend(backend, &options, &mut report))?;
    }
    print_report(&report);
    Ok(())
}

/// The backends chosen, given whether a PostgreSQL server was handed over.
fn backends(choice: Choice) -> anyhow::Result<Vec<Backend>> {
    let postgres = std::env::var(POSTGRES_ENV).ok().map(Backend::Postgres);
    Ok(match (choice, postgres) {
        (Choice::Sqlite, _) => vec![Backend::Sqlite],
        (Choice::Postgres, Some(postgres)) => vec![postgres],
        (Choice::Both, Some(postgres)) => vec![Backend::Sqlite, postgres],
        (Choice::Postgres, None) => {
            bail!("{POSTGRES_ENV} is not set; run through `cargo xtask bench server`")
        }
        (Choice::Both, None) => {
            println!("{POSTGRES_ENV} is not set: benchmarking SQLite only");
            vec![Backend::Sqlite]
        }
    })
}

async fn bench_backend(
    backend: &Backend,
    options: &Options,
    report: &mut Vec<Line>,
) -> anyhow::Result<()> {
    println!("== {}", backend.name());
    let db = ScratchDb::create(backend, "ingest").await?;
    report.push(bench_ingest(backend, &db.url, options.ingest).await?);
    db.remove().await?;

    let db = ScratchDb::create(backend, "query").await?;
    report.extend(bench_queries(backend, &db.url, options.deploys).await?);
    db.remove().await
}

// ---------------------------------------------------------------------------------------------
// Ingest

async fn bench_ingest(backend: &Backend, url: &str, total: usize) -> anyhow::Result<Line> {
    let store = Store::open(url).await?;
    let server = LocalServer::start(store.clone(), writer()).await?;
    let client = Client::new();
    let endpoint = format!("{}/api/v1/deploys", server.base);
    let next = Arc::new(AtomicUsize::new(0));
    println!("ingest: {total} deploys from {CLIENTS} clients");

    let started = Instant::now();
    let tasks: Vec<JoinHandle<anyhow::Result<Vec<Duration>>>> = (0..CLIENTS)
        .map(|seed| {
            let (client, endpoint, next) = (client.clone(), endpoint.clone(), next.clone());
            tokio::spawn(
                async move { post_until_done(&client, &endpoint, &next, total, seed).await },
            )
        })
        .collect();
    let mut times = Vec::with_capacity(total);
    for task in tasks {
        times.extend(task.await??);
    }
    let elapsed = started.elapsed();

    drop(client);
    server.stop().await?;
    let stored = store.count().await?;
    ensure!(
        stored == total as i64,
        "{stored} deploys stored, {total} posted"
    );
    let rate = total as f64 / elapsed.as_secs_f64();
    let verdict = match backend {
        Backend::Sqlite => Verdict::of(rate >= INGEST_TARGET),
        Backend::Postgres(_) => Verdict::Info,
    };
    Ok(Line {
        backend: backend.name(),
        what: format!("ingest: POST /api/v1/deploys ×{total}, {CLIENTS} clients"),
        latency: Some(Latencies::new(times)),
        figure: format!("{rate:.0} deploys/s"),
        verdict,
    })
}

/// One client: posts deploys, numbered from the shared counter, until `total` have been taken.
async fn post_until_done(
    client: &Client,
    endpoint: &str,
    next: &AtomicUsize,
    total: usize,
    seed: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut rng = StdRng::seed_from_u64(seed as u64);
    let mut times = Vec::new();
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= total {
            return Ok(times);
        }
        // Started ten minutes ago, so that it has ended by now (the server refuses times more
        // than five minutes ahead).
        let body = sample_deploy(n, Utc::now() - chrono::Duration::minutes(10), &mut rng);
        let sent = Instant::now();
        let response = client
            .post(endpoint)
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        times.push(sent.elapsed());
        ensure!(
            status == StatusCode::CREATED,
            "deploy {n}: expected 201, got {status}: {text}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Query

async fn bench_queries(backend: &Backend, url: &str, deploys: usize) -> anyhow::Result<Vec<Line>> {
    let store = Store::open(url).await?;
    let seeding = seed(&store, deploys).await?;
    settle(backend, url).await?;
    let server = LocalServer::start(store, writer()).await?;
    let client = Client::new();
    let history = format!("{}/api/v1/deploys?{FILTER}", server.base);
    let (page, deep) = page_url(&client, &history, DEEP_PAGE).await?;
    // The health check comes first: it is the baseline of the others.
    let endpoints = [
        (
            "GET /healthz".to_owned(),
            format!("{}/healthz", server.base),
        ),
        (format!("GET /api/v1/deploys?{FILTER}"), history),
        (format!("  same filter, page {page} by cursor"), deep),
        (
            "GET /api/v1/environments".to_owned(),
            format!("{}/api/v1/environments", server.base),
        ),
    ];
    let urls: Vec<&str> = endpoints.iter().map(|(_, url)| url.as_str()).collect();
    println!("query: {SAMPLES} timed rounds of {} requests", urls.len());
    let latencies = time_requests(&client, &urls).await?;
    drop(client);
    server.stop().await?;

    let baseline = latencies[0].percentile(99.0);
    let mut lines = vec![seeding.line(backend)];
    for (i, ((what, _), latency)) in endpoints.into_iter().zip(latencies).enumerate() {
        lines.push(query_line(
            backend,
            what,
            latency,
            (i > 0).then_some(baseline),
        ));
    }
    Ok(lines)
}

/// How long seeding took.
struct Seeding {
    deploys: usize,
    elapsed: Duration,
}

impl Seeding {
    fn line(&self, backend: &Backend) -> Line {
        let secs = self.elapsed.as_secs_f64();
        Line {
            backend: backend.name(),
            what: format!("seed: Store::insert_bulk ×{}", self.deploys),
            latency: None,
            figure: format!("{secs:.1} s, {:.0} deploys/s", self.deploys as f64 / secs),
            verdict: Verdict::Info,
        }
    }
}

/// Fills `store` with `total` finished deploys, reporting progress as it goes.
async fn seed(store: &Store, total: usize) -> anyhow::Result<Seeding> {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let origin = Utc::now() - SEED_SPAN;
    let step = SEED_SPAN / i32::try_from(total.max(1))?;
    let started = Instant::now();
    let mut reported = 0;
    for first in (0..total).step_by(SEED_BATCH) {
        let batch: Vec<_> = (first..total.min(first + SEED_BATCH))
            .map(|n| {
                // Later deploys start later, give or take a few neighbours: ids and start
                // times are nearly, but not exactly, in the same order.
                let jitter = step * rng.random_range(0..8);
                let started_at = origin + step * i32::try_from(n).expect("fits") + jitter;
                sample_deploy(n, started_at, &mut rng).into_deploy(DeployId(0), started_at)
            })
            .collect();
        store.insert_bulk(&batch).await?;
        let done = first + batch.len();
        if done * 10 / total > reported || done == total {
            reported = done * 10 / total;
            let rate = done as f64 / started.elapsed().as_secs_f64();
            println!("seed: {done}/{total} deploys ({rate:.0}/s)");
        }
    }
    Ok(Seeding {
        deploys: total,
        elapsed: started.elapsed(),
    })
}

/// After a bulk load, runs on PostgreSQL what autovacuum would soon run by itself: so that it
/// does not compete with the measurements, and the planner has the statistics that a database
/// grown over time would have. (SQLite keeps no statistics unless asked; the store never asks.)
async fn settle(backend: &Backend, url: &str) -> anyhow::Result<()> {
    match backend {
        Backend::Sqlite => Ok(()),
        Backend::Postgres(_) => execute(url, "VACUUM ANALYZE").await,
    }
}

/// The URL of page `page` of the history at `first` (or of its last page, if it has fewer),
/// found by following the cursors; and which page that is.
async fn page_url(client: &Client, first: &str, page: usize) -> anyhow::Result<(usize, String)> {
    let mut url = first.to_owned();
    for reached in 1..page {
        let body: serde_json::Value = get(client, &url).await?.json().await?;
        let Some(cursor) = body["next_cursor"].as_str() else {
            println!("query: the filter has only {reached} pages; timing the last");
            return Ok((reached, url));
        };
        url = format!("{first}&cursor={cursor}");
    }
    Ok((page, url))
}

/// Times [`SAMPLES`] requests for each of `urls`, after [`WARM_UP`] untimed ones. Requests are
/// sequential and take turns, so that background noise affects every URL alike.
async fn time_requests(client: &Client, urls: &[&str]) -> anyhow::Result<Vec<Latencies>> {
    let mut times = vec![Vec::with_capacity(SAMPLES); urls.len()];
    for round in 0..WARM_UP + SAMPLES {
        for (url, times) in urls.iter().zip(&mut times) {
            let sent = Instant::now();
            get(client, url).await?.bytes().await?;
            if round >= WARM_UP {
                times.push(sent.elapsed());
            }
        }
    }
    Ok(times.into_iter().map(Latencies::new).collect())
}

/// A successful response to `GET url`.
async fn get(client: &Client, url: &str) -> anyhow::Result<reqwest::Response> {
    let response = client.get(url).send().await?;
    ensure!(
        response.status() == StatusCode::OK,
        "GET {url}: {}",
        response.status()
    );
    Ok(response)
}

/// The row of a timed query: judged against the targets, unless it is the baseline itself
/// (`baseline` is `None`).
fn query_line(
    backend: &Backend,
    what: String,
    latency: Latencies,
    baseline: Option<Duration>,
) -> Line {
    let p99 = latency.percentile(99.0);
    let (figure, verdict) = match baseline {
        None => ("baseline".to_owned(), Verdict::Info),
        Some(baseline) => {
            let ratio = p99.as_secs_f64() / baseline.as_secs_f64();
            let met = p99 <= P99_TARGET && ratio <= RATIO_TARGET;
            (format!("{ratio:.1}× healthz p99"), Verdict::of(met))
        }
    };
    Line {
        backend: backend.name(),
        what,
        latency: Some(latency),
        figure,
        verdict,
    }
}

// ---------------------------------------------------------------------------------------------
// Sample data

/// Deploy `n` of a fleet of [`APPS`] apps (a third with a worker besides the app's own
/// Deployment) in [`NAMESPACES`] namespaces, finished a few minutes after `started_at`; mostly
/// successful. Its idempotency key is unique to `n`.
fn sample_deploy(n: usize, started_at: DateTime<Utc>, rng: &mut impl Rng) -> NewDeploy {
    let app_index = rng.random_range(0..APPS);
    let app = format!("app-{app_index:02}");
    let namespace = format!("ns-{}", rng.random_range(0..NAMESPACES));
    let status = sample_status(rng);
    let version = format!("v{}.{}.{}", n % 7, n % 31, n % 101);
    let image = format!("ghcr.io/acme/{app}:{version}");
    let sha: String = (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("a hex digit"))
        .collect();
    let mut workloads = vec![WorkloadRef {
        kind: "Deployment".into(),
        name: app.clone(),
    }];
    if app_index.is_multiple_of(3) {
        workloads.push(WorkloadRef {
            kind: "StatefulSet".into(),
            name: format!("{app}-worker"),
        });
    }
    let failed = matches!(status, DeployStatus::Failed | DeployStatus::RolledBack);
    let resources = workloads
        .iter()
        .map(|w| ResourceChange {
            diff: None,
            api_version: "apps/v1".into(),
            kind: w.kind.clone(),
            name: w.name.clone(),
            namespace: Some(namespace.clone()),
            action: if failed {
                ResourceAction::Failed
            } else {
                ResourceAction::Configured
            },
            message: None,
        })
        .collect();
    let failure = failed.then(|| Failure {
        reason: format!("{app}: image {image} cannot be pulled (ImagePullBackOff)"),
        details: vec![format!("pod {app}-0: Back-off pulling image \"{image}\"")],
    });
    let run_id = i64::try_from(n).expect("fits");
    NewDeploy {
        restores: None,
        lock_override: None,
        github_deployment: None,
        repo: format!("acme/{app}"),
        app: app.clone(),
        environment: None,
        namespace: namespace.clone(),
        cluster: Some("aks-bench".into()),
        status,
        version: Some(version),
        images: vec![image],
        workloads,
        commit: Commit {
            url: Some(format!("https://github.com/acme/{app}/commit/{sha}")),
            message: format!("Release {n} of {app}\n\nRoutine changes."),
            sha,
        },
        git_ref: Some("refs/heads/main".into()),
        actor: format!("dev-{}", rng.random_range(0..20)),
        run: WorkflowRun {
            id: run_id,
            attempt: 1,
            job: format!("deploy-{namespace}"),
            step: Some("shiplog".into()),
            url: Some(format!(
                "https://github.com/acme/{app}/actions/runs/{run_id}"
            )),
        },
        started_at: Some(started_at),
        finished_at: Some(started_at + chrono::Duration::seconds(rng.random_range(30..600))),
        deadline: None,
        resources,
        failure,
        slack: None,
    }
}

/// 88% succeeded, 8% failed, 2% rolled back, 2% cancelled.
fn sample_status(rng: &mut impl Rng) -> DeployStatus {
    match rng.random_range(0..100) {
        0..88 => DeployStatus::Succeeded,
        88..96 => DeployStatus::Failed,
        96..98 => DeployStatus::RolledBack,
        _ => DeployStatus::Cancelled,
    }
}

// ---------------------------------------------------------------------------------------------
// Databases and the server

/// A database that exists for one phase of the benchmark.
struct ScratchDb {
    url: String,
    place: Place,
}

enum Place {
    Sqlite(tempfile::TempDir),
    /// A database named `name` on the server whose `postgres` database is at `admin`.
    Postgres {
        admin: String,
        name: String,
    },
}

impl ScratchDb {
    async fn create(backend: &Backend, purpose: &str) -> anyhow::Result<ScratchDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("shiplog.db").display());
                Ok(ScratchDb {
                    url,
                    place: Place::Sqlite(dir),
                })
            }
            Backend::Postgres(admin) => {
                let name = format!("shiplog_bench_{}_{purpose}", std::process::id());
                let base = admin
                    .rsplit_once('/')
                    .context("the PostgreSQL URL names no database")?
                    .0;
                let url = format!("{base}/{name}");
                execute(admin, &format!("DROP DATABASE IF EXISTS {name}")).await?;
                execute(admin, &format!("CREATE DATABASE {name}")).await?;
                let admin = admin.clone();
                Ok(ScratchDb {
                    url,
                    place: Place::Postgres { admin, name },
                })
            }
        }
    }

    async fn remove(self) -> anyhow::Result<()> {
        match self.place {
            Place::Sqlite(dir) => Ok(dir.close()?),
            Place::Postgres { admin, name } => {
                execute(&admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await
            }
        }
    }
}

/// Runs one statement on its own PostgreSQL connection.
async fn execute(url: &str, sql: &str) -> anyhow::Result<()> {
    let mut connection = sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    sqlx::query(sql).execute(&mut connection).await?;
    connection.close().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Results

/// Request latencies, sorted.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn new(mut times: Vec<Duration>) -> Latencies {
        times.sort_unstable();
        Latencies(times)
    }

    /// The nearest-rank percentile `p` (0–100).
    fn percentile(&self, p: f64) -> Duration {
        let rank = (p / 100.0 * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }
}

/// Whether a measurement met its target.
#[derive(Clone, Copy)]
enum Verdict {
    Met,
    Missed,
    /// No target applies.
    Info,
}

impl Verdict {
    fn of(met: bool) -> Verdict {
        if met { Verdict::Met } else { Verdict::Missed }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "ok",
            Verdict::Missed => "MISSED",
            Verdict::Info => "",
        }
    }
}

/// One row of the final table.
struct Line {
    backend: &'static str,
    what: String,
    latency: Option<Latencies>,
    /// Rate, or p99 relative to the health check's.
    figure: String,
    verdict: Verdict,
}

fn print_report(lines: &[Line]) {
    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1e3);
    println!(
        "\n{:<9} {:<60} {:>8} {:>8}  {:<26} target",
        "backend", "measurement", "p50 ms", "p99 ms", ""
    );
    for line in lines {
        let (p50, p99) = match &line.latency {
            Some(l) => (ms(l.percentile(50.0)), ms(l.percentile(99.0))),
            None => (String::new(), String::new()),
        };
        println!(
            "{:<9} {:<60} {p50:>8} {p99:>8}  {:<26} {}",
            line.backend,
            line.what,
            line.figure,
            line.verdict.label()
        );
    }
    println!(
        "\ntargets: ingest ≥ {INGEST_TARGET:.0} deploys/s on SQLite; queries p99 ≤ {} ms and ≤ \
         {RATIO_TARGET}× the health check's p99",
        P99_TARGET.as_millis()
    );
}
