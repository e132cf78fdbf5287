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
    Catalogue, Code, CodeList, Condition, Item, ItemId, ItemKind, ItemSet, Section,
};
use crate::FacilityKind;

/// One file as read from disk (or embedded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative to `forms/`, with `/` separators, e.g. `2025/sections/basic.toml`.
    pub path: String,
    pub text: String,
}

/// A problem in a file, at a line (1-based; 0 when the whole file is meant).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("forms/{file}:{line}: {message}")]
pub struct FormsError {
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
    items: Vec<RawItem>,
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
            file: file.path.clone(),
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
        let Some(kind) = FacilityKind::ALL
            .into_iter()
            .find(|k| k.id() == raw.kind.get_ref())
        else {
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
            match sections.get(&(year.clone(), s.get_ref().clone())) {
                Some((sfile, section)) => built.push(b.section(sfile, section)),
                None => b.p.at(
                    file,
                    s.span().start,
                    format!(
                        "{year}/sections/ にセクション「{}」がありません",
                        s.get_ref()
                    ),
                ),
            }
        }
        let set = ItemSet {
            id: format!("{}-{}", raw.fiscal_year, kind.id()),
            fiscal_year: raw.fiscal_year,
            kind,
            sections: built,
        };
        b.check_conditions(&set);
        item_sets.insert(set.id.clone(), set);
    }

    if p.0.is_empty() {
        Ok(Catalogue {
            item_sets,
            code_lists,
        })
    } else {
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
}

impl<'f> Builder<'_, 'f> {
    fn section(&mut self, file: &'f SourceFile, raw: &RawSection) -> Section {
        let id = raw.id.get_ref().clone();
        Section {
            items: self.items(file, &raw.items, &id),
            id,
            number: raw.number.clone(),
            title: raw.title.clone(),
            bulk_complete: raw.bulk_complete,
        }
    }

    fn items(&mut self, file: &'f SourceFile, raw: &[RawItem], prefix: &str) -> Vec<Item> {
        let kind = self.kind;
        let mut out = Vec::new();
        for r in raw {
            if let Some(applies) = &r.applies_to {
                for k in applies.get_ref() {
                    if FacilityKind::ALL.into_iter().all(|x| x.id() != k) {
                        self.p.at(
                            file,
                            applies.span().start,
                            format!("不明な機関区分「{k}」です"),
                        );
                    }
                }
                if !applies.get_ref().iter().any(|k| k == kind.id()) {
                    continue;
                }
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
            let visible_if = r.visible_if.as_ref().map(|c| {
                let condition = Condition {
                    item: ItemId(resolve(c.item.get_ref(), prefix)),
                    any_of: c.any_of.clone(),
                };
                self.conditions
                    .push((file, c.item.span().start, condition.clone()));
                condition
            });
            let Some(item_kind) = self.kind_of(file, r, &id) else {
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

    /// The item's type with its parameters, or `None` (reported) when they do not fit.
    fn kind_of(&mut self, file: &'f SourceFile, r: &RawItem, id: &ItemId) -> Option<ItemKind> {
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
            "text" => match r.max_length {
                Some(max_length) => Some(ItemKind::Text {
                    max_length,
                    multiline: r.multiline,
                }),
                None => missing(self.p, "max_length"),
            },
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
            "hours" => Some(ItemKind::Hours),
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

    /// Each condition points at an item of the set that can be answered with the listed values.
    fn check_conditions(self, set: &ItemSet) {
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
                ItemKind::YesNoUnknown => Some(["yes", "no", "unknown"].map(String::from).to_vec()),
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
