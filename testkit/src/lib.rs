//! What the tests of several shiplog crates share: kubesim per test ([`kubesim`]), and local
//! stand-ins for the services the tests cannot reach, holding clients to the real APIs'
//! documented rules and limits — Slack ([`slack`]) and GitHub's REST API and OIDC token service
//! ([`github`]).

pub mod github;
pub mod kubesim;
pub mod slack;
