//! A section's answers as HTML form fields and back. Field names are the validator's paths
//! (`basic.departments[0].hours.mon[1].start`), so an issue finds its field by name.
//!
//! What cannot become an answer (「十九」 in a number field, 25:00, a slot with only a start) is
//! an input issue on the field, and the page keeps what was typed: nothing is lost, nothing is
//! guessed. Blank and deleted rows of repeated groups and closed periods are dropped and the
//! rest renumbered *in the fields* before reading them, so the fields shown again after a failed
//! save and the validator's paths agree.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use teikyo_domain::Severity;
use teikyo_domain::forms::{
    Answers, Catalogue, CodedAnswer, Issue, Item, ItemId, ItemKind, Section, Value,
};
use teikyo_domain::hours::{
    ClosedPeriod, Day, DayType, NthWeekday, Slot, Slots, Span, TimeOfDay, WeeklyHours,
};
use teikyo_domain::text::nfkc;

/// Posted or prepared form fields: name → values (several for check boxes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FormFields(BTreeMap<String, Vec<String>>);

/// Fields of the page itself, not answers.
const CONTROL_FIELDS: [&str; 3] = ["_csrf", "action", "version"];

impl FormFields {
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut out = Self::default();
        for (k, v) in pairs {
            if !CONTROL_FIELDS.contains(&k.as_str()) {
                out.push(&k, v);
            }
        }
        out
    }

    pub(crate) fn one(&self, name: &str) -> &str {
        self.0
            .get(name)
            .and_then(|v| v.iter().find(|s| !s.is_empty()).or(v.first()))
            .map_or("", String::as_str)
    }

    pub(crate) fn all(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn checked(&self, name: &str) -> bool {
        self.all(name).iter().any(|v| !v.is_empty())
    }

    pub(crate) fn set(&mut self, name: &str, value: String) {
        self.0.insert(name.to_owned(), vec![value]);
    }

    fn push(&mut self, name: &str, value: String) {
        self.0.entry(name.to_owned()).or_default().push(value);
    }

    /// How many rows the page showed for `key` (`…rows`, `…periods`).
    pub(crate) fn count(&self, key: &str) -> usize {
        self.one(key).trim().parse().unwrap_or(0).min(MAX_ROWS)
    }

    /// Drops the blank and deleted rows under `base` (`base[i].…`) and renumbers the rest;
    /// `count_key` holds the number of rows. Returns the new count.
    fn compact_rows(&mut self, base: &str, count_key: &str) -> usize {
        let open = format!("{base}[");
        let mut rows: BTreeMap<usize, Vec<(String, Vec<String>)>> = BTreeMap::new();
        let keys: Vec<String> = self
            .0
            .range(open.clone()..)
            .take_while(|(k, _)| k.starts_with(&open))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let Some((index, rest)) = key[open.len()..].split_once(']') else {
                continue;
            };
            let Ok(index) = index.parse::<usize>() else {
                continue;
            };
            if let Some(values) = self.0.remove(&key) {
                rows.entry(index)
                    .or_default()
                    .push((rest.to_owned(), values));
            }
        }
        let mut n = 0;
        for fields in rows.into_values() {
            let deleted = fields
                .iter()
                .any(|(rest, v)| rest == "._delete" && v.iter().any(|s| !s.is_empty()));
            // The row counts of nested lists (an hours table's closed periods) say how many
            // rows were shown, not that anything was entered.
            let blank = fields
                .iter()
                .filter(|(rest, _)| !rest.ends_with(".periods") && !rest.ends_with(".rows"))
                .all(|(_, v)| v.iter().all(|s| s.trim().is_empty()));
            if deleted || blank {
                continue;
            }
            for (rest, values) in fields {
                if rest != "._delete" {
                    self.0.insert(format!("{base}[{n}]{rest}"), values);
                }
            }
            n += 1;
        }
        self.set(count_key, n.to_string());
        n
    }

    /// One more (blank) row under `count_key` (「行を追加」).
    pub(crate) fn add_row(&mut self, count_key: &str) {
        let n = self.count(count_key) + 1;
        self.set(count_key, n.to_string());
    }
}

/// More rows than any group allows are not read (a crafted `rows=10000000`).
const MAX_ROWS: usize = 500;

