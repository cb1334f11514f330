//! The shiplog deploy engine.
//!
//! This crate is built as pure decisions over data — manifests → plan, observed status →
//! verdict — with all I/O behind a small host interface, so the same code runs natively (the
//! `shiplog` CLI) and as WebAssembly under Node (the GitHub Action).
//!
//! The pure core: loading manifests with their origin ([`manifest`]), validating them before
//! anything is touched ([`validate`]), substituting images ([`images`]), ordering the apply
//! ([`plan`]), judging rollouts ([`rollout`]), explaining failures ([`explain`]), reading a
//! kubeconfig ([`kubeconfig`]) and building API requests ([`kube`]). The deploy flow
//! ([`deploy`]) runs over the [`host::Host`] interface; [`native`] (feature `cli`) is the
//! native host: reqwest + tokio, kubeconfig files and exec credential plugins. [`wording`]
//! counts things in messages.

pub mod check;
pub mod deploy;
pub mod duration;
pub mod explain;
pub mod host;
pub mod images;
pub mod kube;
pub mod kubeconfig;
pub mod manifest;
#[cfg(feature = "cli")]
pub mod native;
pub mod pipeline;
pub mod plan;
pub mod record;
pub mod rollout;
pub mod runner;
pub mod slack;
pub mod sources;
pub mod validate;
pub mod wording;
