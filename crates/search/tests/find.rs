//! Finding the right facility (issue 7 §3, §5) on SQLite and on PostgreSQL when configured:
//! 現在診療中 per 診療科目, a radius nearest first, a map view, features, languages, romaji, and
//! listings that survive a restart of the node.

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use teikyo_domain::feature::Feature;
use teikyo_domain::forms::{Answers, Value};
use teikyo_domain::hours::{Day, DayType, Slot, Slots, TimeOfDay, WeeklyHours};
use teikyo_domain::opening::Closure;
use teikyo_domain::publication::PublishedDocument;
use teikyo_domain::{
    CoordinateSource, Coordinates, FacilityKind, FacilityNames, FacilityRecord, MunicipalityCode,
    PrefectureCode,
};
use teikyo_search::{Area, Bounds, Point, Publisher, SearchIndex, SearchQuery, Sort};
use teikyo_store::{AuditEvent, FacilityId, NewClosure, Store};
use teikyo_testkit::db::{TestDb, backends};
use teikyo_testkit::published;

/// 金沢市役所, the centre of the radius searches.
const CENTER: Point = Point {
    lat: 36.5613,
    lon: 136.6562,
};

/// A point `north_m` metres north of the centre.
fn north_of_center(north_m: f64) -> (f64, f64) {
    (CENTER.lat + north_m / 111_195.0, CENTER.lon)
}

fn weekdays(from: (u16, u16), to: (u16, u16)) -> WeeklyHours {
    let slot = Slot {
        start: TimeOfDay::new(from.0, from.1).unwrap(),
        end: TimeOfDay::new(to.0, to.1).unwrap(),
        overnight: false,
        reception: None,
    };
    let mut h = WeeklyHours::default();
    for d in DayType::ALL {
        let day = match d {
            DayType::Sat | DayType::Sun | DayType::Holiday => Day::Closed,
            _ => Day::Open {
                slots: Slots::new(vec![slot]).unwrap(),
            },
        };
        h.days.insert(d, day);
    }
    h
}

fn saturdays_only() -> WeeklyHours {
    let mut h = weekdays((9, 0), (12, 0));
    let open = h.days[&DayType::Mon].clone();
    for d in DayType::ALL {
        h.days.insert(d, Day::Closed);
    }
    h.days.insert(DayType::Sat, open);
    h
}

