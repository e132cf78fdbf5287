use thiserror::Error;

/// Storage failures, with stable codes. Messages are for operators (logs, CLI); the web layer
/// maps them to its own Japanese pages.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "データベースURL {0} は使えません。sqlite://… または postgres://… を指定してください。"
    )]
    UnsupportedUrl(String),
    #[error("データベース {url} に接続できません: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("マイグレーションに失敗しました: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("データベースの操作に失敗しました: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("データベースの値を読めません（{table}.{column}）: {message}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        message: String,
    },
    #[error("既に登録されています: {0}")]
    Duplicate(String),
}

impl StoreError {
    pub(crate) fn connect(url: &str, source: sqlx::Error) -> Self {
        Self::Connect {
            url: crate::redact(url),
            source,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedUrl(_) => "store.unsupported_url",
            Self::Connect { .. } => "store.connect",
            Self::Migrate(_) => "store.migrate",
            Self::Db(_) => "store.db",
            Self::Corrupt { .. } => "store.corrupt",
            Self::Duplicate(_) => "store.duplicate",
        }
    }
}
