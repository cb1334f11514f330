//! What the server logs and how: human-readable lines by default, or one JSON object per line
//! (`--log-format json`) for log collectors. Both go to stderr; `SHIPLOG_LOG` filters them
//! (tracing's `EnvFilter` syntax). Not for the address line on stdout, which scripts read.

use tracing_subscriber::EnvFilter;

/// The filter when `SHIPLOG_LOG` is unset or invalid.
pub const DEFAULT_FILTER: &str = "shiplog_server=info,tower_http=warn";

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-01-01T00:00:00Z  INFO shiplog_server: database ready database=…`
    #[default]
    Text,
    /// `{"timestamp":…,"level":"INFO","fields":{"message":"database ready",…},"target":…}`
    Json,
}

/// Installs the process's log subscriber, writing `format` to stderr. Call once, at start-up.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("SHIPLOG_LOG").unwrap_or_else(|_| DEFAULT_FILTER.into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

/// Reports why the process is about to exit: a `shiplog-server: …` line in text, an `ERROR`
/// line in JSON (so that a collector parsing every line is not handed plain text). Written
/// whatever `SHIPLOG_LOG` filters: the reason a process exits is never dropped.
pub fn fatal(format: LogFormat, error: &anyhow::Error) {
    say(format, "ERROR", &format!("{error:#}"));
}

/// Reports a command's progress or result (such as a backup's), as [`fatal`] does an error.
pub fn outcome(format: LogFormat, message: &str) {
    say(format, "INFO", message);
}

fn say(format: LogFormat, level: &str, message: &str) {
    match format {
        LogFormat::Text => eprintln!("shiplog-server: {message}"),
        LogFormat::Json => eprintln!("{}", json_line(level, message)),
    }
}

/// One line in the shape of tracing's JSON events.
fn json_line(level: &str, message: &str) -> String {
    serde_json::json!({
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "level": level,
        "fields": {"message": message},
        "target": "shiplog_server",
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_have_a_level_and_a_message() {
        let line: serde_json::Value =
            serde_json::from_str(&json_line("ERROR", "no \"database\"\nhere")).unwrap();
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["fields"]["message"], "no \"database\"\nhere");
    }
}
