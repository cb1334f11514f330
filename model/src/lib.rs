//! The shiplog wire contract.
//!
//! Every type that crosses a process boundary — the action reporting a deploy to the server, the
//! server answering the console — is defined here and only here. The crate does no I/O and
//! builds for `wasm32-unknown-unknown` as well as native targets, so the action (compiled to
//! wasm), the server and the console all share one definition.
//!
//! It is not the place for storage, HTTP or Kubernetes code: those live in the crates that
//! perform the I/O.

pub mod deliveries;
pub mod deploy;
pub mod environments;
pub mod error;
pub mod event;
pub mod ingest;
pub mod insights;
pub mod lifecycle;
pub mod limits;
pub mod locks;
pub mod manifests;
pub mod query;

pub use deliveries::{Deliveries, Delivery, DeliveryEvent, DeliveryState};
pub use deploy::{
    Commit, Deploy, DeployId, DeployStatus, Failure, GithubDeployment, ResourceAction,
    ResourceChange, SlackMessage, WorkflowRun, WorkloadRef,
};
pub use environments::{DeploySummary, EnvironmentCell, EnvironmentMatrix};
pub use error::{ApiError, ConflictBody, ErrorBody, FieldError};
pub use event::{DeployEvent, DeployEventKind};
pub use ingest::{Created, DeployUpdate, FinishedError, NewDeploy, TransitionError};
pub use insights::{DailyCount, InsightRow, Insights};
pub use locks::{Freeze, Hold, Lock, LockAction, LockCheck, LockEvent, LockRequest, Locks};
pub use manifests::{AppliedManifests, AppliedObject, ManifestsDiff, ObjectChange, ObjectDiff};
pub use query::{Cursor, CursorError, HistoryQuery, Page};

/// The base path of every versioned API route.
pub const API_PREFIX: &str = "/api/v1";
