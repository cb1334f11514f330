//! Environment locks and freeze windows: what holds deploys to an environment.
//!
//! A [`Lock`] is set by a person (`PUT /api/v1/locks/{environment}`, optionally for one app);
//! a freeze window is in the server's configuration. Before it touches the cluster a deploy asks
//! the server ([`LockCheck`], `GET /api/v1/locks/check`) whether anything holds it, and is
//! recorded `blocked` when something does, unless it overrides the hold. Every lock, unlock and
//! override is kept as a [`LockEvent`].
//!
//! A lock on `prod` holds every deploy whose environment **or** namespace is `prod` (a record's
//! environment defaults to its namespace), so a whole namespace is locked by its name.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::deploy::DeployId;
use crate::error::FieldError;
use crate::ingest::{required, short};

/// Most locks a server keeps at once (a `PUT` beyond it is refused).
pub const MAX_LOCKS: usize = 1000;
/// Most audit events one answer lists (the newest).
pub const MAX_LOCK_EVENTS: usize = 100;
/// Longest lock reason, in bytes.
pub const MAX_REASON_BYTES: usize = 1024;
/// Longest name of who locks, in bytes.
pub const MAX_BY_BYTES: usize = 256;

/// The body of `PUT /api/v1/locks/{environment}` and `PUT /api/v1/locks/{environment}/{app}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LockRequest {
    /// Why deploys are held ("incident 4711").
    pub reason: String,
    /// Who locks, as people know them (`@octocat`). The credential used is recorded beside it.
    pub by: String,
}

impl LockRequest {
    /// Checks both fields, naming the first one that is wrong.
    pub fn validate(&self) -> Result<(), FieldError> {
        one_line("reason", &self.reason, MAX_REASON_BYTES)?;
        validate_by(&self.by)
    }
}

/// Checks who locks or unlocks (`by`): one line of at most [`MAX_BY_BYTES`].
pub fn validate_by(by: &str) -> Result<(), FieldError> {
    one_line("by", by, MAX_BY_BYTES)
}

/// Checks an environment or app name taken from a path.
pub fn validate_target(environment: &str, app: Option<&str>) -> Result<(), FieldError> {
    one_line("environment", environment, 253)?;
    match app {
        Some(app) => one_line("app", app, 253),
        None => Ok(()),
    }
}

fn one_line(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    required(field, value)?;
    short(field, value)?;
    if value.len() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must be one line without control characters",
        ));
    }
    Ok(())
}

/// A lock in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lock {
    pub environment: String,
    /// The one app it holds; every app when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    pub reason: String,
    pub by: String,
    /// The credential that set it: `token tokens.txt:3 (sha256 1a2b…)`, `oidc repo:acme/api:…`,
    /// `console`.
    pub via: String,
    pub since: DateTime<Utc>,
}

impl Lock {
    /// What the lock covers: `prod`, or `api in prod`.
    pub fn target(&self) -> String {
        match &self.app {
            Some(app) => format!("{app} in {}", self.environment),
            None => self.environment.clone(),
        }
    }
}

/// A freeze window of the server's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Freeze {
    /// The environment it holds, or `*` for every one.
    pub environment: String,
    /// The window as configured: `Fri 16:00-Mon 08:00 Europe/Berlin`,
    /// `2026-12-24-2027-01-01 Europe/Berlin`.
    pub window: String,
    /// Whether the window is open now (deploys held).
    pub active: bool,
    /// When the current window ends, while it is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// Why a deploy is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Hold {
    Locked { lock: Lock },
    Frozen { freeze: Freeze },
}

impl Hold {
    /// The hold in one line, as the deploy step, Slack and the record say it:
    /// `prod is locked by @octocat since 2026-12-03 14:05 UTC: incident 4711`.
    pub fn message(&self) -> String {
        match self {
            Hold::Locked { lock } => format!(
                "{} is locked by {} since {}: {}",
                lock.target(),
                lock.by,
                minute(lock.since),
                lock.reason
            ),
            Hold::Frozen { freeze } => {
                let until = freeze
                    .until
                    .map(|t| format!(" until {}", minute(t)))
                    .unwrap_or_default();
                let environment = match freeze.environment.as_str() {
                    "*" => "every environment",
                    name => name,
                };
                format!(
                    "{environment} is frozen{until} (freeze window {})",
                    freeze.window
                )
            }
        }
    }
}

/// `2026-12-03 14:05 UTC`. Written out rather than with chrono's `format`, whose pattern parser
/// would be the only one in the Action's WebAssembly.
fn minute(t: DateTime<Utc>) -> String {
    use chrono::{Datelike as _, Timelike as _};
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// The answer of `GET /api/v1/locks/check`: what holds a deploy, if anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Hold>,
}

/// What happened to a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LockAction {
    Locked,
    Unlocked,
    /// A deploy went ahead despite a hold (`override-lock`).
    Overridden,
}

impl LockAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LockAction::Locked => "locked",
            LockAction::Unlocked => "unlocked",
            LockAction::Overridden => "overridden",
        }
    }
}

