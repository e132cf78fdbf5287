//! The one validator (DESIGN §2.2): the HTML forms, the JSON API and every importer call it.
//! Each issue has a stable code, a field path and a Japanese message; warnings never block
//! 入力完了.
//!
//! Two modes, as G-MIS has two buttons: 一時保存 ([`Mode::Draft`]) checks only what would make
//! the stored answer wrong (types, lengths, ranges, codes, the hours table); cross-item rules are
//! shown as warnings and nothing is required. 入力完了 ([`Mode::Complete`]) checks everything.
//! A hidden item is never validated, so never required.
//!
//! Paths: `basic.name_official`, `basic.departments[0].hours.mon[1]` (0-based rows and slots),
//! `second.treatments.00009`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::answers::{Answers, Scope, Value};
use super::model::{Catalogue, Item, ItemId, ItemKind, ItemSet, Rule, TextFormat, YES_NO_UNKNOWN};
use crate::hours::{HoursPlace, HoursRules};
use crate::text::{is_katakana_reading, nfkc};
use crate::{CodeError, InsuranceCode, PostalCode, Severity};

/// 一時保存 or 入力完了.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Draft,
    Complete,
}

/// One problem with the answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Stable, e.g. `required`, `hours.overlap`, `address.mismatch`.
    pub code: &'static str,
    pub severity: Severity,
    /// The field: `basic.departments[0].hours.mon[1]`.
    pub path: String,
    /// The top-level item the field belongs to (where the page puts the message).
    pub item: ItemId,
    pub message: String,
}

/// What the validator needs from the reference data; the domain crate has none of its own.
pub trait Reference {
    /// `Err` with what disagrees and what to do, in polite Japanese, when the address does not
    /// fit the postal code.
    fn check_address(&self, postal: PostalCode, address: &str) -> Result<(), String>;
}

/// No reference data: the checks that need it pass (tests of everything else, tools).
pub struct NoReference;

impl Reference for NoReference {
    fn check_address(&self, _: PostalCode, _: &str) -> Result<(), String> {
        Ok(())
    }
}

/// The message G-MIS shows for a postal code and 所在地 that disagree (DOMAIN §4.7).
pub const ADDRESS_MISMATCH: &str = "郵便番号と所在地が不整合です。";

/// The seed's text for a code that is not 前年度実施件数報告対象 (DOMAIN §5.3).
pub const COUNT_NOT_APPLICABLE: &str =
    "前年度実施件数報告対象ではないため、実施件数の報告は不要です。";

pub struct Validator<'a> {
    catalogue: &'a Catalogue,
    reference: &'a dyn Reference,
}

/// Collects issues while walking.
struct Out<'s> {
    issues: Vec<Issue>,
    mode: Mode,
    set: &'s ItemSet,
}

impl Out<'_> {
    fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        path: &str,
        item: &ItemId,
        message: String,
    ) {
        self.issues.push(Issue {
            code,
            severity,
            path: path.to_owned(),
            item: item.clone(),
            message,
        });
    }

    fn error(&mut self, code: &'static str, path: &str, item: &ItemId, message: String) {
        self.push(code, Severity::Error, path, item, message);
    }

    /// A cross-item rule: blocking at 入力完了, a hint at 一時保存. `path` defaults to the
    /// item itself.
    fn rule(
        &mut self,
        code: &'static str,
        severity: Severity,
        item: &ItemId,
        path: Option<&str>,
        message: String,
    ) {
        let severity = match self.mode {
            Mode::Complete => severity,
            Mode::Draft => Severity::Warning,
        };
        self.push(code, severity, path.unwrap_or(item.as_str()), item, message);
    }
}

impl<'a> Validator<'a> {
    pub fn new(catalogue: &'a Catalogue, reference: &'a dyn Reference) -> Self {
        Self {
            catalogue,
            reference,
        }
    }

    /// Every issue of the whole report, including answers to items the set does not have.
    pub fn validate(&self, set: &ItemSet, answers: &Answers, mode: Mode) -> Vec<Issue> {
        let mut out = Out {
            issues: Vec::new(),
            mode,
            set,
        };
        for section in &set.sections {
            self.section(section, answers, &mut out);
        }
        for id in answers.0.keys() {
            if set.top_item(id).is_none() {
                out.error(
                    "answer.unknown_item",
                    id.as_str(),
                    id,
                    format!(
                        "項目「{id}」はこの報告様式にありません。項目IDを確かめるか、この回答を削除してください。"
                    ),
                );
            }
        }
        out.issues
    }

