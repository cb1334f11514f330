//! shiplog-engine: the deploy engine, with no I/O of its own.
//!
//! This crate is built as pure decisions over data — manifests → plan, observed status →
//! verdict — with all I/O behind a small host interface, so the same code runs natively (the
//! `shiplog` CLI) and as WebAssembly under Node (the GitHub Action).
//!
//! The pure core: loading manifests with their origin ([`manifest`]), validating them before
//! anything is touched ([`validate`]), substituting images ([`images`]), ordering the apply
//! ([`plan`]), judging rollouts ([`rollout`]), explaining failures ([`explain`]), reading a
//! kubeconfig ([`kubeconfig`]) and building API requests ([`kube`]). The deploy flow
//! ([`deploy`]) runs over the [`host::Host`] interface, and the whole step — deploy, record,
//! announce — over [`pipeline::Platform`]. The hosts live with the faces: the `shiplog` CLI
//! (crate `shiplog`: reqwest + tokio, kubeconfig files, exec credential plugins) and the GitHub
//! Action (crate `shiplog-action`: WebAssembly run by the runner's Node). [`pr_comment`] keeps
//! a plan's comment on a pull request and [`github_deployments`] mirrors a deploy as a GitHub
//! deployment; [`wording`] counts things in messages.

pub mod check;
pub mod deploy;
pub mod duration;
pub mod explain;
pub mod github;
pub mod github_deployments;
pub mod host;
pub mod images;
pub mod kube;
pub mod kubeconfig;
pub mod manifest;
pub mod pipeline;
pub mod plan;
pub mod pr_comment;
pub mod record;
pub mod rollout;
pub mod slack;
pub mod sources;
pub mod validate;
pub mod wording;
