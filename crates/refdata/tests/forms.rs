//! The embedded item sets with the real code lists and postal master: the validator on a
//! complete hospital report, the seeds' examples, and the properties of validate, diff and
//! carry-over over random answer documents.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use proptest::prelude::*;
use teikyo_domain::forms::{
    ADDRESS_MISMATCH, Answers, COUNT_NOT_APPLICABLE, Catalogue, CodedAnswer, FormsError, Issue,
    ItemKind, ItemSet, Mode, Validator, Value, apply, carry_over, diff,
};
use teikyo_domain::hours::{Day, DayType, Slot, Slots, TimeOfDay, WeeklyHours};
use teikyo_domain::{FacilityKind, Severity};
use teikyo_refdata::forms::{PostalMaster, catalogue, examples};

fn cat() -> &'static Catalogue {
    catalogue().unwrap_or_else(|errors| panic!("{}", FormsError::list(errors)))
}

fn set(kind: FacilityKind) -> &'static ItemSet {
    cat().item_set(2025, kind).expect("2025 item set")
}

fn check(kind: FacilityKind, answers: &Answers, mode: Mode) -> Vec<Issue> {
    Validator::new(cat(), &PostalMaster).validate(set(kind), answers, mode)
}

fn errors(issues: &[Issue]) -> Vec<(&'static str, &str)> {
    issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| (i.code, i.path.as_str()))
        .collect()
}

fn coded(pairs: &[(&str, bool, Option<u32>)]) -> Value {
    Value::Coded(
        pairs
            .iter()
            .map(|(c, available, count)| {
                (
                    (*c).to_owned(),
                    CodedAnswer {
                        available: *available,
                        count: *count,
                    },
                )
            })
            .collect(),
    )
}

#[test]
fn the_embedded_item_sets_load_with_the_real_code_lists() {
    for kind in FacilityKind::ALL {
        assert!(set(kind).item("basic.name_official").is_some());
    }
    assert_eq!(cat().code_lists["specialties"].codes.len(), 127);
    assert_eq!(
        cat().code_lists["designated_intractable_diseases"]
            .codes
            .len(),
        348
    );
}

#[test]
fn a_complete_hospital_report_has_no_issues() {
    let issues = check(
        FacilityKind::Hospital,
        &examples::hospital(),
        Mode::Complete,
    );
    assert_eq!(issues, vec![]);
}

#[test]
fn seed_00009_is_not_counted_and_00007_is() {
    let mut a = examples::hospital();
    // 「00009 : 9 皮膚悪性腫瘍化学療法」: not 前年度実施件数報告対象, so no count is accepted.
    a.set(
        "services.treatments",
        coded(&[("00009", true, Some(3)), ("00007", true, Some(12))]),
    );
    let issues = check(FacilityKind::Hospital, &a, Mode::Complete);
    assert_eq!(
        errors(&issues),
        [("coded.count_not_applicable", "services.treatments.00009")]
    );
    assert_eq!(
        issues[0].message,
        format!("皮膚悪性腫瘍化学療法：{COUNT_NOT_APPLICABLE}")
    );
    assert!(
        issues[0]
            .message
            .ends_with("前年度実施件数報告対象ではないため、実施件数の報告は不要です。")
    );
    // Also refused at 一時保存: a count that cannot exist is never stored.
    assert_eq!(
        errors(&check(FacilityKind::Hospital, &a, Mode::Draft)),
        [("coded.count_not_applicable", "services.treatments.00009")]
    );
    // 「00007 : 7 頸部動脈血栓内膜剥離術」: flagged, the count is accepted, and asked for at 入力完了.
    a.set("services.treatments", coded(&[("00007", true, None)]));
    assert_eq!(
        errors(&check(FacilityKind::Hospital, &a, Mode::Complete)),
        [("coded.count_required", "services.treatments.00007")]
    );
    assert_eq!(errors(&check(FacilityKind::Hospital, &a, Mode::Draft)), []);
    a.set("services.treatments", coded(&[("00007", true, Some(0))]));
    assert_eq!(check(FacilityKind::Hospital, &a, Mode::Complete), vec![]);
}

