//! Talking to the Kubernetes API the sans-I/O way: requests are built with kube's request layer
//! (`kube::core`) from kinds found by discovery ([`request`], [`discovery`]), sent through the
//! [`crate::host`] interface with retries for transient errors ([`retry`], [`client`]); error
//! answers are read as kube's `Status`, watch lines as its `WatchEvent`. Objects stay
//! `serde_json::Value`: the engine works on the user's objects as JSON, and typed bodies would
//! cost the Action's WebAssembly far more than they give.

pub mod client;
pub mod discovery;
pub mod request;
pub mod retry;