/// The count field of a group's rows.
pub(crate) fn rows_key(path: &str) -> String {
    format!("{path}.rows")
}

/// The count field of an hours table's closed periods.
pub(crate) fn periods_key(path: &str) -> String {
    format!("{path}.periods")
}

// ---- answers → fields ----

pub(crate) fn encode(section: &Section, answers: &Answers) -> FormFields {
    let mut out = FormFields::default();
    for item in &section.items {
        if let Some(v) = answers.0.get(&item.id) {
            encode_item(item, v, item.id.as_str(), &mut out);
        }
    }
    out
}

pub(crate) fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

fn encode_item(item: &Item, value: &Value, path: &str, out: &mut FormFields) {
    match (&item.kind, value) {
        (ItemKind::Group { items, .. }, Value::Group(rows)) => {
            out.set(&rows_key(path), rows.len().to_string());
            for (i, row) in rows.iter().enumerate() {
                for m in items {
                    if let Some(v) = row.0.get(&m.id) {
                        encode_item(m, v, &format!("{path}[{i}].{}", m.id.local()), out);
                    }
                }
            }
        }
        (_, Value::Text(s) | Value::Choice(s)) => out.set(path, s.clone()),
        (_, Value::Number(n)) => out.set(path, number_text(*n)),
        (_, Value::Date(d)) => out.set(path, d.format("%Y-%m-%d").to_string()),
        (_, Value::Choices(codes)) => {
            for c in codes {
                out.push(path, c.clone());
            }
        }
        (_, Value::Hours(h)) => encode_hours(h, path, out),
        (_, Value::Coded(map)) => {
            for (code, a) in map {
                if a.available {
                    out.set(&format!("{path}.{code}.available"), "1".into());
                }
                if let Some(c) = a.count {
                    out.set(&format!("{path}.{code}.count"), c.to_string());
                }
            }
        }
        // A value of the wrong type is shown as nothing; the stored answer stays until saved.
        (_, Value::Group(_)) => {}
    }
}

fn encode_hours(h: &WeeklyHours, path: &str, out: &mut FormFields) {
    for (day, d) in &h.days {
        let p = format!("{path}.{}", day.id());
        let status = match d {
            Day::Closed => "closed",
            Day::AllDay => "all_day",
            Day::Varies => "varies",
            Day::Open { slots } => {
                for (i, s) in slots.as_slice().iter().enumerate() {
                    let sp = format!("{p}[{i}]");
                    out.set(&format!("{sp}.start"), s.start.to_string());
                    out.set(&format!("{sp}.end"), s.end.to_string());
                    if s.overnight {
                        out.set(&format!("{sp}.overnight"), "1".into());
                    }
                    if let Some(r) = s.reception {
                        out.set(&format!("{sp}.reception_start"), r.start.to_string());
                        out.set(&format!("{sp}.reception_end"), r.end.to_string());
                    }
                }
                "open"
            }
        };
        out.set(&format!("{p}.status"), status.into());
    }
    for w in &h.closed_weeks {
        out.push(&format!("{path}.closed_weeks"), week_value(*w));
    }
    out.set(&periods_key(path), h.closed_periods.len().to_string());
    for (j, c) in h.closed_periods.iter().enumerate() {
        let cp = format!("{path}.closed_periods[{j}]");
        out.set(&format!("{cp}.from"), c.from.format("%Y-%m-%d").to_string());
        out.set(&format!("{cp}.to"), c.to.format("%Y-%m-%d").to_string());
        if !c.note.is_empty() {
            out.set(&format!("{cp}.note"), c.note.clone());
        }
    }
    if !h.note.is_empty() {
        out.set(&format!("{path}.note"), h.note.clone());
    }
}

/// `2-sat` for 第2土曜.
pub(crate) fn week_value(w: NthWeekday) -> String {
    format!("{}-{}", w.week, w.day.id())
}

fn parse_week(v: &str) -> Option<NthWeekday> {
    let (n, d) = v.split_once('-')?;
    let week: u8 = n.parse().ok()?;
    let day = DayType::parse(d)?;
    ((1..=5).contains(&week) && day != DayType::Holiday).then_some(NthWeekday { week, day })
}

// ---- fields → answers ----

