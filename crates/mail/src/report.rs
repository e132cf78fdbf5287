//! The mails a report's steps cause (DOMAIN §3.11, §5): 報告受付のお知らせ after 「報告」, and
//! the 差戻し and 確認完了 notices after the prefecture's review.
//!
//! The web layer puts a [`notice_job`] into the transition's own transaction
//! (`TransitionRequest::follow_up`), so a notice exists exactly when its step does; the job then
//! renders the mails for the facility's current users and queues them. The job reads the report
//! as it is when it runs, but says what happened at the step (the payload carries the step, its
//! time and the comment): a report withdrawn a second after 報告 was still received.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use futures::future::BoxFuture;
use serde_json::json;
use teikyo_domain::report::{Transition, fiscal_year_label};
use teikyo_store::{NewJob, ReportId, Store, StoreError};
use teikyo_worker::{Handler, HandlerResult, JobContext, JobError};

use crate::catalogue::{ReportConfirmed, ReportReceived, ReportReturned};
use crate::template::{MailTemplates, TemplateError};

pub const REPORT_NOTICE_JOB: &str = "report.notice";

/// What the step was; the job's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepNotice {
    pub report: ReportId,
    pub transition: Transition,
    pub at: DateTime<Utc>,
    /// 代理入力: prefecture staff pressed 「報告」.
    pub proxy: bool,
    /// The 報告 was a 再報告 (the report had been confirmed before).
    pub resubmitted: bool,
    /// The 差戻し comment.
    pub comment: Option<String>,
    /// 確認完了 of a report with a 廃止日.
    pub abolished_on: Option<NaiveDate>,
}

/// The job for a step that mails the facility, or `None` for steps that do not (引き戻し, 修正,
/// 取消: the facility did them itself and sees the result on screen).
pub fn notice_job(notice: &StepNotice) -> Option<NewJob> {
    if !matches!(
        notice.transition,
        Transition::Submit | Transition::Confirm | Transition::Return
    ) {
        return None;
    }
    Some(NewJob::new(
        REPORT_NOTICE_JOB,
        json!({
            "report": notice.report.0,
            "transition": notice.transition.id(),
            "at": notice.at.to_rfc3339(),
            "proxy": notice.proxy,
            "resubmitted": notice.resubmitted,
            "comment": notice.comment,
            "abolished_on": notice.abolished_on.map(|d| d.to_string()),
        }),
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum ReportNoticeError {
    #[error("報告のお知らせメールの準備中にデータベースのエラーが発生しました: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("報告のお知らせのジョブの内容を読み取れません: {0}")]
    Payload(String),
}

impl ReportNoticeError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(_) => "mail.report.store",
            Self::Template(e) => e.code(),
            Self::Payload(_) => "mail.report.payload",
        }
    }

    fn into_job_error(self) -> JobError {
        match self {
            Self::Store(e) => JobError::Retry(e.to_string()),
            e => JobError::Permanent(e.to_string()),
        }
    }
}

fn parse(payload: &serde_json::Value) -> Result<StepNotice, ReportNoticeError> {
    let bad = |what: &str| ReportNoticeError::Payload(format!("{what}: {payload}"));
    let report = payload["report"].as_i64().ok_or_else(|| bad("report"))?;
    let transition = payload["transition"]
        .as_str()
        .and_then(Transition::parse)
        .ok_or_else(|| bad("transition"))?;
    let at = payload["at"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .ok_or_else(|| bad("at"))?
        .with_timezone(&Utc);
    let abolished_on = match payload["abolished_on"].as_str() {
        Some(d) => Some(d.parse().map_err(|_| bad("abolished_on"))?),
        None => None,
    };
    Ok(StepNotice {
        report: ReportId(report),
        transition,
        at,
        proxy: payload["proxy"].as_bool().unwrap_or(false),
        resubmitted: payload["resubmitted"].as_bool().unwrap_or(false),
        comment: payload["comment"].as_str().map(str::to_owned),
        abolished_on,
    })
}

/// 「2026年11月21日 18時35分」 in Japan time (a mail is read days later: the year matters).
fn tokyo(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::period::TOKYO)
        .format("%Y年%-m月%-d日 %-H時%M分")
        .to_string()
}

/// Renders and queues a step's mails; the worker's handler for [`REPORT_NOTICE_JOB`].
#[derive(Clone)]
pub struct ReportNotice {
    templates: Arc<MailTemplates>,
}

impl ReportNotice {
    pub fn new(templates: Arc<MailTemplates>) -> Self {
        Self { templates }
    }

