use anyhow::ensure;
use chrono::{NaiveDate, TimeZone, Utc};
use teikyo_domain::FacilityKind;
use teikyo_domain::opening::Closure;
use teikyo_domain::publication::{HiddenReason, PublishedDocument};
use teikyo_store::{Applied, AuditEvent, Evaluation, FacilityId, NewClosure, Store};

use crate::fixtures::facility;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn document(kind: FacilityKind, n: u32, note: &str) -> PublishedDocument {
    PublishedDocument {
        facility: facility(kind, n),
        item_set: "2025-clinic".into(),
        confirmed_at: Utc.with_ymd_and_hms(2026, 6, 1, 3, 0, 0).unwrap(),
        sections: vec![teikyo_domain::publication::PublishedSection {
            id: "access".into(),
            number: "1.(2)".into(),
            title: "アクセス".into(),
            confirmed_on: day(2026, 6, 1),
            changed_on: day(2026, 6, 1),
            answers: {
                let mut a = teikyo_domain::forms::Answers::default();
                a.set(
                    "access.transport",
                    teikyo_domain::forms::Value::Text(note.into()),
                );
                // A number whose shortest form has 17 digits: it must read back exactly.
                a.set(
                    "access.parking_spaces",
                    teikyo_domain::forms::Value::Number(0.1 + 0.2),
                );
                a
            },
        }],
        closures: Vec::new(),
    }
}

fn evaluation(id: FacilityId, doc: &PublishedDocument, hidden: Vec<HiddenReason>) -> Evaluation {
    Evaluation {
        facility: id,
        document: doc.clone(),
        hidden,
        evaluated_on: day(2026, 11, 22),
        next_change: None,
    }
}

/// Many facilities in one call are written together, each row with its own facility and
/// document; a facility twice in one call is applied in order (its last evaluation wins).
pub async fn many_facilities_are_applied_at_once_and_a_repeat_in_order(
    store: Store,
) -> anyhow::Result<()> {
    let repo = store.publications();
    let now = Utc::now();
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(
            store
                .facilities()
                .insert(&facility(FacilityKind::Clinic, n))
                .await?,
        );
    }
    let docs: Vec<PublishedDocument> = (1..=3)
        .map(|n| document(FacilityKind::Clinic, n, &format!("バス停 {n}")))
        .collect();
    let evaluations: Vec<Evaluation> = ids
        .iter()
        .zip(&docs)
        .map(|(id, d)| evaluation(*id, d, vec![]))
        .collect();
    let applied = repo.apply(&evaluations, now).await?;
    ensure!(
        applied
            .iter()
            .all(|a| matches!(a, Applied::Published { .. }))
    );
    let rows = repo.since(0, 10).await?;
    ensure!(rows.len() == 3, "{rows:?}");
    for (id, doc) in ids.iter().zip(&docs) {
        let row = rows.iter().find(|r| r.facility_id == *id).unwrap();
        ensure!(row.document.as_ref() == Some(doc));
        ensure!(repo.published(*id).await?.as_ref() == Some(doc));
        let Some(Applied::Published { seq }) =
            applied.get(ids.iter().position(|i| i == id).unwrap())
        else {
            anyhow::bail!("not published");
        };
        ensure!(row.seq == *seq);
        ensure!(repo.state(*id).await?.unwrap().last_seq == Some(*seq));
    }
    // The first facility twice: changed, then hidden; the second unchanged.
    let changed = document(FacilityKind::Clinic, 1, "バス停 変更");
    let abolished = vec![HiddenReason::Abolished {
        since: day(2026, 11, 1),
    }];
    let applied = repo
        .apply(
            &[
                evaluation(ids[0], &changed, vec![]),
                evaluation(ids[1], &docs[1], vec![]),
                evaluation(ids[0], &changed, abolished),
            ],
            now,
        )
        .await?;
    ensure!(
        matches!(applied[0], Applied::Published { .. }),
        "{applied:?}"
    );
    ensure!(applied[1] == Applied::Unchanged, "{applied:?}");
    ensure!(
        matches!(applied[2], Applied::Withdrawn { .. }),
        "{applied:?}"
    );
    ensure!(repo.published(ids[0]).await?.is_none());
    ensure!(repo.published(ids[1]).await?.as_ref() == Some(&docs[1]));
    ensure!(repo.since(0, 10).await?.len() == 5);
    Ok(())
}

