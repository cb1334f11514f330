//! [`Host`] over reqwest (rustls) and tokio for one server: a base URL, an optional bearer
//! token and the TLS trust of the kubeconfig.

use std::time::Duration;

use shiplog_engine::host::{Host, LineBuffer, Lines, MAX_ANSWER_BYTES, Response, TransportError};
use shiplog_engine::kube::request::{Method, Request};

/// How long a non-streaming request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Sent with every request: GitHub's API refuses requests without a `User-Agent`.
pub const USER_AGENT: &str = concat!("shiplog/", env!("CARGO_PKG_VERSION"));

/// One HTTP(S) server.
pub struct HttpHost {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl std::fmt::Debug for HttpHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpHost")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl HttpHost {
    /// A host for `base` (`https://…`, no trailing slash) with `builder`'s TLS settings.
    pub fn new(
        builder: reqwest::ClientBuilder,
        base: &str,
        token: Option<String>,
    ) -> Result<Self, reqwest::Error> {
        let client = builder
            .use_rustls_tls()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(HttpHost {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// A host for a server with a publicly trusted certificate, or plain HTTP (the history
    /// server).
    pub fn public(base: &str, token: Option<String>) -> Result<Self, String> {
        Self::new(reqwest::Client::builder(), base, token).map_err(|e| e.to_string())
    }

    fn request(&self, request: &Request) -> reqwest::RequestBuilder {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self
            .client
            .request(method, format!("{}{}", self.base, request.path))
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::USER_AGENT, USER_AGENT);
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        if let Some(content_type) = request.content_type {
            builder = builder.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        builder
    }
}

/// Describes a reqwest error without its URL and with the root cause, which is what a person
/// needs ("connection refused").
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

fn transport_error(error: reqwest::Error) -> TransportError {
    if error.is_connect() {
        TransportError::Connect(describe(error))
    } else {
        TransportError::Dropped(describe(error))
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// The whole body of `response`, chunk by chunk, failing as soon as it passes
/// [`MAX_ANSWER_BYTES`] (or says it will).
async fn read_within_limit(mut response: reqwest::Response) -> Result<Vec<u8>, TransportError> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_ANSWER_BYTES as u64)
    {
        return Err(TransportError::answer_too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(TransportError::answer_too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The lines of a streamed answer.
pub struct HttpLines {
    response: reqwest::Response,
    buffer: LineBuffer,
    done: bool,
}

impl Lines for HttpLines {
    async fn next_line(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        loop {
            if let Some(line) = self.buffer.take_line() {
                return Ok(Some(line));
            }
            if self.done {
                return Ok(self.buffer.finish());
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.buffer.push(&chunk)?,
                Ok(None) => self.done = true,
                Err(e) => return Err(transport_error(e)),
            }
        }
    }
}

impl Host for HttpHost {
    type Lines = HttpLines;

    async fn send(&self, request: &Request) -> Result<Response, TransportError> {
        let response = self
            .request(request)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        Ok(Response {
            status,
            retry_after,
            body: read_within_limit(response).await?,
        })
    }

    async fn open(&self, request: &Request) -> Result<Result<HttpLines, Response>, TransportError> {
        let response = self
            .request(request)
            .send()
            .await
            .map_err(transport_error)?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let retry_after = retry_after(response.headers());
            return Ok(Err(Response {
                status,
                retry_after,
                body: read_within_limit(response).await?,
            }));
        }
        Ok(Ok(HttpLines {
            response,
            buffer: LineBuffer::default(),
            done: false,
        }))
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
