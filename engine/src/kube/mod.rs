//! Talking to the Kubernetes API without a Kubernetes client library: requests are plain
//! values built from discovery ([`request`], [`discovery`]), sent through the [`crate::host`]
//! interface with retries for transient errors ([`retry`], [`client`]).
//!
//! Why not `kube::core`: it needs `k8s-openapi` (one of the slowest crates to compile there is)
//! for typed objects, while the engine works on the user's objects as JSON and needs only
//! paths, query strings and content types — a hundred lines here, unit-tested.

pub mod client;
pub mod discovery;
pub mod request;
pub mod retry;
