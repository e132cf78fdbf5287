//! Where mail goes: an SMTP server (lettre: plain, STARTTLS or TLS, auth, pooled connections,
//! timeouts), a folder with one `.eml` per mail (the demo), or memory (tests).

use crate::smtp::{SmtpPool, SmtpSettings};
use lettre::address::Envelope;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain SMTP (a relay on the same host or network).
    None,
    /// STARTTLS on the submission port (587).
    StartTls,
    /// TLS from the first byte (465).
    Tls,
}

#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TransportConfig {
    Smtp {
        host: String,
        #[serde(default = "default_port")]
        port: u16,
        #[serde(default = "default_tls")]
        tls: TlsMode,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
        #[serde(default = "default_timeout")]
        timeout_secs: u64,
        #[serde(default = "default_pool")]
        pool_size: u32,
    },
    File {
        dir: PathBuf,
    },
    Memory,
}

/// Written by hand so that the SMTP password never reaches a log line.
impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp {
                host,
                port,
                tls,
                username,
                password,
                timeout_secs,
                pool_size,
            } => f
                .debug_struct("Smtp")
                .field("host", host)
                .field("port", port)
                .field("tls", tls)
                .field("username", username)
                .field("password", &password.as_ref().map(|_| "<redacted>"))
                .field("timeout_secs", timeout_secs)
                .field("pool_size", pool_size)
                .finish(),
            Self::File { dir } => f.debug_struct("File").field("dir", dir).finish(),
            Self::Memory => f.write_str("Memory"),
        }
    }
}

fn default_port() -> u16 {
    587
}
fn default_tls() -> TlsMode {
    TlsMode::StartTls
}
fn default_timeout() -> u64 {
    30
}
fn default_pool() -> u32 {
    4
}

/// A delivery that did not succeed: the server's reply (or our reason) and whether trying again
/// can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub permanent: bool,
    pub reply: String,
    /// The server (or the folder) could not be reached at all, as opposed to refusing this one
    /// recipient: every other mail would fail the same way right now.
    pub server_down: bool,
}

/// What the memory transport keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub envelope_from: Option<String>,
    pub to: Vec<String>,
    pub raw: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct MemoryOutbox(Arc<Mutex<Vec<SentMail>>>);

impl MemoryOutbox {
    pub fn sent(&self) -> Vec<SentMail> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

#[derive(Clone)]
pub enum Transport {
    Smtp(SmtpPool),
    File(PathBuf),
    Memory(MemoryOutbox),
}

impl Transport {
    pub fn from_config(config: &TransportConfig) -> Result<Self, String> {
        Ok(match config {
            TransportConfig::Smtp {
                host,
                port,
                tls,
                username,
                password,
                timeout_secs,
                pool_size,
            } => {
                let credentials = match (username, password) {
                    (Some(u), Some(p)) => Some((u.clone(), p.clone())),
                    _ => None,
                };
                Transport::Smtp(SmtpPool::new(SmtpSettings {
                    host: host.clone(),
                    port: *port,
                    tls: *tls,
                    credentials,
                    timeout: Duration::from_secs(*timeout_secs),
                    pool_size: usize::try_from(*pool_size).unwrap_or(4),
                })?)
            }
            TransportConfig::File { dir } => Transport::File(dir.clone()),
            TransportConfig::Memory => Transport::Memory(MemoryOutbox::default()),
        })
    }

    /// Hands one message over. `Ok` carries the server's reply (e.g. `250 2.0.0 Ok: queued`).
    pub async fn send(&self, envelope: &Envelope, bytes: &[u8]) -> Result<String, SendFailure> {
        match self {
            Transport::Smtp(pool) => pool.send(envelope, bytes).await,
            Transport::File(dir) => {
                let name = format!("{}.eml", chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"));
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| SendFailure {
                        permanent: false,
                        server_down: true,
                        reply: format!("{}: {e}", dir.display()),
                    })?;
                let path = dir.join(name);
                // What a receiving server would add: shows the VERP return path in the file.
                let mut file = match envelope.from() {
                    Some(from) => format!("Return-Path: <{from}>\r\n").into_bytes(),
                    None => Vec::new(),
                };
                file.extend_from_slice(bytes);
                tokio::fs::write(&path, file)
                    .await
                    .map_err(|e| SendFailure {
                        permanent: false,
                        server_down: true,
                        reply: format!("{}: {e}", path.display()),
                    })?;
                Ok(format!("written to {}", path.display()))
            }
            Transport::Memory(outbox) => {
                let sent = SentMail {
                    envelope_from: envelope.from().map(|a| a.to_string()),
                    to: envelope.to().iter().map(|a| a.to_string()).collect(),
                    raw: bytes.to_vec(),
                };
                outbox
                    .0
                    .lock()
                    .map_err(|_| SendFailure {
                        permanent: false,
                        server_down: true,
                        reply: "memory outbox poisoned".into(),
                    })?
                    .push(sent);
                Ok("250 kept in memory".into())
            }
        }
    }
}
