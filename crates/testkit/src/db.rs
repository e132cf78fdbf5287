//! Fresh, migrated databases for tests: a SQLite file in a temp dir, or a PostgreSQL schema of
//! its own in the database named by `TEIKYO_TEST_DATABASE_URL` (CI sets it; see `.ci/run`).

use anyhow::Context;
use teikyo_store::{Backend, Store, StoreOptions};

/// The variable that turns on the PostgreSQL half of every storage test.
pub const PG_URL_VAR: &str = "TEIKYO_TEST_DATABASE_URL";

/// The PostgreSQL URL for tests, if set.
pub fn postgres_url() -> Option<String> {
    std::env::var(PG_URL_VAR)
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// Backends to run a storage test on: SQLite always, PostgreSQL when configured.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if postgres_url().is_some() {
        v.push(Backend::Postgres);
    }
    v
}

/// A migrated database that lives as long as this value. Call [`TestDb::cleanup`] at the end of a
/// test to drop a PostgreSQL schema; a panicking test leaves it behind in the scratch database.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => {
                let url = postgres_url().with_context(|| format!("{PG_URL_VAR} is not set"))?;
                Self::postgres(&url).await
            }
        }
    }

    pub async fn sqlite() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
        let store = Store::connect(&url).await?;
        store.migrate().await?;
        Ok(Self {
            store,
            url,
            _dir: Some(dir),
            pg_schema: None,
        })
    }

    pub async fn postgres(url: &str) -> anyhow::Result<Self> {
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        {
            let admin = Store::connect(url).await?;
            admin
                .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                .await?;
            admin.close().await?;
        }
        let opts = StoreOptions {
            max_connections: 4,
            pg_schema: Some(schema.clone()),
            ..StoreOptions::default()
        };
        let store = Store::connect_with(url, &opts).await?;
        store.migrate().await?;
        Ok(Self {
            store,
            url: url.to_owned(),
            _dir: None,
            pg_schema: Some(schema),
        })
    }

    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Closes the pool and drops the PostgreSQL schema.
    pub async fn cleanup(self) -> anyhow::Result<()> {
        self.store.close().await?;
        if let Some(schema) = &self.pg_schema {
            let admin = Store::connect(&self.url).await?;
            admin
                .execute_unprepared(&format!("DROP SCHEMA {schema} CASCADE"))
                .await?;
            admin.close().await?;
        }
        Ok(())
    }
}
