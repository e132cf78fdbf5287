//! The largest report an item set allows, and a realistic revision of it: what the 差異表示
//! benchmark and its test build "the largest synthetic hospital" from (issue 6). Everything is
//! derived from the item set — group maxima, code lists, text lengths, number ranges, the number
//! of 時間帯 an hours table takes — so a bigger item set next year makes a bigger report without
//! touching this file.
//!
//! [`answers`] fills every item the set has for its kind:
//! - text at its `max_length` (formatted text with a valid value of its format: the postal code
//!   and 所在地 of a rule agree, URLs and mail addresses are as long as the format allows);
//! - numbers at their maximum, then lowered where a rule needs it (内訳 within the total, a sum
//!   with a maximum);
//! - every code of a multi-choice and of a coded list (対応可能, with a 前年度実施件数 for the
//!   codes carrying the count flag);
//! - hours tables open every day type (月–日, 祝) with `max_slots` 時間帯 and 受付時間, 定期週 and
//!   dated closures and a note of the longest length;
//! - groups with `max_count` rows (no more rows than codes where a `unique` rule forbids
//!   repeating one), each row filled the same way;
//! - choices that other items depend on take the value that shows those items, and an item
//!   hidden by its condition is left unanswered, as the section pages store it.
//!
//! Left blank: 休止日 and 廃止日 ([`LEFT_BLANK`]) — answering them would make the largest
//! hospital a 休止・廃止 facility on 確認完了, which is not the report being measured.
//!
//! The answers pass the validator at 入力完了 (tests: `crates/refdata/tests/largest.rs`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use teikyo_domain::forms::{
    Answers, Catalogue, CodedAnswer, Item, ItemId, ItemKind, ItemSet, Rule, Scope, TextFormat,
    Value,
};
use teikyo_domain::hours::{
    ClosedPeriod, Day, DayType, NOTE_MAX_CHARS, NthWeekday, Slot, Slots, Span, TimeOfDay,
    WeeklyHours,
};

/// Items [`answers`] leaves unanswered: the dates that close a facility (see the module docs).
pub const LEFT_BLANK: [&str; 2] = ["basic.suspended_on", "basic.abolished_on"];

/// A postal code and 所在地 that agree (金沢市広坂, where the test facilities are).
const POSTAL_CODE: &str = "920-0962";
const ADDRESS: &str = "石川県金沢市広坂1丁目1番1号";
/// A 保険医療機関コード with a correct check digit (石川県, 医科).
const INSURANCE_CODE: &str = "1710123454";
const PHONE: &str = "076-220-2111";
/// A number item without a maximum gets this many (no item has one today).
const UNBOUNDED: f64 = 9999.0;

/// The new report of [`revise`] and the top-level items it changed.
#[derive(Debug, Clone)]
pub struct Revision {
    pub answers: Answers,
    pub changed: BTreeSet<ItemId>,
}

/// Every item of `set` answered at the maximum the set allows (module docs).
pub fn answers(catalogue: &Catalogue, set: &ItemSet) -> Answers {
    let filler = Filler::new(catalogue, set);
    let mut out = Answers::default();
    for item in set.items() {
        if LEFT_BLANK.contains(&item.id.as_str()) {
            continue;
        }
        if let Some(v) = filler.value(item, None, &out) {
            out.0.insert(item.id.clone(), v);
        }
    }
    fit_rules(set, &mut out);
    drop_hidden(set, &mut out);
    out
}

