use anyhow::ensure;
use libtest_mimic::Failed;
use teikyo_store::Store;
use teikyo_testkit::db::TestDb;

pub async fn migrate_is_idempotent(store: Store) -> anyhow::Result<()> {
    let before = store.applied_migrations().await?;
    store.migrate().await?;
    let after = store.applied_migrations().await?;
    ensure!(before == after, "{before:?} != {after:?}");
    ensure!(after.iter().any(|m| m == "facility"), "{after:?}");
    Ok(())
}

pub async fn sqlite_runs_in_wal_mode(store: Store) -> anyhow::Result<()> {
    let mode = store.sqlite_journal_mode().await?;
    match store.backend() {
        teikyo_store::Backend::Sqlite => ensure!(mode.as_deref() == Some("wal"), "{mode:?}"),
        teikyo_store::Backend::Postgres => ensure!(mode.is_none(), "{mode:?}"),
    }
    Ok(())
}

pub async fn ping_answers_until_closed(store: Store) -> anyhow::Result<()> {
    store.ping().await?;
    store.close().await?;
    ensure!(store.ping().await.is_err(), "ping after close succeeded");
    Ok(())
}

/// The two migration histories must produce the same tables, columns and NOT NULLs.
pub fn schemas_are_in_step() -> Result<(), Failed> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failed::from(e.to_string()))?;
    rt.block_on(async {
        let sqlite = TestDb::sqlite().await.map_err(|e| format!("{e:#}"))?;
        let pg = TestDb::new(teikyo_store::Backend::Postgres)
            .await
            .map_err(|e| format!("{e:#}"))?;
        let a = sqlite
            .store
            .schema_columns()
            .await
            .map_err(|e| e.to_string())?;
        let b = pg.store.schema_columns().await.map_err(|e| e.to_string())?;
        sqlite.cleanup().await.map_err(|e| e.to_string())?;
        pg.cleanup().await.map_err(|e| e.to_string())?;
        if a.is_empty() || a != b {
            let only_sqlite: Vec<_> = a.iter().filter(|c| !b.contains(c)).collect();
            let only_pg: Vec<_> = b.iter().filter(|c| !a.contains(c)).collect();
            return Err(format!(
                "schemas drifted: only in SQLite {only_sqlite:?}; only in PostgreSQL {only_pg:?}"
            )
            .into());
        }
        Ok(())
    })
}
