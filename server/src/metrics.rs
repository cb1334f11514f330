//! Prometheus metrics (`GET /metrics`): requests by route and status, request latency, deploys
//! written, open event-stream clients, and webhook deliveries by outcome.
//!
//! Every label takes one of a fixed set of values, whatever clients send: the route is the
//! matched route template (or `unmatched`), the method one of seven standard ones (or `other`),
//! so the number of series — and the size of a scrape — is bounded by the server's routes.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriteLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    outcome: &'static str,
}

/// The label of `method`: its name for the standard methods, `other` for any other, so a client
/// cannot add series by inventing methods.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method as M;
    match *method {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The server's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    writes: Family<WriteLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    /// Clients connected to the event stream.
    pub stream_clients: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("shiplog");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            latency.clone(),
        );
        let writes = Family::<WriteLabels, Counter>::default();
        registry.register(
            "deploy_writes",
            "Deploys created or updated",
            writes.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, retried, failed), and deliveries \
             dropped because their webhook had too many pending",
            deliveries.clone(),
        );
        let stream_clients = Gauge::default();
        registry.register(
            "stream_clients",
            "Clients connected to the event stream",
            stream_clients.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            writes,
            deliveries,
            stream_clients,
        }
    }
}

impl Metrics {
    /// Counts a created (`"created"`) or updated (`"updated"`) deploy.
    pub fn deploy_written(&self, kind: &'static str) {
        self.writes.get_or_create(&WriteLabels { kind }).inc();
    }

    /// Counts a webhook delivery attempt that `"delivered"`, will be `"retried"` or has
    /// `"failed"` for good.
    pub fn webhook_delivery(&self, outcome: &'static str) {
        self.deliveries
            .get_or_create(&DeliveryLabels { outcome })
            .inc();
    }

    /// The counter of deliveries `"dropped"`, for the store's outbox.
    pub fn webhook_dropped(&self) -> Counter {
        self.deliveries
            .get_or_create(&DeliveryLabels { outcome: "dropped" })
            .clone()
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// Middleware that counts and times every request by its route template (`unmatched` for the
/// fallback) and method.
pub async fn record(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route: route.clone(),
        status: response.status().as_u16(),
    };
    metrics.requests.get_or_create(&labels).inc();
    metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(start.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        let invented = axum::http::Method::from_bytes(&[b'X'; 300]).unwrap();
        assert_eq!(method_label(&invented), "other");
        assert_eq!(method_label(&axum::http::Method::PATCH), "PATCH");
        assert_eq!(method_label(&axum::http::Method::CONNECT), "other");
    }
}
