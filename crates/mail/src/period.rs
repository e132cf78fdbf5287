//! The mails of a 定期報告 period (DOMAIN §3.11 #8–#9, §6 一括メール配信): 定期報告案内 to every
//! facility of the period when it opens, 督促 on the prefecture's schedule to those not 報告済.
//!
//! `teikyo serve` queues a [`PERIOD_MAIL_JOB`] every [`PERIOD_MAIL_EVERY`] on every node; the job
//! sends whatever step is due today in Japan. A step is claimed in the transaction that queues
//! its mails (`Tx::claim_period_step`), so it goes out exactly once however many jobs and
//! workers run it at the same time, and a step that failed half-way left nothing behind.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use futures::future::BoxFuture;
use serde_json::json;
use teikyo_domain::period::MailStep;
use teikyo_domain::report::fiscal_year_label;
use teikyo_store::{JobId, NewJob, PeriodAddressee, Store, StoreError, StoredPeriod};
use teikyo_worker::{Handler, HandlerResult, JobContext, JobError};

use crate::bulk::{BulkError, queue_bulk};
use crate::catalogue::{PeriodicReportNotice, PeriodicReportReminder};
use crate::template::{MailTemplates, Outgoing};

pub const PERIOD_MAIL_JOB: &str = "report.period_mail";

/// How often `teikyo serve` looks for due steps. Steps are days apart; ten minutes means a
/// restarted server catches up soon, and a look that finds nothing due costs one query per
/// running period.
pub const PERIOD_MAIL_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Japan has one offset all year (DESIGN: times in Asia/Tokyo); the domain defines it once.
pub(crate) use teikyo_domain::opening::JAPAN as TOKYO;

/// The day in Japan at `now`: steps fall due at midnight there, not in UTC.
pub fn day_in_japan(now: DateTime<Utc>) -> NaiveDate {
    teikyo_domain::opening::japan_date(now)
}

/// Queues a look for due steps (`day`: a given day instead of today in Japan, for tests and for
/// an operator catching up by hand).
pub async fn request(store: &Store, day: Option<NaiveDate>) -> Result<JobId, StoreError> {
    let payload = match day {
        Some(d) => json!({ "day": d.to_string() }),
        None => json!({}),
    };
    // One attempt more would only repeat what the next scheduled job does anyway.
    let job = NewJob {
        max_attempts: 3,
        ..NewJob::new(PERIOD_MAIL_JOB, payload)
    };
    store.jobs().enqueue(&job).await
}

#[derive(Debug, thiserror::Error)]
pub enum PeriodMailError {
    #[error("報告期間のメールの準備中にデータベースのエラーが発生しました: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bulk(#[from] BulkError),
    #[error("日付「{0}」を読み取れません。")]
    Day(String),
}

impl PeriodMailError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(_) => "mail.period.store",
            Self::Bulk(e) => e.code(),
            Self::Day(_) => "mail.period.day",
        }
    }

    fn into_job_error(self) -> JobError {
        match self {
            // A template that fails now fails on every try; the database may come back.
            Self::Bulk(BulkError::Template(e)) => JobError::Permanent(e.to_string()),
            Self::Day(d) => JobError::Permanent(format!("unreadable day {d}")),
            e => JobError::Retry(e.to_string()),
        }
    }
}

/// A step that went out with this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSent {
    pub period: teikyo_store::PeriodId,
    pub step: String,
    pub mails: usize,
}

/// Sends the period steps that are due; the worker's handler for [`PERIOD_MAIL_JOB`].
#[derive(Clone)]
pub struct PeriodMail {
    templates: Arc<MailTemplates>,
}

impl PeriodMail {
    pub fn new(templates: Arc<MailTemplates>) -> Self {
        Self { templates }
    }

