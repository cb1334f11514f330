//! The real `shiplog-server` binary, started for a test on a free port: its address and what
//! it logs.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::common::WRITER;

pub struct Server {
    pub child: Child,
    pub base: String,
    /// Lines the server logs to stderr, as they come.
    pub logs: mpsc::UnboundedReceiver<String>,
}

/// The binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_shiplog-server");

/// Starts the binary on `database` with a write token ([`WRITER`]); returns once it listens.
pub async fn start(database: &str) -> Server {
    start_with(BINARY, database, &[]).await
}

/// [`start`] for `program` (the binary under test, or another release of it), with more flags.
pub async fn start_with(program: &str, database: &str, flags: &[&str]) -> Server {
    let mut child = Command::new(program)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--database",
            database,
            "--token",
            WRITER,
        ])
        .args(flags)
        .env("SHIPLOG_LOG", "shiplog_server=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start shiplog-server");
    let (sender, logs) = mpsc::unbounded_channel();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            eprintln!("shiplog-server: {line}");
            let _ = sender.send(line);
        }
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(url) = line.strip_prefix("shiplog-server listening on ") {
            return Server {
                child,
                base: url.to_owned(),
                logs,
            };
        }
    }
    panic!("shiplog-server exited before listening");
}

impl Server {
    /// Waits for a logged line that contains `text`; fails if the server's stderr ends first.
    pub async fn logged(&mut self, text: &str) -> String {
        while let Some(line) = self.logs.recv().await {
            if line.contains(text) {
                return line;
            }
        }
        panic!("shiplog-server never logged {text:?}");
    }

    /// Sends the signal `name` (`TERM`, `INT`) to the server.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the server runs");
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} {pid}");
    }
}
