//! Outgoing mail: transports (SMTP, a folder of `.eml` files, memory) and the `mail.send` job
//! handler that delivers queued mail rows and records what the server said.
//!
//! Guarantee: at least once. A mail is marked 送信中 before it is handed to the server; if the
//! process dies after the server accepted it but before 送信完了 was recorded, the job's lease
//! expires and the mail is sent again — with the same Message-ID, so that receivers and mail
//! clients can drop the duplicate — and the re-send is logged as such. Rows already 送信完了 or 不達
//! are never sent again.

pub mod bounce;
mod bulk;
pub mod bulk_mail;
pub mod catalogue;
pub mod period;
pub mod report;
mod smtp;
mod template;
mod transport;

pub use bulk::{BulkError, queue_bulk};
pub use catalogue::{MailContent, MailKind};
pub use smtp::SmtpPool;
pub use template::{
    COMMON_FIELDS, MAX_LINK_CHARS, MailTemplates, Outgoing, Rendered, TemplateError,
    TemplateSettings,
};
pub use transport::{MemoryOutbox, SendFailure, SentMail, TlsMode, Transport, TransportConfig};

use futures::future::BoxFuture;
use lettre::Address;
use lettre::address::Envelope;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use teikyo_store::{Mail, MailId, MailStatus, NewJob, Store};
use teikyo_worker::{Handler, HandlerResult, JobContext, JobError};

#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `From:` address, e.g. `info@teikyo.example.jp`.
    pub from_address: String,
    /// Shown in `From:` and in subjects as 【…】 (the seeds' pattern); the deployment's own name.
    pub sender_name: String,
    /// Domain of the VERP return path `bounce+<mail id>@<domain>`; default: the From domain.
    pub bounce_domain: Option<String>,
}

impl MailConfig {
    /// The domain of return paths and Message-IDs: `bounce_domain`, else the From domain.
    pub fn domain(&self) -> &str {
        self.bounce_domain
            .as_deref()
            .or_else(|| self.from_address.rsplit_once('@').map(|(_, d)| d))
            .unwrap_or("localhost")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("メールアドレス {0} の形式が正しくありません。")]
    Address(String),
    #[error("メールを組み立てられません: {0}")]
    Build(String),
}

impl MailError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Address(_) => "mail.address",
            Self::Build(_) => "mail.build",
        }
    }
}

/// Builds a Message-ID for a new mail: unique, and the same for every re-send of it.
pub fn new_message_id(domain: &str) -> String {
    format!("<{}@{}>", unique_token(), domain)
}

pub(crate) fn unique_token() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    // Time plus a process-wide counter plus the pid: unique without another dependency.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{t:x}.{n:x}.{:x}", std::process::id())
}

pub struct Mailer {
    transport: Transport,
    config: MailConfig,
}

impl Mailer {
    pub fn new(transport: Transport, config: MailConfig) -> Self {
        Self { transport, config }
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    fn domain(&self) -> &str {
        self.config.domain()
    }

    /// The VERP return path of a mail: a bounce names the mail it is about.
    pub fn return_path(&self, id: MailId) -> String {
        format!("bounce+{}@{}", id.0, self.domain())
    }

    /// The envelope and the RFC 5322 bytes of a stored mail.
    pub fn render(&self, mail: &Mail) -> Result<(Envelope, Vec<u8>), MailError> {
        let from_addr: Address = self
            .config
            .from_address
            .parse()
            .map_err(|_| MailError::Address(self.config.from_address.clone()))?;
        let to: Address = mail
            .to
            .parse()
            .map_err(|_| MailError::Address(mail.to.clone()))?;
        let return_path: Address = self
            .return_path(mail.id)
            .parse()
            .map_err(|_| MailError::Address(self.return_path(mail.id)))?;
        let message = Message::builder()
            .from(Mailbox::new(
                Some(self.config.sender_name.clone()),
                from_addr,
            ))
            .to(Mailbox::new(None, to.clone()))
            .subject(mail.subject.clone())
            .message_id(Some(mail.message_id.clone()))
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body_text.clone())
            .map_err(|e| MailError::Build(e.to_string()))?;
        let envelope = Envelope::new(Some(return_path), vec![to])
            .map_err(|e| MailError::Build(e.to_string()))?;
        Ok((envelope, message.formatted()))
    }

    /// Delivers one stored mail and records the outcome. Errors tell the job queue whether to
    /// retry (temporary refusal, server unreachable) or give up (permanent refusal).
    pub async fn deliver(&self, store: &Store, id: MailId) -> Result<MailStatus, JobError> {
        match self.attempt(store, id).await? {
            Attempt::Recorded(status) => Ok(status),
            Attempt::Deferred { reason, .. } => Err(JobError::Retry(reason)),
        }
    }

