//! The harness of shiplog's end-to-end tests and console benchmark: the history server in this
//! process on a fresh SQLite database ([`server`]), a real headless Chromium driven over WebDriver
//! ([`browser`]), deploys to seed it with ([`deploys`]), and [`run`], which ties one of each
//! into a [`Session`] for a test and saves a screenshot when the test fails.
//!
//! The console is served from `console/dist`, which `cargo xtask console` builds; the server
//! reads it from disk in debug builds and embeds it in release builds (benchmarks).

pub mod browser;
pub mod deploys;
pub mod server;

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::FutureExt as _;

use crate::browser::Browser;
use crate::server::TestServer;

/// The repository root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate lives one level below the root")
        .to_path_buf()
}

/// Cargo's target directory (where artifacts of failed tests go).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// The built console, failing with what to do when it has not been built.
pub fn console_dist() -> anyhow::Result<PathBuf> {
    let dist = workspace_root().join("console").join("dist");
    anyhow::ensure!(
        dist.join("index.html").is_file(),
        "{} is missing: the console has not been built. Run `cargo xtask console` first.",
        dist.join("index.html").display()
    );
    Ok(dist)
}

/// What a browser test works with: its own server (and database) and its own browser session.
/// Cheap to clone.
#[derive(Clone)]
pub struct Session {
    pub server: Arc<TestServer>,
    pub browser: Browser,
}

/// Runs a browser test: starts a server on a fresh database and a browser, hands both to `body`,
/// and tears them down afterwards. When `body` fails (an error or a panic), a screenshot of the
/// page is saved as `target/e2e-artifacts/<test-name>.png` before the failure is passed on.
pub async fn run<F, Fut>(body: F)
where
    F: FnOnce(Session) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    run_on(TestServer::start(), body).await;
}

/// [`run`] with a server whose history needs the read token [`server::READ_TOKEN`].
pub async fn run_read_protected<F, Fut>(body: F)
where
    F: FnOnce(Session) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    run_on(TestServer::start_read_protected(), body).await;
}

/// [`run`], with a server that tells `webhooks` of every deploy.
pub async fn run_with_webhooks<F, Fut>(webhooks: shiplog_server::webhooks::Webhooks, body: F)
where
    F: FnOnce(Session) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    run_on(TestServer::start_with_webhooks(webhooks), body).await;
}

/// [`run`], with a server within `limits`.
pub async fn run_with<F, Fut>(limits: shiplog_server::limits::Limits, body: F)
where
    F: FnOnce(Session) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    run_on(TestServer::start_with(limits), body).await;
}

async fn run_on<F, Fut>(server: impl Future<Output = anyhow::Result<TestServer>>, body: F)
where
    F: FnOnce(Session) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let name = test_name();
    let server = server
        .await
        .unwrap_or_else(|e| panic!("{name}: starting the server: {e:#}"));
    let server = Arc::new(server);
    let browser = Browser::launch(&server.base)
        .await
        .unwrap_or_else(|e| panic!("{name}: starting the browser: {e:#}"));
    // Held until the end: a body that uses only some of the session must not stop the rest.
    let session = Session { server, browser };
    let failure = match AssertUnwindSafe(body(session.clone())).catch_unwind().await {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(Failure::Error(error)),
        Err(payload) => Some(Failure::Panic(payload)),
    };
    if failure.is_some() {
        save_screenshot(&session.browser, &name).await;
    }
    session.browser.quit().await;
    match failure {
        None => {}
        Some(Failure::Error(error)) => panic!("{name}: {error:#}"),
        // The panic hook has already reported it.
        Some(Failure::Panic(payload)) => std::panic::resume_unwind(payload),
    }
}

/// How a test body failed.
enum Failure {
    Error(anyhow::Error),
    Panic(Box<dyn Any + Send>),
}

/// The running test's name: libtest names each test's thread after it, and a
/// `#[tokio::test]` body starts on that thread.
fn test_name() -> String {
    let full = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_owned();
    full.rsplit("::").next().unwrap_or(&full).to_owned()
}

async fn save_screenshot(browser: &Browser, name: &str) {
    let dir = target_dir().join("e2e-artifacts");
    let path = dir.join(format!("{name}.png"));
    let saved = async {
        let png = browser.client.screenshot().await?;
        std::fs::create_dir_all(&dir)?;
        std::fs::write(&path, png)?;
        anyhow::Ok(())
    };
    match saved.await {
        Ok(()) => eprintln!("{name}: screenshot saved to {}", path.display()),
        Err(error) => eprintln!("{name}: no screenshot ({error:#})"),
    }
}
