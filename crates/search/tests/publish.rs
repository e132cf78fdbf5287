//! Publication stories (issue 7 §1), on SQLite and on PostgreSQL when configured: the
//! visibility rules applied to stored facilities, the daily re-evaluation, and 臨時休診.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use teikyo_domain::forms::Value;
use teikyo_domain::opening::Closure;
use teikyo_domain::publication::{HiddenReason, PublishedDocument};
use teikyo_domain::{
    FacilityCode, FacilityKind, FacilityNames, FacilityRecord, MunicipalityCode, PrefectureCode,
};
use teikyo_search::{PublishSummary, Publisher, reevaluate_due};
use teikyo_store::{AuditEvent, FacilityId, NewClosure, Store};
use teikyo_testkit::db::{TestDb, backends};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// `h:m` in Japan on a day, as UTC.
fn japan(d: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    teikyo_domain::opening::JAPAN
        .from_local_datetime(&d.and_hms_opt(h, m, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn record(n: u32) -> FacilityRecord {
    FacilityRecord {
        kind: FacilityKind::Hospital,
        prefecture: PrefectureCode::parse("17").unwrap(),
        municipality: MunicipalityCode::parse("17201").unwrap(),
        facility_code: Some(FacilityCode::parse(&format!("11700{n:05}")).unwrap()),
        insurance_codes: vec![],
        names: FacilityNames {
            official: format!("金沢第{n}病院"),
            official_kana: "カナザワビョウイン".into(),
            ..FacilityNames::default()
        },
        postal_code: None,
        address: "石川県金沢市広坂1丁目1番1号".into(),
        coordinates: None,
        homepage: None,
        opened_on: Some(day(1990, 4, 1)),
        suspended_on: None,
        abolished_on: None,
    }
}

fn publisher() -> Publisher {
    Publisher::new(teikyo_refdata::forms::shared_catalogue().expect("the item sets load"))
}

/// The example hospital's answers as confirmed on 2026-06-01, for `record`.
fn document(publisher: &Publisher, record: &FacilityRecord, outpatient: &str) -> PublishedDocument {
    let set = publisher
        .catalogue()
        .current(FacilityKind::Hospital, 2025)
        .expect("the hospital item set");
    let mut answers = teikyo_refdata::forms::examples::hospital();
    answers.set("basic.outpatient_class", Value::Choice(outpatient.into()));
    PublishedDocument::build(
        record,
        set,
        &answers,
        japan(day(2026, 6, 1), 12, 0),
        day(2026, 6, 1),
        None,
    )
}

async fn stored(store: &Store, record: &FacilityRecord) -> FacilityId {
    store.facilities().insert(record).await.expect("insert")
}

#[tokio::test]
async fn a_facility_becomes_visible_on_its_opening_day() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let p = publisher();
        let mut r = record(1);
        r.opened_on = Some(day(2026, 12, 1));
        let id = stored(&db.store, &r).await;
        let doc = document(&p, &r, "1");
        let s = p
            .publish_documents(
                &db.store,
                vec![(id, doc.clone())],
                japan(day(2026, 11, 30), 9, 0),
            )
            .await?;
        assert_eq!(
            s,
            PublishSummary {
                unchanged: 1,
                ..Default::default()
            }
        );
        assert_eq!(db.store.publications().published(id).await?, None);
        let state = db.store.publications().state(id).await?.expect("kept");
        assert_eq!(
            state.hidden,
            [HiddenReason::NotYetOpen {
                opens_on: day(2026, 12, 1)
            }]
        );
        // The last look of the day before changes nothing; the first of the day publishes.
        let late = reevaluate_due(&db.store, &p, japan(day(2026, 11, 30), 23, 55)).await?;
        assert_eq!(late, PublishSummary::default());
        let s = reevaluate_due(&db.store, &p, japan(day(2026, 12, 1), 0, 5)).await?;
        assert_eq!(s.published, 1, "{s:?}");
        let shown = db.store.publications().published(id).await?.expect("shown");
        assert_eq!(shown.sections, doc.sections);
        // Nothing is due any more.
        assert!(
            db.store
                .publications()
                .due(day(2026, 12, 2))
                .await?
                .is_empty()
        );
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_facility_disappears_on_its_abolition_day() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let p = publisher();
        let mut r = record(2);
        r.abolished_on = Some(day(2027, 3, 31));
        let id = stored(&db.store, &r).await;
        let s = p
            .publish_documents(
                &db.store,
                vec![(id, document(&p, &r, "1"))],
                japan(day(2027, 3, 30), 12, 0),
            )
            .await?;
        assert_eq!(s.published, 1);
        let s = reevaluate_due(&db.store, &p, japan(day(2027, 3, 31), 0, 1)).await?;
        assert_eq!(s.withdrawn, 1, "{s:?}");
        assert_eq!(db.store.publications().published(id).await?, None);
        let rows = db.store.publications().since(0, 10).await?;
        assert_eq!(rows.len(), 2);
        assert!(rows[1].document.is_none(), "a tombstone");
        assert_eq!(rows[1].reason.as_deref(), Some("publication.abolished"));
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn no_general_outpatient_care_is_never_published() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let p = publisher();
        let r = record(3);
        let id = stored(&db.store, &r).await;
        p.publish_documents(&db.store, vec![(id, document(&p, &r, "9"))], Utc::now())
            .await?;
        assert_eq!(db.store.publications().published(id).await?, None);
        assert!(db.store.publications().since(0, 10).await?.is_empty());
        let state = db.store.publications().state(id).await?.expect("kept");
        assert_eq!(state.hidden.len(), 1);
        assert!(
            state.hidden[0]
                .message()
                .contains("その他一般外来を行わない"),
            "{}",
            state.hidden[0].message()
        );
        // Never confirmed: nothing to publish, nothing stored.
        let other = stored(&db.store, &record(4)).await;
        let s = p.publish(&db.store, &[other], Utc::now()).await?;
        assert_eq!(s.skipped, 1);
        assert!(db.store.publications().state(other).await?.is_none());
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_temporary_closure_is_published_and_drops_out_after_its_last_day() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let p = publisher();
        let r = record(5);
        let id = stored(&db.store, &r).await;
        p.publish_documents(
            &db.store,
            vec![(id, document(&p, &r, "1"))],
            japan(day(2026, 11, 18), 9, 0),
        )
        .await?;
        let typhoon = Closure {
            from: day(2026, 11, 19),
            to: day(2026, 11, 20),
            reason: "台風による停電のため".into(),
        };
        db.store
            .publications()
            .declare_closures(
                &[NewClosure {
                    facility_id: id,
                    closure: typhoon.clone(),
                    batch_id: None,
                    by: None,
                }],
                &[],
                &AuditEvent::new("closure.declared", None),
                Utc::now(),
            )
            .await?;
        let s = p
            .publish(&db.store, &[id], japan(day(2026, 11, 18), 9, 5))
            .await?;
        assert_eq!(s.published, 1);
        let shown = db.store.publications().published(id).await?.expect("shown");
        assert_eq!(shown.closures, [typhoon]);
        // Still there on its last day; gone the morning after.
        let s = reevaluate_due(&db.store, &p, japan(day(2026, 11, 20), 12, 0)).await?;
        assert_eq!(s, PublishSummary::default());
        let s = reevaluate_due(&db.store, &p, japan(day(2026, 11, 21), 0, 5)).await?;
        assert_eq!(s.published, 1);
        let shown = db.store.publications().published(id).await?.expect("shown");
        assert!(shown.closures.is_empty());
        db.cleanup().await?;
    }
    Ok(())
}

/// 臨時休診一括処理 for a whole municipality: the prefecture's batch reaches every facility of
/// 金沢市 and none of 七尾市, shuts them for residents (open-now through the index), and
/// drops out by itself the morning after its last day.
#[tokio::test]
async fn a_prefecture_closes_a_whole_municipality_and_the_closure_expires() -> anyhow::Result<()> {
    use teikyo_domain::closure::ClosureTarget;
    use teikyo_search::{SearchIndex, SearchQuery};
    use teikyo_store::NewClosureBatch;
    let kanazawa = MunicipalityCode::parse("172014")?;
    let nanao = MunicipalityCode::parse("172022")?;
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let p = publisher();
        let mut docs = Vec::new();
        for n in 11..=13 {
            let mut r = record(n);
            if n == 13 {
                r.municipality = nanao;
                r.address = "石川県七尾市府中町1番地".into();
            }
            let id = stored(&db.store, &r).await;
            docs.push((id, document(&p, &r, "1")));
        }
        let ids: Vec<FacilityId> = docs.iter().map(|(id, _)| *id).collect();
        p.publish_documents(&db.store, docs, japan(day(2026, 11, 18), 9, 0))
            .await?;
        let index = SearchIndex::open(None)?;
        index.catch_up(&db.store).await?;
        // 木曜 10:00, and 火曜 10:00 the week after.
        let thursday = day(2026, 11, 19).and_hms_opt(10, 0, 0).expect("time");
        let tuesday = day(2026, 11, 24).and_hms_opt(10, 0, 0).expect("time");
        let open_at = |index: &SearchIndex, at| -> Vec<FacilityId> {
            let (hits, _) = index
                .search(&SearchQuery {
                    open_at: Some(at),
                    limit: 10,
                    ..SearchQuery::default()
                })
                .expect("search");
            let mut ids: Vec<FacilityId> = hits.iter().map(|h| h.facility_id).collect();
            ids.sort();
            ids
        };
        assert_eq!(open_at(&index, thursday), ids, "all open before");

        let batches = db.store.closure_batches();
        let target = ClosureTarget::Area {
            kinds: vec![FacilityKind::Hospital],
            municipalities: vec![kanazawa],
        };
        let ishikawa = PrefectureCode::parse("17")?;
        let reached: Vec<FacilityId> = batches
            .targets(ishikawa, &target, None, day(2026, 11, 18))
            .await?
            .iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(reached, ids[..2]);
        let flood = Closure {
            from: day(2026, 11, 19),
            to: day(2026, 11, 20),
            reason: "大雨による浸水のため".into(),
        };
        batches
            .declare(
                &NewClosureBatch {
                    prefecture: ishikawa,
                    closure: flood.clone(),
                    target,
                    by: None,
                },
                &reached,
                &teikyo_search::project_job(&reached),
                &AuditEvent::new("closure.batch_declared", None),
                Utc::now(),
            )
            .await?;
        // What the batch's job does, as of the evening before.
        let s = p
            .publish(&db.store, &reached, japan(day(2026, 11, 18), 18, 0))
            .await?;
        assert_eq!(s.published, 2);
        index.catch_up(&db.store).await?;
        assert_eq!(
            open_at(&index, thursday),
            [ids[2]],
            "only 七尾市 stays open"
        );
        let (hits, _) = index.search(&SearchQuery {
            open_at: None,
            limit: 10,
            ..SearchQuery::default()
        })?;
        let closed = hits
            .iter()
            .find(|h| h.facility_id == ids[0])
            .expect("still listed");
        let now = closed.listing.open_now(None, thursday);
        assert_eq!(now.closure, Some(flood.clone()), "says why");

        // Over after its last day: the daily re-evaluation publishes them without it.
        let s = reevaluate_due(&db.store, &p, japan(day(2026, 11, 21), 0, 5)).await?;
        assert_eq!(s.published, 2);
        index.catch_up(&db.store).await?;
        assert_eq!(open_at(&index, tuesday), ids);
        for id in &ids[..2] {
            let shown = db
                .store
                .publications()
                .published(*id)
                .await?
                .expect("shown");
            assert!(shown.closures.is_empty());
        }
        db.cleanup().await?;
    }
    Ok(())
}
