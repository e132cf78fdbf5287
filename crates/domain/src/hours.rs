//! The weekly hours table (DOMAIN §5.1, §9.6, §10): time slots per day type (月–日, 祝), 休診 rules
//! (毎週 = a closed weekday, 第n週, 祝日 = a closed 祝 day, その他 = dated periods) and 外来受付時間,
//! with the rules that keep out what the published data is full of, and open-now.
//!
//! Shapes the published data gets wrong cannot be written here at all: a closed day has no times
//! ([`Day::Closed`] carries none), an open day has at least one slot ([`Slots`] refuses an empty
//! list, also when deserialising), 24 hours is [`Day::AllDay`] rather than `00:00–00:00`, and
//! flags are enums rather than the open data's inverted 0/1.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};

use crate::Severity;

/// Minutes since midnight, `00:00`–`24:00` (`24:00` only as an end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    pub const MIDNIGHT: Self = Self(0);
    pub const END_OF_DAY: Self = Self(24 * 60);

    pub fn new(hour: u16, minute: u16) -> Option<Self> {
        let m = hour.checked_mul(60)?.checked_add(minute)?;
        (minute < 60 && m <= 24 * 60).then_some(Self(m))
    }

    /// `9:00`, `09:00`, `0900`, `９：００` (全角 is folded): what people type.
    pub fn parse(input: &str) -> Option<Self> {
        let input = input.trim();
        // NFKC leaves ASCII as it is, and every stored time is ASCII (`09:00`): reading a large
        // report's hours tables (60 診療科目 × 8 days × 3 slots) should not normalise each one.
        let s: std::borrow::Cow<'_, str> = if input.is_ascii() {
            input.into()
        } else {
            crate::text::nfkc(input).into()
        };
        let (h, m) = match s.split_once(':') {
            Some((h, m)) => (h, m),
            None if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) => s.split_at(2),
            None => return None,
        };
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return None;
        }
        Self::new(h.parse().ok()?, m.parse().ok()?)
    }

    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor rather than `String::deserialize`: a large report holds thousands of times
        // and every published document is read again by search, open data and FHIR; reading
        // the text in place allocates nothing.
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = TimeOfDay;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a time such as 09:00")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<TimeOfDay, E> {
                TimeOfDay::parse(s).ok_or_else(|| E::custom(format!("not a time: {s}")))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// 月 … 日 and 祝: the columns of the hours table and of the open data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayType {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
    Holiday,
}

impl DayType {
    pub const ALL: [Self; 8] = [
        Self::Mon,
        Self::Tue,
        Self::Wed,
        Self::Thu,
        Self::Fri,
        Self::Sat,
        Self::Sun,
        Self::Holiday,
    ];

    /// 「月」…「日」「祝」
    pub fn label(self) -> &'static str {
        match self {
            Self::Mon => "月",
            Self::Tue => "火",
            Self::Wed => "水",
            Self::Thu => "木",
            Self::Fri => "金",
            Self::Sat => "土",
            Self::Sun => "日",
            Self::Holiday => "祝",
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Self::Mon => "mon",
            Self::Tue => "tue",
            Self::Wed => "wed",
            Self::Thu => "thu",
            Self::Fri => "fri",
            Self::Sat => "sat",
            Self::Sun => "sun",
            Self::Holiday => "holiday",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.id() == id)
    }

    pub fn of_weekday(w: Weekday) -> Self {
        match w {
            Weekday::Mon => Self::Mon,
            Weekday::Tue => Self::Tue,
            Weekday::Wed => Self::Wed,
            Weekday::Thu => Self::Thu,
            Weekday::Fri => Self::Fri,
            Weekday::Sat => Self::Sat,
            Weekday::Sun => Self::Sun,
        }
    }
}

/// A from–to pair, e.g. 外来受付時間.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

