//! Sending messages to Slack through the [`Host`]: an incoming webhook (one message, answer
//! `ok`), or the Web API with a bot token (`chat.postMessage`, `chat.update`, thread replies,
//! `chat.getPermalink`; JSON answers with `ok`, `ts`, `channel`, `error`).
//!
//! The host carries the destination: for a webhook its base URL is the webhook URL; for the
//! Web API it is `https://slack.com/api` with the token sent as `Authorization: Bearer`. HTTP
//! errors, 429 (after its `Retry-After`) and `ok: false, error: ratelimited` are retried with
//! bounded backoff; any other `ok: false` is final. Every failure is a [`SlackError`] value for
//! the caller to turn into a warning — Slack never changes a deploy's outcome — and the secrets
//! registered with [`Slack::masking`] never appear in one.

use std::time::Duration;

use serde_json::{Value, json};
use shiplog_model::{Deploy, SlackMessage};

use super::message::{self, Message};
use crate::host::{Host, Response, TransportError};
use crate::kube::request::{Method, Request, encode};
use crate::kube::retry::{Backoff, is_transient};

/// How hard to try Slack: about a message per second per channel is allowed, and a deploy
/// should not wait long for a notification. A `Retry-After` beyond `max` is not waited for.
pub const BACKOFF: Backoff = Backoff {
    attempts: 5,
    connect_attempts: 3,
    first: Duration::from_secs(1),
    max: Duration::from_secs(10),
};

/// The Web API's base URL.
pub const WEB_API: &str = "https://slack.com/api";

const JSON_UTF8: &str = "application/json; charset=utf-8";

/// How long an error message quotes an answer.
const QUOTE: usize = 200;

/// Why Slack did not take a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// No answer after every retry.
    #[error("Slack is unreachable: {0}")]
    Unreachable(String),
    /// An HTTP error answer (the last one, when it was retried).
    #[error("Slack answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    /// `ok: false` from the Web API, with Slack's error code.
    #[error("Slack refused the request: {0}")]
    Api(String),
    /// Rate limited beyond what is worth waiting for.
    #[error("Slack is rate limiting the requests (retry after {0} s)")]
    RateLimited(u64),
    /// An answer that is not what Slack sends.
    #[error("Slack's answer could not be read: {0}")]
    InvalidAnswer(String),
    /// Updating, threading and permalinks need a bot token; a webhook cannot do them.
    #[error("a Slack webhook cannot {0}; use a bot token and channel")]
    NeedsBot(&'static str),
}

/// Where messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// An incoming webhook: the host's base URL is the webhook URL.
    Webhook,
    /// The Web API with a bot token (`chat:write`), posting to `channel`.
    Bot { channel: String },
}

/// A message Slack stored: its channel id and timestamp (Slack's message id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// What announcing an outcome did: the message for the deploy record (bot mode), and what
/// went wrong after the message itself was sent (thread reply, permalink, update).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Announced {
    pub record: Option<SlackMessage>,
    pub warnings: Vec<SlackError>,
}

/// The judgement of one answer.
enum Verdict<T> {
    Done(T),
    /// Worth another try, after the server's `Retry-After` when it gave one.
    Retry(SlackError, Option<Duration>),
    Fail(SlackError),
}

/// Slack, as a notifier sees it.
pub struct Slack<H> {
    host: H,
    mode: Mode,
    backoff: Backoff,
    secrets: Vec<String>,
}

impl<H> std::fmt::Debug for Slack<H> {
    /// Only the mode: the host knows the webhook URL or the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slack")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// `text` with every secret replaced by `***`.
fn mask(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_owned(), |text, secret| text.replace(secret, "***"))
}

/// The start of an answer's body, for an error message.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(QUOTE) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None if text.is_empty() => "(no body)".into(),
        None => text.to_owned(),
    }
}

/// A webhook answer: `200 ok`.
fn judge_webhook(answer: &Response) -> Verdict<()> {
    let body = quote(&answer.body);
    if answer.is_success() {
        return if body == "ok" {
            Verdict::Done(())
        } else {
            Verdict::Fail(SlackError::InvalidAnswer(body))
        };
    }
    let error = SlackError::Http {
        status: answer.status,
        message: body,
    };
    if is_transient(answer.status) {
        Verdict::Retry(error, answer.retry_after)
    } else {
        Verdict::Fail(error)
    }
}