/// Drops blank and deleted rows and renumbers the rest (see the module comment).
pub(crate) fn normalise(section: &Section, fields: &mut FormFields) {
    fn hours_in(items: &[Item], prefix: &dyn Fn(&Item) -> String, fields: &mut FormFields) {
        for item in items {
            if let ItemKind::Hours { .. } = item.kind {
                let p = prefix(item);
                fields.compact_rows(&format!("{p}.closed_periods"), &periods_key(&p));
            }
        }
    }
    for item in &section.items {
        let path = item.id.as_str();
        match &item.kind {
            ItemKind::Group { items, .. } => {
                let n = fields.compact_rows(path, &rows_key(path));
                for i in 0..n {
                    hours_in(
                        items,
                        &|m: &Item| format!("{path}[{i}].{}", m.id.local()),
                        fields,
                    );
                }
            }
            ItemKind::Hours { .. } => {
                hours_in(
                    std::slice::from_ref(item),
                    &|m: &Item| m.id.0.clone(),
                    fields,
                );
            }
            _ => {}
        }
    }
}

/// Reads a section's answers from (normalised) fields. Input issues are errors: what they
/// name was not read, so nothing may be saved until they are fixed.
pub(crate) fn decode(
    catalogue: &Catalogue,
    section: &Section,
    fields: &FormFields,
) -> (Answers, Vec<Issue>) {
    let mut answers = Answers::default();
    let mut issues = Vec::new();
    for item in &section.items {
        let mut r = Reader {
            catalogue,
            fields,
            issues: &mut issues,
            top: &item.id,
        };
        if let Some(v) = r.item(item, item.id.as_str(), &item.label) {
            answers.0.insert(item.id.clone(), v);
        }
    }
    (answers, issues)
}

struct Reader<'a> {
    catalogue: &'a Catalogue,
    fields: &'a FormFields,
    issues: &'a mut Vec<Issue>,
    top: &'a ItemId,
}