/// The log gets a row only when residents would see a difference: a new or changed document
/// while shown, a tombstone when a shown facility is hidden, the document again when it comes
/// back. Hidden facilities keep their document for later; `published` shows only what is shown.
pub async fn the_log_appends_only_what_residents_see_change(store: Store) -> anyhow::Result<()> {
    let id = store
        .facilities()
        .insert(&facility(FacilityKind::Clinic, 1))
        .await?;
    let repo = store.publications();
    let now = Utc::now();
    ensure!(repo.head().await? == 0);
    let doc = document(FacilityKind::Clinic, 1, "JR金沢駅からバス10分");
    let a = repo.apply(&[evaluation(id, &doc, vec![])], now).await?;
    let [Applied::Published { seq: first }] = a[..] else {
        anyhow::bail!("{a:?}")
    };
    ensure!(repo.apply(&[evaluation(id, &doc, vec![])], now).await? == [Applied::Unchanged]);
    ensure!(repo.published(id).await? == Some(doc.clone()));
    // What was read back is applied again unchanged (a re-evaluation starts from it).
    let read_back = repo.state(id).await?.expect("a state").document;
    ensure!(
        repo.apply(&[evaluation(id, &read_back, vec![])], now)
            .await?
            == [Applied::Unchanged]
    );
    let changed = document(FacilityKind::Clinic, 1, "北鉄バス「兼六園下」徒歩3分");
    let a = repo.apply(&[evaluation(id, &changed, vec![])], now).await?;
    ensure!(
        matches!(a[..], [Applied::Published { seq }] if seq > first),
        "{a:?}"
    );
    let abolished = vec![HiddenReason::Abolished {
        since: day(2026, 11, 22),
    }];
    let a = repo
        .apply(&[evaluation(id, &changed, abolished.clone())], now)
        .await?;
    ensure!(matches!(a[..], [Applied::Withdrawn { .. }]), "{a:?}");
    ensure!(
        repo.apply(&[evaluation(id, &changed, abolished.clone())], now)
            .await?
            == [Applied::Unchanged]
    );
    ensure!(repo.published(id).await?.is_none());
    let state = repo.state(id).await?.expect("a state");
    ensure!(state.document == changed && state.hidden == abolished);
    // Back again (the 廃止 was withdrawn by a 随時報告): the document is published again.
    let a = repo.apply(&[evaluation(id, &changed, vec![])], now).await?;
    ensure!(matches!(a[..], [Applied::Published { .. }]), "{a:?}");
    let rows = repo.since(0, 100).await?;
    let kinds: Vec<bool> = rows.iter().map(|r| r.document.is_some()).collect();
    ensure!(kinds == [true, true, false, true], "{kinds:?}");
    ensure!(rows.windows(2).all(|w| w[0].seq < w[1].seq));
    ensure!(rows[2].reason.as_deref() == Some("publication.abolished"));
    ensure!(repo.since(rows[1].seq, 1).await?.len() == 1);
    ensure!(repo.head().await? == rows[3].seq);
    let state = repo.state(id).await?.expect("a state");
    ensure!(state.visible() && state.last_seq == Some(rows[3].seq) && state.document == changed);
    Ok(())
}

/// Facilities due for the daily look are those whose next change has come.
pub async fn due_facilities_are_those_whose_day_has_come(store: Store) -> anyhow::Result<()> {
    let repo = store.publications();
    let mut ids = Vec::new();
    for (n, next) in [
        (1, Some(day(2026, 12, 1))),
        (2, None),
        (3, Some(day(2026, 11, 30))),
    ] {
        let id = store
            .facilities()
            .insert(&facility(FacilityKind::Clinic, n))
            .await?;
        let doc = document(FacilityKind::Clinic, n, "徒歩5分");
        let mut e = evaluation(id, &doc, vec![]);
        e.next_change = next;
        repo.apply(&[e], Utc::now()).await?;
        ids.push(id);
    }
    ensure!(repo.due(day(2026, 11, 29)).await?.is_empty());
    ensure!(repo.due(day(2026, 11, 30)).await? == [ids[2]]);
    ensure!(repo.due(day(2026, 12, 1)).await? == [ids[0], ids[2]]);
    Ok(())
}

