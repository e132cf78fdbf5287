//! The open-data export and import on both backends: the pinned header lines, and documents of
//! every shape the files can carry exported, imported into an empty database and exported again
//! to the same bytes.

use chrono::{NaiveDate, TimeZone, Utc};
use teikyo_domain::forms::{Answers, Value};
use teikyo_domain::hours::{
    ClosedPeriod, Day, DayType, NthWeekday, Slot, Slots, Span, TimeOfDay, WeeklyHours,
};
use teikyo_domain::publication::PublishedDocument;
use teikyo_domain::{
    CoordinateSource, Coordinates, FacilityCode, FacilityKind, FacilityNames, FacilityRecord,
    MunicipalityCode, PrefectureCode,
};
use teikyo_opendata::export::{ExportOptions, Manifest, export};
use teikyo_opendata::import;
use teikyo_opendata::reference::Embedded;
use teikyo_testkit::db::{TestDb, backends};
use teikyo_testkit::published;

const HEADERS: &str = include_str!("headers.txt");

fn snapshot() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn options(dir: &std::path::Path) -> ExportOptions {
    ExportOptions {
        dir: dir.to_owned(),
        snapshot: snapshot(),
        credit: "テストの出典".into(),
        licence: "CC BY 4.0".into(),
    }
}

/// The files of a snapshot as (name, bytes), in manifest order.
fn files(dir: &std::path::Path, m: &Manifest) -> Vec<(String, Vec<u8>)> {
    m.files
        .iter()
        .map(|f| (f.name.clone(), std::fs::read(dir.join(&f.name)).unwrap()))
        .collect()
}

#[tokio::test]
async fn the_eight_files_have_the_published_headers() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let dir = tempfile::tempdir()?;
        let m = export(&db.store, &options(dir.path()), &mut |_, _| {}).await?;
        let names: Vec<&str> = m.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "01-1_hospital_facility_info_20261201.csv",
                "01-2_hospital_speciality_hours_20261201.csv",
                "02-1_clinic_facility_info_20261201.csv",
                "02-2_clinic_speciality_hours_20261201.csv",
                "03-1_dental_facility_info_20261201.csv",
                "03-2_dental_speciality_hours_20261201.csv",
                "04_maternity_home_20261201.csv",
                "05_pharmacy_20261201.csv",
            ]
        );
        for ((name, bytes), expected) in files(dir.path(), &m).iter().zip(HEADERS.lines()) {
            let mut want = b"\xEF\xBB\xBF".to_vec();
            want.extend_from_slice(expected.as_bytes());
            want.extend_from_slice(b"\r\n");
            assert_eq!(
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&want),
                "{name}"
            );
        }
        assert!(m.files.iter().all(|f| f.rows == 0));
        assert_eq!(Manifest::read(dir.path())?, Some(m));
        db.cleanup().await?;
    }
    Ok(())
}

fn t(h: u16, m: u16) -> TimeOfDay {
    TimeOfDay::new(h, m).unwrap()
}

fn slot(a: (u16, u16), b: (u16, u16), reception: Option<((u16, u16), (u16, u16))>) -> Slot {
    Slot {
        start: t(a.0, a.1),
        end: t(b.0, b.1),
        overnight: t(b.0, b.1) <= t(a.0, a.1),
        reception: reception.map(|(s, e)| Span {
            start: t(s.0, s.1),
            end: t(e.0, e.1),
        }),
    }
}

fn open(slots: Vec<Slot>) -> Day {
    Day::Open {
        slots: Slots::new(slots).unwrap(),
    }
}

/// The example clinic week (月–金 午前・午後 with 受付, 土 午前, 日・祝 closed), 第2・第4土曜 closed,
/// 年末年始 and a day in August, and a note.
fn clinic_week() -> WeeklyHours {
    let mut h = teikyo_refdata::forms::examples::weekday_hours();
    for week in [2, 4] {
        h.closed_weeks.insert(NthWeekday {
            week,
            day: DayType::Sat,
        });
    }
    h.closed_periods.push(ClosedPeriod {
        from: NaiveDate::from_ymd_opt(2026, 12, 29).unwrap(),
        to: NaiveDate::from_ymd_opt(2027, 1, 3).unwrap(),
        note: "年末年始".into(),
    });
    h.closed_periods.push(ClosedPeriod {
        from: NaiveDate::from_ymd_opt(2026, 8, 14).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 8, 14).unwrap(),
        note: String::new(),
    });
    h.note = "予約の方を優先します".into();
    h
}