/// A revision of `answers` as a large hospital's next report looks: some optional items
/// withdrawn, every third text rewritten, every second number recounted, every fourth choice
/// changed, every tenth code of each multi-choice dropped, in each coded list every tenth code
/// recounted (or withdrawn where it has no count), and in each group every tenth row edited (its
/// hours now closed on Saturdays), one row replaced by an unused code and the last row removed.
/// Choices that show or hide other items, and the postal code, 所在地 and insurance code (kept
/// valid together), stay as they are. The result passes the validator as `answers` does.
pub fn revise(catalogue: &Catalogue, set: &ItemSet, answers: &Answers) -> Revision {
    let filler = Filler::new(catalogue, set);
    let mut out = answers.clone();
    let mut changed = BTreeSet::new();
    for (k, item) in set.items().enumerate() {
        let Some(old) = answers.0.get(&item.id) else {
            continue;
        };
        if filler.is_kept(&item.id) {
            continue;
        }
        let optional = !item.required && !matches!(item.kind, ItemKind::Group { min: 1.., .. });
        if k % 7 == 3 && optional {
            out.0.remove(&item.id);
            changed.insert(item.id.clone());
            continue;
        }
        if let Some(new) = filler.revised(item, k, old, answers)
            && &new != old
        {
            out.0.insert(item.id.clone(), new);
            changed.insert(item.id.clone());
        }
    }
    drop_hidden(set, &mut out);
    Revision {
        answers: out,
        changed,
    }
}

/// What filling needs to know about the set beyond one item.
struct Filler<'a> {
    catalogue: &'a Catalogue,
    fiscal_year: i32,
    /// For each item another item's condition looks at, the first value that shows it.
    shows: BTreeMap<&'a ItemId, &'a str>,
    /// Every value some condition looks for, per item.
    condition_values: BTreeMap<&'a ItemId, BTreeSet<&'a str>>,
    /// Members whose answer must differ from row to row (`unique` rules).
    unique: BTreeSet<&'a ItemId>,
    /// 所在地 items of `postal_address` rules, and their postal codes.
    addresses: BTreeSet<&'a ItemId>,
    postal_codes: BTreeSet<&'a ItemId>,
    /// Totals of `parts_within` rules: lowering one could put its parts over it.
    totals: BTreeSet<&'a ItemId>,
}

