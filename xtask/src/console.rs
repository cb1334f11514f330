//! `cargo xtask console`: builds the console with trunk into `console/dist`, where the server
//! picks it up (read from disk in debug builds, embedded in release builds).

use std::path::PathBuf;
use std::process::Command;

use crate::setup;
use crate::workspace::{exec, root};

/// Where trunk writes the built console.
pub fn dist() -> PathBuf {
    root().join("console").join("dist")
}

pub fn build() -> anyhow::Result<()> {
    exec(
        Command::new("trunk")
            .args([
                "build",
                "--release",
                "--offline",
                "--cargo-profile",
                "console",
            ])
            .current_dir(root().join("console"))
            .env("PATH", setup::path_with_tools())
            // trunk passes these through to cargo; keep the console's target dir the workspace's.
            .env("CARGO_TARGET_DIR", root().join("target")),
    )?;
    eprintln!("console: built into {}", dist().display());
    Ok(())
}