fn record(kind: FacilityKind, code: &str, name: &str, kana: &str) -> FacilityRecord {
    FacilityRecord {
        kind,
        prefecture: PrefectureCode::parse("17").unwrap(),
        municipality: MunicipalityCode::parse("172014").unwrap(),
        facility_code: Some(FacilityCode::parse(code).unwrap()),
        insurance_codes: vec![],
        names: FacilityNames {
            official: name.into(),
            official_kana: kana.into(),
            ..FacilityNames::default()
        },
        postal_code: None,
        address: "石川県金沢市広坂1丁目1番1号".into(),
        coordinates: Some(Coordinates {
            lat: 36.5613,
            lon: 136.6562,
            source: CoordinateSource::Reported,
        }),
        homepage: Some("https://example.jp/?a=\"b\"".into()),
        opened_on: NaiveDate::from_ymd_opt(2000, 4, 1),
        suspended_on: None,
        abolished_on: None,
    }
}

fn department(code: &str, name: Option<&str>, hours: WeeklyHours) -> Answers {
    let mut row = Answers::default();
    row.set("basic.departments.department", Value::Choice(code.into()));
    if let Some(n) = name {
        row.set("basic.departments.department_name", Value::Text(n.into()));
    }
    row.set("basic.departments.hours", Value::Hours(hours));
    row
}

/// A 助産所 or 薬局 whose one table is `item`.
fn with_own_table(
    kind: FacilityKind,
    code: &str,
    name: &str,
    kana: &str,
    item: &str,
    hours: WeeklyHours,
) -> PublishedDocument {
    let mut answers = Answers::default();
    answers.set(item, Value::Hours(hours));
    published::document(record(kind, code, name, kana), answers)
}

/// Documents with every shape the files can say.
fn documents() -> Vec<PublishedDocument> {
    // A hospital: 内科 as the clinic week, 救急科 around the clock with a night slot on 祝,
    // 「その他（内科系）」 with its own name, a 診療科目 that varies on 水; beds.
    let mut er = WeeklyHours::default();
    for d in DayType::ALL {
        er.days.insert(d, Day::AllDay);
    }
    er.days
        .insert(DayType::Holiday, open(vec![slot((17, 0), (8, 30), None)]));
    let mut varies = WeeklyHours::default();
    varies.days.insert(DayType::Wed, Day::Varies);
    varies.days.insert(DayType::Sun, Day::Closed);
    let mut answers = Answers::default();
    answers.set(
        "basic.departments",
        Value::Group(vec![
            department("01001", None, clinic_week()),
            department("09010", None, er),
            department("01991", Some("漢方内科"), varies),
        ]),
    );
    for (item, n) in [
        ("basic.beds_general", 120.0),
        ("basic.beds_long_term", 40.0),
        ("basic.beds_long_term_medical", 30.0),
        ("basic.beds_long_term_care", 10.0),
        ("basic.beds_psychiatric", 0.0),
        ("basic.beds_tuberculosis", 0.0),
        ("basic.beds_infectious", 4.0),
    ] {
        answers.set(item, Value::Number(n));
    }
    let mut hospital = published::document(
        record(
            FacilityKind::Hospital,
            "1170000001",
            "金沢中央病院",
            "カナザワチュウオウビョウイン",
        ),
        answers,
    );
    hospital.facility.names.short = Some("中央病院".into());
    hospital.facility.names.english = Some("Kanazawa Central Hospital".into());

    // A clinic with beds, no reported coordinates, and a department without times.
    let mut answers = Answers::default();
    answers.set(
        "basic.departments",
        Value::Group(vec![
            department("06001", None, clinic_week()),
            department(
                "03001",
                None,
                WeeklyHours {
                    note: "予約の方を優先します".into(),
                    ..WeeklyHours::default()
                },
            ),
        ]),
    );
    answers.set("basic.has_beds", Value::Choice("yes".into()));
    answers.set("basic.beds_general", Value::Number(19.0));
    answers.set("basic.beds_long_term", Value::Number(0.0));
    let mut clinic = published::document(
        record(
            FacilityKind::Clinic,
            "2170000001",
            "ひろさか皮膚科",
            "ヒロサカヒフカ",
        ),
        answers,
    );
    clinic.facility.coordinates = None;

    // A 助産所 with 外来受付 in its 就業時間.
    let mut work = WeeklyHours::default();
    for d in [DayType::Mon, DayType::Tue, DayType::Thu] {
        work.days.insert(
            d,
            open(vec![
                slot((9, 0), (12, 0), Some(((9, 0), (11, 30)))),
                slot((13, 0), (17, 0), None),
            ]),
        );
    }
    work.days.insert(DayType::Wed, Day::Closed);
    let midwife = with_own_table(
        FacilityKind::MidwiferyHome,
        "4170000001",
        "ひろさか助産院",
        "ヒロサカジョサンイン",
        "basic.working_hours",
        work,
    );

    // A 薬局: four bands on 月, 24時間 on 土, closed 日 and 第3水曜.
    let mut shop = WeeklyHours::default();
    shop.days.insert(
        DayType::Mon,
        open(vec![
            slot((8, 0), (10, 0), None),
            slot((10, 30), (12, 0), None),
            slot((13, 0), (15, 0), None),
            slot((15, 30), (19, 0), None),
        ]),
    );
    shop.days
        .insert(DayType::Wed, open(vec![slot((9, 0), (18, 0), None)]));
    shop.days.insert(DayType::Sat, Day::AllDay);
    shop.days.insert(DayType::Sun, Day::Closed);
    shop.closed_weeks.insert(NthWeekday {
        week: 3,
        day: DayType::Wed,
    });
    let pharmacy = with_own_table(
        FacilityKind::Pharmacy,
        "5170000001",
        "ひろさか薬局",
        "ヒロサカヤッキョク",
        "basic.opening_hours",
        shop,
    );
    vec![hospital, clinic, midwife, pharmacy]
}