impl Reader<'_> {
    fn issue(&mut self, code: &'static str, path: &str, message: String) {
        self.issues.push(Issue {
            code,
            severity: Severity::Error,
            path: path.to_owned(),
            item: self.top.clone(),
            message,
        });
    }

    fn text(&self, path: &str) -> String {
        self.fields.one(path).trim().to_owned()
    }

    fn item(&mut self, item: &Item, path: &str, label: &str) -> Option<Value> {
        match &item.kind {
            ItemKind::Text {
                multiline: true, ..
            } => {
                let t = self.fields.one(path).replace("\r\n", "\n");
                let t = t.trim();
                (!t.is_empty()).then(|| Value::Text(t.to_owned()))
            }
            ItemKind::Text { .. } | ItemKind::Kana { .. } => {
                let t = self.text(path);
                (!t.is_empty()).then_some(Value::Text(t))
            }
            ItemKind::Number { .. } => {
                let raw = self.text(path);
                if raw.is_empty() {
                    return None;
                }
                match nfkc(&raw).replace(',', "").trim().parse::<f64>() {
                    Ok(n) if n.is_finite() => Some(Value::Number(n)),
                    _ => {
                        self.issue(
                            "input.number",
                            path,
                            format!("{label}は数字で入力してください（「{raw}」は数値として読めません）。"),
                        );
                        None
                    }
                }
            }
            ItemKind::Date => {
                let raw = self.text(path);
                if raw.is_empty() {
                    return None;
                }
                match parse_date(&raw) {
                    Some(d) => Some(Value::Date(d)),
                    None => {
                        self.issue(
                            "input.date",
                            path,
                            format!("{label}は「2025-04-01」の形で、実在する日付を入力してください（「{raw}」は日付として読めません）。"),
                        );
                        None
                    }
                }
            }
            ItemKind::YesNoUnknown | ItemKind::Choice { .. } => {
                let t = self.text(path);
                (!t.is_empty()).then_some(Value::Choice(t))
            }
            ItemKind::MultiChoice { .. } => {
                let codes: Vec<String> = self
                    .fields
                    .all(path)
                    .iter()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                (!codes.is_empty()).then_some(Value::Choices(codes))
            }
            ItemKind::Hours { max_slots, .. } => self
                .hours(path, label, usize::from(*max_slots))
                .map(Value::Hours),
            ItemKind::Group { items, .. } => {
                let n = self.fields.count(&rows_key(path));
                let mut rows = Vec::new();
                for i in 0..n {
                    let mut row = Answers::default();
                    for m in items {
                        let mp = format!("{path}[{i}].{}", m.id.local());
                        let ml = format!("{label}（{}件目）の{}", i + 1, m.label);
                        if let Some(v) = self.item(m, &mp, &ml) {
                            row.0.insert(m.id.clone(), v);
                        }
                    }
                    rows.push(row);
                }
                (!rows.is_empty()).then_some(Value::Group(rows))
            }
            ItemKind::CodedList { codes, .. } => {
                let catalogue = self.catalogue;
                let list = catalogue.code_lists.get(codes)?;
                let mut map = BTreeMap::new();
                for c in &list.codes {
                    let cp = format!("{path}.{}", c.code);
                    let available = self.fields.checked(&format!("{cp}.available"));
                    let raw = self.text(&format!("{cp}.count"));
                    let count = if raw.is_empty() {
                        None
                    } else {
                        match nfkc(&raw).replace(',', "").trim().parse::<u32>() {
                            Ok(n) => Some(n),
                            Err(_) => {
                                self.issue(
                                    "input.count",
                                    &cp,
                                    format!("{label}（{} {}）の件数は0以上の整数で入力してください（「{raw}」は件数として読めません）。", c.code, c.label),
                                );
                                None
                            }
                        }
                    };
                    // G-MIS's 対応可能 is a check box: an unchecked code without a count is not
                    // answered, the same as an explicit `available: false` (`canonical_coded`).
                    if available || count.is_some() {
                        map.insert(c.code.clone(), CodedAnswer { available, count });
                    }
                }
                (!map.is_empty()).then_some(Value::Coded(map))
            }
        }
    }

    fn time(&mut self, path: &str, what: &str, label: &str) -> Option<Option<TimeOfDay>> {
        let raw = self.text(path);
        if raw.is_empty() {
            return Some(None);
        }
        match TimeOfDay::parse(&raw) {
            Some(t) => Some(Some(t)),
            None => {
                self.issue(
                    "input.time",
                    path.rsplit_once('.').map_or(path, |(p, _)| p),
                    format!("{label}：{what}は「09:00」の形で、00:00〜24:00の時刻を入力してください（「{raw}」は時刻として読めません）。"),
                );
                None
            }
        }
    }

    fn hours(&mut self, path: &str, label: &str, max_slots: usize) -> Option<WeeklyHours> {
        let mut h = WeeklyHours::default();
        let mut anything = false;
        for day in DayType::ALL {
            let dp = format!("{path}.{}", day.id());
            let at = format!("{label}（{}曜）", day.label()).replace("祝曜", "祝日");
            let mut slots = Vec::new();
            let mut typed = false;
            let mut broken = false;
            for i in 0..max_slots {
                let sp = format!("{dp}[{i}]");
                let slot_label = format!("{at}の時間帯{}", i + 1);
                let start = self.time(&format!("{sp}.start"), "開始", &slot_label);
                let end = self.time(&format!("{sp}.end"), "終了", &slot_label);
                let rs = self.time(&format!("{sp}.reception_start"), "受付開始", &slot_label);
                let re = self.time(&format!("{sp}.reception_end"), "受付終了", &slot_label);
                let overnight = self.fields.checked(&format!("{sp}.overnight"));
                let (Some(start), Some(end), Some(rs), Some(re)) = (start, end, rs, re) else {
                    typed = true;
                    broken = true;
                    continue;
                };
                if start.is_none() && end.is_none() && rs.is_none() && re.is_none() {
                    continue;
                }
                typed = true;
                let (Some(start), Some(end)) = (start, end) else {
                    self.issue(
                        "input.slot_incomplete",
                        &sp,
                        format!("{slot_label}：開始と終了の両方を入力してください。"),
                    );
                    broken = true;
                    continue;
                };
                let reception = match (rs, re) {
                    (None, None) => None,
                    (Some(start), Some(end)) => Some(Span { start, end }),
                    _ => {
                        self.issue(
                            "input.reception_incomplete",
                            &sp,
                            format!("{slot_label}：外来受付時間は開始と終了の両方を入力するか、両方とも空欄にしてください。"),
                        );
                        broken = true;
                        continue;
                    }
                };
                slots.push(Slot {
                    start,
                    end,
                    overnight,
                    reception,
                });
            }
            let status = self.text(&format!("{dp}.status"));
            let chosen = match status.as_str() {
                "" if typed => "open",
                s => s,
            };
            let d = match chosen {
                "" => None,
                "open" => match Slots::new(slots) {
                    Some(s) => Some(Day::Open { slots: s }),
                    None if broken => None,
                    None => {
                        self.issue(
                            "input.no_slots",
                            &dp,
                            format!("{at}：「時間帯を入力」を選んだ場合は、時間帯を1つ以上入力してください。時間が決まっていない場合は「日により異なる」を選んでください。"),
                        );
                        None
                    }
                },
                "closed" | "all_day" | "varies" if typed => {
                    self.issue(
                        "input.times_not_used",
                        &dp,
                        format!("{at}：「{}」を選んでいますが、時間帯が入力されています。時間帯を消すか、「時間帯を入力」を選んでください。", status_label(chosen)),
                    );
                    None
                }
                "closed" => Some(Day::Closed),
                "all_day" => Some(Day::AllDay),
                "varies" => Some(Day::Varies),
                other => {
                    self.issue(
                        "input.day_status",
                        &dp,
                        format!(
                            "{at}：「{other}」は選択肢にありません。一覧から選び直してください。"
                        ),
                    );
                    None
                }
            };
            if let Some(d) = d {
                anything = true;
                h.days.insert(day, d);
            }
        }
        for v in self.fields.all(&format!("{path}.closed_weeks")) {
            match parse_week(v) {
                Some(w) => {
                    h.closed_weeks.insert(w);
                }
                None => self.issue(
                    "input.closed_week",
                    &format!("{path}.closed_weeks"),
                    format!(
                        "{label}：定期週「{v}」は選択肢にありません。一覧から選び直してください。"
                    ),
                ),
            }
        }
        let periods = self.fields.count(&periods_key(path));
        for j in 0..periods {
            let cp = format!("{path}.closed_periods[{j}]");
            let at = format!("{label}（その他の休み {}件目）", j + 1);
            let from = self.text(&format!("{cp}.from"));
            let to = self.text(&format!("{cp}.to"));
            let note = self.text(&format!("{cp}.note"));
            if from.is_empty() && to.is_empty() && note.is_empty() {
                continue;
            }
            let to_text = if to.is_empty() { from.clone() } else { to };
            match (parse_date(&from), parse_date(&to_text)) {
                (Some(from), Some(to)) => h.closed_periods.push(ClosedPeriod { from, to, note }),
                _ => self.issue(
                    "input.closed_period",
                    &cp,
                    format!("{at}：開始日と終了日を「2025-12-29」の形で入力してください（1日だけの場合は終了日を空欄にできます）。"),
                ),
            }
        }
        h.note = self
            .fields
            .one(&format!("{path}.note"))
            .replace("\r\n", "\n")
            .trim()
            .to_owned();
        let any = anything || !h.closed_weeks.is_empty() || !h.closed_periods.is_empty();
        (any || !h.note.is_empty()).then_some(h)
    }
}

