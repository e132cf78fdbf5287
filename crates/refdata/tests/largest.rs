//! The largest report of each item set (`forms::largest`): every item answered at the limit its
//! set gives, valid at 入力完了; and the revision the 差異表示 benchmark compares it with changes
//! a large share of items, exactly the ones it says, and stays valid.

use teikyo_domain::forms::{
    Answers, Catalogue, FormsError, Item, ItemId, ItemKind, ItemSet, Mode, Rule, Scope, Validator,
    Value, diff,
};
use teikyo_domain::hours::{Day, DayType};
use teikyo_domain::{FacilityKind, Severity};
use teikyo_refdata::forms::largest::{LEFT_BLANK, answers, revise};
use teikyo_refdata::forms::{PostalMaster, catalogue};

fn cat() -> &'static Catalogue {
    catalogue().unwrap_or_else(|errors| panic!("{}", FormsError::list(errors)))
}

/// Items whose number a rule may lower below the item's maximum.
fn ruled(set: &ItemSet, item: &Item) -> bool {
    set.sections.iter().flat_map(|s| &s.rules).any(|r| match r {
        Rule::SumRange { items, max, .. } => max.is_some() && items.contains(&item.id),
        Rule::PartsWithin { parts, .. } => parts.contains(&item.id),
        _ => false,
    })
}

/// The rows a group gets: its maximum, or fewer when a `unique` member has fewer codes.
fn expected_rows(set: &ItemSet, max: u32, members: &[Item]) -> usize {
    let unique = |m: &Item| {
        set.sections
            .iter()
            .flat_map(|s| &s.rules)
            .any(|r| matches!(r, Rule::Unique { member, .. } if member == &m.id))
    };
    members
        .iter()
        .filter(|m| unique(m))
        .filter_map(|m| m.kind.code_list())
        .map(|l| cat().code_lists[l].codes.len())
        .fold(max as usize, usize::min)
}

/// `value` is the most `item` takes; `scope` says which members of a row are shown.
fn assert_at_limit(set: &ItemSet, item: &Item, value: &Value, scope: Scope<'_>) {
    let id = &item.id;
    match (&item.kind, value) {
        (
            ItemKind::Text {
                max_length,
                format: None,
                ..
            }
            | ItemKind::Kana { max_length },
            Value::Text(t),
        ) => assert_eq!(t.chars().count(), *max_length as usize, "{id}"),
        (ItemKind::Text { .. }, Value::Text(t)) => assert!(!t.is_empty(), "{id}"),
        (ItemKind::Number { max, .. }, Value::Number(n)) => {
            let max = max.unwrap_or(f64::MAX);
            if ruled(set, item) {
                assert!(*n <= max, "{id}: {n}");
            } else {
                assert_eq!(*n, max, "{id}");
            }
        }
        (ItemKind::MultiChoice { codes }, Value::Choices(cs)) => {
            assert_eq!(cs.len(), cat().code_lists[codes].codes.len(), "{id}")
        }
        (ItemKind::CodedList { codes, count_flag }, Value::Coded(m)) => {
            let list = &cat().code_lists[codes];
            assert_eq!(m.len(), list.codes.len(), "{id}");
            for c in &list.codes {
                let a = &m[&c.code];
                let counted = count_flag.as_ref().is_some_and(|f| c.flags.contains(f));
                assert!(
                    a.available && a.count.is_some() == counted,
                    "{id} {}",
                    c.code
                );
            }
        }
        (ItemKind::Hours { max_slots, .. }, Value::Hours(h)) => {
            for d in DayType::ALL {
                match h.days.get(&d) {
                    Some(Day::Open { slots }) => {
                        assert_eq!(
                            slots.as_slice().len(),
                            usize::from(*max_slots),
                            "{id} {d:?}"
                        )
                    }
                    other => panic!("{id} {d:?}: {other:?}"),
                }
            }
            assert!(!h.closed_weeks.is_empty() && !h.closed_periods.is_empty());
        }
        (ItemKind::Group { max, items, .. }, Value::Group(rows)) => {
            assert_eq!(rows.len(), expected_rows(set, *max, items), "{id}");
            for row in rows {
                let scope = scope.in_row(row);
                for m in items {
                    match row.0.get(&m.id) {
                        Some(v) => assert_at_limit(set, m, v, scope),
                        None => assert!(!scope.shows(m), "{} unanswered in a row", m.id),
                    }
                }
            }
        }
        (ItemKind::Date | ItemKind::YesNoUnknown | ItemKind::Choice { .. }, _) => {}
        (kind, v) => panic!("{id}: {} answered with {}", kind.id(), v.kind()),
    }
}