    async fn attempt(&self, store: &Store, id: MailId) -> Result<Attempt, JobError> {
        let repo = store.mails();
        let mail = repo
            .get(id)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?
            .ok_or_else(|| JobError::Permanent(format!("mail {id} does not exist")))?;
        if mail.status.is_final() {
            // The outcome was recorded but the job's completion was not: nothing to send.
            tracing::info!(mail = %id, status = mail.status.id(), "mail already final; not sent again");
            return Ok(Attempt::Recorded(mail.status));
        }
        if mail.status == MailStatus::Sending {
            tracing::warn!(
                mail = %id, message_id = %mail.message_id,
                "mail was being sent when a worker stopped; sending again with the same Message-ID"
            );
        }
        let (envelope, bytes) = match self.render(&mail) {
            Ok(x) => x,
            Err(e) => {
                let _ = repo.mark(id, MailStatus::Bounced, &e.to_string()).await;
                return Err(JobError::Permanent(e.to_string()));
            }
        };
        let may_send = repo
            .mark_sending(id)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        if !may_send {
            // A bounce report or another worker recorded an outcome since we read the row.
            let now = repo
                .get(id)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?
                .map(|m| m.status)
                .unwrap_or(MailStatus::Bounced);
            tracing::info!(mail = %id, status = now.id(), "mail settled meanwhile; not sent");
            return Ok(Attempt::Recorded(now));
        }
        // 2xx → 送信完了; 5xx → 不達 and no retry; 4xx or no connection → 再試行中 and retry.
        match self.transport.send(&envelope, &bytes).await {
            Ok(reply) => {
                record(&repo, id, MailStatus::Delivered, &reply).await?;
                Ok(Attempt::Recorded(MailStatus::Delivered))
            }
            Err(SendFailure {
                permanent: true,
                reply,
                ..
            }) => {
                record(&repo, id, MailStatus::Bounced, &reply).await?;
                Err(JobError::Permanent(reply))
            }
            Err(SendFailure {
                reply, server_down, ..
            }) => {
                record(&repo, id, MailStatus::Retrying, &reply).await?;
                Ok(Attempt::Deferred {
                    reason: reply,
                    server_down,
                })
            }
        }
    }

    /// A bulk job: each mail in turn. A mail refused for now gets a delivery job of its own with
    /// backoff, so one slow recipient domain does not hold back the rest of the batch; when the
    /// server cannot be reached at all the whole batch is retried later instead (one job, not 250).
    /// A re-run of the batch skips the mails whose outcome is already recorded.
    async fn deliver_batch(
        &self,
        ctx: &JobContext<'_>,
        ids: &[serde_json::Value],
    ) -> HandlerResult {
        let total = ids.len() as u64;
        let (mut delivered, mut bounced, mut deferred, mut cancelled) = (0u64, 0u64, 0u64, 0u64);
        let mut renewed = std::time::Instant::now();
        for (i, id) in ids.iter().enumerate() {
            let id = MailId(
                id.as_i64()
                    .ok_or_else(|| JobError::Permanent(format!("bad mail id {id}")))?,
            );
            // A batch may outlast the lease when the server is slow: keep it, or stop if another
            // worker already took the job over.
            if renewed.elapsed() > LEASE_RENEWAL {
                let held = ctx
                    .renew_lease()
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                if !held {
                    return Err(JobError::Retry(
                        "lease lost; another worker continues this batch".into(),
                    ));
                }
                renewed = std::time::Instant::now();
            }
            match self.attempt(ctx.store, id).await {
                Ok(Attempt::Recorded(MailStatus::Bounced)) | Err(JobError::Permanent(_)) => {
                    bounced += 1
                }
                // Stopped with its bulk send before its turn came.
                Ok(Attempt::Recorded(MailStatus::Cancelled)) => cancelled += 1,
                Ok(Attempt::Recorded(_)) => delivered += 1,
                Ok(Attempt::Deferred {
                    server_down: true,
                    reason,
                }) => {
                    return Err(JobError::Retry(format!(
                        "メールサーバに接続できないため、まとめて再試行します: {reason}"
                    )));
                }
                Ok(Attempt::Deferred { reason, .. }) | Err(JobError::Retry(reason)) => {
                    deferred += 1;
                    let mut job = NewJob::new(
                        teikyo_store::mail::SEND_JOB,
                        serde_json::json!({ "mail_id": id.0 }),
                    );
                    job.run_at = Some(chrono::Utc::now() + teikyo_store::backoff(1));
                    tracing::info!(mail = %id, %reason, "mail deferred to a job of its own");
                    ctx.store
                        .jobs()
                        .enqueue(&job)
                        .await
                        .map_err(|e| JobError::Retry(e.to_string()))?;
                }
            }
            let done = i as u64 + 1;
            if done.is_multiple_of(50) || done == total {
                // Progress is informative; a failed update must not fail the batch.
                let _ = ctx.progress(done, total).await;
            }
        }
        Ok(Some(serde_json::json!({
            "delivered": delivered, "bounced": bounced, "retrying": deferred,
            "cancelled": cancelled
        })))
    }
}

/// How often a batch renews its job's lease (the lease itself is minutes long).
const LEASE_RENEWAL: std::time::Duration = std::time::Duration::from_secs(30);

/// What one delivery attempt came to.
enum Attempt {
    /// 送信完了 or 不達 is on record (now, or already before).
    Recorded(MailStatus),
    /// 再試行中: refused for now (`server_down`: the server could not be reached at all).
    Deferred { reason: String, server_down: bool },
}

async fn record(
    repo: &teikyo_store::MailRepo<'_>,
    id: MailId,
    status: MailStatus,
    reply: &str,
) -> Result<(), JobError> {
    repo.mark(id, status, reply)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))
}

impl Handler for Mailer {
    fn kind(&self) -> &'static str {
        teikyo_store::mail::SEND_JOB
    }

    fn run<'a>(&'a self, ctx: JobContext<'a>) -> BoxFuture<'a, HandlerResult> {
        Box::pin(async move {
            if let Some(ids) = ctx.job.payload["mail_ids"].as_array() {
                return self.deliver_batch(&ctx, ids).await;
            }
            let id = ctx.job.payload["mail_id"]
                .as_i64()
                .ok_or_else(|| JobError::Permanent("payload without mail_id".into()))?;
            let status = self.deliver(ctx.store, MailId(id)).await?;
            Ok(Some(serde_json::json!({ "status": status.id() })))
        })
    }
}
