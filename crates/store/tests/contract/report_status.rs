use anyhow::{Context, ensure};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use teikyo_domain::completeness::{self, Tally};
use teikyo_domain::report::{ReportKind, ReportStatus, Transition};
use teikyo_domain::{FacilityKind, MunicipalityCode, PrefectureCode};
use teikyo_store::{
    AuditEvent, FacilityId, NewReport, ReportId, StatusScope, Store, TransitionOutcome,
    TransitionRequest,
};

use crate::fixtures::facility;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn kanazawa() -> MunicipalityCode {
    MunicipalityCode::parse("172014").unwrap()
}

fn nanao() -> MunicipalityCode {
    MunicipalityCode::parse("172022").unwrap()
}

async fn start(
    store: &Store,
    f: FacilityId,
    kind: ReportKind,
    fiscal_year: u16,
) -> anyhow::Result<ReportId> {
    let new = NewReport {
        facility_id: f,
        kind,
        fiscal_year,
        item_set: format!("{fiscal_year}-clinic"),
        by: None,
        period_id: None,
        insurance_check: None,
        preset: Vec::new(),
    };
    let (r, _) = store
        .reports()
        .start(&new, AuditEvent::new("report.started", None), Utc::now())
        .await?;
    Ok(r.id)
}

/// Applies `t` at `when` (the time the list and the dashboard read back).
async fn step(
    store: &Store,
    id: ReportId,
    t: Transition,
    when: DateTime<Utc>,
) -> anyhow::Result<()> {
    let r = store.reports().get(id).await?.context("the report")?;
    let out = store
        .reports()
        .transition(
            &TransitionRequest {
                report: id,
                expected_version: r.version,
                transition: t,
                by: None,
                proxy: t == Transition::Submit,
                comment: None,
                required_sections: &[],
                facility_dates: None,
                follow_up: Vec::new(),
            },
            &AuditEvent::new("report.step", None),
            when,
        )
        .await?;
    ensure!(matches!(out, TransitionOutcome::Done { .. }), "{out:?}");
    Ok(())
}

fn scope() -> StatusScope {
    StatusScope {
        prefecture: PrefectureCode::parse("17").unwrap(),
        fiscal_year: 2026,
        report_kind: ReportKind::Periodic,
        facility_kinds: vec![FacilityKind::Hospital, FacilityKind::Clinic],
        municipalities: None,
        counted_on: day(2027, 2, 1),
    }
}

struct World {
    none: FacilityId,
    drafting: FacilityId,
    submitted: FacilityId,
    confirmed: FacilityId,
    resubmitted: FacilityId,
    changed: FacilityId,
}