/// One 診療時間帯 / 開店時間帯 / 就業時間帯.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Slot {
    pub start: TimeOfDay,
    pub end: TimeOfDay,
    /// Ends on the next day (夜間): `end` is then at or before `start` on the clock. Without it
    /// an end before the start is a typing error, which the published data has 2,124 of.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overnight: bool,
    /// 外来受付時間 of this slot, when it differs from the slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reception: Option<Span>,
}

impl Slot {
    /// Minutes after this day's midnight at which the slot ends (beyond 1440 when overnight).
    fn end_minutes(&self) -> u32 {
        u32::from(self.end.0) + if self.overnight { 24 * 60 } else { 0 }
    }

    fn length(&self) -> i64 {
        i64::from(self.end_minutes()) - i64::from(self.start.0)
    }
}

/// The slots of an open day: at least one, by construction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<Slot>", into = "Vec<Slot>")]
pub struct Slots(Vec<Slot>);

impl Slots {
    pub fn new(slots: Vec<Slot>) -> Option<Self> {
        (!slots.is_empty()).then_some(Self(slots))
    }

    pub fn as_slice(&self) -> &[Slot] {
        &self.0
    }
}

impl TryFrom<Vec<Slot>> for Slots {
    type Error = &'static str;
    fn try_from(v: Vec<Slot>) -> Result<Self, Self::Error> {
        Self::new(v).ok_or("an open day needs at least one slot")
    }
}

impl From<Slots> for Vec<Slot> {
    fn from(s: Slots) -> Self {
        s.0
    }
}

/// What a day type is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Day {
    /// 休診 / 閉店 / 休業: carries no times.
    Closed,
    Open {
        slots: Slots,
    },
    /// 24時間: instead of the `00:00–00:00` and `00:00–23:59` sentinels.
    AllDay,
    /// Open, but the times vary (予約制, 日により異なる): said explicitly rather than left blank.
    Varies,
}

/// Read by hand rather than derived: serde's internally tagged enums buffer every value before
/// looking at the tag (an allocation per field of every day of every table), and its unit
/// variants ignore stray fields, so times sent with `closed` would be dropped silently. Here the
/// fields are read in place in any order, and a field that does not belong is an error.
impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Day;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a day: {\"status\": \"closed\" | \"open\" | \"all_day\" | \"varies\"}")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Day, A::Error> {
                use serde::de::Error;
                let mut status: Option<DayStatus> = None;
                let mut slots: Option<Slots> = None;
                while let Some(key) = map.next_key::<DayKey>()? {
                    match key {
                        DayKey::Status if status.is_some() => {
                            return Err(A::Error::duplicate_field("status"));
                        }
                        DayKey::Status => status = Some(map.next_value()?),
                        DayKey::Slots if slots.is_some() => {
                            return Err(A::Error::duplicate_field("slots"));
                        }
                        DayKey::Slots => slots = Some(map.next_value()?),
                    }
                }
                match (status, slots) {
                    (None, _) => Err(A::Error::missing_field("status")),
                    (Some(DayStatus::Open), Some(slots)) => Ok(Day::Open { slots }),
                    (Some(DayStatus::Open), None) => Err(A::Error::missing_field("slots")),
                    (Some(_), Some(_)) => Err(A::Error::unknown_field("slots", &["status"])),
                    (Some(DayStatus::Closed), None) => Ok(Day::Closed),
                    (Some(DayStatus::AllDay), None) => Ok(Day::AllDay),
                    (Some(DayStatus::Varies), None) => Ok(Day::Varies),
                }
            }
        }
        d.deserialize_map(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum DayStatus {
    Closed,
    Open,
    AllDay,
    Varies,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum DayKey {
    Status,
    Slots,
}

/// 第n週の〇曜日: the n-th such weekday of the month (第2・第4土曜 = the 2nd and 4th Saturdays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NthWeekday {
    /// 1–5.
    pub week: u8,
    pub day: DayType,
}

impl NthWeekday {
    fn matches(self, date: NaiveDate) -> bool {
        u32::from(self.week) == (date.day() - 1) / 7 + 1
            && self.day == DayType::of_weekday(date.weekday())
    }
}

/// その他の休診日 as dates (年末年始 12/29–1/3 is two periods a year apart, or one spanning the
/// new year), with a note for what it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClosedPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A weekly hours table with its closures. A day type missing from `days` is unanswered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WeeklyHours {
    #[serde(default)]
    pub days: BTreeMap<DayType, Day>,
    /// 決まった週に休診（定期週）.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub closed_weeks: BTreeSet<NthWeekday>,
    /// その他の休診日 (GW、お盆等) as dated periods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed_periods: Vec<ClosedPeriod>,
    /// Free text beside the table; never read by open-now.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A rule the table breaks. `code` is stable; `at` says where in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursProblem {
    pub code: &'static str,
    pub severity: Severity,
    pub at: HoursPlace,
    pub message: String,
}

