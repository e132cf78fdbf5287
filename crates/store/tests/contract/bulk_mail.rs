use std::collections::BTreeMap;

use anyhow::{Context, ensure};
use chrono::{NaiveDate, Utc};
use teikyo_domain::account::Membership;
use teikyo_domain::bulk_mail::{BulkMailStatus, RecipientFilter, ReportProgress};
use teikyo_domain::report::{ReportKind, Transition};
use teikyo_domain::{FacilityKind, MunicipalityCode, PrefectureCode};
use teikyo_store::{
    AuditEvent, BatchTake, BulkMailId, FacilityId, MailStatus, NewBulkMail, NewJob, NewMail,
    NewReport, NewUser, RecipientQuery, SentTo, Store, TransitionOutcome, TransitionRequest,
};

use crate::fixtures::facility;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn ishikawa() -> PrefectureCode {
    PrefectureCode::parse("17").unwrap()
}

async fn user(store: &Store, login: &str, facilities: &[FacilityId]) -> anyhow::Result<()> {
    let id = store
        .users()
        .create(&NewUser {
            login_id: teikyo_domain::account::LoginId::parse(login)?,
            email: format!("{login}@clinic.example.jp"),
            family_name: "試験".into(),
            given_name: "太郎".into(),
            phone: None,
            extension: None,
            fax: None,
            department: None,
        })
        .await?;
    for f in facilities {
        let kind = store
            .facilities()
            .get(*f)
            .await?
            .context("facility")?
            .record
            .kind;
        let m = Membership::Facility {
            facility_id: f.0,
            admin: false,
            programs: vec![kind.program()],
        };
        store.users().add_membership(id, &m).await?;
    }
    Ok(())
}

async fn step(
    store: &Store,
    r: &teikyo_store::Report,
    t: Transition,
    comment: Option<&str>,
) -> anyhow::Result<teikyo_store::Report> {
    let out = store
        .reports()
        .transition(
            &TransitionRequest {
                report: r.id,
                expected_version: r.version,
                transition: t,
                by: None,
                proxy: false,
                comment,
                required_sections: &[],
                facility_dates: None,
                follow_up: Vec::new(),
            },
            &AuditEvent::new("report.step", None),
            Utc::now(),
        )
        .await?;
    match out {
        TransitionOutcome::Done { report: Some(r) } => Ok(r),
        other => anyhow::bail!("{t:?}: {other:?}"),
    }
}

/// Starts the facility's 定期報告 of 2026 and takes it through `steps`.
async fn periodic(
    store: &Store,
    f: FacilityId,
    steps: &[(Transition, Option<&str>)],
) -> anyhow::Result<()> {
    let new = NewReport {
        facility_id: f,
        kind: ReportKind::Periodic,
        fiscal_year: 2026,
        item_set: "2026-clinic".into(),
        by: None,
        period_id: None,
        insurance_check: None,
        preset: Vec::new(),
    };
    let (mut r, _) = store
        .reports()
        .start(&new, AuditEvent::new("report.started", None), Utc::now())
        .await?;
    for (t, comment) in steps {
        r = step(store, &r, *t, *comment).await?;
    }
    Ok(())
}

struct World {
    /// 未報告 clinic with a user.
    not_reported: FacilityId,
    /// 報告中 hospital.
    drafting: FacilityId,
    /// A clinic whose report was returned (差戻し) and not reported again.
    returned: FacilityId,
    /// A clinic that reported.
    reported: FacilityId,
    /// A pharmacy.
    pharmacy: FacilityId,
    /// A clinic in 七尾市, 未報告.
    nanao: FacilityId,
    /// A clinic nobody can be told about (送信先なし), 未報告.
    silent: FacilityId,
}

