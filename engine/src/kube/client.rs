//! Sending requests to the API server through the [`Host`], retrying transient failures and
//! turning error answers into [`KubeError`]s a caller can branch on.

use kube::core::Status;
use serde_json::Value;

use super::request::{Request, RequestError};
use super::retry::{Backoff, is_transient};
use crate::host::{Host, Response, TransportError};

/// Why a request failed for good.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeError {
    /// No answer after every retry.
    #[error("the cluster is unreachable: {0}")]
    Unreachable(String),
    /// 401 or 403.
    #[error("the cluster refused the credentials ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// A request that could not be built (kube refused a name or parameter).
    #[error("the request could not be built: {0}")]
    Request(#[from] RequestError),
    /// An answer larger than the host reads (see [`crate::host::MAX_ANSWER_BYTES`]).
    #[error("{0}")]
    TooLarge(String),
    /// Any other error answer, with the API server's `Status` reason and message.
    #[error("{message}")]
    Api {
        status: u16,
        reason: String,
        message: String,
    },
}

impl KubeError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, KubeError::Api { status: 404, .. })
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, KubeError::Api { status: 409, .. })
    }

    /// Whether the cluster as a whole cannot be used (exit code 3).
    pub fn is_access(&self) -> bool {
        matches!(
            self,
            KubeError::Unreachable(_) | KubeError::Unauthorized { .. }
        )
    }

    fn from_answer(answer: &Response) -> Self {
        // A Kubernetes `Status`; else GitHub's `{"message"}` or the history server's
        // `{"error": {"message"}}`.
        let (reason, message) = match serde_json::from_slice::<Status>(&answer.body) {
            Ok(status) if !status.message.is_empty() => (status.reason, status.message),
            _ => {
                let error: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
                let message = error["message"]
                    .as_str()
                    .or(error["error"]["message"].as_str())
                    .map_or_else(|| format!("HTTP {}", answer.status), str::to_owned);
                (String::new(), message)
            }
        };
        if matches!(answer.status, 401 | 403) {
            return KubeError::Unauthorized {
                status: answer.status,
                message,
            };
        }
        KubeError::Api {
            status: answer.status,
            reason,
            message,
        }
    }
}

/// Why [`Kube::send_once`] stopped without an answer: it could not tell whether an attempt took
/// effect, so it did not send the request again.
const UNKNOWN: &str = "an attempt failed and whether it took effect could not be told, so it \
                       was not repeated (it may have taken effect)";

/// What [`Kube::send_once`]'s search for an earlier attempt's effect found.
#[derive(Debug)]
pub enum Landed<T> {
    /// It took effect: this is what it made.
    Found(T),
    /// It did not: the request may be sent again.
    Absent,
    /// The search failed: sending again might make a second one.
    Unknown,
}

/// What [`Kube::send_once`] ended with.
#[derive(Debug)]
pub enum Sent<T> {
    /// The success answer to the request.
    Answered(Response),
    /// What showed that an attempt whose answer was a failure had taken effect.
    Landed(T),
}

/// The API server.
pub struct Kube<H> {
    host: H,
    backoff: Backoff,
}

impl<H: Host> Kube<H> {
    pub fn new(host: H, backoff: Backoff) -> Self {
        Kube { host, backoff }
    }

    pub fn host(&self) -> &H {
        &self.host
    }

