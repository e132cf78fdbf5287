//! What a published document says in the open data's columns beyond the master record: the
//! closure flags, the hours of each 診療科目 (or the 就業・開店時間 of 助産所 and 薬局), the other
//! closed days and the bed counts — and back, for the importer.
//!
//! The open data models a facility as G-MIS does (DOMAIN §7.4): 休診日 for the facility, time
//! slots per 診療科目. Teikyo keeps one weekly table per 診療科目, so the export folds the tables
//! into the facility's flags and the import spreads the flags back over the tables:
//!
//! - a day's flag is 0 (closed) when every table is closed that day, 1 when any table is open
//!   (with times, 24時間 or 日により異なる), and empty when none is open and some never said;
//! - 定期週 (第n週) is 0 when every table is closed that day or that week;
//! - その他の休診日 lists the dated closures of the tables, one per line, and a note the tables
//!   share;
//! - 24時間 is written 00:00–23:59 (as the published data writes it) and read back from it.
//!
//! On import a day whose flag is 1 but whose 診療科目 has no times is closed for that 診療科目
//! when another one has times that day, and 日により異なる when none has. Export then import then
//! export gives the same bytes: what the import cannot tell apart, the export writes alike.

use chrono::NaiveDate;
use teikyo_domain::FacilityKind;
use teikyo_domain::forms::{Answers, Value};
use teikyo_domain::hours::{
    ClosedPeriod, Day, DayType, NthWeekday, Slot, Slots, Span, TimeOfDay, WeeklyHours,
};

use teikyo_refdata::codes::specialty;

use crate::columns::{FacilityColumns, HoursColumns, Pair, Pos};

/// The item ids the open data reads (the 基本情報 section of every item set so far).
pub mod items {
    pub const DEPARTMENTS: &str = "basic.departments";
    pub const DEPARTMENT: &str = "basic.departments.department";
    pub const DEPARTMENT_NAME: &str = "basic.departments.department_name";
    pub const DEPARTMENT_HOURS: &str = "basic.departments.hours";
    /// 助産所's 就業日・就業時間.
    pub const WORKING_HOURS: &str = "basic.working_hours";
    /// 薬局's 営業日・開店時間.
    pub const OPENING_HOURS: &str = "basic.opening_hours";
    pub const HAS_BEDS: &str = "basic.has_beds";

    /// Bed columns and their items (合計病床数 is their sum, not an item).
    pub const BEDS: [(&str, &str); 7] = [
        ("一般病床", "basic.beds_general"),
        ("療養病床", "basic.beds_long_term"),
        ("療養病床のうち医療保険適用", "basic.beds_long_term_medical"),
        ("療養病床のうち介護保険適用", "basic.beds_long_term_care"),
        ("精神病床", "basic.beds_psychiatric"),
        ("結核病床", "basic.beds_tuberculosis"),
        ("感染症病床", "basic.beds_infectious"),
    ];
    /// The counts 合計病床数 adds up (the two 療養病床 breakdowns are part of 療養病床).
    pub const TOTALLED: [&str; 5] = [
        "basic.beds_general",
        "basic.beds_long_term",
        "basic.beds_psychiatric",
        "basic.beds_tuberculosis",
        "basic.beds_infectious",
    ];
    pub const TOTAL: &str = "合計病床数";
}

/// What the open data reads of a published facility: its kind and its 基本情報 answers.
#[derive(Debug, Clone, Copy)]
pub struct Basic<'a> {
    pub kind: FacilityKind,
    pub answers: &'a Answers,
}

/// The sentinel the published data writes for 24時間: 00:00–23:59.
fn all_day() -> (TimeOfDay, TimeOfDay) {
    (
        TimeOfDay::MIDNIGHT,
        TimeOfDay::new(23, 59).unwrap_or(TimeOfDay::END_OF_DAY),
    )
}

/// One 診療科目 row of a published document.
#[derive(Debug, Clone, Copy)]
pub struct Department<'a> {
    pub code: &'a str,
    /// 「その他」's own name.
    pub name: Option<&'a str>,
    pub hours: Option<&'a WeeklyHours>,
}

