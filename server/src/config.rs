//! Command-line flags of `shiplog-server`; each can also be given as an environment variable
//! (`--reap-period` as `SHIPLOG_REAP_PERIOD`: a test holds every flag to it). Serving is the
//! default; `backup` is the one subcommand. Not for checking what the flags mean together
//! beyond credentials ([`Config::auth`]): the modules they configure do that.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::auth::lock_access::ConsoleLocks;
use crate::auth::oidc::{GITHUB_ISSUER, Oidc, OidcConfig};
use crate::auth::scope::RepoScope;
use crate::auth::{Auth, Tokens, jwks, token_file};
use crate::freeze::FreezeWindow;
use crate::limits::Limits;
use crate::logging::LogFormat;

/// shiplog's history server: records deploys, answers the console and the API.
#[derive(Debug, Clone, Parser)]
#[command(name = "shiplog-server", version, about, long_about = None)]
pub struct Config {
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on. Port 0 picks a free port (the chosen address is printed).
    #[arg(long, env = "SHIPLOG_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Database URL: `sqlite://FILE` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "SHIPLOG_DATABASE",
        default_value = "sqlite://shiplog.db",
        hide_env_values = true,
        global = true
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

    /// When set, reading the API also needs this token (or a write token), and the console
    /// asks for it on a sign-in page. Must not be empty.
    #[arg(long, env = "SHIPLOG_READ_TOKEN", hide_env_values = true)]
    pub read_token: Option<String>,

    /// A file of write tokens scoped to repositories, one `TOKEN-SHA256 OWNER/NAME-GLOB…` per
    /// line (`#` comments). `--token` tokens stay unscoped.
    #[arg(long, env = "SHIPLOG_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Accept GitHub Actions OIDC tokens from workflows of repositories matching this
    /// `OWNER/NAME` glob (e.g. `acme/*`); repeatable, or comma-separated in the environment
    /// variable. Giving it turns OIDC on; each token writes only its own repository.
    #[arg(
        long = "allow-repo",
        env = "SHIPLOG_ALLOW_REPO",
        value_delimiter = ',',
        value_name = "GLOB"
    )]
    pub allow_repos: Vec<String>,

    /// The OIDC issuer whose tokens are accepted [default: https://token.actions.githubusercontent.com].
    #[arg(long, env = "SHIPLOG_OIDC_ISSUER", value_name = "URL")]
    pub oidc_issuer: Option<String>,

    /// The audience (`aud`) OIDC tokens must carry [default: the public URL].
    #[arg(long, env = "SHIPLOG_OIDC_AUDIENCE", value_name = "AUD")]
    pub oidc_audience: Option<String>,

    /// The URL people reach this server at, used in the links it hands out
    /// (default: `http://` + the listen address).
    #[arg(long, env = "SHIPLOG_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// How often deploys still in progress past their deadline are marked abandoned
    /// (`30s`, `5m`; at most 1h).
    #[arg(
        long,
        env = "SHIPLOG_REAP_PERIOD",
        default_value = "30s",
        value_parser = reap_period
    )]
    pub reap_period: Duration,

    /// Delete finished deploys that ended longer ago than this (`400d`, `12w`, `8760h`; at
    /// least 1h), checking every hour. The latest and latest successful deploy of every app
    /// in every namespace are kept however old, and open deploys always [default: keep
    /// everything].
    #[arg(long, env = "SHIPLOG_RETAIN", value_name = "DURATION", value_parser = retention)]
    pub retain: Option<Duration>,

    /// A YAML file of outgoing webhooks told when deploys start and finish: shiplog's signed
    /// JSON or Grafana annotations (see the README). Read at start-up; a bad file stops the
    /// server.
    #[arg(long, env = "SHIPLOG_WEBHOOKS", value_name = "FILE")]
    pub webhooks: Option<PathBuf>,

    /// How log lines on stderr are written: `text` for people, `json` (one object per line)
    /// for log collectors.
    #[arg(
        long,
        env = "SHIPLOG_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    pub log_format: LogFormat,

    /// A freeze window: deploys to ENVIRONMENT (`*`: every one) are held during it, on the
    /// wall clock of its time zone. Weekly (`prod Fri 16:00..Mon 08:00 Europe/Berlin`) or dates
    /// (`* 2026-12-24..2027-01-01 Europe/Berlin`, last day included; `2026-12-24T12:00`).
    /// Repeatable, or separated by `;` in the environment variable.
    #[arg(
        long = "freeze",
        env = "SHIPLOG_FREEZE",
        value_delimiter = ';',
        value_name = "WINDOW",
        value_parser = FreezeWindow::parse
    )]
    pub freezes: Vec<FreezeWindow>,

    /// Who may lock and unlock from the console: `signed-in` (readers signed in with the read
    /// token), `open` (anyone who can read) or `off`. Write tokens always may.
    #[arg(
        long,
        env = "SHIPLOG_CONSOLE_LOCKS",
        value_enum,
        default_value_t = ConsoleLocks::SignedIn
    )]
    pub console_locks: ConsoleLocks,

    #[command(flatten)]
    pub limits: Limits,
}

