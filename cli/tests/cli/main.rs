//! The `shiplog` binary as a user runs it: `validate` on its own, `deploy` against the real
//! kubesim binary over HTTPS (one simulator per test).

mod client_cert;
mod deploy;
mod diff;
mod fail_fast;
mod locks;
mod owners;
mod record;
mod redeploy;
mod server_manifests;
mod slack;
mod support;
mod validate;
