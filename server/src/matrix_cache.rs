//! The serialised environment matrix, cached between writes.
//!
//! The matrix is read whole on every console visit (every app and namespace with two deploy
//! summaries each, read from `heads`) and changes only when a deploy is written. Each write through this process, or
//! through another one on the same PostgreSQL database ([`crate::replicas`]), invalidates it at
//! once; entries also expire after [`MAX_AGE`], a bound for announcements lost while the
//! listening connection was down.
//!
//! A generation counter makes invalidation race-free: an answer computed while a write landed is
//! never stored.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;

/// How long an entry may serve without a local write invalidating it.
pub const MAX_AGE: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct MatrixCache {
    generation: AtomicU64,
    entry: Mutex<Option<Entry>>,
}

struct Entry {
    generation: u64,
    stored_at: Instant,
    body: Bytes,
}

impl MatrixCache {
    /// The cached body, if it is still current.
    pub fn get(&self) -> Option<Bytes> {
        let generation = self.generation.load(Ordering::SeqCst);
        let entry = self.entry.lock().expect("cache lock");
        entry
            .as_ref()
            .filter(|e| e.generation == generation && e.stored_at.elapsed() < MAX_AGE)
            .map(|e| e.body.clone())
    }

    /// Call before reading the database; pass the result to [`MatrixCache::store`].
    pub fn begin(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Keeps `body` unless a write happened since `generation` was taken.
    pub fn store(&self, generation: u64, body: Bytes) {
        let mut entry = self.entry.lock().expect("cache lock");
        if generation == self.generation.load(Ordering::SeqCst) {
            *entry = Some(Entry {
                generation,
                stored_at: Instant::now(),
                body,
            });
        }
    }

    /// Forgets the cached body. Call after every committed write.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_invalidate_and_racing_reads_are_not_kept() {
        let cache = MatrixCache::default();
        assert_eq!(cache.get(), None);
        let generation = cache.begin();
        cache.store(generation, Bytes::from_static(b"v1"));
        assert_eq!(cache.get().as_deref(), Some(&b"v1"[..]));

        cache.invalidate();
        assert_eq!(cache.get(), None);

        // A read that started before a write must not be cached after it.
        let stale = cache.begin();
        cache.invalidate();
        cache.store(stale, Bytes::from_static(b"stale"));
        assert_eq!(cache.get(), None);
    }
}
