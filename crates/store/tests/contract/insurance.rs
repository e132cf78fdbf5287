use anyhow::ensure;
use chrono::{NaiveDate, Utc};
use teikyo_domain::FacilityKind;
use teikyo_domain::ndb::{InsuranceCodeCheck, MasterEntry, PreprintCount};
use teikyo_domain::report::ReportKind;
use teikyo_store::{AuditEvent, MasterLookup, NewReport, Store};

use crate::fixtures::{facility, insurance};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn entry(payload: &str, name: &str) -> MasterEntry {
    MasterEntry {
        code: insurance(payload),
        name: name.to_owned(),
        address: Some("石川県金沢市広坂1丁目1番1号".into()),
        kind: Some(FacilityKind::Clinic),
    }
}

async fn import(store: &Store, as_of: NaiveDate, rows: &[MasterEntry]) -> anyhow::Result<u64> {
    let out = store
        .insurance()
        .import_master(
            as_of,
            rows,
            AuditEvent::new("insurance_master.imported", None),
            Utc::now(),
            &mut |_| {},
        )
        .await?;
    ensure!(out.inserted == rows.len(), "{out:?}");
    Ok(out.replaced)
}

/// A code is matched against the newest snapshot of its prefecture on or before the day: a
/// later snapshot does not count, a code dropped from the snapshot in force is not listed, a
/// prefecture without any snapshot by then has no master, and loading a snapshot again
/// replaces only that day and those prefectures.
pub async fn the_master_answers_as_of_a_day(store: Store) -> anyhow::Result<()> {
    let a = entry("171010001", "広坂クリニック");
    let b = entry("171010002", "香林坊医院");
    let tokyo = MasterEntry {
        code: teikyo_domain::InsuranceCode::parse("1310110049")?,
        name: "東京の診療所".into(),
        address: None,
        kind: None,
    };
    ensure!(
        import(
            &store,
            day(2024, 3, 31),
            &[a.clone(), b.clone(), tokyo.clone()]
        )
        .await?
            == 0
    );
    // The next year's list no longer has b; a later one (August) has a renamed a.
    let mut renamed = a.clone();
    renamed.name = "広坂内科クリニック".into();
    import(&store, day(2025, 3, 31), std::slice::from_ref(&a)).await?;
    import(&store, day(2025, 8, 1), std::slice::from_ref(&renamed)).await?;

    let repo = store.insurance();
    let on = day(2025, 3, 31);
    let MasterLookup::Listed(found) = repo.lookup(&a.code, on).await? else {
        anyhow::bail!("a is listed on {on}");
    };
    ensure!(found.entry == a && found.as_of == on, "{found:?}");
    ensure!(
        repo.lookup(&b.code, on).await? == MasterLookup::NotListed { snapshot: on },
        "b was dropped from the 2025 list"
    );
    let MasterLookup::Listed(old) = repo.lookup(&b.code, day(2024, 12, 1)).await? else {
        anyhow::bail!("b is listed in 2024's");
    };
    ensure!(old.as_of == day(2024, 3, 31));
    ensure!(repo.lookup(&a.code, day(2024, 3, 30)).await? == MasterLookup::NoMaster);
    // Tokyo's snapshot of 2024 is still the one in force in 2025 (only 石川 was loaded again).
    ensure!(matches!(
        repo.lookup(&tokyo.code, on).await?,
        MasterLookup::Listed(r) if r.as_of == day(2024, 3, 31) && r.entry.kind.is_none()
    ));
    // Loading 2025-03-31 again replaces 石川's rows of that day only.
    let replaced = import(&store, on, &[a.clone(), b.clone()]).await?;
    ensure!(replaced == 1, "replaced {replaced}");
    ensure!(matches!(
        repo.lookup(&b.code, on).await?,
        MasterLookup::Listed(_)
    ));
    let snapshots = repo.snapshots().await?;
    ensure!(
        snapshots
            == vec![
                (day(2025, 8, 1), 1),
                (day(2025, 3, 31), 2),
                (day(2024, 3, 31), 3)
            ],
        "{snapshots:?}"
    );
    // Each import is audited.
    let audited = store
        .audit()
        .list(None, 10)
        .await?
        .iter()
        .filter(|r| r.event.action == "insurance_master.imported")
        .count();
    ensure!(audited == 4, "{audited}");
    Ok(())
}

/// A master file with the same code twice fails as a whole: nothing of it is stored.
pub async fn a_failed_master_import_stores_nothing(store: Store) -> anyhow::Result<()> {
    let a = entry("171010001", "広坂クリニック");
    import(&store, day(2025, 3, 31), std::slice::from_ref(&a)).await?;
    let failed = store
        .insurance()
        .import_master(
            day(2025, 3, 31),
            &[entry("171010002", "B"), a.clone(), a.clone()],
            AuditEvent::new("insurance_master.imported", None),
            Utc::now(),
            &mut |_| {},
        )
        .await;
    ensure!(failed.is_err(), "a duplicate key fails the import");
    // The replaced rows are back: the transaction rolled back.
    ensure!(matches!(
        store.insurance().lookup(&a.code, day(2025, 3, 31)).await?,
        MasterLookup::Listed(_)
    ));
    ensure!(
        store.insurance().snapshots().await? == vec![(day(2025, 3, 31), 1)],
        "nothing of the failed import"
    );
    Ok(())
}