/// The 診療科目 rows, in the order the facility gave them.
pub fn departments(basic: Basic<'_>) -> Vec<Department<'_>> {
    let Some(Value::Group(rows)) = basic.answers.get(items::DEPARTMENTS) else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(|row| {
            let code = match row.get(items::DEPARTMENT) {
                Some(Value::Choice(c)) => c.as_str(),
                _ => return None,
            };
            let name = match row.get(items::DEPARTMENT_NAME) {
                Some(Value::Text(t)) if !t.is_empty() => Some(t.as_str()),
                _ => None,
            };
            let hours = match row.get(items::DEPARTMENT_HOURS) {
                Some(Value::Hours(h)) => Some(h),
                _ => None,
            };
            Some(Department { code, name, hours })
        })
        .collect()
}

/// The facility's own table: 就業時間 (助産所) or 開店時間 (薬局).
fn own_table(basic: Basic<'_>) -> Option<&WeeklyHours> {
    let id = match basic.kind {
        FacilityKind::MidwiferyHome => items::WORKING_HOURS,
        FacilityKind::Pharmacy => items::OPENING_HOURS,
        _ => return None,
    };
    match basic.answers.get(id) {
        Some(Value::Hours(h)) => Some(h),
        _ => None,
    }
}

/// The tables the facility row's flags fold.
fn tables(basic: Basic<'_>) -> Vec<&WeeklyHours> {
    match basic.kind {
        FacilityKind::MidwiferyHome | FacilityKind::Pharmacy => {
            own_table(basic).into_iter().collect()
        }
        _ => departments(basic).iter().filter_map(|d| d.hours).collect(),
    }
}

const OPEN: &str = "1";
const CLOSED: &str = "0";
const UNSAID: &str = "";

/// The flag of a day over the tables (1 = open, 0 = closed, empty = not said).
fn day_flag(tables: &[&WeeklyHours], day: DayType) -> &'static str {
    let mut all_closed = !tables.is_empty();
    for t in tables {
        match t.days.get(&day) {
            Some(Day::Closed) => {}
            Some(_) => return OPEN,
            None => all_closed = false,
        }
    }
    if all_closed { CLOSED } else { UNSAID }
}

/// The flag of 第`week`週 of a weekday: closed when every table is closed that day or week.
fn nth_flag(tables: &[&WeeklyHours], week: u8, day: DayType) -> &'static str {
    let nth = NthWeekday { week, day };
    let closed = |t: &&WeeklyHours| {
        matches!(t.days.get(&day), Some(Day::Closed)) || t.closed_weeks.contains(&nth)
    };
    if !tables.is_empty() && tables.iter().all(closed) {
        CLOSED
    } else if day_flag(tables, day) == UNSAID {
        UNSAID
    } else {
        OPEN
    }
}

fn date_text(d: NaiveDate) -> String {
    teikyo_domain::text::date_ja(d)
}

/// その他の休診日: the tables' dated closures (each once, in order) and the note they share,
/// one per line.
fn other_closed(tables: &[&WeeklyHours]) -> String {
    let mut periods: Vec<&ClosedPeriod> = Vec::new();
    for t in tables {
        for p in &t.closed_periods {
            if !periods.contains(&p) {
                periods.push(p);
            }
        }
    }
    let mut lines: Vec<String> = periods
        .iter()
        .map(|p| {
            let range = if p.from == p.to {
                date_text(p.from)
            } else {
                format!("{}～{}", date_text(p.from), date_text(p.to))
            };
            if p.note.is_empty() {
                range
            } else {
                format!("{}（{range}）", p.note)
            }
        })
        .collect();
    if let Some(first) = tables.first()
        && !first.note.is_empty()
        && tables.iter().all(|t| t.note == first.note)
    {
        lines.push(first.note.clone());
    }
    lines.join("\n")
}

/// A line of その他の休診日 as the export writes it, read back; `None` for anything else.
fn parse_period(line: &str) -> Option<ClosedPeriod> {
    let (note, range) = match line.strip_suffix('）').and_then(|l| l.rsplit_once('（')) {
        Some((note, range)) => (note, range),
        None => ("", line),
    };
    let (from, to) = match range.split_once('～') {
        Some((a, b)) => (parse_date_ja(a)?, parse_date_ja(b)?),
        None => {
            let d = parse_date_ja(range)?;
            (d, d)
        }
    };
    (from <= to).then(|| ClosedPeriod {
        from,
        to,
        note: note.to_owned(),
    })
}

