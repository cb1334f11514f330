//! The native [`Platform`]: the process environment, the system clock, `std::fs`, reqwest
//! hosts, credential plugins run with tokio, progress and warnings on standard error.

use chrono::{DateTime, Utc};

use shiplog_engine::kubeconfig::{ExecConfig, withheld_from_plugins};
use shiplog_engine::pipeline::{Cluster, Platform};

use super::files::LocalFiles;
use super::http::HttpHost;
use super::provenance::Provenance;

/// The platform of the `shiplog` binary.
#[derive(Debug, Default)]
pub struct Native {
    files: LocalFiles,
    provenance: Provenance,
}

impl Native {
    /// The platform of a deploy from `provenance` (whose facts stand for the runner's
    /// `GITHUB_*` variables).
    pub fn from(provenance: Provenance) -> Native {
        Native {
            files: LocalFiles,
            provenance,
        }
    }
}

impl Platform for Native {
    type Host = HttpHost;
    type Files = LocalFiles;

    fn files(&self) -> &LocalFiles {
        &self.files
    }

    fn env(&self, name: &str) -> Option<String> {
        self.provenance
            .var(name)
            .or_else(|| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// std's `RandomState` is keyed from the operating system's random source, and its keys
    /// change with every instance: hashing the time with it gives fresh random bits.
    fn random_u64(&self) -> u64 {
        use std::hash::{BuildHasher as _, Hasher as _};
        let mut hasher = std::hash::RandomState::new().build_hasher();
        hasher.write_i64(Utc::now().timestamp_nanos_opt().unwrap_or_default());
        hasher.write_u32(std::process::id());
        hasher.finish()
    }

    fn log(&self, line: &str) {
        eprintln!("{line}");
    }

    fn warn(&self, message: &str) {
        eprintln!("shiplog: warning: {message}");
    }

    /// A terminal has nothing to mask: secrets are simply never printed.
    fn mask(&self, _secret: &str) {}

    async fn run_plugin(&self, exec: &ExecConfig) -> Result<Vec<u8>, String> {
        let mut command = tokio::process::Command::new(&exec.command);
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(withheld_from_plugins) {
                command.env_remove(name);
            }
        }
        let output = command
            .args(&exec.args)
            .envs(exec.env.iter().map(|(k, v)| (k, v)))
            .env("KUBERNETES_EXEC_INFO", exec.exec_info())
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .await
            .map_err(|e| format!("running it: {e}"))?;
        if !output.status.success() {
            return Err(format!("it failed ({})", output.status));
        }
        Ok(output.stdout)
    }

    fn cluster_host(&self, cluster: &Cluster) -> Result<HttpHost, String> {
        super::cluster::host(cluster)
    }

    fn public_host(&self, base: &str, token: Option<&str>) -> Result<HttpHost, String> {
        HttpHost::public(base, token.map(str::to_owned))
    }
}