struct Facility {
    name: &'static str,
    kana: &'static str,
    at: (f64, f64),
    departments: Vec<(&'static str, WeeklyHours)>,
    extra: Vec<(&'static str, Value)>,
    closures: Vec<Closure>,
}

fn facility(
    name: &'static str,
    kana: &'static str,
    north_m: f64,
    departments: Vec<(&'static str, WeeklyHours)>,
) -> Facility {
    Facility {
        name,
        kana,
        at: north_of_center(north_m),
        departments,
        extra: Vec::new(),
        closures: Vec::new(),
    }
}

fn document(f: &Facility) -> PublishedDocument {
    let record = FacilityRecord {
        kind: FacilityKind::Clinic,
        prefecture: PrefectureCode::parse("17").unwrap(),
        municipality: MunicipalityCode::parse("172014").unwrap(),
        facility_code: None,
        insurance_codes: vec![],
        names: FacilityNames {
            official: f.name.into(),
            official_kana: f.kana.into(),
            ..FacilityNames::default()
        },
        postal_code: None,
        address: "石川県金沢市広坂1丁目1番1号".into(),
        coordinates: Some(Coordinates {
            lat: f.at.0,
            lon: f.at.1,
            source: CoordinateSource::Reported,
        }),
        homepage: None,
        opened_on: Some(NaiveDate::from_ymd_opt(2000, 4, 1).unwrap()),
        suspended_on: None,
        abolished_on: None,
    };
    let rows = f
        .departments
        .iter()
        .map(|(code, hours)| {
            let mut row = Answers::default();
            row.set(
                "basic.departments.department",
                Value::Choice((*code).into()),
            );
            row.set("basic.departments.hours", Value::Hours(hours.clone()));
            row
        })
        .collect();
    let mut answers = Answers::default();
    answers.set("basic.departments", Value::Group(rows));
    for (id, v) in &f.extra {
        answers.set(id, v.clone());
    }
    published::document(record, answers)
}

async fn publish(store: &Store, facilities: &[Facility]) -> Vec<FacilityId> {
    // Published the week before the searches below (a closure ends with its last day).
    let at = Utc.with_ymd_and_hms(2026, 11, 9, 0, 0, 0).unwrap();
    let ids = published::publish_at(store, facilities.iter().map(document).collect(), at).await;
    // 臨時休診 are the store's: declared, then published into the facility's document.
    let closures: Vec<NewClosure> = facilities
        .iter()
        .zip(&ids)
        .flat_map(|(f, id)| {
            f.closures.iter().map(|c| NewClosure {
                facility_id: *id,
                closure: c.clone(),
                batch_id: None,
                by: None,
            })
        })
        .collect();
    if !closures.is_empty() {
        store
            .publications()
            .declare_closures(
                &closures,
                &[],
                &AuditEvent::new("closure.declared", None),
                Utc::now(),
            )
            .await
            .expect("declare");
        Publisher::new(teikyo_refdata::forms::shared_catalogue().expect("the item sets load"))
            .publish(store, &ids, at)
            .await
            .expect("publish the closures");
    }
    ids
}

fn ids(index: &SearchIndex, q: &SearchQuery) -> Vec<FacilityId> {
    index
        .search(q)
        .expect("search")
        .0
        .into_iter()
        .map(|h| h.facility_id)
        .collect()
}

/// Monday 2026-11-16, 10:30 Japan time (not a 祝日).
fn monday_morning() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 16)
        .unwrap()
        .and_hms_opt(10, 30, 0)
        .unwrap()
}

#[tokio::test]
async fn open_pediatrics_within_two_kilometres_nearest_first() -> anyhow::Result<()> {
    let monday = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let mut closed_today = facility(
            "広坂こども医院",
            "ヒロサカコドモイイン",
            300.0,
            vec![("03001", weekdays((9, 0), (18, 0)))],
        );
        closed_today.closures = vec![Closure {
            from: monday,
            to: monday,
            reason: "院長不在のため".into(),
        }];
        let mut with_parking = facility(
            "兼六小児科クリニック",
            "ケンロクショウニカクリニック",
            1_500.0,
            vec![("03001", weekdays((9, 0), (18, 0)))],
        );
        with_parking.extra = vec![("access.has_parking", Value::Choice("yes".into()))];
        let facilities = vec![
            // Open 小児科, 800 m.
            facility(
                "香林坊こどもクリニック",
                "コウリンボウコドモクリニック",
                800.0,
                vec![("03001", weekdays((9, 0), (18, 0)))],
            ),
            // Open 小児科, 1.5 km, with parking.
            with_parking,
            // Open 小児科 but 3 km away.
            facility(
                "遠くの小児科",
                "トオクノショウニカ",
                3_000.0,
                vec![("03001", weekdays((9, 0), (18, 0)))],
            ),
            // Near, open, but 内科 only.
            facility(
                "中央内科",
                "チュウオウナイカ",
                200.0,
                vec![("01001", weekdays((9, 0), (18, 0)))],
            ),
            // Near 小児科, open on Saturdays only.
            facility(
                "土曜こどもクリニック",
                "ドヨウコドモクリニック",
                100.0,
                vec![("03001", saturdays_only())],
            ),
            // Near 小児科 closed by a 臨時休診 today.
            closed_today,
            // 内科 open in the morning, 小児科 only in the afternoon.
            facility(
                "午後小児科の内科医院",
                "ゴゴショウニカノナイカイイン",
                500.0,
                vec![
                    ("01001", weekdays((9, 0), (12, 0))),
                    ("03001", weekdays((14, 0), (18, 0))),
                ],
            ),
        ];
        let ids_of = publish(&db.store, &facilities).await;
        let index = SearchIndex::open(None)?;
        index.catch_up(&db.store).await?;

        let query = SearchQuery {
            department: Some("03001".into()),
            open_at: Some(monday_morning()),
            area: Some(Area::Radius {
                center: CENTER,
                meters: 2_000.0,
            }),
            sort: Sort::Distance,
            limit: 20,
            ..SearchQuery::default()
        };
        let (hits, total) = index.search(&query)?;
        assert_eq!(total, 2, "{backend:?}: only the open 小児科 within 2 km");
        assert_eq!(
            hits.iter().map(|h| h.facility_id).collect::<Vec<_>>(),
            [ids_of[0], ids_of[1]],
            "{backend:?}: nearest first"
        );
        let d = hits[0].distance_m.expect("a distance");
        assert!((d - 800.0).abs() < 10.0, "{backend:?}: 800 m, got {d}");

        // At 15:00 the afternoon 小児科 is open too; at 19:00 none is.
        let afternoon = monday.and_hms_opt(15, 0, 0).unwrap();
        let found = ids(
            &index,
            &SearchQuery {
                open_at: Some(afternoon),
                ..query.clone()
            },
        );
        assert_eq!(found, [ids_of[6], ids_of[0], ids_of[1]], "{backend:?}");
        let evening = monday.and_hms_opt(19, 0, 0).unwrap();
        assert!(
            ids(
                &index,
                &SearchQuery {
                    open_at: Some(evening),
                    ..query.clone()
                }
            )
            .is_empty()
        );
        // Asked again for the morning (the cache must not answer for another time).
        assert_eq!(ids(&index, &query), [ids_of[0], ids_of[1]], "{backend:?}");

        // Without 現在診療中: every 小児科 within 2 km.
        let any_time = SearchQuery {
            open_at: None,
            ..query.clone()
        };
        assert_eq!(
            ids(&index, &any_time),
            [ids_of[4], ids_of[5], ids_of[6], ids_of[0], ids_of[1]],
            "{backend:?}"
        );
        // With parking.
        assert_eq!(
            ids(
                &index,
                &SearchQuery {
                    features: vec![Feature::Parking],
                    ..query.clone()
                }
            ),
            [ids_of[1]]
        );
        // A map view holding only the far one.
        let (far_lat, far_lon) = north_of_center(3_000.0);
        let view = SearchQuery {
            area: Some(Area::Bounds(Bounds {
                south: far_lat - 0.001,
                west: far_lon - 0.001,
                north: far_lat + 0.001,
                east: far_lon + 0.001,
            })),
            open_at: None,
            ..query.clone()
        };
        assert_eq!(ids(&index, &view), [ids_of[2]], "{backend:?}");

        // Today's line and open-now for a result.
        let listing = index.listing(ids_of[5]).expect("listed");
        assert_eq!(listing.day(monday).describe(), "臨時休診");
        let listing = index.listing(ids_of[0]).expect("listed");
        assert_eq!(listing.day(monday).describe(), "9:00–18:00");
    }
    Ok(())
}