#[test]
fn an_address_without_its_prefecture_is_the_seeds_mismatch() {
    let mut a = examples::hospital();
    a.set("basic.address", Value::Text("金沢市広坂1丁目1番1号".into()));
    let issues = check(FacilityKind::Hospital, &a, Mode::Complete);
    assert_eq!(errors(&issues), [("address.mismatch", "basic.address")]);
    assert!(
        issues[0]
            .message
            .starts_with("郵便番号と所在地が不整合です。"),
        "{}",
        issues[0].message
    );
    assert!(issues[0].message.len() > ADDRESS_MISMATCH.len(), "says why");
    // 一時保存 keeps it, with the same message as a warning.
    let draft = check(FacilityKind::Hospital, &a, Mode::Draft);
    assert_eq!(draft.len(), 1);
    assert_eq!(draft[0].severity, Severity::Warning);
}

#[test]
fn hidden_items_are_never_required_nor_checked() {
    let mut a = examples::hospital();
    for id in [
        "basic.beds_general",
        "basic.beds_long_term",
        "basic.beds_long_term_medical",
    ] {
        a.remove(id);
    }
    a.remove("basic.departments");
    a.set("basic.has_beds", Value::Choice("no".into()));
    a.set("basic.outpatient_class", Value::Choice("9".into()));
    // A clinic without beds: the beds are hidden, so missing is fine, and the hospital's
    // psychiatric beds (not a clinic item) are unknown to the clinic set.
    for id in [
        "basic.beds_long_term_care",
        "basic.beds_psychiatric",
        "basic.beds_tuberculosis",
        "basic.beds_infectious",
    ] {
        a.remove(id);
    }
    a.set(
        "basic.departments",
        Value::Group(vec![{
            let mut r = Answers::default();
            r.set(
                "basic.departments.department",
                Value::Choice("01001".into()),
            );
            r.set(
                "basic.departments.hours",
                Value::Hours(examples::weekday_hours()),
            );
            r
        }]),
    );
    a.remove("services.intractable_diseases");
    a.remove("outcomes.average_length_of_stay"); // 病院 only
    a.set("outcomes.inpatients", Value::Number(12.0)); // at most 19 beds
    assert_eq!(check(FacilityKind::Clinic, &a, Mode::Complete), vec![]);
    // A hidden item's stale, invalid answer is ignored too.
    a.set("basic.beds_general", Value::Number(-5.0));
    assert_eq!(check(FacilityKind::Clinic, &a, Mode::Complete), vec![]);
    // 「あり」: the beds are shown, required, and checked.
    a.set("basic.has_beds", Value::Choice("yes".into()));
    assert_eq!(
        errors(&check(FacilityKind::Clinic, &a, Mode::Complete)),
        [
            ("number.min", "basic.beds_general"),
            ("required", "basic.beds_long_term"),
            ("sum.min", "basic.beds_general"),
        ]
    );
    a.set("basic.beds_general", Value::Number(19.0));
    a.set("basic.beds_long_term", Value::Number(2.0));
    assert_eq!(
        errors(&check(FacilityKind::Clinic, &a, Mode::Complete)),
        [("sum.max", "basic.beds_general")]
    );
}

#[test]
fn required_items_wait_for_completion() {
    let mut a = Answers::default();
    a.set("basic.name_official", Value::Text("金沢中央病院".into()));
    assert_eq!(errors(&check(FacilityKind::Hospital, &a, Mode::Draft)), []);
    let complete = check(FacilityKind::Hospital, &a, Mode::Complete);
    let required: Vec<&str> = complete
        .iter()
        .filter(|i| i.code == "required")
        .map(|i| i.path.as_str())
        .collect();
    assert!(required.contains(&"basic.name_kana"), "{required:?}");
    assert!(required.contains(&"basic.departments"), "{required:?}");
    assert!(!required.contains(&"basic.name_english"), "optional");
    assert!(!required.contains(&"basic.name_official"), "answered");
    let kana = complete
        .iter()
        .find(|i| i.path == "basic.name_kana")
        .unwrap();
    assert_eq!(kana.message, "正式名称（フリガナ）を入力してください。");
}

