use anyhow::ensure;
use chrono::Utc;
use teikyo_domain::FacilityKind;
use teikyo_domain::forms::{Answers, Value};
use teikyo_domain::report::{ReportKind, ReportStatus, SectionStatus};
use teikyo_store::{AuditEvent, NewReport, SaveOutcome, SectionSave, Store};

use crate::fixtures::facility;

fn answers(name: &str) -> Answers {
    let mut a = Answers::default();
    a.set("basic.name_official", Value::Text(name.to_owned()));
    a.set("basic.beds_general", Value::Number(19.0));
    a
}

/// A new report of `kind` for a new facility of `facility_kind` numbered `n`, in 2026.
async fn started(
    store: &Store,
    facility_kind: FacilityKind,
    n: u32,
    kind: ReportKind,
) -> anyhow::Result<teikyo_store::Report> {
    let f = store
        .facilities()
        .insert(&facility(facility_kind, n))
        .await?;
    let new = NewReport {
        facility_id: f,
        kind,
        fiscal_year: 2026,
        item_set: format!("2026-{}", facility_kind.id()),
        by: None,
        period_id: None,
        insurance_check: None,
        preset: Vec::new(),
    };
    let (r, _) = store
        .reports()
        .start(&new, AuditEvent::new("report.started", None), Utc::now())
        .await?;
    Ok(r)
}

/// A periodic report is started once per facility and 年度, also when two requests race; the
/// start is audited with the report as its target.
pub async fn a_periodic_report_is_started_once(store: Store) -> anyhow::Result<()> {
    let f = store
        .facilities()
        .insert(&facility(FacilityKind::Clinic, 1))
        .await?;
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
    let now = Utc::now();
    let audit = || AuditEvent::new("report.started", None).about_facility(Some(f.0));
    let reports = store.reports();
    let (a, b) = tokio::join!(
        reports.start(&new, audit(), now),
        reports.start(&new, audit(), now)
    );
    let (a, created_a) = a?;
    let (b, created_b) = b?;
    ensure!(a.id == b.id, "{a:?} / {b:?}");
    ensure!(created_a != created_b, "exactly one created");
    ensure!(a.status == ReportStatus::InProgress && a.fiscal_year == 2026);
    ensure!(a.item_set == "2026-clinic" && a.kind == ReportKind::Periodic);
    let events = store.audit().list(None, 10).await?;
    let started: Vec<_> = events
        .iter()
        .filter(|e| e.event.action == "report.started")
        .collect();
    ensure!(started.len() == 1, "{started:?}");
    ensure!(
        started[0].event.target == Some(("report".into(), a.id.to_string())),
        "{started:?}"
    );
    // A 随時報告 may exist beside it, and another 年度's 定期報告.
    let change = NewReport {
        kind: ReportKind::Change,
        ..new.clone()
    };
    let (c, created) = reports.start(&change, audit(), now).await?;
    ensure!(created && c.id != a.id);
    let next = NewReport {
        fiscal_year: 2027,
        ..new.clone()
    };
    ensure!(reports.start(&next, audit(), now).await?.1);
    ensure!(store.reports().of_facility(f).await?.len() == 3);
    ensure!(store.reports().periodic(f, 2026).await?.map(|r| r.id) == Some(a.id));
    Ok(())
}

/// Sections are saved with the version they were shown with: the first save and every later
/// one succeed once, a stale one is refused with what is stored now, nothing is overwritten.
pub async fn a_stale_section_save_is_refused(store: Store) -> anyhow::Result<()> {
    let r = started(&store, FacilityKind::Clinic, 2, ReportKind::Periodic).await?;
    let reports = store.reports();
    ensure!(reports.sections(r.id).await?.is_empty(), "all 未入力");
    let first = answers("広坂診療所");
    let save = |version, status, a| SectionSave {
        report: r.id,
        section: "basic",
        expected_version: version,
        status,
        answers: a,
        by: None,
    };
    let audit = AuditEvent::new("report.section_saved", None).on("report", r.id);
    let now = Utc::now();
    // Two first saves at once: one wins.
    let second = answers("別の人の入力");
    let (s1, s2) = (
        save(0, SectionStatus::Draft, &first),
        save(0, SectionStatus::Draft, &second),
    );
    let (x, y) = tokio::join!(
        reports.save_section(&s1, &audit, now),
        reports.save_section(&s2, &audit, now)
    );
    let (x, y) = (x?, y?);
    let won = match (&x, &y) {
        (SaveOutcome::Saved { version: 1 }, SaveOutcome::Stale { current: Some(c) }) => {
            ensure!(c.answers == first, "{c:?}");
            &first
        }
        (SaveOutcome::Stale { current: Some(c) }, SaveOutcome::Saved { version: 1 }) => {
            ensure!(c.answers == second, "{c:?}");
            &second
        }
        other => anyhow::bail!("expected one save and one stale: {other:?}"),
    };
    let stored = reports.section(r.id, "basic").await?.unwrap();
    ensure!(stored.answers == *won && stored.version == 1);
    ensure!(stored.status == SectionStatus::Draft);

    // The next save from version 1 works once; a second from version 1 is stale.
    let done = answers("広坂診療所（完了）");
    let out = reports
        .save_section(&save(1, SectionStatus::Complete, &done), &audit, now)
        .await?;
    ensure!(out == SaveOutcome::Saved { version: 2 }, "{out:?}");
    let out = reports
        .save_section(&save(1, SectionStatus::Draft, &first), &audit, now)
        .await?;
    match out {
        SaveOutcome::Stale { current: Some(c) } => {
            ensure!(c.version == 2 && c.answers == done && c.status == SectionStatus::Complete)
        }
        other => anyhow::bail!("{other:?}"),
    }
    // `Empty` is stored as 一時保存: a saved section is never 未入力.
    let out = reports
        .save_section(&save(2, SectionStatus::Empty, &first), &audit, now)
        .await?;
    ensure!(out == SaveOutcome::Saved { version: 3 });
    let all = reports.sections(r.id).await?;
    ensure!(
        all.len() == 1 && all[0].status == SectionStatus::Draft,
        "{all:?}"
    );
    let saved_events = store
        .audit()
        .list(None, 20)
        .await?
        .into_iter()
        .filter(|e| e.event.action == "report.section_saved")
        .count();
    ensure!(
        saved_events == 3,
        "one audit event per save: {saved_events}"
    );
    Ok(())
}

/// A report that no longer takes input refuses saves; an unknown report is missing.
pub async fn a_closed_report_takes_no_input(store: Store) -> anyhow::Result<()> {
    let r = started(&store, FacilityKind::Pharmacy, 3, ReportKind::Change).await?;
    store
        .execute_unprepared(&format!(
            "UPDATE report SET status = 'submitted' WHERE id = {}",
            r.id
        ))
        .await?;
    let a = answers("x");
    let audit = AuditEvent::new("report.section_saved", None);
    let mut save = SectionSave {
        report: r.id,
        section: "pharmacy_basic",
        expected_version: 0,
        status: SectionStatus::Draft,
        answers: &a,
        by: None,
    };
    let out = store
        .reports()
        .save_section(&save, &audit, Utc::now())
        .await?;
    ensure!(
        out == SaveOutcome::Closed {
            status: ReportStatus::Submitted
        },
        "{out:?}"
    );
    ensure!(store.reports().sections(r.id).await?.is_empty());
    save.report = teikyo_store::ReportId(r.id.0 + 1000);
    let out = store
        .reports()
        .save_section(&save, &audit, Utc::now())
        .await?;
    ensure!(out == SaveOutcome::Missing, "{out:?}");
    Ok(())
}
