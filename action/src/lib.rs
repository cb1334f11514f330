//! The shiplog GitHub Action: the deploy engine compiled to WebAssembly and run by the runner's
//! own Node. `action/dist/main.cjs` calls [`main_step`], `post.cjs` calls [`post_step`]; both
//! resolve to the step's exit code.
//!
//! Everything is decided in Rust (the engine's pipeline, `shiplog_engine::pipeline`, and the
//! GitHub runner protocol, [`runner`]); the JS
//! host (`action/js/host.cjs`, bound in [`js`]) only performs I/O: HTTP(S) with the cluster's
//! CA and client certificate ([`host`]), files, environment, credential plugins ([`platform`]).

mod github_deployment;
pub mod host;
mod job;
pub mod js;
mod main_step;
mod plan_comment;
pub mod platform;
mod post_step;
mod protocol;
mod report;
pub mod runner;
mod step_inputs;

use wasm_bindgen::prelude::*;

/// Panics print their message before the module aborts (the release profile aborts).
fn report_panics() {
    std::panic::set_hook(Box::new(|info| {
        js::print(&format!("::error::shiplog stopped unexpectedly: {info}\n"));
    }));
}

/// The Action's main step: deploy (or, in `mode: notify`, only note that the job is watched).
#[wasm_bindgen(js_name = mainStep)]
pub async fn main_step() -> u8 {
    report_panics();
    let code = main_step::run().await;
    js::close_connections();
    code
}

/// The post step: alert Slack when a step of this job failed.
#[wasm_bindgen(js_name = postStep)]
pub async fn post_step() -> u8 {
    report_panics();
    let code = post_step::run().await;
    js::close_connections();
    code
}
