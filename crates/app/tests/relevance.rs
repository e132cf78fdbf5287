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

    let words_compared = words_agree_with_the_documents(&index, &docs);
    eprintln!("words compared with the documents one by one: {words_compared}");
    let compared = filters_agree_with_the_documents(&index, &docs);
    eprintln!("filters compared with the documents one by one: {compared} queries");
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

/// Words of one CJK run — two characters (one bigram), three to six (one term of the
/// substring fields), seven or more (a trigram phrase) — taken from names, readings (in
/// hiragana) and addresses: each finds exactly the facilities whose texts contain it once
/// folded, as reading every document says. Returns how many words were compared.
fn words_agree_with_the_documents(
    index: &SearchIndex,
    docs: &[(FacilityId, PublishedDocument)],
) -> usize {
    use teikyo_search::text::fold;
    let texts: Vec<(FacilityId, Vec<String>)> = docs
        .iter()
        .map(|(id, d)| {
            let n = &d.facility.names;
            let texts = [Some(&n.official), n.short.as_ref(), n.english.as_ref()]
                .into_iter()
                .chain([Some(&n.official_kana), n.short_kana.as_ref()])
                .chain([Some(&d.facility.address)])
                .flatten()
                .map(|t| fold(t))
                .collect();
            (*id, texts)
        })
        .collect();
    let one_run = |w: &str| {
        let f = fold(w);
        !f.is_empty() && f.chars().all(|c| !c.is_ascii() && c.is_alphabetic())
    };
    let mut asked: Vec<String> = Vec::new();
    for (_, d) in docs.iter().step_by(97) {
        let take =
            |s: &str, from: usize, n: usize| -> String { s.chars().skip(from).take(n).collect() };
        for n in 2..=8 {
            asked.push(take(&d.facility.names.official, 0, n));
            asked.push(take(&d.facility.names.official, 1, n));
            asked.push(hiragana(&take(&d.facility.names.official_kana, 0, n)));
            asked.push(hiragana(&take(&d.facility.names.official_kana, 2, n)));
        }
        asked.push(take(&d.facility.address, 3, 4));
    }
    asked.sort();
    asked.dedup();
    asked.retain(|w| w.chars().count() >= 2 && one_run(w));
    for w in &asked {
        let folded = fold(w);
        let mut expected: Vec<FacilityId> = texts
            .iter()
            .filter(|(_, texts)| texts.iter().any(|t| t.contains(&folded)))
            .map(|(id, _)| *id)
            .collect();
        expected.sort_by_key(|id| id.0);
        let mut found = all(index, words(w));
        found.sort_by_key(|id| id.0);
        assert_eq!(found, expected, "「{w}」");
    }
    assert!(asked.len() > 200, "{} words", asked.len());
    asked.len()
}

/// Sunday 2026-11-22 23:30 (Japan time): most facilities closed, a few open.
fn sunday_night() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 22)
        .and_then(|d| d.and_hms_opt(23, 30, 0))
        .expect("a time")
}

/// Whether `d` is open at `at` (for `department`, its own hours), evaluated from the document.
fn open_in(d: &PublishedDocument, department: Option<&str>, at: NaiveDateTime) -> bool {
    let tables = d.department_hours(department);
    Schedule {
        tables: &tables,
        closures: &d.closures,
        is_holiday: &teikyo_refdata::holidays::is_holiday,
    }
    .at(at)
    .openness
        == Openness::Open
}