#[test]
fn hours_problems_point_at_the_row_day_and_slot() {
    let mut a = examples::hospital();
    let Some(Value::Group(mut rows)) = a.remove("basic.departments") else {
        panic!("departments")
    };
    let t = |s: &str| TimeOfDay::parse(s).unwrap();
    let mut h = examples::weekday_hours();
    h.days.insert(
        DayType::Mon,
        Day::Open {
            slots: Slots::new(vec![
                Slot {
                    start: t("09:00"),
                    end: t("12:00"),
                    overnight: false,
                    reception: None,
                },
                Slot {
                    start: t("11:00"),
                    end: t("00:00"),
                    overnight: false,
                    reception: None,
                },
            ])
            .unwrap(),
        },
    );
    rows[1].set("basic.departments.hours", Value::Hours(h));
    // The same 診療科目 twice.
    rows[2].set(
        "basic.departments.department",
        Value::Choice("01001".into()),
    );
    a.set("basic.departments", Value::Group(rows));
    let issues = check(FacilityKind::Hospital, &a, Mode::Complete);
    assert_eq!(
        errors(&issues),
        [
            (
                "hours.end_before_start",
                "basic.departments[1].hours.mon[1]"
            ),
            ("group.duplicate", "basic.departments[2].department"),
        ]
    );
    assert!(
        issues[0]
            .message
            .starts_with("診療科目（2件目）：診療日・診療時間：月の時間帯2"),
        "{}",
        issues[0].message
    );
    // Row 3 is now 内科, so 24-hour days are still fine (a 24-hour day is explicit), but a
    // night slot would warn where 救急科 would not.
}

#[test]
fn bed_rules_and_date_order() {
    let mut a = examples::hospital();
    a.set("basic.beds_general", Value::Number(10.0));
    a.set("basic.beds_long_term", Value::Number(5.0));
    a.set("basic.beds_long_term_medical", Value::Number(4.0));
    a.set("basic.beds_long_term_care", Value::Number(2.0));
    a.set("basic.beds_infectious", Value::Number(0.0));
    a.set(
        "basic.abolished_on",
        Value::Date(NaiveDate::from_ymd_opt(1980, 3, 31).unwrap()),
    );
    let issues = check(FacilityKind::Hospital, &a, Mode::Complete);
    assert_eq!(
        errors(&issues),
        [
            ("dates.order", "basic.abolished_on"),
            ("sum.min", "basic.beds_general"),
            ("sum.parts", "basic.beds_long_term_medical"),
        ]
    );
    assert!(
        issues[0]
            .message
            .contains("廃止日（1980-03-31）は開設日（1985-04-01）以降")
    );
    assert_eq!(
        issues[1].message,
        "病床数の合計（15）は20以上にしてください。"
    );
}

// ---- properties ----

/// Any value of any shape, with ids drawn from the item set or made up.
fn any_value(ids: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        ".{0,12}".prop_map(Value::Text),
        any::<f64>().prop_map(Value::Number),
        (-30000i32..30000)
            .prop_map(|d| Value::Date(NaiveDate::from_num_days_from_ce_opt(730_000 + d).unwrap())),
        prop_oneof![Just("yes".to_owned()), Just("1".to_owned()), "[0-9]{1,5}"]
            .prop_map(Value::Choice),
        prop::collection::vec("[0-9]{1,5}", 0..4).prop_map(Value::Choices),
        any_hours().prop_map(Value::Hours),
        prop::collection::btree_map(
            prop_oneof![
                Just("00007".to_owned()),
                Just("00009".to_owned()),
                "[0-9]{1,5}"
            ],
            (any::<bool>(), prop::option::of(0u32..100))
                .prop_map(|(available, count)| CodedAnswer { available, count }),
            0..4
        )
        .prop_map(Value::Coded),
    ];
    leaf.prop_recursive(2, 16, 4, move |inner| {
        let ids = ids.clone();
        prop::collection::vec(
            prop::collection::btree_map(prop::sample::select(ids), inner, 0..4),
            0..4,
        )
        .prop_map(|rows| {
            Value::Group(
                rows.into_iter()
                    .map(|m| {
                        Answers(
                            m.into_iter()
                                .map(|(k, v)| (teikyo_domain::forms::ItemId(k), v))
                                .collect(),
                        )
                    })
                    .collect(),
            )
        })
    })
}

fn any_hours() -> impl Strategy<Value = WeeklyHours> {
    let time =
        (0u16..=1440).prop_map(|m| TimeOfDay::new(m / 60, m % 60).unwrap_or(TimeOfDay::MIDNIGHT));
    let slot = (time.clone(), time, any::<bool>()).prop_map(|(start, end, overnight)| Slot {
        start,
        end,
        overnight,
        reception: None,
    });
    let day = prop_oneof![
        Just(Day::Closed),
        Just(Day::AllDay),
        Just(Day::Varies),
        prop::collection::vec(slot, 1..5).prop_map(|s| Day::Open {
            slots: Slots::new(s).unwrap()
        }),
    ];
    prop::collection::btree_map(prop::sample::select(DayType::ALL.to_vec()), day, 0..8).prop_map(
        |days| WeeklyHours {
            days,
            ..WeeklyHours::default()
        },
    )
}

