//! The item sets under `forms/`, compiled in (see `build.rs`), with the code lists they take
//! from `data/` (診療科目, 指定難病) and the postal check the validator needs.
//!
//! [`catalogue`] loads and checks everything once; the binary calls it at start-up and refuses
//! to start on any problem, naming the file and line (`teikyo_domain::forms::load`).

use std::sync::{Arc, LazyLock};

use teikyo_domain::PostalCode;
use teikyo_domain::forms::{Catalogue, Code, CodeList, FormsError, Reference, SourceFile, load};

const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/forms_files.rs"));

/// Every embedded file, as the loader takes them.
pub fn files() -> Vec<SourceFile> {
    FILES
        .iter()
        .map(|(path, text)| SourceFile {
            path: (*path).to_owned(),
            text: (*text).to_owned(),
        })
        .collect()
}

/// The code lists items may name that live in `data/`, not `forms/codes/`.
pub fn external_code_lists() -> Vec<CodeList> {
    let specialties = CodeList {
        id: "specialties".into(),
        name: "診療科目".into(),
        provisional: false,
        source: crate::codes::SPECIALTIES_CREDIT.into(),
        codes: crate::codes::specialties()
            .iter()
            .map(|s| Code {
                code: s.code.into(),
                label: s.name.into(),
                flags: if s.free_text {
                    vec!["free_text".into()]
                } else {
                    vec![]
                },
            })
            .collect(),
    };
    let diseases = CodeList {
        id: "designated_intractable_diseases".into(),
        name: "指定難病".into(),
        provisional: false,
        source: crate::codes::INTRACTABLE_DISEASES_CREDIT.into(),
        codes: crate::codes::intractable_diseases()
            .iter()
            .map(|d| Code {
                code: d.no.to_string(),
                label: d.name.into(),
                flags: vec![],
            })
            .collect(),
    };
    vec![specialties, diseases]
}