    /// The issues of one section (one page's 一時保存 / 入力完了). `answers` is the whole
    /// report's, since conditions may name items of other sections. `None` when the set has no
    /// such section.
    pub fn validate_section(
        &self,
        set: &ItemSet,
        section: &str,
        answers: &Answers,
        mode: Mode,
    ) -> Option<Vec<Issue>> {
        let section = set.sections.iter().find(|s| s.id == section)?;
        let mut out = Out {
            issues: Vec::new(),
            mode,
            set,
        };
        self.section(section, answers, &mut out);
        Some(out.issues)
    }

    fn section(&self, section: &super::model::Section, answers: &Answers, out: &mut Out<'_>) {
        let scope = Scope::top(answers);
        for item in &section.items {
            if !scope.shows(item) {
                continue;
            }
            self.item(
                item,
                answers.0.get(&item.id),
                &item.id.0,
                &item.id,
                scope,
                out,
            );
        }
        for rule in &section.rules {
            self.rule(rule, scope, out);
        }
    }

    /// One visible item's answer (`None`: unanswered).
    fn item(
        &self,
        item: &Item,
        value: Option<&Value>,
        path: &str,
        top: &ItemId,
        scope: Scope<'_>,
        out: &mut Out<'_>,
    ) {
        let label = &item.label;
        let complete = out.mode == Mode::Complete;
        let blank = value.is_none_or(Value::is_blank);
        if let ItemKind::Group { min, .. } = &item.kind {
            let rows = match value {
                Some(Value::Group(rows)) => rows.len(),
                _ => 0,
            };
            let min = (*min).max(u32::from(item.required)) as usize;
            if complete && rows < min && value.is_none_or(|v| v.fits(&item.kind)) {
                out.error(
                    "required",
                    path,
                    top,
                    if min <= 1 {
                        format!("{label}を入力してください。")
                    } else {
                        format!(
                            "{label}を{min}件以上入力してください（{rows}件入力されています）。"
                        )
                    },
                );
            }
        } else if complete && item.required && blank {
            let verb = match item.kind {
                ItemKind::Choice { .. } | ItemKind::MultiChoice { .. } | ItemKind::YesNoUnknown => {
                    "選択"
                }
                _ => "入力",
            };
            out.error(
                "required",
                path,
                top,
                format!("{label}を{verb}してください。"),
            );
            return;
        }
        let Some(value) = value else { return };
        if !value.fits(&item.kind) {
            out.error(
                "answer.type",
                path,
                top,
                format!(
                    "{label}の回答の形式が正しくありません。{}で入力し直してください。",
                    item.kind.expected()
                ),
            );
            return;
        }
        match (&item.kind, value) {
            (
                ItemKind::Text {
                    max_length,
                    multiline,
                    format,
                },
                Value::Text(text),
            ) => {
                self.text(label, text, *max_length, *multiline, path, top, out);
                if let Some(format) = format
                    && !text.trim().is_empty()
                {
                    text_format(*format, label, text, path, top, out);
                }
            }
            (ItemKind::Kana { max_length }, Value::Text(text)) => {
                self.text(label, text, *max_length, false, path, top, out);
                if !text.trim().is_empty() && !is_katakana_reading(&nfkc(text)) {
                    out.error(
                        "kana.not_katakana",
                        path,
                        top,
                        format!("{label}は全角カタカナで入力してください。"),
                    );
                }
            }
            (
                ItemKind::Number {
                    unit,
                    min,
                    max,
                    integer,
                },
                Value::Number(n),
            ) => {
                let unit = unit.as_deref().unwrap_or_default();
                if !n.is_finite() {
                    out.error(
                        "number.invalid",
                        path,
                        top,
                        format!("{label}は数値で入力してください。"),
                    );
                } else if *integer && n.fract() != 0.0 {
                    out.error(
                        "number.integer",
                        path,
                        top,
                        format!("{label}は整数で入力してください（入力値: {n}）。"),
                    );
                } else if let Some(min) = min.filter(|m| n < m) {
                    out.error(
                        "number.min",
                        path,
                        top,
                        format!("{label}は{min}{unit}以上で入力してください（入力値: {n}）。"),
                    );
                } else if let Some(max) = max.filter(|m| n > m) {
                    out.error(
                        "number.max",
                        path,
                        top,
                        format!("{label}は{max}{unit}以下で入力してください（入力値: {n}）。"),
                    );
                }
            }
            (ItemKind::YesNoUnknown, Value::Choice(v))
                if !v.is_empty() && !YES_NO_UNKNOWN.contains(&v.as_str()) =>
            {
                out.error(
                    "choice.unknown",
                    path,
                    top,
                    format!("{label}は「あり」「なし」「不明」から選択してください。"),
                );
            }
            (ItemKind::Choice { codes }, Value::Choice(v))
                if !v.is_empty() && self.code(codes, v).is_none() =>
            {
                out.error(
                    "choice.unknown",
                    path,
                    top,
                    format!("{label}の選択肢に「{v}」はありません。一覧から選び直してください。"),
                );
            }
            (ItemKind::MultiChoice { codes }, Value::Choices(vs)) => {
                let mut seen = std::collections::BTreeSet::new();
                for v in vs {
                    if self.code(codes, v).is_none() {
                        out.error(
                            "choice.unknown",
                            path,
                            top,
                            format!(
                                "{label}の選択肢に「{v}」はありません。一覧から選び直してください。"
                            ),
                        );
                    } else if !seen.insert(v) {
                        let shown = self.code(codes, v).map_or(v.as_str(), |c| &c.label);
                        out.error(
                            "choice.duplicate",
                            path,
                            top,
                            format!("{label}で「{shown}」が2回選ばれています。1つにしてください。"),
                        );
                    }
                }
            }
            (
                ItemKind::Hours {
                    max_slots,
                    night_expected_if,
                },
                Value::Hours(hours),
            ) => {
                let rules = HoursRules {
                    max_slots: usize::from(*max_slots),
                    night_expected: night_expected_if.as_ref().is_some_and(|c| scope.holds(c)),
                    complete: complete && item.required,
                };
                for p in hours.check(rules) {
                    let at = match p.at {
                        HoursPlace::Table => path.to_owned(),
                        HoursPlace::Day(d) => format!("{path}.{}", d.id()),
                        HoursPlace::Slot(d, i) => format!("{path}.{}[{i}]", d.id()),
                        HoursPlace::ClosedWeek(i) => format!("{path}.closed_weeks[{i}]"),
                        HoursPlace::ClosedPeriod(i) => format!("{path}.closed_periods[{i}]"),
                    };
                    out.push(
                        p.code,
                        p.severity,
                        &at,
                        top,
                        format!("{label}：{}", p.message),
                    );
                }
            }
            (ItemKind::Group { max, items, .. }, Value::Group(rows)) => {
                if rows.len() > *max as usize {
                    out.error(
                        "group.max",
                        path,
                        top,
                        format!(
                            "{label}は{max}件まで入力できます（{}件入力されています）。",
                            rows.len()
                        ),
                    );
                }
                for (i, row) in rows.iter().enumerate() {
                    let row_scope = scope.in_row(row);
                    for member in items {
                        if !row_scope.shows(member) {
                            continue;
                        }
                        let member_path = row_path(path, i, &member.id);
                        let before = out.issues.len();
                        self.item(
                            member,
                            row.0.get(&member.id),
                            &member_path,
                            top,
                            row_scope,
                            out,
                        );
                        for issue in &mut out.issues[before..] {
                            issue.message = format!("{}{}", row_prefix(label, i), issue.message);
                        }
                    }
                    for id in row.0.keys() {
                        if !items.iter().any(|m| &m.id == id) {
                            out.error(
                                "answer.unknown_item",
                                &format!("{path}[{i}]"),
                                top,
                                format!(
                                    "項目「{id}」は{label}にありません。項目IDを確かめるか、この回答を削除してください。"
                                ),
                            );
                        }
                    }
                }
            }
            (ItemKind::CodedList { codes, count_flag }, Value::Coded(answers)) => {
                for (code, answer) in answers {
                    let at = format!("{path}.{code}");
                    let Some(c) = self.code(codes, code) else {
                        out.error(
                            "coded.unknown_code",
                            &at,
                            top,
                            format!("{label}にコード「{code}」はありません。一覧から選び直してください。"),
                        );
                        continue;
                    };
                    let counted = count_flag.as_ref().is_some_and(|f| c.flags.contains(f));
                    if answer.count.is_some() && !counted {
                        out.error(
                            "coded.count_not_applicable",
                            &at,
                            top,
                            format!("{}：{COUNT_NOT_APPLICABLE}", c.label),
                        );
                    } else if complete && counted && answer.available && answer.count.is_none() {
                        out.error(
                            "coded.count_required",
                            &at,
                            top,
                            format!(
                                "{}：前年度実施件数を入力してください（実施がなかった場合は0）。",
                                c.label
                            ),
                        );
                    }
                }
            }
            // Date: any date is a date (S0 even suggests a 開設日 a hundred years ahead).
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn text(
        &self,
        label: &str,
        text: &str,
        max_length: u32,
        multiline: bool,
        path: &str,
        top: &ItemId,
        out: &mut Out<'_>,
    ) {
        let n = text.chars().count();
        if n > max_length as usize {
            out.error(
                "text.too_long",
                path,
                top,
                format!(
                    "{label}は{max_length}文字以内で入力してください（{n}文字入力されています）。"
                ),
            );
        }
        if text
            .chars()
            .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
        {
            out.error(
                "text.control",
                path,
                top,
                if multiline {
                    format!(
                        "{label}に使えない制御文字が含まれています。削除してから保存してください。"
                    )
                } else {
                    format!("{label}は改行せずに1行で入力してください。")
                },
            );
        }
    }

    fn code(&self, list: &str, code: &str) -> Option<&'a super::model::Code> {
        self.catalogue.code_lists.get(list)?.get(code)
    }

    fn rule(&self, rule: &Rule, scope: Scope<'_>, out: &mut Out<'_>) {
        let set = out.set;
        // A hidden item counts as unanswered.
        let visible = |id: &ItemId| -> Option<&Value> {
            let item = set.item(id.as_str())?;
            scope.shows(item).then(|| scope.answers.0.get(id)).flatten()
        };
        let label = |id: &ItemId| {
            set.item(id.as_str())
                .map_or(id.0.clone(), |i| i.label.clone())
        };
        let number = |id: &ItemId| match visible(id) {
            Some(Value::Number(n)) if n.is_finite() => Some(*n),
            _ => None,
        };
        match rule {
            Rule::PostalAddress { postal, address } => {
                let (Some(Value::Text(p)), Some(Value::Text(a))) =
                    (visible(postal), visible(address))
                else {
                    return;
                };
                let Ok(code) = PostalCode::parse(p) else {
                    return; // reported by the postal code's own format
                };
                if a.trim().is_empty() {
                    return;
                }
                if let Err(detail) = self.reference.check_address(code, a) {
                    out.rule(
                        "address.mismatch",
                        Severity::Error,
                        address,
                        None,
                        format!("{ADDRESS_MISMATCH}{detail}"),
                    );
                }
            }
            Rule::DateOrder { items } => {
                let dates: Vec<(&ItemId, chrono::NaiveDate)> = items
                    .iter()
                    .filter_map(|id| match visible(id) {
                        Some(Value::Date(d)) => Some((id, *d)),
                        _ => None,
                    })
                    .collect();
                for (j, (later, d_later)) in dates.iter().enumerate() {
                    if let Some((earlier, d_earlier)) = dates[..j].iter().find(|(_, d)| d > d_later)
                    {
                        out.rule(
                            "dates.order",
                            Severity::Error,
                            later,
                            None,
                            format!(
                                "{}（{d_later}）は{}（{d_earlier}）以降の日付にしてください。",
                                label(later),
                                label(earlier)
                            ),
                        );
                    }
                }
            }
            Rule::SumRange {
                items,
                min,
                max,
                label: what,
                severity,
            } => {
                let values: Vec<f64> = items.iter().filter_map(&number).collect();
                // Nothing visible: the rule has nothing to say (a clinic without beds).
                if values.is_empty() {
                    return;
                }
                let sum: f64 = values.iter().sum();
                let at = &items[0];
                if let Some(min) = min.filter(|m| sum < *m) {
                    out.rule(
                        "sum.min",
                        *severity,
                        at,
                        None,
                        format!("{what}の合計（{sum}）は{min}以上にしてください。"),
                    );
                } else if let Some(max) = max.filter(|m| sum > *m) {
                    out.rule(
                        "sum.max",
                        *severity,
                        at,
                        None,
                        format!("{what}の合計（{sum}）は{max}以下にしてください。"),
                    );
                }
            }
            Rule::PartsWithin { total, parts } => {
                let Some(t) = number(total) else { return };
                let sum: f64 = parts.iter().filter_map(&number).sum();
                if sum > t {
                    let names: Vec<String> = parts.iter().map(&label).collect();
                    out.rule(
                        "sum.parts",
                        Severity::Error,
                        &parts[0],
                        None,
                        format!(
                            "{}の合計（{sum}）が{}（{t}）を超えています。内訳か{}の数を直してください。",
                            names.join("と"),
                            label(total),
                            label(total)
                        ),
                    );
                }
            }
            Rule::Unique { group, member } => {
                let Some(Value::Group(rows)) = visible(group) else {
                    return;
                };
                let codes = set
                    .item(member.as_str())
                    .and_then(|m| m.kind.code_list())
                    .and_then(|l| self.catalogue.code_lists.get(l));
                let mut seen: BTreeMap<String, usize> = BTreeMap::new();
                for (i, row) in rows.iter().enumerate() {
                    let key = match row.0.get(member) {
                        Some(Value::Text(s) | Value::Choice(s)) if !s.trim().is_empty() => {
                            s.trim().to_owned()
                        }
                        Some(Value::Number(n)) => n.to_string(),
                        Some(Value::Date(d)) => d.to_string(),
                        _ => continue,
                    };
                    if let Some(first) = seen.get(&key) {
                        let shown = codes
                            .and_then(|l| l.get(&key))
                            .map_or(key.clone(), |c| c.label.clone());
                        out.rule(
                            "group.duplicate",
                            Severity::Error,
                            group,
                            Some(&row_path(group.as_str(), i, member)),
                            format!(
                                "{}{}「{shown}」は{}件目と同じです。どちらかを削除するか、別の{}を選んでください。",
                                row_prefix(&label(group), i),
                                label(member),
                                first + 1,
                                label(member)
                            ),
                        );
                    } else {
                        seen.insert(key, i);
                    }
                }
            }
        }
    }
}

/// The path of a member in a group row: `basic.departments[0].hours`.
fn row_path(group_path: &str, row: usize, member: &ItemId) -> String {
    format!("{group_path}[{row}].{}", member.local())
}

/// What a message about a group row starts with: 「診療科目（2件目）：」.
fn row_prefix(group_label: &str, row: usize) -> String {
    format!("{group_label}（{}件目）：", row + 1)
}

fn text_format(
    format: TextFormat,
    label: &str,
    text: &str,
    path: &str,
    top: &ItemId,
    out: &mut Out<'_>,
) {
    match format {
        TextFormat::PostalCode => {
            if PostalCode::parse(text).is_err() {
                out.error(
                    "text.postal_code",
                    path,
                    top,
                    format!("{label}は7桁の数字で入力してください（例: 920-0962）。"),
                );
            }
        }
        TextFormat::Phone => {
            let digits = crate::text::code_chars(text);
            let ok = digits.starts_with('0')
                && (10..=11).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit());
            if !ok {
                out.error(
                    "text.phone",
                    path,
                    top,
                    format!(
                        "{label}は市外局番から10桁または11桁の番号を入力してください（例: 076-225-1111）。"
                    ),
                );
            }
        }
        TextFormat::Url => {
            let folded = nfkc(text.trim());
            let lower = folded.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"));
            let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
            let redirect = [
                "google.com/url?",
                "google.co.jp/url?",
                "bing.com/ck/",
                "search.yahoo.co.jp/r/",
            ]
            .iter()
            .any(|r| lower.contains(r));
            // Length is the item's `max_length` (300 for the homepage items, DOMAIN §10).
            if host.is_none_or(|h| !h.contains('.') || h.starts_with('.'))
                || folded.chars().any(char::is_whitespace)
            {
                out.error(
                    "text.url",
                    path,
                    top,
                    format!(
                        "{label}は http:// または https:// から始まるアドレスを入力してください（例: https://www.example.jp/）。"
                    ),
                );
            } else if redirect {
                out.error(
                    "text.url_redirect",
                    path,
                    top,
                    format!(
                        "{label}に検索サイトの転送用リンクが入力されています。ホームページを開いたときのアドレスを入力してください。"
                    ),
                );
            }
        }
        TextFormat::Email => {
            // 全角 letters folded first, as people type them.
            if !crate::text::is_email(&nfkc(text)) {
                out.error(
                    "text.email",
                    path,
                    top,
                    format!(
                        "{label}はメールアドレスの形式で入力してください（例: info@example.jp）。"
                    ),
                );
            }
        }
        TextFormat::InsuranceCode => match InsuranceCode::parse(text) {
            Ok(_) => {}
            Err(e @ CodeError::InsuranceCheckDigit { .. }) => out.push(
                e.code(),
                Severity::Warning,
                path,
                top,
                format!("{e}誤りがなければ、このまま進めます。"),
            ),
            Err(e) => out.error(e.code(), path, top, e.to_string()),
        },
    }
}