/// 石川県's facilities in every state, and some that the period is not for.
async fn world(store: &Store) -> anyhow::Result<World> {
    let facilities = store.facilities();
    let none = facilities
        .insert(&facility(FacilityKind::Clinic, 1))
        .await?;
    let drafting = facilities
        .insert(&facility(FacilityKind::Hospital, 2))
        .await?;
    let mut in_nanao = facility(FacilityKind::Clinic, 3);
    in_nanao.municipality = nanao();
    in_nanao.address = "石川県七尾市袖ケ江町1番地".into();
    let submitted = facilities.insert(&in_nanao).await?;
    let confirmed = facilities
        .insert(&facility(FacilityKind::Clinic, 4))
        .await?;
    let resubmitted = facilities
        .insert(&facility(FacilityKind::Clinic, 5))
        .await?;
    // Not the period's kind, abolished before it, another prefecture's.
    facilities
        .insert(&facility(FacilityKind::Pharmacy, 6))
        .await?;
    let mut abolished = facility(FacilityKind::Clinic, 7);
    abolished.abolished_on = Some(day(2026, 12, 31));
    facilities.insert(&abolished).await?;
    let mut nara = facility(FacilityKind::Clinic, 8);
    nara.prefecture = PrefectureCode::parse("29").unwrap();
    nara.municipality = MunicipalityCode::parse("292010").unwrap();
    let nara = facilities.insert(&nara).await?;
    // No 定期報告 this 年度, but last 年度's and two 随時報告 (the latest is 報告中).
    let changed = facilities
        .insert(&facility(FacilityKind::Clinic, 9))
        .await?;

    start(store, drafting, ReportKind::Periodic, 2026).await?;
    let r = start(store, submitted, ReportKind::Periodic, 2026).await?;
    // 00:30 on 11 January in Japan.
    step(store, r, Transition::Submit, at(2027, 1, 10, 15, 30)).await?;
    let r = start(store, confirmed, ReportKind::Periodic, 2026).await?;
    step(store, r, Transition::Submit, at(2027, 1, 10, 1, 0)).await?;
    step(store, r, Transition::Confirm, at(2027, 1, 12, 1, 0)).await?;
    let r = start(store, resubmitted, ReportKind::Periodic, 2026).await?;
    step(store, r, Transition::Submit, at(2027, 1, 9, 1, 0)).await?;
    step(store, r, Transition::Confirm, at(2027, 1, 9, 2, 0)).await?;
    step(store, r, Transition::Reopen, at(2027, 1, 12, 2, 0)).await?;
    step(store, r, Transition::Submit, at(2027, 1, 12, 3, 0)).await?;
    let r = start(store, nara, ReportKind::Periodic, 2026).await?;
    step(store, r, Transition::Submit, at(2027, 1, 9, 1, 0)).await?;
    let r = start(store, changed, ReportKind::Periodic, 2025).await?;
    step(store, r, Transition::Submit, at(2026, 1, 9, 1, 0)).await?;
    let r = start(store, changed, ReportKind::Change, 2026).await?;
    step(store, r, Transition::Submit, at(2026, 6, 1, 1, 0)).await?;
    step(store, r, Transition::Confirm, at(2026, 6, 2, 1, 0)).await?;
    start(store, changed, ReportKind::Change, 2026).await?;
    Ok(World {
        none,
        drafting,
        submitted,
        confirmed,
        resubmitted,
        changed,
    })
}