/// The files of a directory laid out as `forms/` (every `.toml` below it). A file that cannot
/// be read is reported like a problem inside it.
pub fn files_in(dir: &std::path::Path) -> Result<Vec<SourceFile>, Vec<FormsError>> {
    fn walk(
        root: &std::path::Path,
        dir: &std::path::Path,
        out: &mut Vec<SourceFile>,
        errors: &mut Vec<FormsError>,
    ) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                errors.push(FormsError {
                    file: dir.display().to_string(),
                    line: 0,
                    message: format!("ディレクトリを読めません: {e}"),
                });
                return;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() {
                walk(root, &path, out, errors);
            } else if path.extension().is_some_and(|e| e == "toml") {
                match std::fs::read_to_string(&path) {
                    Ok(text) => out.push(SourceFile { path: rel, text }),
                    Err(e) => errors.push(FormsError {
                        file: path.display().to_string(),
                        line: 0,
                        message: format!("読めません: {e}"),
                    }),
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    walk(dir, dir, &mut out, &mut errors);
    if errors.is_empty() {
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Loads and checks the item sets of a directory (see [`files_in`]) with the code lists of
/// `data/`.
pub fn load_dir(dir: &std::path::Path) -> Result<Catalogue, Vec<FormsError>> {
    load(&files_in(dir)?, &external_code_lists()).map_err(|errors| {
        // Name the files where they are, not where the built-in ones would be.
        errors
            .into_iter()
            .map(|e| FormsError {
                file: match e.file.strip_prefix("forms/") {
                    Some(rel) => dir.join(rel).display().to_string(),
                    None => e.file,
                },
                ..e
            })
            .collect()
    })
}

static CATALOGUE: LazyLock<Result<Arc<Catalogue>, Vec<FormsError>>> =
    LazyLock::new(|| load(&files(), &external_code_lists()).map(Arc::new));

/// The checked item sets, loaded on first use.
pub fn catalogue() -> Result<&'static Catalogue, &'static [FormsError]> {
    CATALOGUE.as_deref().map_err(Vec::as_slice)
}

/// The same item sets as a shared handle, for holders that may also hold others (the web
/// state with `forms_dir`): one copy in the process, never a clone.
pub fn shared_catalogue() -> Result<Arc<Catalogue>, &'static [FormsError]> {
    CATALOGUE.as_ref().map(Arc::clone).map_err(Vec::as_slice)
}

/// The postal master behind the validator's 郵便番号 ↔ 所在地 rule.
pub struct PostalMaster;

impl Reference for PostalMaster {
    fn check_address(&self, postal: PostalCode, address: &str) -> Result<(), String> {
        crate::address::check(postal, address)
            .map(|_| ())
            .map_err(|e| e.detail)
    }
}

pub mod largest;

/// Complete, valid example reports: what tests, benchmarks and the demo start from.
pub mod examples {
    use chrono::NaiveDate;
    use teikyo_domain::forms::{Answers, CodedAnswer, Value};
    use teikyo_domain::hours::{Day, DayType, Slot, Slots, Span, TimeOfDay, WeeklyHours};

    fn time(h: u16, m: u16) -> TimeOfDay {
        TimeOfDay::new(h, m).unwrap_or(TimeOfDay::MIDNIGHT)
    }

    fn slot(from: (u16, u16), to: (u16, u16), reception: Option<((u16, u16), (u16, u16))>) -> Slot {
        Slot {
            start: time(from.0, from.1),
            end: time(to.0, to.1),
            overnight: false,
            reception: reception.map(|(a, b)| Span {
                start: time(a.0, a.1),
                end: time(b.0, b.1),
            }),
        }
    }

    /// 月–金 9:00–12:00 and 13:30–17:00 (受付 8:30–11:30, 13:00–16:30), 土 9:00–12:00, 日・祝 休診.
    pub fn weekday_hours() -> WeeklyHours {
        let morning = slot((9, 0), (12, 0), Some(((8, 30), (11, 30))));
        let afternoon = slot((13, 30), (17, 0), Some(((13, 0), (16, 30))));
        let mut h = WeeklyHours::default();
        for d in [
            DayType::Mon,
            DayType::Tue,
            DayType::Wed,
            DayType::Thu,
            DayType::Fri,
        ] {
            h.days.insert(
                d,
                Day::Open {
                    slots: Slots::new(vec![morning, afternoon]).expect("non-empty"),
                },
            );
        }
        h.days.insert(
            DayType::Sat,
            Day::Open {
                slots: Slots::new(vec![morning]).expect("non-empty"),
            },
        );
        h.days.insert(DayType::Sun, Day::Closed);
        h.days.insert(DayType::Holiday, Day::Closed);
        h
    }

    fn row(pairs: Vec<(&str, Value)>) -> Answers {
        let mut a = Answers::default();
        for (id, v) in pairs {
            a.set(id, v);
        }
        a
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    /// 金沢中央病院: every section of the 2025 hospital item set answered, valid.
    pub fn hospital() -> Answers {
        let mut a = Answers::default();
        a.set(
            "basic.name_official",
            text("医療法人社団金沢会 金沢中央病院"),
        );
        a.set(
            "basic.name_kana",
            text("イリョウホウジンシャダンカナザワカイ カナザワチュウオウビョウイン"),
        );
        a.set("basic.name_english", text("Kanazawa Chuo Hospital"));
        a.set("basic.founder", text("医療法人社団金沢会 理事長 加賀 一郎"));
        a.set("basic.manager", text("能登 花子"));
        a.set("basic.postal_code", text("920-0962"));
        a.set("basic.address", text("石川県金沢市広坂1丁目1番1号"));
        a.set("basic.phone", text("076-220-2111"));
        a.set("basic.fax", text("076-220-2112"));
        a.set("basic.outpatient_class", Value::Choice("1".into()));
        let mut emergency = WeeklyHours::default();
        for d in DayType::ALL {
            emergency.days.insert(d, Day::AllDay);
        }
        let dept = |code: &str, hours: WeeklyHours| {
            row(vec![
                ("basic.departments.department", Value::Choice(code.into())),
                ("basic.departments.hours", Value::Hours(hours)),
            ])
        };
        a.set(
            "basic.departments",
            Value::Group(vec![
                dept("01001", weekday_hours()),
                dept("02001", weekday_hours()),
                dept("09010", emergency),
            ]),
        );
        for (id, n) in [
            ("beds_general", 120.0),
            ("beds_long_term", 40.0),
            ("beds_long_term_medical", 40.0),
            ("beds_long_term_care", 0.0),
            ("beds_psychiatric", 0.0),
            ("beds_tuberculosis", 0.0),
            ("beds_infectious", 4.0),
        ] {
            a.set(&format!("basic.{id}"), Value::Number(n));
        }
        a.set(
            "basic.opened_on",
            Value::Date(NaiveDate::from_ymd_opt(1985, 4, 1).unwrap_or_default()),
        );
        a.set(
            "access.transport",
            text("JR金沢駅から路線バスで約15分、「香林坊」下車徒歩3分"),
        );
        a.set("access.has_parking", Value::Choice("yes".into()));
        a.set("access.parking_spaces", Value::Number(120.0));
        a.set("access.parking_fee", Value::Choice("paid".into()));
        a.set(
            "access.homepage",
            text("https://www.kanazawa-chuo.example.jp/"),
        );
        a.set("access.reservation", Value::Choice("yes".into()));
        a.set("access.visiting_hours", text("毎日 14:00〜20:00"));
        a.set("amenities.in_house_dispensing", Value::Choice("no".into()));
        a.set(
            "amenities.languages",
            Value::Group(vec![row(vec![
                ("amenities.languages.language", Value::Choice("en".into())),
                (
                    "amenities.languages.appointment",
                    Value::Choice("not_required".into()),
                ),
            ])]),
        );
        a.set(
            "costs.insurance_kinds",
            Value::Choices(vec!["health_insurance".into(), "public_assistance".into()]),
        );
        a.set("costs.insurance_code", text("1710123454"));
        a.set("costs.cashless", Value::Choice("yes".into()));
        for (id, n) in [
            ("doctors_total", 48.0),
            ("doctors_fte", 44.5),
            ("nurses_total", 160.0),
            ("nurses_fte", 152.3),
            ("pharmacists_total", 6.0),
            ("outpatients", 410.0),
            ("inpatients", 138.0),
            ("average_length_of_stay", 14.2),
        ] {
            a.set(&format!("outcomes.{id}"), Value::Number(n));
        }
        a.set("outcomes.safety_manager", Value::Choice("yes".into()));
        a.set(
            "outcomes.manager_safety_training",
            Value::Choice("yes".into()),
        );
        a.set("outcomes.critical_path", Value::Choice("yes".into()));
        a.set(
            "services.treatments",
            Value::Coded(
                [
                    (
                        "00007".to_owned(),
                        CodedAnswer {
                            available: true,
                            count: Some(12),
                        },
                    ),
                    (
                        "00009".to_owned(),
                        CodedAnswer {
                            available: true,
                            count: None,
                        },
                    ),
                ]
                .into(),
            ),
        );
        a.set(
            "services.intractable_diseases",
            Value::Coded(
                (1..=40)
                    .map(|n| {
                        (
                            n.to_string(),
                            CodedAnswer {
                                available: n % 3 != 0,
                                count: None,
                            },
                        )
                    })
                    .collect(),
            ),
        );
        a
    }
}
