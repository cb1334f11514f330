//! kubesim's integration tests: the real `kubectl` (from `$KUBECTL`, else `PATH`) against the
//! real `shiplog-kubesim` binary, each test with a server, kubeconfig and kubectl cache of its
//! own.

mod api;
mod failures;
mod harness;
mod http;
mod rollout;
mod server;
mod storage;
mod watch;
