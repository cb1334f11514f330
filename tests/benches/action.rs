//! `cargo xtask bench action`: the GitHub Action's download size and how fast it starts.
//!
//! 1. **Size** of the dist directory (`--dist`; `cargo xtask bench action` builds a fresh one
//!    with `cargo xtask dist`'s code into `target/action-bench/dist`): every file raw and
//!    gzipped (level 9, each file on its own, as git and the runner's download store them), and
//!    the totals (target ≤ 1.0 MB raw).
//! 2. **Cold start**: `node <dist>/main.cjs` with a runner-like environment (`INPUT_*` with
//!    action.yml's defaults, `INPUT_MANIFESTS` naming a two-object manifest, `INPUT_NAMESPACE`
//!    new every round, `KUBECONFIG` naming a kubeconfig for kubesim, `GITHUB_OUTPUT`,
//!    `GITHUB_STATE`, `GITHUB_STEP_SUMMARY` and `GITHUB_ENV` as empty files), from the instant
//!    before the process is spawned to the instant the first request reaches kubesim (target ≤
//!    150 ms and ≤ 1.3× a bare `node -e 0`, both on the median).
//! 3. In the same rounds, in rotating order: `node -e 0` and `kubectl version --client`, each
//!    from spawn to exit, and a bare node script sending one `https.get` to kubesim with the
//!    kubeconfig's CA and token, from spawn to its request's arrival: the floor of any
//!    JavaScript client of the cluster (node's TLS with a custom CA builds a certificate store);
//!    and a node script that only compiles the Action's wasm and opens a TCP connection to
//!    kubesim (no TLS, no code run), from spawn to the connection's arrival: less than any
//!    WebAssembly client of the cluster can do, so its ratio to `node -e 0` bounds what such a
//!    client can reach.
//!
//! Every process gets only `PATH` and `HOME` (a scratch directory) from this environment, plus
//! what is listed above: a developer's `NODE_OPTIONS` or `NODE_EXTRA_CA_CERTS` (which makes every
//! node start parse a CA bundle, ~40 ms) would distort the comparison, and runners set neither.
//!
//! **When the first request arrives.** kubesim's request log has whole-second time stamps, and
//! is written when the answer leaves, so the kubeconfig names a TCP relay in this process
//! instead, which forwards both directions to kubesim and notes, with [`Instant`], when bytes
//! arrive. It follows the TLS records the client sends (headers only; it cannot decrypt): the
//! ClientHello, then, after kubesim's answer, the client's second flight up to its `Finished`
//! (recognised by its fixed size, see `relay::ClientRecords`), then the first application-data
//! record, which is the first HTTP request. The earliest such arrival over all connections of a
//! round counts; the relay adds a loopback hop (tens of µs), which counts against the Action.
//! The TCP connect and the end of the TLS handshake are reported too.
//!
//! Each round waits for the Action to finish its deploy (its exit code must be 0) before the
//! next process starts; the warm-up rounds (not counted) fill the page cache. Options:
//! `cargo xtask bench action -- --help`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::Parser;
use flate2::Compression;
use flate2::write::GzEncoder;
use shiplog_kubesim::launch::{self, Launch};

use relay::{Marks, Proxy};

#[path = "action/relay.rs"]
mod relay;

/// The bare node HTTPS client (see [`Bench::bare_https`]).
const BARE_HTTPS: &str = "const https = require('node:https'); \
     https.get(process.env.BENCH_URL, { ca: Buffer.from(process.env.BENCH_CA, 'base64'), \
     headers: { authorization: `Bearer ${process.env.BENCH_TOKEN}` } }, \
     (r) => { r.resume(); r.on('end', () => process.exit(r.statusCode === 200 ? 0 : 1)); });";

/// The least any WebAssembly client of the cluster does before its first request (see
/// [`Bench::wasm_tcp_floor`]): compile the Action's module, open a TCP connection, nothing more.
const WASM_TCP_FLOOR: &str = "const fs = require('node:fs'); \
     new WebAssembly.Module(fs.readFileSync(process.env.BENCH_WASM)); \
     const socket = require('node:net').connect(Number(process.env.BENCH_PORT), '127.0.0.1', \
     () => { socket.destroy(); process.exit(0); });";

/// Targets: the dist's raw size; the cold start, absolute and relative to a bare node.
const DIST_RAW_TARGET: u64 = 1_000_000;
const COLD_START_TARGET: Duration = Duration::from_millis(150);
const RATIO_TARGET: f64 = 1.3;

