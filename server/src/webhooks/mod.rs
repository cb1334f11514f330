//! Outgoing webhooks ("deploy markers"): receivers configured on the server (`--webhooks FILE`,
//! [`config`]) hear when a deploy starts and when it finishes, as shiplog's signed JSON
//! ([`sign`]) or as Grafana annotations ([`payload`]).
//!
//! The outbox invariant: a delivery is a row of `deliveries`, inserted in the transaction of the
//! deploy write that caused it ([`Outbox`], read by the store): a deploy created enqueues
//! `started` (and `finished` too when it is created finished), an update or the reaper's
//! `abandoned` that ends it enqueues `finished`. The [`worker`] of each server process sends
//! them afterwards, so no write waits for a receiver; a delivery is claimed by one process at a
//! time and sent at least once (a process stopped mid-send leaves a claim that expires and is
//! taken again). Deliveries that no server sends (their webhook removed from every file) are
//! given up a day after they were enqueued ([`stale`]).
//!
//! Not for chat notifications: the Action posts to Slack itself.

pub mod config;
pub mod payload;
pub mod sign;
pub mod stale;
pub mod worker;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::Notify;

pub use config::{Format, Secret, Webhook};

/// How deliveries are sent and retried; [`Tuning::default`] in production, shorter in tests.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// The wait before each retry: the second attempt comes `backoff[0]` after the first
    /// failed, and so on. After `backoff.len() + 1` failed attempts a delivery is `failed`.
    pub backoff: Vec<Duration>,
    /// How often the worker looks for due deliveries when no write woke it.
    pub poll: Duration,
    /// The longest one attempt may take, connecting and answering.
    pub timeout: Duration,
    /// How long a claim keeps other processes off a delivery; longer than [`Tuning::timeout`].
    pub claim: Duration,
    /// Deliveries sent at once by one process.
    pub concurrency: usize,
    /// Deliveries of one webhook sent at once by one process.
    pub per_webhook: usize,
    /// Pending deliveries per webhook beyond which new ones are dropped (logged and counted).
    pub max_pending: i64,
}

impl Default for Tuning {
    fn default() -> Self {
        let minute = Duration::from_secs(60);
        Tuning {
            // 8 attempts over about 2 h 21 min.
            backoff: vec![
                Duration::from_secs(10),
                Duration::from_secs(30),
                minute,
                minute * 5,
                minute * 15,
                minute * 60,
                minute * 60,
            ],
            poll: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            claim: Duration::from_secs(60),
            concurrency: 4,
            per_webhook: 2,
            max_pending: 10_000,
        }
    }
}

/// The configured webhooks and how they are delivered.
#[derive(Debug, Clone, Default)]
pub struct Webhooks {
    pub hooks: Vec<Webhook>,
    pub tuning: Tuning,
}

impl Webhooks {
    /// The webhooks of the file at `path` ([`config::read`]), with the default tuning.
    pub fn read(path: &Path) -> Result<Webhooks, String> {
        Ok(Webhooks {
            hooks: config::read(path)?,
            tuning: Tuning::default(),
        })
    }

    /// The webhook named `name`.
    pub fn get(&self, name: &str) -> Option<&Webhook> {
        self.hooks.iter().find(|hook| hook.name == name)
    }
}

/// What the store needs to enqueue deliveries in its writes' transactions, and how it wakes
/// this process's [`worker`] once they commit.
#[derive(Debug)]
pub struct Outbox {
    pub webhooks: Webhooks,
    /// Base of the console links in payloads, without a trailing slash.
    pub public_url: Arc<str>,
    /// Notified after a write that enqueued deliveries commits.
    pub wake: Notify,
    /// Deliveries dropped because their webhook had [`Tuning::max_pending`] pending.
    pub dropped: Counter,
}