#[test]
fn every_item_of_every_set_is_answered_at_its_limit_and_valid() {
    for set in cat().item_sets.values() {
        let a = answers(cat(), set);
        let issues = Validator::new(cat(), &PostalMaster).validate(set, &a, Mode::Complete);
        assert!(issues.is_empty(), "{}: {issues:#?}", set.id);
        for item in set.items() {
            match a.0.get(&item.id) {
                Some(v) => assert_at_limit(set, item, v, Scope::top(&a)),
                None => assert!(
                    LEFT_BLANK.contains(&item.id.as_str()) || !Scope::top(&a).shows(item),
                    "{}: {} unanswered",
                    set.id,
                    item.id
                ),
            }
        }
    }
}

#[test]
fn the_largest_hospital_is_large() {
    let set = cat()
        .item_set(2026, FacilityKind::Hospital)
        .expect("2026 hospital");
    let a = answers(cat(), set);
    let rows = |id: &str| match a.get(id) {
        Some(Value::Group(rows)) => rows.len(),
        other => panic!("{id}: {other:?}"),
    };
    let codes = |id: &str| match a.get(id) {
        Some(Value::Coded(m)) => m.len(),
        other => panic!("{id}: {other:?}"),
    };
    assert_eq!(rows("basic.departments"), 60);
    assert_eq!(codes("services.intractable_diseases"), 348);
    assert_eq!(codes("services.treatments"), 2);
    // Every 診療科目 has its hours and the 「その他」 ones their names.
    let Some(Value::Group(depts)) = a.get("basic.departments") else {
        unreachable!()
    };
    let named = depts
        .iter()
        .filter(|r| r.get("basic.departments.department_name").is_some())
        .count();
    assert!(named > 0);
    assert!(
        depts
            .iter()
            .all(|r| r.get("basic.departments.hours").is_some())
    );
    let json = serde_json::to_string(&a).expect("json");
    assert!(json.len() > 100_000, "{} bytes", json.len());
}

fn answered(set: &ItemSet, a: &Answers) -> usize {
    set.items().filter(|i| a.0.contains_key(&i.id)).count()
}

#[test]
fn the_revision_changes_a_large_share_exactly_where_it_says_and_stays_valid() {
    for set in cat()
        .item_sets
        .values()
        .filter(|s| s.kind == FacilityKind::Hospital)
    {
        let before = answers(cat(), set);
        let r = revise(cat(), set, &before);
        let issues: Vec<_> = Validator::new(cat(), &PostalMaster)
            .validate(set, &r.answers, Mode::Complete)
            .into_iter()
            .filter(|i| i.severity == Severity::Error)
            .collect();
        assert!(issues.is_empty(), "{}: {issues:#?}", set.id);
        for item in set.items() {
            let differs = before.0.get(&item.id) != r.answers.0.get(&item.id);
            assert_eq!(
                differs,
                r.changed.contains(&item.id),
                "{}: {}",
                set.id,
                item.id
            );
        }
        // A large share, of every kind of change.
        let n = answered(set, &before);
        assert!(r.changed.len() * 4 >= n, "{} of {n}", r.changed.len());
        for id in [
            "basic.departments",
            "services.intractable_diseases",
            "services.treatments",
        ] {
            assert!(r.changed.iter().any(|c| c.as_str() == id), "{id}");
        }
        assert!(before.0.keys().any(|k| !r.answers.0.contains_key(k)));
        // The domain's diff sees the same items.
        let found: Vec<_> = diff(set, &before, &r.answers)
            .into_iter()
            .map(|d| d.item)
            .collect();
        assert_eq!(found, in_set_order(set, r.changed.iter()));
    }
}

/// Ids in item-set order, as `diff` lists them.
fn in_set_order<'a>(set: &ItemSet, ids: impl Iterator<Item = &'a ItemId>) -> Vec<ItemId> {
    let mut ids: Vec<ItemId> = ids.cloned().collect();
    ids.sort_by_key(|id| set.items().position(|i| &i.id == id));
    ids
}
