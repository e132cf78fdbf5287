//! Synthetic report answers for facilities that have none (development, the demo and the
//! benchmarks: issue 7 allows publishing synthetic data directly until real reports exist).
//!
//! Deterministic per (seed, facility id). Driven by the item set, not by items: every item type
//! gets a plausible value, and only the items search reads get realistic shapes — 診療科目 with
//! their hours (午前・午後, 木曜・日曜・祝日休診, 第2・第4土曜休診, 夜間診療, 24時間の救急), 外国語,
//! 駐車場, キャッシュレス, バリアフリー and 疾患・治療. Nothing here is ever shown as real data:
//! the demo says its facilities are synthetic.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use teikyo_domain::FacilityKind;
use teikyo_domain::FacilityRecord;
use teikyo_domain::forms::{Answers, Catalogue, CodedAnswer, Item, ItemKind, ItemSet, Value};
use teikyo_domain::hours::{
    ClosedPeriod, Day, DayType, NthWeekday, Slot, Slots, TimeOfDay, WeeklyHours,
};

/// 診療科目 a facility of this kind usually has, with weights (codes of data/codes/specialties).
fn department_pool(kind: FacilityKind) -> &'static [(&'static str, u32)] {
    match kind {
        FacilityKind::DentalClinic => &[("08001", 40), ("08002", 20), ("08003", 15), ("08004", 10)],
        FacilityKind::Hospital => &[
            ("01001", 30),
            ("02001", 20),
            ("02035", 18),
            ("03001", 12),
            ("04001", 8),
            ("05001", 8),
            ("05002", 8),
            ("06001", 8),
            ("07001", 8),
            ("09010", 10),
            ("01021", 8),
            ("01030", 8),
        ],
        _ => &[
            ("01001", 40),
            ("03001", 12),
            ("02035", 10),
            ("05001", 8),
            ("05002", 7),
            ("06001", 8),
            ("04001", 4),
            ("07001", 4),
            ("02001", 5),
            ("01021", 3),
        ],
    }
}

fn t(h: u16, m: u16) -> TimeOfDay {
    TimeOfDay::new(h, m).unwrap_or(TimeOfDay::new(0, 0).expect("00:00"))
}

fn slot(a: (u16, u16), b: (u16, u16)) -> Slot {
    Slot {
        start: t(a.0, a.1),
        end: t(b.0, b.1),
        overnight: false,
        reception: None,
    }
}

fn open(slots: Vec<Slot>) -> Day {
    Slots::new(slots).map_or(Day::Closed, |slots| Day::Open { slots })
}

/// A weekly table as clinics keep them: 午前・午後 on weekdays, a half day on Saturday, closed
/// on Sunday and 祝日, often 木曜休診 or 第2・第4土曜休診, sometimes an evening; 年末年始 closed.
fn week(kind: FacilityKind, department: &str, rng: &mut ChaCha8Rng) -> WeeklyHours {
    let mut h = WeeklyHours::default();
    if department == "09010" {
        // 救急科: around the clock, or nights.
        for d in DayType::ALL {
            let day = if rng.random_bool(0.6) {
                Day::AllDay
            } else {
                open(vec![Slot {
                    start: t(17, 0),
                    end: t(8, 30),
                    overnight: true,
                    reception: None,
                }])
            };
            h.days.insert(d, day);
        }
        return h;
    }
    let morning = slot((9, 0), (12, if rng.random_bool(0.5) { 0 } else { 30 }));
    let evening_end = if rng.random_bool(0.15) { 20 } else { 18 };
    let afternoon = slot(
        (if rng.random_bool(0.5) { 14 } else { 15 }, 0),
        (evening_end, 0),
    );
    let thursday_off = kind != FacilityKind::Hospital && rng.random_bool(0.35);
    let wednesday_half = !thursday_off && rng.random_bool(0.15);
    for d in [
        DayType::Mon,
        DayType::Tue,
        DayType::Wed,
        DayType::Thu,
        DayType::Fri,
    ] {
        let day = match d {
            DayType::Thu if thursday_off => Day::Closed,
            DayType::Wed if wednesday_half => open(vec![morning]),
            _ if kind == FacilityKind::Hospital => open(vec![slot((8, 30), (11, 30))]),
            _ => open(vec![morning, afternoon]),
        };
        h.days.insert(d, day);
    }
    let saturday = if kind == FacilityKind::Hospital && rng.random_bool(0.5) {
        Day::Closed
    } else {
        open(vec![morning])
    };
    h.days.insert(DayType::Sat, saturday);
    let sunday_open = kind == FacilityKind::Pharmacy && rng.random_bool(0.2);
    h.days.insert(
        DayType::Sun,
        if sunday_open {
            open(vec![slot((10, 0), (17, 0))])
        } else {
            Day::Closed
        },
    );
    h.days.insert(
        DayType::Holiday,
        if rng.random_bool(0.05) {
            open(vec![slot((9, 0), (17, 0))])
        } else {
            Day::Closed
        },
    );
    if rng.random_bool(0.12) {
        for week in [2, 4] {
            h.closed_weeks.insert(NthWeekday {
                week,
                day: DayType::Sat,
            });
        }
    }
    let year = chrono::Datelike::year(&crate::forms_cmd::today_in_japan());
    for y in [year - 1, year] {
        if let (Some(from), Some(to)) = (
            chrono::NaiveDate::from_ymd_opt(y, 12, 29),
            chrono::NaiveDate::from_ymd_opt(y + 1, 1, 3),
        ) {
            h.closed_periods.push(ClosedPeriod {
                from,
                to,
                note: "年末年始".into(),
            });
        }
    }
    h
}

