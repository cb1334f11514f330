//! The delivery log of outgoing webhooks (`GET /api/v1/deliveries`): for each webhook the server
//! was configured with and each deploy event it was told about, whether and when the receiver
//! took it.
//!
//! What the server sent and to where is not here: a delivery names its webhook, never its URL,
//! secret, token or headers, so the log can be shown to anyone who may read the history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::deploy::DeployId;

/// Most deliveries one answer lists (`limit`).
pub const MAX_DELIVERIES: u32 = 200;
/// Deliveries listed when `limit` is not given.
pub const DEFAULT_DELIVERIES: u32 = 50;

/// Which moment of a deploy a delivery announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryEvent {
    /// The deploy was recorded.
    Started,
    /// The deploy ended (any final status, `abandoned` included).
    Finished,
}

impl DeliveryEvent {
    /// Both events, in the order they happen.
    pub const ALL: [DeliveryEvent; 2] = [DeliveryEvent::Started, DeliveryEvent::Finished];

    /// The name used in webhook files and the database: `started`, `finished`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryEvent::Started => "started",
            DeliveryEvent::Finished => "finished",
        }
    }

    /// The name a receiver sees (`X-Shiplog-Event`, `event`): `deploy.started`, `deploy.finished`.
    pub fn wire_name(self) -> &'static str {
        match self {
            DeliveryEvent::Started => "deploy.started",
            DeliveryEvent::Finished => "deploy.finished",
        }
    }

    /// The event named `text` ([`DeliveryEvent::as_str`]).
    pub fn parse(text: &str) -> Option<DeliveryEvent> {
        DeliveryEvent::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not yet taken by the receiver: the first attempt or a retry is due at `next_attempt_at`.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; the server gave up.
    Failed,
}

impl DeliveryState {
    /// The name in the database and on the wire: `pending`, `delivered`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    /// The state named `text` ([`DeliveryState::as_str`]).
    pub fn parse(text: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One webhook delivery: one event of one deploy for one configured webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// Also sent to the receiver as `X-Shiplog-Delivery`.
    pub id: i64,
    pub deploy_id: DeployId,
    /// The webhook's name in the server's webhook file.
    pub webhook: String,
    pub event: DeliveryEvent,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// The HTTP status of the last answer, if the receiver answered at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    /// Why the last attempt failed (at most 1 KiB), e.g. `connection refused` or
    /// `the receiver answered 500`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (pending deliveries only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The answer of `GET /api/v1/deliveries`: newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deliveries {
    pub deliveries: Vec<Delivery>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for event in DeliveryEvent::ALL {
            assert_eq!(DeliveryEvent::parse(event.as_str()), Some(event));
            let json = serde_json::to_value(event).unwrap();
            assert_eq!(json, event.as_str());
        }
        assert_eq!(DeliveryEvent::Finished.wire_name(), "deploy.finished");
        for state in ["pending", "delivered", "failed"] {
            assert_eq!(DeliveryState::parse(state).unwrap().as_str(), state);
        }
        assert_eq!(DeliveryState::parse("sent"), None);
    }
}