async fn world(store: &Store) -> anyhow::Result<World> {
    let fs = store.facilities();
    let not_reported = fs.insert(&facility(FacilityKind::Clinic, 1)).await?;
    let drafting = fs.insert(&facility(FacilityKind::Hospital, 2)).await?;
    let returned = fs.insert(&facility(FacilityKind::Clinic, 3)).await?;
    let reported = fs.insert(&facility(FacilityKind::Clinic, 4)).await?;
    let pharmacy = fs.insert(&facility(FacilityKind::Pharmacy, 5)).await?;
    let mut far = facility(FacilityKind::Clinic, 6);
    far.municipality = MunicipalityCode::parse("172022")?;
    far.address = "石川県七尾市袖ケ江町イ部25番地".into();
    let nanao = fs.insert(&far).await?;
    let silent = fs.insert(&facility(FacilityKind::Clinic, 7)).await?;
    let mut closed = facility(FacilityKind::Clinic, 8);
    closed.abolished_on = Some(day(2026, 6, 30));
    let closed = fs.insert(&closed).await?;
    user(store, "mihokoku1", &[not_reported]).await?;
    user(store, "mihokoku2", &[not_reported]).await?;
    user(store, "hokokuchu", &[drafting]).await?;
    user(store, "sashimodoshi", &[returned]).await?;
    user(store, "hokokuzumi", &[reported]).await?;
    user(store, "yakkyoku", &[pharmacy]).await?;
    user(store, "nanao", &[nanao]).await?;
    user(store, "haishi", &[closed]).await?;
    periodic(store, drafting, &[]).await?;
    periodic(
        store,
        returned,
        &[
            (Transition::Submit, None),
            (Transition::Return, Some("診療時間をご確認ください。")),
        ],
    )
    .await?;
    periodic(store, reported, &[(Transition::Submit, None)]).await?;
    Ok(World {
        not_reported,
        drafting,
        returned,
        reported,
        pharmacy,
        nanao,
        silent,
    })
}

fn query(
    kinds: &[FacilityKind],
    municipalities: &[&str],
    fiscal_year: Option<u16>,
    progress: &[ReportProgress],
) -> RecipientQuery {
    RecipientQuery {
        prefecture: ishikawa(),
        kinds: kinds.to_vec(),
        municipalities: municipalities
            .iter()
            .map(|m| MunicipalityCode::parse(m).unwrap())
            .collect(),
        fiscal_year,
        progress: progress.to_vec(),
        day: day(2027, 1, 10),
    }
}

/// The recipients of a filter: its kinds, municipalities and statuses in the 年度 (差戻し apart
/// from 報告中), not 廃止, each with the addresses of its users holding the kind's 制度 — none
/// for a facility nobody can be told about.
pub async fn recipients_follow_kinds_area_and_report_status(store: Store) -> anyhow::Result<()> {
    let w = world(&store).await?;
    let repo = store.bulk_mails();
    let medical = [
        FacilityKind::Hospital,
        FacilityKind::Clinic,
        FacilityKind::DentalClinic,
        FacilityKind::MidwiferyHome,
    ];
    let all = repo
        .recipients(&query(&medical, &[], Some(2026), &[]))
        .await?;
    let by_id: BTreeMap<FacilityId, (Option<ReportProgress>, Vec<String>)> = all
        .iter()
        .map(|r| (r.facility_id, (r.progress, r.emails.clone())))
        .collect();
    let mail = |l: &str| format!("{l}@clinic.example.jp");
    let expected = BTreeMap::from([
        (
            w.not_reported,
            (
                Some(ReportProgress::NotReported),
                vec![mail("mihokoku1"), mail("mihokoku2")],
            ),
        ),
        (
            w.drafting,
            (Some(ReportProgress::InProgress), vec![mail("hokokuchu")]),
        ),
        (
            w.returned,
            (Some(ReportProgress::Returned), vec![mail("sashimodoshi")]),
        ),
        (
            w.reported,
            (Some(ReportProgress::Submitted), vec![mail("hokokuzumi")]),
        ),
        (
            w.nanao,
            (Some(ReportProgress::NotReported), vec![mail("nanao")]),
        ),
        (w.silent, (Some(ReportProgress::NotReported), vec![])),
    ]);
    ensure!(by_id == expected, "{by_id:#?}");

    let chase = repo
        .recipients(&query(
            &[FacilityKind::Clinic],
            &["172014"],
            Some(2026),
            &[ReportProgress::NotReported, ReportProgress::Returned],
        ))
        .await?;
    let ids: Vec<FacilityId> = chase.iter().map(|r| r.facility_id).collect();
    ensure!(ids == vec![w.not_reported, w.returned, w.silent], "{ids:?}");

    let pharmacies = repo
        .recipients(&query(&[FacilityKind::Pharmacy], &[], None, &[]))
        .await?;
    ensure!(pharmacies.len() == 1 && pharmacies[0].facility_id == w.pharmacy);
    ensure!(pharmacies[0].progress.is_none(), "no period, no status");
    ensure!(pharmacies[0].emails == vec![mail("yakkyoku")]);
    Ok(())
}