    /// Retries `attempt` while it fails transiently; the last failure is the answer.
    async fn retrying<T>(
        &self,
        mut attempt: impl AsyncFnMut() -> Result<Result<T, Response>, TransportError>,
    ) -> Result<T, KubeError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let (error, retry_after, budget) = match attempt().await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(answer)) if is_transient(answer.status) => (
                    KubeError::from_answer(&answer),
                    answer.retry_after,
                    self.backoff.attempts,
                ),
                Ok(Err(answer)) => return Err(KubeError::from_answer(&answer)),
                Err(TransportError::TooLarge(message)) => return Err(KubeError::TooLarge(message)),
                Err(e @ TransportError::Connect(_)) => (
                    KubeError::Unreachable(e.to_string()),
                    None,
                    self.backoff.connect_attempts,
                ),
                Err(e) => (
                    KubeError::Unreachable(e.to_string()),
                    None,
                    self.backoff.attempts,
                ),
            };
            if tries >= budget {
                return Err(error);
            }
            match self.backoff.delay(tries, retry_after) {
                Some(wait) => self.host.sleep(wait).await,
                None => return Err(error),
            }
        }
    }

    /// Sends `request`; a success answer's body.
    pub async fn send(&self, request: &Request) -> Result<Response, KubeError> {
        self.retrying(async || {
            let answer = self.host.send(request).await?;
            Ok(if answer.is_success() {
                Ok(answer)
            } else {
                Err(answer)
            })
        })
        .await
    }

    /// Sends `request`, which must not take effect twice (a `POST` that creates). An attempt
    /// that failed after reaching the server (a 5xx, a connection lost mid-answer) may still
    /// have taken effect, so once one has, `landed` is asked before each further attempt and
    /// once more if the last one fails too: what it finds ends the retries, and when it cannot
    /// tell, the request is not sent again (the search is retried instead, within the budget).
    pub async fn send_once<T>(
        &self,
        request: &Request,
        mut landed: impl AsyncFnMut() -> Landed<T>,
    ) -> Result<Sent<T>, KubeError> {
        // Whether an attempt may have taken effect that `landed` has not yet been asked about.
        let mut uncertain = false;
        let result = self
            .retrying(async || {
                if uncertain {
                    match landed().await {
                        Landed::Found(found) => return Ok(Ok(Sent::Landed(found))),
                        Landed::Absent => uncertain = false,
                        Landed::Unknown => return Err(TransportError::Dropped(UNKNOWN.into())),
                    }
                }
                let answer = self.host.send(request).await;
                uncertain = match &answer {
                    Ok(answer) => !answer.is_success() && is_transient(answer.status),
                    Err(TransportError::Connect(_)) => false,
                    Err(_) => true,
                };
                let answer = answer?;
                Ok(if answer.is_success() {
                    Ok(Sent::Answered(answer))
                } else {
                    Err(answer)
                })
            })
            .await;
        match result {
            Err(error) if uncertain => match landed().await {
                Landed::Found(found) => Ok(Sent::Landed(found)),
                Landed::Absent => Err(error),
                Landed::Unknown => Err(KubeError::Unreachable(UNKNOWN.into())),
            },
            other => other,
        }
    }

    /// Sends `request` and reads the answer as JSON.
    pub async fn json(&self, request: &Request) -> Result<Value, KubeError> {
        let answer = self.send(request).await?;
        serde_json::from_slice(&answer.body).map_err(|e| KubeError::Api {
            status: answer.status,
            reason: "InvalidResponse".into(),
            message: format!("the API server answered {}: {e}", request.path),
        })
    }

    /// Opens a stream (a watch).
    pub async fn open(&self, request: &Request) -> Result<H::Lines, KubeError> {
        self.retrying(async || self.host.open(request).await).await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! A scripted host for the engine's unit tests.

    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::time::Duration;

    use super::*;
    use crate::host::Lines;

    /// Answers requests in order from a script and records what was sent and waited.
    #[derive(Default)]
    pub struct Scripted {
        pub answers: RefCell<VecDeque<Result<Response, TransportError>>>,
        pub sent: RefCell<Vec<String>>,
        pub slept: RefCell<Vec<Duration>>,
    }

    pub struct NoLines;

    impl Lines for NoLines {
        async fn next_line(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
            Ok(None)
        }
    }

    impl Host for Scripted {
        type Lines = NoLines;

        async fn send(&self, request: &Request) -> Result<Response, TransportError> {
            self.sent
                .borrow_mut()
                .push(format!("{} {}", request.method.as_str(), request.path));
            self.answers
                .borrow_mut()
                .pop_front()
                .expect("the script has an answer")
        }

        async fn open(
            &self,
            request: &Request,
        ) -> Result<Result<NoLines, Response>, TransportError> {
            self.send(request).await.map(|_| Ok(NoLines))
        }

        async fn sleep(&self, duration: Duration) {
            self.slept.borrow_mut().push(duration);
        }
    }

    pub fn answer(status: u16, body: &str) -> Result<Response, TransportError> {
        Ok(Response {
            status,
            retry_after: (status == 429).then(|| Duration::from_secs(1)),
            body: body.as_bytes().to_vec(),
        })
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        futures_util::FutureExt::now_or_never(future).expect("scripted futures never wait")
    }

    #[test]
    fn transient_failures_are_retried_and_validation_errors_are_not() {
        let host = Scripted::default();
        host.answers.borrow_mut().extend([
            answer(429, "{}"),
            Err(TransportError::Dropped("reset".into())),
            answer(500, "{}"),
            answer(200, r#"{"ok": true}"#),
        ]);
        let kube = Kube::new(host, Backoff::default());
        let value = block_on(kube.json(&Request::get("/api/v1".into()))).unwrap();
        assert_eq!(value["ok"], true);
        assert_eq!(kube.host.sent.borrow().len(), 4);
        assert_eq!(
            *kube.host.slept.borrow(),
            [
                Duration::from_secs(1),
                Duration::from_millis(200),
                Duration::from_millis(400)
            ]
        );

        kube.host.answers.borrow_mut().push_back(answer(
            422,
            r#"{"kind":"Status","reason":"Invalid","message":"Service \"a.b\" is invalid"}"#,
        ));
        let error = block_on(kube.send(&Request::get("/x".into()))).unwrap_err();
        assert_eq!(error.to_string(), "Service \"a.b\" is invalid");
        assert_eq!(kube.host.sent.borrow().len(), 5, "422 is not retried");
    }

    #[test]
    fn access_problems_are_told_apart() {
        let host = Scripted::default();
        host.answers
            .borrow_mut()
            .push_back(answer(401, r#"{"message":"Unauthorized"}"#));
        host.answers
            .borrow_mut()
            .extend((0..4).map(|_| Err(TransportError::Connect("connection refused".into()))));
        let kube = Kube::new(host, Backoff::default());
        let error = block_on(kube.send(&Request::get("/api".into()))).unwrap_err();
        assert!(error.is_access(), "{error}");
        let error = block_on(kube.send(&Request::get("/api".into()))).unwrap_err();
        assert_eq!(error, KubeError::Unreachable("connection refused".into()));
        assert!(
            kube.host.answers.borrow().is_empty(),
            "4 attempts when nothing answers"
        );
    }
}