/// 「2026年12月29日」.
fn parse_date_ja(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y年%m月%d日").ok()
}

fn put(row: &mut [String], pos: Pos, value: impl Into<String>) {
    if let Some(i) = pos
        && let Some(cell) = row.get_mut(i)
    {
        *cell = value.into();
    }
}

/// The slots of a day as the open data lists them (24時間 is one 00:00–23:59 slot).
fn day_slots(day: Option<&Day>) -> Vec<(String, String, Option<Span>)> {
    match day {
        Some(Day::Open { slots }) => slots
            .as_slice()
            .iter()
            .map(|s| (s.start.to_string(), s.end.to_string(), s.reception))
            .collect(),
        Some(Day::AllDay) => {
            let (start, end) = all_day();
            vec![(start.to_string(), end.to_string(), None)]
        }
        _ => Vec::new(),
    }
}

fn put_pair(row: &mut [String], pair: &Pair, start: String, end: String) {
    put(row, pair.start, start);
    put(row, pair.end, end);
}

/// Writes the closure flags, hours, その他の休診日 and beds of a facility into its row.
pub fn write_facility(basic: Basic<'_>, c: &FacilityColumns, row: &mut [String]) {
    let tables = tables(basic);
    let kind = basic.kind;
    for (d, day) in DayType::ALL.into_iter().enumerate() {
        let flag = day_flag(&tables, day);
        if kind == FacilityKind::Pharmacy || day != DayType::Holiday {
            put(row, c.weekly[d], flag);
        }
        put(row, c.business[d], flag);
    }
    for (w, weeks) in c.nth_week.iter().enumerate() {
        for (d, pos) in weeks.iter().enumerate() {
            put(row, *pos, nth_flag(&tables, w as u8 + 1, DayType::ALL[d]));
        }
    }
    put(row, c.holiday, day_flag(&tables, DayType::Holiday));
    put(row, c.other, other_closed(&tables));
    if let Some(own) = own_table(basic) {
        for (d, day) in DayType::ALL.into_iter().enumerate() {
            let slots = day_slots(own.days.get(&day));
            for (n, (start, end, reception)) in slots.into_iter().enumerate() {
                if let Some(pair) = c.slots.get(n).map(|b| b[d]) {
                    put_pair(row, &pair, start, end);
                }
                if let (Some(span), Some(pair)) = (reception, c.reception.get(n).map(|b| b[d])) {
                    put_pair(row, &pair, span.start.to_string(), span.end.to_string());
                }
            }
        }
    }
    write_beds(basic.answers, c, row);
}

fn number_text(n: f64) -> String {
    // Bed counts are integers (the item says so); `{}` writes 12 for 12.0.
    format!("{n}")
}

fn write_beds(answers: &Answers, c: &FacilityColumns, row: &mut [String]) {
    let mut total: Option<f64> = None;
    for (column, pos) in &c.beds {
        if *column == items::TOTAL {
            if let Some(t) = total {
                put(row, *pos, number_text(t));
            }
            continue;
        }
        let Some((_, item)) = items::BEDS.iter().find(|(n, _)| n == column) else {
            continue;
        };
        if let Some(Value::Number(n)) = answers.get(item) {
            put(row, *pos, number_text(*n));
            if items::TOTALLED.contains(item) {
                total = Some(total.unwrap_or(0.0) + n);
            }
        }
    }
}

/// The rows of the 診療科・診療時間票 of a facility: per 診療科目, one row per 診療時間帯 (at least
/// one, so a 診療科目 without times is still listed).
pub fn write_hours(basic: Basic<'_>, id: &str, c: &HoursColumns, out: &mut Vec<Vec<String>>) {
    for dep in departments(basic) {
        let per_day: Vec<Vec<(String, String, Option<Span>)>> = DayType::ALL
            .iter()
            .map(|d| day_slots(dep.hours.and_then(|h| h.days.get(d))))
            .collect();
        let bands = per_day.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for band in 0..bands {
            let mut row = vec![String::new(); c.len];
            put(&mut row, c.id, id);
            put(&mut row, c.code, dep.code);
            let name = dep
                .name
                .or_else(|| specialty(dep.code).map(|s| s.name))
                .unwrap_or_default();
            put(&mut row, c.name, name);
            put(&mut row, c.band, (band + 1).to_string());
            for (d, slots) in per_day.iter().enumerate() {
                if let Some((start, end, reception)) = slots.get(band) {
                    put_pair(&mut row, &c.slot[d], start.clone(), end.clone());
                    if let Some(span) = reception {
                        put_pair(
                            &mut row,
                            &c.reception[d],
                            span.start.to_string(),
                            span.end.to_string(),
                        );
                    }
                }
            }
            out.push(row);
        }
    }
}

