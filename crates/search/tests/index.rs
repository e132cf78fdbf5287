//! The local search index fed by the publication sequence (issue 7 §2), on SQLite and on
//! PostgreSQL when configured: catch-up, replacement, tombstones, restart from the directory,
//! and the first relevance rules (カナ, width, 「京都」 vs 東京都, filters).

use chrono::{NaiveDate, Utc};
use teikyo_domain::forms::Answers;
use teikyo_domain::publication::PublishedDocument;
use teikyo_domain::{
    FacilityKind, FacilityNames, FacilityRecord, MunicipalityCode, PrefectureCode,
};
use teikyo_search::{Publisher, SearchIndex, SearchQuery};
use teikyo_store::{FacilityId, Store};
use teikyo_testkit::db::{TestDb, backends};
use teikyo_testkit::published;

fn record(name: &str, kana: &str, pref: &str, muni: &str, address: &str) -> FacilityRecord {
    FacilityRecord {
        kind: FacilityKind::Clinic,
        prefecture: PrefectureCode::parse(pref).unwrap(),
        municipality: MunicipalityCode::parse(muni).unwrap(),
        facility_code: None,
        insurance_codes: vec![],
        names: FacilityNames {
            official: name.into(),
            official_kana: kana.into(),
            ..FacilityNames::default()
        },
        postal_code: None,
        address: address.into(),
        coordinates: None,
        homepage: None,
        opened_on: Some(NaiveDate::from_ymd_opt(2000, 4, 1).unwrap()),
        suspended_on: None,
        abolished_on: None,
    }
}

/// A document with one 診療科目 row (its code only).
fn document(record: &FacilityRecord, department: &str) -> PublishedDocument {
    let mut row = Answers::default();
    row.set(
        "basic.departments.department",
        teikyo_domain::forms::Value::Choice(department.into()),
    );
    let mut answers = Answers::default();
    answers.set(
        "basic.departments",
        teikyo_domain::forms::Value::Group(vec![row]),
    );
    published::document(record.clone(), answers)
}

async fn publish(store: &Store, records: &[(FacilityRecord, &str)]) -> Vec<FacilityId> {
    let docs = records.iter().map(|(r, dept)| document(r, dept)).collect();
    published::publish(store, docs).await
}

fn q(keyword: &str) -> SearchQuery {
    SearchQuery {
        keyword: keyword.into(),
        limit: 20,
        ..SearchQuery::default()
    }
}

fn found(index: &SearchIndex, query: &SearchQuery) -> Vec<FacilityId> {
    index
        .search(query)
        .expect("search")
        .0
        .into_iter()
        .map(|h| h.facility_id)
        .collect()
}

#[tokio::test]
async fn the_index_follows_the_publication_sequence() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let ids = publish(
            &db.store,
            &[
                (
                    record(
                        "金沢中央病院",
                        "カナザワチュウオウビョウイン",
                        "17",
                        "172014",
                        "石川県金沢市広坂1丁目1番1号",
                    ),
                    "01001",
                ),
                (
                    record(
                        "四条こどもクリニック",
                        "シジョウコドモクリニック",
                        "26",
                        "261068",
                        "京都府京都市下京区四条通1番地",
                    ),
                    "03001",
                ),
                (
                    record(
                        "京橋内科医院",
                        "キョウバシナイカイイン",
                        "13",
                        "131024",
                        "東京都中央区京橋2丁目1番1号",
                    ),
                    "01001",
                ),
            ],
        )
        .await;
        let dir = tempfile::tempdir()?;
        let index = SearchIndex::open(Some(dir.path()))?;
        assert_eq!(index.seq()?, 0);
        assert_eq!(index.catch_up(&db.store).await?, 3);
        assert_eq!(index.seq()?, db.store.publications().head().await?);
        assert_eq!(index.catch_up(&db.store).await?, 0, "nothing new");

        // A カナ query (in hiragana, and in half-width katakana) finds the kanji name.
        assert_eq!(found(&index, &q("かなざわちゅうおう")), [ids[0]]);
        assert_eq!(found(&index, &q("ｶﾅｻﾞﾜ")), [ids[0]]);
        // 全角 and 半角 digits in an address are the same.
        assert_eq!(found(&index, &q("広坂１丁目")), [ids[0]]);
        // 「京都」 matches both the 京都府 clinic and the 東京都 one (東京都 contains 京都), the
        // 京都府 one first.
        let kyoto = found(&index, &q("京都"));
        assert_eq!(kyoto.first(), Some(&ids[1]), "{kyoto:?}");
        assert!(kyoto.contains(&ids[2]), "{kyoto:?}");
        // Words narrow: both must match.
        assert_eq!(found(&index, &q("京都 こども")), [ids[1]]);
        // Filters: prefecture, kind, 診療科目.
        let mut pediatric = q("");
        pediatric.department = Some("03001".into());
        assert_eq!(found(&index, &pediatric), [ids[1]]);
        let mut ishikawa = q("");
        ishikawa.prefecture = Some(PrefectureCode::parse("17")?);
        assert_eq!(found(&index, &ishikawa), [ids[0]]);
        let (_, total) = index.search(&q(""))?;
        assert_eq!(total, 3);

        // Abolished: the tombstone takes it out; a new document replaces the old one.
        let mut gone = record(
            "京橋内科医院",
            "キョウバシナイカイイン",
            "13",
            "131024",
            "東京都中央区京橋2丁目1番1号",
        );
        gone.abolished_on = NaiveDate::from_ymd_opt(2026, 1, 1);
        let publisher =
            Publisher::new(teikyo_refdata::forms::shared_catalogue().expect("the item sets"));
        publisher
            .publish_documents(
                &db.store,
                vec![(ids[2], document(&gone, "01001"))],
                Utc::now(),
            )
            .await?;
        let renamed = record(
            "金沢中央総合病院",
            "カナザワチュウオウソウゴウビョウイン",
            "17",
            "172014",
            "石川県金沢市広坂1丁目1番1号",
        );
        publisher
            .publish_documents(
                &db.store,
                vec![(ids[0], document(&renamed, "01001"))],
                Utc::now(),
            )
            .await?;
        assert_eq!(index.catch_up(&db.store).await?, 2);
        assert!(found(&index, &q("京橋")).is_empty());
        assert_eq!(found(&index, &q("総合病院")), [ids[0]]);
        assert_eq!(index.search(&q(""))?.1, 2, "replaced, not added");
        drop(index);

        // A restarted node goes on from its directory.
        let again = SearchIndex::open(Some(dir.path()))?;
        assert_eq!(again.seq()?, db.store.publications().head().await?);
        assert_eq!(again.catch_up(&db.store).await?, 0);
        assert_eq!(found(&again, &q("総合病院")), [ids[0]]);
        // A rebuild starts over and ends the same.
        again.clear()?;
        assert_eq!(again.seq()?, 0);
        assert_eq!(again.catch_up(&db.store).await?, 5);
        assert_eq!(again.search(&q(""))?.1, 2);
        // Rows of one facility within the rebuild replace each other there too.
        assert_eq!(found(&again, &q("総合病院")), [ids[0]]);
        assert!(found(&again, &q("京橋")).is_empty());
        db.cleanup().await?;
    }
    Ok(())
}
