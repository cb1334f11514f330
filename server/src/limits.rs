//! The server's transport limits: how long a client may take to send a request's head and body,
//! how long an idle keep-alive connection is kept, how many connections are served at once, and
//! how many events an event-stream client may fall behind. Each is a flag with an environment
//! variable (flattened into [`crate::config::Config`]); [`Limits::default`] holds the defaults.
//!
//! The limits that are not flags are constants here: [`MAX_HEAD_BYTES`] and [`MAX_HEADERS`]
//! bound a request's head, [`crate::extract::BODY_LIMIT`] its body.

use std::time::Duration;

/// The largest request head accepted (request line and headers), in bytes; a larger one is
/// answered `431` and the connection closed. Also the most response bytes buffered per
/// connection for a client that does not read.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most header fields a request may have; more is `431`. hyper's default, which it keeps on
/// the stack (setting it, even to the same number, costs a heap allocation per request).
pub const MAX_HEADERS: usize = 100;

/// Timeouts and limits of the server's connections.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct Limits {
    /// A request's head (request line and headers) must arrive within this time of its first
    /// byte, or of the connection's start; otherwise the connection is closed.
    #[arg(long, env = "SHIPLOG_HEADER_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub header_timeout: Duration,

    /// A request's body must arrive within this time of its head; otherwise the request is
    /// answered `408` and the connection closed.
    #[arg(long, env = "SHIPLOG_BODY_TIMEOUT", default_value = "30s", value_parser = duration)]
    pub body_timeout: Duration,

    /// A keep-alive connection with no request under way is closed after this time.
    #[arg(long, env = "SHIPLOG_IDLE_TIMEOUT", default_value = "60s", value_parser = duration)]
    pub idle_timeout: Duration,

    /// Connections served at once. Further connections wait in the operating system's accept
    /// backlog until one closes.
    #[arg(long, env = "SHIPLOG_MAX_CONNECTIONS", default_value_t = 1024, value_parser = at_least_one())]
    pub max_connections: usize,

    /// Events buffered per event-stream client. A client further behind is sent a final
    /// `resync` event and disconnected.
    #[arg(long, env = "SHIPLOG_STREAM_BUFFER", default_value_t = 256, value_parser = at_least_one())]
    pub stream_buffer: usize,

    /// How long a disconnected stream client's connection may take to deliver its `resync`
    /// event before it is closed regardless (not a flag: tests shorten it).
    #[arg(skip = RESYNC_GRACE)]
    pub resync_grace: Duration,
}

/// The default of [`Limits::resync_grace`].
const RESYNC_GRACE: Duration = Duration::from_secs(5);

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            stream_buffer: 256,
            resync_grace: RESYNC_GRACE,
        }
    }
}

/// Parses `10s`, `500ms`, `2m` (humantime's syntax); zero is refused.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let value = humantime::parse_duration(text).map_err(|e| format!("{e} (e.g. 10s, 500ms)"))?;
    if value.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(value)
}

fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        limits: Limits,
    }

    #[test]
    fn the_flag_defaults_are_the_documented_defaults() {
        let flags = Flags::try_parse_from(["shiplog-server"]).unwrap();
        assert_eq!(flags.limits, Limits::default());
    }

    #[test]
    fn durations_take_units_and_refuse_zero() {
        let flags = Flags::try_parse_from([
            "shiplog-server",
            "--header-timeout",
            "250ms",
            "--idle-timeout",
            "2m",
        ])
        .unwrap();
        assert_eq!(flags.limits.header_timeout, Duration::from_millis(250));
        assert_eq!(flags.limits.idle_timeout, Duration::from_secs(120));
        assert!(Flags::try_parse_from(["shiplog-server", "--body-timeout", "0s"]).is_err());
        assert!(Flags::try_parse_from(["shiplog-server", "--body-timeout", "soon"]).is_err());
        assert!(Flags::try_parse_from(["shiplog-server", "--max-connections", "0"]).is_err());
    }
}