/// Two nodes applying the same evaluation at once publish it once.
pub async fn racing_applies_publish_once(store: Store) -> anyhow::Result<()> {
    let id = store
        .facilities()
        .insert(&facility(FacilityKind::Pharmacy, 7))
        .await?;
    let doc = document(FacilityKind::Pharmacy, 7, "駅前");
    let run = |store: Store, doc: PublishedDocument| async move {
        store
            .publications()
            .apply(&[evaluation(id, &doc, vec![])], Utc::now())
            .await
    };
    let (a, b) = tokio::join!(
        tokio::spawn(run(store.clone(), doc.clone())),
        tokio::spawn(run(store.clone(), doc.clone()))
    );
    let mut all = a??;
    all.extend(b??);
    let published = all
        .iter()
        .filter(|a| matches!(a, Applied::Published { .. }))
        .count();
    ensure!(published == 1, "{all:?}");
    ensure!(store.publications().since(0, 10).await?.len() == 1);
    Ok(())
}

/// 臨時休診 are current from declaration until withdrawn or over; withdrawing twice changes
/// nothing the second time; both are audited.
pub async fn closures_are_current_until_withdrawn_or_over(store: Store) -> anyhow::Result<()> {
    let a = store
        .facilities()
        .insert(&facility(FacilityKind::Clinic, 1))
        .await?;
    let b = store
        .facilities()
        .insert(&facility(FacilityKind::Clinic, 2))
        .await?;
    let repo = store.publications();
    let typhoon = Closure {
        from: day(2026, 11, 20),
        to: day(2026, 11, 21),
        reason: "台風のため".into(),
    };
    let ids = repo
        .declare_closures(
            &[
                NewClosure {
                    facility_id: a,
                    closure: typhoon.clone(),
                    batch_id: Some(1),
                    by: None,
                },
                NewClosure {
                    facility_id: b,
                    closure: typhoon.clone(),
                    batch_id: Some(1),
                    by: None,
                },
            ],
            &[],
            &AuditEvent::new("closure.declared", None),
            Utc::now(),
        )
        .await?;
    ensure!(ids.len() == 2);
    let current = repo.current_closures(&[a, b], day(2026, 11, 21)).await?;
    ensure!(current.len() == 2 && current[&a][0].closure == typhoon);
    ensure!(
        repo.current_closures(&[a, b], day(2026, 11, 22))
            .await?
            .is_empty(),
        "over after its last day"
    );
    let withdrawn = repo
        .withdraw_closures(
            &ids[..1],
            &[],
            None,
            &AuditEvent::new("closure.withdrawn", None),
            Utc::now(),
        )
        .await?;
    ensure!(withdrawn == [a]);
    ensure!(
        repo.withdraw_closures(
            &ids[..1],
            &[],
            None,
            &AuditEvent::new("closure.withdrawn", None),
            Utc::now()
        )
        .await?
        .is_empty()
    );
    let current = repo.current_closures(&[a, b], day(2026, 11, 20)).await?;
    ensure!(!current.contains_key(&a) && current.contains_key(&b));
    let all = repo.closures_of(a).await?;
    ensure!(all.len() == 1 && all[0].withdrawn_at.is_some());
    Ok(())
}