/// A Web API answer: JSON with `ok` and, when false, `error`.
fn judge_api(answer: &Response) -> Verdict<Value> {
    let parsed: Option<Value> = serde_json::from_slice(&answer.body).ok();
    let code = parsed
        .as_ref()
        .and_then(|v| v["error"].as_str())
        .map(str::to_owned);
    if !answer.is_success() {
        let error = SlackError::Http {
            status: answer.status,
            message: code.unwrap_or_else(|| quote(&answer.body)),
        };
        return if is_transient(answer.status) {
            Verdict::Retry(error, answer.retry_after)
        } else {
            Verdict::Fail(error)
        };
    }
    match parsed {
        Some(value) if value["ok"] == true => Verdict::Done(value),
        Some(_) if code.as_deref() == Some("ratelimited") => {
            Verdict::Retry(SlackError::Api("ratelimited".into()), answer.retry_after)
        }
        Some(_) => Verdict::Fail(SlackError::Api(
            code.unwrap_or_else(|| "ok: false without an error".into()),
        )),
        None => Verdict::Fail(SlackError::InvalidAnswer(quote(&answer.body))),
    }
}

fn string(value: &Value, key: &str) -> Result<String, SlackError> {
    value[key]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| SlackError::InvalidAnswer(format!("no `{key}` in the answer")))
}

impl<H: Host> Slack<H> {
    /// Slack through an incoming webhook; `host`'s base URL is the webhook URL.
    pub fn webhook(host: H) -> Self {
        Self::new(host, Mode::Webhook)
    }

    /// Slack's Web API posting to `channel`; `host` sends the bot token as bearer token.
    pub fn bot(host: H, channel: &str) -> Self {
        Self::new(
            host,
            Mode::Bot {
                channel: channel.to_owned(),
            },
        )
    }

