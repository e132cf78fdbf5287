//! Persistence for Teikyo on SQLite (embedded, default) and PostgreSQL (several app nodes).
//!
//! One code base serves both: sea-orm on sqlx for queries, one migration history per backend
//! (`migrations/sqlite`, `migrations/postgres`, checked to stay in step), and repositories that
//! take and return domain types so nothing above this crate sees a table.

pub mod account;
pub mod bulk_mail;
pub mod closure;
mod entity;
mod error;
pub mod error_report;
pub mod facility;
pub mod insurance;
pub mod jobs;
pub mod mail;
pub mod mfa;
pub mod notice;
pub mod period;
pub mod publication;
pub mod registration;
pub mod report;
pub mod report_status;

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, SqliteTransactionMode,
    SqlxPostgresConnector, SqlxSqliteConnector, TransactionOptions, TransactionTrait,
};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use account::{
    AuditEvent, AuditRecord, AuditRepo, InventoryReason, MembershipOf, NewUser, Profile,
    SessionRepo, TokenPurpose, TokenRepo, TokenState, User, UserId, UserRepo,
};
pub use bulk_mail::{
    BatchTake, BulkMail, BulkMailId, BulkMailRepo, NewBulkMail, Recipient, RecipientQuery, SentTo,
};
pub use closure::{
    ClosedFacility, ClosureBatch, ClosureBatchId, ClosureBatchRepo, NewClosureBatch,
};
pub use error::StoreError;
pub use error_report::{ErrorReport, ErrorReportRepo, NewErrorReport};
pub use facility::{Facility, FacilityFilter, FacilityId, FacilityRepo, ImportSummary};
pub use insurance::{InsuranceRepo, MasterImport, MasterLookup, MasterRecord, PreprintImport};
pub use jobs::{Job, JobId, JobStatus, Jobs, NewJob, backoff};
pub use mail::{Mail, MailFilter, MailId, MailRepo, MailStatus, NewMail};
pub use mfa::{MfaRepo, TotpState};
pub use notice::{NewNotice, Notice, NoticeRepo};
pub use period::{PeriodAddressee, PeriodId, PeriodRepo, SentStep, StoredPeriod};
pub use publication::{
    Applied, Evaluation, NewClosure, PublicationRepo, PublicationRow, PublicationState,
    StoredClosure,
};
pub use registration::{Registration, RegistrationFilter, RegistrationId, RegistrationRepo};
pub use report::{
    Confirmation, FacilityDates, NewReport, Report, ReportId, ReportRepo, SaveOutcome,
    SavedSection, SectionSave, TransitionOutcome, TransitionRequest,
};
pub use report_status::{DailyCounts, ReportStatusRepo, StatusReport, StatusRow, StatusScope};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Which backend a database URL names: `sqlite:` (a path or `:memory:`) or `postgres(ql)://`.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// Connection tuning that differs between deployments.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL only: `search_path` for every connection (tests use a schema each).
    pub pg_schema: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            pg_schema: None,
        }
    }
}

/// A handle on the database: cheap to clone, shared by handlers, workers and commands.
#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    backend: Backend,
    /// SQLite: stops the background checkpointer when the last clone of this store is dropped.
    _checkpointer: Option<Arc<Checkpointer>>,
}

/// Moves SQLite's write-ahead log into the database file in the background.
///
/// SQLite's default runs that checkpoint inside whichever commit pushes the log past 1,000 pages,
/// so one unlucky request (or the commit of a 245,000-mail bulk send, about 2 s of copying) pays
/// for everyone's writes. With `wal_autocheckpoint=0` commits only append to the log, and this
/// task checkpoints every second without blocking writers or readers (PASSIVE).
#[derive(Debug)]
struct Checkpointer {
    stop: tokio::sync::watch::Sender<bool>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl Checkpointer {
    const INTERVAL: Duration = Duration::from_secs(1);

    fn spawn(pool: sqlx::SqlitePool) -> Arc<Self> {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    () = tokio::time::sleep(Self::INTERVAL) => {}
                }
                if pool.is_closed() {
                    break;
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; will retry");
                }
            }
        });
        Arc::new(Self { stop })
    }
}