    /// Every running period's step due on `day`, each in its own transaction. A period that
    /// fails does not hold up the others; the first error is returned after all were tried.
    pub async fn send_due(
        &self,
        store: &Store,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Vec<StepSent>, PeriodMailError> {
        let mut sent = Vec::new();
        let mut first_error = None;
        for period in store.periods().running(day).await? {
            let Some(step) = period.period.due_step(day) else {
                continue;
            };
            match self.send_step(store, &period, step, day, now).await {
                Ok(Some(s)) => sent.push(s),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(
                        period = period.id.0,
                        step = step.id(),
                        code = e.code(),
                        error = %e,
                        "報告期間のメールを送れませんでした"
                    );
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(sent),
        }
    }

    /// Sends one step unless it went out already (`None`).
    async fn send_step(
        &self,
        store: &Store,
        period: &StoredPeriod,
        step: MailStep,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Option<StepSent>, PeriodMailError> {
        let id = step.id();
        // Cheap look first: most runs find the day's step already sent.
        if store
            .periods()
            .sent_steps(period.id)
            .await?
            .iter()
            .any(|s| s.step == id)
        {
            return Ok(None);
        }
        let reminder = matches!(step, MailStep::Reminder { .. });
        let addressees = store
            .periods()
            .addressees(&period.period, day, reminder)
            .await?;
        let n: usize = addressees.iter().map(|a| a.emails.len()).sum();
        let tx = store.begin().await?;
        let mails = i32::try_from(n).unwrap_or(i32::MAX);
        if !tx.claim_period_step(period.id, &id, mails, now).await? {
            // Another worker sent it meanwhile; dropping the transaction undoes nothing of ours.
            return Ok(None);
        }
        let queued = if reminder {
            let items = self.outgoing(period, &addressees, |a, url| PeriodicReportReminder {
                facility_name: a.facility_name.clone(),
                prefecture_name: period.period.prefecture.name().to_owned(),
                fiscal_year: fiscal_year_label(period.period.fiscal_year),
                deadline: period.period.deadline(),
                status: a.status.label().to_owned(),
                report_url: url,
                message: period.period.message.clone(),
            });
            queue_bulk(&tx, &self.templates, items, &mut |_| {}).await?
        } else {
            let items = self.outgoing(period, &addressees, |a, url| PeriodicReportNotice {
                facility_name: a.facility_name.clone(),
                prefecture_name: period.period.prefecture.name().to_owned(),
                fiscal_year: fiscal_year_label(period.period.fiscal_year),
                reference_date: period.period.reference_date,
                deadline: period.period.deadline(),
                report_url: url,
                message: period.period.message.clone(),
            });
            queue_bulk(&tx, &self.templates, items, &mut |_| {}).await?
        };
        tx.commit().await?;
        tracing::info!(
            period = period.id.0,
            prefecture = %period.period.prefecture,
            step = %id,
            mails = queued,
            "報告期間のメールを送信待ちにしました"
        );
        Ok(Some(StepSent {
            period: period.id,
            step: id,
            mails: queued,
        }))
    }

    /// One mail per address of every addressee, about its facility.
    fn outgoing<C: Clone>(
        &self,
        period: &StoredPeriod,
        addressees: &[PeriodAddressee],
        content: impl Fn(&PeriodAddressee, String) -> C,
    ) -> Vec<Outgoing<C>> {
        let mut out = Vec::new();
        for a in addressees.iter().filter(|a| !a.emails.is_empty()) {
            let url = self
                .templates
                .link(&format!("/facility/{}/report", a.facility_id.0));
            let c = content(a, url);
            for to in &a.emails {
                out.push(Outgoing {
                    to: to.clone(),
                    content: c.clone(),
                    related: Some(("reporting_period".to_owned(), period.id.0.to_string())),
                    facility_id: Some(a.facility_id.0),
                });
            }
        }
        out
    }
}

impl Handler for PeriodMail {
    fn kind(&self) -> &'static str {
        PERIOD_MAIL_JOB
    }

    fn run<'a>(&'a self, ctx: JobContext<'a>) -> BoxFuture<'a, HandlerResult> {
        Box::pin(async move {
            let now = Utc::now();
            let day = match ctx.job.payload["day"].as_str() {
                Some(d) => d
                    .parse::<NaiveDate>()
                    .map_err(|_| PeriodMailError::Day(d.to_owned()).into_job_error())?,
                None => day_in_japan(now),
            };
            let sent = self
                .send_due(ctx.store, day, now)
                .await
                .map_err(PeriodMailError::into_job_error)?;
            Ok(Some(json!({
                "day": day.to_string(),
                "steps": sent
                    .iter()
                    .map(|s| json!({ "period": s.period.0, "step": s.step, "mails": s.mails }))
                    .collect::<Vec<_>>(),
            })))
        })
    }
}