fn draft(kinds: Vec<FacilityKind>) -> NewBulkMail {
    NewBulkMail {
        prefecture: ishikawa(),
        subject: "{年度}定期報告のお願い".into(),
        body: "{施設名} ご担当者様".into(),
        filter: RecipientFilter {
            kinds,
            municipalities: vec![],
            period: Some(1),
            progress: vec![ReportProgress::NotReported],
        },
    }
}

fn mail_for(send: BulkMailId, r: &SentTo) -> Option<NewMail> {
    Some(NewMail {
        template: "bulk_mail".into(),
        to: r.to.clone()?,
        subject: format!("{}様", r.facility_name),
        body_text: "本文".into(),
        message_id: format!("<bulk.{}.{}@teikyo.test>", send.0, r.id),
        related: Some(("bulk_mail".into(), send.0.to_string())),
        facility_id: Some(r.facility_id.0),
    })
}

/// One batch as the worker runs it; `false` when nothing is left to do.
async fn batch(store: &Store, id: BulkMailId, limit: u64) -> anyhow::Result<bool> {
    let tx = store.begin().await?;
    match tx.take_bulk_batch(id, limit, Utc::now()).await? {
        BatchTake::NotSending => Ok(false),
        BatchTake::Finished(_) => {
            tx.finish_bulk_mail(id, AuditEvent::new("bulk_mail.finished", None), Utc::now())
                .await?;
            tx.commit().await?;
            Ok(false)
        }
        BatchTake::Next(send, rows) => {
            let mails: Vec<NewMail> = rows
                .iter()
                .filter(|r| r.mail.is_none())
                .filter_map(|r| mail_for(id, r))
                .collect();
            let n = tx.queue_mails(mails, &mut |_| {}).await?;
            let through = rows.last().context("a batch has rows")?.id;
            tx.finish_bulk_batch(&send, through, n, Utc::now()).await?;
            tx.commit().await?;
            Ok(true)
        }
    }
}

async fn started(store: &Store) -> anyhow::Result<BulkMailId> {
    let repo = store.bulk_mails();
    let id = repo
        .create(
            &draft(vec![FacilityKind::Clinic, FacilityKind::Hospital]),
            None,
            AuditEvent::new("bulk_mail.drafted", None),
            Utc::now(),
        )
        .await?;
    let recipients = repo
        .recipients(&query(
            &[FacilityKind::Clinic, FacilityKind::Hospital],
            &[],
            Some(2026),
            &[ReportProgress::NotReported, ReportProgress::Returned],
        ))
        .await?;
    ensure!(recipients.len() == 4, "{recipients:?}");
    let job = NewJob::new("mail.bulk_mail", serde_json::json!({ "bulk_mail": id.0 }));
    ensure!(
        repo.start(
            id,
            &recipients,
            None,
            &job,
            AuditEvent::new("bulk_mail.started", None),
            Utc::now()
        )
        .await?
    );
    Ok(id)
}