/// 臨時休診一括処理: a target resolves to the facilities of its area or codes; declaring closes
/// them all with the publication job in one transaction; withdrawing closes none any more,
/// queues the publication again, and happens once.
pub async fn closure_batches_close_many_at_once_and_withdraw_once(
    store: Store,
) -> anyhow::Result<()> {
    use teikyo_domain::closure::ClosureTarget;
    use teikyo_domain::{FacilityCode, MunicipalityCode, PrefectureCode};
    use teikyo_store::{JobStatus, NewJob};
    let kanazawa = MunicipalityCode::parse("172014")?;
    let nanao = MunicipalityCode::parse("172022")?;
    let ishikawa = PrefectureCode::parse("17")?;
    let a = store
        .facilities()
        .insert(&facility(FacilityKind::Clinic, 1))
        .await?;
    let b = store
        .facilities()
        .insert(&facility(FacilityKind::Pharmacy, 2))
        .await?;
    let mut elsewhere = facility(FacilityKind::Clinic, 3);
    elsewhere.municipality = nanao;
    let c = store.facilities().insert(&elsewhere).await?;
    let mut closed = facility(FacilityKind::Clinic, 4);
    closed.abolished_on = Some(day(2026, 1, 1));
    store.facilities().insert(&closed).await?;
    let batches = store.closure_batches();
    let today = day(2026, 11, 22);
    let clinics_in_kanazawa = ClosureTarget::Area {
        kinds: vec![FacilityKind::Clinic, FacilityKind::Pharmacy],
        municipalities: vec![kanazawa],
    };
    let found = batches
        .targets(ishikawa, &clinics_in_kanazawa, None, today)
        .await?;
    ensure!(
        found.iter().map(|f| f.id).collect::<Vec<_>>() == [a, b],
        "{found:?}"
    );
    let whole = ClosureTarget::Area {
        kinds: vec![FacilityKind::Clinic],
        municipalities: vec![],
    };
    let found = batches.targets(ishikawa, &whole, None, today).await?;
    ensure!(found.iter().map(|f| f.id).collect::<Vec<_>>() == [a, c]);
    let found = batches
        .targets(ishikawa, &whole, Some(&[nanao]), today)
        .await?;
    ensure!(
        found.iter().map(|f| f.id).collect::<Vec<_>>() == [c],
        "area"
    );
    let by_code = ClosureTarget::Codes {
        kinds: vec![FacilityKind::Clinic],
        codes: vec![
            FacilityCode::parse("2170000003")?,
            FacilityCode::parse("9999999999")?,
        ],
    };
    let found = batches.targets(ishikawa, &by_code, None, today).await?;
    ensure!(
        found.iter().map(|f| f.id).collect::<Vec<_>>() == [c] && found[0].name == "広坂診療所3",
        "{found:?}"
    );

    let storm = Closure {
        from: day(2026, 11, 22),
        to: day(2026, 11, 24),
        reason: "大雨による浸水のため".into(),
    };
    let id = batches
        .declare(
            &teikyo_store::NewClosureBatch {
                prefecture: ishikawa,
                closure: storm.clone(),
                target: clinics_in_kanazawa.clone(),
                by: None,
            },
            &[a, b],
            &NewJob::new(
                "publication.project",
                serde_json::json!({"facilities": [a.0, b.0]}),
            ),
            &AuditEvent::new("closure.batch_declared", None),
            Utc::now(),
        )
        .await?;
    let batch = batches.get(id).await?.expect("stored");
    ensure!(batch.closure == storm && batch.target == clinics_in_kanazawa);
    ensure!(batch.facilities == 2 && batch.withdrawn_at.is_none());
    let job = store
        .jobs()
        .get(batch.job_id.expect("a job"))
        .await?
        .expect("queued");
    ensure!(job.status == JobStatus::Queued && job.kind == "publication.project");
    let current = store
        .publications()
        .current_closures(&[a, b, c], today)
        .await?;
    ensure!(current.len() == 2 && current[&a][0].batch_id == Some(id.0));
    ensure!(batches.list(&[ishikawa], 10).await?.len() == 1);
    ensure!(
        batches
            .list(&[PrefectureCode::parse("13")?], 10)
            .await?
            .is_empty()
    );
    let of = batches.facilities_of(id, None).await?;
    ensure!(of.iter().map(|f| (f.id, f.withdrawn)).collect::<Vec<_>>() == [(a, false), (b, false)]);
    ensure!(batches.facilities_of(id, Some(&[nanao])).await?.is_empty());

    // The facility reopens early on its own; then staff withdraw the batch.
    let own = current[&a][0].id;
    store
        .publications()
        .withdraw_closures(
            &[own],
            &[],
            None,
            &AuditEvent::new("closure.withdrawn", None),
            Utc::now(),
        )
        .await?;
    let mut queued_for = Vec::new();
    let n = batches
        .withdraw(
            id,
            |f| {
                queued_for = f.to_vec();
                NewJob::new("publication.project", serde_json::json!({}))
            },
            None,
            &AuditEvent::new("closure.batch_withdrawn", None),
            Utc::now(),
        )
        .await?;
    ensure!(n == Some(1) && queued_for == [b], "{n:?} {queued_for:?}");
    let again = batches
        .withdraw(
            id,
            |_| NewJob::new("publication.project", serde_json::json!({})),
            None,
            &AuditEvent::new("closure.batch_withdrawn", None),
            Utc::now(),
        )
        .await?;
    ensure!(again.is_none(), "a second withdrawal changes nothing");
    let batch2 = batches.get(id).await?.expect("stored");
    ensure!(batch2.withdrawn_at.is_some() && batch2.job_id != batch.job_id);
    ensure!(
        store
            .publications()
            .current_closures(&[a, b], today)
            .await?
            .is_empty()
    );
    ensure!(
        batches
            .facilities_of(id, None)
            .await?
            .iter()
            .all(|f| f.withdrawn)
    );
    Ok(())
}