/// The exact filters (codes, features, 現在診療中; with and without words) give exactly the
/// facilities that evaluating every document one by one gives: the same count, the same ids in
/// id order, and pages of 20 that read the whole list once. Returns the queries compared.
fn filters_agree_with_the_documents(
    index: &SearchIndex,
    docs: &[(FacilityId, PublishedDocument)],
) -> usize {
    use teikyo_domain::feature::Feature;
    let treatments = |d: &PublishedDocument| -> Vec<String> {
        let mut out = Vec::new();
        for s in &d.sections {
            for (id, v) in &s.answers.0 {
                if let teikyo_domain::forms::Value::Coded(codes) = v
                    && id.as_str().ends_with(".treatments")
                {
                    out.extend(
                        codes
                            .iter()
                            .filter(|(_, a)| a.available)
                            .map(|(c, _)| c.clone()),
                    );
                }
            }
        }
        out
    };
    let mut compared = 0;
    // Queries with something to find, and those of them asking for 現在診療中.
    let (mut found_some, mut found_open) = (0, 0);
    for (n, (_, seed)) in docs.iter().step_by(211).enumerate() {
        let f = &seed.facility;
        let department = seed.departments().first().map(|d| (*d).to_owned());
        let feature: Option<Feature> = seed.features().first().copied();
        let language = seed.languages().first().map(|l| (*l).to_owned());
        let treatment = treatments(seed).first().cloned();
        let at = if n % 2 == 0 {
            monday_morning()
        } else {
            sunday_night()
        };
        let queries = [
            SearchQuery {
                prefecture: Some(f.prefecture),
                ..SearchQuery::default()
            },
            SearchQuery {
                prefecture: Some(f.prefecture),
                kind: Some(f.kind),
                open_at: Some(at),
                ..SearchQuery::default()
            },
            SearchQuery {
                municipality: Some(f.municipality.to_string()),
                department: department.clone(),
                ..SearchQuery::default()
            },
            SearchQuery {
                prefecture: Some(f.prefecture),
                features: feature.into_iter().collect(),
                open_at: Some(at),
                ..SearchQuery::default()
            },
            SearchQuery {
                department: department.clone(),
                open_at: Some(at),
                ..SearchQuery::default()
            },
            SearchQuery {
                language: language.clone(),
                treatment: treatment.clone(),
                ..SearchQuery::default()
            },
            SearchQuery {
                keyword: "内科".into(),
                prefecture: Some(f.prefecture),
                open_at: Some(at),
                ..SearchQuery::default()
            },
        ];
        for q in queries {
            let admits = |d: &PublishedDocument| -> bool {
                let r = &d.facility;
                q.prefecture.is_none_or(|p| r.prefecture == p)
                    && q.municipality
                        .as_ref()
                        .is_none_or(|m| r.municipality.to_string() == *m)
                    && q.kind.is_none_or(|k| r.kind == k)
                    && q.department
                        .as_deref()
                        .is_none_or(|c| d.departments().contains(&c))
                    && q.language
                        .as_deref()
                        .is_none_or(|c| d.languages().contains(&c))
                    && q.treatment
                        .as_ref()
                        .is_none_or(|c| treatments(d).contains(c))
                    && q.features.iter().all(|x| d.features().contains(x))
                    && q.open_at
                        .is_none_or(|at| open_in(d, q.department.as_deref(), at))
            };
            let words = (!q.keyword.is_empty()).then(|| {
                all(
                    index,
                    SearchQuery {
                        keyword: q.keyword.clone(),
                        ..SearchQuery::default()
                    },
                )
            });
            let mut expected: Vec<FacilityId> = docs
                .iter()
                .filter(|(id, d)| admits(d) && words.as_ref().is_none_or(|w| w.contains(id)))
                .map(|(id, _)| *id)
                .collect();
            expected.sort();
            let (first, total) = index
                .search(&SearchQuery {
                    limit: 20,
                    ..q.clone()
                })
                .expect("search");
            assert_eq!(total, expected.len(), "count of {q:?}");
            let mut found = all(index, q.clone());
            if words.is_some() {
                // Words order by score: compare as sets.
                found.sort();
            } else {
                // Pages of 20 read the whole list, once, in id order.
                let mut paged: Vec<FacilityId> = first.iter().map(|h| h.facility_id).collect();
                while paged.len() < total {
                    let (page, _) = index
                        .search(&SearchQuery {
                            limit: 20,
                            offset: paged.len(),
                            ..q.clone()
                        })
                        .expect("search");
                    assert!(!page.is_empty(), "a page at {} of {total}", paged.len());
                    paged.extend(page.iter().map(|h| h.facility_id));
                }
                assert_eq!(paged, found, "pages of {q:?}");
            }
            assert_eq!(found, expected, "{q:?}");
            compared += 1;
            if !expected.is_empty() {
                found_some += 1;
                found_open += usize::from(q.open_at.is_some());
            }
        }
    }
    assert!(compared >= 70, "{compared}");
    assert!(
        found_some * 4 >= compared * 3 && found_open >= 20,
        "most queries should find something: {found_some} of {compared}, {found_open} open"
    );
    compared
}
