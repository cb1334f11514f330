//! `/api/v1/stream`: server-sent events, one per created or updated deploy. The event name is
//! the kind (`created`, `updated`) and the data a [`DeployEvent`] as JSON.
//!
//! A client that falls further behind than its buffer ([`crate::limits::Limits::stream_buffer`])
//! gets a last event, `resync` ([`RESYNC_EVENT`]), and the stream ends; the connection is
//! closed (at the latest after `resync_grace`, even if the client stopped reading). The client
//! should fetch what it shows again and reconnect. At shutdown every stream ends.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use prometheus_client::metrics::gauge::Gauge;
use shiplog_model::DeployEvent;
use shiplog_model::event::RESYNC_EVENT;

use crate::AppState;
use crate::auth::ReadAccess;
use crate::events::{Frame, Next};
use crate::transport::ConnectionHandle;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/stream", get(stream))
}

/// Live deploy events.
#[utoipa::path(
    get, path = "/api/v1/stream", tag = "deploys",
    responses((status = 200, description = "text/event-stream of DeployEvent; a final `resync` event when the client fell too far behind", body = DeployEvent, content_type = "text/event-stream"))
)]
pub async fn stream(
    State(state): State<AppState>,
    _: ReadAccess,
    connection: Option<Extension<ConnectionHandle>>,
) -> impl IntoResponse {
    let clients = ClientCount::enter(state.metrics.stream_clients.clone());
    let connection = connection.map(|Extension(c)| (c, state.limits.resync_grace));
    let subscription = state
        .events
        .subscribe(state.limits.stream_buffer, connection);
    let events = futures_util::stream::unfold(
        (subscription, clients),
        |(mut subscription, clients)| async move {
            let event = match subscription.next().await {
                Next::Event(frame) => to_sse(&frame),
                Next::Resync => Event::default()
                    .event(RESYNC_EVENT)
                    .data("this client fell behind: fetch what you show again, then reconnect"),
                Next::Closed => return None,
            };
            Some((Ok::<_, Infallible>(event), (subscription, clients)))
        },
    );
    (
        // The stream is the connection's last request: once it ends, the connection closes.
        [(header::CONNECTION, "close")],
        Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))),
    )
}

fn to_sse(frame: &Frame) -> Event {
    Event::default()
        .event(frame.kind.as_str())
        .id(frame.deploy.to_string())
        .data(&frame.json)
}

/// Counts a connected client for as long as its stream lives.
struct ClientCount(Gauge);

impl ClientCount {
    fn enter(gauge: Gauge) -> Self {
        gauge.inc();
        ClientCount(gauge)
    }
}

impl Drop for ClientCount {
    fn drop(&mut self) {
        self.0.dec();
    }
}