impl Store {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    pub async fn connect_with(url: &str, opts: &StoreOptions) -> Result<Self, StoreError> {
        let backend = Backend::from_url(url)?;
        let mut checkpointer = None;
        let db = match backend {
            Backend::Sqlite => {
                let connect = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::connect(url, e))?
                    .create_if_missing(true)
                    // WAL: readers never wait for the writer, which is what a web app needs.
                    .journal_mode(SqliteJournalMode::Wal)
                    // NORMAL is durable across application crashes in WAL mode; only an OS crash
                    // can lose the last transactions. The usual trade-off for WAL.
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5))
                    .pragma("wal_autocheckpoint", "0");
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let pool = SqlitePoolOptions::new()
                    // An in-memory database exists per connection: keep exactly one.
                    .max_connections(if in_memory { 1 } else { opts.max_connections })
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(connect)
                    .await
                    .map_err(|e| StoreError::connect(url, e))?;
                // An in-memory database has no log file to move; keep its one connection free.
                if !in_memory {
                    checkpointer = Some(Checkpointer::spawn(pool.clone()));
                }
                SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
            }
            Backend::Postgres => {
                let mut connect = sqlx::postgres::PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::connect(url, e))?
                    .application_name("teikyo");
                if let Some(schema) = &opts.pg_schema {
                    connect = connect.options([("search_path", schema.as_str())]);
                }
                let pool = PgPoolOptions::new()
                    .max_connections(opts.max_connections)
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(connect)
                    .await
                    .map_err(|e| StoreError::connect(url, e))?;
                SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
            }
        };
        Ok(Self {
            db,
            backend,
            _checkpointer: checkpointer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations of this backend's history.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS
                .run(self.db.get_sqlite_connection_pool())
                .await
                .map_err(StoreError::Migrate),
            Backend::Postgres => POSTGRES_MIGRATIONS
                .run(self.db.get_postgres_connection_pool())
                .await
                .map_err(StoreError::Migrate),
        }
    }

    /// Names of the migrations applied so far, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                "SELECT description FROM _sqlx_migrations ORDER BY version",
            ))
            .await?;
        rows.iter()
            .map(|r| {
                r.try_get::<String>("", "description")
                    .map_err(StoreError::from)
            })
            .collect()
    }

    /// SQLite's journal mode (`wal` for every connection this store opens); `None` on PostgreSQL.
    pub async fn sqlite_journal_mode(&self) -> Result<Option<String>, StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                "PRAGMA journal_mode",
            ))
            .await?;
        row.map(|r| r.try_get::<String>("", "journal_mode"))
            .transpose()
            .map_err(StoreError::from)
    }

    /// Whether the database answers: what `/readyz` reports.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await.map_err(StoreError::from)
    }

    /// Copies the whole write-ahead log into the SQLite file now and empties it (before a file
    /// backup, and in benchmarks to count the deferred work); nothing on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            self.db
                .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await?;
        }
        Ok(())
    }

    pub async fn close(&self) -> Result<(), StoreError> {
        self.db.close_by_ref().await.map_err(StoreError::from)
    }

    /// Runs SQL that takes no parameters (schema set-up in tests and tools). Not for handlers.
    pub async fn execute_unprepared(&self, sql: &str) -> Result<(), StoreError> {
        self.db.execute_unprepared(sql).await?;
        Ok(())
    }

    pub fn facilities(&self) -> FacilityRepo<'_> {
        FacilityRepo::new(self)
    }

    pub fn users(&self) -> UserRepo<'_> {
        UserRepo::new(self)
    }

    pub fn tokens(&self) -> TokenRepo<'_> {
        TokenRepo::new(self)
    }

    pub fn sessions(&self) -> SessionRepo<'_> {
        SessionRepo::new(self)
    }

    pub fn mfa(&self) -> MfaRepo<'_> {
        MfaRepo::new(self)
    }

    pub fn audit(&self) -> AuditRepo<'_> {
        AuditRepo::new(self)
    }

    pub fn registrations(&self) -> RegistrationRepo<'_> {
        RegistrationRepo::new(self)
    }

    pub fn reports(&self) -> ReportRepo<'_> {
        ReportRepo::new(self)
    }

    pub fn periods(&self) -> PeriodRepo<'_> {
        PeriodRepo::new(self)
    }

    /// 報告状況一覧 and the completeness dashboard.
    pub fn report_status(&self) -> ReportStatusRepo<'_> {
        ReportStatusRepo::new(self)
    }

    /// The insurance-code master and the NDB preprint counts.
    pub fn insurance(&self) -> InsuranceRepo<'_> {
        InsuranceRepo::new(self)
    }

    /// 一括メール配信: drafts, sends and their recipients.
    pub fn bulk_mails(&self) -> BulkMailRepo<'_> {
        BulkMailRepo::new(self)
    }

    pub fn closure_batches(&self) -> ClosureBatchRepo<'_> {
        ClosureBatchRepo::new(self)
    }

    pub fn error_reports(&self) -> ErrorReportRepo<'_> {
        ErrorReportRepo::new(self)
    }

    pub fn publications(&self) -> PublicationRepo<'_> {
        PublicationRepo::new(self)
    }

    pub fn notices(&self) -> NoticeRepo<'_> {
        NoticeRepo::new(self)
    }

    pub fn mails(&self) -> MailRepo<'_> {
        MailRepo::new(&self.db)
    }

    /// The job queue, each call its own statement.
    pub fn jobs(&self) -> Jobs<'_, DatabaseConnection> {
        Jobs::new(&self.db, self.backend)
    }

    /// A write transaction for a state change together with the jobs it causes: commit both or
    /// neither (DESIGN §2.3).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(Tx {
            txn: self.begin_write().await?,
            backend: self.backend,
        })
    }

    /// A write transaction. On SQLite it is `BEGIN IMMEDIATE`, so it takes the write lock up
    /// front and id allocation inside it (see `facility::allocate_ids`) cannot race.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction, StoreError> {
        let opts = TransactionOptions {
            isolation_level: None,
            access_mode: Some(AccessMode::ReadWrite).filter(|_| self.backend == Backend::Postgres),
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate)
                .filter(|_| self.backend == Backend::Sqlite),
        };
        Ok(self.db.begin_with_options(opts).await?)
    }

    pub(crate) fn conn(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Table → column names (sorted), for the check that both migration histories produce the
    /// same schema.
    pub async fn schema_columns(&self) -> Result<Vec<(String, String, bool)>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name AS table_name, p.name AS column_name, p.\"notnull\" AS not_null \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' \
                 ORDER BY 1, 2"
            }
            Backend::Postgres => {
                "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                 (CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END)::bigint AS not_null \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
                 ORDER BY 1, 2"
            }
        };
        let rows = self
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                sql,
            ))
            .await?;
        rows.iter()
            .map(|r| {
                // SQLite reports NOT NULL for an INTEGER PRIMARY KEY as 0; the key is never null.
                let t: String = r.try_get("", "table_name")?;
                let c: String = r.try_get("", "column_name")?;
                let nn: i64 = r.try_get("", "not_null")?;
                Ok((t, c, nn != 0))
            })
            .collect()
    }
}

/// An open write transaction. Dropping it without [`Tx::commit`] rolls everything back.
pub struct Tx {
    txn: DatabaseTransaction,
    backend: Backend,
}

impl Tx {
    pub fn jobs(&self) -> Jobs<'_, DatabaseTransaction> {
        Jobs::new(&self.txn, self.backend)
    }

    pub(crate) fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.txn.commit().await?)
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        Ok(self.txn.rollback().await?)
    }
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_url() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("sqlite::memory:").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://a@b/c").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://a").is_err());
    }

    #[test]
    fn redacts_password() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    /// Both histories must have the same migrations (same versions and names); the schema they
    /// produce is compared on live databases by the contract suite.
    #[test]
    fn migrations_in_step() {
        let names = |m: &sqlx::migrate::Migrator| {
            m.iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&SQLITE_MIGRATIONS), names(&POSTGRES_MIGRATIONS));
        assert!(!names(&SQLITE_MIGRATIONS).is_empty());
    }
}
