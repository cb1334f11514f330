//! Running the `shiplog` binary this crate builds, against a kubesim of the testkit.

use std::process::Command;

pub use shiplog_testkit::kubesim::{FIXTURE, RUNNER, Sim, write};

/// One small Deployment, `api`, running `ghcr.io/acme/api:v1`.
pub const API_DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: "ghcr.io/acme/api:v1"}]
"#;

/// Runs `shiplog` with `args`; exit code, stdout and stderr.
pub fn shiplog(args: &[&str]) -> (i32, String, String) {
    shiplog_with(args, &[])
}

/// Runs `shiplog` with `args` and the environment variables `env` (the runner's, say).
pub fn shiplog_with(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shiplog"));
    // Every flag reads a `SHIPLOG_*` variable: none of the caller's may reach the binary.
    command.env_remove("KUBECONFIG");
    for (name, _) in std::env::vars()
        .filter(|(name, _)| name.starts_with("GITHUB_") || name.starts_with("SHIPLOG_"))
    {
        command.env_remove(name);
    }
    let output = command
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Deploying to a kubesim with the `shiplog` binary.
pub trait Deploys {
    fn deploy(&self, args: &[&str]) -> (i32, String, String);
    fn deploy_with(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String);
}

impl Deploys for Sim {
    /// `shiplog deploy --kubeconfig <this sim> args…`.
    fn deploy(&self, args: &[&str]) -> (i32, String, String) {
        self.deploy_with(args, &[])
    }

    /// [`Deploys::deploy`] with environment variables.
    fn deploy_with(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let kubeconfig = self.kubeconfig();
        let mut all = vec!["deploy", "--kubeconfig", &kubeconfig];
        all.extend_from_slice(args);
        shiplog_with(&all, env)
    }
}

/// The requests that changed something in the cluster (a dry run changes nothing).
pub fn writes(sim: &Sim) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r["method"] != "GET" && r["dryRun"] != true)
        .count()
}