impl<'a> Filler<'a> {
    fn new(catalogue: &'a Catalogue, set: &'a ItemSet) -> Self {
        let mut f = Self {
            catalogue,
            fiscal_year: i32::from(set.fiscal_year),
            shows: BTreeMap::new(),
            condition_values: BTreeMap::new(),
            unique: BTreeSet::new(),
            addresses: BTreeSet::new(),
            postal_codes: BTreeSet::new(),
            totals: BTreeSet::new(),
        };
        fn conditions<'a>(items: &'a [Item], f: &mut Filler<'a>) {
            for i in items {
                if let Some(c) = &i.visible_if {
                    if let Some(first) = c.any_of.first() {
                        f.shows.entry(&c.item).or_insert(first.as_str());
                    }
                    f.condition_values
                        .entry(&c.item)
                        .or_default()
                        .extend(c.any_of.iter().map(String::as_str));
                }
                if let ItemKind::Group { items, .. } = &i.kind {
                    conditions(items, f);
                }
            }
        }
        for s in &set.sections {
            conditions(&s.items, &mut f);
            for r in &s.rules {
                match r {
                    Rule::Unique { member, .. } => {
                        f.unique.insert(member);
                    }
                    Rule::PostalAddress { postal, address } => {
                        f.postal_codes.insert(postal);
                        f.addresses.insert(address);
                    }
                    Rule::PartsWithin { total, .. } => {
                        f.totals.insert(total);
                    }
                    Rule::DateOrder { .. } | Rule::SumRange { .. } => {}
                }
            }
        }
        f
    }

    fn codes(&self, list: &str) -> &'a [teikyo_domain::forms::Code] {
        self.catalogue
            .code_lists
            .get(list)
            .map_or(&[], |l| l.codes.as_slice())
    }

    /// Items a revision leaves alone: what shows or hides others, and values valid only together.
    fn is_kept(&self, id: &ItemId) -> bool {
        self.shows.contains_key(id) || self.addresses.contains(id) || self.postal_codes.contains(id)
    }

    /// The value of top-level `item` (`row` None) or of a member in row `row` of its group;
    /// `None` when the item cannot be answered (a choice from an empty list). `scope` holds the
    /// top-level answers filled so far.
    fn value(&self, item: &Item, row: Option<usize>, scope: &Answers) -> Option<Value> {
        Some(match &item.kind {
            ItemKind::Text {
                max_length, format, ..
            } => Value::Text(self.text(item, *max_length as usize, *format, row, 0)),
            ItemKind::Kana { max_length } => Value::Text(kana(*max_length as usize, 0)),
            ItemKind::Number { max, integer, .. } => {
                let n = max.unwrap_or(UNBOUNDED);
                Value::Number(if *integer { n.floor() } else { n })
            }
            // 開設日 (the only date answered) is the same whatever the item set's year.
            ItemKind::Date => Value::Date(NaiveDate::from_ymd_opt(1985, 4, 1).unwrap_or_default()),
            ItemKind::YesNoUnknown => Value::Choice(
                self.shows
                    .get(&item.id)
                    .copied()
                    .filter(|_| row.is_none())
                    .unwrap_or("yes")
                    .to_owned(),
            ),
            ItemKind::Choice { codes } => Value::Choice(self.choice(item, codes, row)?),
            ItemKind::MultiChoice { codes } => {
                Value::Choices(self.codes(codes).iter().map(|c| c.code.clone()).collect())
            }
            ItemKind::Hours { max_slots, .. } => Value::Hours(self.hours(*max_slots)),
            ItemKind::Group { max, items, .. } => {
                let rows = self.rows(*max as usize, items);
                Value::Group(
                    (0..rows)
                        .map(|r| self.row(items, r, scope))
                        .collect::<Option<_>>()?,
                )
            }
            ItemKind::CodedList { codes, count_flag } => Value::Coded(
                self.codes(codes)
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let counted = count_flag.as_ref().is_some_and(|f| c.flags.contains(f));
                        (
                            c.code.clone(),
                            CodedAnswer {
                                available: true,
                                count: counted.then_some(count(i)),
                            },
                        )
                    })
                    .collect(),
            ),
        })
    }

    /// One group row: every member, then without the members its own answers hide.
    fn row(&self, members: &[Item], r: usize, scope: &Answers) -> Option<Answers> {
        let mut row = Answers::default();
        for m in members {
            row.0.insert(m.id.clone(), self.value(m, Some(r), scope)?);
        }
        let hidden: Vec<ItemId> = members
            .iter()
            .filter(|m| !Scope::top(scope).in_row(&row).shows(m))
            .map(|m| m.id.clone())
            .collect();
        for id in hidden {
            row.0.remove(&id);
        }
        Some(row)
    }

    /// As many rows as the group takes, but no more than a `unique` member has codes.
    fn rows(&self, max: usize, members: &[Item]) -> usize {
        members
            .iter()
            .filter(|m| self.unique.contains(&m.id))
            .filter_map(|m| m.kind.code_list())
            .map(|l| self.codes(l).len())
            .fold(max, usize::min)
    }

    /// A top-level choice: the value that shows its dependants, else the first code. In a group
    /// row: distinct codes while the list lasts; beyond it (more rows than codes, like 外国語
    /// with 「その他」), the code that shows the row's free-text member.
    fn choice(&self, item: &Item, list: &str, row: Option<usize>) -> Option<String> {
        let codes = self.codes(list);
        let Some(row) = row else {
            return match self.shows.get(&item.id) {
                Some(v) => Some((*v).to_owned()),
                None => codes.first().map(|c| c.code.clone()),
            };
        };
        if codes.is_empty() {
            return None;
        }
        if row < codes.len() {
            return Some(codes[row].code.clone());
        }
        match self.condition_values.get(&item.id) {
            Some(values) if !values.is_empty() => values
                .iter()
                .nth(row % values.len())
                .map(|v| (*v).to_owned()),
            _ => Some(codes[row % codes.len()].code.clone()),
        }
    }

    /// Text of the item's length (variant 1 is a revision of variant 0, as long).
    fn text(
        &self,
        item: &Item,
        max: usize,
        format: Option<TextFormat>,
        row: Option<usize>,
        variant: usize,
    ) -> String {
        match format {
            Some(TextFormat::PostalCode) => POSTAL_CODE.to_owned(),
            Some(TextFormat::InsuranceCode) => INSURANCE_CODE.to_owned(),
            Some(TextFormat::Phone) => {
                let mut p = PHONE.to_owned();
                p.pop();
                p.push(char::from(b'1' + (variant % 9) as u8));
                p
            }
            Some(TextFormat::Url) => {
                let host = "https://www.kanazawa-sogo.example.jp/";
                let page = if variant == 0 { 'a' } else { 'b' };
                let n = max.saturating_sub(host.len() + 1).max(1);
                format!(
                    "{host}{}/",
                    std::iter::repeat_n(page, n).collect::<String>()
                )
            }
            Some(TextFormat::Email) => {
                // A local part of 64 characters (the most RFC 5321 allows) at a short domain.
                let domain = "@kanazawa-sogo.example.jp";
                let local = max.saturating_sub(domain.len()).clamp(1, 64);
                let c = if variant == 0 { 'a' } else { 'b' };
                format!(
                    "{}{domain}",
                    std::iter::repeat_n(c, local).collect::<String>()
                )
            }
            None if self.addresses.contains(&item.id) => {
                let mut a = ADDRESS.to_owned();
                let more = max.saturating_sub(a.chars().count());
                a.extend("　金沢総合医療センター本館".chars().cycle().take(more));
                a
            }
            None => prose(&item.label, row, max, variant),
        }
    }

    /// Every day type open with `max_slots` 時間帯 between 07:00 and 22:00 (each with its 受付),
    /// the 2nd and 4th Saturdays closed, 年末年始 and お盆 as dated closures, a full note.
    fn hours(&self, max_slots: u8) -> WeeklyHours {
        let n = u16::from(max_slots.max(1));
        // 15 hours shared out in 30-minute steps, 30 minutes between 時間帯.
        let width = ((15 * 60 / n) / 30 * 30).max(60);
        let at = |m: u16| TimeOfDay::new(m / 60, m % 60).unwrap_or(TimeOfDay::MIDNIGHT);
        let slots: Vec<Slot> = (0..n)
            .map(|k| {
                let start = 7 * 60 + k * width;
                let end = start + width - 30;
                Slot {
                    start: at(start),
                    end: at(end),
                    overnight: false,
                    reception: Some(Span {
                        start: at(start),
                        end: at(end - 30),
                    }),
                }
            })
            .collect();
        let mut h = WeeklyHours::default();
        if let Some(open) = Slots::new(slots) {
            for d in DayType::ALL {
                h.days.insert(
                    d,
                    Day::Open {
                        slots: open.clone(),
                    },
                );
            }
        }
        for week in [2, 4] {
            h.closed_weeks.insert(NthWeekday {
                week,
                day: DayType::Sat,
            });
        }
        let y = self.fiscal_year;
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        h.closed_periods = vec![
            ClosedPeriod {
                from: date(y, 8, 13),
                to: date(y, 8, 16),
                note: "お盆".to_owned(),
            },
            ClosedPeriod {
                from: date(y, 12, 29),
                to: date(y + 1, 1, 3),
                note: "年末年始".to_owned(),
            },
        ];
        h.note = prose("診療時間の補足", None, NOTE_MAX_CHARS, 0);
        h
    }

    /// The revised value of top-level `item` (the `k`-th of the set), or `None` to keep it.
    fn revised(&self, item: &Item, k: usize, old: &Value, all: &Answers) -> Option<Value> {
        match (&item.kind, old) {
            (
                ItemKind::Text {
                    max_length, format, ..
                },
                Value::Text(_),
            ) if k.is_multiple_of(3) => Some(Value::Text(self.text(
                item,
                *max_length as usize,
                *format,
                None,
                1,
            ))),
            (ItemKind::Kana { max_length }, Value::Text(_)) if k.is_multiple_of(3) => {
                Some(Value::Text(kana(*max_length as usize, 1)))
            }
            (ItemKind::Number { min, .. }, Value::Number(n))
                if k.is_multiple_of(2) && !self.totals.contains(&item.id) =>
            {
                (n - 1.0 >= min.unwrap_or(f64::MIN)).then(|| Value::Number(n - 1.0))
            }
            (ItemKind::YesNoUnknown, Value::Choice(c)) if k.is_multiple_of(4) => Some(
                Value::Choice(if c == "yes" { "no" } else { "yes" }.to_owned()),
            ),
            (ItemKind::Choice { codes }, Value::Choice(c)) if k.is_multiple_of(4) => {
                let codes = self.codes(codes);
                let at = codes.iter().position(|x| &x.code == c)?;
                codes
                    .get((at + 1) % codes.len())
                    .map(|x| Value::Choice(x.code.clone()))
            }
            (ItemKind::MultiChoice { .. }, Value::Choices(cs)) if k.is_multiple_of(2) => {
                let needed = self.condition_values.get(&item.id);
                Some(Value::Choices(
                    cs.iter()
                        .enumerate()
                        .filter(|(i, c)| {
                            !i.is_multiple_of(10) || needed.is_some_and(|n| n.contains(c.as_str()))
                        })
                        .map(|(_, c)| c.clone())
                        .collect(),
                ))
            }
            (ItemKind::Hours { .. }, Value::Hours(h)) => Some(Value::Hours(saturdays_closed(h))),
            (ItemKind::Group { min, items, .. }, Value::Group(rows)) => Some(Value::Group(
                self.revised_rows(*min as usize, items, rows, all),
            )),
            (ItemKind::CodedList { .. }, Value::Coded(m)) => Some(Value::Coded(
                m.iter()
                    .enumerate()
                    .filter_map(|(i, (code, a))| {
                        let a = match (i % 10, a.count) {
                            (0, Some(n)) => CodedAnswer {
                                count: Some(n + 1),
                                ..a.clone()
                            },
                            (0, None) => return None,
                            _ => a.clone(),
                        };
                        Some((code.clone(), a))
                    })
                    .collect(),
            )),
            _ => None,
        }
    }

    /// Every tenth row edited, row 5 given a code no row has (when the list has one to spare),
    /// the last row removed while the group keeps its minimum.
    fn revised_rows(
        &self,
        min_rows: usize,
        members: &[Item],
        rows: &[Answers],
        all: &Answers,
    ) -> Vec<Answers> {
        let mut out: Vec<Answers> = rows.to_vec();
        for (i, row) in out
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| i.is_multiple_of(10))
        {
            for m in members {
                let Some(v) = row.0.get(&m.id) else { continue };
                let new = match (&m.kind, v) {
                    (
                        ItemKind::Text {
                            max_length,
                            format: None,
                            ..
                        },
                        Value::Text(_),
                    ) => Value::Text(prose(&m.label, Some(i), *max_length as usize, 1)),
                    (ItemKind::Number { min, .. }, Value::Number(n))
                        if n - 1.0 >= min.unwrap_or(f64::MIN) =>
                    {
                        Value::Number(n - 1.0)
                    }
                    (ItemKind::Hours { .. }, Value::Hours(h)) => Value::Hours(saturdays_closed(h)),
                    _ => continue,
                };
                row.0.insert(m.id.clone(), new);
            }
        }
        // The row's key: its first choice member; a code no row uses yet replaces row 5's.
        if let Some(key) = members
            .iter()
            .find(|m| matches!(m.kind, ItemKind::Choice { .. }))
            && let Some(list) = key.kind.code_list()
        {
            let used: Vec<&Value> = rows.iter().filter_map(|r| r.0.get(&key.id)).collect();
            let spare = self
                .codes(list)
                .iter()
                .map(|c| Value::Choice(c.code.clone()))
                .find(|c| !used.contains(&c));
            if let (Some(spare), Some(row)) = (spare, out.get_mut(5)) {
                row.0.insert(key.id.clone(), spare);
                // Its dependants follow the new code: shown ones filled, hidden ones dropped.
                for m in members.iter().filter(|m| m.visible_if.is_some()) {
                    if Scope::top(all).in_row(row).shows(m) {
                        if !row.0.contains_key(&m.id)
                            && let Some(v) = self.value(m, Some(5), all)
                        {
                            row.0.insert(m.id.clone(), v);
                        }
                    } else {
                        row.0.remove(&m.id);
                    }
                }
            }
        }
        if out.len() > min_rows.max(1) {
            out.pop();
        }
        out
    }
}

