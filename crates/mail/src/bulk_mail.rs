//! 一括メール配信 (DOMAIN §6): the job that turns a started send's recipients into mails, a
//! batch at a time through the mail queue, and the rendering the compose page's preview shares
//! with it, so the preview shows exactly the mail that goes out.
//!
//! Each batch is one transaction (`Tx::take_bulk_batch` … `Tx::finish_bulk_batch`): the send's
//! row is taken first, so two workers — a retried job, a doubled one — never create a
//! recipient's mail twice, and 中止 waits for a batch in progress and stops its mails after.

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use futures::future::BoxFuture;
use serde_json::json;
use teikyo_domain::PrefectureCode;
use teikyo_domain::bulk_mail::{ComposeError, Composed, ReportProgress, Values, compose};
use teikyo_store::bulk_mail::RELATED_KIND;
use teikyo_store::{
    AuditEvent, BatchTake, BulkMailId, NewJob, NewMail, PeriodId, Store, StoreError,
};
use teikyo_worker::{Handler, HandlerResult, JobContext, JobError};

use crate::bulk::{BulkError, queue_bulk};
use crate::catalogue::BulkMail;
use crate::template::{MailTemplates, Outgoing, TemplateError};

pub const BULK_MAIL_JOB: &str = "mail.bulk_mail";

/// Recipients per batch: big enough that a national send is a few hundred transactions, small
/// enough that 中止 waits a moment at most and the progress moves.
pub const BATCH: u64 = 500;

/// The job that works through a started send; queued by `BulkMailRepo::start` with the send.
pub fn job(id: BulkMailId) -> NewJob {
    NewJob {
        // A long send on a busy database may meet several transient errors; each retry goes on
        // where the last batch ended.
        max_attempts: 20,
        ..NewJob::new(BULK_MAIL_JOB, json!({ "bulk_mail": id.0 }))
    }
}

/// What a send's placeholders need besides the facility: its prefecture and, with a period, the
/// period's 年度 and deadline in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occasion {
    pub prefecture: PrefectureCode,
    pub fiscal_year: Option<u16>,
    pub deadline: Option<NaiveDate>,
}

impl Occasion {
    /// The occasion of a send whose filter names `period` (if any), as it stands now: an
    /// extended deadline is the one the mail gives.
    pub async fn of(
        store: &Store,
        prefecture: PrefectureCode,
        period: Option<i64>,
    ) -> Result<Self, StoreError> {
        let period = match period {
            Some(id) => store.periods().get(PeriodId(id)).await?,
            None => None,
        };
        Ok(Self {
            prefecture,
            fiscal_year: period.as_ref().map(|p| p.period.fiscal_year),
            deadline: period.as_ref().map(|p| p.period.deadline()),
        })
    }
}

/// The facility a mail is about.
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    pub facility_id: i64,
    pub facility_name: &'a str,
    pub facility_code: Option<&'a str>,
    pub progress: Option<ReportProgress>,
}

/// The mail `to` gets about one facility: the preview renders this, the job queues it.
pub fn outgoing(
    templates: &MailTemplates,
    mail: &Composed,
    occasion: &Occasion,
    about: &About<'_>,
    to: &str,
    send: BulkMailId,
) -> Outgoing<BulkMail> {
    let login_url = templates.link("/login");
    let report_url = templates.link(&format!("/facility/{}/report", about.facility_id));
    let values = Values {
        facility_name: about.facility_name,
        facility_code: about.facility_code,
        prefecture_name: occasion.prefecture.name(),
        fiscal_year: occasion.fiscal_year,
        deadline: occasion.deadline,
        progress: about.progress,
        login_url: &login_url,
        report_url: &report_url,
    };
    let (subject, body) = mail.render(&values);
    Outgoing {
        to: to.to_owned(),
        content: BulkMail {
            subject,
            body: body.trim_end().to_owned(),
            prefecture_name: occasion.prefecture.name().to_owned(),
        },
        related: Some((RELATED_KIND.to_owned(), send.0.to_string())),
        facility_id: Some(about.facility_id),
    }
}

/// [`outgoing`] rendered, as the mail log will hold it.
pub fn preview(
    templates: &MailTemplates,
    mail: &Composed,
    occasion: &Occasion,
    about: &About<'_>,
    to: &str,
    send: BulkMailId,
) -> Result<NewMail, TemplateError> {
    templates.compose_outgoing(&outgoing(templates, mail, occasion, about, to, send))
}

#[derive(Debug, thiserror::Error)]
pub enum BulkMailError {
    #[error("一括メールの処理中にデータベースのエラーが発生しました: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bulk(#[from] BulkError),
    #[error("一括メール {0} はありません。")]
    Missing(BulkMailId),
    #[error("一括メールの件名・本文を読み取れません: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "))]
    Compose(Vec<ComposeError>),
}

impl BulkMailError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(_) => "mail.bulk_mail.store",
            Self::Bulk(e) => e.code(),
            Self::Missing(_) => "mail.bulk_mail.missing",
            Self::Compose(_) => "mail.bulk_mail.compose",
        }
    }

    fn into_job_error(self) -> JobError {
        match self {
            // Neither a template nor a stored text that fails now will pass on a later try.
            Self::Bulk(BulkError::Template(e)) => JobError::Permanent(e.to_string()),
            e @ (Self::Missing(_) | Self::Compose(_)) => JobError::Permanent(e.to_string()),
            e => JobError::Retry(e.to_string()),
        }
    }
}

