//! The read side: get (objects, `status`, `scale`, `log`), list with label and field
//! selectors and `limit`/`continue`, and watch (from a resourceVersion or the current state,
//! with bookmarks and timeouts), each rendered as objects, Tables or metadata.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::{Format, Request, json_response, table};
use crate::error::{ApiError, ApiResult};
use crate::meta;
use crate::resources::Kind;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{Change, EventType, ObjKey, WatchFrom};
use crate::{AppState, Settings};

/// How often a watch that allows bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(5);

/// The key a named request addresses.
pub fn item_key(req: &Request) -> Option<ObjKey> {
    let t = &req.target;
    let name = t.name.as_deref()?;
    Some(ObjKey::new(
        t.kind,
        t.namespace.as_deref().unwrap_or(""),
        name,
    ))
}

/// Renders one object as the client asked.
pub fn render_one(req: &Request, obj: &Arc<Value>, status: StatusCode) -> Response {
    let body = match req.format {
        Format::Table => {
            let rv = obj["metadata"]["resourceVersion"].clone();
            table::table(
                req.target.kind,
                std::slice::from_ref(obj),
                json!({"resourceVersion": rv}),
                true,
            )
        }
        Format::Metadata => table::partial_metadata(obj),
        Format::Object => return json_response(status, "application/json", obj),
    };
    json_response(status, req.format.content_type(), &body)
}

pub fn get_or_list(app: &AppState, req: &Request) -> ApiResult<Response> {
    let Some(key) = item_key(req) else {
        return list(app, req);
    };
    let store = &app.sim.store;
    let obj = store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(key.kind.def(), &key.name))?;
    match req.target.subresource.as_deref() {
        None | Some("status") => Ok(render_one(req, &obj, StatusCode::OK)),
        Some("scale") if key.kind.def().has_scale => Ok(json_response(
            StatusCode::OK,
            "application/json",
            &scale_of(&obj),
        )),
        Some("log") if key.kind == Kind::Pod => pod_log(&app.sim.settings, req, &obj),
        Some(_) => Err(ApiError::path_not_found()),
    }
}

/// The `autoscaling/v1` Scale view of a workload.
pub fn scale_of(obj: &Value) -> Value {
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta::name(obj),
            "namespace": meta::namespace(obj),
            "uid": meta::uid(obj),
            "resourceVersion": obj["metadata"]["resourceVersion"],
            "creationTimestamp": obj["metadata"]["creationTimestamp"],
        },
        "spec": {"replicas": meta::i64_at(obj, &["spec", "replicas"]).unwrap_or(0)},
        "status": {
            "replicas": meta::i64_at(obj, &["status", "replicas"]).unwrap_or(0),
            "selector": crate::selector::to_query(&obj["spec"]["selector"]),
        },
    })
}

/// A container's (or an init container's) log, as the kubelet serves it: the text of the
/// first `--pod-log` rule its image matches, else a few simulated lines. `previous=true` reads
/// the container's previous instance, which only a restarted container has. `tailLines`, then
/// `limitBytes` (cutting where it falls, even inside a character), as the API server applies
/// them.
fn pod_log(settings: &Settings, req: &Request, pod: &Value) -> ApiResult<Response> {
    let pod_name = meta::name(pod);
    let containers = meta::array_at(pod, &["spec", "containers"]);
    let spec = match req.param("container") {
        Some(name) => meta::array_at(pod, &["spec", "initContainers"])
            .iter()
            .chain(containers)
            .find(|c| c["name"] == name),
        None => containers.first(),
    };
    let Some(spec) = spec else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "container {} is not valid for pod {pod_name}",
                req.param("container").unwrap_or_default()
            ),
        ));
    };
    let container = spec["name"].as_str().unwrap_or_default();
    let image = spec["image"].as_str().unwrap_or_default();
    let restarts = meta::array_at(pod, &["status", "initContainerStatuses"])
        .iter()
        .chain(meta::array_at(pod, &["status", "containerStatuses"]))
        .find(|s| s["name"] == container)
        .and_then(|s| s["restartCount"].as_i64())
        .unwrap_or(0);
    let previous = req.param("previous") == Some("true");
    if previous && restarts == 0 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
            ),
        ));
    }
    let text = match settings.pod_logs.iter().find(|rule| rule.matches(image)) {
        Some(rule) => rule.text.to_string(),
        None => {
            let started = meta::str_at(pod, &["status", "startTime"]).unwrap_or("");
            format!(
                "{started} kubesim: simulated log of container {container} ({image}) in pod \
                 {pod_name}\n{started} starting {image}\n{started} listening\n"
            )
        }
    };
    let mut body = match req.param("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => tail_lines(&text, n).as_bytes().to_vec(),
        None => text.into_bytes(),
    };
    if let Some(limit) = req
        .param("limitBytes")
        .and_then(|n| n.parse::<usize>().ok())
    {
        body.truncate(limit);
    }
    Ok(([(header::CONTENT_TYPE, "text/plain")], body).into_response())
}