/// Saturdays closed (both the weekly column and the 定期週 that no longer apply).
fn saturdays_closed(h: &WeeklyHours) -> WeeklyHours {
    let mut h = h.clone();
    h.days.insert(DayType::Sat, Day::Closed);
    h.closed_weeks.retain(|w| w.day != DayType::Sat);
    h
}

/// A 前年度実施件数 for the `i`-th code: spread over 1–500.
fn count(i: usize) -> u32 {
    u32::try_from(i * 37 % 500 + 1).unwrap_or(1)
}

/// Polite Japanese prose about `label` (and the row, inside a group) of exactly `n` characters.
fn prose(label: &str, row: Option<usize>, n: usize, variant: usize) -> String {
    let body = if variant == 0 {
        "について、地域の皆様に安心して受診していただけるよう、体制を整えております。詳しくは窓口でお尋ねください。"
    } else {
        "について、令和8年度から体制を見直しました。ご不明な点は、お電話または窓口でお問い合わせください。"
    };
    let head = match row {
        None => label.to_owned(),
        Some(r) => format!("（{}）{label}", r + 1),
    };
    head.chars().chain(body.chars().cycle()).take(n).collect()
}

/// A 全角カタカナ reading of `n` characters.
fn kana(n: usize, variant: usize) -> String {
    let base = if variant == 0 {
        "カナザワソウゴウイリョウセンター"
    } else {
        "イリョウホウジンカナザワソウゴウ"
    };
    base.chars().cycle().take(n).collect()
}