/// What one batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Mails created in this batch; mails created so far; addresses in all.
    Created {
        created: usize,
        done: u32,
        total: u32,
    },
    /// Every recipient's mail exists: the send is 完了 now.
    Finished,
    /// The send is not 送信中 (stopped, or finished by another worker).
    Stopped,
}

/// The handler of [`BULK_MAIL_JOB`].
#[derive(Clone)]
pub struct BulkMailSender {
    templates: Arc<MailTemplates>,
    batch: u64,
}

impl BulkMailSender {
    pub fn new(templates: Arc<MailTemplates>) -> Self {
        Self {
            templates,
            batch: BATCH,
        }
    }

    /// Recipients per batch (tests use small ones to stop a send half-way).
    pub fn with_batch(mut self, batch: u64) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Creates the mails of the next batch of a send, or finishes it.
    pub async fn run_batch(&self, store: &Store, id: BulkMailId) -> Result<Step, BulkMailError> {
        // What the mails say does not change once the send started; read it before taking
        // the row, so the transaction holds it only for the writes.
        let send = store
            .bulk_mails()
            .get(id)
            .await?
            .ok_or(BulkMailError::Missing(id))?;
        let mail =
            compose(&send.subject, &send.body, &send.filter).map_err(BulkMailError::Compose)?;
        let occasion = Occasion::of(store, send.prefecture, send.filter.period).await?;
        let now = Utc::now();
        let tx = store.begin().await?;
        match tx.take_bulk_batch(id, self.batch, now).await? {
            // Dropping the transaction undoes the touch of the row.
            BatchTake::NotSending => Ok(Step::Stopped),
            BatchTake::Finished(send) => {
                let audit = AuditEvent::new("bulk_mail.finished", None)
                    .in_prefecture(Some(send.prefecture))
                    .with_detail(json!({
                        "mails": send.created_mails,
                        "facilities": send.facilities,
                        "unreachable": send.unreachable,
                    }));
                tx.finish_bulk_mail(id, audit, now).await?;
                tx.commit().await?;
                tracing::info!(
                    bulk_mail = id.0,
                    mails = send.created_mails,
                    "一括メールの作成を完了しました"
                );
                Ok(Step::Finished)
            }
            BatchTake::Next(send, rows) => {
                let Some(through) = rows.last().map(|r| r.id) else {
                    return Ok(Step::Stopped);
                };
                let items: Vec<Outgoing<BulkMail>> = rows
                    .iter()
                    // A row whose mail exists was done by a batch that committed; never twice.
                    .filter(|r| r.mail.is_none())
                    .filter_map(|r| {
                        let to = r.to.as_deref()?;
                        let about = About {
                            facility_id: r.facility_id.0,
                            facility_name: &r.facility_name,
                            facility_code: r.facility_code.as_deref(),
                            progress: r.progress,
                        };
                        Some(outgoing(&self.templates, &mail, &occasion, &about, to, id))
                    })
                    .collect();
                let created = queue_bulk(&tx, &self.templates, items, &mut |_| {}).await?;
                tx.finish_bulk_batch(&send, through, created, now).await?;
                tx.commit().await?;
                let done = send
                    .created_mails
                    .saturating_add(u32::try_from(created).unwrap_or(u32::MAX));
                Ok(Step::Created {
                    created,
                    done,
                    total: send.addresses,
                })
            }
        }
    }
}

/// How often a long send renews its job's lease.
const LEASE_RENEWAL: std::time::Duration = std::time::Duration::from_secs(30);

impl Handler for BulkMailSender {
    fn kind(&self) -> &'static str {
        BULK_MAIL_JOB
    }

    fn run<'a>(&'a self, ctx: JobContext<'a>) -> BoxFuture<'a, HandlerResult> {
        Box::pin(async move {
            let id = ctx.job.payload["bulk_mail"]
                .as_i64()
                .map(BulkMailId)
                .ok_or_else(|| JobError::Permanent("payload without bulk_mail".into()))?;
            let mut renewed = std::time::Instant::now();
            let mut created = 0usize;
            loop {
                if renewed.elapsed() > LEASE_RENEWAL {
                    let held = ctx
                        .renew_lease()
                        .await
                        .map_err(|e| JobError::Retry(e.to_string()))?;
                    if !held {
                        // Another worker took the job over; it goes on from the last batch.
                        return Err(JobError::Retry("lease lost".into()));
                    }
                    renewed = std::time::Instant::now();
                }
                match self
                    .run_batch(ctx.store, id)
                    .await
                    .map_err(BulkMailError::into_job_error)?
                {
                    Step::Created {
                        created: n,
                        done,
                        total,
                    } => {
                        created += n;
                        // Progress is informative; the send's row holds the truth.
                        let _ = ctx.progress(u64::from(done), u64::from(total)).await;
                    }
                    step @ (Step::Finished | Step::Stopped) => {
                        return Ok(Some(json!({
                            "bulk_mail": id.0,
                            "created": created,
                            "outcome": if step == Step::Finished { "finished" } else { "stopped" },
                        })));
                    }
                }
            }
        })
    }
}