/// The last `n` lines of `text`.
fn tail_lines(text: &str, n: usize) -> &str {
    if n == 0 {
        return "";
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    match body.rmatch_indices('\n').nth(n - 1) {
        Some((at, _)) => &text[at + 1..],
        None => text,
    }
}

/// The selectors and name a list or watch filters by.
struct Filter {
    kind: Kind,
    namespace: Option<String>,
    name: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn from_request(req: &Request) -> ApiResult<Self> {
        let fields = FieldSelector::parse(req.param("fieldSelector").unwrap_or(""))?;
        let name = req
            .target
            .name
            .clone()
            .or_else(|| fields.name().map(String::from));
        Ok(Self {
            kind: req.target.kind,
            namespace: req.target.namespace.clone(),
            name,
            labels: LabelSelector::parse(req.param("labelSelector").unwrap_or(""))?,
            fields,
        })
    }

    fn matches_key(&self, key: &ObjKey) -> bool {
        key.kind == self.kind
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| *ns == key.namespace)
            && self.name.as_ref().is_none_or(|n| *n == key.name)
    }

    fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }
}

fn list_kind(kind: Kind) -> String {
    format!("{}List", kind.name())
}

fn encode_continue(rv: u64, ns: &str, name: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{ns}/{name}")});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> ApiResult<(String, String)> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let start = value["start"].as_str().ok_or_else(bad)?;
    let (ns, name) = start.split_once('/').ok_or_else(bad)?;
    Ok((ns.to_string(), name.to_string()))
}

fn list(app: &AppState, req: &Request) -> ApiResult<Response> {
    let filter = Filter::from_request(req)?;
    let after = req.param("continue").map(decode_continue).transpose()?;
    let (all, rv) = app.sim.store.list(
        filter.kind,
        filter.namespace.as_deref(),
        after.as_ref().map(|(ns, n)| (ns.as_str(), n.as_str())),
    );
    let limit = req
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let mut items = Vec::new();
    let mut next = None;
    for (i, obj) in all.iter().enumerate() {
        if filter.name.as_ref().is_some_and(|n| n != meta::name(obj)) || !filter.matches(obj) {
            continue;
        }
        if limit.is_some_and(|l| items.len() == l) {
            let last: &Arc<Value> = items.last().expect("limit > 0");
            next = Some((
                encode_continue(rv, meta::namespace(last), meta::name(last)),
                all.len() - i,
            ));
            break;
        }
        items.push(obj.clone());
    }
    let mut list_meta = json!({"resourceVersion": rv.to_string()});
    if let Some((token, remaining)) = next {
        list_meta["continue"] = json!(token);
        if filter.labels.is_empty() && filter.fields == FieldSelector::default() {
            list_meta["remainingItemCount"] = json!(remaining);
        }
    }
    let def = filter.kind.def();
    let body = match req.format {
        Format::Table => table::table(filter.kind, &items, list_meta, true),
        Format::Metadata => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": list_meta,
            "items": items.iter().map(|o| table::partial_metadata(o)).collect::<Vec<_>>(),
        }),
        Format::Object => json!({
            "kind": list_kind(filter.kind),
            "apiVersion": def.api_version(),
            "metadata": list_meta,
            "items": items.iter().map(|o| (**o).clone()).collect::<Vec<_>>(),
        }),
    };
    Ok(json_response(
        StatusCode::OK,
        req.format.content_type(),
        &body,
    ))
}

/// A running watch: what it still has to send and where live changes come from.
struct Watch {
    filter: Filter,
    format: Format,
    backlog: VecDeque<Arc<Change>>,
    feed: broadcast::Receiver<Arc<Change>>,
    last_rv: u64,
    bookmarks: Option<tokio::time::Interval>,
    /// A bookmark marking the end of the initial events is owed (`sendInitialEvents`).
    initial_end: bool,
    deadline: Option<tokio::time::Instant>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    columns_sent: bool,
    done: bool,
}

impl Watch {
    fn line(&mut self, event: &str, object: Value) -> Bytes {
        let mut out = serde_json::to_vec(&json!({"type": event, "object": object}))
            .expect("JSON values serialize");
        out.push(b'\n');
        Bytes::from(out)
    }

