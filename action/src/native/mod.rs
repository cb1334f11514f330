//! The native host (feature `cli`): HTTP over reqwest with rustls ([`http`]), tokio timers, and
//! the cluster access read from kubeconfig files, token files and exec credential plugins
//! ([`cluster`]). Nothing here decides anything; it only does I/O for the engine.

pub mod cluster;
pub mod files;
pub mod http;
pub mod platform;