/// The subcommands: each does one job on the database and exits.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Copy a live SQLite database (`--database`) to a file, consistent while the server
    /// keeps writing. For PostgreSQL use `pg_dump`.
    Backup(BackupArgs),
}

/// The flags of `backup`. They name this run's output, so they have no environment variables.
#[derive(Debug, Clone, clap::Args)]
pub struct BackupArgs {
    /// The file to write; refused if it exists, unless `--force`.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,

    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

impl Config {
    /// Every credential the flags configure, checked: no empty token, a readable token file,
    /// OIDC only with `--allow-repo`.
    pub fn auth(&self, public_url: &str) -> Result<Auth, String> {
        if self.tokens.iter().any(String::is_empty) {
            return Err("a --token (or an entry of SHIPLOG_TOKEN) is empty".into());
        }
        if self.read_token.as_deref() == Some("") {
            return Err(
                "--read-token (SHIPLOG_READ_TOKEN) is empty: give a token, or leave it unset \
                 to let anyone read"
                    .into(),
            );
        }
        let mut auth = Auth::from(Tokens {
            write: self.tokens.clone(),
            read: self.read_token.clone(),
        });
        if let Some(path) = &self.token_file {
            auth = auth.with_scoped_tokens(token_file::read(path)?);
        }
        if self.allow_repos.is_empty() {
            if self.oidc_issuer.is_some() || self.oidc_audience.is_some() {
                return Err(
                    "--oidc-issuer and --oidc-audience need --allow-repo, which turns \
                            OIDC on and says which repositories may write"
                        .into(),
                );
            }
            return Ok(auth);
        }
        let allow = RepoScope::parse(self.allow_repos.iter().map(String::as_str))
            .map_err(|e| format!("--allow-repo: {e}"))?;
        let oidc = Oidc::new(OidcConfig {
            issuer: self
                .oidc_issuer
                .clone()
                .unwrap_or_else(|| GITHUB_ISSUER.to_owned()),
            audience: self
                .oidc_audience
                .clone()
                .unwrap_or_else(|| public_url.trim_end_matches('/').to_owned()),
            allow,
            min_refresh: jwks::DEFAULT_MIN_REFRESH,
        })?;
        Ok(auth.with_oidc(oidc))
    }
}

impl Config {
    /// The webhooks of `--webhooks`, checked (none without the flag).
    pub fn webhooks(&self) -> Result<crate::webhooks::Webhooks, String> {
        match &self.webhooks {
            Some(path) => crate::webhooks::Webhooks::read(path),
            None => Ok(crate::webhooks::Webhooks::default()),
        }
    }
}

/// The reap period: a duration ([`crate::limits::duration`]) of at most an hour.
fn reap_period(text: &str) -> Result<Duration, String> {
    let period = crate::limits::duration(text)?;
    if period > Duration::from_secs(3600) {
        return Err("must be at most 1h".into());
    }
    Ok(period)
}

/// The retention: a duration ([`crate::limits::duration`]) of at least an hour, so that a
/// forgotten unit (`--retain 400s` for 400 days) cannot empty the history.
fn retention(text: &str) -> Result<Duration, String> {
    let retain = crate::limits::duration(text)?;
    if retain < Duration::from_secs(3600) {
        return Err("must be at least 1h (e.g. 400d, 12w, 8760h)".into());
    }
    Ok(retain)
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
        assert_eq!(config.reap_period, crate::reaper::DEFAULT_PERIOD);
        for wrong in ["0", "0s", "2h"] {
            assert!(Config::try_parse_from(["shiplog-server", "--reap-period", wrong]).is_err());
        }
    }

