//! Relevance on the synthetic dataset (issue 7 "Done when"): a fixed query set over facilities
//! made by `teikyo synth`, imported and published as the demo does, searched through the node's
//! index. Each query is checked against what the data says, not against remembered results:
//! - a カナ query (in hiragana, and in half-width katakana) finds the kanji name;
//! - 「京都」 ranks every 京都府 facility above every 東京都 one;
//! - a query typed in the other width (全角/半角 digits in an address) matches;
//! - 「小児科 現在診療中 半径2km」 returns exactly the 小児科 open at that moment within 2 km,
//!   nearest first — compared with every published document evaluated one by one.

mod common;

use std::path::Path;
use std::process::Output;

use common::{facility_files, teikyo, text};

use chrono::{NaiveDate, NaiveDateTime};
use teikyo_domain::hours::Openness;
use teikyo_domain::opening::Schedule;
use teikyo_domain::publication::PublishedDocument;
use teikyo_search::{Area, Point, SearchIndex, SearchQuery, Sort};
use teikyo_store::{FacilityId, Store};

fn ok(o: Output) {
    assert!(o.status.success(), "{}", text(&o));
}

/// synth → import → publish synthetic, as the demo does.
fn dataset(dir: &Path, facilities: &str) -> String {
    let out = dir.to_string_lossy();
    ok(teikyo(&[
        "synth",
        "--facilities",
        facilities,
        "--seed",
        "11",
        "--out",
        &out,
    ]));
    let url = format!("sqlite://{}", dir.join("t.sqlite").display());
    let files = facility_files(dir);
    let mut args = vec!["--database-url", &url, "import", "facilities"];
    args.extend(files.iter().map(String::as_str));
    ok(teikyo(&args));
    ok(teikyo(&[
        "--database-url",
        &url,
        "publish",
        "synthetic",
        "--quiet",
    ]));
    url
}

/// Every published document, by facility (the last row of the sequence wins).
async fn published(store: &Store) -> Vec<(FacilityId, PublishedDocument)> {
    let mut by_id = std::collections::BTreeMap::new();
    let mut seq = 0;
    loop {
        let rows = store.publications().since(seq, 1_000).await.expect("read");
        let Some(last) = rows.last().map(|r| r.seq) else {
            break;
        };
        for r in rows {
            match r.document {
                Some(d) => by_id.insert(r.facility_id, d),
                None => by_id.remove(&r.facility_id),
            };
        }
        seq = last;
    }
    by_id.into_iter().collect()
}

fn all(index: &SearchIndex, mut q: SearchQuery) -> Vec<FacilityId> {
    q.limit = 100_000;
    index
        .search(&q)
        .expect("search")
        .0
        .into_iter()
        .map(|h| h.facility_id)
        .collect()
}

fn words(keyword: &str) -> SearchQuery {
    SearchQuery {
        keyword: keyword.into(),
        ..SearchQuery::default()
    }
}

fn hiragana(katakana: &str) -> String {
    katakana
        .chars()
        .map(|c| match c {
            'ァ'..='ヶ' => char::from_u32(u32::from(c) - 0x60).unwrap_or(c),
            other => other,
        })
        .collect()
}

/// Monday 2026-11-16 10:30 (Japan time), not a 祝日.
fn monday_morning() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 16)
        .and_then(|d| d.and_hms_opt(10, 30, 0))
        .expect("a time")
}

