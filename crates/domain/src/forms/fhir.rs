//! An item set as a FHIR R4 `Questionnaire` (DESIGN §2.1: exportable as FHIR Questionnaire).
//!
//! DESIGN §4: own serde structs for the few elements emitted rather than a FHIR crate, because
//! the FHIR model crates are far too heavy for the binary; the app's tests parse every export
//! with fhirbolt's strict R4 deserialiser, so a misspelt or misplaced element fails there.
//!
//! The mapping (forms/README.md, "FHIR Questionnaire", has the table):
//! - a section is a `group` (linkId = section id, `prefix` = the G-MIS number, `text` = title);
//! - every item keeps its full id as linkId (`<section>.<item>[.<member>]`), so a
//!   QuestionnaireResponse maps back onto [`Answers`](super::Answers) key by key; the few
//!   structural children this module adds (help texts, the hours table's parts, the coded lists'
//!   codes) extend the owner's linkId with parts an item id cannot contain or cannot reach;
//! - `visible_if` is `enableWhen` (`=` on each value, `enableBehavior: any`), which means the
//!   same as `Scope::holds` also for multi-choice targets (FHIR: any answer may match) and for a
//!   group member naming a sibling (FHIR: the nearest occurrence, i.e. the same row);
//! - what a Questionnaire cannot say is left out and listed in the README, never approximated:
//!   the cross-item rules, `night_expected_if` (it only silences a warning), `bulk_complete`,
//!   and the text formats beyond a human hint (`entryFormat`), because the validator folds what
//!   people type (全角, hyphens) and a regex would refuse answers Teikyo accepts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;

use super::model::{
    Catalogue, CodeList, Condition, Item as FormItem, ItemId, ItemKind, ItemSet, Section,
    TextFormat, YES_NO_UNKNOWN,
};
use crate::FacilityKind;
use crate::hours::{DayType, NOTE_MAX_CHARS};

const EXT_MIN_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/minValue";
const EXT_MAX_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/maxValue";
const EXT_UNIT: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit";
const EXT_ITEM_CONTROL: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl";
const EXT_MIN_OCCURS: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-minOccurs";
const EXT_MAX_OCCURS: &str = "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs";
const EXT_ENTRY_FORMAT: &str = "http://hl7.org/fhir/StructureDefinition/entryFormat";
const ITEM_CONTROL_SYSTEM: &str = "http://hl7.org/fhir/questionnaire-item-control";
/// FHIR's own code system for weekdays; its codes are the hours table's (`mon` … `sun`).
const DAYS_OF_WEEK_SYSTEM: &str = "http://hl7.org/fhir/days-of-week";

/// What the model does not know about where the Questionnaire will live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// The canonical base without a trailing `/`, e.g. `https://iryo.pref.example.lg.jp/fhir`:
    /// `Questionnaire.url` is `<base>/Questionnaire/<id>`, a code list's system
    /// `<base>/CodeSystem/<list id>`.
    pub base_url: String,
    /// `Questionnaire.date`; the model keeps no change date, so the caller says (the CLI: today).
    pub date: Option<NaiveDate>,
}

/// Why an item set could not be exported. The loader's checks make these impossible for a
/// loaded catalogue; they exist because the function takes any set and catalogue, and an
/// invalid Questionnaire must never be written silently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    #[error(
        "{set}: linkId「{link_id}」が重複しています（Questionnaire の中で一意でなければなりません）"
    )]
    DuplicateLinkId { set: String, link_id: String },
    #[error("{set}: 項目「{item}」の表示条件の項目「{target}」がありません")]
    MissingConditionTarget {
        set: String,
        item: String,
        target: String,
    },
    #[error("{set}: 項目「{item}」の表示条件の項目「{target}」は選択式ではありません")]
    ConditionTargetNotChoice {
        set: String,
        item: String,
        target: String,
    },
    #[error("{set}: 項目「{item}」の表示条件に値がありません（常に非表示の項目は表せません）")]
    EmptyCondition { set: String, item: String },
    #[error("{set}: 項目「{item}」のコード表「{list}」がありません")]
    UnknownCodeList {
        set: String,
        item: String,
        list: String,
    },
}

/// `Questionnaire` (R4), only the elements Teikyo fills.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Questionnaire {
    pub resource_type: &'static str,
    /// FHIR ids allow `[A-Za-z0-9-.]` only: `2025-dental-clinic` for item set
    /// `2025-dental_clinic`.
    pub id: String,
    /// One ValueSet per code list a choice item draws from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contained: Vec<ValueSet>,
    pub url: String,
    /// The fiscal year: an item set never changes once in use (DOMAIN §5.5).
    pub version: String,
    /// Machine name, `Teikyo2025DentalClinic` (FHIR: starts upper case, letters and digits).
    pub name: String,
    /// 「令和7年度 病院 医療機能情報 報告」.
    pub title: String,
    pub status: PublicationStatus,
    pub subject_type: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    pub description: String,
    pub item: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PublicationStatus {
    Draft,
    Active,
}