#[derive(Parser)]
#[command(
    name = "cargo xtask bench action --",
    about = "Size of the shiplog Action's dist and its cold start against node -e 0 and kubectl"
)]
struct Options {
    /// Measured rounds; each runs the Action, `node -e 0`, `kubectl version --client` and the
    /// bare `https.get` once.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Rounds run first and not counted (page cache).
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// The built Action to measure (an absolute path); default: the committed action/dist.
    #[arg(long)]
    dist: Option<PathBuf>,
    /// The node to run the Action with (`cargo xtask bench action` passes the node 24 of
    /// `runs.using: node24` that `cargo xtask setup` installs).
    #[arg(long, default_value = "node")]
    node: String,
    /// The kubectl to compare with.
    #[arg(long, env = "KUBECTL", default_value = "kubectl")]
    kubectl: String,
    /// Added by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Two objects, so that the Action validates, plans, applies and watches one rollout.
const MANIFEST: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: bench-config
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bench-web
spec:
  replicas: 1
  selector:
    matchLabels: {app: bench-web}
  template:
    metadata:
      labels: {app: bench-web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
";

/// The inputs the runner sets from action.yml's defaults (it sets `INPUT_<NAME>` for every input
/// with a value). `github-token` is left empty: its default, the job's token, would make the
/// Action ask GitHub's API about the job, which this machine cannot reach.
const DEFAULT_INPUTS: [(&str, &str); 6] = [
    ("INPUT_MODE", "deploy"),
    ("INPUT_TIMEOUT", "5m"),
    ("INPUT_ROLLBACK-ON-FAILURE", "false"),
    ("INPUT_DRY-RUN", "false"),
    ("INPUT_CREATE-NAMESPACE", "true"),
    ("INPUT_GITHUB-TOKEN", ""),
];

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    ensure!(options.rounds > 0, "--rounds must be at least 1");
    let committed = shiplog_e2e::workspace_root().join("action").join("dist");
    let dist = options.dist.clone().unwrap_or_else(|| committed.clone());
    ensure!(
        dist.join("main.cjs").is_file(),
        "{} has no main.cjs: build the Action (`cargo xtask dist --out DIR`)",
        dist.display()
    );

    let files = dist_files(&dist)?;
    print_sizes(&dist, &committed, &files)?;

    let node_version = version(Command::new(&options.node).arg("--version"))?;
    let kubectl_version = version(Command::new(&options.kubectl).args(["version", "--client"]))?;
    println!("\nnode: {node_version}; kubectl: {kubectl_version}");

    let kubesim = Kubesim::start()?;
    let proxy = Proxy::start(kubesim.addr)?;
    let scratch = tempfile::tempdir()?;
    let bench = Bench::new(&options, &dist, &kubesim, &proxy, scratch.path())?;
    let mut measured = Measured::default();
    for round in 0..options.warmup + options.rounds {
        let counted = round >= options.warmup;
        // Each kind goes first, second, … fifth equally often.
        for step in 0..5 {
            match (round + step) % 5 {
                0 => {
                    let times = bench.action(round)?;
                    if counted {
                        measured.first_request.push(times.first_request);
                        measured.connect.push(times.connect);
                        measured.finished.push(times.finished);
                        measured.action_exit.push(times.exit);
                        measured.requests = times.requests;
                        measured.first_request_line = times.first_request_line;
                    }
                }
                3 => {
                    let time = bench.bare_https()?;
                    if counted {
                        measured.bare_https.push(time);
                    }
                }
                4 => {
                    let time = bench.wasm_tcp_floor()?;
                    if counted {
                        measured.wasm_tcp_floor.push(time);
                    }
                }
                1 => {
                    let time = bench.timed(Command::new(&options.node).args(["-e", "0"]))?;
                    if counted {
                        measured.node.push(time);
                    }
                }
                2 => {
                    let time = bench
                        .timed(Command::new(&options.kubectl).args(["version", "--client"]))?;
                    if counted {
                        measured.kubectl.push(time);
                    }
                }
                _ => unreachable!("five kinds"),
            }
        }
    }
    measured.print(&options);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Size

/// Every file under `dir`, relative to it, sorted.
fn dist_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                walk(root, &entry.path(), out)?;
            } else {
                out.push(entry.path().strip_prefix(root)?.to_path_buf());
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    Ok(files)
}

/// The size of `bytes` gzipped at level 9.
fn gzipped(bytes: &[u8]) -> anyhow::Result<u64> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len() as u64)
}

fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