/// A draft is edited, then started once (a second start, or an edit after it, changes
/// nothing); its batches create each recipient's mail once, in order, linked to its row, and
/// the send ends 完了 with the counts it started with.
pub async fn a_bulk_mail_goes_from_draft_to_done(store: Store) -> anyhow::Result<()> {
    let w = world(&store).await?;
    let repo = store.bulk_mails();
    let id = repo
        .create(
            &draft(vec![FacilityKind::Clinic]),
            None,
            AuditEvent::new("bulk_mail.drafted", None),
            Utc::now(),
        )
        .await?;
    let edited = NewBulkMail {
        subject: "定期報告のお願い（{施設名}）".into(),
        ..draft(vec![FacilityKind::Clinic, FacilityKind::Hospital])
    };
    ensure!(
        repo.update_draft(
            id,
            &edited,
            AuditEvent::new("bulk_mail.edited", None),
            Utc::now()
        )
        .await?
    );
    let send = repo.get(id).await?.context("the draft")?;
    ensure!(send.status == BulkMailStatus::Draft);
    ensure!(send.subject == "定期報告のお願い（{施設名}）");
    ensure!(send.filter.kinds == vec![FacilityKind::Clinic, FacilityKind::Hospital]);
    ensure!(repo.list(ishikawa(), 10).await?.len() == 1);

    let recipients = repo
        .recipients(&query(
            &[FacilityKind::Clinic, FacilityKind::Hospital],
            &[],
            Some(2026),
            &[ReportProgress::NotReported, ReportProgress::Returned],
        ))
        .await?;
    let job = NewJob::new("mail.bulk_mail", serde_json::json!({ "bulk_mail": id.0 }));
    let start = || {
        repo.start(
            id,
            &recipients,
            None,
            &job,
            AuditEvent::new("bulk_mail.started", None),
            Utc::now(),
        )
    };
    ensure!(start().await?);
    ensure!(!start().await?, "a second start does nothing");
    ensure!(
        !repo
            .update_draft(
                id,
                &edited,
                AuditEvent::new("bulk_mail.edited", None),
                Utc::now()
            )
            .await?,
        "a started send is not a draft"
    );
    let send = repo.get(id).await?.context("the send")?;
    ensure!(send.status == BulkMailStatus::Sending);
    // 未報告 (two addresses), 差戻し, 七尾 and the silent clinic.
    ensure!(
        (send.facilities, send.addresses, send.unreachable) == (4, 4, 1),
        "{send:?}"
    );
    ensure!(repo.count_sent_to(id, None).await? == 5);
    let jobs = store
        .jobs()
        .claim("contract", &["mail.bulk_mail"], Utc::now())
        .await?;
    ensure!(jobs.is_some(), "the send's job was queued with it");

    let mut batches = 0;
    while batch(&store, id, 2).await? {
        batches += 1;
        ensure!(batches < 10, "the batches end");
    }
    ensure!(batches == 3, "5 rows in batches of 2: {batches}");
    let send = repo.get(id).await?.context("the send")?;
    ensure!(send.status == BulkMailStatus::Done && send.finished_at.is_some());
    ensure!(send.created_mails == 4);
    let rows = repo.sent_to(id, None, 100, 0).await?;
    for r in &rows {
        match (&r.to, r.mail) {
            (None, None) => ensure!(r.facility_id == w.silent),
            (Some(to), Some((mail, MailStatus::Queued))) => {
                let m = store.mails().get(mail).await?.context("the mail")?;
                ensure!(
                    &m.to == to && m.facility_id == Some(r.facility_id.0),
                    "{m:?}"
                );
            }
            other => anyhow::bail!("{r:?}: {other:?}"),
        }
    }
    let area = [MunicipalityCode::parse("172022")?];
    let nanao = repo.sent_to(id, Some(&area), 100, 0).await?;
    ensure!(
        nanao.len() == 1 && nanao[0].facility_id == w.nanao,
        "{nanao:?}"
    );
    ensure!(repo.count_sent_to(id, Some(&area)).await? == 1);
    let counts = repo.mail_counts(id).await?;
    ensure!(counts[&MailStatus::Queued] == 4, "{counts:?}");
    // Finished: nothing more, whoever asks.
    ensure!(!batch(&store, id, 2).await?);
    ensure!(store.mails().count_by_status(&Default::default()).await?[&MailStatus::Queued] == 4);
    Ok(())
}

/// Two workers working through the same send at once create every recipient's mail exactly
/// once.
pub async fn two_workers_create_each_mail_once(store: Store) -> anyhow::Result<()> {
    world(&store).await?;
    let id = started(&store).await?;
    let run = |store: Store| async move {
        while batch(&store, id, 1).await? {}
        anyhow::Ok(())
    };
    let (a, b) = tokio::join!(
        tokio::spawn(run(store.clone())),
        tokio::spawn(run(store.clone()))
    );
    a??;
    b??;
    let rows = store.bulk_mails().sent_to(id, None, 100, 0).await?;
    let mails: Vec<_> = store
        .mails()
        .list(&Default::default(), 100, 0)
        .await?
        .into_iter()
        .filter(|m| m.related == Some(("bulk_mail".into(), id.0.to_string())))
        .collect();
    let mut per_address: BTreeMap<(i64, String), usize> = BTreeMap::new();
    for m in &mails {
        *per_address
            .entry((m.facility_id.unwrap_or(0), m.to.clone()))
            .or_default() += 1;
    }
    ensure!(mails.len() == 4, "{mails:?}");
    ensure!(per_address.values().all(|n| *n == 1), "{per_address:?}");
    ensure!(rows.iter().filter(|r| r.mail.is_some()).count() == 4);
    let send = store.bulk_mails().get(id).await?.context("the send")?;
    ensure!(send.status == BulkMailStatus::Done && send.created_mails == 4);
    Ok(())
}

