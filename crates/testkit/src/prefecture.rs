//! A large synthetic prefecture for the 報告状況一覧 benchmark (`crates/web/examples/
//! status_bench.rs`): N facilities of every kind spread over the prefecture's 市区町村 (from the
//! municipality master), an open 定期報告 period for this 年度, and a 定期報告 for 70 % of them
//! in every status, reported and confirmed on days spread over the window.
//!
//! Facilities go in through `FacilityRepo::import`. The reports are written with one
//! `INSERT … SELECT` per backend instead of one start and several transitions each: 20,000
//! reports through the workflow would take minutes, and the list only reads the report rows.

use anyhow::{Context, bail};
use chrono::{DateTime, Days, SecondsFormat, Utc};
use teikyo_domain::completeness::StatusCounts;
use teikyo_domain::period::{DEFAULT_REMINDER_DAYS, ReportingPeriod};
use teikyo_domain::report::{ReportStatus, fiscal_year_of};
use teikyo_domain::{FacilityCode, FacilityKind, FacilityNames, FacilityRecord, PrefectureCode};
use teikyo_store::{AuditEvent, Backend, Store};

pub struct SyntheticPrefecture {
    pub prefecture: PrefectureCode,
    pub fiscal_year: u16,
    pub facilities: usize,
    /// What the list must count, per status.
    pub counts: StatusCounts,
}

/// The kind of the `n`th facility: about the national shares (DOMAIN §2.1: clinics and
/// pharmacies dominate).
fn kind_of(n: usize) -> FacilityKind {
    match n % 100 {
        0..=2 => FacilityKind::Hospital,
        3..=52 => FacilityKind::Clinic,
        53..=82 => FacilityKind::DentalClinic,
        83 => FacilityKind::MidwiferyHome,
        _ => FacilityKind::Pharmacy,
    }
}

/// The status of the facility with this id: 30 % 未報告 (no row), then 報告中, 報告済,
/// 再報告済 and 確認完了済.
fn status_of(id: i64) -> ReportStatus {
    match id.rem_euclid(10) {
        0..=2 => ReportStatus::NotReported,
        3 => ReportStatus::InProgress,
        4 | 5 => ReportStatus::Submitted,
        6 => ReportStatus::Resubmitted,
        _ => ReportStatus::Confirmed,
    }
}

/// Stores the prefecture's `n` facilities, its period and the reports.
pub async fn store(
    store: &Store,
    prefecture: PrefectureCode,
    n: usize,
) -> anyhow::Result<SyntheticPrefecture> {
    let places: Vec<_> = teikyo_refdata::municipalities::in_prefecture(prefecture)
        .iter()
        .filter(|m| !m.is_prefecture())
        .collect();
    if places.is_empty() {
        bail!("no municipalities for {prefecture}");
    }
    let records: Vec<FacilityRecord> = (0..n)
        .map(|i| {
            let kind = kind_of(i);
            let place = places[i % places.len()];
            let suffix = match kind {
                FacilityKind::Hospital => "病院",
                FacilityKind::Clinic => "クリニック",
                FacilityKind::DentalClinic => "歯科医院",
                FacilityKind::MidwiferyHome => "助産院",
                FacilityKind::Pharmacy => "薬局",
            };
            Ok(FacilityRecord {
                kind,
                prefecture,
                municipality: place.code,
                facility_code: Some(FacilityCode::parse(&format!(
                    "{}{prefecture}{i:07}",
                    kind.code()
                ))?),
                insurance_codes: vec![],
                names: FacilityNames {
                    official: format!("{}第{}{suffix}", place.name, i + 1),
                    official_kana: "シケン".into(),
                    short: None,
                    short_kana: None,
                    english: None,
                },
                postal_code: None,
                address: format!("{}{}1丁目{}番1号", prefecture.name(), place.name, i + 1),
                coordinates: None,
                homepage: None,
                opened_on: None,
                suspended_on: None,
                abolished_on: None,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let ids = store.facilities().import(&records, &mut |_| {}).await?;

    let today = Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).context("JST")?)
        .date_naive();
    let fiscal_year = fiscal_year_of(today);
    let opens_on = today - Days::new(30);
    store
        .periods()
        .create(
            &ReportingPeriod {
                prefecture,
                fiscal_year,
                facility_kinds: FacilityKind::ALL.to_vec(),
                reference_date: today,
                opens_on,
                closes_on: today + Days::new(30),
                extended_to: None,
                closed: false,
                reminder_days: DEFAULT_REMINDER_DAYS.to_vec(),
                message: None,
            },
            None,
            AuditEvent::new("period.opened", None),
            Utc::now(),
        )
        .await?;

    // 報告 on one of 25 days from the opening, 確認完了 the day after.
    let start = Utc::now() - chrono::Duration::days(30);
    let literal = |t: DateTime<Utc>| match store.backend() {
        Backend::Sqlite => format!("'{}'", t.to_rfc3339_opts(SecondsFormat::AutoSi, false)),
        Backend::Postgres => format!("TIMESTAMPTZ '{}'", t.to_rfc3339()),
    };
    let by_day = |offset: i64| {
        let arms: String = (0..25)
            .map(|d| {
                format!(
                    " WHEN {d} THEN {}",
                    literal(start + chrono::Duration::days(d + offset))
                )
            })
            .collect();
        format!("CASE id % 25{arms} END")
    };
    let now = literal(Utc::now());
    let sql = format!(
        "INSERT INTO report (facility_id, kind, fiscal_year, item_set, status, version, \
         created_at, updated_at, submitted_at, submitted_by_proxy, confirmed_at) \
         SELECT id, 'periodic', {fiscal_year}, 'synthetic', \
           CASE id % 10 WHEN 3 THEN 'in_progress' WHEN 4 THEN 'submitted' WHEN 5 THEN 'submitted' \
             WHEN 6 THEN 'resubmitted' ELSE 'confirmed' END, \
           1, {now}, {now}, \
           CASE WHEN id % 10 = 3 THEN NULL ELSE {submitted} END, \
           id % 7 = 0, \
           CASE WHEN id % 10 >= 6 THEN {confirmed} ELSE NULL END \
         FROM facility WHERE prefecture_code = '{prefecture}' AND id % 10 >= 3",
        submitted = by_day(0),
        confirmed = by_day(1),
    );
    store.execute_unprepared(&sql).await?;

    let mut counts = StatusCounts::default();
    for id in &ids {
        counts.add(status_of(id.0), 1);
    }
    Ok(SyntheticPrefecture {
        prefecture,
        fiscal_year,
        facilities: ids.len(),
        counts,
    })
}
