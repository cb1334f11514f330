//! The shiplog console: a Yew single-page app served by `shiplog-server`.
//!
//! Pages (`pages/`) are views of one route each; components (`components/`) are shared pieces.
//! All HTTP goes through `api.rs`, the live stream through `live.rs`. The logic worth testing —
//! URL ⇄ filter state, the history reducer, time formatting, the environment grid — lives in
//! plain modules with unit tests that run natively (`cargo test -p shiplog-console`).

mod api;
mod app;
mod components;
mod environments;
mod history_state;
mod live;
mod pages;
mod route;
mod theme;
mod time;
mod url_state;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
