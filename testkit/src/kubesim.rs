//! kubesim for tests: each test gets its own simulator on `127.0.0.1:0`, its own kubeconfig
//! and request log in a temporary directory. The kubesim binary is the one cargo built next to
//! the test (`cargo build -p shiplog-kubesim` is run once if it is missing).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;
use shiplog_kubesim::launch::{self, Launch};

pub const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/microservices-demo/kubernetes-manifests.yaml"
);

/// The GitHub runner's context of a deploy job, for recording and announcing.
pub const RUNNER: [(&str, &str); 6] = [
    ("GITHUB_REPOSITORY", "acme/shop"),
    ("GITHUB_SHA", "4f2a9c1e0b"),
    ("GITHUB_ACTOR", "alice"),
    ("GITHUB_RUN_ID", "77"),
    ("GITHUB_RUN_ATTEMPT", "1"),
    ("GITHUB_JOB", "deploy"),
];

/// The kubesim binary beside these tests, built once if it is missing.
fn kubesim_binary() -> PathBuf {
    static BUILT: Mutex<bool> = Mutex::new(false);
    let binary = launch::binary_beside_current_exe().unwrap();
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if !*built && !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(cargo);
        command.args(["build", "-p", "shiplog-kubesim", "--bin", "shiplog-kubesim"]);
        if binary
            .parent()
            .and_then(|profile| profile.file_name())
            .is_some_and(|p| p == "release")
        {
            command.arg("--release");
        }
        let status = command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building shiplog-kubesim failed");
    }
    *built = true;
    binary
}

/// A running kubesim.
pub struct Sim {
    process: launch::Kubesim,
    // Declared last: dropped after the process is killed.
    pub dir: tempfile::TempDir,
}

impl Sim {
    /// Starts kubesim with fast rollouts and `extra` flags; returns once it serves.
    pub fn start(extra: &[&str]) -> Sim {
        Sim::start_paced(&["--rollout-ms", "20", "--time-scale", "300"], extra)
    }

    /// Starts kubesim with rollouts as fast as `pace` makes them (its `--rollout-ms` and
    /// `--time-scale` flags) and `extra` flags; returns once it serves.
    pub fn start_paced(pace: &[&str], extra: &[&str]) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let process = Launch::new(&kubesim_binary(), dir.path())
            .args(pace)
            .arg_path("--cert-kubeconfig-out", &dir.path().join("kubeconfig-cert"))
            .args(extra)
            .start()
            .unwrap();
        Sim { process, dir }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.process.url
    }

    /// Stops the simulator (its files stay until the `Sim` is dropped).
    pub fn stop(&mut self) {
        self.process.stop();
    }

    pub fn kubeconfig(&self) -> String {
        self.dir.path().join("kubeconfig").display().to_string()
    }

    /// The kubeconfig that authenticates with kubesim's client certificate instead of the
    /// token (`client-certificate-data`, `client-key-data`).
    pub fn cert_kubeconfig(&self) -> String {
        self.dir
            .path()
            .join("kubeconfig-cert")
            .display()
            .to_string()
    }

    /// The bearer token kubesim accepts (to prove it is never printed).
    pub fn token(&self) -> String {
        let text = std::fs::read_to_string(self.kubeconfig()).unwrap();
        let token = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("token: "))
            .expect("kubesim's kubeconfig has a token");
        token.trim_matches(['\'', '"']).to_owned()
    }

    /// A kubeconfig whose user gets kubesim's token from an exec credential plugin (a shell
    /// script printing an `ExecCredential`).
    #[cfg(unix)]
    pub fn exec_kubeconfig(&self) -> String {
        use std::os::unix::fs::PermissionsExt as _;
        let token = self.token();
        let plugin = self.dir.path().join("plugin.sh");
        std::fs::write(
            &plugin,
            format!(
                "#!/bin/sh\nenv > '{}'\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"}}}}'\n",
                self.plugin_environment_file().display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o700)).unwrap();
        let kubeconfig = std::fs::read_to_string(self.kubeconfig()).unwrap();
        let user = kubeconfig
            .lines()
            .find(|l| l.contains(&token))
            .unwrap()
            .to_owned();
        let indent = &user[..user.len() - user.trim_start().len()];
        let exec = format!(
            "{indent}exec:\n{indent}  apiVersion: client.authentication.k8s.io/v1\n{indent}  command: {}\n{indent}  args: [get-token]",
            plugin.display()
        );
        let path = self.dir.path().join("exec.yaml");
        std::fs::write(&path, kubeconfig.replace(&user, &exec)).unwrap();
        path.display().to_string()
    }

    /// Where the plugin of [`Sim::exec_kubeconfig`] writes the environment it was given.
    #[cfg(unix)]
    fn plugin_environment_file(&self) -> std::path::PathBuf {
        self.dir.path().join("plugin-env.txt")
    }

    /// The names of the environment variables the exec plugin last ran with.
    #[cfg(unix)]
    pub fn plugin_environment(&self) -> Vec<String> {
        std::fs::read_to_string(self.plugin_environment_file())
            .expect("the exec plugin ran")
            .lines()
            .filter_map(|line| line.split_once('=').map(|(name, _)| name.to_owned()))
            .collect()
    }

    /// Every request kubesim answered so far.
    pub fn requests(&self) -> Vec<Value> {
        self.process
            .request_lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Reads an object back through the `shiplog` CLI's own client.
    pub fn get(&self, path: &str) -> Value {
        self.send(&shiplog_engine::kube::request::Request::get(
            path.to_owned(),
        ))
    }

    /// Sends `request` through the `shiplog` CLI's own client (as another client of the
    /// cluster would: a person, a controller); the answer, which must be a success.
    pub fn send(&self, request: &shiplog_engine::kube::request::Request) -> Value {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (_, host) = shiplog::cluster::connect(&self.kubeconfig(), None)
                .await
                .unwrap();
            let kube = shiplog_engine::kube::client::Kube::new(host, Default::default());
            kube.json(request).await.unwrap()
        })
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes `text` to `name` in `dir`; its path.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}