    #[test]
    fn retention_takes_days_weeks_and_hours() {
        let retain = |value: &str| {
            Config::try_parse_from(["shiplog-server", "--retain", value]).map(|c| c.retain)
        };
        let day = Duration::from_secs(86_400);
        assert_eq!(retain("400d").unwrap(), Some(day * 400));
        assert_eq!(retain("12w").unwrap(), Some(day * 84));
        assert_eq!(retain("8760h").unwrap(), Some(day * 365));
        let error = retain("400s").unwrap_err().to_string();
        assert!(
            error.contains("--retain") && error.contains("at least 1h"),
            "{error}"
        );
        assert!(retain("400").is_err(), "a unit is required");
        let config = Config::try_parse_from(["shiplog-server"]).unwrap();
        assert_eq!(config.retain, None, "everything is kept by default");
        assert_eq!(config.log_format, LogFormat::Text);
    }

    /// Every flag, now and to come, can be given as `SHIPLOG_` and its name in capitals; only
    /// the flags of a subcommand's single run are exempt, by name.
    #[test]
    fn every_flag_has_an_environment_variable() {
        use clap::CommandFactory as _;
        let exempt = [("backup", "to"), ("backup", "force")];
        let root = Config::command();
        let commands = std::iter::once(&root).chain(root.get_subcommands());
        let mut checked = 0;
        for command in commands {
            for arg in command.get_arguments() {
                let long = arg.get_long().expect("every argument is a --flag");
                if exempt.contains(&(command.get_name(), long)) {
                    assert!(arg.get_env().is_none(), "--{long} is exempt");
                    continue;
                }
                let expected = format!("SHIPLOG_{}", long.to_uppercase().replace('-', "_"));
                assert_eq!(
                    arg.get_env().and_then(|v| v.to_str()),
                    Some(expected.as_str()),
                    "{} --{long}",
                    command.get_name()
                );
                checked += 1;
            }
        }
        assert!(checked >= 17, "{checked} flags");
    }

    #[test]
    fn backup_is_a_subcommand_and_serving_the_default() {
        use clap::CommandFactory as _;
        Config::command().debug_assert();
        let config = Config::try_parse_from(["shiplog-server", "--database", "sqlite://a.db"]);
        assert!(config.unwrap().command.is_none());
        for args in [
            &[
                "shiplog-server",
                "--database",
                "sqlite://a.db",
                "backup",
                "--to",
                "b.db",
            ][..],
            &[
                "shiplog-server",
                "backup",
                "--to",
                "b.db",
                "--database",
                "sqlite://a.db",
            ],
        ] {
            let config = Config::try_parse_from(args).unwrap();
            assert_eq!(config.database, "sqlite://a.db");
            let Some(Command::Backup(backup)) = config.command else {
                panic!("not a backup: {args:?}");
            };
            assert_eq!(backup.to, PathBuf::from("b.db"));
            assert!(!backup.force);
        }
        assert!(
            Config::try_parse_from(["shiplog-server", "backup"]).is_err(),
            "--to is needed"
        );
    }

    fn auth_of(args: &[&str]) -> Result<Auth, String> {
        let args = std::iter::once("shiplog-server").chain(args.iter().copied());
        Config::try_parse_from(args)
            .unwrap()
            .auth("https://shiplog.test")
    }

    #[test]
    fn empty_tokens_are_start_up_errors() {
        let error = auth_of(&["--read-token", ""]).unwrap_err();
        assert!(error.contains("--read-token"), "{error}");
        let error = auth_of(&["--token", "a", "--token", ""]).unwrap_err();
        assert!(error.contains("--token"), "{error}");
        assert!(auth_of(&["--token", "a", "--read-token", "r"]).is_ok());
    }

    #[test]
    fn oidc_is_on_with_allowed_repositories_only() {
        let auth = auth_of(&["--allow-repo", "acme/*"]).unwrap();
        assert!(format!("{auth:?}").contains("token.actions.githubusercontent.com"));
        let error = auth_of(&["--oidc-issuer", "https://issuer.test"]).unwrap_err();
        assert!(error.contains("--allow-repo"), "{error}");
        let error = auth_of(&["--allow-repo", "acme"]).unwrap_err();
        assert!(
            error.starts_with("--allow-repo: the repository pattern \"acme\""),
            "{error}"
        );
    }

    #[test]
    fn a_bad_token_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.txt");
        std::fs::write(&path, "# ci\nnot-a-digest acme/*\n").unwrap();
        let error = auth_of(&["--token-file", path.to_str().unwrap()]).unwrap_err();
        assert!(
            error.starts_with(&format!("{}:2: ", path.display())),
            "{error}"
        );
        let error = auth_of(&["--token-file", "/nonexistent/tokens.txt"]).unwrap_err();
        assert!(error.contains("/nonexistent/tokens.txt"), "{error}");
    }
}