pub(crate) fn status_label(status: &str) -> &'static str {
    match status {
        "closed" => "休み",
        "open" => "時間帯を入力",
        "all_day" => "24時間",
        "varies" => "日により異なる",
        _ => "未回答",
    }
}

/// `2025-04-01`, also typed as `2025/4/1` or in 全角.
fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = nfkc(raw.trim()).replace(['/', '.'], "-");
    NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()
}

/// `answers` with the coded entries a check box cannot tell from no answer removed.
#[cfg(test)]
fn canonical_coded(mut answers: Answers) -> Answers {
    for v in answers.0.values_mut() {
        if let Value::Coded(map) = v {
            map.retain(|_, a| a.available || a.count.is_some());
        }
    }
    answers
        .0
        .retain(|_, v| !matches!(v, Value::Coded(m) if m.is_empty()));
    answers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> &'static Catalogue {
        teikyo_refdata::forms::catalogue().expect("built-in item sets")
    }

    /// Every section of the complete hospital example goes to fields and back unchanged (a
    /// code answered `available: false` without a count reads back as unanswered, which is
    /// what an unchecked box says), and reading the fields raises no issue.
    #[test]
    fn the_hospital_example_survives_the_form() {
        let c = catalogue();
        let answers = teikyo_refdata::forms::examples::hospital();
        let set = c
            .item_set(2025, teikyo_domain::FacilityKind::Hospital)
            .expect("2025 hospital");
        for section in &set.sections {
            let own = answers.of_section(section);
            let mut fields = encode(section, &own);
            normalise(section, &mut fields);
            let (back, issues) = decode(c, section, &fields);
            assert!(issues.is_empty(), "{}: {issues:#?}", section.id);
            assert_eq!(back, canonical_coded(own), "section {}", section.id);
        }
    }

    fn basic() -> &'static Section {
        let set = catalogue().item_set(2025, teikyo_domain::FacilityKind::Hospital);
        set.and_then(|s| s.sections.iter().find(|s| s.id == "basic"))
            .expect("basic")
    }

    fn fields(pairs: &[(&str, &str)]) -> FormFields {
        FormFields::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn blank_and_deleted_rows_go_and_the_rest_are_renumbered() {
        let s = basic();
        let mut f = fields(&[
            ("basic.departments.rows", "4"),
            ("basic.departments[0].department", "01001"),
            ("basic.departments[1].department", ""),
            ("basic.departments[2].department", "01010"),
            ("basic.departments[2]._delete", "1"),
            ("basic.departments[3].department", "01020"),
            ("basic.departments[3].hours.mon.status", "closed"),
        ]);
        normalise(s, &mut f);
        assert_eq!(f.one("basic.departments.rows"), "2");
        assert_eq!(f.one("basic.departments[1].department"), "01020");
        assert_eq!(f.one("basic.departments[1].hours.mon.status"), "closed");
        assert_eq!(f.one("basic.departments[2].department"), "");
        let (a, issues) = decode(catalogue(), s, &f);
        assert!(issues.is_empty(), "{issues:?}");
        let Some(Value::Group(rows)) = a.get("basic.departments") else {
            panic!("{a:?}")
        };
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn what_cannot_be_read_is_an_issue_on_its_field_never_a_guess() {
        let s = basic();
        let f = fields(&[
            ("basic.beds_general", "十九"),
            ("basic.departments.rows", "1"),
            ("basic.departments[0].department", "01001"),
            ("basic.departments[0].hours.mon.status", "closed"),
            ("basic.departments[0].hours.mon[0].start", "09:00"),
            ("basic.departments[0].hours.tue[0].start", "25:00"),
            ("basic.departments[0].hours.tue[0].end", "12:00"),
            ("basic.departments[0].hours.wed[0].start", "0900"),
            ("basic.departments[0].hours.thu.status", "open"),
        ]);
        let (a, issues) = decode(catalogue(), s, &f);
        let at: Vec<(&str, &str)> = issues.iter().map(|i| (i.code, i.path.as_str())).collect();
        assert!(
            at.contains(&("input.number", "basic.beds_general")),
            "{at:?}"
        );
        assert!(
            at.contains(&("input.times_not_used", "basic.departments[0].hours.mon")),
            "{at:?}"
        );
        assert!(
            at.contains(&("input.time", "basic.departments[0].hours.tue[0]")),
            "{at:?}"
        );
        assert!(
            at.contains(&("input.slot_incomplete", "basic.departments[0].hours.wed[0]")),
            "{at:?}"
        );
        assert!(
            at.contains(&("input.no_slots", "basic.departments[0].hours.thu")),
            "{at:?}"
        );
        assert!(a.get("basic.beds_general").is_none());
        // Times typed without choosing a status are read as open.
        let f = fields(&[
            ("basic.departments.rows", "1"),
            ("basic.departments[0].hours.fri[0].start", "９:００"),
            ("basic.departments[0].hours.fri[0].end", "1200"),
        ]);
        let (a, issues) = decode(catalogue(), s, &f);
        assert!(issues.is_empty(), "{issues:?}");
        let Some(Value::Group(rows)) = a.get("basic.departments") else {
            panic!()
        };
        let Some(Value::Hours(h)) = rows[0].get("basic.departments.hours") else {
            panic!()
        };
        assert!(matches!(h.days.get(&DayType::Fri), Some(Day::Open { .. })));
    }
}