fn verdict(met: bool) -> &'static str {
    if met { "ok" } else { "MISSED" }
}

fn print_sizes(dist: &Path, committed: &Path, files: &[PathBuf]) -> anyhow::Result<()> {
    println!("\nAction dist: {}", dist.display());
    println!("  {:<24} {:>12} {:>12}", "file", "raw", "gzip -9");
    let (mut raw, mut gz, mut same) = (0, 0, dist != committed);
    for file in files {
        let bytes = std::fs::read(dist.join(file))?;
        let compressed = gzipped(&bytes)?;
        raw += bytes.len() as u64;
        gz += compressed;
        same &= std::fs::read(committed.join(file)).is_ok_and(|c| c == bytes);
        println!(
            "  {:<24} {:>12} {:>12}",
            file.to_string_lossy(),
            kb(bytes.len() as u64),
            kb(compressed)
        );
    }
    println!(
        "  {:<24} {:>12} {:>12}   target ≤ {} raw: {}",
        "total",
        kb(raw),
        kb(gz),
        kb(DIST_RAW_TARGET),
        verdict(raw <= DIST_RAW_TARGET)
    );
    if dist != committed {
        let same = same && dist_files(committed).is_ok_and(|c| c == files);
        println!(
            "  (a fresh build; {} the committed action/dist)",
            if same {
                "byte for byte the same as"
            } else {
                "differs from"
            }
        );
    }
    Ok(())
}

/// The first line `command` prints.
fn version(command: &mut Command) -> anyhow::Result<String> {
    let output = command
        .output()
        .with_context(|| format!("running {:?}", command.get_program()))?;
    ensure!(output.status.success(), "{command:?} failed");
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned())
}

// ---------------------------------------------------------------------------------------------
// kubesim (the relay in front of it is in action/relay.rs)

/// A release kubesim with fast rollouts.
struct Kubesim {
    process: launch::Kubesim,
    addr: SocketAddr,
    // Declared last: removed after the process is killed.
    _dir: tempfile::TempDir,
}

impl Kubesim {
    fn start() -> anyhow::Result<Self> {
        // The bench runs as target/<profile>/deps/action-…, kubesim is in target/<profile>.
        let binary = launch::binary_beside_current_exe()?;
        let dir = tempfile::tempdir()?;
        let process = Launch::new(&binary, dir.path())
            .args(["--rollout-ms", "20", "--time-scale", "300"])
            .start()?;
        let addr = process
            .url
            .strip_prefix("https://")
            .and_then(|a| a.parse().ok())
            .with_context(|| format!("kubesim printed {:?}", process.url))?;
        Ok(Self {
            process,
            addr,
            _dir: dir,
        })
    }

    /// kubesim's kubeconfig with the server's address replaced by `addr` (same IP, so the
    /// certificate still matches).
    fn kubeconfig_via(&self, addr: SocketAddr) -> anyhow::Result<String> {
        let text = std::fs::read_to_string(self.process.kubeconfig())?;
        let url = &self.process.url;
        ensure!(text.contains(url), "the kubeconfig does not name {url}");
        Ok(text.replace(url, &format!("https://{addr}")))
    }

    /// The request log's lines.
    fn requests(&self) -> Vec<String> {
        self.process.request_lines()
    }
}

// ---------------------------------------------------------------------------------------------
// The rounds

struct Bench<'a> {
    options: &'a Options,
    main: PathBuf,
    kubesim: &'a Kubesim,
    proxy: &'a Proxy,
    scratch: &'a Path,
    /// The environment every process gets (nothing else of this process's).
    base_env: Vec<(String, String)>,
}

struct ActionTimes {
    first_request: Duration,
    connect: Duration,
    finished: Duration,
    exit: Duration,
    requests: usize,
    first_request_line: String,
}

