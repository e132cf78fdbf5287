//! Reading and checking the files under `forms/` (format: `forms/README.md`, JSON Schema:
//! `forms/schema/`). Pure: the caller reads the files and hands over (path, text) pairs, so the
//! domain crate does no IO. Every problem is reported with the file and line, all at once, and
//! any problem fails the whole load — a start-up with a half-checked item set is worse than none.
//!
//! Paths are relative to `forms/`: `codes/*.toml` are code lists, `<year>/sections/*.toml`
//! sections, and `<year>/*.toml` the item sets that list their sections.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::model::{
    Catalogue, Code, CodeList, Condition, Item, ItemId, ItemKind, ItemSet, Rule, Section,
    TextFormat, YES_NO_UNKNOWN,
};
use crate::{FacilityKind, Severity};

impl FormsError {
    /// One problem per line, indented: how a refused load is shown.
    pub fn list(errors: &[FormsError]) -> String {
        errors
            .iter()
            .map(|e| format!("  {e}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One file as read from disk (or embedded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative to `forms/`, with `/` separators, e.g. `2025/sections/basic.toml`.
    pub path: String,
    pub text: String,
}

/// A problem in a file, at a line (1-based; 0 when the whole file is meant).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct FormsError {
    /// As shown: `forms/2025/sections/basic.toml` for the loader's relative paths.
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCodeList {
    id: Spanned<String>,
    name: String,
    #[serde(default)]
    provisional: bool,
    source: String,
    codes: Vec<RawCode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCode {
    code: Spanned<String>,
    label: String,
    #[serde(default)]
    flags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItemSet {
    fiscal_year: u16,
    kind: Spanned<String>,
    sections: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    id: Spanned<String>,
    number: String,
    title: String,
    #[serde(default = "yes")]
    bulk_complete: bool,
    /// Items whose change a reviewer may confirm in bulk (contact details, hours).
    #[serde(default)]
    low_risk_items: Vec<Spanned<String>>,
    items: Vec<RawItem>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    applies_to: Option<Spanned<Vec<String>>>,
    postal: Option<Spanned<String>>,
    address: Option<Spanned<String>>,
    items: Option<Vec<Spanned<String>>>,
    min: Option<f64>,
    max: Option<f64>,
    label: Option<String>,
    severity: Option<Spanned<String>>,
    total: Option<Spanned<String>>,
    parts: Option<Vec<Spanned<String>>>,
    group: Option<Spanned<String>>,
    member: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: Spanned<String>,
    label: String,
    help: Option<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default)]
    required: bool,
    applies_to: Option<Spanned<Vec<String>>>,
    visible_if: Option<RawCondition>,
    max_length: Option<u32>,
    #[serde(default)]
    multiline: bool,
    format: Option<Spanned<String>>,
    max_slots: Option<u8>,
    night_expected_if: Option<RawCondition>,
    unit: Option<String>,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(default)]
    integer: bool,
    codes: Option<Spanned<String>>,
    count_flag: Option<String>,
    min_count: Option<u32>,
    max_count: Option<u32>,
    items: Option<Vec<RawItem>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    item: Spanned<String>,
    any_of: Vec<String>,
}

/// Collects the problems of one load.
struct Problems(Vec<FormsError>);

impl Problems {
    fn at(&mut self, file: &SourceFile, offset: usize, message: impl Into<String>) {
        let line = file.text[..offset.min(file.text.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count()
            + 1;
        self.0.push(FormsError {
            file: format!("forms/{}", file.path),
            line,
            message: message.into(),
        });
    }

    fn parse<T: serde::de::DeserializeOwned>(&mut self, file: &SourceFile) -> Option<T> {
        match toml::from_str(&file.text) {
            Ok(v) => Some(v),
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                self.at(file, offset, format!("読み取れません: {}", e.message()));
                None
            }
        }
    }
}

/// Loads and checks every file. `external` names the code lists that come from `data/` rather
/// than `forms/codes/` (診療科目, 指定難病), so items may refer to them.
pub fn load(files: &[SourceFile], external: &[CodeList]) -> Result<Catalogue, Vec<FormsError>> {
    let mut p = Problems(Vec::new());
    let mut code_lists: BTreeMap<String, CodeList> =
        external.iter().map(|l| (l.id.clone(), l.clone())).collect();

    // Code lists first: items refer to them.
    for file in files.iter().filter(|f| f.path.starts_with("codes/")) {
        let Some(raw) = p.parse::<RawCodeList>(file) else {
            continue;
        };
        let mut seen = BTreeSet::new();
        let mut codes = Vec::new();
        for c in raw.codes {
            if !seen.insert(c.code.get_ref().clone()) {
                p.at(
                    file,
                    c.code.span().start,
                    format!("コード「{}」が重複しています", c.code.get_ref()),
                );
            }
            codes.push(Code {
                code: c.code.into_inner(),
                label: c.label,
                flags: c.flags,
            });
        }
        let id = raw.id.get_ref().clone();
        if code_lists.contains_key(&id) {
            p.at(
                file,
                raw.id.span().start,
                format!("コード表「{id}」が重複しています"),
            );
        }
        code_lists.insert(
            id.clone(),
            CodeList {
                id,
                name: raw.name,
                provisional: raw.provisional,
                source: raw.source,
                codes,
            },
        );
    }

    // Sections, per fiscal-year directory.
    let mut sections: BTreeMap<(String, String), (&SourceFile, RawSection)> = BTreeMap::new();
    for file in files.iter().filter(|f| f.path.contains("/sections/")) {
        let year = file.path.split('/').next().unwrap_or_default().to_owned();
        let Some(raw) = p.parse::<RawSection>(file) else {
            continue;
        };
        let key = (year, raw.id.get_ref().clone());
        if sections.contains_key(&key) {
            p.at(
                file,
                raw.id.span().start,
                format!("セクション「{}」が重複しています", key.1),
            );
            continue;
        }
        sections.insert(key, (file, raw));
    }

    // Item sets: a kind's view of its year's sections.
    let mut item_sets = BTreeMap::new();
    for file in files
        .iter()
        .filter(|f| !f.path.starts_with("codes/") && !f.path.contains("/sections/"))
        .filter(|f| f.path.ends_with(".toml"))
    {
        let Some(raw) = p.parse::<RawItemSet>(file) else {
            continue;
        };
        let year = file.path.split('/').next().unwrap_or_default().to_owned();
        if year != raw.fiscal_year.to_string() {
            p.at(
                file,
                0,
                format!(
                    "fiscal_year = {} ですが、{year}/ に置かれています",
                    raw.fiscal_year
                ),
            );
        }
        let Some(kind) = FacilityKind::from_id(raw.kind.get_ref()) else {
            p.at(
                file,
                raw.kind.span().start,
                format!("不明な機関区分「{}」です", raw.kind.get_ref()),
            );
            continue;
        };
        let mut b = Builder {
            p: &mut p,
            kind,
            code_lists: &code_lists,
            ids: BTreeSet::new(),
            conditions: Vec::new(),
            references: Vec::new(),
        };
        let mut built = Vec::new();
        let mut listed = BTreeSet::new();
        for s in &raw.sections {
            if !listed.insert(s.get_ref().clone()) {
                b.p.at(
                    file,
                    s.span().start,
                    format!("セクション「{}」が二度あります", s.get_ref()),
                );
                continue;
            }
            // `access` is this year's section; `2025/costs` reuses an unchanged one of an
            // earlier year rather than copying its file.
            let (from_year, id) = match s.get_ref().split_once('/') {
                Some((y, id)) => (y.to_owned(), id.to_owned()),
                None => (year.clone(), s.get_ref().clone()),
            };
            match sections.get(&(from_year.clone(), id.clone())) {
                Some((sfile, section)) => built.push(b.section(sfile, section)),
                None => b.p.at(
                    file,
                    s.span().start,
                    format!("{from_year}/sections/ にセクション「{id}」がありません"),
                ),
            }
        }
        let set = ItemSet {
            id: format!("{}-{}", raw.fiscal_year, kind.id()),
            fiscal_year: raw.fiscal_year,
            kind,
            sections: built,
        };
        b.check_references(&set);
        item_sets.insert(set.id.clone(), set);
    }

    if p.0.is_empty() {
        Ok(Catalogue {
            item_sets,
            code_lists,
        })
    } else {
        // A section shared by several item sets is checked once per set: say each problem once.
        let mut seen = BTreeSet::new();
        p.0.retain(|e| seen.insert(e.clone()));
        p.0.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        Err(p.0)
    }
}

/// Builds one item set's sections, checking each item where its position is known, and
/// collecting the conditions to check once the whole set is built.
struct Builder<'a, 'f> {
    p: &'a mut Problems,
    kind: FacilityKind,
    code_lists: &'a BTreeMap<String, CodeList>,
    /// Full ids seen so far in this item set.
    ids: BTreeSet<String>,
    /// (file, offset of the condition's `item`, the condition).
    conditions: Vec<(&'f SourceFile, usize, Condition)>,
    /// Items named by rules: (file, offset, id, the type the rule needs).
    references: Vec<(&'f SourceFile, usize, ItemId, Expect)>,
}

/// The type a rule needs of the item it names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Text,
    Date,
    Number,
    Group,
    /// Anything answerable with one value (a member compared across rows).
    Single,
}

impl Expect {
    fn accepts(self, kind: &ItemKind) -> bool {
        match self {
            Self::Text => matches!(kind, ItemKind::Text { .. }),
            Self::Date => matches!(kind, ItemKind::Date),
            Self::Number => matches!(kind, ItemKind::Number { .. }),
            Self::Group => matches!(kind, ItemKind::Group { .. }),
            Self::Single => matches!(
                kind,
                ItemKind::Text { .. }
                    | ItemKind::Kana { .. }
                    | ItemKind::Number { .. }
                    | ItemKind::Date
                    | ItemKind::Choice { .. }
                    | ItemKind::YesNoUnknown
            ),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Date => "date",
            Self::Number => "number",
            Self::Group => "group",
            Self::Single => "単一の値の項目",
        }
    }
}

impl<'f> Builder<'_, 'f> {
    fn section(&mut self, file: &'f SourceFile, raw: &RawSection) -> Section {
        let id = raw.id.get_ref().clone();
        let items = self.items(file, &raw.items, &id);
        let mut rules = Vec::new();
        for r in &raw.rules {
            if self.applies(file, r.applies_to.as_ref())
                && let Some(rule) = self.rule(file, r, &id)
            {
                rules.push(rule);
            }
        }
        let mut low_risk = Vec::new();
        for l in &raw.low_risk_items {
            if !raw.items.iter().any(|i| i.id.get_ref() == l.get_ref()) {
                self.p.at(
                    file,
                    l.span().start,
                    format!("low_risk_items: the section has no item `{}`", l.get_ref()),
                );
            }
            let full = ItemId(format!("{id}.{}", l.get_ref()));
            // Items that do not apply to this kind are not in `items`; nothing to mark.
            if items.iter().any(|i| i.id == full) {
                low_risk.push(full);
            }
        }
        Section {
            items,
            rules,
            id,
            number: raw.number.clone(),
            title: raw.title.clone(),
            bulk_complete: raw.bulk_complete,
            low_risk,
        }
    }

    /// Whether an item or rule with this `applies_to` exists for the set's kind (reporting
    /// unknown kinds).
    fn applies(&mut self, file: &SourceFile, applies: Option<&Spanned<Vec<String>>>) -> bool {
        let Some(applies) = applies else {
            return true;
        };
        for k in applies.get_ref() {
            if FacilityKind::from_id(k).is_none() {
                self.p.at(
                    file,
                    applies.span().start,
                    format!("不明な機関区分「{k}」です"),
                );
            }
        }
        applies.get_ref().iter().any(|k| k == self.kind.id())
    }

    /// A `[[rules]]` entry, its items resolved within the section (checked once the set is
    /// built).
    fn rule(&mut self, file: &'f SourceFile, r: &RawRule, section: &str) -> Option<Rule> {
        let type_at = r.kind.span().start;
        let refer = |b: &mut Self, id: &Spanned<String>, prefix: &str, expect: Expect| {
            let full = ItemId(resolve(id.get_ref(), prefix));
            b.references
                .push((file, id.span().start, full.clone(), expect));
            full
        };
        let missing = |b: &mut Self, what: &str| {
            b.p.at(
                file,
                type_at,
                format!("規則 {} には {what} が必要です", r.kind.get_ref()),
            );
            None
        };
        let list = |b: &mut Self, ids: &Option<Vec<Spanned<String>>>, expect: Expect| {
            ids.as_deref()
                .unwrap_or_default()
                .iter()
                .map(|i| refer(b, i, section, expect))
                .collect::<Vec<_>>()
        };
        match r.kind.get_ref().as_str() {
            "postal_address" => match (&r.postal, &r.address) {
                (Some(p), Some(a)) => Some(Rule::PostalAddress {
                    postal: refer(self, p, section, Expect::Text),
                    address: refer(self, a, section, Expect::Text),
                }),
                _ => missing(self, "postal と address"),
            },
            "date_order" => {
                let items = list(self, &r.items, Expect::Date);
                if items.len() < 2 {
                    return missing(self, "2つ以上の items");
                }
                Some(Rule::DateOrder { items })
            }
            "sum_range" => {
                let items = list(self, &r.items, Expect::Number);
                let Some(label) = r.label.clone() else {
                    return missing(self, "label");
                };
                if items.is_empty() || (r.min.is_none() && r.max.is_none()) {
                    return missing(self, "items と min または max");
                }
                let severity = match r.severity.as_ref().map(|s| s.get_ref().as_str()) {
                    None | Some("error") => Severity::Error,
                    Some("warning") => Severity::Warning,
                    Some(other) => {
                        let at = r.severity.as_ref().map_or(type_at, |s| s.span().start);
                        self.p.at(
                            file,
                            at,
                            format!("severity は error か warning です（「{other}」）"),
                        );
                        Severity::Error
                    }
                };
                Some(Rule::SumRange {
                    items,
                    min: r.min,
                    max: r.max,
                    label,
                    severity,
                })
            }
            "parts_within" => {
                let Some(total) = &r.total else {
                    return missing(self, "total");
                };
                let total = refer(self, total, section, Expect::Number);
                let parts = list(self, &r.parts, Expect::Number);
                if parts.is_empty() {
                    return missing(self, "parts");
                }
                Some(Rule::PartsWithin { total, parts })
            }
            "unique" => match (&r.group, &r.member) {
                (Some(g), Some(m)) => {
                    let group = refer(self, g, section, Expect::Group);
                    let member = refer(self, m, &group.0, Expect::Single);
                    Some(Rule::Unique { group, member })
                }
                _ => missing(self, "group と member"),
            },
            other => {
                self.p
                    .at(file, type_at, format!("不明な規則「{other}」です"));
                None
            }
        }
    }

    fn items(&mut self, file: &'f SourceFile, raw: &[RawItem], prefix: &str) -> Vec<Item> {
        let mut out = Vec::new();
        for r in raw {
            if !self.applies(file, r.applies_to.as_ref()) {
                continue;
            }
            let local = r.id.get_ref();
            if local.is_empty()
                || !local
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                self.p.at(
                    file,
                    r.id.span().start,
                    format!("項目ID「{local}」には英小文字・数字・_ だけを使ってください"),
                );
            }
            let id = ItemId(format!("{prefix}.{local}"));
            if !self.ids.insert(id.0.clone()) {
                self.p.at(
                    file,
                    r.id.span().start,
                    format!("項目ID「{id}」が重複しています"),
                );
            }
            if let Some(c) = &r.codes
                && !self.code_lists.contains_key(c.get_ref())
            {
                self.p.at(
                    file,
                    c.span().start,
                    format!("不明なコード表「{}」です", c.get_ref()),
                );
            }
            let visible_if = r
                .visible_if
                .as_ref()
                .map(|c| self.condition(file, c, prefix));
            let Some(item_kind) = self.kind_of(file, r, &id, prefix) else {
                continue;
            };
            out.push(Item {
                id,
                label: r.label.clone(),
                help: r.help.clone(),
                kind: item_kind,
                required: r.required,
                visible_if,
            });
        }
        out
    }

    /// A condition with its item resolved against `prefix` (the section, or the group for a
    /// member), kept to be checked once the set is built.
    fn condition(&mut self, file: &'f SourceFile, c: &RawCondition, prefix: &str) -> Condition {
        let condition = Condition {
            item: ItemId(resolve(c.item.get_ref(), prefix)),
            any_of: c.any_of.clone(),
        };
        self.conditions
            .push((file, c.item.span().start, condition.clone()));
        condition
    }

    /// The item's type with its parameters, or `None` (reported) when they do not fit; `prefix`
    /// is where its conditions resolve.
    fn kind_of(
        &mut self,
        file: &'f SourceFile,
        r: &RawItem,
        id: &ItemId,
        prefix: &str,
    ) -> Option<ItemKind> {
        let type_at = r.kind.span().start;
        let codes = r.codes.as_ref().map(|c| c.get_ref().clone());
        let missing = |p: &mut Problems, what: &str| {
            p.at(
                file,
                type_at,
                format!("{} には {what} が必要です", r.kind.get_ref()),
            );
            None
        };
        match r.kind.get_ref().as_str() {
            "text" => {
                let format = r.format.as_ref().and_then(|f| {
                    let found = TextFormat::ALL.into_iter().find(|x| x.id() == f.get_ref());
                    if found.is_none() {
                        self.p.at(
                            file,
                            f.span().start,
                            format!("不明な format「{}」です", f.get_ref()),
                        );
                    }
                    found
                });
                match r.max_length {
                    Some(max_length) => Some(ItemKind::Text {
                        max_length,
                        multiline: r.multiline,
                        format,
                    }),
                    None => missing(self.p, "max_length"),
                }
            }
            "kana" => match r.max_length {
                Some(max_length) => Some(ItemKind::Kana { max_length }),
                None => missing(self.p, "max_length"),
            },
            "number" => Some(ItemKind::Number {
                unit: r.unit.clone(),
                min: r.min,
                max: r.max,
                integer: r.integer,
            }),
            "date" => Some(ItemKind::Date),
            "yes_no_unknown" => Some(ItemKind::YesNoUnknown),
            "hours" => {
                let night_expected_if = r
                    .night_expected_if
                    .as_ref()
                    .map(|c| self.condition(file, c, prefix));
                let max_slots = r.max_slots.unwrap_or(3);
                if !(1..=6).contains(&max_slots) {
                    self.p.at(file, type_at, "max_slots は1〜6にしてください");
                }
                Some(ItemKind::Hours {
                    max_slots,
                    night_expected_if,
                })
            }
            "choice" | "multi_choice" | "coded_list" => match codes {
                None => missing(self.p, "codes（コード表）"),
                Some(codes) => Some(match r.kind.get_ref().as_str() {
                    "choice" => ItemKind::Choice { codes },
                    "multi_choice" => ItemKind::MultiChoice { codes },
                    _ => ItemKind::CodedList {
                        codes,
                        count_flag: r.count_flag.clone(),
                    },
                }),
            },
            "group" => {
                let members = r.items.as_deref().unwrap_or_default();
                if members.is_empty() {
                    self.p.at(file, type_at, "group には items が必要です");
                }
                // One level of repetition is what the section pages, the open data and the
                // FHIR export handle (a row's form fields are named `group[row].member`).
                for m in members.iter().filter(|m| m.kind.get_ref() == "group") {
                    self.p.at(
                        file,
                        m.kind.span().start,
                        "group の中に group は置けません。別の group として並べてください",
                    );
                }
                let min = r.min_count.unwrap_or(0);
                let max = r.max_count.unwrap_or(1);
                if min > max || max == 0 {
                    self.p.at(
                        file,
                        type_at,
                        format!("min_count {min} と max_count {max} が矛盾しています"),
                    );
                }
                Some(ItemKind::Group {
                    min,
                    max,
                    items: self.items(file, members, &id.0),
                })
            }
            other => {
                self.p.at(file, type_at, format!("不明な型「{other}」です"));
                None
            }
        }
    }

    /// Each condition points at an item of the set that can be answered with the listed values;
    /// each rule's items exist with the type the rule needs.
    fn check_references(self, set: &ItemSet) {
        for (file, at, id, expect) in &self.references {
            match set.item(id.as_str()) {
                None => self.p.at(
                    file,
                    *at,
                    format!("規則の項目「{id}」がこの項目セットにありません"),
                ),
                Some(item) if !expect.accepts(&item.kind) => self.p.at(
                    file,
                    *at,
                    format!(
                        "規則の項目「{id}」は {} ではありません（{}）",
                        expect.name(),
                        item.kind.id()
                    ),
                ),
                Some(_) => {}
            }
        }
        for (file, at, c) in self.conditions {
            let target = c.item.as_str();
            let Some(t) = set.item(target) else {
                self.p.at(
                    file,
                    at,
                    format!("visible_if の項目「{target}」がこの項目セットにありません"),
                );
                continue;
            };
            let values: Option<Vec<String>> = match &t.kind {
                ItemKind::YesNoUnknown => Some(YES_NO_UNKNOWN.map(String::from).to_vec()),
                ItemKind::Choice { codes } | ItemKind::MultiChoice { codes } => self
                    .code_lists
                    .get(codes)
                    .map(|l| l.codes.iter().map(|c| c.code.clone()).collect()),
                _ => None,
            };
            let Some(values) = values else {
                self.p.at(
                    file,
                    at,
                    format!("visible_if の項目「{target}」は選択式ではありません"),
                );
                continue;
            };
            for v in c.any_of.iter().filter(|v| !values.contains(v)) {
                self.p.at(
                    file,
                    at,
                    format!("visible_if の値「{v}」は項目「{target}」の選択肢にありません"),
                );
            }
        }
    }
}

/// A condition names an item by its full id (`access.parking`) or, within the same section or
/// group, by its local id (`parking`).
fn resolve(target: &str, prefix: &str) -> String {
    if target.contains('.') {
        target.to_owned()
    } else {
        format!("{prefix}.{target}")
    }
}
