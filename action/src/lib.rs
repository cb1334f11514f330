//! The shiplog deploy engine.
//!
//! This crate is built as pure decisions over data — manifests → plan, observed status →
//! verdict — with all I/O behind a small host interface, so the same code runs natively (the
//! `shiplog` CLI) and as WebAssembly under Node (the GitHub Action).
//!
//! What is here so far is the pure core: loading manifests with their origin ([`manifest`]),
//! validating them before anything is touched ([`validate`]), substituting images
//! ([`images`]), ordering the apply ([`plan`]) and judging rollouts ([`rollout`]) and explaining failures ([`explain`]).

pub mod check;
pub mod explain;
pub mod images;
pub mod manifest;
pub mod plan;
pub mod rollout;
#[cfg(feature = "cli")]
pub mod sources;
pub mod validate;
