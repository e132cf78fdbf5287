use crate::fixtures::{facility, insurance};
use anyhow::{bail, ensure};
use chrono::NaiveDate;
use teikyo_domain::{FacilityKind, MunicipalityCode, PrefectureCode};
use teikyo_store::facility::FacilityFilter;
use teikyo_store::{Store, StoreError};

pub async fn round_trip_keeps_every_field(store: Store) -> anyhow::Result<()> {
    let mut r = facility(FacilityKind::Hospital, 1);
    r.insurance_codes.push(insurance("173010001"));
    r.suspended_on = NaiveDate::from_ymd_opt(2026, 3, 1);
    r.names.english = None;
    let id = store.facilities().insert(&r).await?;
    let Some(got) = store.facilities().get(id).await? else {
        bail!("facility {id} not found after insert");
    };
    ensure!(got.record == r, "stored {:#?}\nread {:#?}", r, got.record);
    ensure!(got.created_at == got.updated_at);
    ensure!(
        store
            .facilities()
            .get(teikyo_store::FacilityId(id.0 + 1000))
            .await?
            .is_none()
    );
    Ok(())
}

pub async fn get_many_keeps_the_order_asked(store: Store) -> anyhow::Result<()> {
    let a = store
        .facilities()
        .insert(&facility(FacilityKind::Hospital, 1))
        .await?;
    let b = store
        .facilities()
        .insert(&facility(FacilityKind::Pharmacy, 2))
        .await?;
    let missing = teikyo_store::FacilityId(b.0 + 1000);
    let got = store.facilities().get_many(&[b, missing, a]).await?;
    let ids: Vec<_> = got.iter().map(|f| f.id).collect();
    ensure!(ids == vec![b, a], "{ids:?}");
    ensure!(got[0].record == facility(FacilityKind::Pharmacy, 2));
    ensure!(store.facilities().get_many(&[]).await?.is_empty());
    Ok(())
}

pub async fn import_counts_by_kind(store: Store) -> anyhow::Result<()> {
    let records: Vec<_> = (0..2_345)
        .map(|n| facility(FacilityKind::ALL[(n % 5) as usize], n))
        .collect();
    let mut calls = Vec::new();
    let ids = store
        .facilities()
        .import(&records, &mut |done| calls.push(done))
        .await?;
    ensure!(ids.len() == 2_345);
    ensure!(calls == vec![1_000, 2_000, 2_345], "progress {calls:?}");
    ensure!(store.facilities().count().await? == 2_345);
    let by_kind = store.facilities().count_by_kind().await?;
    ensure!(by_kind[&FacilityKind::Hospital] == 469, "{by_kind:?}");
    ensure!(by_kind[&FacilityKind::Pharmacy] == 469, "{by_kind:?}");
    ensure!(by_kind.values().sum::<u64>() == 2_345);
    Ok(())
}

pub async fn import_is_all_or_nothing(store: Store) -> anyhow::Result<()> {
    store
        .facilities()
        .insert(&facility(FacilityKind::Clinic, 7))
        .await?;
    let records: Vec<_> = (0..1_500)
        .map(|n| facility(FacilityKind::Clinic, 100 + n))
        .chain(
            // the same public key as the facility already stored
            [facility(FacilityKind::Clinic, 7)],
        )
        .collect();
    match store.facilities().import(&records, &mut |_| {}).await {
        Err(StoreError::Duplicate(_)) => {}
        other => bail!("expected a duplicate error, got {other:?}"),
    }
    ensure!(
        store.facilities().count().await? == 1,
        "partial import left rows behind"
    );
    Ok(())
}

pub async fn existing_keys_lists_public_keys(store: Store) -> anyhow::Result<()> {
    let mut no_code = facility(FacilityKind::Clinic, 2);
    no_code.facility_code = None;
    let with_code = facility(FacilityKind::Pharmacy, 3);
    store
        .facilities()
        .import(&[no_code, with_code.clone()], &mut |_| {})
        .await?;
    let keys = store.facilities().existing_keys().await?;
    ensure!(keys.len() == 1, "{keys:?}");
    let code = with_code
        .facility_code
        .clone()
        .unwrap_or_else(|| unreachable!());
    ensure!(keys.contains(&(with_code.prefecture, with_code.kind, code)));
    Ok(())
}

pub async fn find_by_insurance_code_and_public_key(store: Store) -> anyhow::Result<()> {
    let a = facility(FacilityKind::DentalClinic, 11);
    let b = facility(FacilityKind::DentalClinic, 12);
    store
        .facilities()
        .import(&[a.clone(), b], &mut |_| {})
        .await?;
    let found = store
        .facilities()
        .find_by_insurance_code(&a.insurance_codes[0])
        .await?;
    ensure!(found.len() == 1 && found[0].record == a, "{found:?}");
    let code = a.facility_code.clone().unwrap_or_else(|| unreachable!());
    let by_key = store
        .facilities()
        .find_by_public_key(a.prefecture, a.kind, &code)
        .await?;
    ensure!(by_key.map(|f| f.record) == Some(a.clone()));
    let other = store
        .facilities()
        .find_by_public_key(a.prefecture, FacilityKind::Hospital, &code)
        .await?;
    ensure!(other.is_none());
    Ok(())
}

pub async fn list_filters_and_pages(store: Store) -> anyhow::Result<()> {
    let mut records: Vec<_> = (0..30).map(|n| facility(FacilityKind::Clinic, n)).collect();
    let mut tokyo = facility(FacilityKind::Clinic, 99);
    tokyo.prefecture = PrefectureCode::parse("13")?;
    tokyo.municipality = MunicipalityCode::parse("131016")?;
    tokyo.address = "東京都千代田区霞が関1丁目".into();
    tokyo.insurance_codes = vec![];
    records.push(tokyo.clone());
    records.push(facility(FacilityKind::Hospital, 98));
    store.facilities().import(&records, &mut |_| {}).await?;
    let f = store.facilities();
    let ishikawa_clinics = FacilityFilter {
        prefecture: Some(PrefectureCode::parse("17")?),
        kind: Some(FacilityKind::Clinic),
        municipality: None,
    };
    let page1 = f.list(&ishikawa_clinics, 20, 0).await?;
    let page2 = f.list(&ishikawa_clinics, 20, 20).await?;
    ensure!(
        page1.len() == 20 && page2.len() == 10,
        "{} + {}",
        page1.len(),
        page2.len()
    );
    ensure!(
        page1.last().map(|x| x.id) < page2.first().map(|x| x.id),
        "pages overlap"
    );
    let chiyoda = FacilityFilter {
        municipality: Some(MunicipalityCode::parse("131016")?),
        ..FacilityFilter::default()
    };
    let got = f.list(&chiyoda, 100, 0).await?;
    ensure!(got.len() == 1 && got[0].record == tokyo);
    Ok(())
}

pub async fn ids_stay_unique_across_imports(store: Store) -> anyhow::Result<()> {
    let f = store.facilities();
    let a = f.insert(&facility(FacilityKind::Clinic, 1)).await?;
    let batch: Vec<_> = (2..50).map(|n| facility(FacilityKind::Clinic, n)).collect();
    let ids = f.import(&batch, &mut |_| {}).await?;
    let b = f.insert(&facility(FacilityKind::Clinic, 50)).await?;
    let mut all = vec![a];
    all.extend(ids);
    all.push(b);
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    ensure!(sorted.len() == all.len(), "duplicate ids: {all:?}");
    ensure!(all == sorted, "ids not increasing: {all:?}");
    Ok(())
}
