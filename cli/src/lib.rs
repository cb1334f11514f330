//! `shiplog`, the native face of the deploy engine: the `shiplog` binary (`src/main.rs`) and
//! the native host it runs the engine on — HTTP over reqwest with rustls ([`http`]), tokio
//! timers and the process ([`platform`]), files ([`files`]), and the cluster access read from
//! kubeconfig files, token files and exec credential plugins ([`cluster`]), and where a deploy
//! comes from outside GitHub Actions ([`provenance`]). Nothing here decides anything; it only
//! does I/O for the engine (`shiplog_engine`).

pub mod cluster;
pub mod files;
pub mod http;
pub mod platform;
pub mod provenance;
