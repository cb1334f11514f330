//! `--state FILE`: the objects saved as JSON (atomically, through a temporary file) on
//! shutdown and every few seconds when something changed, and loaded at start-up.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::Sim;
use crate::store::{Snapshot, Store};

/// How often changes are saved while running.
const SAVE_EVERY: Duration = Duration::from_secs(2);

/// Loads `path` into `store` when it exists.
pub fn load(store: &Store, path: &Path) -> anyhow::Result<()> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let snapshot: Snapshot = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a kubesim state file", path.display()))?;
    store.restore(snapshot);
    Ok(())
}

/// Saves `store` to `path`.
pub fn save(store: &Store, path: &Path) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(&store.snapshot())?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// Saves whenever the resourceVersion moved, until shutdown.
pub async fn periodically(
    sim: Arc<Sim>,
    path: PathBuf,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut saved = sim.store.resource_version();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SAVE_EVERY) => {}
            _ = shutdown.changed() => return,
        }
        let now = sim.store.resource_version();
        if now != saved {
            match save(&sim.store, &path) {
                Ok(()) => saved = now,
                Err(e) => tracing::warn!("saving state: {e:#}"),
            }
        }
    }
}
