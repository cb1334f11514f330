//! A local stand-in for Slack, on `127.0.0.1:0`, that holds the client to Slack's documented
//! rules: an incoming webhook answers `200 ok`; the Web API (`chat.postMessage`,
//! `chat.update`, `chat.getPermalink`) checks the bearer token, needs a `channel` and `text` or
//! `blocks`, rejects blocks beyond Slack's limits (`ok: false, error: invalid_blocks`) and messages over
//! 40,000 characters of text (`msg_too_long`), answers
//! JSON with `ok`, `ts` and `channel`, updates an existing message in place and threads
//! replies. It can be told to answer 429 with `Retry-After`, or 500, to the next requests.
//!
//! It lives with the tests rather than in the library: no production code needs axum, and the
//! rule that unit tests never open a socket keeps it out of `#[cfg(test)]` modules. The limits
//! are the library's public constants, the checks are its own, made on the JSON received.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Value, json};
use shiplog_engine::slack::message::limits;

/// The secret part of the stand-in's webhook URL.
pub const WEBHOOK_PATH: &str = "/services/T0STANDIN/B0STANDIN/hook-secret-4f2a";

/// What to answer instead of serving a request.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// 429 with `Retry-After: seconds`.
    RateLimit(u64),
    /// 500.
    ServerError,
}

/// A message as the stand-in stores it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: Option<String>,
    pub blocks: Value,
    /// How many times `chat.update` changed it.
    pub edits: u32,
}

#[derive(Default)]
struct Inner {
    token: String,
    base: String,
    channels: HashMap<String, String>,
    messages: Vec<Stored>,
    webhook_posts: Vec<Value>,
    faults: VecDeque<Fault>,
    requests: Vec<String>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(state: &Shared) -> MutexGuard<'_, Inner> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running stand-in; stopped when dropped.
pub struct Standin {
    pub base: String,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Standin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Standin {
    /// Starts a stand-in that accepts the bot token `token`.
    pub async fn start(token: &str) -> Standin {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state: Shared = Arc::new(Mutex::new(Inner {
            token: token.to_owned(),
            base: base.clone(),
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/services/{*path}", post(webhook))
            .route("/api/{method}", any(web_api))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Standin { base, state, task }
    }

    pub fn webhook_url(&self) -> String {
        format!("{}{WEBHOOK_PATH}", self.base)
    }

    pub fn api_url(&self) -> String {
        format!("{}/api", self.base)
    }

    /// Answers the next `times` requests with `fault`.
    pub fn fail_next(&self, times: usize, fault: Fault) {
        lock(&self.state).faults.extend((0..times).map(|_| fault));
    }

    /// The messages posted through the Web API, in order.
    pub fn messages(&self) -> Vec<Stored> {
        lock(&self.state).messages.clone()
    }

    /// The payloads the webhook accepted.
    pub fn webhook_posts(&self) -> Vec<Value> {
        lock(&self.state).webhook_posts.clone()
    }

    /// Every request received, as `METHOD /path`.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }
}

/// Characters as Slack counts them.
fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |t| t.chars().count())
}

/// A text object: a known type and between 1 and `max` characters.
fn check_text(text: &Value, max: usize, plain_only: bool) -> Result<(), String> {
    match text["type"].as_str() {
        Some("plain_text") => {}
        Some("mrkdwn") if !plain_only => {}
        other => return Err(format!("text type {other:?}")),
    }
    let n = chars(&text["text"]);
    if n == 0 || n > max {
        return Err(format!("text of {n} characters (max {max})"));
    }
    Ok(())
}

/// Slack's block limits, checked on what arrived.
fn check_blocks(blocks: &Value) -> Result<(), String> {
    let blocks = blocks.as_array().ok_or("blocks is not an array")?;
    if blocks.len() > limits::BLOCKS {
        return Err(format!("{} blocks", blocks.len()));
    }
    for block in blocks {
        match block["type"].as_str() {
            Some("header") => check_text(&block["text"], limits::HEADER_TEXT, true)?,
            Some("section") => {
                let fields = block["fields"].as_array().cloned().unwrap_or_default();
                if block["text"].is_null() && fields.is_empty() {
                    return Err("a section needs text or fields".into());
                }
                if !block["text"].is_null() {
                    check_text(&block["text"], limits::SECTION_TEXT, false)?;
                }
                if fields.len() > limits::FIELDS {
                    return Err(format!("{} fields", fields.len()));
                }
                for field in &fields {
                    check_text(field, limits::FIELD_TEXT, false)?;
                }
            }
            Some("context") => {
                let elements = block["elements"].as_array().ok_or("no elements")?;
                if elements.is_empty() || elements.len() > limits::CONTEXT_ELEMENTS {
                    return Err(format!("{} context elements", elements.len()));
                }
                for element in elements {
                    check_text(element, limits::SECTION_TEXT, false)?;
                }
            }
            Some("divider") => {}
            other => return Err(format!("block type {other:?}")),
        }
    }
    Ok(())
}

/// Slack's rule for a message: `text` or `blocks`, and blocks within the limits.
fn check_message(body: &Value) -> Result<(), &'static str> {
    let has_text = chars(&body["text"]) > 0;
    let has_blocks = body["blocks"].as_array().is_some_and(|b| !b.is_empty());
    if !has_text && !has_blocks {
        return Err("no_text");
    }
    if !body["blocks"].is_null() && check_blocks(&body["blocks"]).is_err() {
        return Err("invalid_blocks");
    }
    if text_characters(body) > limits::MESSAGE_TEXT {
        return Err("msg_too_long");
    }
    Ok(())
}

/// The characters of every `text` string in `value`, at any depth.
fn text_characters(value: &Value) -> usize {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| match value {
                Value::String(text) if key == "text" => text.chars().count(),
                other => text_characters(other),
            })
            .sum(),
        Value::Array(items) => items.iter().map(text_characters).sum(),
        _ => 0,
    }
}

