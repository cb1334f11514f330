//! Command-line flags of `shiplog-server`; each can also be given as an environment variable.

use std::net::SocketAddr;

use clap::Parser;

use crate::limits::Limits;

/// shiplog's history server: records deploys, answers the console and the API.
#[derive(Debug, Clone, Parser)]
#[command(name = "shiplog-server", version, about, long_about = None)]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port (the chosen address is printed).
    #[arg(long, env = "SHIPLOG_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Database URL: `sqlite://FILE` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "SHIPLOG_DATABASE",
        default_value = "sqlite://shiplog.db",
        hide_env_values = true
    )]
    pub database: String,

    /// Bearer token allowed to record deploys. Repeat the flag, or separate with commas in the
    /// environment variable, to allow several.
    #[arg(
        long = "token",
        env = "SHIPLOG_TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub tokens: Vec<String>,

    /// When set, reading the API also needs this token (or a write token).
    #[arg(long, env = "SHIPLOG_READ_TOKEN", hide_env_values = true)]
    pub read_token: Option<String>,

    /// The URL people reach this server at, used in the links it hands out
    /// (default: `http://` + the listen address).
    #[arg(long, env = "SHIPLOG_PUBLIC_URL")]
    pub public_url: Option<String>,

    #[command(flatten)]
    pub limits: Limits,
}

/// `url` with any password replaced, fit for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/shiplog"),
            "postgres://app:***@db:5432/shiplog"
        );
        assert_eq!(redact_url("sqlite://shiplog.db"), "sqlite://shiplog.db");
    }

    #[test]
    fn flags_have_defaults_and_repeat() {
        let config =
            Config::try_parse_from(["shiplog-server", "--token", "a", "--token", "b"]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database, "sqlite://shiplog.db");
        assert_eq!(config.tokens, ["a", "b"]);
    }
}