fn counted(tallies: &[Tally]) -> Vec<(ReportStatus, u64)> {
    completeness::total(tallies)
        .each()
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// The list shows each facility the period is for with its 定期報告's status (none: 未報告),
/// 未報告 first and then along the progress bar; the counts come grouped from the database and
/// follow the same scope; filters, pages and other report kinds narrow them.
pub async fn status_rows_and_counts_follow_the_period(store: Store) -> anyhow::Result<()> {
    let w = world(&store).await?;
    let repo = store.report_status();
    let s = scope();
    use ReportStatus as S;
    let tallies = repo.tally(&s).await?;
    ensure!(
        counted(&tallies)
            == vec![
                (S::NotReported, 2),
                (S::InProgress, 1),
                (S::Submitted, 1),
                (S::Resubmitted, 1),
                (S::Confirmed, 1),
            ],
        "{tallies:?}"
    );
    let places = completeness::by_municipality(&tallies);
    ensure!(places[&nanao()].get(S::Submitted) == 1, "{places:?}");
    ensure!(places[&kanazawa()].total() == 5, "{places:?}");
    let kinds = completeness::by_kind(&tallies);
    ensure!(kinds[&FacilityKind::Hospital].total() == 1, "{kinds:?}");

    let rows = repo.rows(&s, None, None).await?;
    let order: Vec<_> = rows.iter().map(|r| (r.facility_id, r.status())).collect();
    ensure!(
        order
            == vec![
                (w.none, S::NotReported),
                (w.changed, S::NotReported),
                (w.drafting, S::InProgress),
                (w.submitted, S::Submitted),
                (w.resubmitted, S::Resubmitted),
                (w.confirmed, S::Confirmed),
            ],
        "{order:?}"
    );
    let sub = rows
        .iter()
        .find(|r| r.facility_id == w.submitted)
        .context("submitted row")?;
    let report = sub.report.as_ref().context("its report")?;
    ensure!(report.submitted_at == Some(at(2027, 1, 10, 15, 30)));
    ensure!(report.by_proxy && report.confirmed_at.is_none());
    ensure!(sub.municipality == nanao() && sub.kind == FacilityKind::Clinic);
    ensure!(sub.facility_code.as_deref() == Some("2170000003"));
    ensure!(sub.name == "広坂診療所3", "{}", sub.name);
    ensure!(rows[0].report.is_none());

    // Status filter, a page of it, a 市区町村, a 機関区分.
    let pending: Vec<_> = repo
        .rows(&s, Some(S::NotReported), None)
        .await?
        .iter()
        .map(|r| r.facility_id)
        .collect();
    ensure!(pending == vec![w.none, w.changed], "{pending:?}");
    let page: Vec<_> = repo
        .rows(&s, None, Some((1, 2)))
        .await?
        .iter()
        .map(|r| r.facility_id)
        .collect();
    ensure!(page == vec![w.changed, w.drafting], "{page:?}");
    let confirmed: Vec<_> = repo
        .rows(&s, Some(S::Confirmed), None)
        .await?
        .iter()
        .map(|r| r.facility_id)
        .collect();
    ensure!(confirmed == vec![w.confirmed], "{confirmed:?}");
    let in_nanao = StatusScope {
        municipalities: Some(vec![nanao()]),
        ..s.clone()
    };
    let only: Vec<_> = repo
        .rows(&in_nanao, None, None)
        .await?
        .iter()
        .map(|r| r.facility_id)
        .collect();
    ensure!(only == vec![w.submitted], "{only:?}");
    ensure!(counted(&repo.tally(&in_nanao).await?) == vec![(S::Submitted, 1)]);
    let hospitals = StatusScope {
        facility_kinds: vec![FacilityKind::Hospital],
        ..s.clone()
    };
    ensure!(counted(&repo.tally(&hospitals).await?) == vec![(S::InProgress, 1)]);

    // Counted before the abolished clinic closed, it is due too.
    let earlier = StatusScope {
        counted_on: day(2026, 12, 1),
        ..s.clone()
    };
    ensure!(completeness::total(&repo.tally(&earlier).await?).total() == 7);

    // 随時報告: only facilities that have one, with the latest one's status.
    let changes = StatusScope {
        report_kind: ReportKind::Change,
        ..s.clone()
    };
    let rows = repo.rows(&changes, None, None).await?;
    ensure!(
        rows.len() == 1 && rows[0].facility_id == w.changed,
        "{rows:?}"
    );
    ensure!(rows[0].status() == S::InProgress, "{rows:?}");
    ensure!(counted(&repo.tally(&changes).await?) == vec![(S::InProgress, 1)]);
    // Last 年度's 定期報告 is not this 年度's.
    let last_year = StatusScope {
        fiscal_year: 2025,
        ..s
    };
    ensure!(
        counted(&repo.tally(&last_year).await?) == vec![(S::NotReported, 5), (S::Submitted, 1)]
    );
    Ok(())
}

/// 報告 and 確認完了 are counted per day in Japan time (15:30 UTC is the next day), by the last
/// 報告 of every report reported now, and the last 確認完了 of every confirmed one.
pub async fn daily_counts_are_days_in_japan(store: Store) -> anyhow::Result<()> {
    world(&store).await?;
    let daily = store.report_status().daily(&scope()).await?;
    ensure!(
        daily.reported
            == vec![
                (day(2027, 1, 10), 1),
                (day(2027, 1, 11), 1),
                (day(2027, 1, 12), 1),
            ],
        "{daily:?}"
    );
    ensure!(daily.confirmed == vec![(day(2027, 1, 12), 1)], "{daily:?}");
    let points = completeness::over_window(
        day(2027, 1, 7),
        day(2027, 1, 12),
        6,
        &daily.reported,
        &daily.confirmed,
    );
    let last = points.last().context("a point")?;
    ensure!(last.reported.percent() == "50.0%" && last.confirmed.percent() == "16.7%");
    Ok(())
}
