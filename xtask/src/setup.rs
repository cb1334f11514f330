//! `cargo xtask setup`: installs what the tests need, skipping what is already there.

use std::process::Command;

use anyhow::Context as _;

use crate::postgres;
use crate::workspace::{exec, on_path};

pub fn run() -> anyhow::Result<()> {
    ensure_wasm_target()?;
    ensure_postgres()?;
    eprintln!("setup: everything the tests need is installed");
    Ok(())
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

fn ensure_postgres() -> anyhow::Result<()> {
    if postgres::bin_dir().is_some() {
        return Ok(());
    }
    anyhow::ensure!(
        on_path("apt-get"),
        "PostgreSQL is not installed and apt-get is not available: install PostgreSQL 13 or newer \
         (its initdb and pg_ctl) and run `cargo xtask setup` again"
    );
    exec(Command::new("apt-get").args(["update", "-qq"]))?;
    exec(
        Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "postgresql",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    anyhow::ensure!(
        postgres::bin_dir().is_some(),
        "PostgreSQL was installed but its initdb was not found under /usr/lib/postgresql"
    );
    Ok(())
}
