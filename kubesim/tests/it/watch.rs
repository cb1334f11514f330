//! `kubectl get -w` streams changes as they happen.

use crate::harness::{Sim, deployment};

#[test]
fn get_watch_streams_changes() {
    let sim = Sim::start(&[]);
    let file = sim.manifest("d.yaml", &deployment("web", "nginx:1", 1, ""));
    sim.ok(&["apply", "--server-side", "-f", &file]);
    sim.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);

    let watcher = sim.watch(&["get", "deploy", "-w"]);
    let wait_for = |needle: &str| watcher.wait_for(needle);
    wait_for("READY");
    wait_for("1/1");
    sim.ok(&["scale", "deployment/web", "--replicas=3"]);
    let line = wait_for("/3");
    assert!(line.starts_with("web "), "{line}");
    wait_for("3/3");
}