#[tokio::test]
async fn the_fixed_query_set_on_the_synthetic_dataset() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = dataset(dir.path(), "3000");
    let store = Store::connect(&url).await?;
    let index = SearchIndex::open(None)?;
    index.catch_up(&store).await?;
    let docs = published(&store).await;
    assert!(docs.len() > 2_500, "{} published", docs.len());
    assert_eq!(index.len(), docs.len());

    // カナ → kanji name: every 50th facility, by its reading in hiragana and in half-width.
    let mut checked = 0;
    for (id, d) in docs.iter().step_by(50) {
        let kana = &d.facility.names.official_kana;
        let found = all(&index, words(&hiragana(kana)));
        assert!(found.contains(id), "{kana} → {}", d.facility.names.official);
        let half: String = kana
            .chars()
            .map(|c| match c {
                'カ' => 'ｶ',
                'ク' => 'ｸ',
                'リ' => 'ﾘ',
                'ニ' => 'ﾆ',
                'ツ' => 'ﾂ',
                other => other,
            })
            .collect();
        assert!(all(&index, words(&half)).contains(id), "{half}");
        checked += 1;
    }
    assert!(checked >= 50);

    // 「京都」: every 京都府 facility that matches ranks above every 東京都 one.
    let kyoto = all(&index, words("京都"));
    let pref_of = |id: &FacilityId| {
        docs.iter()
            .find(|(d, _)| d == id)
            .map(|(_, d)| d.facility.prefecture.number())
    };
    let last_kyoto = kyoto.iter().rposition(|id| pref_of(id) == Some(26));
    let first_tokyo = kyoto.iter().position(|id| pref_of(id) == Some(13));
    let (Some(last_kyoto), Some(first_tokyo)) = (last_kyoto, first_tokyo) else {
        panic!("both prefectures among the results of 「京都」");
    };
    assert!(last_kyoto < first_tokyo, "{last_kyoto} ≥ {first_tokyo}");

    // Width: an address typed with full-width digits finds the facility written with
    // half-width ones (and the other way round).
    let (id, d) = docs
        .iter()
        .find(|(_, d)| d.facility.address.chars().any(|c| c.is_ascii_digit()))
        .expect("an address with digits");
    let wide: String = d
        .facility
        .address
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(u32::from(c) - 0x30 + 0xFF10).unwrap_or(c),
            other => other,
        })
        .collect();
    assert!(all(&index, words(&wide)).contains(id), "{wide}");

    // 「小児科 現在診療中 半径2km」 around a 小児科 in the busiest municipality.
    let pediatric: Vec<&(FacilityId, PublishedDocument)> = docs
        .iter()
        .filter(|(_, d)| d.departments().contains(&"03001"))
        .collect();
    let center = pediatric
        .iter()
        .filter_map(|(_, d)| d.facility.coordinates.as_ref())
        .map(|c| Point {
            lat: c.lat,
            lon: c.lon,
        })
        .max_by_key(|p| {
            pediatric
                .iter()
                .filter_map(|(_, d)| d.facility.coordinates.as_ref())
                .filter(|c| {
                    p.distance_m(Point {
                        lat: c.lat,
                        lon: c.lon,
                    }) <= 2_000.0
                })
                .count()
        })
        .expect("a 小児科 with coordinates");
    let at = monday_morning();
    let mut expected: Vec<(f64, FacilityId)> = pediatric
        .iter()
        .filter_map(|(id, d)| {
            let c = d.facility.coordinates.as_ref()?;
            let p = Point::in_japan(c.lat, c.lon)?;
            let distance = center.distance_m(p);
            let tables = d.department_hours(Some("03001"));
            let open = Schedule {
                tables: &tables,
                closures: &d.closures,
                is_holiday: &teikyo_refdata::holidays::is_holiday,
            }
            .at(at)
            .openness
                == Openness::Open;
            (distance <= 2_000.0 && open).then_some((distance, *id))
        })
        .collect();
    expected.sort_by(|a, b| a.0.total_cmp(&b.0));
    let expected: Vec<FacilityId> = expected.into_iter().map(|(_, id)| id).collect();
    assert!(
        expected.len() >= 2,
        "the query should have something to find: {expected:?}"
    );
    let found = all(
        &index,
        SearchQuery {
            department: Some("03001".into()),
            open_at: Some(at),
            area: Some(Area::Radius {
                center,
                meters: 2_000.0,
            }),
            sort: Sort::Distance,
            ..SearchQuery::default()
        },
    );
    assert_eq!(found, expected);
    eprintln!(
        "{} published; カナ checked {checked}; 「京都」 {} results (京都府 to #{}, 東京都 from #{}); \
         小児科 open within 2 km: {}",
        docs.len(),
        kyoto.len(),
        last_kyoto + 1,
        first_tokyo + 1,
        found.len()
    );
    Ok(())
}
