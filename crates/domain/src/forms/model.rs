//! The checked item-set model: what the engine renders, validates and compares. Built only by
//! `load` (every reference resolved, every id unique), so code using it never re-checks.

use std::collections::BTreeMap;

use crate::{FacilityKind, Severity};

/// A stable item id within its item set, e.g. `basic.name_official`: answers, diffs and the
/// carry-over from last year's item set are keyed by it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ItemId(pub String);

impl ItemId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id within its section or group: `hours` of `basic.departments.hours`.
    pub fn local(&self) -> &str {
        self.0.rsplit('.').next().unwrap_or_default()
    }
}

/// The answers a `yes_no_unknown` item takes.
pub const YES_NO_UNKNOWN: [&str; 3] = ["yes", "no", "unknown"];

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
    /// The top-level items of every section, in order (group members are inside their group's
    /// kind). Answers are keyed by these ids.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    /// A top-level item (what an answer document's keys name), not a group member.
    pub fn top_item(&self, id: &ItemId) -> Option<&Item> {
        self.items().find(|i| &i.id == id)
    }

    /// Any item by full id, group members included.
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
    /// Top-level items (full ids) whose changes are low-risk for review: a report changing only
    /// these may be confirmed in bulk. Everything else is high-risk (DOMAIN §6).
    pub low_risk: Vec<ItemId>,
    /// Only the items that apply to the item set's kind.
    pub items: Vec<Item>,
    /// Cross-item rules that apply to the item set's kind.
    pub rules: Vec<Rule>,
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
        format: Option<TextFormat>,
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
    /// あり / なし / 不明 (answers `yes`, `no`, `unknown`).
    YesNoUnknown,
    Choice {
        codes: String,
    },
    MultiChoice {
        codes: String,
    },
    /// The weekly hours table (月–日, 祝), per 診療科 or per facility (`crate::hours`).
    Hours {
        /// 診療時間帯 1–3, 開店時間帯 1–4.
        max_slots: u8,
        /// Night hours are normal when this holds (救急科): no 06:00–23:00 warning.
        night_expected_if: Option<Condition>,
    },
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
            Self::Hours { .. } => "hours",
            Self::Group { .. } => "group",
            Self::CodedList { .. } => "coded_list",
        }
    }

    /// What an answer of this type is, for 「…で入力し直してください」.
    pub fn expected(&self) -> &'static str {
        match self {
            Self::Text { .. } => "文字",
            Self::Kana { .. } => "カタカナ",
            Self::Number { .. } => "数値",
            Self::Date => "日付",
            Self::YesNoUnknown => "「あり」「なし」「不明」のいずれか",
            Self::Choice { .. } | Self::MultiChoice { .. } => "一覧からの選択",
            Self::Hours { .. } => "曜日ごとの時間帯",
            Self::Group { .. } => "一覧の行",
            Self::CodedList { .. } => "一覧の項目ごとの回答",
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

/// What a text item holds, checked beyond its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFormat {
    /// 郵便番号, 7 digits.
    PostalCode,
    /// Japanese telephone or FAX number: 10–11 digits with optional hyphens.
    Phone,
    /// http(s) URL, no search-engine redirect links (DOMAIN §10).
    Url,
    Email,
    /// 保険医療機関コード / 薬局コード: a check-digit mismatch is a warning (DOMAIN §9.4).
    InsuranceCode,
}

impl TextFormat {
    pub const ALL: [Self; 5] = [
        Self::PostalCode,
        Self::Phone,
        Self::Url,
        Self::Email,
        Self::InsuranceCode,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Self::PostalCode => "postal_code",
            Self::Phone => "phone",
            Self::Url => "url",
            Self::Email => "email",
            Self::InsuranceCode => "insurance_code",
        }
    }
}

/// A rule across items, declared with its section (`[[rules]]`). The engine knows the rule
/// types; the files say which items they join.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// 郵便番号 ↔ 所在地 against the postal master (「郵便番号と所在地が不整合です。」).
    PostalAddress { postal: ItemId, address: ItemId },
    /// Dates in this order where answered (開設日 ≤ 休止日 ≤ 廃止日).
    DateOrder { items: Vec<ItemId> },
    /// The sum of the visible answered numbers lies in a range (病院 ≥ 20 床).
    SumRange {
        items: Vec<ItemId>,
        min: Option<f64>,
        max: Option<f64>,
        /// What the sum is called in the message: 「病床数」.
        label: String,
        severity: Severity,
    },
    /// The parts add up to no more than the total (療養病床のうち医療保険適用 + 介護保険適用).
    PartsWithin { total: ItemId, parts: Vec<ItemId> },
    /// A member's answer appears once across the rows of its group (a 診療科目 listed twice).
    Unique { group: ItemId, member: ItemId },
}

impl Rule {
    pub fn id(&self) -> &'static str {
        match self {
            Self::PostalAddress { .. } => "postal_address",
            Self::DateOrder { .. } => "date_order",
            Self::SumRange { .. } => "sum_range",
            Self::PartsWithin { .. } => "parts_within",
            Self::Unique { .. } => "unique",
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

    /// The item set a new report of `kind` uses in `fiscal_year`: that 年度's, else the newest
    /// earlier one (an item set is published before its 年度's reports start).
    pub fn current(&self, kind: FacilityKind, fiscal_year: u16) -> Option<&ItemSet> {
        self.item_sets
            .values()
            .filter(|s| s.kind == kind && s.fiscal_year <= fiscal_year)
            .max_by_key(|s| s.fiscal_year)
    }
}
