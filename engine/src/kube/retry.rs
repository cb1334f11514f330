//! When to try a request again: 429 (after its `Retry-After`), 5xx and dropped connections,
//! with bounded exponential backoff. 4xx validation errors are final. Pure.

use std::time::Duration;

/// The retry budget.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Attempts in all, the first included, while the server answers transient errors or
    /// drops connections.
    pub attempts: u32,
    /// Attempts in all while no connection can be made at all: few, so that a cluster that is
    /// down is reported promptly.
    pub connect_attempts: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 10,
            connect_attempts: 4,
            first: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

/// Whether an answer with `status` may succeed if sent again.
pub fn is_transient(status: u16) -> bool {
    status == 429 || (500..600).contains(&status) && status != 501
}

impl Backoff {
    /// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed, or
    /// `None` when the budget is spent. A server's `Retry-After` is honoured up to `max`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.attempts {
            return None;
        }
        let exponential = exponential(self.first, self.max, attempt);
        Some(retry_after.map_or(exponential, |wait| wait.min(self.max)))
    }
}

/// `first` doubled for each attempt after the first (1-based), at most `max`.
pub fn exponential(first: Duration, max: Duration, attempt: u32) -> Duration {
    first
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_bounded_and_honours_retry_after() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay(1, None), Some(Duration::from_millis(100)));
        assert_eq!(backoff.delay(3, None), Some(Duration::from_millis(400)));
        assert_eq!(
            backoff.delay(2, Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            backoff.delay(2, Some(Duration::from_secs(600))),
            Some(Duration::from_secs(5))
        );
        assert_eq!(backoff.delay(5, None), Some(Duration::from_millis(1600)));
        assert_eq!(backoff.delay(9, None), Some(Duration::from_secs(5)));
        assert_eq!(backoff.delay(10, None), None);
        assert!(is_transient(429) && is_transient(503) && is_transient(500));
        assert!(!is_transient(422) && !is_transient(409) && !is_transient(501));
    }
}
