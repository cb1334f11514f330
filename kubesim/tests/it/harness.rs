//! Starting kubesim and running kubectl against it.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tempfile::TempDir;

/// The microservices-demo fixture (35 objects), beside the repository as in CI.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/microservices-demo/kubernetes-manifests.yaml")
}

fn kubectl_program() -> String {
    std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into())
}

/// A running kubesim with its own temporary directory.
pub struct Sim {
    child: Option<Child>,
    pub dir: TempDir,
    pub url: String,
    pub kubeconfig: PathBuf,
    /// The kubeconfig that authenticates with kubesim's client certificate (HTTPS only).
    pub cert_kubeconfig: PathBuf,
}

impl Sim {
    /// Starts kubesim with `args` on a free port (HTTPS unless `--insecure-http`), a fast
    /// rollout and a request log.
    pub fn start(args: &[&str]) -> Self {
        Self::start_in(tempfile::tempdir().expect("temp dir"), args)
    }

    /// Like [`Sim::start`], in an existing directory (to restart on the same state).
    pub fn start_in(dir: TempDir, args: &[&str]) -> Self {
        let kubeconfig = dir.path().join("kubeconfig");
        let cert_kubeconfig = dir.path().join("kubeconfig-cert");
        let mut command = Command::new(env!("CARGO_BIN_EXE_shiplog-kubesim"));
        if !args.contains(&"--insecure-http") {
            command.arg("--cert-kubeconfig-out").arg(&cert_kubeconfig);
        }
        let mut child = command
            .args(["--listen", "127.0.0.1:0", "--rollout-ms", "40"])
            .arg("--kubeconfig-out")
            .arg(&kubeconfig)
            .arg("--request-log")
            .arg(dir.path().join("requests.jsonl"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start shiplog-kubesim");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read the URL");
        let url = line.trim().to_string();
        assert!(url.starts_with("http"), "kubesim printed {url:?}");
        Self {
            child: Some(child),
            dir,
            url,
            kubeconfig,
            cert_kubeconfig,
        }
    }

    /// Stops kubesim with SIGTERM (so it saves `--state`) and hands back its directory.
    pub fn stop(mut self) -> TempDir {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        assert!(child.wait().expect("wait for kubesim").success());
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }

    /// kubectl with this server's kubeconfig and a private cache.
    pub fn kubectl_with(&self, kubeconfig: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(kubectl_program());
        command
            .env("KUBECONFIG", kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .arg("--cache-dir")
            .arg(self.dir.path().join("kubectl-cache"))
            .args(args);
        command
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with(&self.kubeconfig, args)
            .output()
            .expect("run kubectl (is it installed? set $KUBECTL)")
    }

    /// Runs kubectl and returns stdout, failing the test when kubectl fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl and returns stderr, failing the test when kubectl succeeds.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} succeeded:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Starts a long-running kubectl (`get -w`) whose output lines are read as they come.
    pub fn watch(&self, args: &[&str]) -> Watcher {
        let mut child = self
            .kubectl_with(&self.kubeconfig, args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start kubectl");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watcher { child, lines }
    }

    /// Writes `yaml` to a file and returns its path (for `kubectl apply -f`).
    pub fn manifest(&self, name: &str, yaml: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, yaml).expect("write manifest");
        path.to_string_lossy().into_owned()
    }

    /// The request log, one JSON value per request.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("request log lines are JSON"))
            .collect()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A running kubectl whose output is read line by line; stopped when dropped.
pub struct Watcher {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watcher {
    /// The next line containing `needle` (lines before it are skipped), within 30 s.
    pub fn wait_for(&self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no line containing {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Deployment manifest named `name` running `image`, with optional extra container YAML
/// (indented for the container).
pub fn deployment(name: &str, image: &str, replicas: u32, container_extra: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: main
        image: {image}
{container_extra}"
    )
}
