//! Mail the demo sends at start, so that a new user can read every kind of mail Teikyo sends in
//! the demo outbox without a mail server: one 定期報告案内 per prefecture to a facility there (the
//! mail log's prefecture scope then has something to show), and one sample of every other kind.

use chrono::NaiveDate;
use std::sync::Arc;
use teikyo_mail::catalogue::{
    AccountReady, ApplicationReceived, ApplicationRejected, BulkMail, EmailChangeConfirmation,
    EmailChanged, ExistingUserConfirmation, Invitation, LoginIdReminder, PasswordChanged,
    PasswordReset, PeriodicReportNotice, PeriodicReportReminder, PreIssuanceCheck, ReportConfirmed,
    ReportReceived, ReportReturned, VerificationCode,
};
use teikyo_mail::{MailContent, MailTemplates, Outgoing, queue_bulk};
use teikyo_store::{FacilityFilter, NewMail, Store};

/// Facilities looked at for the per-prefecture notices (the synthetic data spreads them).
const SCAN: u64 = 2_000;

fn demo_address(n: usize) -> String {
    format!("tanto{n:03}@clinic.example.jp")
}

/// Queues the demo mails in one transaction; returns how many.
pub async fn queue(store: &Store, t: &Arc<MailTemplates>) -> anyhow::Result<usize> {
    let facilities = store
        .facilities()
        .list(&FacilityFilter::default(), SCAN, 0)
        .await?;
    let mut seen = std::collections::HashSet::new();
    let notices: Vec<Outgoing<PeriodicReportNotice>> = facilities
        .into_iter()
        .filter(|f| seen.insert(f.record.prefecture))
        .enumerate()
        .map(|(i, f)| Outgoing {
            to: demo_address(i),
            content: PeriodicReportNotice {
                facility_name: f.record.names.official.clone(),
                prefecture_name: f.record.prefecture.name().to_owned(),
                fiscal_year: "令和7年度".into(),
                reference_date: NaiveDate::from_ymd_opt(2025, 10, 1).unwrap_or_default(),
                deadline: NaiveDate::from_ymd_opt(2026, 1, 31).unwrap_or_default(),
                report_url: t.link("/reports"),
                message: None,
            },
            related: Some(("facility".into(), f.id.0.to_string())),
            facility_id: Some(f.id.0),
        })
        .collect();
    let samples = samples(t)?;
    let tx = store.begin().await?;
    let mut n = queue_bulk(&tx, t, notices, &mut |_| {}).await?;
    for mail in &samples {
        tx.queue_mail(mail).await?;
        n += 1;
    }
    tx.commit().await?;
    Ok(n)
}

/// One of every other kind, with the sample contents and links into this demo.
fn samples(t: &MailTemplates) -> anyhow::Result<Vec<NewMail>> {
    let to = "sample@clinic.example.jp";
    let related = Some(("sample", "demo"));
    Ok(vec![
        t.compose(
            to,
            &VerificationCode {
                entry_url: t.link("/apply"),
                ..VerificationCode::sample()
            },
            related,
            None,
        )?,
        t.compose(
            to,
            &ApplicationReceived {
                status_url: t.link("/apply/status"),
                ..ApplicationReceived::sample()
            },
            related,
            None,
        )?,
        t.compose(
            to,
            &ApplicationRejected {
                apply_url: t.link("/apply"),
                ..ApplicationRejected::sample()
            },
            related,
            None,
        )?,
        t.compose(to, &PreIssuanceCheck::sample(), related, None)?,
        t.compose(
            to,
            &AccountReady {
                setup_url: t.link("/s/Hq3vR8tYp2Wk"),
                login_url: t.link("/login"),
                ..AccountReady::sample()
            },
            related,
            None,
        )?,
        t.compose(
            to,
            &ExistingUserConfirmation {
                login_url: t.link("/login"),
                ..ExistingUserConfirmation::sample()
            },
            related,
            None,
        )?,
        t.compose(
            to,
            &PasswordReset {
                reset_url: t.link("/r/Zt8wLm4Qx6Bn"),
                ..PasswordReset::sample()
            },
            related,
            None,
        )?,
        t.compose(
            to,
            &LoginIdReminder {
                login_url: t.link("/login"),
                reset_url: t.link("/password/forgot"),
                ..LoginIdReminder::sample()
            },
            related,
            None,
        )?,
        t.compose(
            to,
            &Invitation {
                setup_url: Some(t.link("/s/Hq3vR8tYp2Wk")),
                login_url: t.link("/login"),
                ..Invitation::sample()
            },
            related,
            None,
        )?,
        t.compose(
            to,
            &PasswordChanged {
                reset_url: t.link("/password/forgot"),
                ..PasswordChanged::sample()
            },
            related,
            None,
        )?,
        t.compose(
            to,
            &EmailChangeConfirmation {
                confirm_url: t.link("/e/Wd5hN7kPs3Tq"),
                ..EmailChangeConfirmation::sample()
            },
            related,
            None,
        )?,
        t.compose(to, &EmailChanged::sample(), related, None)?,
        t.compose(
            to,
            &PeriodicReportReminder {
                report_url: t.link("/reports"),
                ..PeriodicReportReminder::sample()
            },
            related,
            None,
        )?,
        t.compose(
            to,
            &ReportReceived {
                report_url: t.link("/reports"),
                ..ReportReceived::sample()
            },
            related,
            None,
        )?,
        t.compose(
            to,
            &ReportReturned {
                report_url: t.link("/reports"),
                ..ReportReturned::sample()
            },
            related,
            None,
        )?,
        t.compose(
            to,
            &ReportConfirmed {
                report_url: t.link("/reports"),
                ..ReportConfirmed::sample()
            },
            related,
            None,
        )?,
        t.compose(to, &BulkMail::sample(), related, None)?,
    ])
}
