//! `/api/v1/stream`: server-sent events, one per created or updated deploy. The event name is
//! the kind (`created`, `updated`) and the data a [`DeployEvent`] as JSON. A client too slow to
//! keep up receives a `lagged` event and should refetch what it shows.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use futures_util::StreamExt as _;
use prometheus_client::metrics::gauge::Gauge;
use shiplog_model::DeployEvent;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::AppState;
use crate::auth::ReadAccess;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/stream", get(stream))
}

/// Live deploy events.
#[utoipa::path(
    get, path = "/api/v1/stream", tag = "deploys",
    responses((status = 200, description = "text/event-stream of DeployEvent", body = DeployEvent, content_type = "text/event-stream"))
)]
pub async fn stream(
    State(state): State<AppState>,
    _: ReadAccess,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let clients = ClientCount::enter(state.metrics.stream_clients.clone());
    let events = BroadcastStream::new(state.events.subscribe()).map(move |item| {
        let _still_connected = &clients;
        Ok(match item {
            Ok(event) => to_sse(&event),
            Err(BroadcastStreamRecvError::Lagged(missed)) => {
                Event::default().event("lagged").data(missed.to_string())
            }
        })
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn to_sse(event: &DeployEvent) -> Event {
    Event::default()
        .event(event.kind.as_str())
        .id(event.deploy.id.to_string())
        .json_data(event)
        .expect("a deploy always serializes")
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