/// 中止 stops the send and its mails the server has not taken; a delivered mail stays
/// 送信完了, the rest of the recipients get no mail, and a worker (or a late bounce report)
/// changes nothing after. Stopping again says there is nothing to stop.
pub async fn cancelling_stops_only_unsent_mails(store: Store) -> anyhow::Result<()> {
    world(&store).await?;
    let id = started(&store).await?;
    let repo = store.bulk_mails();
    ensure!(batch(&store, id, 3).await?);
    let made: Vec<_> = repo
        .sent_to(id, None, 100, 0)
        .await?
        .into_iter()
        .filter_map(|r| r.mail.map(|m| m.0))
        .collect();
    ensure!(made.len() == 3, "{made:?}");
    let mails = store.mails();
    ensure!(mails.mark_sending(made[0]).await?);
    mails.mark(made[0], MailStatus::Delivered, "250 ok").await?;
    ensure!(mails.mark_sending(made[1]).await?);
    mails
        .mark(made[1], MailStatus::Retrying, "451 later")
        .await?;

    let stopped = repo
        .cancel(
            id,
            None,
            AuditEvent::new("bulk_mail.cancelled", None)
                .in_prefecture(Some(ishikawa()))
                .with_detail(serde_json::json!({ "why": "test" })),
            Utc::now(),
        )
        .await?;
    ensure!(stopped == Some(2), "{stopped:?}");
    ensure!(mails.get(made[0]).await?.context("m0")?.status == MailStatus::Delivered);
    ensure!(mails.get(made[1]).await?.context("m1")?.status == MailStatus::Cancelled);
    ensure!(mails.get(made[2]).await?.context("m2")?.status == MailStatus::Cancelled);
    ensure!(
        !mails.mark_sending(made[2]).await?,
        "a stopped mail is not sent"
    );
    mails.mark(made[2], MailStatus::Bounced, "550 late").await?;
    ensure!(mails.get(made[2]).await?.context("m2")?.status == MailStatus::Cancelled);

    ensure!(!batch(&store, id, 3).await?, "no batch after 中止");
    let send = repo.get(id).await?.context("the send")?;
    ensure!(send.status == BulkMailStatus::Cancelled && send.cancelled_at.is_some());
    ensure!(send.created_mails == 3);
    let without = repo
        .sent_to(id, None, 100, 0)
        .await?
        .into_iter()
        .filter(|r| r.mail.is_none())
        .count();
    ensure!(without == 2, "the silent clinic and the one never reached");
    let counts = repo.mail_counts(id).await?;
    ensure!(
        (
            counts[&MailStatus::Delivered],
            counts[&MailStatus::Cancelled]
        ) == (1, 2),
        "{counts:?}"
    );
    let events = store.audit().list(Some(ishikawa()), 10).await?;
    let detail = events
        .iter()
        .find(|e| e.event.action == "bulk_mail.cancelled")
        .and_then(|e| e.event.detail.clone())
        .context("the audit event")?;
    ensure!(
        detail["stopped_mails"] == 2 && detail["why"] == "test",
        "{detail}"
    );
    ensure!(
        repo.cancel(id, None, AuditEvent::new("x", None), Utc::now())
            .await?
            .is_none()
    );
    // A draft is discarded the same way, with nothing to stop.
    let d = repo
        .create(
            &draft(vec![FacilityKind::Clinic]),
            None,
            AuditEvent::new("d", None),
            Utc::now(),
        )
        .await?;
    ensure!(
        repo.cancel(d, None, AuditEvent::new("x", None), Utc::now())
            .await?
            == Some(0)
    );
    Ok(())
}
