//! Comparing two answer sets item by item (差異表示: what a report changes against the last
//! confirmed one) and carrying last year's answers into this year's item set.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::answers::{Answers, Value};
use super::model::{Catalogue, Item, ItemId, ItemKind, ItemSet};

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Added { new: Value },
    Removed { old: Value },
    Changed { old: Value, new: Value },
}

/// One item's difference, with its label for the screen (the id when the set lacks the item).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemDiff {
    pub item: ItemId,
    pub label: String,
    /// The section's G-MIS number and title: 「1.(1) 基本情報」.
    pub section: Option<String>,
    #[serde(flatten)]
    pub change: Change,
}

/// The items whose answers differ between `old` and `new`, in item-set order (then any ids the
/// set does not know, by id).
pub fn diff(set: &ItemSet, old: &Answers, new: &Answers) -> Vec<ItemDiff> {
    let mut ids: Vec<(Option<&Item>, Option<String>, &ItemId)> = Vec::new();
    let mut known = BTreeSet::new();
    for s in &set.sections {
        for item in &s.items {
            if known.insert(&item.id) {
                ids.push((
                    Some(item),
                    Some(format!("{} {}", s.number, s.title)),
                    &item.id,
                ));
            }
        }
    }
    let unknown: BTreeSet<&ItemId> = old
        .0
        .keys()
        .chain(new.0.keys())
        .filter(|id| !known.contains(id))
        .collect();
    ids.extend(unknown.into_iter().map(|id| (None, None, id)));
    ids.into_iter()
        .filter_map(|(item, section, id)| {
            let change = match (old.0.get(id), new.0.get(id)) {
                (None, None) => return None,
                (Some(a), Some(b)) if a == b => return None,
                (None, Some(b)) => Change::Added { new: b.clone() },
                (Some(a), None) => Change::Removed { old: a.clone() },
                (Some(a), Some(b)) => Change::Changed {
                    old: a.clone(),
                    new: b.clone(),
                },
            };
            Some(ItemDiff {
                item: id.clone(),
                label: item.map_or_else(|| id.0.clone(), |i| i.label.clone()),
                section,
                change,
            })
        })
        .collect()
}

/// Whether a reviewer may confirm these differences in bulk: every changed item is one its
/// section marks low-risk (`low_risk_items`). An item the set does not know is high-risk; no
/// difference at all is low-risk.
pub fn is_low_risk(set: &ItemSet, diffs: &[ItemDiff]) -> bool {
    diffs
        .iter()
        .all(|d| set.sections.iter().any(|s| s.low_risk.contains(&d.item)))
}

/// `answers` with the differences applied: `apply(a, &diff(set, a, b)) == b`.
pub fn apply(answers: &Answers, diffs: &[ItemDiff]) -> Answers {
    let mut out = answers.clone();
    for d in diffs {
        match &d.change {
            Change::Added { new } | Change::Changed { new, .. } => {
                out.0.insert(d.item.clone(), new.clone());
            }
            Change::Removed { .. } => {
                out.0.remove(&d.item);
            }
        }
    }
    out
}

/// Why an answer was not carried into the new item set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotCarried {
    /// The new item set has no such item.
    NoSuchItem,
    /// The item's type changed (e.g. from free text to a choice).
    TypeChanged {
        from: &'static str,
        to: &'static str,
    },
    /// Codes the new code list no longer has; the rest of the answer was carried.
    CodesDropped { codes: Vec<String> },
    /// The answer did not fit its own item (a stored value of another type).
    Unreadable,
}

/// What could not be carried, per item (and row, in a group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dropped {
    pub item: ItemId,
    pub label: String,
    #[serde(flatten)]
    pub why: NotCarried,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CarryOver {
    pub answers: Answers,
    pub dropped: Vec<Dropped>,
}