    fn event(&mut self, change: &Change) -> Option<Bytes> {
        if change.rv <= self.last_rv && change.event != EventType::Added {
            return None;
        }
        self.last_rv = self.last_rv.max(change.rv);
        if !self.filter.matches_key(&change.key) || !self.filter.matches(&change.object) {
            return None;
        }
        let object = match self.format {
            Format::Table => {
                let rv = change.object["metadata"]["resourceVersion"].clone();
                let with_columns = !self.columns_sent;
                self.columns_sent = true;
                table::table(
                    self.filter.kind,
                    std::slice::from_ref(&change.object),
                    json!({"resourceVersion": rv}),
                    with_columns,
                )
            }
            Format::Metadata => table::partial_metadata(&change.object),
            Format::Object => (*change.object).clone(),
        };
        Some(self.line(change.event.as_str(), object))
    }

    fn bookmark(&mut self, initial_end: bool) -> Bytes {
        let def = self.filter.kind.def();
        let mut metadata = json!({"resourceVersion": self.last_rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object = json!({"kind": self.filter.kind.name(), "apiVersion": def.api_version(), "metadata": metadata});
        self.line("BOOKMARK", object)
    }

    /// The next chunk of the response, or `None` when the watch is over.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.done {
                return None;
            }
            if let Some(change) = self.backlog.pop_front() {
                if let Some(line) = self.event(&change) {
                    return Some(line);
                }
                continue;
            }
            if self.initial_end {
                self.initial_end = false;
                return Some(self.bookmark(true));
            }
            let deadline = self.deadline;
            let bookmark_tick = async {
                match self.bookmarks.as_mut() {
                    Some(interval) => interval.tick().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = self.feed.recv() => match received {
                    Ok(change) => {
                        if let Some(line) = self.event(&change) {
                            return Some(line);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // The client re-lists after an expired watch, as after a real one.
                        self.done = true;
                        let status = ApiError::expired(self.last_rv).status_body();
                        return Some(self.line("ERROR", status));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = bookmark_tick => return Some(self.bookmark(false)),
                _ = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                } => return None,
                _ = self.shutdown.changed() => return None,
            }
        }
    }
}

pub fn watch(app: &AppState, req: &Request) -> ApiResult<Response> {
    let filter = Filter::from_request(req)?;
    let requested = req.param("resourceVersion").unwrap_or("");
    let send_initial = req.flag("sendInitialEvents");
    let from = match requested {
        "" | "0" => WatchFrom::Current,
        _ if send_initial => WatchFrom::Current,
        rv => WatchFrom::Version(
            rv.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?,
        ),
    };
    let start_rv = match from {
        WatchFrom::Version(rv) => rv,
        WatchFrom::Current => 0,
    };
    let store = &app.sim.store;
    let (backlog, feed, now_rv, expired) =
        match store.watch(filter.kind, filter.namespace.as_deref(), from) {
            Some(start) => (start.backlog, start.feed, start.resource_version, false),
            None => (Vec::new(), store.subscribe(), 0, true),
        };
    let timeout = req
        .param("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let bookmarks = req.flag("allowWatchBookmarks").then(|| {
        let mut interval = tokio::time::interval(BOOKMARK_EVERY);
        interval.reset();
        interval
    });
    let mut watch = Watch {
        filter,
        format: req.format,
        backlog: backlog.into(),
        feed,
        last_rv: start_rv,
        bookmarks,
        initial_end: send_initial && req.flag("allowWatchBookmarks"),
        deadline: timeout,
        shutdown: app.shutdown.clone(),
        columns_sent: false,
        done: false,
    };
    if expired {
        let status = ApiError::expired(start_rv).status_body();
        let line = watch.line("ERROR", status);
        watch.done = true;
        watch.backlog.clear();
        return Ok(stream_response(req.format, watch, Some(line)));
    }
    if start_rv == 0 {
        // Initial events carry the store's version; later changes are newer.
        watch.last_rv = now_rv;
    }
    Ok(stream_response(req.format, watch, None))
}

fn stream_response(format: Format, watch: Watch, first: Option<Bytes>) -> Response {
    let stream = futures_util::stream::unfold((watch, first), |(mut watch, first)| async move {
        if let Some(line) = first {
            return Some((Ok::<_, std::io::Error>(line), (watch, None)));
        }
        watch.next().await.map(|line| (Ok(line), (watch, None)))
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, format.content_type()),
            (header::CACHE_CONTROL, "no-cache, private"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

#[cfg(test)]
mod tests {

    #[test]
    fn tail_lines_counts_from_the_end() {
        assert_eq!(super::tail_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(super::tail_lines("a\nb\nc", 2), "b\nc");
        assert_eq!(super::tail_lines("a\nb\n", 5), "a\nb\n");
        assert_eq!(super::tail_lines("a\nb\n", 0), "");
    }

    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let token = encode_continue(7, "ns", "web");
        assert_eq!(
            decode_continue(&token).unwrap(),
            ("ns".into(), "web".into())
        );
        assert!(decode_continue("!!").is_err());
    }
}