fn pharmacy_week(rng: &mut ChaCha8Rng) -> WeeklyHours {
    let mut h = week(FacilityKind::Pharmacy, "", rng);
    // 門前薬局 open through the lunch break.
    if rng.random_bool(0.6) {
        for d in [
            DayType::Mon,
            DayType::Tue,
            DayType::Wed,
            DayType::Thu,
            DayType::Fri,
        ] {
            if matches!(h.days.get(&d), Some(Day::Open { .. })) {
                h.days.insert(d, open(vec![slot((9, 0), (18, 30))]));
            }
        }
    }
    h
}

/// Synthetic answers to `set` for `record`.
pub fn answers(
    catalogue: &Catalogue,
    set: &ItemSet,
    record: &FacilityRecord,
    facility_id: i64,
    seed: u64,
) -> Answers {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (facility_id as u64).wrapping_mul(0x9e37_79b9));
    let mut a = Answers::default();
    for item in set.items() {
        if let Some(v) = value(catalogue, item, record, &mut rng) {
            a.0.insert(item.id.clone(), v);
        }
    }
    a
}

fn suffix(item: &Item) -> &str {
    item.id.as_str().rsplit('.').next().unwrap_or_default()
}

fn phone(record: &FacilityRecord, rng: &mut ChaCha8Rng) -> String {
    let area = u32::from(record.prefecture.number()) + 10;
    format!(
        "0{area}-{:03}-{:04}",
        rng.random_range(200..999),
        rng.random_range(0..9999)
    )
}

