//! Starting the `shiplog-kubesim` binary as a child process, for other crates' tests and
//! benchmarks: on a free port of `127.0.0.1`, with its kubeconfig and request log in a
//! directory of the caller's, the URL it serves read from the first line it prints, and the
//! process killed when the [`Kubesim`] is dropped.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, ensure};

/// The kubesim binary in the cargo profile directory of the running test or benchmark
/// (`target/<profile>/deps/<it>` → `target/<profile>/shiplog-kubesim`), which may not be built.
pub fn binary_beside_current_exe() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .context("tests and benchmarks run from target/<profile>/deps")?;
    Ok(profile.join(format!("shiplog-kubesim{}", std::env::consts::EXE_SUFFIX)))
}

/// A kubesim to start: `binary` serving on `127.0.0.1:0`, writing `dir/kubeconfig` and
/// `dir/requests.jsonl`, plus the flags added with [`Launch::args`].
pub struct Launch {
    command: Command,
    binary: PathBuf,
    dir: PathBuf,
}

impl Launch {
    pub fn new(binary: &Path, dir: &Path) -> Launch {
        let mut command = Command::new(binary);
        command
            .args(["--listen", "127.0.0.1:0"])
            .arg("--kubeconfig-out")
            .arg(dir.join("kubeconfig"))
            .arg("--request-log")
            .arg(dir.join("requests.jsonl"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        Launch {
            command,
            binary: binary.to_owned(),
            dir: dir.to_owned(),
        }
    }

    /// More flags (`--rollout-ms`, `--image-rule`, …).
    pub fn args(mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Launch {
        self.command.args(args);
        self
    }

    /// A flag whose value is a path.
    pub fn arg_path(mut self, flag: &str, path: &Path) -> Launch {
        self.command.arg(flag).arg(path);
        self
    }

    /// Starts it; returns once it serves.
    pub fn start(mut self) -> anyhow::Result<Kubesim> {
        ensure!(
            self.binary.exists(),
            "{} is missing: build it with `cargo build -p shiplog-kubesim` (with `--release` for \
             benchmarks)",
            self.binary.display()
        );
        let mut child = self
            .command
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let mut first = String::new();
        let read =
            BufReader::new(child.stdout.take().context("kubesim's stdout")?).read_line(&mut first);
        // Made before the checks, so that a kubesim that printed no URL is killed on return.
        let kubesim = Kubesim {
            child,
            url: first.trim().to_owned(),
            dir: self.dir,
        };
        read.context("reading kubesim's URL")?;
        ensure!(
            kubesim.url.starts_with("https://"),
            "kubesim printed {:?} instead of its URL",
            kubesim.url
        );
        Ok(kubesim)
    }
}

/// A running kubesim, killed when dropped.
pub struct Kubesim {
    child: Child,
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    dir: PathBuf,
}

impl Kubesim {
    /// The kubeconfig it wrote (its CA, the token it accepts).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The lines of its request log so far, one JSON object per request answered.
    pub fn request_lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Stops the process (the files stay).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Kubesim {
    fn drop(&mut self) {
        self.stop();
    }
}