/// One entry of the locks' audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockEvent {
    pub at: DateTime<Utc>,
    pub action: LockAction,
    pub environment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The lock's reason, or for an override the hold that was overridden.
    pub reason: String,
    pub by: String,
    pub via: String,
    /// The deploy that overrode a hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployId>,
}

/// The answer of `GET /api/v1/locks`: the locks in force, the configured freeze windows and the
/// newest audit events (at most [`MAX_LOCK_EVENTS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Locks {
    pub locks: Vec<Lock>,
    pub freezes: Vec<Freeze>,
    pub events: Vec<LockEvent>,
}

impl Locks {
    /// What holds a deploy of `app` to `environment` in `namespace` now: a lock on the app, then
    /// one on the whole environment (by environment or namespace name), then an open freeze.
    pub fn hold_for(&self, environment: &str, namespace: &str, app: &str) -> Option<Hold> {
        let names = |name: &str| name == environment || name == namespace;
        let lock = self
            .locks
            .iter()
            .filter(|lock| names(&lock.environment))
            .find(|lock| lock.app.as_deref() == Some(app))
            .or_else(|| {
                self.locks
                    .iter()
                    .find(|lock| names(&lock.environment) && lock.app.is_none())
            });
        if let Some(lock) = lock {
            return Some(Hold::Locked { lock: lock.clone() });
        }
        self.freezes
            .iter()
            .find(|freeze| {
                freeze.active && (freeze.environment == "*" || names(&freeze.environment))
            })
            .map(|freeze| Hold::Frozen {
                freeze: freeze.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(environment: &str, app: Option<&str>, reason: &str) -> Lock {
        Lock {
            environment: environment.into(),
            app: app.map(Into::into),
            reason: reason.into(),
            by: "@octocat".into(),
            via: "console".into(),
            since: "2026-12-03T14:05:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_lock_names_who_when_and_why() {
        let hold = Hold::Locked {
            lock: lock("prod", None, "incident 4711"),
        };
        assert_eq!(
            hold.message(),
            "prod is locked by @octocat since 2026-12-03 14:05 UTC: incident 4711"
        );
    }

    #[test]
    fn a_lock_holds_by_environment_or_namespace_and_an_app_lock_only_its_app() {
        let locks = Locks {
            locks: vec![
                lock("prod", Some("api"), "api only"),
                lock("payments", None, "whole namespace"),
            ],
            ..Locks::default()
        };
        assert!(locks.hold_for("prod", "prod", "web").is_none());
        let Some(Hold::Locked { lock }) = locks.hold_for("production", "prod", "api") else {
            panic!("the app lock holds api in namespace prod");
        };
        assert_eq!(lock.reason, "api only");
        assert!(locks.hold_for("payments", "pay-ns", "x").is_some());
        assert!(locks.hold_for("staging", "payments", "x").is_some());
        assert!(locks.hold_for("staging", "staging", "api").is_none());
    }

    #[test]
    fn an_app_lock_is_named_before_its_environments_lock() {
        let locks = Locks {
            locks: vec![
                lock("prod", None, "everything"),
                lock("prod", Some("api"), "the api"),
            ],
            ..Locks::default()
        };
        let Some(Hold::Locked { lock }) = locks.hold_for("prod", "prod", "api") else {
            panic!("held");
        };
        assert_eq!(lock.reason, "the api");
    }

    #[test]
    fn only_open_freezes_hold() {
        let freeze = |environment: &str, active| Freeze {
            environment: environment.into(),
            window: "Fri 16:00-Mon 08:00 Europe/Berlin".into(),
            active,
            until: active.then(|| "2026-12-07T07:00:00Z".parse().unwrap()),
        };
        let mut locks = Locks {
            freezes: vec![freeze("prod", false), freeze("*", false)],
            ..Locks::default()
        };
        assert!(locks.hold_for("prod", "prod", "api").is_none());
        locks.freezes[1].active = true;
        locks.freezes[1].until = Some("2026-12-07T07:00:00Z".parse().unwrap());
        let held = locks.hold_for("prod", "prod", "api").expect("frozen");
        assert_eq!(
            held.message(),
            "every environment is frozen until 2026-12-07 07:00 UTC (freeze window Fri \
             16:00-Mon 08:00 Europe/Berlin)"
        );
    }

    #[test]
    fn requests_are_one_bounded_line() {
        let ok = LockRequest {
            reason: "incident 4711".into(),
            by: "@octocat".into(),
        };
        assert!(ok.validate().is_ok());
        let multiline = LockRequest {
            reason: "a\n::error::x".into(),
            ..ok.clone()
        };
        assert_eq!(multiline.validate().unwrap_err().field, "reason");
        let long = LockRequest {
            by: "x".repeat(MAX_BY_BYTES + 1),
            ..ok.clone()
        };
        assert_eq!(long.validate().unwrap_err().field, "by");
        let empty = LockRequest {
            reason: " ".into(),
            ..ok
        };
        assert_eq!(empty.validate().unwrap_err().field, "reason");
        assert!(validate_target("prod", Some("a\u{1b}b")).is_err());
    }
}
