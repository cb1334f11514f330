//! The GitHub Actions runner protocol, as pure functions over text: reading the step's inputs
//! ([`inputs`]), the workflow commands printed on stdout ([`commands`]), the file commands
//! appended to `$GITHUB_OUTPUT`, `$GITHUB_STATE` and `$GITHUB_ENV` ([`files`]), the job summary
//! ([`summary`], escaped with [`markdown`]). The job's steps, as GitHub's REST API reports them,
//! come from the engine (`shiplog_engine::github`).
//!
//! Nothing here touches the process: environment variables come in through lookup closures,
//! random bytes as arguments, and the caller prints or appends what comes back. That keeps the
//! module buildable for `wasm32-unknown-unknown`, where the Node host does the I/O.

pub mod commands;
pub mod files;
pub mod inputs;
pub mod markdown;
pub mod summary;