/// `Questionnaire.item`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    pub link_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub code: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(rename = "type")]
    pub kind: ItemType,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub enable_when: Vec<EnableWhen>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_behavior: Option<EnableBehavior>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeats: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_value_set: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answer_option: Vec<AnswerOption>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub item: Vec<Item>,
}

impl Item {
    fn new(link_id: impl Into<String>, kind: ItemType, text: impl Into<String>) -> Self {
        Self {
            extension: Vec::new(),
            link_id: link_id.into(),
            code: Vec::new(),
            prefix: None,
            text: Some(text.into()),
            kind,
            enable_when: Vec::new(),
            enable_behavior: None,
            required: false,
            repeats: false,
            max_length: None,
            answer_value_set: None,
            answer_option: Vec::new(),
            item: Vec::new(),
        }
    }

    fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    fn with_extension(mut self, url: &str, value: Value) -> Self {
        self.extension.push(Extension {
            url: url.to_owned(),
            value,
        });
        self
    }

    fn enabled_when(mut self, question: &str, answer: Answer) -> Self {
        self.enable_when.push(EnableWhen {
            question: question.to_owned(),
            operator: "=",
            answer,
        });
        self
    }

    /// This item and all below it, depth first.
    pub fn walk(&self) -> Box<dyn Iterator<Item = &Item> + '_> {
        Box::new(std::iter::once(self).chain(self.item.iter().flat_map(Item::walk)))
    }
}

/// `Questionnaire.item.type`, the ones used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemType {
    Group,
    Display,
    Boolean,
    Decimal,
    Integer,
    Date,
    Time,
    String,
    Text,
    Url,
    Choice,
}

