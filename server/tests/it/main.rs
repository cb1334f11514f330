//! The server's integration tests. Each test gets a fresh database: SQLite by default,
//! PostgreSQL when `SHIPLOG_TEST_POSTGRES` names a server (`cargo xtask test` runs both).

mod auth;
mod backup;
mod binary;
mod common;
mod crash;
mod deploys;
mod environments;
mod flags;
mod history;
mod hostile;
mod insights;
mod limits;
mod locks;
mod manifests;
mod meta;
mod migrations;
mod reaper;
mod records;
mod replicas;
mod retention;
mod shutdown;
mod sse;
mod stream;
mod transport;
mod upgrade;
mod webhooks;
mod wire;