/// Preprint counts are read per 年度 and code (both codes of a 医科+歯科 facility at once); a
/// second import of a 年度 replaces it, and 245,000 rows go in as one transaction.
pub async fn preprint_counts_by_year_and_code(store: Store) -> anyhow::Result<()> {
    let medical = insurance("171010001");
    let dental = insurance("173010001");
    let other = insurance("171010002");
    let row = |code: &teikyo_domain::InsuranceCode, item: &str, count| PreprintCount {
        code: code.clone(),
        item: item.into(),
        count,
    };
    let year = |rows: Vec<PreprintCount>, fy| {
        let store = store.clone();
        async move {
            store
                .insurance()
                .import_preprint(
                    fy,
                    &rows,
                    AuditEvent::new("ndb_preprint.imported", None),
                    Utc::now(),
                    &mut |_| {},
                )
                .await
        }
    };
    year(
        vec![
            row(&medical, "00007", 12),
            row(&dental, "00007", 3),
            row(&other, "00009", 1),
        ],
        2024,
    )
    .await?;
    year(vec![row(&medical, "00007", 99)], 2023).await?;
    let repo = store.insurance();
    let got = repo
        .preprint(2024, &[medical.clone(), dental.clone()])
        .await?;
    ensure!(
        got == vec![row(&medical, "00007", 12), row(&dental, "00007", 3)],
        "{got:?}"
    );
    ensure!(
        repo.preprint(2025, std::slice::from_ref(&medical))
            .await?
            .is_empty()
    );
    ensure!(repo.preprint(2024, &[]).await?.is_empty());
    let again = year(vec![row(&medical, "00009", 5)], 2024).await?;
    ensure!(again.replaced == 3 && again.inserted == 1, "{again:?}");
    ensure!(
        repo.preprint(2024, std::slice::from_ref(&medical)).await?
            == vec![row(&medical, "00009", 5)]
    );
    ensure!(
        repo.preprint(2023, std::slice::from_ref(&medical)).await?
            == vec![row(&medical, "00007", 99)]
    );

    // National scale: 245,000 rows in one import, counted back.
    let many: Vec<PreprintCount> = (0..245_000u32)
        .map(|i| {
            let pref = 1 + (i % 47);
            row(
                &insurance(&format!("{pref:02}1{:06}", i / 47)),
                &format!("{:05}", i % 5),
                i % 100,
            )
        })
        .collect();
    let mut seen = 0;
    let out = store
        .insurance()
        .import_preprint(
            2022,
            &many,
            AuditEvent::new("ndb_preprint.imported", None),
            Utc::now(),
            &mut |n| seen = n,
        )
        .await?;
    ensure!(out.inserted == 245_000 && seen == 245_000, "{out:?} {seen}");
    let some = repo.preprint(2022, &[many[47].code.clone()]).await?;
    ensure!(some.len() == 1 && some[0].count == 47, "{some:?}");
    Ok(())
}

/// スキップ is remembered through the facility's latest earlier 定期報告, not a flag: a report
/// started with it makes the next 年度 skip; a later report with a check, or none, does not.
pub async fn a_skip_is_remembered_by_the_last_periodic_report(store: Store) -> anyhow::Result<()> {
    let f = store
        .facilities()
        .insert(&facility(FacilityKind::Clinic, 7))
        .await?;
    let start = |fy: u16, check: Option<InsuranceCodeCheck>| {
        let store = store.clone();
        async move {
            let new = NewReport {
                facility_id: f,
                kind: ReportKind::Periodic,
                fiscal_year: fy,
                item_set: "2025-clinic".into(),
                by: None,
                period_id: None,
                insurance_check: check,
                preset: Vec::new(),
            };
            store
                .reports()
                .start(&new, AuditEvent::new("report.started", None), Utc::now())
                .await
        }
    };
    let repo = store.insurance();
    ensure!(!repo.skipped_before(f, 2024).await?, "no report yet");
    let (r, _) = start(2023, Some(InsuranceCodeCheck::Skipped)).await?;
    ensure!(r.insurance_check == Some(InsuranceCodeCheck::Skipped));
    ensure!(repo.skipped_before(f, 2024).await?);
    ensure!(!repo.skipped_before(f, 2023).await?, "only earlier years");
    let codes = vec![insurance("171010007")];
    let (r, _) = start(2024, Some(InsuranceCodeCheck::Matched(codes.clone()))).await?;
    let stored = store.reports().get(r.id).await?.unwrap();
    ensure!(stored.insurance_check == Some(InsuranceCodeCheck::Matched(codes)));
    ensure!(!repo.skipped_before(f, 2025).await?, "the check came after");
    Ok(())
}
