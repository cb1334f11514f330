//! Command-line flags, and the parsing of `--fault` and `--image-rule` values.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use axum::http::{Method, StatusCode};

/// kubesim: a Kubernetes API simulator for development and tests.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "shiplog-kubesim",
    version,
    about = "kubesim: a Kubernetes API SIMULATOR for development and tests — not a real cluster.",
    long_about = "kubesim: a Kubernetes API SIMULATOR for development and tests — not a real cluster.\n\n\
        It serves a useful subset of the Kubernetes API (discovery, OpenAPI v3, CRUD, watch, \
        server-side apply, Tables) that the real kubectl accepts, and simulates controllers: \
        Deployments roll out ReplicaSets and Pods, pods become ready (or fail the way a kubelet \
        reports it) after --rollout-ms. Nothing is scheduled or run; no container ever starts. \
        Use it for demos and end-to-end tests only."
)]
pub struct Config {
    /// Address to serve on; `:0` picks a free port. The URL is printed on stdout.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Write a kubeconfig for this server (URL, CA, token, context) to this file.
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,
    /// Write a second kubeconfig to this file, which authenticates with a client certificate
    /// signed by kubesim's CA (`client-certificate-data` and `client-key-data`, user
    /// `kubesim-admin` in group `system:masters`) instead of the token. HTTPS only.
    #[arg(long, value_name = "PATH")]
    pub cert_kubeconfig_out: Option<PathBuf>,
    /// The default namespace of the written kubeconfig's context.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// The bearer token clients must send (random when not given).
    #[arg(long, env = "KUBESIM_TOKEN")]
    pub token: Option<String>,
    /// Serve plain HTTP instead of HTTPS, without authentication (kubectl never sends a
    /// bearer token over plain HTTP).
    #[arg(long)]
    pub insecure_http: bool,
    /// Persist the objects to this file on shutdown (and every few seconds), and load them at
    /// start-up.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Append one JSON line per request (method, path, query, status, dryRun) to this file.
    #[arg(long)]
    pub request_log: Option<PathBuf>,
    /// Inject failures: `METHOD:STATUS:RATE` (`PATCH:500:0.2`, `*:429:0.1`),
    /// `METHOD:drop:RATE` to drop the connection, or `METHOD:empty:RATE` to answer a watch
    /// (`watch=true` or `watch=1`) at once with `200` and an empty body, the stream ended
    /// (other requests are unaffected). Repeatable.
    #[arg(long = "fault", value_name = "METHOD:STATUS:RATE")]
    pub faults: Vec<FaultRule>,
    /// Delay every request by this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Make pods with a container (or init container) whose image matches PATTERN (`*`
    /// wildcards) fail with REASON: ImagePullBackOff or ErrImagePull (a pull fails again after
    /// each back-off, 10 s doubling to at most 5 min of simulated time; `:N` makes only the
    /// first N pulls fail), CrashLoopBackOff (exits 1, `Error`) or OOMKilled (exits 137,
    /// `OOMKilled`), restarted after a back-off — or, with `restartPolicy: Never`, the pod
    /// fails —, Unschedulable (the scheduler finds no node: `Pending`, `FailedScheduling`) or
    /// NotReady (runs, but its readiness probe fails every `periodSeconds`, 10 s by default).
    /// The first matching rule wins. Repeatable.
    #[arg(long = "image-rule", value_name = "PATTERN=REASON[:N]")]
    pub image_rules: Vec<ImageRule>,
    /// Make containers whose image matches PATTERN (`*` wildcards) write FILE's text as their
    /// log: the current one and, once they have restarted, the previous one (`?previous=true`).
    /// The first matching rule wins. Repeatable.
    #[arg(long = "pod-log", value_name = "PATTERN=FILE")]
    pub pod_logs: Vec<PodLogRule>,
    /// Simulated time a pod takes to become ready (and a rollout step takes).
    #[arg(long, default_value_t = 1000)]
    pub rollout_ms: u64,
    /// Speed of simulated time for deadlines (`progressDeadlineSeconds`, backoffs): 60 turns
    /// minutes into seconds.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
}

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    Status(StatusCode),
    Drop,
    /// A watch answered with `200` and no event: the stream ends at once.
    EmptyWatch,
}

