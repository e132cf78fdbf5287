//! SMTP client connections, pooled (deadpool) and speaking SMTP through lettre's connection type.
//!
//! Why not lettre's own `AsyncSmtpTransport`: it leaves Nagle's algorithm on, and its connection
//! writes a message's body and the closing `.` separately, so every message waits for the
//! server's delayed ACK — 40 ms on Linux, about 25 mails a second per connection, whatever the
//! server (lettre PR #1159, merged upstream after 0.11.23). Here the TCP connection is opened by us
//! with `TCP_NODELAY` and handed to lettre, for plain SMTP and STARTTLS. Implicit TLS (port 465)
//! still uses lettre's own connect, which cannot take a socket we opened; it keeps the stall.

use crate::transport::{SendFailure, TlsMode};
use deadpool::managed::{self, Metrics, Pool, PoolError, RecycleError, RecycleResult};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use std::time::Duration;

#[derive(Clone)]
pub(crate) struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub credentials: Option<(String, String)>,
    pub timeout: Duration,
    pub pool_size: usize,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .field("timeout", &self.timeout)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

#[derive(Debug)]
pub(crate) struct Manager {
    settings: SmtpSettings,
    hello: ClientId,
}

/// Why a connection could not be opened or used.
#[derive(Debug)]
pub(crate) struct ConnectError {
    permanent: bool,
    message: String,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ConnectError {
    fn transient(message: impl Into<String>) -> Self {
        Self {
            permanent: false,
            message: message.into(),
        }
    }
}

impl From<lettre::transport::smtp::Error> for ConnectError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        Self {
            // A refused login is a setting to fix, not a reason to bounce mail: retry later.
            permanent: false,
            message: e.to_string(),
        }
    }
}

impl Manager {
    async fn connect(&self) -> Result<AsyncSmtpConnection, ConnectError> {
        let s = &self.settings;
        let mut conn = match s.tls {
            TlsMode::Tls => {
                AsyncSmtpConnection::connect_tokio1(
                    (s.host.as_str(), s.port),
                    Some(s.timeout),
                    &self.hello,
                    Some(TlsParameters::new(s.host.clone())?),
                    None,
                )
                .await?
            }
            TlsMode::None | TlsMode::StartTls => {
                let tcp = tokio::net::TcpStream::connect((s.host.as_str(), s.port))
                    .await
                    .map_err(|e| ConnectError::transient(format!("{}:{}: {e}", s.host, s.port)))?;
                tcp.set_nodelay(true)
                    .map_err(|e| ConnectError::transient(e.to_string()))?;
                let mut conn =
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?;
                if s.tls == TlsMode::StartTls {
                    if !conn.can_starttls() {
                        return Err(ConnectError::transient(format!(
                            "メールサーバ {} は STARTTLS に対応していません。設定 mail.transport.tls を見直してください（ポート465なら tls）。",
                            s.host
                        )));
                    }
                    conn.starttls(TlsParameters::new(s.host.clone())?, &self.hello)
                        .await?;
                }
                conn
            }
        };
        if let Some((user, password)) = &s.credentials {
            conn.auth(
                &[Mechanism::Plain, Mechanism::Login],
                &Credentials::new(user.clone(), password.clone()),
            )
            .await?;
        }
        Ok(conn)
    }
}

impl managed::Manager for Manager {
    type Type = AsyncSmtpConnection;
    type Error = ConnectError;

    async fn create(&self) -> Result<AsyncSmtpConnection, ConnectError> {
        tokio::time::timeout(self.settings.timeout, self.connect())
            .await
            .map_err(|_| {
                ConnectError::transient(format!(
                    "メールサーバ {}:{} への接続がタイムアウトしました。サーバの稼働と設定 mail.transport を確認してください（送信は後で再試行します）。",
                    self.settings.host, self.settings.port
                ))
            })?
    }

    async fn recycle(
        &self,
        conn: &mut AsyncSmtpConnection,
        metrics: &Metrics,
    ) -> RecycleResult<ConnectError> {
        if conn.has_broken() {
            return Err(RecycleError::message("connection broken"));
        }
        // Servers drop idle clients (Postfix after 300 s); check one that rested a while.
        if metrics.last_used() > Duration::from_secs(30) && !conn.test_connected().await {
            return Err(RecycleError::message("connection closed by the server"));
        }
        Ok(())
    }
}

/// A pool of SMTP connections to one server.
#[derive(Clone)]
pub struct SmtpPool {
    pool: Pool<Manager>,
    timeout: Duration,
}

impl std::fmt::Debug for SmtpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpPool")
            .field("status", &self.pool.status())
            .finish()
    }
}

impl SmtpPool {
    pub(crate) fn new(settings: SmtpSettings) -> Result<Self, String> {
        let timeout = settings.timeout;
        let size = settings.pool_size.max(1);
        let manager = Manager {
            settings,
            hello: ClientId::default(),
        };
        let pool = Pool::builder(manager)
            .max_size(size)
            .runtime(deadpool::Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { pool, timeout })
    }

    /// Sends one message; `Ok` is the server's reply to the data (e.g. `250 2.0.0 Ok: queued`).
    pub async fn send(&self, envelope: &Envelope, bytes: &[u8]) -> Result<String, SendFailure> {
        let mut conn = self.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => SendFailure {
                permanent: e.permanent,
                reply: e.message,
                server_down: true,
            },
            other => SendFailure {
                permanent: false,
                reply: other.to_string(),
                server_down: true,
            },
        })?;
        match tokio::time::timeout(self.timeout, conn.send(envelope, bytes)).await {
            Ok(Ok(resp)) => Ok(format!(
                "{} {}",
                resp.code(),
                resp.message().collect::<Vec<_>>().join(" ")
            )),
            // lettre closes the connection after any error; the pool discards it on return.
            Ok(Err(e)) => Err(SendFailure {
                // Only a 5xx reply is final; 4xx and connection errors are retried.
                permanent: e.is_permanent(),
                // A reply about this mail (4xx/5xx) says nothing about the next one; a broken
                // connection or TLS failure does.
                server_down: !e.is_permanent() && !e.is_transient(),
                reply: e.to_string(),
            }),
            Err(_) => {
                // The server may still be reading; this connection cannot be reused.
                let _ = managed::Object::take(conn);
                Err(SendFailure {
                    permanent: false,
                    server_down: true,
                    reply: format!(
                        "{} 秒以内にメールサーバから応答がありませんでした（後で再試行します）。",
                        self.timeout.as_secs()
                    ),
                })
            }
        }
    }
}
