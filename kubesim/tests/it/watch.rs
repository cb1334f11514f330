//! `kubectl get -w` streams changes as they happen.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::{Sim, deployment};

#[test]
fn get_watch_streams_changes() {
    let sim = Sim::start(&[]);
    let file = sim.manifest("d.yaml", &deployment("web", "nginx:1", 1, ""));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);

    let mut watcher = sim
        .kubectl_with(&sim.kubeconfig, &["get", "deploy", "-w"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start kubectl get -w");
    let (tx, rx) = mpsc::channel();
    let stdout = watcher.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |needle: &str| {
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no watch line containing {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    };
    wait_for("READY");
    wait_for("1/1");
    sim.ok(&["scale", "deployment/web", "--replicas=3"]);
    let line = wait_for("/3");
    assert!(line.starts_with("web "), "{line}");
    wait_for("3/3");
    watcher.kill().expect("stop the watch");
    watcher.wait().expect("reap the watch");
}