/// 「情報の誤りを報告」: stored with its audit event, counted per facility while open, listed
/// for the prefecture (and a 保健所 area), marked 対応済 once.
pub async fn error_reports_wait_until_handled(store: Store) -> anyhow::Result<()> {
    use teikyo_domain::{MunicipalityCode, PrefectureCode};
    use teikyo_store::NewErrorReport;
    let a = store
        .facilities()
        .insert(&facility(FacilityKind::Clinic, 1))
        .await?;
    let mut far = facility(FacilityKind::Clinic, 2);
    far.municipality = MunicipalityCode::parse("172022")?;
    let b = store.facilities().insert(&far).await?;
    let repo = store.error_reports();
    let report = |f: FacilityId, body: &str| NewErrorReport {
        facility_id: f,
        section: Some("access".into()),
        body: body.into(),
        contact: None,
        lang: "ja".into(),
    };
    let audit = AuditEvent::new("error_report.received", None);
    let first = repo
        .create(&report(a, "駐車場はありません。"), &audit, Utc::now())
        .await?;
    repo.create(&report(a, "電話番号が違います。"), &audit, Utc::now())
        .await?;
    repo.create(&report(b, "土曜は休診です。"), &audit, Utc::now())
        .await?;
    let counts = repo.open_counts(&[a, b]).await?;
    ensure!(counts[&a] == 2 && counts[&b] == 1, "{counts:?}");
    let listed = repo.of_facility(a, 10).await?;
    ensure!(listed.len() == 2 && listed[0].body == "電話番号が違います。");
    ensure!(listed[0].facility_name == "広坂診療所1");
    let ishikawa = PrefectureCode::parse("17")?;
    let (all, open) = repo.in_prefecture(ishikawa, None, true, 10).await?;
    ensure!(all.len() == 3 && open == 3);
    let nanao = [MunicipalityCode::parse("172022")?];
    let (area, open) = repo.in_prefecture(ishikawa, Some(&nanao), true, 10).await?;
    ensure!(area.len() == 1 && area[0].facility_id == b && open == 1);
    let (none, _) = repo
        .in_prefecture(PrefectureCode::parse("13")?, None, false, 10)
        .await?;
    ensure!(none.is_empty());
    let handled = AuditEvent::new("error_report.handled", None);
    ensure!(repo.mark_handled(first, None, &handled, Utc::now()).await?);
    ensure!(
        !repo.mark_handled(first, None, &handled, Utc::now()).await?,
        "once"
    );
    ensure!(repo.open_counts(&[a]).await?[&a] == 1);
    let (open_list, open) = repo.in_prefecture(ishikawa, None, true, 10).await?;
    ensure!(open_list.len() == 2 && open == 2);
    let (all, _) = repo.in_prefecture(ishikawa, None, false, 10).await?;
    ensure!(
        all.len() == 3
            && repo
                .get(first)
                .await?
                .is_some_and(|r| r.handled_at.is_some())
    );
    Ok(())
}