/// `--fault METHOD:STATUS:RATE`.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// `None` matches every method.
    pub method: Option<Method>,
    pub action: FaultAction,
    pub rate: f64,
}

impl FromStr for FaultRule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let [method, action, rate] = parts.as_slice() else {
            return Err(format!("expected METHOD:STATUS:RATE, got {s:?}"));
        };
        let method = match *method {
            "*" => None,
            m => Some(
                Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|e| e.to_string())?,
            ),
        };
        let action = match *action {
            "drop" => FaultAction::Drop,
            "empty" => FaultAction::EmptyWatch,
            code => FaultAction::Status(
                code.parse::<u16>()
                    .ok()
                    .and_then(|c| StatusCode::from_u16(c).ok())
                    .filter(|c| c.is_client_error() || c.is_server_error())
                    .ok_or_else(|| format!("{code:?} is not an error status, `drop` or `empty`"))?,
            ),
        };
        let rate: f64 = rate
            .parse()
            .map_err(|_| format!("{rate:?} is not a rate"))?;
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("rate {rate} is not between 0 and 1"));
        }
        Ok(Self {
            method,
            action,
            rate,
        })
    }
}

/// How a pod with a matching image fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFailure {
    ImagePullBackOff,
    ErrImagePull,
    /// The container exits with code 1 (`Error`) each time it starts.
    CrashLoopBackOff,
    /// The container is killed for using too much memory: exit code 137, `OOMKilled`.
    OOMKilled,
    /// No node can take the pod: it stays `Pending`, unscheduled.
    Unschedulable,
    /// The container runs but its readiness probe never passes.
    NotReady,
}

impl ImageFailure {
    /// The reasons `--image-rule` accepts, as written there.
    const NAMES: [(&'static str, ImageFailure); 6] = [
        ("ImagePullBackOff", ImageFailure::ImagePullBackOff),
        ("ErrImagePull", ImageFailure::ErrImagePull),
        ("CrashLoopBackOff", ImageFailure::CrashLoopBackOff),
        ("OOMKilled", ImageFailure::OOMKilled),
        ("Unschedulable", ImageFailure::Unschedulable),
        ("NotReady", ImageFailure::NotReady),
    ];

    /// Whether the image's pull fails.
    pub fn is_pull(self) -> bool {
        matches!(
            self,
            ImageFailure::ImagePullBackOff | ImageFailure::ErrImagePull
        )
    }

    /// How each instance of a crashing container ends: exit code and reason.
    pub fn crash_exit(self) -> Option<(i64, &'static str)> {
        match self {
            ImageFailure::CrashLoopBackOff => Some((1, "Error")),
            ImageFailure::OOMKilled => Some((137, "OOMKilled")),
            _ => None,
        }
    }
}

/// `--image-rule PATTERN=REASON[:N]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageRule {
    pub pattern: String,
    pub failure: ImageFailure,
    /// For pull failures: how many pulls fail before one succeeds (`None`: every one).
    pub failed_pulls: Option<u32>,
}

impl FromStr for ImageRule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (pattern, rule) = s
            .rsplit_once('=')
            .ok_or_else(|| format!("expected PATTERN=REASON[:N], got {s:?}"))?;
        let (reason, failed_pulls) = match rule.split_once(':') {
            Some((reason, n)) => {
                let n: u32 = n
                    .parse()
                    .map_err(|_| format!("{n:?} is not a number of failed pulls"))?;
                (reason, Some(n))
            }
            None => (rule, None),
        };
        let failure = ImageFailure::NAMES
            .iter()
            .find(|(name, _)| *name == reason)
            .map(|(_, failure)| *failure)
            .ok_or_else(|| {
                let names: Vec<&str> = ImageFailure::NAMES.iter().map(|(n, _)| *n).collect();
                format!("unknown reason {reason:?}: use one of {}", names.join(", "))
            })?;
        if !failure.is_pull() && failed_pulls.is_some() {
            return Err(
                "a number of failed pulls applies to ImagePullBackOff and ErrImagePull".into(),
            );
        }
        Ok(Self {
            pattern: pattern.to_string(),
            failure,
            failed_pulls,
        })
    }
}

