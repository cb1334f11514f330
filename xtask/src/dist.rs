//! `cargo xtask dist`: builds the GitHub Action into `action/dist` — crate `shiplog-action`
//! (with the engine, `shiplog-engine`) for `wasm32-unknown-unknown`, wasm-bindgen's Node glue,
//! the module shrunk by wasm-opt, the JS host, and the `main`/`post` entry points `action.yml`
//! runs.
//!
//! Everything node starts is CommonJS (`--target nodejs`, `host.cjs`, `main.cjs`): node 24
//! loads it a few milliseconds sooner than ES modules, and start-up is what the Action pays on
//! every run. wasm-opt inlines no large function into its only caller, so that V8, which
//! compiles wasm functions on their first call, compiles only what runs before the first
//! request instead of one function holding the whole pipeline.
//! `action/dist` is committed (`uses:` runs what is in the repository), so it records a hash of
//! the sources it was built from; `cargo xtask test` fails when that hash is out of date.
//!
//! Builds are reproducible and free of machine paths: source paths are remapped before they can
//! reach panic messages in the module.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use sha2::{Digest as _, Sha256};

use crate::setup;
use crate::workspace::{cargo, exec, root};

/// Where the committed Action lives.
pub fn committed() -> PathBuf {
    root().join("action").join("dist")
}

/// The file in the dist that names the sources' hash.
const SOURCES_FILE: &str = "SOURCES";

/// The inputs of the dist, relative to the root: every file under these directories (Rust, JS,
/// manifests) and these files.
const SOURCE_DIRS: [&str; 4] = ["engine/src", "action/src", "action/js", "model/src"];
const SOURCE_FILES: [&str; 6] = [
    "Cargo.lock",
    "Cargo.toml",
    "action/Cargo.toml",
    "engine/Cargo.toml",
    "model/Cargo.toml",
    "xtask/src/dist.rs",
];

#[derive(clap::Args)]
pub struct Args {
    /// Write the Action here instead of action/dist.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    setup::wasm_tools()?;
    build(args.out.as_deref().unwrap_or(&committed()))
}

/// Builds the Action into `out` (replacing what is there).
pub fn build(out: &Path) -> anyhow::Result<()> {
    let root = root();
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let remap = format!(
        "--remap-path-prefix={}=/cargo --remap-path-prefix={}=/shiplog",
        cargo_home.display(),
        root.display()
    );
    exec(
        cargo()
            .args([
                "build",
                "--package",
                "shiplog-action",
                "--target",
                "wasm32-unknown-unknown",
                "--profile",
                "action",
            ])
            .env("RUSTFLAGS", remap),
    )?;
    let wasm = root.join("target/wasm32-unknown-unknown/action/shiplog_action.wasm");
    // One staging directory per build, so that concurrent builds (a benchmark and a test) do
    // not write over each other.
    let staging = root.join(format!("target/action-dist-staging-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    exec(
        Command::new("wasm-bindgen")
            .args([
                "--target",
                "nodejs",
                "--out-name",
                "shiplog",
                "--no-typescript",
                "--remove-name-section",
                "--remove-producers-section",
                "--out-dir",
            ])
            .arg(&staging)
            .arg(&wasm)
            .env("PATH", setup::path_with_tools()),
    )?;
    let module = staging.join("shiplog_bg.wasm");
    exec(
        Command::new("wasm-opt")
            .args([
                "-Oz",
                "--one-caller-inline-max-function-size",
                "200",
                "--strip-debug",
                "--strip-producers",
                "--enable-reference-types",
                "--enable-bulk-memory",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-mutable-globals",
                "-o",
            ])
            .arg(&module)
            .arg(&module)
            .env("PATH", setup::path_with_tools()),
    )?;
    // The glue (`shiplog.js`) is CommonJS, whatever a package.json above the dist says.
    std::fs::write(staging.join("package.json"), "{\"type\": \"commonjs\"}\n")?;
    for (step, function) in [("main", "mainStep"), ("post", "postStep")] {
        std::fs::write(staging.join(format!("{step}.cjs")), entry_point(function))?;
        std::fs::write(
            staging.join(format!("run-{step}.mjs")),
            run_export(function),
        )?;
    }
    std::fs::write(staging.join(SOURCES_FILE), format!("{}\n", sources_hash()?))?;
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("removing {}", out.display()))?;
    }
    std::fs::rename(&staging, out)
        .with_context(|| format!("moving the built Action to {}", out.display()))?;
    eprintln!("dist: the Action is in {}", out.display());
    Ok(())
}

/// An entry point: runs one step and exits with its code (connections are closed at the end
/// of a step, `process.exit` makes sure nothing else holds the process up).
fn entry_point(function: &str) -> String {
    format!(
        "// Generated by `cargo xtask dist`: the runner starts this file (see action.yml).\n\
         \"use strict\";\n\n\
         new Promise((resolve) => resolve(require(\"./shiplog.js\").{function}())).then(\n  \
         (code) => process.exit(code),\n  \
         (error) => {{\n    \
         console.log(`::error::shiplog stopped unexpectedly: ${{error?.message ?? error}}`);\n    \
         process.exit(1);\n  }},\n);\n"
    )
}

/// An entry point for tools that import an action and call its `run()` (as
/// `@github/local-action` does) instead of starting it.
fn run_export(function: &str) -> String {
    format!(
        "// Generated by `cargo xtask dist`: for tools that import the action and call run().\n\
         import {{ {function} }} from \"./shiplog.js\";\n\n\
         export async function run() {{\n  process.exitCode = await {function}();\n}}\n"
    )
}

/// A hash over the dist's sources: their paths relative to the root and their contents, so it
/// is the same on every machine.
pub fn sources_hash() -> anyhow::Result<String> {
    let root = root();
    let mut files: Vec<PathBuf> = SOURCE_FILES.iter().map(PathBuf::from).collect();
    for dir in SOURCE_DIRS {
        collect(&root, Path::new(dir), &mut files)?;
    }
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        let content = std::fs::read(root.join(&file))
            .with_context(|| format!("reading {}", file.display()))?;
        let name = file.to_string_lossy().replace('\\', "/");
        hash.update(format!("{name}\0{}\0", content.len()));
        hash.update(content);
    }
    Ok(format!("{:x}", hash.finalize()))
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(root.join(dir)).with_context(|| format!("reading {}", dir.display()))?
    {
        let entry = entry?;
        let relative = dir.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            collect(root, &relative, files)?;
        } else {
            files.push(relative);
        }
    }
    Ok(())
}

/// Fails when the committed Action was built from other sources than the checkout's.
pub fn check_fresh() -> anyhow::Result<()> {
    let recorded = std::fs::read_to_string(committed().join(SOURCES_FILE)).unwrap_or_default();
    let current = sources_hash()?;
    if recorded.trim() != current {
        bail!(
            "action/dist is stale: it was built from other sources than this checkout's \
             (recorded {}, current {current}); run `cargo xtask dist` and commit action/dist",
            if recorded.trim().is_empty() {
                "nothing"
            } else {
                recorded.trim()
            }
        );
    }
    eprintln!("dist: action/dist is up to date with its sources");
    Ok(())
}
