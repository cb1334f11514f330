//! The server on a loopback port inside the current process, for tests, benchmarks and tools
//! that embed it. It stops when [`LocalServer::stop`] is called or the value is dropped.

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::Auth;
use crate::limits::Limits;
use crate::store::Store;
use crate::{AppState, serve};

pub struct LocalServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash; also the public URL of its links.
    pub base: String,
    pub state: AppState,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl LocalServer {
    /// Serves `store` on a free loopback port with the default [`Limits`].
    pub async fn start(store: Store, auth: impl Into<Auth>) -> std::io::Result<LocalServer> {
        Self::start_with(store, |_| auth.into()).await
    }

    /// Serves `store` on a free loopback port with the credentials `auth` makes for the
    /// server's base URL (an OIDC audience is the server's URL).
    pub async fn start_with(
        store: Store,
        auth: impl FnOnce(&str) -> Auth,
    ) -> std::io::Result<LocalServer> {
        Self::start_with_limits(store, auth, Limits::default()).await
    }

    /// Serves `store` on a free loopback port within `limits`.
    pub async fn start_with_limits(
        store: Store,
        auth: impl FnOnce(&str) -> Auth,
        limits: Limits,
    ) -> std::io::Result<LocalServer> {
        Self::start_configured(store, auth, |state| state.with_limits(limits)).await
    }

    /// Serves `store` on a free loopback port with the state `configure` makes of the default
    /// one (limits, webhooks, freeze windows…).
    pub async fn start_configured(
        store: Store,
        auth: impl FnOnce(&str) -> Auth,
        configure: impl FnOnce(AppState) -> AppState,
    ) -> std::io::Result<LocalServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let state = configure(AppState::new(store, auth(&base), &base));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Ok(LocalServer {
            base,
            state,
            stop,
            task,
        })
    }

    /// Shuts down gracefully and waits for open requests to finish.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(());
        self.task.await.map_err(std::io::Error::other)?
    }
}