    /// Queues the notice's mails; the number queued (none when the report is gone or its
    /// facility has no address).
    pub async fn send(&self, store: &Store, n: &StepNotice) -> Result<usize, ReportNoticeError> {
        let Some(report) = store.reports().get(n.report).await? else {
            return Ok(0);
        };
        let Some(facility) = store.facilities().get(report.facility_id).await? else {
            return Ok(0);
        };
        let to = store.reports().addresses(report.facility_id).await?;
        if to.is_empty() {
            tracing::info!(
                report = report.id.0,
                "報告のお知らせの宛先がないため、メールを送りません"
            );
            return Ok(0);
        }
        let facility_name = facility.record.names.official.clone();
        let prefecture_name = facility.record.prefecture.name().to_owned();
        let report_label = format!(
            "{} {}",
            fiscal_year_label(report.fiscal_year),
            report.kind.label()
        );
        let report_url = self.templates.link(&format!("/reports/{}", report.id.0));
        let related = report.id.0.to_string();
        let mut mails = Vec::with_capacity(to.len());
        for address in &to {
            let related = Some(("report", related.as_str()));
            let facility_id = Some(facility.id.0);
            let mail = match n.transition {
                Transition::Submit => self.templates.compose(
                    address,
                    &ReportReceived {
                        facility_name: facility_name.clone(),
                        prefecture_name: prefecture_name.clone(),
                        report_label: report_label.clone(),
                        // The status the step led to, not the current one.
                        status: if n.resubmitted {
                            "再報告済".to_owned()
                        } else {
                            "報告済".to_owned()
                        },
                        submitted_at: tokyo(n.at),
                        by_prefecture: n.proxy,
                        report_url: report_url.clone(),
                    },
                    related,
                    facility_id,
                )?,
                Transition::Return => self.templates.compose(
                    address,
                    &ReportReturned {
                        facility_name: facility_name.clone(),
                        prefecture_name: prefecture_name.clone(),
                        report_label: report_label.clone(),
                        comment: n.comment.clone().unwrap_or_default(),
                        report_url: report_url.clone(),
                    },
                    related,
                    facility_id,
                )?,
                Transition::Confirm => self.templates.compose(
                    address,
                    &ReportConfirmed {
                        facility_name: facility_name.clone(),
                        prefecture_name: prefecture_name.clone(),
                        report_label: report_label.clone(),
                        confirmed_at: tokyo(n.at),
                        abolished_on: n.abolished_on,
                        report_url: report_url.clone(),
                    },
                    related,
                    facility_id,
                )?,
                _ => return Ok(0),
            };
            mails.push(mail);
        }
        let tx = store.begin().await?;
        for m in &mails {
            tx.queue_mail(m).await?;
        }
        tx.commit().await?;
        Ok(mails.len())
    }
}

impl Handler for ReportNotice {
    fn kind(&self) -> &'static str {
        REPORT_NOTICE_JOB
    }

    fn run<'a>(&'a self, ctx: JobContext<'a>) -> BoxFuture<'a, HandlerResult> {
        Box::pin(async move {
            let notice = parse(&ctx.job.payload).map_err(ReportNoticeError::into_job_error)?;
            let mails = self
                .send(ctx.store, &notice)
                .await
                .map_err(ReportNoticeError::into_job_error)?;
            Ok(Some(json!({ "mails": mails })))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_submit_confirm_and_return_mail_the_facility() {
        let at = Utc::now();
        let n = |transition| StepNotice {
            report: ReportId(7),
            transition,
            at,
            proxy: true,
            resubmitted: false,
            comment: Some("土曜日の診療時間をご確認ください。".into()),
            abolished_on: NaiveDate::from_ymd_opt(2027, 3, 31),
        };
        for t in [Transition::Withdraw, Transition::Reopen, Transition::Cancel] {
            assert!(notice_job(&n(t)).is_none(), "{t:?}");
        }
        for t in [Transition::Submit, Transition::Confirm, Transition::Return] {
            let job = notice_job(&n(t)).expect("a job");
            assert_eq!(job.kind, REPORT_NOTICE_JOB);
            // What the job reads is what the step wrote.
            let back = parse(&job.payload).expect("parses");
            assert_eq!(back.transition, t);
            assert_eq!(back.report, ReportId(7));
            assert!(back.proxy);
            assert_eq!(back.abolished_on, NaiveDate::from_ymd_opt(2027, 3, 31));
            assert_eq!(back.at.timestamp(), at.timestamp());
        }
    }

    #[test]
    fn times_are_written_in_japan_time_with_the_year() {
        let t = DateTime::parse_from_rfc3339("2026-12-31T15:30:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(tokyo(t), "2027年1月1日 0時30分");
    }
}
