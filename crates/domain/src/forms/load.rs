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
        let mut built = Vec::new();
        for s in &raw.sections {
            match sections.get(&(year.clone(), s.get_ref().clone())) {
                Some((sfile, section)) => built.push(build_section(&mut p, sfile, section, kind)),
                None => p.at(
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
        check_set(&mut p, file, &raw, &set, &sections, &year, &code_lists);
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

fn build_section(
    p: &mut Problems,
    file: &SourceFile,
    raw: &RawSection,
    kind: FacilityKind,
) -> Section {
    let id = raw.id.get_ref().clone();
    Section {
        items: build_items(p, file, &raw.items, &id, kind),
        id,
        number: raw.number.clone(),
        title: raw.title.clone(),
        bulk_complete: raw.bulk_complete,
    }
}

fn build_items(
    p: &mut Problems,
    file: &SourceFile,
    raw: &[RawItem],
    prefix: &str,
    kind: FacilityKind,
) -> Vec<Item> {
    let mut out = Vec::new();
    for r in raw {
        if let Some(applies) = &r.applies_to {
            for k in applies.get_ref() {
                if FacilityKind::ALL.into_iter().all(|x| x.id() != k) {
                    p.at(
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
            p.at(
                file,
                r.id.span().start,
                format!("項目ID「{local}」には英小文字・数字・_ だけを使ってください"),
            );
        }
        let id = ItemId(format!("{prefix}.{local}"));
        let type_at = r.kind.span().start;
        let codes = || r.codes.as_ref().map(|c| c.get_ref().clone());
        let item_kind = match r.kind.get_ref().as_str() {
            "text" => match r.max_length {
                Some(max_length) => Some(ItemKind::Text {
                    max_length,
                    multiline: r.multiline,
                }),
                None => {
                    p.at(file, type_at, "text には max_length が必要です");
                    None
                }
            },
            "kana" => match r.max_length {
                Some(max_length) => Some(ItemKind::Kana { max_length }),
                None => {
                    p.at(file, type_at, "kana には max_length が必要です");
                    None
                }
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
            "choice" | "multi_choice" | "coded_list" => match codes() {
                Some(c) => Some(match r.kind.get_ref().as_str() {
                    "choice" => ItemKind::Choice { codes: c },
                    "multi_choice" => ItemKind::MultiChoice { codes: c },
                    _ => ItemKind::CodedList {
                        codes: c,
                        count_flag: r.count_flag.clone(),
                    },
                }),
                None => {
                    p.at(
                        file,
                        type_at,
                        format!("{} には codes（コード表）が必要です", r.kind.get_ref()),
                    );
                    None
                }
            },
            "group" => {
                let members = r.items.as_deref().unwrap_or_default();
                if members.is_empty() {
                    p.at(file, type_at, "group には items が必要です");
                }
                let min = r.min_count.unwrap_or(0);
                let max = r.max_count.unwrap_or(1);
                if min > max || max == 0 {
                    p.at(
                        file,
                        type_at,
                        format!("min_count {min} と max_count {max} が矛盾しています"),
                    );
                }
                Some(ItemKind::Group {
                    min,
                    max,
                    items: build_items(p, file, members, &id.0, kind),
                })
            }
            other => {
                p.at(file, type_at, format!("不明な型「{other}」です"));
                None
            }
        };
        let Some(item_kind) = item_kind else {
            continue;
        };
        out.push(Item {
            id,
            label: r.label.clone(),
            help: r.help.clone(),
            kind: item_kind,
            required: r.required,
            visible_if: r.visible_if.as_ref().map(|c| Condition {
                item: ItemId(resolve(c.item.get_ref(), prefix)),
                any_of: c.any_of.clone(),
            }),
        });
    }
    out
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

/// Checks across the whole set: unique ids, code lists exist, conditions point at an item that
/// can be answered with the listed values.
fn check_set(
    p: &mut Problems,
    set_file: &SourceFile,
    raw: &RawItemSet,
    set: &ItemSet,
    sections: &BTreeMap<(String, String), (&SourceFile, RawSection)>,
    year: &str,
    code_lists: &BTreeMap<String, CodeList>,
) {
    let mut seen_sections = BTreeSet::new();
    for s in &raw.sections {
        if !seen_sections.insert(s.get_ref().clone()) {
            p.at(
                set_file,
                s.span().start,
                format!("セクション「{}」が二度あります", s.get_ref()),
            );
        }
    }
    // Walk the raw items again for positions, alongside the built ones.
    let mut ids: BTreeMap<String, ()> = BTreeMap::new();
    for s in &raw.sections {
        let Some((file, section)) = sections.get(&(year.to_owned(), s.get_ref().clone())) else {
            continue;
        };
        walk(
            p,
            file,
            &section.items,
            section.id.get_ref(),
            set,
            code_lists,
            &mut ids,
        );
    }
}

fn walk(
    p: &mut Problems,
    file: &SourceFile,
    items: &[RawItem],
    prefix: &str,
    set: &ItemSet,
    code_lists: &BTreeMap<String, CodeList>,
    ids: &mut BTreeMap<String, ()>,
) {
    for r in items {
        let applies = r
            .applies_to
            .as_ref()
            .is_none_or(|a| a.get_ref().iter().any(|k| k == set.kind.id()));
        if !applies {
            continue;
        }
        let full = format!("{prefix}.{}", r.id.get_ref());
        if ids.insert(full.clone(), ()).is_some() {
            p.at(
                file,
                r.id.span().start,
                format!("項目ID「{full}」が重複しています"),
            );
        }
        if let Some(c) = &r.codes
            && !code_lists.contains_key(c.get_ref())
        {
            p.at(
                file,
                c.span().start,
                format!("不明なコード表「{}」です", c.get_ref()),
            );
        }
        if let Some(cond) = &r.visible_if {
            let target = resolve(cond.item.get_ref(), prefix);
            match set.item(&target) {
                None => p.at(
                    file,
                    cond.item.span().start,
                    format!("visible_if の項目「{target}」がこの項目セットにありません"),
                ),
                Some(t) => {
                    let allowed: Option<Vec<String>> = match &t.kind {
                        ItemKind::YesNoUnknown => {
                            Some(["yes", "no", "unknown"].map(String::from).to_vec())
                        }
                        ItemKind::Choice { codes } | ItemKind::MultiChoice { codes } => code_lists
                            .get(codes)
                            .map(|l| l.codes.iter().map(|c| c.code.clone()).collect()),
                        _ => None,
                    };
                    match allowed {
                        None => p.at(
                            file,
                            cond.item.span().start,
                            format!("visible_if の項目「{target}」は選択式ではありません"),
                        ),
                        Some(values) => {
                            for v in &cond.any_of {
                                if !values.contains(v) {
                                    p.at(
                                        file,
                                        cond.item.span().start,
                                        format!("visible_if の値「{v}」は項目「{target}」の選択肢にありません"),
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        if let Some(members) = &r.items {
            walk(p, file, members, &full, set, code_lists, ids);
        }
    }
}