#[tokio::test]
async fn export_import_export_gives_the_same_bytes() -> anyhow::Result<()> {
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 3, 0, 0).unwrap();
    for backend in backends() {
        let source = TestDb::new(backend).await?;
        published::publish_at(&source.store, documents(), now).await;
        let first = tempfile::tempdir()?;
        let m1 = export(&source.store, &options(first.path()), &mut |_, _| {}).await?;
        assert_eq!(m1.facilities, 4);
        let bytes1 = files(first.path(), &m1);

        // What a consumer reads: the cells as written.
        let text = |name: &str| {
            let (_, b) = bytes1.iter().find(|(n, _)| n.starts_with(name)).unwrap();
            String::from_utf8(b.clone()).unwrap()
        };
        let hospital = text("01-1");
        assert!(
            hospital.contains(",36.5613,136.6562,"),
            "coordinates unquoted"
        );
        assert!(hospital.contains("\"https://example.jp/?a=\"\"b\"\"\""));
        assert!(
            hospital.contains("\"年末年始（2026年12月29日～2027年1月3日）（改行）2026年8月14日\""),
            "その他の休診日 of every table, in order: {hospital}"
        );
        assert!(hospital.ends_with("\"120\",\"40\",\"30\",\"10\",\"0\",\"0\",\"4\",\"164\"\r\n"));
        let clinic = text("02-1");
        assert!(clinic.contains(",0.0,0.0,"), "no reported point: 0.0");
        assert!(
            clinic.contains("（改行）予約の方を優先します\""),
            "a note every table shares"
        );
        let hours = text("01-2");
        assert!(
            hours.contains("\"09010\",\"救急科\",\"1\",\"00:00\",\"23:59\""),
            "24時間"
        );
        assert!(
            hours.contains("\"01991\",\"漢方内科\",\"1\""),
            "その他's own name"
        );
        assert_eq!(
            hours.lines().filter(|l| l.contains("\"01001\"")).count(),
            2,
            "two 診療時間帯"
        );

        let target = TestDb::new(backend).await?;
        let found = import::find_files(&[first.path().to_owned()]).map_err(|e| {
            anyhow::anyhow!(
                "{}",
                e.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?;
        assert_eq!(found.snapshot, Some(snapshot()));
        let checked = import::check(&found, &Embedded);
        assert!(
            checked.errors.is_empty(),
            "{}",
            checked
                .errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
        let catalogue = teikyo_refdata::forms::shared_catalogue().expect("the item sets load");
        let summary = import::store(
            &target.store,
            catalogue,
            checked.facilities,
            snapshot(),
            &mut |_, _| {},
        )
        .await?;
        assert_eq!(summary.published.published, 4);
        let second = tempfile::tempdir()?;
        let m2 = export(&target.store, &options(second.path()), &mut |_, _| {}).await?;
        let bytes2 = files(second.path(), &m2);
        for ((name, a), (_, b)) in bytes1.iter().zip(&bytes2) {
            assert_eq!(
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b),
                "{name} differs after export → import → export ({backend:?})"
            );
        }
        let sums = |m: &Manifest| m.files.iter().map(|f| f.sha256.clone()).collect::<Vec<_>>();
        assert_eq!(sums(&m1), sums(&m2));
        source.cleanup().await?;
        target.cleanup().await?;
    }
    Ok(())
}