// ---- reading ----------------------------------------------------------------------------

/// A problem in one cell: the column's name and the facility's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    pub column: String,
    pub message: String,
}

/// A flag cell: `Some(true)` open, `Some(false)` closed, `None` not said.
fn read_flag(
    rec: &csv::StringRecord,
    pos: Pos,
    header: &csv::StringRecord,
    errors: &mut Vec<CellError>,
) -> Option<bool> {
    let i = pos?;
    match rec.get(i).map(str::trim) {
        Some("1") | Some("１") => Some(true),
        Some("0") | Some("０") => Some(false),
        Some("") | None => None,
        Some(other) => {
            errors.push(CellError {
                column: header.get(i).unwrap_or_default().to_owned(),
                message: format!(
                    "「{other}」は 1（診療・営業する）、0（休む）、空欄のいずれかで入力してください。"
                ),
            });
            None
        }
    }
}

fn read_time(
    rec: &csv::StringRecord,
    pos: Pos,
    header: &csv::StringRecord,
    errors: &mut Vec<CellError>,
) -> Option<TimeOfDay> {
    let i = pos?;
    let s = rec.get(i).map(str::trim).unwrap_or_default();
    if s.is_empty() {
        return None;
    }
    let t = TimeOfDay::parse(s);
    if t.is_none() {
        errors.push(CellError {
            column: header.get(i).unwrap_or_default().to_owned(),
            message: format!("「{s}」を時刻として読めません。09:00 の形式で入力してください。"),
        });
    }
    t
}

/// A time slot's start and end, if both are given and differ (00:00–00:00 is the published
/// data's placeholder for "nothing").
fn read_pair(
    rec: &csv::StringRecord,
    pair: &Pair,
    header: &csv::StringRecord,
    errors: &mut Vec<CellError>,
) -> Option<(TimeOfDay, TimeOfDay)> {
    let start = read_time(rec, pair.start, header, errors);
    let end = read_time(rec, pair.end, header, errors);
    match (start, end) {
        (Some(s), Some(e)) if s != e => Some((s, e)),
        _ => None,
    }
}

/// One day's slots as read: (start, end, reception).
type ReadSlots = Vec<(TimeOfDay, TimeOfDay, Option<Span>)>;

