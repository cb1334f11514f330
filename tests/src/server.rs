//! The history server on a loopback port in this process, on a SQLite database in a temporary
//! directory of its own, and [`Api`], a client of its HTTP API for seeding it.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use reqwest::StatusCode;
use shiplog_model::DeployEventKind;
use shiplog_model::{Created, DeployId, NewDeploy};
use shiplog_server::AppState;
use shiplog_server::auth::Tokens;
use shiplog_server::limits::Limits;
use shiplog_server::local::LocalServer;
use shiplog_server::store::Store;
use shiplog_server::webhooks::Webhooks;
use tempfile::TempDir;

/// The write token the server accepts.
pub const TOKEN: &str = "e2e-token";
/// The read token of a server started with [`TestServer::start_read_protected`].
pub const READ_TOKEN: &str = "e2e-read-token-5f1c";

/// A SQLite database in a temporary directory, removed when dropped.
pub struct Database {
    pub url: String,
    _dir: TempDir,
}

impl Database {
    pub fn new() -> anyhow::Result<Database> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("shiplog.db").display());
        Ok(Database { url, _dir: dir })
    }

    /// Opens (creating and migrating) the database.
    pub async fn open(&self) -> anyhow::Result<Store> {
        Store::open(&self.url)
            .await
            .with_context(|| format!("opening {}", self.url))
    }
}

/// The server, serving until dropped.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
    pub api: Api,
    server: LocalServer,
    _database: Database,
}

impl TestServer {
    /// A server on a fresh, empty database.
    pub async fn start() -> anyhow::Result<TestServer> {
        TestServer::start_with(Limits::default()).await
    }

    /// A server on a fresh, empty database, within `limits`.
    pub async fn start_with(limits: Limits) -> anyhow::Result<TestServer> {
        let database = Database::new()?;
        let store = database.open().await?;
        TestServer::serve(database, store, None, limits).await
    }

    /// A server on a fresh, empty database whose history needs [`READ_TOKEN`] to be read.
    pub async fn start_read_protected() -> anyhow::Result<TestServer> {
        let database = Database::new()?;
        let store = database.open().await?;
        TestServer::serve(database, store, Some(READ_TOKEN), Limits::default()).await
    }

    /// A server on a fresh, empty database that tells `webhooks` of every deploy.
    pub async fn start_with_webhooks(webhooks: Webhooks) -> anyhow::Result<TestServer> {
        let database = Database::new()?;
        let store = database.open().await?;
        TestServer::serve_with(database, store, None, |state| state.with_webhooks(webhooks)).await
    }

    /// A server on `store`, opened from `database`.
    pub async fn on(database: Database, store: Store) -> anyhow::Result<TestServer> {
        TestServer::serve(database, store, None, Limits::default()).await
    }

    /// A server on `store` (opened from `database`) within `limits`, whose history needs `read`
    /// to be read when one is given.
    async fn serve(
        database: Database,
        store: Store,
        read: Option<&str>,
        limits: Limits,
    ) -> anyhow::Result<TestServer> {
        TestServer::serve_with(database, store, read, |state| state.with_limits(limits)).await
    }

    /// [`TestServer::serve`] with the state `configure` makes.
    async fn serve_with(
        database: Database,
        store: Store,
        read: Option<&str>,
        configure: impl FnOnce(AppState) -> AppState,
    ) -> anyhow::Result<TestServer> {
        crate::console_dist()?;
        let tokens = Tokens {
            write: vec![TOKEN.into()],
            read: read.map(str::to_owned),
        };
        let server = LocalServer::start_configured(store, |_| tokens.into(), configure).await?;
        Ok(TestServer {
            api: Api::new(&server.base),
            base: server.base.clone(),
            server,
            _database: database,
        })
    }

    /// Runs the server's reaper now rather than at its next period: deploys open past their
    /// deadline become `abandoned`. How many did.
    pub async fn reap(&self) -> anyhow::Result<usize> {
        Ok(shiplog_server::reaper::reap(&self.server.state)
            .await?
            .len())
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Records `deploys` and only then announces them to the event stream, all at once: a burst
    /// no client reads as fast as it comes.
    pub async fn record_burst(&self, deploys: &[NewDeploy]) -> anyhow::Result<Vec<DeployId>> {
        let state = &self.server.state;
        let mut recorded = Vec::with_capacity(deploys.len());
        for deploy in deploys {
            match state
                .store
                .create(deploy.clone(), chrono::Utc::now())
                .await?
            {
                shiplog_server::store::Created::New(deploy) => recorded.push(deploy),
                shiplog_server::store::Created::Existing(_) => anyhow::bail!("recorded twice"),
            }
        }
        for deploy in &recorded {
            state.publish(DeployEventKind::Created, deploy);
        }
        Ok(recorded.iter().map(|d| d.id).collect())
    }

    /// Waits until `count` clients listen to the event stream, so that an event published
    /// from now on reaches them. Fails after `timeout`.
    pub async fn stream_clients(&self, count: usize, timeout: Duration) -> anyhow::Result<()> {
        let events = &self.server.state.events;
        tokio::time::timeout(timeout, async {
            while events.client_count() < count {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .with_context(|| format!("{count} stream client(s) not connected after {timeout:?}"))
    }
}

/// A client of the server's HTTP API.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(base: &str) -> Api {
        Api {
            base: base.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// Records `deploy` with `POST /api/v1/deploys`, returning its id.
    pub async fn record(&self, deploy: &NewDeploy) -> anyhow::Result<DeployId> {
        let response = self
            .http
            .post(format!("{}/api/v1/deploys", self.base))
            .bearer_auth(TOKEN)
            .json(deploy)
            .send()
            .await?;
        let status = response.status();
        ensure!(
            status == StatusCode::CREATED,
            "recording {} → {}: {status}: {}",
            deploy.app,
            deploy.namespace,
            response.text().await?
        );
        Ok(response.json::<Created>().await?.id)
    }

    /// Records every deploy of `deploys` in order, returning their ids.
    pub async fn record_all(&self, deploys: &[NewDeploy]) -> anyhow::Result<Vec<DeployId>> {
        let mut ids = Vec::with_capacity(deploys.len());
        for deploy in deploys {
            ids.push(self.record(deploy).await?);
        }
        Ok(ids)
    }

    /// Keeps `set` as what deploy `id` applied (`POST /api/v1/deploys/{id}/manifests`).
    pub async fn keep_manifests(
        &self,
        id: DeployId,
        set: &shiplog_model::AppliedManifests,
    ) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}/api/v1/deploys/{id}/manifests", self.base))
            .bearer_auth(TOKEN)
            .json(set)
            .send()
            .await?;
        let status = response.status();
        ensure!(
            status == StatusCode::CREATED,
            "keeping the manifests of {id}: {status}: {}",
            response.text().await?
        );
        Ok(())
    }

    /// `GET path` (which starts with `/`), without a token.
    pub async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self.http.get(format!("{}{path}", self.base)).send().await?)
    }
}
