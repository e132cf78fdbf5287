//! A facility's answers to an item set: one value per answered item, keyed by the item's full
//! id. Stored as JSON (DESIGN §5: the database never interprets them), read by the validator,
//! the diff, the carry-over and every projection.
//!
//! An unanswered item has no key. Values are typed by what the engine knows (text, number, …),
//! not by item: the validator checks that each value fits its item.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::model::{Condition, Item, ItemId, ItemKind};
use crate::hours::WeeklyHours;

/// One item's answer. JSON: `{"text": "…"}`, `{"number": 19}`, `{"choice": "9"}`, …
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// `text`, `kana`.
    Text(String),
    Number(f64),
    Date(NaiveDate),
    /// `choice` (a code), `yes_no_unknown` (`yes`, `no`, `unknown`).
    Choice(String),
    /// `multi_choice`: codes in the code list's order is not required.
    Choices(Vec<String>),
    Hours(WeeklyHours),
    /// `group`: one set of member answers per row, keyed by the members' full ids.
    Group(Vec<Answers>),
    /// `coded_list`: per code of the list that was answered.
    Coded(BTreeMap<String, CodedAnswer>),
}

impl PartialEq for Value {
    /// Numbers compare by value with NaN equal to itself, so that `diff(a, a)` is always empty.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Number(a), Self::Number(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Self::Text(a), Self::Text(b)) => a == b,
            (Self::Date(a), Self::Date(b)) => a == b,
            (Self::Choice(a), Self::Choice(b)) => a == b,
            (Self::Choices(a), Self::Choices(b)) => a == b,
            (Self::Hours(a), Self::Hours(b)) => a == b,
            (Self::Group(a), Self::Group(b)) => a == b,
            (Self::Coded(a), Self::Coded(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// The variant's name as in JSON, for messages about a value of the wrong kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Number(_) => "number",
            Self::Date(_) => "date",
            Self::Choice(_) => "choice",
            Self::Choices(_) => "choices",
            Self::Hours(_) => "hours",
            Self::Group(_) => "group",
            Self::Coded(_) => "coded",
        }
    }

    /// Whether the value fits the item's type at all (its content is the validator's business).
    pub fn fits(&self, kind: &ItemKind) -> bool {
        matches!(
            (self, kind),
            (Self::Text(_), ItemKind::Text { .. } | ItemKind::Kana { .. })
                | (Self::Number(_), ItemKind::Number { .. })
                | (Self::Date(_), ItemKind::Date)
                | (
                    Self::Choice(_),
                    ItemKind::Choice { .. } | ItemKind::YesNoUnknown
                )
                | (Self::Choices(_), ItemKind::MultiChoice { .. })
                | (Self::Hours(_), ItemKind::Hours { .. })
                | (Self::Group(_), ItemKind::Group { .. })
                | (Self::Coded(_), ItemKind::CodedList { .. })
        )
    }

    /// Nothing was really entered: blank text, no choices, no rows.
    pub fn is_blank(&self) -> bool {
        match self {
            Self::Text(s) | Self::Choice(s) => s.trim().is_empty(),
            Self::Choices(v) => v.is_empty(),
            Self::Group(rows) => rows.is_empty(),
            Self::Coded(m) => m.is_empty(),
            Self::Hours(h) => h.days.is_empty(),
            Self::Number(_) | Self::Date(_) => false,
        }
    }
}

/// The answer for one code of a coded list (DOMAIN §5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodedAnswer {
    /// 対応可能.
    pub available: bool,
    /// 前年度実施件数: only for codes carrying the list's count flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// Answers keyed by full item id. Inside a group row the keys are the members' full ids
/// (`basic.departments.hours`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Answers(pub BTreeMap<ItemId, Value>);

impl Answers {
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.0.get(&ItemId(id.to_owned()))
    }

    pub fn set(&mut self, id: &str, value: Value) {
        self.0.insert(ItemId(id.to_owned()), value);
    }

    pub fn remove(&mut self, id: &str) -> Option<Value> {
        self.0.remove(&ItemId(id.to_owned()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `other`'s answers over these (a report's sections stored apart, read as one).
    pub fn merge(&mut self, other: Answers) {
        self.0.extend(other.0);
    }

    /// The answers to `section`'s items (what one section stores).
    pub fn of_section(&self, section: &super::model::Section) -> Answers {
        Answers(
            section
                .items
                .iter()
                .filter_map(|i| Some((i.id.clone(), self.0.get(&i.id)?.clone())))
                .collect(),
        )
    }
}

/// Where visibility conditions are evaluated: the report's answers and, inside a group, the
/// row being looked at (a member's condition names a sibling).
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub answers: &'a Answers,
    pub row: Option<&'a Answers>,
}

impl<'a> Scope<'a> {
    pub fn top(answers: &'a Answers) -> Self {
        Self { answers, row: None }
    }

    pub fn in_row(self, row: &'a Answers) -> Self {
        Self {
            answers: self.answers,
            row: Some(row),
        }
    }

    fn lookup(&self, id: &ItemId) -> Option<&'a Value> {
        self.row
            .and_then(|r| r.0.get(id))
            .or_else(|| self.answers.0.get(id))
    }

    /// The condition holds: the named item's answer is one of its values.
    pub fn holds(&self, c: &Condition) -> bool {
        match self.lookup(&c.item) {
            Some(Value::Choice(v)) => c.any_of.contains(v),
            Some(Value::Choices(vs)) => vs.iter().any(|v| c.any_of.contains(v)),
            _ => false,
        }
    }

    /// The item is shown (and so validated, required and published).
    pub fn shows(&self, item: &Item) -> bool {
        item.visible_if.as_ref().is_none_or(|c| self.holds(c))
    }
}