/// Numbers lowered where the set's rules need it: a sum with a maximum is shared out, the 内訳
/// of a total split evenly within it.
fn fit_rules(set: &ItemSet, a: &mut Answers) {
    let number = |a: &Answers, id: &ItemId| match a.0.get(id) {
        Some(Value::Number(n)) => Some(*n),
        _ => None,
    };
    for rule in set.sections.iter().flat_map(|s| &s.rules) {
        if let Rule::SumRange {
            items,
            max: Some(max),
            ..
        } = rule
        {
            let present: Vec<&ItemId> = items.iter().filter(|id| number(a, id).is_some()).collect();
            let sum: f64 = present.iter().filter_map(|id| number(a, id)).sum();
            if sum > *max && !present.is_empty() {
                let share = (max / present.len() as f64).floor();
                for (i, id) in present.iter().enumerate() {
                    let extra = if i == 0 {
                        max - share * present.len() as f64
                    } else {
                        0.0
                    };
                    a.0.insert((*id).clone(), Value::Number(share + extra));
                }
            }
        }
    }
    for rule in set.sections.iter().flat_map(|s| &s.rules) {
        if let Rule::PartsWithin { total, parts } = rule
            && let Some(t) = number(a, total)
        {
            let share = (t / parts.len().max(1) as f64).floor();
            for p in parts {
                if number(a, p).is_some() {
                    a.0.insert(p.clone(), Value::Number(share));
                }
            }
        }
    }
}

/// Removes answers to items their conditions hide, until none is left (a hidden item may be
/// what shows another).
fn drop_hidden(set: &ItemSet, a: &mut Answers) {
    loop {
        let hidden: Vec<ItemId> = set
            .items()
            .filter(|i| a.0.contains_key(&i.id) && !Scope::top(a).shows(i))
            .map(|i| i.id.clone())
            .collect();
        if hidden.is_empty() {
            return;
        }
        for id in hidden {
            a.0.remove(&id);
        }
    }
}