fn value(
    catalogue: &Catalogue,
    item: &Item,
    record: &FacilityRecord,
    rng: &mut ChaCha8Rng,
) -> Option<Value> {
    let id = suffix(item);
    let text = |s: &str| Some(Value::Text(s.to_owned()));
    match &item.kind {
        ItemKind::Text { .. } | ItemKind::Kana { .. } => match id {
            "name_official" => text(&record.names.official),
            "name_kana" => text(&record.names.official_kana),
            "name_english" => record.names.english.as_deref().and_then(text),
            "postal_code" => record.postal_code.map(|p| Value::Text(p.to_string())),
            "address" => text(&record.address),
            "phone" => Some(Value::Text(phone(record, rng))),
            "homepage" => record.homepage.as_deref().and_then(text),
            "transport" => Some(Value::Text(format!(
                "最寄り駅から徒歩{}分",
                rng.random_range(1..20)
            ))),
            "cashless_note" => text("クレジットカード、交通系電子マネー、QRコード決済"),
            _ => None,
        },
        ItemKind::Number {
            min, max, integer, ..
        } => {
            let lo = min.unwrap_or(0.0).max(0.0);
            let hi = max.unwrap_or(lo + 50.0).min(lo + 50.0);
            let v = rng.random_range(lo..=hi.max(lo));
            // One decimal, as people write 常勤換算 (2.5人).
            Some(Value::Number(if *integer {
                v.round()
            } else {
                (v * 10.0).round() / 10.0
            }))
        }
        ItemKind::Date => None,
        ItemKind::YesNoUnknown => {
            let yes = match id {
                "has_parking" => 0.7,
                "cashless" => 0.55,
                "accessibility" => 0.5,
                "reservation" => 0.4,
                _ => 0.35,
            };
            let r: f64 = rng.random();
            Some(Value::Choice(
                if r < yes {
                    "yes"
                } else if r < 0.96 {
                    "no"
                } else {
                    "unknown"
                }
                .into(),
            ))
        }
        ItemKind::Choice { codes } => {
            if id == "outpatient_class" {
                // About 1 in 100 are 企業内・施設内診療所 (DOMAIN §4.6).
                return Some(Value::Choice(
                    if rng.random_bool(0.01) { "9" } else { "1" }.into(),
                ));
            }
            let list = catalogue.code_lists.get(codes)?;
            list.codes
                .choose(rng)
                .map(|c| Value::Choice(c.code.clone()))
        }
        ItemKind::MultiChoice { codes } => {
            let list = catalogue.code_lists.get(codes)?;
            let n = rng.random_range(0..=3.min(list.codes.len()));
            let mut chosen: Vec<String> = list
                .codes
                .choose_multiple(rng, n)
                .map(|c| c.code.clone())
                .collect();
            chosen.sort();
            Some(Value::Choices(chosen))
        }
        ItemKind::Hours { .. } => match id {
            "opening_hours" => Some(Value::Hours(pharmacy_week(rng))),
            "working_hours" => Some(Value::Hours(week(record.kind, "", rng))),
            _ => None,
        },
        ItemKind::Group { items, .. } => match id {
            "departments" => {
                let pool = department_pool(record.kind);
                let n = match record.kind {
                    FacilityKind::Hospital => rng.random_range(3..=8),
                    _ => rng.random_range(1..=3),
                };
                let mut codes: Vec<&str> = Vec::new();
                for _ in 0..n * 3 {
                    if codes.len() >= n {
                        break;
                    }
                    if let Ok((code, _)) = pool.choose_weighted(rng, |(_, w)| *w)
                        && !codes.contains(code)
                    {
                        codes.push(code);
                    }
                }
                // One table for the whole clinic, as most clinics have; hospitals vary per 科.
                let shared = week(record.kind, "", rng);
                let rows = codes
                    .into_iter()
                    .map(|code| {
                        let mut row = Answers::default();
                        for m in items {
                            match suffix(m) {
                                "department" => {
                                    row.0.insert(m.id.clone(), Value::Choice(code.into()));
                                }
                                "hours" => {
                                    let h = if code == "09010"
                                        || record.kind == FacilityKind::Hospital
                                    {
                                        week(record.kind, code, rng)
                                    } else {
                                        shared.clone()
                                    };
                                    row.0.insert(m.id.clone(), Value::Hours(h));
                                }
                                _ => {}
                            }
                        }
                        row
                    })
                    .collect();
                Some(Value::Group(rows))
            }
            "languages" => {
                let mut rows = Vec::new();
                for (code, p) in [("en", 0.25), ("zh", 0.06), ("ko", 0.04)] {
                    if rng.random_bool(p) {
                        let mut row = Answers::default();
                        for m in items {
                            match suffix(m) {
                                "language" => {
                                    row.0.insert(m.id.clone(), Value::Choice(code.into()));
                                }
                                "appointment" => {
                                    let list = match &m.kind {
                                        ItemKind::Choice { codes } => {
                                            catalogue.code_lists.get(codes)
                                        }
                                        _ => None,
                                    };
                                    if let Some(c) = list.and_then(|l| l.codes.choose(rng)) {
                                        row.0.insert(m.id.clone(), Value::Choice(c.code.clone()));
                                    }
                                }
                                _ => {}
                            }
                        }
                        rows.push(row);
                    }
                }
                Some(Value::Group(rows))
            }
            _ => None,
        },
        ItemKind::CodedList { codes, .. } => {
            let list = catalogue.code_lists.get(codes)?;
            let n = rng.random_range(0..=12.min(list.codes.len()));
            let chosen: BTreeMap<String, CodedAnswer> = list
                .codes
                .choose_multiple(rng, n)
                .map(|c| {
                    (
                        c.code.clone(),
                        CodedAnswer {
                            available: true,
                            count: None,
                        },
                    )
                })
                .collect();
            Some(Value::Coded(chosen))
        }
    }
}