    fn new(host: H, mode: Mode) -> Self {
        Slack {
            host,
            mode,
            backoff: BACKOFF,
            secrets: Vec::new(),
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Keeps `secret` (the token, the webhook URL) out of every error.
    pub fn masking(mut self, secret: &str) -> Self {
        self.secrets.push(secret.to_owned());
        self
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    fn masked(&self, error: SlackError) -> SlackError {
        let m = |text: String| mask(&text, &self.secrets);
        match error {
            SlackError::Unreachable(t) => SlackError::Unreachable(m(t)),
            SlackError::Http { status, message } => SlackError::Http {
                status,
                message: m(message),
            },
            SlackError::Api(t) => SlackError::Api(m(t)),
            SlackError::InvalidAnswer(t) => SlackError::InvalidAnswer(m(t)),
            other => other,
        }
    }

    /// Sends `request` until `judge` is satisfied or the budget is spent.
    async fn exchange<T>(
        &self,
        request: &Request,
        judge: impl Fn(&Response) -> Verdict<T>,
    ) -> Result<T, SlackError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let (error, retry_after, budget) = match self.host.send(request).await {
                Ok(answer) => match judge(&answer) {
                    Verdict::Done(value) => return Ok(value),
                    Verdict::Fail(error) => return Err(self.masked(error)),
                    Verdict::Retry(error, retry_after) => {
                        (error, retry_after, self.backoff.attempts)
                    }
                },
                Err(e @ TransportError::Connect(_)) => (
                    SlackError::Unreachable(e.to_string()),
                    None,
                    self.backoff.connect_attempts,
                ),
                // The message may have arrived; a duplicate beats a lost alert.
                Err(e) => (
                    SlackError::Unreachable(e.to_string()),
                    None,
                    self.backoff.attempts,
                ),
            };
            if let Some(wait) = retry_after.filter(|wait| *wait > self.backoff.max) {
                return Err(SlackError::RateLimited(wait.as_secs()));
            }
            let wait = (tries < budget)
                .then(|| self.backoff.delay(tries, retry_after))
                .flatten();
            match wait {
                Some(wait) => self.host.sleep(wait).await,
                None => return Err(self.masked(error)),
            }
        }
    }

    fn channel(&self, what: &'static str) -> Result<&str, SlackError> {
        match &self.mode {
            Mode::Bot { channel } => Ok(channel),
            Mode::Webhook => Err(SlackError::NeedsBot(what)),
        }
    }

    /// Calls the Web API `method` with a JSON body.
    async fn call(&self, method: &str, body: &Value) -> Result<Value, SlackError> {
        let request = Request {
            method: Method::Post,
            path: format!("/{method}"),
            content_type: Some(JSON_UTF8),
            body: Some(body.to_string().into_bytes()),
        };
        self.exchange(&request, judge_api).await
    }

    /// Posts `message` (to a thread when `thread_ts` is given); the stored message, or `None`
    /// through a webhook, which tells nothing back.
    async fn send_message(
        &self,
        message: &Message,
        thread_ts: Option<&str>,
    ) -> Result<Option<Posted>, SlackError> {
        let mut body = message.to_json();
        match &self.mode {
            Mode::Webhook => {
                let request = Request {
                    method: Method::Post,
                    path: String::new(),
                    content_type: Some(JSON_UTF8),
                    body: Some(body.to_string().into_bytes()),
                };
                self.exchange(&request, judge_webhook).await.map(|()| None)
            }
            Mode::Bot { channel } => {
                body["channel"] = json!(channel);
                if let Some(ts) = thread_ts {
                    body["thread_ts"] = json!(ts);
                }
                let answer = self.call("chat.postMessage", &body).await?;
                Ok(Some(Posted {
                    channel: string(&answer, "channel")?,
                    ts: string(&answer, "ts")?,
                }))
            }
        }
    }

    /// Posts `message`: the stored message in bot mode, `None` through a webhook.
    pub async fn post(&self, message: &Message) -> Result<Option<Posted>, SlackError> {
        self.send_message(message, None).await
    }

    /// Replaces the text and blocks of `posted` with `message` (`chat.update`).
    pub async fn update(&self, posted: &Posted, message: &Message) -> Result<(), SlackError> {
        self.channel("update a message")?;
        let mut body = message.to_json();
        body["channel"] = json!(posted.channel);
        body["ts"] = json!(posted.ts);
        self.call("chat.update", &body).await.map(drop)
    }

    /// Replies to `parent` in its thread.
    pub async fn reply(&self, parent: &Posted, message: &Message) -> Result<Posted, SlackError> {
        self.channel("reply in a thread")?;
        self.send_message(message, Some(&parent.ts))
            .await?
            .ok_or_else(|| SlackError::InvalidAnswer("no message in the answer".into()))
    }

    /// The link to `posted` (`chat.getPermalink`).
    pub async fn permalink(&self, posted: &Posted) -> Result<String, SlackError> {
        self.channel("link to a message")?;
        let request = Request::get(format!(
            "/chat.getPermalink?channel={}&message_ts={}",
            encode(&posted.channel),
            encode(&posted.ts)
        ));
        let answer = self.exchange(&request, judge_api).await?;
        string(&answer, "permalink")
    }

    /// Bot mode: posts the "deploying" message, to be updated by [`Slack::announce_outcome`].
    /// A webhook posts nothing at the start (its message could never be updated).
    pub async fn announce_start(
        &self,
        deploy: &Deploy,
        deploy_page: Option<&str>,
    ) -> Result<Option<Posted>, SlackError> {
        match self.mode {
            Mode::Webhook => Ok(None),
            Mode::Bot { .. } => self.post(&message::deploying(deploy, deploy_page)).await,
        }
    }

    /// Announces how `deploy` ended: updates the "deploying" message `started` in place (or
    /// posts one), adds the failure's details as a thread reply and, in bot mode, returns the
    /// message for the deploy record with its permalink. Only a message that could not be
    /// sent at all is an error; later trouble is in the warnings.
    pub async fn announce_outcome(
        &self,
        deploy: &Deploy,
        deploy_page: Option<&str>,
        started: Option<&Posted>,
    ) -> Result<Announced, SlackError> {
        let outcome = match self.mode {
            Mode::Webhook => message::outcome_with_evidence(deploy, deploy_page),
            Mode::Bot { .. } => message::outcome(deploy, deploy_page),
        };
        let mut warnings = Vec::new();
        let posted = match started {
            Some(started) => match self.update(started, &outcome).await {
                Ok(()) => Some(started.clone()),
                // The "deploying" message is gone or cannot be edited: post a new one.
                Err(error @ (SlackError::Api(_) | SlackError::NeedsBot(_))) => {
                    warnings.push(error);
                    self.post(&outcome).await?
                }
                Err(error) => return Err(error),
            },
            None => self.post(&outcome).await?,
        };
        let Some(posted) = posted else {
            return Ok(Announced {
                record: None,
                warnings,
            });
        };
        if let Some(thread) = message::failure_thread(deploy, deploy_page)
            && let Err(error) = self.reply(&posted, &thread).await
        {
            warnings.push(error);
        }
        let permalink = self
            .permalink(&posted)
            .await
            .map_err(|error| warnings.push(error))
            .ok();
        Ok(Announced {
            record: Some(SlackMessage {
                channel: posted.channel,
                ts: Some(posted.ts),
                permalink,
            }),
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::kube::client::tests::{Scripted, answer};

    fn scripted(answers: Vec<Result<Response, TransportError>>) -> Scripted {
        Scripted {
            answers: std::cell::RefCell::new(VecDeque::from(answers)),
            ..Scripted::default()
        }
    }

    fn limited(after: u64) -> Result<Response, TransportError> {
        Ok(Response {
            status: 429,
            retry_after: Some(Duration::from_secs(after)),
            body: br#"{"ok":false,"error":"ratelimited"}"#.to_vec(),
        })
    }

    fn message() -> Message {
        message::outcome(&message::tests::sample(), None)
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        futures_util::FutureExt::now_or_never(future).expect("the scripted host never waits")
    }

    #[test]
    fn a_429_is_retried_after_its_retry_after() {
        let host = scripted(vec![
            limited(2),
            answer(200, r#"{"ok":true,"channel":"C1","ts":"1.2"}"#),
        ]);
        let slack = Slack::bot(host, "#deploys");
        let posted = block_on(slack.post(&message())).unwrap().unwrap();
        assert_eq!(posted.ts, "1.2");
        assert_eq!(*slack.host.slept.borrow(), [Duration::from_secs(2)]);
        assert_eq!(slack.host.sent.borrow()[0], "POST /chat.postMessage");
    }

    #[test]
    fn a_long_retry_after_is_not_waited_for() {
        let slack = Slack::bot(scripted(vec![limited(600)]), "C1");
        let error = block_on(slack.post(&message())).unwrap_err();
        assert_eq!(error, SlackError::RateLimited(600));
        assert!(slack.host.slept.borrow().is_empty());
    }

    #[test]
    fn ok_false_is_final_unless_rate_limited() {
        let slack = Slack::bot(
            scripted(vec![answer(
                200,
                r#"{"ok":false,"error":"channel_not_found"}"#,
            )]),
            "C1",
        );
        let error = block_on(slack.post(&message())).unwrap_err();
        assert_eq!(error, SlackError::Api("channel_not_found".into()));
        let slack = Slack::bot(
            scripted(vec![
                answer(200, r#"{"ok":false,"error":"ratelimited"}"#),
                answer(200, r#"{"ok":true,"channel":"C1","ts":"1.2"}"#),
            ]),
            "C1",
        );
        assert!(block_on(slack.post(&message())).is_ok());
        assert_eq!(*slack.host.slept.borrow(), [Duration::from_secs(1)]);
    }

    #[test]
    fn server_errors_exhaust_a_bounded_budget() {
        let answers = (0..BACKOFF.attempts).map(|_| answer(503, "down")).collect();
        let slack = Slack::webhook(scripted(answers));
        let error = block_on(slack.post(&message())).unwrap_err();
        assert_eq!(
            error,
            SlackError::Http {
                status: 503,
                message: "down".into()
            }
        );
        assert_eq!(slack.host.sent.borrow().len(), BACKOFF.attempts as usize);
        let slack = Slack::webhook(scripted(vec![answer(404, "no_service")]));
        assert!(matches!(
            block_on(slack.post(&message())),
            Err(SlackError::Http { status: 404, .. })
        ));
    }

    #[test]
    fn secrets_never_appear_in_errors() {
        let url = "https://hooks.slack.com/services/T0/B0/secret";
        let slack = Slack::webhook(scripted(vec![
            Err(TransportError::Connect(format!("cannot reach {url}"))),
            answer(400, &format!("invalid_payload for {url}")),
        ]))
        .masking(url);
        let error = block_on(slack.post(&message())).unwrap_err().to_string();
        assert!(!error.contains("secret"), "{error}");
        assert!(error.contains("***"));
        assert!(!format!("{slack:?}").contains("secret"));
    }

    #[test]
    fn a_webhook_cannot_update_or_thread() {
        let slack = Slack::webhook(scripted(Vec::new()));
        let posted = Posted {
            channel: "C1".into(),
            ts: "1.2".into(),
        };
        assert!(matches!(
            block_on(slack.update(&posted, &message())),
            Err(SlackError::NeedsBot(_))
        ));
        assert!(matches!(
            block_on(slack.permalink(&posted)),
            Err(SlackError::NeedsBot(_))
        ));
        assert_eq!(
            block_on(slack.announce_start(&message::tests::sample(), None)),
            Ok(None)
        );
    }
}
