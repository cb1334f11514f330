//! Asking the history server whether a lock or a freeze window holds the deploy, before the
//! cluster is touched, and deciding what that means.
//!
//! Held, the deploy is recorded `blocked` and announced as held; with `override-lock` it goes
//! ahead and its record names the hold it overrode (the server audits it). When the server
//! cannot answer, `lock-check: optional` (the default) deploys with a warning — a history
//! server that is down must not stop every deploy — and `required` holds the deploy.

use shiplog_model::LockCheck as Answer;

use crate::host::Host;
use crate::kube::client::Kube;
use crate::kube::request::{Request, encode};

/// What to do about locks (`lock-check`, `override-lock`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockPolicy {
    /// Hold the deploy when the server cannot say whether it is locked.
    pub required: bool,
    /// Deploy despite a lock or freeze (recorded and audited).
    pub override_lock: bool,
}

/// Whose deploy is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub app: String,
    pub environment: String,
    pub namespace: String,
}

/// What the check decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Proceed,
    /// Go ahead despite the hold (its message).
    Override(String),
    /// Change nothing: the reason.
    Hold(String),
}

/// Asks `server` (when there is one) whether `subject` is held, and decides with `policy`;
/// `warn` hears what the step should show besides.
pub async fn decide<H: Host>(
    server: Option<&Kube<H>>,
    subject: &Subject,
    policy: LockPolicy,
    warn: impl Fn(&str),
) -> Decision {
    let Some(server) = server else {
        return if policy.required {
            Decision::Hold(
                "lock-check: required, and there is no history server to ask (server-url); \
                 nothing was changed"
                    .into(),
            )
        } else {
            Decision::Proceed
        };
    };
    match ask(server, subject).await {
        Ok(Answer { held: None }) => Decision::Proceed,
        Ok(Answer { held: Some(hold) }) if policy.override_lock => {
            let message = hold.message();
            warn(&format!("{message}; deploying anyway (override-lock)"));
            Decision::Override(message)
        }
        Ok(Answer { held: Some(hold) }) => Decision::Hold(format!(
            "{}; nothing was changed (override-lock: true deploys anyway)",
            hold.message()
        )),
        Err(e) if policy.required => Decision::Hold(format!(
            "could not ask the history server whether {} is locked ({e}), and lock-check \
             is required; nothing was changed",
            subject.environment
        )),
        Err(e) => {
            warn(&format!(
                "could not ask the history server whether {} is locked ({e}); deploying \
                 (lock-check: optional)",
                subject.environment
            ));
            Decision::Proceed
        }
    }
}

async fn ask<H: Host>(server: &Kube<H>, subject: &Subject) -> Result<Answer, String> {
    let path = format!(
        "/api/v1/locks/check?environment={}&namespace={}&app={}",
        encode(&subject.environment),
        encode(&subject.namespace),
        encode(&subject.app)
    );
    let answer = server
        .json(&Request::get(path))
        .await
        .map_err(|e| super::notify::server_error(&e))?;
    serde_json::from_value(answer).map_err(|e| format!("the history server answered: {e}"))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use futures_util::FutureExt as _;
    use serde_json::json;

    use super::*;
    use crate::kube::client::tests::{Scripted, answer};
    use crate::kube::retry::Backoff;

    fn subject() -> Subject {
        Subject {
            app: "api".into(),
            environment: "prod env".into(),
            namespace: "prod".into(),
        }
    }

    fn decide_with(body: Option<serde_json::Value>, policy: LockPolicy) -> (Decision, Vec<String>) {
        let host = Scripted::default();
        host.answers.borrow_mut().push_back(match body {
            Some(body) => answer(200, &body.to_string()),
            None => answer(503, "{}"),
        });
        let once = Backoff {
            attempts: 1,
            connect_attempts: 1,
            ..Backoff::default()
        };
        let server = Kube::new(host, once);
        let warnings = RefCell::new(Vec::new());
        let decision = decide(Some(&server), &subject(), policy, |w| {
            warnings.borrow_mut().push(w.to_owned())
        })
        .now_or_never()
        .expect("nothing waits");
        assert_eq!(
            *server.host().sent.borrow(),
            ["GET /api/v1/locks/check?environment=prod%20env&namespace=prod&app=api"]
        );
        (decision, warnings.into_inner())
    }

    fn locked() -> serde_json::Value {
        json!({"held": {"kind": "locked", "lock": {
            "environment": "prod", "reason": "incident 4711", "by": "@octocat",
            "via": "console", "since": "2026-12-03T14:05:00Z"}}})
    }

    #[test]
    fn a_lock_holds_the_deploy_and_says_who_when_and_why() {
        let (decision, warnings) = decide_with(Some(locked()), LockPolicy::default());
        assert_eq!(
            decision,
            Decision::Hold(
                "prod is locked by @octocat since 2026-12-03 14:05 UTC: incident 4711; nothing \
                 was changed (override-lock: true deploys anyway)"
                    .into()
            )
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn an_override_goes_ahead_and_says_so() {
        let policy = LockPolicy {
            override_lock: true,
            ..LockPolicy::default()
        };
        let (decision, warnings) = decide_with(Some(locked()), policy);
        let Decision::Override(message) = decision else {
            panic!("{decision:?}");
        };
        assert!(message.starts_with("prod is locked by @octocat"));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].ends_with("deploying anyway (override-lock)"));
    }

    #[test]
    fn nothing_held_proceeds() {
        let (decision, warnings) = decide_with(Some(json!({})), LockPolicy::default());
        assert_eq!((decision, warnings.len()), (Decision::Proceed, 0));
    }

    #[test]
    fn a_server_that_cannot_answer_fails_open_unless_the_check_is_required() {
        let (decision, warnings) = decide_with(None, LockPolicy::default());
        assert_eq!(decision, Decision::Proceed);
        assert!(
            warnings[0].contains("could not ask the history server whether prod env is locked")
        );
        let required = LockPolicy {
            required: true,
            ..LockPolicy::default()
        };
        let (decision, _) = decide_with(None, required);
        assert!(
            matches!(decision, Decision::Hold(reason) if reason.contains("lock-check is required"))
        );
        let no_server = decide::<Scripted>(None, &subject(), required, |_| {})
            .now_or_never()
            .unwrap();
        assert!(
            matches!(no_server, Decision::Hold(reason) if reason.contains("no history server"))
        );
    }
}