impl<'a> Bench<'a> {
    fn new(
        options: &'a Options,
        dist: &Path,
        kubesim: &'a Kubesim,
        proxy: &'a Proxy,
        scratch: &'a Path,
    ) -> anyhow::Result<Self> {
        std::fs::write(scratch.join("manifest.yaml"), MANIFEST)?;
        let kubeconfig = scratch.join("kubeconfig");
        std::fs::write(&kubeconfig, kubesim.kubeconfig_via(proxy.addr)?)?;
        let home = scratch.join("home");
        std::fs::create_dir_all(&home)?;
        let path = |p: &Path| p.to_string_lossy().into_owned();
        let base_env = vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("HOME".into(), path(&home)),
            ("KUBECONFIG".into(), path(&kubeconfig)),
            ("CI".into(), "true".into()),
            ("GITHUB_ACTIONS".into(), "true".into()),
            ("RUNNER_TEMP".into(), path(scratch)),
            ("GITHUB_WORKSPACE".into(), path(scratch)),
        ];
        Ok(Self {
            options,
            main: dist.join("main.cjs"),
            kubesim,
            proxy,
            scratch,
            base_env,
        })
    }

    /// Runs `command` (output discarded) from spawn to exit; it must succeed.
    fn timed(&self, command: &mut Command) -> anyhow::Result<Duration> {
        command
            .env_clear()
            .envs(self.base_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let began = Instant::now();
        let status = command
            .spawn()
            .with_context(|| format!("starting {:?}", command.get_program()))?
            .wait()?;
        let elapsed = began.elapsed();
        ensure!(status.success(), "{command:?} failed ({status})");
        Ok(elapsed)
    }

    /// A bare node script that sends one HTTPS request to kubesim with the kubeconfig's CA and
    /// token: the floor of any JavaScript client of the cluster. Spawn → its request arrives.
    fn bare_https(&self) -> anyhow::Result<Duration> {
        let kubeconfig = std::fs::read_to_string(self.scratch.join("kubeconfig"))?;
        let field = |name: &str| {
            kubeconfig
                .lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .map(|v| v.trim().trim_matches(['"', '\'']).to_owned())
                .with_context(|| format!("the kubeconfig has no {name}"))
        };
        let env = [
            ("BENCH_URL", format!("https://{}/apis", self.proxy.addr)),
            ("BENCH_CA", field("certificate-authority-data:")?),
            ("BENCH_TOKEN", field("token:")?),
        ];
        let (began, marks) = self.run_script("the bare HTTPS request", BARE_HTTPS, &env)?;
        marks
            .request
            .map(|at| at.duration_since(began))
            .context("the relay saw no request from the bare node script")
    }

    /// A node script that compiles the Action's wasm and opens a TCP connection to kubesim —
    /// no TLS, no input read, no code run: below what any WebAssembly client of the cluster can
    /// do. Spawn → its connection arrives.
    fn wasm_tcp_floor(&self) -> anyhow::Result<Duration> {
        let wasm = self.main.with_file_name("shiplog_bg.wasm");
        let env = [
            ("BENCH_WASM", wasm.to_string_lossy().into_owned()),
            ("BENCH_PORT", self.proxy.addr.port().to_string()),
        ];
        let (began, marks) = self.run_script("the wasm + TCP script", WASM_TCP_FLOOR, &env)?;
        marks
            .connect
            .map(|at| at.duration_since(began))
            .context("the relay saw no connection from the wasm + TCP script")
    }

    /// Runs `node -e script` with `env` to its end: when it was spawned, and what the relay saw.
    fn run_script(
        &self,
        what: &str,
        script: &str,
        env: &[(&str, String)],
    ) -> anyhow::Result<(Instant, Marks)> {
        let mut command = Command::new(&self.options.node);
        command
            .args(["-e", script])
            .env_clear()
            .envs(self.base_env.iter().map(|(k, v)| (k, v)))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.proxy.take();
        let began = Instant::now();
        let status = command.spawn().context("starting node")?.wait()?;
        let marks = self.proxy.take();
        ensure!(status.success(), "{what} failed ({status})");
        Ok((began, marks))
    }

    /// One run of the Action's main step, deploying into namespace `bench-<round>`.
    fn action(&self, round: usize) -> anyhow::Result<ActionTimes> {
        let dir = self.scratch.join(format!("round-{round}"));
        std::fs::create_dir_all(&dir)?;
        let files = ["output", "state", "summary", "env"].map(|name| dir.join(name));
        for file in &files {
            std::fs::write(file, "")?;
        }
        let log_path = dir.join("log");
        let log = std::fs::File::create(&log_path)?;
        let path = |p: &Path| p.to_string_lossy().into_owned();
        let mut command = Command::new(&self.options.node);
        command
            .arg(&self.main)
            .env_clear()
            .envs(self.base_env.iter().map(|(k, v)| (k, v)))
            .envs(DEFAULT_INPUTS)
            .env("INPUT_MANIFESTS", self.scratch.join("manifest.yaml"))
            .env("INPUT_NAMESPACE", format!("bench-{round}"))
            .env("GITHUB_OUTPUT", path(&files[0]))
            .env("GITHUB_STATE", path(&files[1]))
            .env("GITHUB_STEP_SUMMARY", path(&files[2]))
            .env("GITHUB_ENV", path(&files[3]))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let logged_before = self.kubesim.requests().len();
        self.proxy.take();
        let began = Instant::now();
        let status = command.spawn().context("starting node")?.wait()?;
        let exit = began.elapsed();
        let marks = self.proxy.take();
        if !status.success() {
            bail!(
                "the Action failed ({status}):\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        let requests = self.kubesim.requests().split_off(logged_before);
        let since = |mark: Option<Instant>, what: &str| {
            mark.map(|at| at.duration_since(began))
                .with_context(|| format!("round {round}: the relay saw no {what}"))
        };
        Ok(ActionTimes {
            first_request: since(marks.request, "request")?,
            connect: since(marks.connect, "connection")?,
            finished: since(marks.finished, "TLS Finished")?,
            exit,
            requests: requests.len(),
            first_request_line: requests.first().map_or_else(String::new, |line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
                format!(
                    "{} {}",
                    value["method"].as_str().unwrap_or("?"),
                    value["path"].as_str().unwrap_or("?")
                )
            }),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Results

#[derive(Default)]
struct Measured {
    first_request: Vec<Duration>,
    connect: Vec<Duration>,
    finished: Vec<Duration>,
    action_exit: Vec<Duration>,
    node: Vec<Duration>,
    bare_https: Vec<Duration>,
    wasm_tcp_floor: Vec<Duration>,
    kubectl: Vec<Duration>,
    requests: usize,
    first_request_line: String,
}

/// Min, median and 90th percentile (nearest rank), in ms.
fn stats(times: &[Duration]) -> [f64; 3] {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let rank =
        |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    [sorted[0], rank(0.5), rank(0.9)].map(|t| t.as_secs_f64() * 1e3)
}

impl Measured {
    fn print(&self, options: &Options) {
        let action = stats(&self.first_request);
        let node = stats(&self.node);
        let row = |label: &str, [min, median, p90]: [f64; 3], target: &str| {
            println!("  {label:<46} {min:>8.1} {median:>8.1} {p90:>8.1}   {target}");
        };
        println!(
            "\nStart-up, ms: {} rounds after {} warm-up, order rotating",
            options.rounds, options.warmup
        );
        println!("  {:<46} {:>8} {:>8} {:>8}", "", "min", "median", "p90");
        let median_ms = COLD_START_TARGET.as_secs_f64() * 1e3;
        row(
            "Action: spawn → first request at kubesim",
            action,
            &format!(
                "target ≤ {median_ms:.0} ms (median): {}",
                verdict(action[1] <= median_ms)
            ),
        );
        row("node -e 0: spawn → exit", node, "");
        row(
            "kubectl version --client: spawn → exit",
            stats(&self.kubectl),
            "",
        );
        let ratio_row = |label: &str, over: [f64; 3], under: [f64; 3], target: &str| {
            let [min, median, p90]: [f64; 3] = std::array::from_fn(|i| over[i] / under[i]);
            println!("  {label:<46} {min:>7.2}× {median:>7.2}× {p90:>7.2}×   {target}");
        };
        ratio_row(
            "Action first request ÷ node -e 0",
            action,
            node,
            &format!(
                "target ≤ {RATIO_TARGET}× (median): {}",
                verdict(action[1] / node[1] <= RATIO_TARGET)
            ),
        );
        let bare = stats(&self.bare_https);
        println!("  for reference:");
        row(
            "bare node https.get: spawn → its request at kubesim",
            bare,
            "",
        );
        ratio_row(
            "Action first request ÷ bare node https.get",
            action,
            bare,
            "",
        );
        let floor = stats(&self.wasm_tcp_floor);
        row("node: compile the wasm + TCP connect (no TLS)", floor, "");
        ratio_row(
            "… ÷ node -e 0 (least a wasm client can do)",
            floor,
            node,
            "",
        );
        ratio_row("bare node https.get ÷ node -e 0", bare, node, "");
        row(
            "Action: spawn → TCP connect to kubesim",
            stats(&self.connect),
            "",
        );
        row(
            "Action: spawn → its TLS handshake done",
            stats(&self.finished),
            "",
        );
        row(
            "Action: spawn → exit (2 objects deployed)",
            stats(&self.action_exit),
            "",
        );
        println!(
            "  kubesim answered {} requests per Action run; the first: {}",
            self.requests, self.first_request_line
        );
        println!(
            "  (first request: the first TLS application-data record after the client's Finished, \
             timed by a TCP relay in front of kubesim)"
        );
    }
}
