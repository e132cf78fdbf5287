use anyhow::ensure;
use std::collections::HashSet;
use teikyo_domain::{FacilityKind, MunicipalityCode, PrefectureCode};
use teikyo_store::{MailFilter, MailStatus, NewMail, Store};

use crate::fixtures::facility;

fn mail(n: usize, to: &str, facility_id: Option<i64>) -> NewMail {
    NewMail {
        template: if n.is_multiple_of(2) {
            "periodic_report_notice"
        } else {
            "account_ready"
        }
        .into(),
        to: to.into(),
        subject: format!("【Teikyo】定期報告のご案内 {n}"),
        body_text: "本文\n".into(),
        message_id: format!("<contract-{n}@teikyo.test>"),
        related: Some(("facility".into(), n.to_string())),
        facility_id,
    }
}

pub async fn queue_mails_covers_every_mail_once(store: Store) -> anyhow::Result<()> {
    // More than one insert batch, and not a multiple of the mails per job.
    let mails: Vec<NewMail> = (0..4_321)
        .map(|n| mail(n, &format!("f{n}@example.jp"), None))
        .collect();
    let tx = store.begin().await?;
    let mut seen = Vec::new();
    let n = tx.queue_mails(mails, &mut |done| seen.push(done)).await?;
    tx.commit().await?;
    ensure!(n == 4_321);
    ensure!(
        seen.last() == Some(&4_321) && seen.windows(2).all(|w| w[0] < w[1]),
        "{seen:?}"
    );
    let counts = store
        .mails()
        .count_by_status(&MailFilter::default())
        .await?;
    ensure!(
        counts.get(&MailStatus::Queued) == Some(&4_321),
        "{counts:?}"
    );
    // Every mail is in exactly one job, and every id in a job is a mail.
    let mut ids = HashSet::new();
    let now = chrono::Utc::now() + chrono::Duration::seconds(1);
    let mut jobs = 0;
    while let Some(job) = store.jobs().claim("w", &["mail.send"], now).await? {
        jobs += 1;
        let part = job.payload["mail_ids"]
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("no mail_ids: {}", job.payload))?;
        ensure!(part.len() <= teikyo_store::mail::MAILS_PER_JOB);
        for id in part {
            let id = id.as_i64().unwrap_or(-1);
            ensure!(ids.insert(id), "mail {id} in two jobs");
        }
    }
    ensure!(ids.len() == 4_321, "{} mails in jobs", ids.len());
    ensure!(jobs < 4_321 / 100, "{jobs} jobs");
    for id in [ids.iter().min(), ids.iter().max()].into_iter().flatten() {
        ensure!(
            store
                .mails()
                .get(teikyo_store::MailId(*id))
                .await?
                .is_some(),
            "job for a missing mail {id}"
        );
    }
    Ok(())
}

pub async fn queue_mails_rolled_back_leaves_nothing(store: Store) -> anyhow::Result<()> {
    let mails: Vec<NewMail> = (0..2_500).map(|n| mail(n, "a@example.jp", None)).collect();
    let tx = store.begin().await?;
    tx.queue_mails(mails, &mut |_| {}).await?;
    tx.rollback().await?;
    let counts = store
        .mails()
        .count_by_status(&MailFilter::default())
        .await?;
    ensure!(counts.values().all(|&n| n == 0), "{counts:?}");
    let jobs = store.jobs().count_by_status().await?;
    ensure!(jobs.values().all(|&n| n == 0), "{jobs:?}");
    Ok(())
}