/// Last year's answers (to `from`) as answers to `to`, by item id. A value that still fits its
/// item's type is carried as it is (a tighter length or range is the validator's to report);
/// choices keep the codes the new list still has; anything else is reported in `dropped`
/// rather than silently lost.
pub fn carry_over(
    catalogue: &Catalogue,
    from: &ItemSet,
    answers: &Answers,
    to: &ItemSet,
) -> CarryOver {
    let mut out = CarryOver {
        answers: Answers::default(),
        dropped: Vec::new(),
    };
    // Answers are keyed by top-level ids; a member id at the top is not an answer to anything.
    for (id, value) in &answers.0 {
        let old = from.top_item(id);
        let label = old.map_or_else(|| id.0.clone(), |i| i.label.clone());
        let Some(new) = to.top_item(id) else {
            out.dropped.push(Dropped {
                item: id.clone(),
                label,
                why: NotCarried::NoSuchItem,
            });
            continue;
        };
        if let Some(v) = carry_value(catalogue, old, new, value, &mut out.dropped) {
            out.answers.0.insert(id.clone(), v);
        }
    }
    out
}

/// One value into its new item; `None` when nothing of it can be kept (reported).
fn carry_value(
    catalogue: &Catalogue,
    old: Option<&Item>,
    new: &Item,
    value: &Value,
    dropped: &mut Vec<Dropped>,
) -> Option<Value> {
    let note = |dropped: &mut Vec<Dropped>, why| {
        dropped.push(Dropped {
            item: new.id.clone(),
            label: new.label.clone(),
            why,
        });
    };
    let drop = |dropped: &mut Vec<Dropped>, why| {
        note(dropped, why);
        None
    };
    if !value.fits(&new.kind) {
        let from = old.map_or("?", |o| o.kind.id());
        return if old.is_some_and(|o| value.fits(&o.kind)) {
            drop(
                dropped,
                NotCarried::TypeChanged {
                    from,
                    to: new.kind.id(),
                },
            )
        } else {
            drop(dropped, NotCarried::Unreadable)
        };
    }
    let list = new
        .kind
        .code_list()
        .and_then(|l| catalogue.code_lists.get(l));
    let has = |code: &str| list.is_none_or(|l| l.get(code).is_some());
    match (value, &new.kind) {
        (Value::Choice(c), ItemKind::Choice { .. }) if !has(c) => drop(
            dropped,
            NotCarried::CodesDropped {
                codes: vec![c.clone()],
            },
        ),
        (Value::Choices(cs), ItemKind::MultiChoice { .. }) => {
            let (keep, gone): (Vec<String>, Vec<String>) = cs.iter().cloned().partition(|c| has(c));
            if !gone.is_empty() {
                note(dropped, NotCarried::CodesDropped { codes: gone });
            }
            Some(Value::Choices(keep))
        }
        (Value::Coded(m), ItemKind::CodedList { .. }) => {
            let (keep, gone): (BTreeMap<_, _>, BTreeMap<_, _>) = m
                .iter()
                .map(|(c, a)| (c.clone(), a.clone()))
                .partition(|(c, _)| has(c));
            if !gone.is_empty() {
                note(
                    dropped,
                    NotCarried::CodesDropped {
                        codes: gone.into_keys().collect(),
                    },
                );
            }
            Some(Value::Coded(keep))
        }
        (Value::Group(rows), ItemKind::Group { items, .. }) => {
            let old_members = match old.map(|o| &o.kind) {
                Some(ItemKind::Group { items, .. }) => Some(items),
                _ => None,
            };
            let rows = rows
                .iter()
                .map(|row| {
                    let mut carried = Answers::default();
                    for (id, v) in &row.0 {
                        let old_member = old_members.and_then(|m| m.iter().find(|i| &i.id == id));
                        match items.iter().find(|i| &i.id == id) {
                            None => {
                                dropped.push(Dropped {
                                    item: id.clone(),
                                    label: old_member
                                        .map_or_else(|| id.0.clone(), |i| i.label.clone()),
                                    why: NotCarried::NoSuchItem,
                                });
                            }
                            Some(member) => {
                                if let Some(v) =
                                    carry_value(catalogue, old_member, member, v, dropped)
                                {
                                    carried.0.insert(id.clone(), v);
                                }
                            }
                        }
                    }
                    carried
                })
                .collect();
            Some(Value::Group(rows))
        }
        _ => Some(value.clone()),
    }
}
