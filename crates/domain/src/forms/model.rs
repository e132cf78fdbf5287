//! The checked item-set model: what the engine renders, validates and compares. Built only by
//! `load` (every reference resolved, every id unique), so code using it never re-checks.

use std::collections::BTreeMap;

use crate::FacilityKind;

/// A stable item id within its item set, e.g. `basic.name_official`: answers, diffs and the
/// carry-over from last year's item set are keyed by it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemId(pub String);

impl ItemId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ItemId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One fiscal year's items for one facility kind (DOMAIN §5.5: immutable once in use; a
/// report pins the one it was entered against).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemSet {
    /// `2025-hospital`.
    pub id: String,
    /// 年度, e.g. 2025 for 令和7年度.
    pub fiscal_year: u16,
    pub kind: FacilityKind,
    pub sections: Vec<Section>,
}

impl ItemSet {
    /// Every item of the set that applies to its kind, depth first (group members after their
    /// group).
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        fn find<'a>(items: &'a [Item], id: &str) -> Option<&'a Item> {
            items.iter().find_map(|i| {
                if i.id.as_str() == id {
                    return Some(i);
                }
                match &i.kind {
                    ItemKind::Group { items, .. } => find(items, id),
                    _ => None,
                }
            })
        }
        self.sections.iter().find_map(|s| find(&s.items, id))
    }
}

/// A section as G-MIS numbers it (「1.(1) 基本情報」): the unit of 一時保存 and 入力完了.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Stable, e.g. `basic`.
    pub id: String,
    /// G-MIS numbering, e.g. `1.(1)`.
    pub number: String,
    pub title: String,
    /// 一括入力完了 may mark this section 入力完了 (DOMAIN §4.4); the sections it must skip say so.
    pub bulk_complete: bool,
    /// Only the items that apply to the item set's kind.
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: ItemId,
    pub label: String,
    /// 用語解説 shown beside the field.
    pub help: Option<String>,
    pub kind: ItemKind,
    /// Required when visible; a hidden item is never required.
    pub required: bool,
    /// Shown (and validated) only when this holds.
    pub visible_if: Option<Condition>,
}

/// Only when another item's answer is one of `any_of` (a choice code, or `yes`/`no`/`unknown`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub item: ItemId,
    pub any_of: Vec<String>,
}

/// What the engine knows: types, never items (DESIGN §2.1).
#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    Text {
        max_length: u32,
        multiline: bool,
    },
    /// 全角カタカナ (フリガナ).
    Kana {
        max_length: u32,
    },
    Number {
        unit: Option<String>,
        min: Option<f64>,
        max: Option<f64>,
        integer: bool,
    },
    Date,
    /// はい / いいえ / 不明.
    YesNoUnknown,
    Choice {
        codes: String,
    },
    MultiChoice {
        codes: String,
    },
    /// The weekly hours table (月–日, 祝), per 診療科 or per facility.
    Hours,
    /// Repeated members, e.g. 診療科目 × 診療時間帯 1–3.
    Group {
        min: u32,
        max: u32,
        items: Vec<Item>,
    },
    /// A code list answered per code, with a count for the codes carrying `count_flag`
    /// (前年度実施件数報告対象).
    CodedList {
        codes: String,
        count_flag: Option<String>,
    },
}

impl ItemKind {
    /// The id used in the files and the JSON Schema.
    pub fn id(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Kana { .. } => "kana",
            Self::Number { .. } => "number",
            Self::Date => "date",
            Self::YesNoUnknown => "yes_no_unknown",
            Self::Choice { .. } => "choice",
            Self::MultiChoice { .. } => "multi_choice",
            Self::Hours => "hours",
            Self::Group { .. } => "group",
            Self::CodedList { .. } => "coded_list",
        }
    }

    /// The code list the item draws from, if any.
    pub fn code_list(&self) -> Option<&str> {
        match self {
            Self::Choice { codes }
            | Self::MultiChoice { codes }
            | Self::CodedList { codes, .. } => Some(codes),
            _ => None,
        }
    }
}

/// A code list: in `forms/codes/` (with `provisional` where no official list is known), or
/// from `data/` (診療科目, 指定難病), registered by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeList {
    pub id: String,
    pub name: String,
    /// No official list is known; this one is Teikyo's, listed in `forms/README.md`.
    pub provisional: bool,
    pub source: String,
    pub codes: Vec<Code>,
}

impl CodeList {
    pub fn get(&self, code: &str) -> Option<&Code> {
        self.codes.iter().find(|c| c.code == code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub code: String,
    pub label: String,
    /// E.g. `prior_fy_count` (前年度実施件数報告対象).
    pub flags: Vec<String>,
}

/// Everything loaded: item sets by id, code lists by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalogue {
    pub item_sets: BTreeMap<String, ItemSet>,
    pub code_lists: BTreeMap<String, CodeList>,
}

impl Catalogue {
    pub fn item_set(&self, fiscal_year: u16, kind: FacilityKind) -> Option<&ItemSet> {
        self.item_sets
            .values()
            .find(|s| s.fiscal_year == fiscal_year && s.kind == kind)
    }
}