/// What a facility row says beyond the master record.
#[derive(Debug, Clone, Default)]
pub struct FacilityPart {
    /// Per day type: open / closed / not said (for 1–4 the 祝 entry is 祝日に休診).
    pub days: [Option<bool>; 8],
    /// Closed 第n週 of a weekday.
    pub closed_weeks: Vec<NthWeekday>,
    pub closed_periods: Vec<ClosedPeriod>,
    pub note: String,
    /// 就業・開店時間 (助産所・薬局) per day type.
    pub slots: [ReadSlots; 8],
    /// Bed counts by item id.
    pub beds: Vec<(&'static str, f64)>,
}

/// Reads the schedule columns of a facility row; every bad cell is reported.
pub fn read_facility(
    c: &FacilityColumns,
    header: &csv::StringRecord,
    rec: &csv::StringRecord,
) -> Result<FacilityPart, Vec<CellError>> {
    let mut errors = Vec::new();
    let mut part = FacilityPart::default();
    for d in 0..8 {
        let business = read_flag(rec, c.business[d], header, &mut errors);
        let weekly = read_flag(rec, c.weekly[d], header, &mut errors);
        part.days[d] = business.or(weekly);
    }
    let holiday = read_flag(rec, c.holiday, header, &mut errors);
    part.days[7] = part.days[7].or(holiday);
    for (w, weeks) in c.nth_week.iter().enumerate() {
        for (d, pos) in weeks.iter().enumerate() {
            if read_flag(rec, *pos, header, &mut errors) == Some(false)
                && part.days[d] != Some(false)
            {
                part.closed_weeks.push(NthWeekday {
                    week: w as u8 + 1,
                    day: DayType::ALL[d],
                });
            }
        }
    }
    if let Some(text) = c.other.and_then(|i| rec.get(i)) {
        let text = text.replace("（改行）", "\n");
        let mut notes = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match parse_period(line) {
                Some(p) => part.closed_periods.push(p),
                None => notes.push(line),
            }
        }
        part.note = notes.join("\n");
    }
    for (d, slots) in part.slots.iter_mut().enumerate() {
        for (n, band) in c.slots.iter().enumerate() {
            let Some((start, end)) = read_pair(rec, &band[d], header, &mut errors) else {
                continue;
            };
            let reception = c
                .reception
                .get(n)
                .and_then(|r| read_pair(rec, &r[d], header, &mut errors))
                .map(|(start, end)| Span { start, end });
            slots.push((start, end, reception));
        }
    }
    for (column, pos) in &c.beds {
        let Some((_, item)) = items::BEDS.iter().find(|(n, _)| n == column) else {
            continue;
        };
        let Some(s) = pos.and_then(|i| rec.get(i)).map(str::trim) else {
            continue;
        };
        if s.is_empty() {
            continue;
        }
        match teikyo_domain::text::nfkc(s).parse::<u32>() {
            Ok(n) => part.beds.push((item, f64::from(n))),
            Err(_) => errors.push(CellError {
                column: (*column).to_owned(),
                message: format!("「{s}」を病床数（0 以上の整数）として読めません。"),
            }),
        }
    }
    if errors.is_empty() {
        Ok(part)
    } else {
        Err(errors)
    }
}

/// One 診療科目 as read from its rows of the 診療科・診療時間票.
#[derive(Debug, Clone, Default)]
pub struct DepartmentPart {
    pub code: String,
    /// 診療科目名 as written (kept for 「その他」).
    pub name: String,
    pub slots: [ReadSlots; 8],
}

/// One row of a 診療科・診療時間票: (ID, 診療科目コード, 診療科目名, 診療時間帯, slots per day).
#[derive(Debug, Clone)]
pub struct HoursRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub band: u8,
    pub slots: [Option<(TimeOfDay, TimeOfDay, Option<Span>)>; 8],
}