/// Where in the table a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoursPlace {
    Table,
    Day(DayType),
    /// Day and 0-based slot.
    Slot(DayType, usize),
    ClosedWeek(usize),
    ClosedPeriod(usize),
}

/// The longest slot the table accepts: more is a typing error (DOMAIN §10: 461 rows spanning
/// over 18 h).
const MAX_SLOT_MINUTES: i64 = 18 * 60;
/// Slots starting before / ending after these are unusual enough to ask about.
const EARLY: u16 = 6 * 60;
const LATE: u16 = 23 * 60;
/// A closed period longer than this is almost certainly a typing error in the year.
const MAX_PERIOD_DAYS: i64 = 366;
pub const NOTE_MAX_CHARS: usize = 500;

/// What the check needs to know beyond the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoursRules {
    /// 診療時間帯 1–3, 開店時間帯 1–4.
    pub max_slots: usize,
    /// Night hours are normal here (救急科, 夜間の時間帯): no warning outside 06:00–23:00.
    pub night_expected: bool,
    /// Every day type must be answered (入力完了 of a required table).
    pub complete: bool,
}

impl Slot {
    /// 「09:00–12:00」, 「22:00–翌06:00」, with 「（受付 08:30–11:30）」 when reception differs.
    pub fn describe(&self) -> String {
        let next = if self.overnight { "翌" } else { "" };
        let mut out = format!("{}–{next}{}", self.start, self.end);
        if let Some(r) = self.reception {
            out.push_str(&format!("（受付 {}–{}）", r.start, r.end));
        }
        out
    }
}

impl Day {
    /// How the day reads in a list: its slots, 「休み」, 「24時間」 or 「日により異なる」 (the
    /// words of the hours input).
    pub fn describe(&self) -> String {
        match self {
            Self::Closed => "休み".to_owned(),
            Self::Open { slots } => slots
                .as_slice()
                .iter()
                .map(Slot::describe)
                .collect::<Vec<_>>()
                .join("、"),
            Self::AllDay => "24時間".to_owned(),
            Self::Varies => "日により異なる".to_owned(),
        }
    }
}

impl WeeklyHours {
    /// The table as lines a reviewer compares: one per answered day type (「月 09:00–12:00、
    /// 14:00–18:00」), then the fixed closed weeks, each closed period and the note. Two tables
    /// differ exactly where their lines differ.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .days
            .iter()
            .map(|(d, day)| format!("{} {}", d.label(), day.describe()))
            .collect();
        if !self.closed_weeks.is_empty() {
            let weeks: Vec<String> = self
                .closed_weeks
                .iter()
                .map(|w| format!("第{}{}曜", w.week, w.day.label()))
                .collect();
            out.push(format!("定期休み {}", weeks.join("・")));
        }
        for p in &self.closed_periods {
            let mut line = format!("休み {}〜{}", p.from, p.to);
            if !p.note.is_empty() {
                line.push_str(&format!("（{}）", p.note));
            }
            out.push(line);
        }
        if !self.note.is_empty() {
            out.push(format!("備考 {}", self.note));
        }
        out
    }
}

