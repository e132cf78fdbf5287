//! TestApp: the web application on a loopback port, over a fresh migrated SQLite database.
//!
//! ```no_run
//! # async fn t() {
//! let app = teikyo_testkit::app::TestApp::spawn().await;
//! let url = app.url("/healthz"); // http://127.0.0.1:<port>/healthz
//! # }
//! ```
//!
//! The server runs on the test's own runtime and stops when the `TestApp` is dropped (or, waiting
//! for requests in flight, on [`TestApp::shutdown`]). The database file lives in a temporary
//! directory that is removed with it.

use std::net::SocketAddr;

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use teikyo_search::SearchIndex;
use teikyo_store::Store;
use teikyo_web::{AppState, WebConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    addr: SocketAddr,
    store: Store,
    /// The node's search index (in memory), when the application was built with one.
    search: Option<Arc<SearchIndex>>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    // Dropped last: the server and pool must let go of the file first.
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// The full application with the default configuration. Panics if it cannot start: a test
    /// without its application has nothing to check.
    pub async fn spawn() -> Self {
        Self::spawn_with(WebConfig::default()).await
    }

    pub async fn spawn_with(config: WebConfig) -> Self {
        let index = Arc::new(
            SearchIndex::open(None).unwrap_or_else(|e| panic!("the search index opens: {e}")),
        );
        let shared = Arc::clone(&index);
        let mut app = Self::spawn_router(move |store| {
            teikyo_web::router(AppState::new(store, config).with_search(shared))
        })
        .await
        .unwrap_or_else(|err| panic!("TestApp did not start: {err:#}"));
        app.search = Some(index);
        app
    }

    /// Brings the search index up to the publication sequence (what `teikyo serve` does every
    /// two seconds), so that a test sees what it just published. Returns the rows applied.
    pub async fn catch_up_search(&self) -> anyhow::Result<usize> {
        let index = self
            .search
            .as_ref()
            .context("this TestApp was built without a search index")?;
        Ok(index.catch_up(&self.store).await?)
    }

    /// Serves whatever router `make_router` builds over the fresh store: for tests that add
    /// routes of their own or wrap the application.
    pub async fn spawn_router(make_router: impl FnOnce(Store) -> Router) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("creating the temporary directory")?;
        let url = format!("sqlite://{}", dir.path().join("teikyo.sqlite").display());
        let store = Store::connect(&url)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        store
            .migrate()
            .await
            .context("migrating the test database")?;

        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a loopback port")?;
        let addr = listener.local_addr()?;
        let app = make_router(store.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                // Either an explicit stop or the TestApp going away.
                let _ = stopped.await;
            };
            if let Err(err) = teikyo_web::serve(listener, app, shutdown).await {
                eprintln!("TestApp server failed: {err}");
            }
        });
        Ok(Self {
            addr,
            store,
            search: None,
            stop: Some(stop),
            server: Some(server),
            _dir: dir,
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `base_url()` joined with `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The application's store, for arranging data and checking effects.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stops accepting connections, waits for requests in flight, then closes the database.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        let _ = self.store.close().await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Graceful shutdown waits for idle keep-alive connections a browser may still hold;
        // a test that is over does not need to wait for that.
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}
