//! [`Host`] over the JS host's `node:http(s)`: one connection (base URL, TLS trust, client
//! certificate, bearer token) per server; watches come back as a stream of chunks split into
//! lines here.

use std::time::Duration;

use shiplog_engine::host::{Host, LineBuffer, Lines, MAX_ANSWER_BYTES, Response, TransportError};
use shiplog_engine::kube::request::Request;
use shiplog_engine::pipeline::Cluster;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::js;

/// `shiplog/<version>`: GitHub's API refuses requests without a user agent.
const USER_AGENT: &str = concat!("shiplog/", env!("CARGO_PKG_VERSION"));

/// One server, reached through Node.
pub struct NodeHost {
    connection: JsValue,
}

impl NodeHost {
    /// The API server of `cluster`.
    pub fn cluster(cluster: &Cluster) -> Result<Self, String> {
        let (cert, key) = cluster.client_cert.clone().unzip();
        Ok(NodeHost {
            connection: js::connect(
                &cluster.server,
                cluster.certificate_authority.clone(),
                cert,
                key,
                cluster.insecure_skip_tls_verify,
                cluster.token.as_ref().map(|t| t.0.clone()),
                USER_AGENT,
            )
            .map_err(|e| format!("{}: {}", cluster.server, js::message(&e)))?,
        })
    }

    /// A server with a publicly trusted certificate (or plain HTTP).
    pub fn public(base: &str, token: Option<&str>) -> Result<Self, String> {
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err("the URL must start with https:// or http://".into());
        }
        Ok(NodeHost {
            connection: js::connect(
                base,
                None,
                None,
                None,
                false,
                token.map(str::to_owned),
                USER_AGENT,
            )
            .map_err(|e| js::message(&e))?,
        })
    }

    async fn exchange(&self, request: &Request, streamed: bool) -> Result<JsValue, TransportError> {
        let promise = js::send(
            &self.connection,
            request.method.as_str(),
            &request.path,
            request.content_type.map(str::to_owned),
            request.body.clone(),
            streamed,
            MAX_ANSWER_BYTES as u32,
        );
        JsFuture::from(promise).await.map_err(transport_error)
    }
}

fn transport_error(error: JsValue) -> TransportError {
    let message = js::message(&error);
    match js::get(&error, "kind").as_string().as_deref() {
        Some("connect") => TransportError::Connect(message),
        Some("too-large") => TransportError::answer_too_large(),
        _ => TransportError::Dropped(message),
    }
}

fn response(answer: &JsValue) -> Response {
    let retry_after = js::get(answer, "retryAfter").as_f64().unwrap_or(-1.0);
    let body = js::get(answer, "body");
    Response {
        status: js::get(answer, "status").as_f64().unwrap_or(0.0) as u16,
        retry_after: (retry_after >= 0.0).then(|| Duration::from_secs(retry_after as u64)),
        body: if body.is_null() || body.is_undefined() {
            Vec::new()
        } else {
            js_sys::Uint8Array::new(&body).to_vec()
        },
    }
}

/// A node timer as a future, cleared when dropped: a timeout that lost its race (a watch that
/// ended first) must not keep node alive.
struct Timer {
    handle: JsValue,
    fired: JsFuture,
}

impl Timer {
    fn start(duration: Duration) -> Self {
        let handle = js::timer(duration.as_secs_f64() * 1000.0);
        let fired = JsFuture::from(js_sys::Promise::from(js::get(&handle, "promise")));
        Timer { handle, fired }
    }
}

impl Future for Timer {
    type Output = Result<JsValue, JsValue>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.fired).poll(cx)
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        js::cancel_timer(&self.handle);
    }
}

/// The lines of a watch; the stream is closed when dropped.
pub struct NodeLines {
    stream: JsValue,
    buffer: LineBuffer,
    ended: bool,
}

impl Drop for NodeLines {
    fn drop(&mut self) {
        js::close_stream(&self.stream);
    }
}

impl Lines for NodeLines {
    async fn next_line(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        loop {
            if let Some(line) = self.buffer.take_line() {
                return Ok(Some(line));
            }
            if self.ended {
                return Ok(self.buffer.finish());
            }
            let chunk = JsFuture::from(js::next_chunk(&self.stream))
                .await
                .map_err(transport_error)?;
            if chunk.is_null() {
                self.ended = true;
            } else {
                self.buffer
                    .push(&js_sys::Uint8Array::new(&chunk).to_vec())?;
            }
        }
    }
}

impl Host for NodeHost {
    type Lines = NodeLines;

    async fn send(&self, request: &Request) -> Result<Response, TransportError> {
        Ok(response(&self.exchange(request, false).await?))
    }

    async fn open(&self, request: &Request) -> Result<Result<NodeLines, Response>, TransportError> {
        let answer = self.exchange(request, true).await?;
        let stream = js::get(&answer, "stream");
        if stream.is_null() || stream.is_undefined() {
            return Ok(Err(response(&answer)));
        }
        Ok(Ok(NodeLines {
            stream,
            buffer: LineBuffer::default(),
            ended: false,
        }))
    }

    async fn sleep(&self, duration: Duration) {
        // A timer cannot fail.
        let _ = Timer::start(duration).await;
    }
}