impl WeeklyHours {
    /// Every rule the table breaks, errors and warnings, in table order.
    pub fn check(&self, rules: HoursRules) -> Vec<HoursProblem> {
        let mut out = Vec::new();
        let mut push = |code, severity, at, message: String| {
            out.push(HoursProblem {
                code,
                severity,
                at,
                message,
            })
        };
        if rules.complete {
            let missing: Vec<&str> = DayType::ALL
                .into_iter()
                .filter(|d| !self.days.contains_key(d))
                .map(DayType::label)
                .collect();
            if !missing.is_empty() {
                push(
                    "hours.day_missing",
                    Severity::Error,
                    HoursPlace::Table,
                    format!(
                        "{}について、「休み」「時間帯」「24時間」「日により異なる」のいずれかを選んでください。",
                        missing.join("・")
                    ),
                );
            }
        }
        for (&day, d) in &self.days {
            let Day::Open { slots } = d else { continue };
            let slots = slots.as_slice();
            let label = day.label();
            if slots.len() > rules.max_slots {
                push(
                    "hours.too_many_slots",
                    Severity::Error,
                    HoursPlace::Day(day),
                    format!(
                        "{label}の時間帯は{}つまで入力できます（{}つ入力されています）。不要な時間帯を削除するか、続いている時間帯は1つにまとめてください。",
                        rules.max_slots,
                        slots.len()
                    ),
                );
            }
            for (i, s) in slots.iter().enumerate() {
                let at = HoursPlace::Slot(day, i);
                let n = i + 1;
                if s.start == s.end && !s.overnight {
                    push(
                        "hours.zero_length",
                        Severity::Error,
                        at,
                        format!(
                            "{label}の時間帯{n}は開始と終了が同じ時刻（{}）です。24時間の場合は「24時間」を選んでください。",
                            s.start
                        ),
                    );
                } else if s.length() < 0 {
                    push(
                        "hours.end_before_start",
                        Severity::Error,
                        at,
                        format!(
                            "{label}の時間帯{n}は終了（{}）が開始（{}）より前です。日付をまたぐ場合は「翌日まで」を選んでください。",
                            s.end, s.start
                        ),
                    );
                } else if s.length() > MAX_SLOT_MINUTES {
                    push(
                        "hours.too_long",
                        Severity::Error,
                        at,
                        format!(
                            "{label}の時間帯{n}（{}〜{}{}）が18時間を超えています。時刻をご確認ください。終日の場合は「24時間」を選んでください。",
                            s.start,
                            if s.overnight { "翌" } else { "" },
                            s.end
                        ),
                    );
                } else if !rules.night_expected && !s.overnight {
                    if s.start.0 < EARLY {
                        push(
                            "hours.early",
                            Severity::Warning,
                            at,
                            format!(
                                "{label}の時間帯{n}が{}に始まります。午前・午後の誤りがないかご確認ください。誤りがなければ、このまま進めます。",
                                s.start
                            ),
                        );
                    }
                    if s.end.0 > LATE {
                        push(
                            "hours.late",
                            Severity::Warning,
                            at,
                            format!(
                                "{label}の時間帯{n}が{}に終わります。午前・午後の誤りがないかご確認ください。誤りがなければ、このまま進めます。",
                                s.end
                            ),
                        );
                    }
                }
                if let Some(r) = s.reception {
                    if r.start >= r.end && !s.overnight {
                        push(
                            "hours.reception_order",
                            Severity::Error,
                            at,
                            format!(
                                "{label}の時間帯{n}の外来受付時間は、終了（{}）を開始（{}）より後にしてください。",
                                r.end, r.start
                            ),
                        );
                    } else if !s.overnight && r.end > s.end {
                        push(
                            "hours.reception_after_close",
                            Severity::Warning,
                            at,
                            format!(
                                "{label}の時間帯{n}の外来受付終了（{}）が診療終了（{}）より後です。受付終了を診療終了までにしてください。誤りがなければ、このまま進めます。",
                                r.end, s.end
                            ),
                        );
                    }
                }
            }
            // Overlaps, among the slots that are well-formed.
            let mut ordered: Vec<(usize, &Slot)> = slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.length() > 0)
                .collect();
            ordered.sort_by_key(|(_, s)| s.start);
            for pair in ordered.windows(2) {
                let ((i, a), (j, b)) = (pair[0], pair[1]);
                if a.end_minutes() > u32::from(b.start.0) {
                    push(
                        "hours.overlap",
                        Severity::Error,
                        HoursPlace::Slot(day, j),
                        format!(
                            "{label}の時間帯{}（{}〜{}{}）と時間帯{}（{}〜{}{}）が重なっています。重ならないように時刻を直すか、1つの時間帯にまとめてください。",
                            i + 1,
                            a.start,
                            if a.overnight { "翌" } else { "" },
                            a.end,
                            j + 1,
                            b.start,
                            if b.overnight { "翌" } else { "" },
                            b.end
                        ),
                    );
                }
            }
        }
        for (i, w) in self.closed_weeks.iter().enumerate() {
            if !(1..=5).contains(&w.week) || w.day == DayType::Holiday {
                push(
                    "hours.closed_week",
                    Severity::Error,
                    HoursPlace::ClosedWeek(i),
                    format!(
                        "定期週の休みは第1〜第5週の月〜日で指定してください（第{}週・{}）。",
                        w.week,
                        w.day.label()
                    ),
                );
            } else if self.days.get(&w.day) == Some(&Day::Closed) {
                push(
                    "hours.closed_week_redundant",
                    Severity::Warning,
                    HoursPlace::ClosedWeek(i),
                    format!(
                        "{}曜日は毎週休みのため、第{}週の指定は不要です。この指定を外してください（このままでも進めます）。",
                        w.day.label(),
                        w.week
                    ),
                );
            }
        }
        for (i, p) in self.closed_periods.iter().enumerate() {
            let at = HoursPlace::ClosedPeriod(i);
            if p.to < p.from {
                push(
                    "hours.period_order",
                    Severity::Error,
                    at,
                    format!(
                        "休みの期間は、終了日（{}）を開始日（{}）以降にしてください。",
                        p.to, p.from
                    ),
                );
            } else if (p.to - p.from).num_days() > MAX_PERIOD_DAYS {
                push(
                    "hours.period_long",
                    Severity::Warning,
                    at,
                    format!(
                        "休みの期間（{}〜{}）が1年を超えています。年の誤りがないかご確認ください。誤りがなければ、このまま進めます。",
                        p.from, p.to
                    ),
                );
            }
        }
        if self.note.chars().count() > NOTE_MAX_CHARS {
            push(
                "hours.note_long",
                Severity::Error,
                HoursPlace::Table,
                format!(
                    "備考は{NOTE_MAX_CHARS}文字以内で入力してください（{}文字入力されています）。",
                    self.note.chars().count()
                ),
            );
        }
        out
    }

    /// How `date` is kept: its dated and 定期週 closures first, then the 祝 column on a
    /// 祝日, else its weekday's column. `None` when that column is unanswered.
    pub fn day_on(&self, date: NaiveDate, is_holiday: &dyn Fn(NaiveDate) -> bool) -> Option<&Day> {
        const CLOSED: &Day = &Day::Closed;
        if self
            .closed_periods
            .iter()
            .any(|p| p.from <= date && date <= p.to)
            || self.closed_weeks.iter().any(|w| w.matches(date))
        {
            return Some(CLOSED);
        }
        let column = if is_holiday(date) {
            DayType::Holiday
        } else {
            DayType::of_weekday(date.weekday())
        };
        self.days.get(&column)
    }

    /// Open at `at` (Japan time)? A slot is open from its start up to, not including, its end;
    /// an overnight slot of the day before counts.
    pub fn openness(&self, at: NaiveDateTime, is_holiday: &dyn Fn(NaiveDate) -> bool) -> Openness {
        let minute = at.hour() * 60 + at.minute();
        let today = at.date();
        // Yesterday's overnight slots reaching into today.
        if let Some(Day::Open { slots }) = today
            .checked_sub_signed(Duration::days(1))
            .and_then(|yesterday| self.day_on(yesterday, is_holiday))
            && slots
                .as_slice()
                .iter()
                .any(|s| s.overnight && minute < u32::from(s.end.0))
        {
            return Openness::Open;
        }
        match self.day_on(today, is_holiday) {
            Some(Day::AllDay) => Openness::Open,
            Some(Day::Varies) | None => Openness::Unknown,
            Some(Day::Closed) => Openness::Closed,
            Some(Day::Open { slots }) => {
                let open = slots.as_slice().iter().any(|s| {
                    u32::from(s.start.0) <= minute && (s.overnight || minute < u32::from(s.end.0))
                });
                if open {
                    Openness::Open
                } else {
                    Openness::Closed
                }
            }
        }
    }
}