#[tokio::test]
async fn romaji_and_languages_find_facilities_and_listings_survive_a_restart() -> anyhow::Result<()>
{
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let mut english = facility(
            "佐藤内科医院",
            "サトウナイカイイン",
            0.0,
            vec![("01001", weekdays((9, 0), (18, 0)))],
        );
        let mut row = Answers::default();
        row.set("amenities.languages.language", Value::Choice("en".into()));
        english.extra = vec![("amenities.languages", Value::Group(vec![row]))];
        let ids_of = publish(
            &db.store,
            &[
                english,
                facility(
                    "大野眼科",
                    "オオノガンカ",
                    100.0,
                    vec![("02001", weekdays((9, 0), (18, 0)))],
                ),
            ],
        )
        .await;
        let dir = tempfile::tempdir()?;
        {
            let index = SearchIndex::open(Some(dir.path()))?;
            index.catch_up(&db.store).await?;
            let q = |k: &str| SearchQuery {
                keyword: k.into(),
                limit: 10,
                ..SearchQuery::default()
            };
            assert_eq!(ids(&index, &q("sato naika")), [ids_of[0]], "{backend:?}");
            assert_eq!(ids(&index, &q("Satō")), [ids_of[0]], "{backend:?}");
            assert_eq!(ids(&index, &q("ono")), [ids_of[1]], "{backend:?}");
            assert!(ids(&index, &q("tanaka")).is_empty(), "{backend:?}");
            let english_spoken = SearchQuery {
                language: Some("en".into()),
                limit: 10,
                ..SearchQuery::default()
            };
            assert_eq!(ids(&index, &english_spoken), [ids_of[0]]);
        }
        // A new process on the same directory: nothing to catch up, listings from the index.
        let again = SearchIndex::open(Some(dir.path()))?;
        assert_eq!(again.len(), 2, "{backend:?}");
        let open = SearchQuery {
            open_at: Some(monday_morning()),
            area: Some(Area::Radius {
                center: CENTER,
                meters: 500.0,
            }),
            sort: Sort::Distance,
            limit: 10,
            ..SearchQuery::default()
        };
        assert_eq!(ids(&again, &open), [ids_of[0], ids_of[1]], "{backend:?}");
    }
    Ok(())
}