pub async fn mail_log_filters_and_prefecture_scope(store: Store) -> anyhow::Result<()> {
    let ishikawa = store
        .facilities()
        .insert(&facility(FacilityKind::Clinic, 1))
        .await?;
    let mut tokyo = facility(FacilityKind::Clinic, 2);
    tokyo.prefecture = PrefectureCode::parse("13")?;
    tokyo.municipality = MunicipalityCode::parse("131016")?;
    let tokyo = store.facilities().insert(&tokyo).await?;
    let tx = store.begin().await?;
    tx.queue_mail(&mail(0, "Clinic@Example.jp", Some(ishikawa.0)))
        .await?;
    tx.queue_mail(&mail(1, "clinic@example.jp", Some(ishikawa.0)))
        .await?;
    tx.queue_mail(&mail(2, "tokyo@example.jp", Some(tokyo.0)))
        .await?;
    let operator_only = tx.queue_mail(&mail(3, "100%_x@example.jp", None)).await?;
    tx.commit().await?;
    store
        .mails()
        .mark(operator_only, MailStatus::Bounced, "550 5.1.1 User unknown")
        .await?;
    let repo = store.mails();
    let list = |f: MailFilter| {
        let repo = &repo;
        async move {
            anyhow::Ok(
                repo.list(&f, 100, 0)
                    .await?
                    .into_iter()
                    .map(|m| m.subject)
                    .collect::<Vec<_>>(),
            )
        }
    };
    let all = list(MailFilter::default()).await?;
    ensure!(
        all.len() == 4 && all[0].ends_with(" 3"),
        "newest first: {all:?}"
    );
    let scoped = list(MailFilter {
        prefecture: Some("17".into()),
        ..Default::default()
    })
    .await?;
    ensure!(
        scoped.len() == 2,
        "prefecture 17 sees its two mails: {scoped:?}"
    );
    let by_to = list(MailFilter {
        to: Some("CLINIC@example".into()),
        ..Default::default()
    })
    .await?;
    ensure!(by_to.len() == 2, "recipient, any case: {by_to:?}");
    let literal = list(MailFilter {
        to: Some("0%_".into()),
        ..Default::default()
    })
    .await?;
    ensure!(literal.len() == 1, "% and _ are literal: {literal:?}");
    let bounced = list(MailFilter {
        status: Some(MailStatus::Bounced),
        ..Default::default()
    })
    .await?;
    ensure!(bounced.len() == 1);
    let template = list(MailFilter {
        template: Some("account_ready".into()),
        prefecture: Some("13".into()),
        ..Default::default()
    })
    .await?;
    ensure!(template.is_empty(), "{template:?}");
    let counts = repo
        .count_by_status(&MailFilter {
            prefecture: Some("17".into()),
            ..Default::default()
        })
        .await?;
    ensure!(counts.get(&MailStatus::Queued) == Some(&2), "{counts:?}");
    ensure!(counts.values().sum::<u64>() == 2, "{counts:?}");
    let later = list(MailFilter {
        since: Some(chrono::Utc::now() + chrono::Duration::minutes(1)),
        ..Default::default()
    })
    .await?;
    ensure!(later.is_empty());
    Ok(())
}

pub async fn a_settled_mail_is_not_marked_sending(store: Store) -> anyhow::Result<()> {
    let tx = store.begin().await?;
    let id = tx.queue_mail(&mail(1, "a@example.jp", None)).await?;
    tx.commit().await?;
    let repo = store.mails();
    ensure!(repo.mark_sending(id).await?, "a queued mail may be sent");
    ensure!(
        repo.mark_sending(id).await?,
        "so may one left 送信中 by a dead worker"
    );
    // a bounce report lands while the worker talks to the server
    repo.mark(id, MailStatus::Bounced, "5.1.1 smtp; 550 User unknown")
        .await?;
    repo.mark(id, MailStatus::Delivered, "250 ok").await?;
    let m = repo.get(id).await?.ok_or_else(|| anyhow::anyhow!("gone"))?;
    ensure!(m.status == MailStatus::Bounced, "{:?}", m.status);
    ensure!(
        !repo.mark_sending(id).await?,
        "a 不達 mail must not be sent again"
    );
    let m = repo.get(id).await?.ok_or_else(|| anyhow::anyhow!("gone"))?;
    ensure!(m.status == MailStatus::Bounced && m.attempts == 2, "{m:?}");
    Ok(())
}

pub async fn empty_related_parts_are_none_on_both_paths(store: Store) -> anyhow::Result<()> {
    let mut one = mail(1, "a@example.jp", None);
    one.related = Some(("application".into(), String::new()));
    let mut bulk = mail(2, "b@example.jp", Some(1));
    bulk.related = Some((String::new(), String::new()));
    let tx = store.begin().await?;
    let a = tx.queue_mail(&one).await?;
    tx.queue_mails(vec![bulk], &mut |_| {}).await?;
    tx.commit().await?;
    let all = store.mails().list(&MailFilter::default(), 10, 0).await?;
    ensure!(all.len() == 2);
    for m in &all {
        ensure!(m.related.is_none(), "{m:?}");
    }
    ensure!(all.iter().any(|m| m.id == a));
    ensure!(all.iter().any(|m| m.facility_id == Some(1)), "{all:?}");
    Ok(())
}