/// The answer to 「今、診療中か」.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Openness {
    Open,
    Closed,
    /// The times vary or were not reported: search shows 「お問い合わせください」 rather than guessing.
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TimeOfDay {
        TimeOfDay::parse(s).unwrap()
    }

    fn slot(a: &str, b: &str) -> Slot {
        Slot {
            start: t(a),
            end: t(b),
            overnight: false,
            reception: None,
        }
    }

    fn open(slots: Vec<Slot>) -> Day {
        Day::Open {
            slots: Slots::new(slots).unwrap(),
        }
    }

    #[test]
    fn lines_read_like_the_table() {
        let mut h = clinic();
        h.days.insert(
            DayType::Fri,
            open(vec![
                Slot {
                    reception: Some(Span {
                        start: t("08:30"),
                        end: t("11:30"),
                    }),
                    ..slot("09:00", "12:00")
                },
                Slot {
                    overnight: true,
                    ..slot("22:00", "06:00")
                },
            ]),
        );
        h.days.insert(DayType::Sat, Day::Varies);
        h.days.insert(DayType::Holiday, Day::AllDay);
        h.note = "急患は随時".into();
        let lines = h.lines();
        assert_eq!(lines[0], "月 09:00–12:00、14:00–18:00");
        assert_eq!(
            lines[4],
            "金 09:00–12:00（受付 08:30–11:30）、22:00–翌06:00"
        );
        assert_eq!(lines[5], "土 日により異なる");
        assert_eq!(lines[6], "日 休み");
        assert_eq!(lines[7], "祝 24時間");
        assert_eq!(lines[8], "定期休み 第2土曜・第4土曜");
        assert!(lines[9].starts_with("休み "), "{lines:?}");
        assert_eq!(lines.last().map(String::as_str), Some("備考 急患は随時"));
    }

    const RULES: HoursRules = HoursRules {
        max_slots: 3,
        night_expected: false,
        complete: true,
    };

    /// 月–金 9–12 / 14–18, 土 9–12, 日・祝 休診, 第2・第4土曜 休診, 年末年始.
    fn clinic() -> WeeklyHours {
        let mut days = BTreeMap::new();
        for d in [
            DayType::Mon,
            DayType::Tue,
            DayType::Wed,
            DayType::Thu,
            DayType::Fri,
        ] {
            days.insert(d, open(vec![slot("9:00", "12:00"), slot("14:00", "18:00")]));
        }
        days.insert(DayType::Sat, open(vec![slot("09:00", "12:00")]));
        days.insert(DayType::Sun, Day::Closed);
        days.insert(DayType::Holiday, Day::Closed);
        WeeklyHours {
            days,
            closed_weeks: [2, 4]
                .map(|week| NthWeekday {
                    week,
                    day: DayType::Sat,
                })
                .into(),
            closed_periods: vec![ClosedPeriod {
                from: NaiveDate::from_ymd_opt(2026, 12, 29).unwrap(),
                to: NaiveDate::from_ymd_opt(2027, 1, 3).unwrap(),
                note: "年末年始".into(),
            }],
            note: String::new(),
        }
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn no_holidays(_: NaiveDate) -> bool {
        false
    }

    #[test]
    fn times_parse_as_people_type_them() {
        assert_eq!(t("9:00").minutes(), 540);
        assert_eq!(t("０９：３０").minutes(), 570);
        assert_eq!(t("1830").to_string(), "18:30");
        assert_eq!(t(" 9:00 ").minutes(), 540);
        assert_eq!(t("１８３０").to_string(), "18:30");
        assert_eq!(t("24:00"), TimeOfDay::END_OF_DAY);
        for bad in ["24:01", "9", "9:0", "25:00", "12:60", "", "ab:cd"] {
            assert_eq!(TimeOfDay::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_plain_clinic_table_is_clean() {
        assert_eq!(clinic().check(RULES), vec![]);
    }

    /// Asserts `openness` at each (time, expected) pair, naming the time on failure.
    fn expect_openness(
        h: &WeeklyHours,
        holiday: &dyn Fn(NaiveDate) -> bool,
        cases: &[(&str, Openness)],
    ) {
        for (when, want) in cases {
            assert_eq!(h.openness(at(when), holiday), *want, "{when}");
        }
    }

    #[test]
    fn open_now_follows_slots_weeks_holidays_and_periods() {
        use Openness::{Closed, Open};
        let h = clinic();
        // 2026-11-23 is a Monday and 勤労感謝の日.
        let holiday = |d: NaiveDate| d == NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        expect_openness(
            &h,
            &holiday,
            &[
                ("2026-11-24 09:00", Open),
                ("2026-11-24 12:00", Closed),
                ("2026-11-24 08:59", Closed),
                ("2026-11-23 10:00", Closed),
                // 第1土曜 open, 第2土曜 (11-14) closed.
                ("2026-11-07 10:00", Open),
                ("2026-11-14 10:00", Closed),
                // 年末年始.
                ("2026-12-29 10:00", Closed),
                ("2027-01-04 10:00", Open),
            ],
        );
        expect_openness(&h, &no_holidays, &[("2026-11-23 10:00", Open)]);
    }

    #[test]
    fn overnight_slots_reach_into_the_next_day() {
        use Openness::{Closed, Open, Unknown};
        let mut h = WeeklyHours::default();
        h.days.insert(
            DayType::Fri,
            open(vec![Slot {
                overnight: true,
                ..slot("20:00", "02:00")
            }]),
        );
        h.days.insert(DayType::Sat, Day::Closed);
        expect_openness(
            &h,
            &no_holidays,
            &[
                // 2026-11-20 is a Friday.
                ("2026-11-20 23:30", Open),
                ("2026-11-21 01:59", Open),
                ("2026-11-21 02:00", Closed),
                ("2026-11-20 19:00", Closed),
                // Thursday unanswered: unknown rather than closed.
                ("2026-11-19 10:00", Unknown),
            ],
        );
        let problems = h.check(HoursRules {
            complete: false,
            ..RULES
        });
        assert_eq!(problems, vec![], "an overnight slot is not an error");
    }

    #[test]
    fn all_day_and_varies_are_explicit() {
        let mut h = WeeklyHours::default();
        h.days.insert(DayType::Sun, Day::AllDay);
        h.days.insert(DayType::Mon, Day::Varies);
        expect_openness(
            &h,
            &no_holidays,
            &[
                ("2026-11-22 03:00", Openness::Open),
                ("2026-11-23 10:00", Openness::Unknown),
            ],
        );
    }

    #[test]
    fn the_published_data_errors_are_refused() {
        let mut h = clinic();
        h.days.insert(
            DayType::Mon,
            open(vec![
                slot("00:00", "00:00"),
                slot("18:00", "09:00"),
                slot("09:00", "12:00"),
                slot("11:00", "13:00"),
            ]),
        );
        h.days.insert(
            DayType::Tue,
            open(vec![Slot {
                overnight: true,
                ..slot("06:00", "05:00")
            }]),
        );
        h.days
            .insert(DayType::Wed, open(vec![slot("00:45", "12:00")]));
        h.days.remove(&DayType::Holiday);
        let codes: Vec<&str> = h.check(RULES).iter().map(|p| p.code).collect();
        assert_eq!(
            codes,
            [
                "hours.day_missing",
                "hours.too_many_slots",
                "hours.zero_length",
                "hours.end_before_start",
                "hours.overlap",
                "hours.too_long",
                "hours.early",
            ]
        );
        let warnings = h
            .check(RULES)
            .into_iter()
            .filter(|p| p.severity == Severity::Warning)
            .count();
        assert_eq!(warnings, 1);
        // Night hours expected (救急科): no warning.
        assert!(
            h.check(HoursRules {
                night_expected: true,
                ..RULES
            })
            .iter()
            .all(|p| p.code != "hours.early")
        );
    }

    #[test]
    fn an_open_day_without_slots_cannot_be_read() {
        let err = serde_json::from_str::<Day>(r#"{"status":"open","slots":[]}"#);
        assert!(err.is_err());
        let closed_with_times = serde_json::from_str::<Day>(
            r#"{"status":"closed","slots":[{"start":"09:00","end":"12:00"}]}"#,
        );
        // Closed carries no times, and times beside it are refused rather than dropped.
        assert!(closed_with_times.is_err());
        // Fields in any order; nothing else beside them; the status is required.
        let open = serde_json::from_str::<Day>(
            r#"{"slots":[{"start":"09:00","end":"12:00"}],"status":"open"}"#,
        );
        assert!(matches!(open, Ok(Day::Open { .. })));
        for bad in [
            r#"{"status":"open","slots":[{"start":"09:00","end":"12:00"}],"note":"x"}"#,
            r#"{"slots":[{"start":"09:00","end":"12:00"}]}"#,
            r#"{"status":"all_day","status":"closed"}"#,
            r#"{"status":"open","slots":[{"start":"9時","end":"12:00"}]}"#,
        ] {
            assert!(serde_json::from_str::<Day>(bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::from_str::<Day>(r#"{"status":"varies"}"#).unwrap(),
            Day::Varies
        );
        let round = serde_json::to_string(&clinic()).unwrap();
        assert_eq!(
            serde_json::from_str::<WeeklyHours>(&round).unwrap(),
            clinic()
        );
    }

    #[test]
    fn reception_and_closure_rules() {
        let mut h = clinic();
        h.days.insert(
            DayType::Mon,
            open(vec![Slot {
                reception: Some(Span {
                    start: t("12:00"),
                    end: t("08:30"),
                }),
                ..slot("09:00", "12:00")
            }]),
        );
        h.days.insert(
            DayType::Tue,
            open(vec![Slot {
                reception: Some(Span {
                    start: t("08:30"),
                    end: t("12:30"),
                }),
                ..slot("09:00", "12:00")
            }]),
        );
        h.closed_weeks.insert(NthWeekday {
            week: 6,
            day: DayType::Mon,
        });
        h.closed_weeks.insert(NthWeekday {
            week: 1,
            day: DayType::Sun,
        });
        h.closed_periods.push(ClosedPeriod {
            from: NaiveDate::from_ymd_opt(2026, 8, 16).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 8, 13).unwrap(),
            note: "お盆".into(),
        });
        let codes: Vec<&str> = h.check(RULES).iter().map(|p| p.code).collect();
        assert_eq!(
            codes,
            [
                "hours.reception_order",
                "hours.reception_after_close",
                "hours.closed_week_redundant",
                "hours.closed_week",
                "hours.period_order",
            ]
        );
    }
}
