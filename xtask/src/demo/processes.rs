//! The demo's background processes: starting the history server and kubesim, reading the URL
//! each one serves, and keeping both up until one of them ends.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration as StdDuration;

use anyhow::{Context as _, bail};

use super::DEMO_TOKEN;
use super::story::IMAGE_RULES;
use crate::workspace::root;

/// A process the demo started; killed if the demo ends (or fails) while it still runs.
pub(super) struct Background {
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

pub(super) fn start_server(listen: &str, database: &str) -> anyhow::Result<(Background, String)> {
    let child = Command::new(root().join("target/debug/shiplog-server"))
        .args([
            "--listen",
            listen,
            "--database",
            database,
            "--token",
            DEMO_TOKEN,
            // The demo's console has no read token: let it lock and unlock.
            "--console-locks",
            "open",
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

pub(super) fn start_kubesim(dir: &Path) -> anyhow::Result<(Background, String)> {
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
pub(super) fn wait_for_either(mut a: Background, mut b: Background) -> anyhow::Result<()> {
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