/// Every item id of the set (members included), plus one it does not have.
fn ids_of(set: &ItemSet) -> Vec<String> {
    fn walk(items: &[teikyo_domain::forms::Item], out: &mut Vec<String>) {
        for i in items {
            out.push(i.id.0.clone());
            if let ItemKind::Group { items, .. } = &i.kind {
                walk(items, out);
            }
        }
    }
    let mut out = vec!["basic.no_such_item".to_owned()];
    for s in &set.sections {
        walk(&s.items, &mut out);
    }
    out
}

fn any_answers(kind: FacilityKind) -> impl Strategy<Value = Answers> {
    let ids = ids_of(set(kind));
    prop::collection::btree_map(prop::sample::select(ids.clone()), any_value(ids), 0..12).prop_map(
        |m| {
            Answers(
                m.into_iter()
                    .map(|(k, v)| (teikyo_domain::forms::ItemId(k), v))
                    .collect(),
            )
        },
    )
}

/// Starts from the complete example and replaces some answers at random: close to real
/// documents, so the deeper checks (rules, rows, hours) run too.
fn near_example() -> impl Strategy<Value = Answers> {
    any_answers(FacilityKind::Hospital).prop_map(|changes| {
        let mut a = examples::hospital();
        a.merge(changes);
        a
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_validator_never_panics(a in any_answers(FacilityKind::Clinic), b in near_example()) {
        for mode in [Mode::Draft, Mode::Complete] {
            check(FacilityKind::Clinic, &a, mode);
            check(FacilityKind::Hospital, &b, mode);
            check(FacilityKind::Pharmacy, &a, mode);
        }
    }

    #[test]
    fn diff_of_a_document_with_itself_is_empty(a in near_example()) {
        prop_assert!(diff(set(FacilityKind::Hospital), &a, &a).is_empty());
    }

    #[test]
    fn applying_a_diff_gives_the_other_document(a in near_example(), b in any_answers(FacilityKind::Hospital)) {
        let s = set(FacilityKind::Hospital);
        prop_assert_eq!(apply(&a, &diff(s, &a, &b)), b.clone());
        prop_assert_eq!(apply(&b, &diff(s, &b, &a)), a);
    }

    #[test]
    fn carry_over_into_the_same_item_set_is_the_identity(a in well_typed()) {
        let s = set(FacilityKind::Hospital);
        let carried = carry_over(cat(), s, &a, s);
        prop_assert_eq!(carried.dropped, vec![]);
        prop_assert_eq!(carried.answers, a);
    }
}

/// Answers that fit their items (as every stored document does): the example with some items
/// removed and some numbers and texts changed.
fn well_typed() -> impl Strategy<Value = Answers> {
    let ids: Vec<String> = examples::hospital().0.keys().map(|k| k.0.clone()).collect();
    (
        prop::sample::subsequence(ids.clone(), 0..=ids.len()),
        prop::collection::btree_map(prop::sample::select(ids), (".{0,8}", -5.0f64..500.0), 0..6),
    )
        .prop_map(|(keep, changes)| {
            let full = examples::hospital();
            let mut a = Answers::default();
            for id in keep {
                if let Some(v) = full.get(&id) {
                    a.set(&id, v.clone());
                }
            }
            let mut edits = BTreeMap::new();
            for (id, (text, n)) in changes {
                match a.get(&id) {
                    Some(Value::Text(_)) => {
                        edits.insert(id, Value::Text(text));
                    }
                    Some(Value::Number(_)) => {
                        edits.insert(id, Value::Number(n));
                    }
                    _ => {}
                }
            }
            for (id, v) in edits {
                a.set(&id, v);
            }
            a
        })
}

#[test]
fn carry_over_reports_what_it_could_not_carry() {
    use teikyo_domain::forms::NotCarried;
    let mut a = examples::hospital();
    a.set("basic.outpatient_class", Value::Choice("7".into()));
    // A hospital's answers into the clinic item set: the beds a clinic cannot have are dropped.
    let carried = carry_over(
        cat(),
        set(FacilityKind::Hospital),
        &a,
        set(FacilityKind::Clinic),
    );
    let dropped: Vec<(&str, &NotCarried)> = carried
        .dropped
        .iter()
        .map(|d| (d.item.as_str(), &d.why))
        .collect();
    assert_eq!(
        dropped,
        [
            ("basic.beds_infectious", &NotCarried::NoSuchItem),
            ("basic.beds_psychiatric", &NotCarried::NoSuchItem),
            ("basic.beds_tuberculosis", &NotCarried::NoSuchItem),
            (
                "basic.outpatient_class",
                &NotCarried::CodesDropped {
                    codes: vec!["7".into()]
                }
            ),
            ("outcomes.average_length_of_stay", &NotCarried::NoSuchItem),
        ]
    );
    assert_eq!(
        carried.answers.get("basic.name_official"),
        a.get("basic.name_official")
    );
    assert!(carried.answers.get("basic.outpatient_class").is_none());
}

#[test]
fn diff_names_items_and_sections() {
    let old = examples::hospital();
    let mut new = old.clone();
    new.set("basic.phone", Value::Text("076-220-9999".into()));
    new.remove("basic.fax");
    new.set(
        "basic.suspended_on",
        Value::Date(NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()),
    );
    let d = diff(set(FacilityKind::Hospital), &old, &new);
    let shown: Vec<(&str, &str, Option<&str>)> = d
        .iter()
        .map(|d| (d.item.as_str(), d.label.as_str(), d.section.as_deref()))
        .collect();
    assert_eq!(
        shown,
        [
            ("basic.phone", "案内用の電話番号", Some("1.(1) 基本情報")),
            (
                "basic.fax",
                "案内用のファクシミリの番号",
                Some("1.(1) 基本情報")
            ),
            ("basic.suspended_on", "休止日", Some("1.(1) 基本情報")),
        ]
    );
    assert!(matches!(
        &d[0].change,
        teikyo_domain::forms::Change::Changed { old: Value::Text(o), new: Value::Text(n) }
            if o == "076-220-2111" && n == "076-220-9999"
    ));
    assert!(matches!(
        d[1].change,
        teikyo_domain::forms::Change::Removed { .. }
    ));
    assert!(matches!(
        d[2].change,
        teikyo_domain::forms::Change::Added { .. }
    ));
}

/// FY2026 reuses the 2025 sections and revises two: last year's hospital report carries over
/// whole, and 入力完了 then asks exactly for the new accessibility items.
#[test]
fn last_years_report_carries_into_2026_and_asks_only_for_the_new_items() {
    let y2025 = set(FacilityKind::Hospital);
    let y2026 = cat()
        .item_set(2026, FacilityKind::Hospital)
        .expect("2026 hospital item set");
    let a = examples::hospital();
    let carried = carry_over(cat(), y2025, &a, y2026);
    assert_eq!(carried.dropped, vec![]);
    assert_eq!(carried.answers, a);
    let issues =
        Validator::new(cat(), &PostalMaster).validate(y2026, &carried.answers, Mode::Complete);
    let required: Vec<&str> = issues
        .iter()
        .filter(|i| i.code == "required")
        .map(|i| i.path.as_str())
        .collect();
    assert_eq!(
        required,
        [
            "access.accessible_parking_spaces",
            "access.reservation_by_phone",
            "access.reservation_by_email",
            "amenities.family_attendance",
            "amenities.disability_training",
            "amenities.sign_language",
            "amenities.written_conversation",
            "amenities.braille_proxy_writing",
        ]
    );
    assert_eq!(issues.len(), required.len(), "{issues:#?}");
}

#[test]
fn only_contact_details_hours_and_access_are_low_risk() {
    let set = set(FacilityKind::Hospital);
    let before = examples::hospital();
    let changed = |id: &str, v: Value| {
        let mut a = before.clone();
        a.set(id, v);
        teikyo_domain::forms::diff(set, &before, &a)
    };
    assert!(teikyo_domain::forms::is_low_risk(set, &[]));
    let phone = changed("basic.phone", Value::Text("076-000-0000".into()));
    assert_eq!(phone.len(), 1);
    assert!(teikyo_domain::forms::is_low_risk(set, &phone));
    let parking = changed("access.parking_spaces", Value::Number(99.0));
    assert!(teikyo_domain::forms::is_low_risk(set, &parking));
    // 病床 and 診療科目 are not.
    let beds = changed("basic.beds_general", Value::Number(1.0));
    assert!(!teikyo_domain::forms::is_low_risk(set, &beds));
    let both = [phone, beds].concat();
    assert!(!teikyo_domain::forms::is_low_risk(set, &both));
}