/// The injected fault for this request, if any.
fn fault(state: &Shared, request: String) -> Option<Fault> {
    let mut inner = lock(state);
    inner.requests.push(request);
    inner.faults.pop_front()
}

fn fault_answer(fault: Fault, body: &'static str) -> Response {
    match fault {
        Fault::RateLimit(seconds) => {
            let mut answer = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
            answer.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&seconds.to_string()).unwrap(),
            );
            answer
        }
        Fault::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error").into_response(),
    }
}

async fn webhook(State(state): State<Shared>, Path(path): Path<String>, body: Bytes) -> Response {
    if let Some(fault) = fault(&state, "POST /services/…".into()) {
        return fault_answer(fault, "rate_limited");
    }
    if format!("/services/{path}") != WEBHOOK_PATH {
        return (StatusCode::NOT_FOUND, "no_service").into_response();
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    if let Err(error) = check_message(&payload) {
        return (StatusCode::BAD_REQUEST, error).into_response();
    }
    lock(&state).webhook_posts.push(payload);
    (StatusCode::OK, "ok").into_response()
}

fn api_error(error: &str) -> Response {
    axum::Json(json!({"ok": false, "error": error})).into_response()
}

/// The request's arguments: the JSON body of a POST, the query string of a GET.
fn arguments(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Option<Value> {
    if body.is_empty() {
        let pairs: serde_json::Map<String, Value> = query
            .unwrap_or_default()
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), json!(percent_decode(v))))
            .collect();
        return Some(Value::Object(pairs));
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    json.then(|| serde_json::from_slice(body).ok()).flatten()
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn web_api(
    State(state): State<Shared>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    http_method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fault) = fault(&state, format!("{http_method} /api/{method}")) {
        return fault_answer(fault, r#"{"ok":false,"error":"ratelimited"}"#);
    }
    let mut inner = lock(&state);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match bearer {
        None => return api_error("not_authed"),
        Some(token) if token != inner.token => return api_error("invalid_auth"),
        Some(_) => {}
    }
    let Some(args) = arguments(&headers, query.as_deref(), &body) else {
        return api_error("invalid_json");
    };
    let channel = args["channel"].as_str().unwrap_or_default().to_owned();
    if channel.is_empty() {
        return api_error("channel_not_found");
    }
    match method.as_str() {
        "chat.postMessage" => {
            if let Err(error) = check_message(&args) {
                return api_error(error);
            }
            let next = inner.channels.len() + 1;
            let id = if channel.starts_with('C') {
                channel
            } else {
                inner
                    .channels
                    .entry(channel)
                    .or_insert_with(|| format!("C{next:08}"))
                    .clone()
            };
            let thread_ts = args["thread_ts"].as_str().map(str::to_owned);
            if let Some(parent) = &thread_ts
                && !inner
                    .messages
                    .iter()
                    .any(|m| m.channel == id && &m.ts == parent)
            {
                return api_error("thread_not_found");
            }
            let ts = format!("1764000000.{:06}", inner.messages.len() + 1);
            inner.messages.push(Stored {
                channel: id.clone(),
                ts: ts.clone(),
                thread_ts,
                text: args["text"].as_str().map(str::to_owned),
                blocks: args["blocks"].clone(),
                edits: 0,
            });
            axum::Json(
                json!({"ok": true, "channel": id, "ts": ts, "message": {"text": args["text"]}}),
            )
            .into_response()
        }
        "chat.update" => {
            if let Err(error) = check_message(&args) {
                return api_error(error);
            }
            let ts = args["ts"].as_str().unwrap_or_default();
            let Some(message) = inner
                .messages
                .iter_mut()
                .find(|m| m.channel == channel && m.ts == ts)
            else {
                return api_error("message_not_found");
            };
            message.text = args["text"].as_str().map(str::to_owned);
            message.blocks = args["blocks"].clone();
            message.edits += 1;
            axum::Json(json!({"ok": true, "channel": channel, "ts": ts, "text": args["text"]}))
                .into_response()
        }
        "chat.getPermalink" => {
            let ts = args["message_ts"].as_str().unwrap_or_default();
            if !inner
                .messages
                .iter()
                .any(|m| m.channel == channel && m.ts == ts)
            {
                return api_error("message_not_found");
            }
            let permalink = format!("{}/archives/{channel}/p{}", inner.base, ts.replace('.', ""));
            axum::Json(json!({"ok": true, "channel": channel, "permalink": permalink}))
                .into_response()
        }
        _ => api_error("unknown_method"),
    }
}

/// What a Slack client shows for mrkdwn `text`: links as their labels, `&amp;`, `&lt;` and
/// `&gt;` decoded.
pub fn displayed(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('>').map_or(rest.len(), |e| start + e);
        let inner = &rest[start + 1..end];
        out.push_str(inner.split_once('|').map_or(inner, |(_, label)| label));
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Whether `text` is well-formed mrkdwn for Slack: every `&` starts an escape and every `<`
/// opens a link to a URL (record text never reaches Slack as a mention or a raw tag).
pub fn well_escaped(text: &str) -> bool {
    let entities_ok = text.match_indices('&').all(|(i, _)| {
        ["&amp;", "&lt;", "&gt;"]
            .iter()
            .any(|e| text[i..].starts_with(e))
    });
    let links_ok = text.match_indices('<').all(|(i, _)| {
        let inner = &text[i + 1..];
        (inner.starts_with("http://") || inner.starts_with("https://"))
            && inner
                .find('>')
                .is_some_and(|end| !inner[..end].contains('<'))
    });
    let closers = text.matches('>').count() == text.matches('<').count();
    entities_ok && links_ok && closers
}

/// Every text of a stored message or payload (fallback, headers, sections, fields, context).
pub fn texts(text: Option<&str>, blocks: &Value) -> Vec<String> {
    let mut all: Vec<String> = text.map(str::to_owned).into_iter().collect();
    for block in blocks.as_array().into_iter().flatten() {
        let objects = [&block["text"]]
            .into_iter()
            .chain(block["fields"].as_array().into_iter().flatten())
            .chain(block["elements"].as_array().into_iter().flatten());
        all.extend(objects.filter_map(|t| t["text"].as_str().map(str::to_owned)));
    }
    all
}