pub fn read_hours_row(
    c: &HoursColumns,
    header: &csv::StringRecord,
    rec: &csv::StringRecord,
) -> Result<HoursRow, Vec<CellError>> {
    let mut errors = Vec::new();
    let text = |pos: Pos| {
        pos.and_then(|i| rec.get(i))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let id = text(c.id);
    let code = text(c.code);
    if code.is_empty() {
        errors.push(CellError {
            column: crate::layout::col::SPECIALTY_CODE.into(),
            message: "診療科目コードが空欄です。".into(),
        });
    }
    let band_text = text(c.band);
    let band = match teikyo_domain::text::nfkc(&band_text).parse::<u8>() {
        Ok(b) if (1..=9).contains(&b) => b,
        _ => {
            errors.push(CellError {
                column: crate::layout::col::BAND.into(),
                message: format!(
                    "診療時間帯「{band_text}」は 1 から始まる番号で入力してください。"
                ),
            });
            1
        }
    };
    let mut slots: [Option<(TimeOfDay, TimeOfDay, Option<Span>)>; 8] = Default::default();
    for (d, slot) in slots.iter_mut().enumerate() {
        if let Some((start, end)) = read_pair(rec, &c.slot[d], header, &mut errors) {
            let reception = read_pair(rec, &c.reception[d], header, &mut errors)
                .map(|(start, end)| Span { start, end });
            *slot = Some((start, end, reception));
        }
    }
    if errors.is_empty() {
        Ok(HoursRow {
            id,
            code: code.clone(),
            name: text(c.name),
            band,
            slots,
        })
    } else {
        Err(errors)
    }
}

/// Groups a facility's hours rows (in file order) into 診療科目: a new one starts when the code or
/// name changes or the 診療時間帯 does not go up.
pub fn group_departments(rows: &[HoursRow]) -> Vec<DepartmentPart> {
    let mut out: Vec<DepartmentPart> = Vec::new();
    let mut last_band = 0u8;
    for r in rows {
        let continues = out
            .last()
            .is_some_and(|d| d.code == r.code && d.name == r.name && r.band > last_band);
        if !continues {
            out.push(DepartmentPart {
                code: r.code.clone(),
                name: r.name.clone(),
                ..Default::default()
            });
        }
        last_band = r.band;
        if let Some(dep) = out.last_mut() {
            for (d, slot) in r.slots.iter().enumerate() {
                if let Some(s) = slot {
                    dep.slots[d].push(*s);
                }
            }
        }
    }
    out
}

/// A day of a table from what the files say: times win; a flag 1 without times is 日により
/// 異なる, or closed when `others_open` (another 診療科目 has times that day).
fn day_of(slots: &ReadSlots, flag: Option<bool>, others_open: bool) -> Option<Day> {
    if let [(start, end, None)] = slots.as_slice()
        && (*start, *end) == all_day()
    {
        return Some(Day::AllDay);
    }
    let list: Vec<Slot> = slots
        .iter()
        .map(|(start, end, reception)| Slot {
            start: *start,
            end: *end,
            overnight: end <= start,
            reception: *reception,
        })
        .collect();
    if let Some(slots) = Slots::new(list) {
        return Some(Day::Open { slots });
    }
    match flag {
        Some(false) => Some(Day::Closed),
        Some(true) if others_open => Some(Day::Closed),
        Some(true) => Some(Day::Varies),
        None => None,
    }
}

fn table(part: &FacilityPart, slots: &[ReadSlots; 8], others_open: &[bool; 8]) -> WeeklyHours {
    let mut h = WeeklyHours::default();
    for (d, day) in DayType::ALL.into_iter().enumerate() {
        if let Some(value) = day_of(&slots[d], part.days[d], others_open[d]) {
            h.days.insert(day, value);
        }
    }
    for nth in &part.closed_weeks {
        if h.days.get(&nth.day) != Some(&Day::Closed) {
            h.closed_weeks.insert(*nth);
        }
    }
    h.closed_periods = part.closed_periods.clone();
    h.note = part.note.clone();
    h
}

/// The answers of the 基本情報 items the open data carries. A 「その他」 診療科目 keeps the name
/// the file gives it unless that is the code list's own.
pub fn answers(kind: FacilityKind, part: &FacilityPart, departments: &[DepartmentPart]) -> Answers {
    let mut a = Answers::default();
    match kind {
        FacilityKind::MidwiferyHome | FacilityKind::Pharmacy => {
            let id = if kind == FacilityKind::Pharmacy {
                items::OPENING_HOURS
            } else {
                items::WORKING_HOURS
            };
            a.set(id, Value::Hours(table(part, &part.slots, &[false; 8])));
        }
        _ => {
            let mut any_times = [false; 8];
            for dep in departments {
                for (d, s) in dep.slots.iter().enumerate() {
                    any_times[d] |= !s.is_empty();
                }
            }
            let rows: Vec<Answers> = departments
                .iter()
                .map(|dep| {
                    let mut row = Answers::default();
                    row.set(items::DEPARTMENT, Value::Choice(dep.code.clone()));
                    if let Some(listed) = specialty(&dep.code)
                        && listed.free_text
                        && !dep.name.is_empty()
                        && listed.name != dep.name
                    {
                        row.set(items::DEPARTMENT_NAME, Value::Text(dep.name.clone()));
                    }
                    let others: [bool; 8] =
                        std::array::from_fn(|d| any_times[d] && dep.slots[d].is_empty());
                    row.set(
                        items::DEPARTMENT_HOURS,
                        Value::Hours(table(part, &dep.slots, &others)),
                    );
                    row
                })
                .collect();
            if !rows.is_empty() {
                a.set(items::DEPARTMENTS, Value::Group(rows));
            }
        }
    }
    if kind == FacilityKind::Clinic && !part.beds.is_empty() {
        a.set(items::HAS_BEDS, Value::Choice("yes".into()));
    }
    for (item, n) in &part.beds {
        a.set(item, Value::Number(*n));
    }
    a
}