impl ItemType {
    /// Answered by the person (not a group, not a display text).
    pub fn is_question(self) -> bool {
        !matches!(self, Self::Group | Self::Display)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extension {
    pub url: String,
    #[serde(flatten)]
    pub value: Value,
}

/// `value[x]` of an extension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Value {
    #[serde(rename = "valueInteger")]
    Integer(i32),
    #[serde(rename = "valueDecimal")]
    Decimal(f64),
    #[serde(rename = "valueString")]
    String(String),
    #[serde(rename = "valueCoding")]
    Coding(Coding),
    #[serde(rename = "valueCodeableConcept")]
    CodeableConcept(CodeableConcept),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Coding {
    fn new(system: &str, code: &str, display: Option<&str>) -> Self {
        Self {
            system: Some(system.to_owned()),
            code: Some(code.to_owned()),
            display: display.map(str::to_owned),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeableConcept {
    pub coding: Vec<Coding>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnableWhen {
    /// The linkId (= full item id) of the question the item depends on.
    pub question: String,
    pub operator: &'static str,
    #[serde(flatten)]
    pub answer: Answer,
}

/// `enableWhen.answer[x]`, the ones used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Answer {
    #[serde(rename = "answerCoding")]
    Coding(Coding),
    #[serde(rename = "answerBoolean")]
    Boolean(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnableBehavior {
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerOption {
    pub value_coding: Coding,
}

/// A contained `ValueSet`: one code list, codes and labels enumerated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueSet {
    pub resource_type: &'static str,
    pub id: String,
    /// The list's Japanese name.
    pub title: String,
    /// `draft` for a provisional list (no official list known, forms/README.md), else `active`.
    pub status: PublicationStatus,
    pub description: String,
    pub compose: Compose,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compose {
    pub include: Vec<Include>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Include {
    pub system: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub concept: Vec<Concept>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Concept {
    pub code: String,
    pub display: String,
}

impl Questionnaire {
    /// Every item, depth first.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.item.iter().flat_map(Item::walk)
    }

    /// Every linkId, depth first.
    pub fn link_ids(&self) -> impl Iterator<Item = &str> {
        self.items().map(|i| i.link_id.as_str())
    }

    /// An item by linkId.
    pub fn find(&self, link_id: &str) -> Option<&Item> {
        self.items().find(|i| i.link_id == link_id)
    }

    /// How many questions a person answers (groups and display texts not counted).
    pub fn question_count(&self) -> usize {
        self.items().filter(|i| i.kind.is_question()).count()
    }
}

/// A fiscal year in the Japanese era: 令和 from FY2019 (令和元年度), else 平成.
pub fn fiscal_year_label(fiscal_year: u16) -> String {
    match fiscal_year {
        2019 => "令和元年度".to_owned(),
        y if y > 2019 => format!("令和{}年度", y - 2018),
        y if y > 1989 => format!("平成{}年度", y - 1988),
        y => format!("{y}年度"),
    }
}

/// The Questionnaire's title: 「令和7年度 病院 医療機能情報 報告」, 「令和7年度 薬局 薬局機能情報 報告」.
pub fn title(set: &ItemSet) -> String {
    let program = match set.kind {
        FacilityKind::Pharmacy => "薬局機能情報",
        _ => "医療機能情報",
    };
    format!(
        "{} {} {program} 報告",
        fiscal_year_label(set.fiscal_year),
        set.kind.name()
    )
}

/// The item set as a FHIR R4 Questionnaire. Fails (with every problem) rather than emit an
/// invalid one.
pub fn questionnaire(
    catalogue: &Catalogue,
    set: &ItemSet,
    options: &ExportOptions,
) -> Result<Questionnaire, Vec<FhirError>> {
    let mut b = Builder {
        catalogue,
        set,
        base: options.base_url.trim_end_matches('/').to_owned(),
        used_lists: BTreeMap::new(),
        referenced_lists: BTreeMap::new(),
        problems: Vec::new(),
    };
    let item: Vec<Item> = set.sections.iter().map(|s| b.section(s)).collect();
    let contained: Vec<ValueSet> = b
        .used_lists
        .values()
        .map(|list| b.value_set(list))
        .collect();
    let provisional: Vec<&str> = b
        .referenced_lists
        .values()
        .filter(|l| l.provisional)
        .map(|l| l.name.as_str())
        .collect();
    let mut problems = b.problems;

    let id = fhir_id(&set.id);
    let mut description = format!(
        "{}の報告項目。Teikyo の項目セット {} から生成しました。",
        title(set),
        set.id
    );
    if !provisional.is_empty() {
        // The Questionnaire stays `active` (it is what reports are entered against); the lists
        // that are Teikyo's own stand-ins are `draft` ValueSets and named here.
        description.push_str(&format!(
            "公式の一覧が未確認のため暫定のコード表を含みます: {}。",
            provisional.join("、")
        ));
    }
    let q = Questionnaire {
        resource_type: "Questionnaire",
        url: format!("{}/Questionnaire/{id}", b.base),
        id,
        contained,
        version: set.fiscal_year.to_string(),
        name: machine_name(set),
        title: title(set),
        status: PublicationStatus::Active,
        // The report is about a facility: FHIR's Organization.
        subject_type: vec!["Organization"],
        date: options.date.map(|d| d.format("%Y-%m-%d").to_string()),
        description,
        item,
    };
    let mut seen = BTreeSet::new();
    for link_id in q.link_ids() {
        if !seen.insert(link_id) {
            problems.push(FhirError::DuplicateLinkId {
                set: set.id.clone(),
                link_id: link_id.to_owned(),
            });
        }
    }
    if problems.is_empty() {
        Ok(q)
    } else {
        Err(problems)
    }
}

/// A FHIR id (`[A-Za-z0-9\-\.]{1,64}`) from a Teikyo id: `_` and anything else become `-`.
fn fhir_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect()
}

/// `Teikyo2025DentalClinic`.
fn machine_name(set: &ItemSet) -> String {
    let kind: String = set
        .kind
        .id()
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("Teikyo{}{kind}", set.fiscal_year)
}

struct Builder<'a> {
    catalogue: &'a Catalogue,
    set: &'a ItemSet,
    base: String,
    /// The code lists choice items use, contained once each.
    used_lists: BTreeMap<&'a str, &'a CodeList>,
    /// Every code list an item draws from (choice or coded list), for the description.
    referenced_lists: BTreeMap<&'a str, &'a CodeList>,
    problems: Vec<FhirError>,
}

impl<'a> Builder<'a> {
    fn system(&self, list: &str) -> String {
        format!("{}/CodeSystem/{list}", self.base)
    }

    /// Teikyo's fixed answer codes (`yes-no-unknown`, `hours-day-status`): hyphenated, so they
    /// cannot meet a code list id (lower case letters, digits and `_`).
    fn fixed_system(&self, name: &str) -> String {
        format!("{}/CodeSystem/{name}", self.base)
    }

    fn list(&mut self, item: &ItemId, id: &str) -> Option<&'a CodeList> {
        let found = self.catalogue.code_lists.get(id);
        if let Some(list) = found {
            self.referenced_lists.insert(list.id.as_str(), list);
        } else {
            self.problems.push(FhirError::UnknownCodeList {
                set: self.set.id.clone(),
                item: item.0.clone(),
                list: id.to_owned(),
            });
        }
        found
    }

    fn section(&mut self, s: &'a Section) -> Item {
        let mut group = Item::new(&s.id, ItemType::Group, &s.title);
        // FHIR's place for 「1.(1)」: renderers show it before the text.
        group.prefix = Some(s.number.clone());
        group.item = s.items.iter().map(|i| self.item(i)).collect();
        group
    }

    fn item(&mut self, it: &'a FormItem) -> Item {
        let id = it.id.as_str();
        let mut q = match &it.kind {
            ItemKind::Text {
                max_length,
                multiline,
                format,
            } => {
                let kind = match (format, multiline) {
                    (Some(TextFormat::Url), _) => ItemType::Url,
                    (_, true) => ItemType::Text,
                    _ => ItemType::String,
                };
                let mut q = Item::new(id, kind, &it.label);
                q.max_length = Some(*max_length);
                // A hint, not a regex: see the module comment.
                let hint = match format {
                    Some(TextFormat::PostalCode) => Some("123-4567"),
                    Some(TextFormat::Phone) => Some("03-1234-5678"),
                    Some(TextFormat::Email) => Some("info@example.jp"),
                    Some(TextFormat::InsuranceCode) => Some("10桁の数字"),
                    Some(TextFormat::Url) => Some("https://www.example.jp/"),
                    None => None,
                };
                if let Some(hint) = hint {
                    q = q.with_extension(EXT_ENTRY_FORMAT, Value::String(hint.to_owned()));
                }
                q
            }
            ItemKind::Kana { max_length } => {
                let mut q = Item::new(id, ItemType::String, &it.label)
                    .with_extension(EXT_ENTRY_FORMAT, Value::String("全角カタカナ".to_owned()));
                q.max_length = Some(*max_length);
                q
            }
            ItemKind::Number {
                unit,
                min,
                max,
                integer,
            } => {
                let kind = if *integer {
                    ItemType::Integer
                } else {
                    ItemType::Decimal
                };
                let mut q = Item::new(id, kind, &it.label);
                if let Some(v) = min.and_then(|m| bound(m, *integer, f64::ceil)) {
                    q = q.with_extension(EXT_MIN_VALUE, v);
                }
                if let Some(v) = max.and_then(|m| bound(m, *integer, f64::floor)) {
                    q = q.with_extension(EXT_MAX_VALUE, v);
                }
                if let Some(unit) = unit {
                    q = q.with_extension(EXT_UNIT, unit_coding(unit));
                }
                q
            }
            ItemKind::Date => Item::new(id, ItemType::Date, &it.label),
            ItemKind::YesNoUnknown => {
                let mut q = Item::new(id, ItemType::Choice, &it.label);
                q.answer_option = self.yes_no_unknown_options();
                q
            }
            ItemKind::Choice { codes } | ItemKind::MultiChoice { codes } => {
                let mut q = Item::new(id, ItemType::Choice, &it.label);
                q.repeats = matches!(it.kind, ItemKind::MultiChoice { .. });
                if let Some(list) = self.list(&it.id, codes) {
                    self.used_lists.insert(list.id.as_str(), list);
                    q.answer_value_set = Some(format!("#{}", value_set_id(&list.id)));
                }
                q
            }
            ItemKind::Hours { max_slots, .. } => {
                // `night_expected_if` only silences a warning of the validator: nothing a
                // Questionnaire could show or enforce (README: not expressed).
                let mut q = Item::new(id, ItemType::Group, &it.label);
                q.item = self.hours(id, *max_slots, it.required);
                q
            }
            ItemKind::Group { min, max, items } => {
                let mut q = Item::new(id, ItemType::Group, &it.label);
                // As the validator counts rows: a required group needs at least one. Counts
                // beyond a FHIR integer (2^31) bound nothing a form could hold, so they are
                // left out rather than clamped.
                let min = (*min).max(u32::from(it.required));
                q.required = min >= 1;
                q.repeats = *max > 1;
                if min > 1
                    && let Ok(n) = i32::try_from(min)
                {
                    q = q.with_extension(EXT_MIN_OCCURS, Value::Integer(n));
                }
                if *max > 1
                    && let Ok(n) = i32::try_from(*max)
                {
                    q = q.with_extension(EXT_MAX_OCCURS, Value::Integer(n));
                }
                q.item = items.iter().map(|m| self.item(m)).collect();
                q
            }
            ItemKind::CodedList { codes, count_flag } => {
                let mut q = Item::new(id, ItemType::Group, &it.label);
                if let Some(list) = self.list(&it.id, codes) {
                    q.item = self.coded(id, list, count_flag.as_deref());
                }
                q
            }
        };
        if !matches!(it.kind, ItemKind::Group { .. }) {
            q.required = it.required;
        }
        if let Some(c) = &it.visible_if {
            self.condition(&mut q, &it.id, c);
        }
        if let Some(help) = &it.help {
            q.item.insert(0, help_item(id, help));
        }
        q
    }

    fn condition(&mut self, q: &mut Item, owner: &ItemId, c: &Condition) {
        let (set, item, target) = (self.set.id.clone(), owner.0.clone(), c.item.0.clone());
        let system = match self.set.item(c.item.as_str()).map(|t| &t.kind) {
            Some(ItemKind::YesNoUnknown) => self.fixed_system("yes-no-unknown"),
            Some(ItemKind::Choice { codes } | ItemKind::MultiChoice { codes }) => {
                self.system(codes)
            }
            Some(_) => {
                self.problems
                    .push(FhirError::ConditionTargetNotChoice { set, item, target });
                return;
            }
            None => {
                self.problems
                    .push(FhirError::MissingConditionTarget { set, item, target });
                return;
            }
        };
        if c.any_of.is_empty() {
            // Never shown; an empty enableWhen would mean always shown.
            self.problems.push(FhirError::EmptyCondition { set, item });
            return;
        }
        for v in &c.any_of {
            q.enable_when.push(EnableWhen {
                question: c.item.0.clone(),
                operator: "=",
                answer: Answer::Coding(Coding::new(&system, v, None)),
            });
        }
        if q.enable_when.len() > 1 {
            q.enable_behavior = Some(EnableBehavior::Any);
        }
    }

    /// あり / なし / 不明 inline, with the answer codes Teikyo stores (`yes`, `no`, `unknown`):
    /// HL7's `yesnodontknow` would need a code translation (Y / N / asked-unknown) and its
    /// English labels.
    fn yes_no_unknown_options(&self) -> Vec<AnswerOption> {
        let system = self.fixed_system("yes-no-unknown");
        YES_NO_UNKNOWN
            .iter()
            .zip(["あり", "なし", "不明"])
            .map(|(code, label)| AnswerOption {
                value_coding: Coding::new(&system, code, Some(label)),
            })
            .collect()
    }

    /// A code list as a contained ValueSet rather than inline `answerOption`s: a list is shared
    /// by several items (and is long: 診療科目), is written once this way, and keeps its name,
    /// source and provisional state.
    fn value_set(&self, list: &CodeList) -> ValueSet {
        let mut description = format!("出典: {}", list.source);
        if list.provisional {
            description.push_str("。公式の一覧が未確認のため Teikyo の暫定のコード表です");
        }
        ValueSet {
            resource_type: "ValueSet",
            id: value_set_id(&list.id),
            title: list.name.clone(),
            status: if list.provisional {
                PublicationStatus::Draft
            } else {
                PublicationStatus::Active
            },
            description,
            compose: Compose {
                include: vec![Include {
                    system: self.system(&list.id),
                    concept: list
                        .codes
                        .iter()
                        .map(|c| Concept {
                            code: c.code.clone(),
                            display: c.label.clone(),
                        })
                        .collect(),
                }],
            },
        }
    }

    /// A coded list as one group per code (`<item>.<code>`, with the code as `item.code`): a
    /// boolean 対応可能 (`<item>.<code>.available`) and, only for codes carrying the list's
    /// count flag, the 前年度実施件数 (`<item>.<code>.count`), shown once 対応可能 is answered
    /// yes and then required, as the validator requires it at 入力完了. This mirrors the answer
    /// JSON (`{"coded": {code: {available, count}}}`) one to one.
    fn coded(&self, id: &str, list: &CodeList, count_flag: Option<&str>) -> Vec<Item> {
        let system = self.system(&list.id);
        list.codes
            .iter()
            .map(|code| {
                let group_id = format!("{id}.{}", code.code);
                let available_id = format!("{group_id}.available");
                let mut group = Item::new(&group_id, ItemType::Group, &code.label);
                group.code = vec![Coding::new(&system, &code.code, Some(&code.label))];
                group
                    .item
                    .push(Item::new(&available_id, ItemType::Boolean, "対応可能"));
                if count_flag.is_some_and(|f| code.flags.iter().any(|c| c == f)) {
                    let label = match count_flag {
                        Some("prior_fy_count") => "前年度実施件数",
                        _ => "実施件数",
                    };
                    let count = Item::new(format!("{group_id}.count"), ItemType::Integer, label)
                        .required(true)
                        .enabled_when(&available_id, Answer::Boolean(true))
                        .with_extension(EXT_MIN_VALUE, Value::Integer(0))
                        .with_extension(EXT_UNIT, unit_coding("件"));
                    group.item.push(count);
                }
                group
            })
            .collect()
    }

    /// The weekly hours table as FHIR items, mirroring its answer JSON (`crate::hours`):
    /// per day type (`<id>.<day>`) a status choice and, when open, up to `max_slots` repeated
    /// slots (start, end, overnight, reception); the 定期週 and dated closures as repeated
    /// groups; the note. A slot ending at 24:00 is `end` 00:00 with `overnight`, because a FHIR
    /// `time` stops at 23:59:59.
    fn hours(&self, id: &str, max_slots: u8, required: bool) -> Vec<Item> {
        let status_system = self.fixed_system("hours-day-status");
        let closed = match self.set.kind {
            FacilityKind::Pharmacy => "閉店",
            FacilityKind::MidwiferyHome => "休業",
            _ => "休診",
        };
        let statuses = [
            ("closed", closed),
            ("open", "時間帯を入力"),
            ("all_day", "24時間"),
            ("varies", "日により異なる（予約制など）"),
        ];
        let mut out: Vec<Item> = DayType::ALL
            .iter()
            .map(|day| {
                let day_id = format!("{id}.{}", day.id());
                let status_id = format!("{day_id}.status");
                let mut status = Item::new(&status_id, ItemType::Choice, "状態").required(required);
                status.answer_option = statuses
                    .iter()
                    .map(|(code, label)| AnswerOption {
                        value_coding: Coding::new(&status_system, code, Some(label)),
                    })
                    .collect();
                let slots_id = format!("{day_id}.slots");
                let mut slots = Item::new(&slots_id, ItemType::Group, "時間帯")
                    .required(true)
                    .enabled_when(
                        &status_id,
                        Answer::Coding(Coding::new(&status_system, "open", None)),
                    );
                slots.repeats = max_slots > 1;
                if slots.repeats {
                    slots = slots.with_extension(EXT_MAX_OCCURS, Value::Integer(max_slots.into()));
                }
                let reception_start = format!("{slots_id}.reception_start");
                let mut reception_end = Item::new(
                    format!("{slots_id}.reception_end"),
                    ItemType::Time,
                    "受付終了",
                )
                .required(true);
                // A reception span is both ends or none (`Span`).
                reception_end.enable_when.push(EnableWhen {
                    question: reception_start.clone(),
                    operator: "exists",
                    answer: Answer::Boolean(true),
                });
                slots.item = vec![
                    Item::new(format!("{slots_id}.start"), ItemType::Time, "開始").required(true),
                    Item::new(format!("{slots_id}.end"), ItemType::Time, "終了").required(true),
                    Item::new(
                        format!("{slots_id}.overnight"),
                        ItemType::Boolean,
                        "終了が翌日（24:00 終了を含む）",
                    ),
                    Item::new(
                        &reception_start,
                        ItemType::Time,
                        "受付開始（時間帯と異なる場合）",
                    ),
                    reception_end,
                ];
                let label = match day {
                    DayType::Holiday => "祝日".to_owned(),
                    d => format!("{}曜日", d.label()),
                };
                let mut group = Item::new(&day_id, ItemType::Group, label);
                group.item = vec![status, slots];
                group
            })
            .collect();

        let weeks_id = format!("{id}.closed_weeks");
        let mut weeks = Item::new(&weeks_id, ItemType::Group, format!("決まった週の{closed}"));
        weeks.repeats = true;
        let mut weekday =
            Item::new(format!("{weeks_id}.day"), ItemType::Choice, "曜日").required(true);
        // 祝 is not a weekday of the month: the hours check refuses it here.
        weekday.answer_option = DayType::ALL
            .iter()
            .filter(|d| **d != DayType::Holiday)
            .map(|d| AnswerOption {
                value_coding: Coding::new(
                    DAYS_OF_WEEK_SYSTEM,
                    d.id(),
                    Some(&format!("{}曜日", d.label())),
                ),
            })
            .collect();
        weeks.item = vec![
            Item::new(format!("{weeks_id}.week"), ItemType::Integer, "第n週")
                .required(true)
                .with_extension(EXT_MIN_VALUE, Value::Integer(1))
                .with_extension(EXT_MAX_VALUE, Value::Integer(5)),
            weekday,
        ];

        let periods_id = format!("{id}.closed_periods");
        let mut periods = Item::new(
            &periods_id,
            ItemType::Group,
            format!("その他の{closed}（期間）"),
        );
        periods.repeats = true;
        periods.item = vec![
            Item::new(format!("{periods_id}.from"), ItemType::Date, "開始日").required(true),
            Item::new(format!("{periods_id}.to"), ItemType::Date, "終了日").required(true),
            Item::new(
                format!("{periods_id}.note"),
                ItemType::String,
                "内容（年末年始など）",
            ),
        ];

        let mut note = Item::new(format!("{id}.note"), ItemType::Text, "備考");
        note.max_length = u32::try_from(NOTE_MAX_CHARS).ok();
        out.extend([weeks, periods, note]);
        out
    }
}

/// `vs-<list id>` as a FHIR id.
fn value_set_id(list: &str) -> String {
    fhir_id(&format!("vs-{list}"))
}

/// A number item's bound as the extension's value: `valueInteger` for an integer item (rounded
/// inwards, which admits the same integers), `valueDecimal` otherwise. A bound that is not
/// finite, or beyond what a FHIR integer holds, bounds nothing a FHIR answer could give, so it
/// is left out.
fn bound(v: f64, integer: bool, round: fn(f64) -> f64) -> Option<Value> {
    if !v.is_finite() {
        return None;
    }
    if !integer {
        return Some(Value::Decimal(v));
    }
    let r = round(v);
    (r >= f64::from(i32::MIN) && r <= f64::from(i32::MAX)).then_some(Value::Integer(r as i32))
}

/// 床, 人, 件 … are not UCUM units: the display only (the binding is extensible, and a code
/// from a made-up system would add nothing).
fn unit_coding(unit: &str) -> Value {
    Value::Coding(Coding {
        system: None,
        code: None,
        display: Some(unit.to_owned()),
    })
}

/// 用語解説 as a display child with item control `help` (SDC's way; renderers show it as a
/// help bubble). linkId `<item>:help`: `:` never occurs in an item id, so it cannot meet a
/// group member's.
fn help_item(owner: &str, help: &str) -> Item {
    Item::new(format!("{owner}:help"), ItemType::Display, help).with_extension(
        EXT_ITEM_CONTROL,
        Value::CodeableConcept(CodeableConcept {
            coding: vec![Coding::new(
                ITEM_CONTROL_SYSTEM,
                "help",
                Some("Help-Button"),
            )],
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::{SourceFile, load};

    const CODES: &str = r#"
id = "procedures"
name = "手術"
source = "test"
provisional = true
[[codes]]
code = "00007"
label = "頸部動脈血栓内膜剥離術"
flags = ["prior_fy_count"]
[[codes]]
code = "00009"
label = "皮膚悪性腫瘍化学療法"
"#;

    const SECTION: &str = r#"
id = "s"
number = "2.(1)"
title = "診療内容"

[[items]]
id = "name"
label = "名称"
help = "許可証どおりに入力してください。"
type = "text"
max_length = 120
required = true

[[items]]
id = "has_beds"
label = "病床の有無"
type = "yes_no_unknown"

[[items]]
id = "beds"
label = "病床数"
type = "number"
unit = "床"
min = 0
max = 19.5
integer = true
required = true
visible_if = { item = "has_beds", any_of = ["yes", "unknown"] }

[[items]]
id = "procedures"
label = "対応できる手術"
type = "coded_list"
codes = "procedures"
count_flag = "prior_fy_count"

[[items]]
id = "rows"
label = "診療科目"
type = "group"
min_count = 2
max_count = 5

  [[items.items]]
  id = "procedure"
  label = "手術"
  type = "choice"
  codes = "procedures"
  required = true

  [[items.items]]
  id = "note"
  label = "備考"
  type = "text"
  max_length = 50
  multiline = true
  visible_if = { item = "procedure", any_of = ["00009"] }

  [[items.items]]
  id = "hours"
  label = "診療時間"
  type = "hours"
  max_slots = 3
  required = true
"#;

    fn export() -> Questionnaire {
        let files = [
            ("codes/procedures.toml", CODES),
            ("2025/sections/s.toml", SECTION),
            (
                "2025/dental_clinic.toml",
                "fiscal_year = 2025\nkind = \"dental_clinic\"\nsections = [\"s\"]\n",
            ),
        ]
        .map(|(path, text)| SourceFile {
            path: path.into(),
            text: text.into(),
        });
        let catalogue = load(&files, &[]).expect("test forms load");
        let set = catalogue.item_sets.values().next().expect("one item set");
        let options = ExportOptions {
            base_url: "https://teikyo.example.jp/fhir/".into(),
            date: NaiveDate::from_ymd_opt(2025, 4, 1),
        };
        questionnaire(&catalogue, set, &options).expect("exports")
    }

    fn item<'q>(q: &'q Questionnaire, link_id: &str) -> &'q Item {
        q.find(link_id)
            .unwrap_or_else(|| panic!("no item {link_id}"))
    }

    fn ext<'i>(i: &'i Item, url: &str) -> Option<&'i Value> {
        i.extension.iter().find(|e| e.url == url).map(|e| &e.value)
    }

    #[test]
    fn metadata_names_the_item_set() {
        let q = export();
        assert_eq!(q.id, "2025-dental-clinic");
        assert_eq!(
            q.url,
            "https://teikyo.example.jp/fhir/Questionnaire/2025-dental-clinic"
        );
        assert_eq!(q.name, "Teikyo2025DentalClinic");
        assert_eq!(q.title, "令和7年度 歯科診療所 医療機能情報 報告");
        assert_eq!(q.version, "2025");
        assert_eq!(q.date.as_deref(), Some("2025-04-01"));
        assert_eq!(q.status, PublicationStatus::Active);
        assert!(q.description.contains("暫定のコード表を含みます: 手術"));
        let section = &q.item[0];
        assert_eq!(
            (
                section.link_id.as_str(),
                section.prefix.as_deref(),
                section.text.as_deref()
            ),
            ("s", Some("2.(1)"), Some("診療内容"))
        );
    }

    #[test]
    fn link_ids_are_unique_and_items_keep_their_full_ids() {
        let q = export();
        let ids: Vec<&str> = q.link_ids().collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(ids.len(), unique.len(), "{ids:?}");
        for id in [
            "s.name",
            "s.beds",
            "s.rows.procedure",
            "s.rows.hours.mon.slots.end",
        ] {
            assert!(unique.contains(id), "{id}");
        }
    }

    #[test]
    fn duplicate_link_ids_are_refused() {
        let files = [
            ("codes/procedures.toml", CODES),
            // A code list whose code makes `<item>.<code>` equal another generated linkId.
            ("2025/sections/s.toml", SECTION),
            (
                "2025/dental_clinic.toml",
                "fiscal_year = 2025\nkind = \"dental_clinic\"\nsections = [\"s\"]\n",
            ),
        ]
        .map(|(path, text)| SourceFile {
            path: path.into(),
            text: text.into(),
        });
        let mut catalogue = load(&files, &[]).expect("test forms load");
        if let Some(list) = catalogue.code_lists.get_mut("procedures") {
            list.codes[1].code = "00007.available".into();
        }
        let set = catalogue.item_sets.values().next().expect("one item set");
        let options = ExportOptions {
            base_url: "https://teikyo.example.jp/fhir".into(),
            date: None,
        };
        let errors = questionnaire(&catalogue, set, &options).expect_err("refused");
        assert_eq!(
            errors,
            vec![FhirError::DuplicateLinkId {
                set: "2025-dental_clinic".into(),
                link_id: "s.procedures.00007.available".into()
            }]
        );
    }

    #[test]
    fn only_flagged_codes_get_a_count_question() {
        let q = export();
        let flagged = item(&q, "s.procedures.00007");
        assert_eq!(flagged.kind, ItemType::Group);
        assert_eq!(flagged.code[0].code.as_deref(), Some("00007"));
        let count = item(&q, "s.procedures.00007.count");
        assert_eq!(count.kind, ItemType::Integer);
        assert!(count.required, "required once 対応可能");
        assert_eq!(count.text.as_deref(), Some("前年度実施件数"));
        assert_eq!(
            count.enable_when[0].question,
            "s.procedures.00007.available"
        );
        assert_eq!(count.enable_when[0].answer, Answer::Boolean(true));

        assert!(q.find("s.procedures.00009.available").is_some());
        assert!(q.find("s.procedures.00009.count").is_none());
    }

    #[test]
    fn conditions_become_enable_when() {
        let q = export();
        let beds = item(&q, "s.beds");
        let answers: Vec<(&str, Option<&str>)> = beds
            .enable_when
            .iter()
            .map(|e| match &e.answer {
                Answer::Coding(c) => (e.question.as_str(), c.code.as_deref()),
                Answer::Boolean(_) => (e.question.as_str(), None),
            })
            .collect();
        assert_eq!(
            answers,
            vec![("s.has_beds", Some("yes")), ("s.has_beds", Some("unknown"))]
        );
        assert_eq!(beds.enable_behavior, Some(EnableBehavior::Any));
        // A member's condition names its sibling by full id (the same row in FHIR terms).
        let note = item(&q, "s.rows.note");
        assert_eq!(note.enable_when.len(), 1);
        assert_eq!(note.enable_when[0].question, "s.rows.procedure");
        assert_eq!(note.enable_behavior, None);
        assert!(item(&q, "s.name").enable_when.is_empty());
        // The answer codes are those of the target's choices.
        let Answer::Coding(c) = &note.enable_when[0].answer else {
            panic!("coding")
        };
        assert_eq!(
            c.system.as_deref(),
            Some("https://teikyo.example.jp/fhir/CodeSystem/procedures")
        );
    }

    #[test]
    fn required_maps_to_required() {
        let q = export();
        assert!(item(&q, "s.name").required);
        assert!(item(&q, "s.beds").required, "required while shown");
        assert!(!item(&q, "s.has_beds").required);
        assert!(!item(&q, "s.procedures").required);
        let rows = item(&q, "s.rows");
        assert!(rows.required && rows.repeats);
        assert_eq!(ext(rows, EXT_MIN_OCCURS), Some(&Value::Integer(2)));
        assert_eq!(ext(rows, EXT_MAX_OCCURS), Some(&Value::Integer(5)));
        assert!(item(&q, "s.rows.procedure").required);
        assert!(!item(&q, "s.rows.note").required);
        // A required hours table: every day type answered.
        assert!(item(&q, "s.rows.hours.holiday.status").required);
    }

    #[test]
    fn types_and_constraints() {
        let q = export();
        let name = item(&q, "s.name");
        assert_eq!((name.kind, name.max_length), (ItemType::String, Some(120)));
        let help = &name.item[0];
        assert_eq!(
            (help.link_id.as_str(), help.kind),
            ("s.name:help", ItemType::Display)
        );
        assert_eq!(item(&q, "s.rows.note").kind, ItemType::Text);
        let beds = item(&q, "s.beds");
        assert_eq!(beds.kind, ItemType::Integer);
        assert_eq!(ext(beds, EXT_MIN_VALUE), Some(&Value::Integer(0)));
        // 19.5 admits the same integers as 19.
        assert_eq!(ext(beds, EXT_MAX_VALUE), Some(&Value::Integer(19)));
        assert!(
            matches!(ext(beds, EXT_UNIT), Some(Value::Coding(c)) if c.display.as_deref() == Some("床"))
        );
        let procedure = item(&q, "s.rows.procedure");
        assert_eq!(
            procedure.answer_value_set.as_deref(),
            Some("#vs-procedures")
        );
        assert_eq!(q.contained.len(), 1);
        assert_eq!(q.contained[0].id, "vs-procedures");
        assert_eq!(q.contained[0].status, PublicationStatus::Draft);
        let yes_no = item(&q, "s.has_beds");
        assert_eq!(yes_no.answer_option.len(), 3);
        let slots = item(&q, "s.rows.hours.mon.slots");
        assert!(slots.repeats);
        assert_eq!(ext(slots, EXT_MAX_OCCURS), Some(&Value::Integer(3)));
        assert_eq!(
            item(&q, "s.rows.hours.mon.slots.start").kind,
            ItemType::Time
        );
    }

    #[test]
    fn serialises_as_fhir_json() {
        let json = serde_json::to_value(export()).expect("serialises");
        assert_eq!(json["resourceType"], "Questionnaire");
        assert_eq!(json["contained"][0]["resourceType"], "ValueSet");
        let beds = &json["item"][0]["item"][2];
        assert_eq!(beds["linkId"], "s.beds");
        assert_eq!(beds["type"], "integer");
        assert_eq!(beds["required"], true);
        assert_eq!(beds["enableBehavior"], "any");
        assert_eq!(beds["enableWhen"][0]["operator"], "=");
        assert_eq!(beds["enableWhen"][0]["answerCoding"]["code"], "yes");
        assert_eq!(beds["extension"][0]["valueInteger"], 0);
        assert!(beds.get("repeats").is_none(), "false is left out");
    }

    #[test]
    fn fiscal_years_in_japanese_eras() {
        assert_eq!(fiscal_year_label(2025), "令和7年度");
        assert_eq!(fiscal_year_label(2019), "令和元年度");
        assert_eq!(fiscal_year_label(2018), "平成30年度");
    }
}
