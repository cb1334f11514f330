//! Headless Chromium over WebDriver: a `chromedriver` of its own on a free port, one browser
//! session on a fresh profile, and the page helpers the tests and the benchmark share.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// How long to wait for anything to show up before failing.
pub const PATIENCE: Duration = Duration::from_secs(15);
/// What chromedriver prints once it listens, followed by the port.
const STARTED: &str = "started successfully on port ";

/// A browser session and the chromedriver that runs it. Cheap to clone; the chromedriver is
/// killed when the last clone is dropped.
#[derive(Clone)]
pub struct Browser {
    pub client: Client,
    /// `http://127.0.0.1:PORT` of the server under test.
    base: String,
    _driver: Arc<Driver>,
}

/// The chromedriver process and the browser's profile directory.
struct Driver {
    _process: Child,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium on a fresh profile (a cold cache), for
    /// pages of the server at `base`.
    pub async fn launch(base: &str) -> anyhow::Result<Browser> {
        let (process, port) = start_chromedriver().await?;
        let profile = tempfile::tempdir()?;
        let arguments = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": arguments }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .context("starting a Chromium session")?;
        // Scripts wait for marks: give up on them, and on page loads, as on elements.
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(PATIENCE),
                Some(PATIENCE),
                Some(Duration::ZERO),
            ))
            .await?;
        Ok(Browser {
            client,
            base: base.to_owned(),
            _driver: Arc::new(Driver {
                _process: process,
                _profile: profile,
            }),
        })
    }

    /// Ends the browser session (closing Chromium).
    pub async fn quit(&self) {
        let _ = self.client.clone().close().await;
    }

    /// Opens `path` (which starts with `/`) of the server.
    pub async fn open(&self, path: &str) -> anyhow::Result<()> {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .with_context(|| format!("opening {path}"))
    }

    /// The current address, from the path on (`/history?namespace=prod`).
    pub async fn location(&self) -> anyhow::Result<String> {
        let url = self.client.current_url().await?;
        Ok(match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        })
    }

    /// Waits for an element matching the CSS `selector`.
    pub async fn wait_for(&self, selector: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(selector))
            .await
            .with_context(|| format!("waiting for `{selector}`"))
    }

    /// Forgets every `performance.mark`, so that [`Browser::mark`] waits for the next one.
    pub async fn clear_marks(&self) -> anyhow::Result<()> {
        self.client
            .execute("performance.clearMarks();", vec![])
            .await?;
        Ok(())
    }

    /// Waits until the page records `performance.mark(name)` (or returns at once if it has),
    /// and returns the mark's time in milliseconds since the navigation started.
    pub async fn mark(&self, name: &str) -> anyhow::Result<f64> {
        const SCRIPT: &str = r"
            const [name, done] = arguments;
            const found = () => performance.getEntriesByName(name, 'mark')[0];
            if (found()) { done(found().startTime); return; }
            new PerformanceObserver((_, observer) => {
                if (found()) { observer.disconnect(); done(found().startTime); }
            }).observe({ type: 'mark' });
        ";
        let time = self
            .client
            .execute_async(SCRIPT, vec![json!(name)])
            .await
            .with_context(|| format!("waiting for the mark `{name}`"))?;
        time.as_f64()
            .with_context(|| format!("the mark `{name}` has no time: {time}"))
    }

    /// Waits for the history view's first page (its `shiplog:history-rendered` mark).
    pub async fn history_rendered(&self) -> anyhow::Result<f64> {
        self.mark("shiplog:history-rendered").await
    }

    /// The ids of the deploys in the history table, as shown.
    pub async fn history_ids(&self) -> anyhow::Result<Vec<i64>> {
        let mut ids = Vec::new();
        for row in self
            .client
            .find_all(Locator::Css("table.history tr[data-deploy-id]"))
            .await?
        {
            let id = row.attr("data-deploy-id").await?.unwrap_or_default();
            ids.push(id.parse().with_context(|| format!("row id `{id}`"))?);
        }
        Ok(ids)
    }

    /// [`Browser::history_ids`] as a set.
    pub async fn history_id_set(&self) -> anyhow::Result<BTreeSet<i64>> {
        Ok(self.history_ids().await?.into_iter().collect())
    }
}

/// Starts chromedriver on a port of its choosing and waits until it says it listens there.
async fn start_chromedriver() -> anyhow::Result<(Child, u16)> {
    let mut process = Command::new(CHROMEDRIVER)
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {CHROMEDRIVER}"))?;
    let stdout = process.stdout.take().context("chromedriver's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await? {
            if let Some((_, rest)) = line.split_once(STARTED) {
                let port = rest.trim_end_matches('.').parse::<u16>()?;
                return anyhow::Ok(port);
            }
        }
        bail!("chromedriver exited before it started")
    })
    .await
    .context("chromedriver did not start")??;
    // Keep reading so that chromedriver never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((process, port))
}
