//! Events on the live stream (`GET /api/v1/stream`): one per created or updated deploy, and a
//! last [`RESYNC_EVENT`] for a client that fell too far behind.

use serde::{Deserialize, Serialize};

use crate::deploy::Deploy;

/// The SSE `event:` name of the stream's last event for a client that fell further behind than
/// the server buffers: events were lost, so the client must fetch what it shows again and
/// reconnect. The server closes the stream after it.
pub const RESYNC_EVENT: &str = "resync";

/// Whether the deploy is new or changed. Also the SSE `event:` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeployEventKind {
    Created,
    Updated,
}

impl DeployEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployEventKind::Created => "created",
            DeployEventKind::Updated => "updated",
        }
    }
}

/// One stream event: the kind and the deploy as it now stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployEvent {
    pub kind: DeployEventKind,
    pub deploy: Deploy,
}