impl ImageRule {
    pub fn matches(&self, image: &str) -> bool {
        glob(self.pattern.as_bytes(), image.as_bytes())
    }
}

/// `--pod-log PATTERN=FILE`, its file read when kubesim starts.
#[derive(Clone, Debug, PartialEq)]
pub struct PodLogRule {
    pub pattern: String,
    pub text: std::sync::Arc<str>,
}

/// The largest `--pod-log` file: a test's log, not a disk's.
const MAX_POD_LOG_FILE: u64 = 16 * 1024 * 1024;

impl FromStr for PodLogRule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (pattern, path) = s
            .split_once('=')
            .ok_or_else(|| format!("expected PATTERN=FILE, got {s:?}"))?;
        let size = std::fs::metadata(path)
            .map_err(|e| format!("--pod-log {path}: {e}"))?
            .len();
        if size > MAX_POD_LOG_FILE {
            return Err(format!(
                "--pod-log {path}: {size} bytes, at most {MAX_POD_LOG_FILE}"
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("--pod-log {path}: {e}"))?;
        Ok(Self {
            pattern: pattern.to_string(),
            text: String::from_utf8_lossy(&bytes).into(),
        })
    }
}

impl PodLogRule {
    pub fn matches(&self, image: &str) -> bool {
        glob(self.pattern.as_bytes(), image.as_bytes())
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_faults() {
        let f: FaultRule = "PATCH:500:0.2".parse().unwrap();
        assert_eq!(f.method, Some(Method::PATCH));
        assert_eq!(
            f.action,
            FaultAction::Status(StatusCode::INTERNAL_SERVER_ERROR)
        );
        let f: FaultRule = "*:drop:1".parse().unwrap();
        assert_eq!((f.method, f.action), (None, FaultAction::Drop));
        let f: FaultRule = "GET:empty:1".parse().unwrap();
        assert_eq!(f.action, FaultAction::EmptyWatch);
        assert!("GET:200:0.1".parse::<FaultRule>().is_err());
        assert!("GET:500:2".parse::<FaultRule>().is_err());
    }

    #[test]
    fn image_rules_glob() {
        let r: ImageRule = "*/broken:*=ImagePullBackOff".parse().unwrap();
        assert!(r.matches("ghcr.io/acme/broken:v1"));
        assert!(!r.matches("ghcr.io/acme/fine:v1"));
        assert!("x=Nope".parse::<ImageRule>().is_err());
        let flaky: ImageRule = "*:flaky=ImagePullBackOff:2".parse().unwrap();
        assert_eq!(
            (flaky.failure, flaky.failed_pulls),
            (ImageFailure::ImagePullBackOff, Some(2))
        );
        assert_eq!(r.failed_pulls, None);
        assert!("x=CrashLoopBackOff:2".parse::<ImageRule>().is_err());
        assert!("x=NotReady:2".parse::<ImageRule>().is_err());
        for (reason, failure) in [
            ("OOMKilled", ImageFailure::OOMKilled),
            ("Unschedulable", ImageFailure::Unschedulable),
            ("NotReady", ImageFailure::NotReady),
        ] {
            let rule: ImageRule = format!("x={reason}").parse().unwrap();
            assert_eq!(rule.failure, failure);
        }
        assert_eq!(
            ImageFailure::OOMKilled.crash_exit(),
            Some((137, "OOMKilled"))
        );
        let err = "x=Nope".parse::<ImageRule>().unwrap_err();
        assert!(err.contains("Unschedulable, NotReady"), "{err}");
        assert!("x=ErrImagePull:two".parse::<ImageRule>().is_err());
    }

    #[test]
    fn pod_log_rules_read_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        std::fs::write(&path, "one\ntwo\n").unwrap();
        let rule: PodLogRule = format!("*/api:*={}", path.display()).parse().unwrap();
        assert!(rule.matches("ghcr.io/acme/api:v1"));
        assert_eq!(&*rule.text, "one\ntwo\n");
        let missing = format!("x={}", dir.path().join("nope").display());
        let err = missing.parse::<PodLogRule>().unwrap_err();
        assert!(err.contains("nope"), "{err}");
    }
}
