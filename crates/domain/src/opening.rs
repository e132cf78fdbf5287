//! 現在診療中 (issue 7, DOMAIN §7, §9.6): whether a facility is open at a moment in Japan time,
//! until when, and when it opens next — from its weekly hours tables, the 祝日 calendar,
//! 年末年始 and 臨時休診. Evaluated at query time: nothing here is stored.
//!
//! A facility may have several tables (one per 診療科目 for 病院・診療所・歯科診療所); it is open
//! when any of them is. 年末年始 (12/29–1/3) is kept like a 祝日: the 祝 column applies, so a
//! clinic closed on 祝日 is closed then and a 休日当番 or 救急 that is open on 祝日 is open. A
//! facility that keeps 年末年始 differently says so with dated closures or a 臨時休診.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::hours::{Day, Openness, TimeOfDay, WeeklyHours};

/// Japan Standard Time (no daylight saving since 1951, so a fixed offset is exact).
pub const JAPAN: FixedOffset = match FixedOffset::east_opt(9 * 3600) {
    Some(o) => o,
    None => panic!("+09:00 is a valid offset"),
};

/// The wall-clock time in Japan at `now`: what open-now and the date rules read.
pub fn japan_time(now: DateTime<Utc>) -> NaiveDateTime {
    now.with_timezone(&JAPAN).naive_local()
}

/// The date in Japan at `now`.
pub fn japan_date(now: DateTime<Utc>) -> NaiveDate {
    japan_time(now).date()
}

/// How far ahead the next opening is looked for: a week and a day covers every weekly table.
const HORIZON_DAYS: i64 = 8;

/// 年末年始: 12月29日から1月3日まで (the 行政機関の休日 span most facilities keep).
pub fn is_year_end(date: NaiveDate) -> bool {
    matches!((date.month(), date.day()), (12, 29..=31) | (1, 1..=3))
}

/// A day kept like a 祝日: a 国民の祝日 (by `is_holiday`, the embedded calendar) or 年末年始.
pub fn is_day_off(date: NaiveDate, is_holiday: &dyn Fn(NaiveDate) -> bool) -> bool {
    is_year_end(date) || is_holiday(date)
}

/// 臨時休診: the facility is closed on these dates (both included), whatever its tables say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// What residents read: 「院長不在のため」, 「台風による停電のため」.
    pub reason: String,
}

impl Closure {
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// Over and done with on `today` (kept for the record, no longer applied).
    pub fn expired(&self, today: NaiveDate) -> bool {
        self.to < today
    }
}

/// The answer to 「今、診療中か」 with what a result line shows beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenNow {
    pub openness: Openness,
    /// When open: the end of the current opening (「18時まで診療」); `None` when it lasts beyond
    /// the horizon (24時間).
    pub until: Option<NaiveDateTime>,
    /// When closed: the next opening within a week and a day.
    pub next_open: Option<NaiveDateTime>,
    /// The 臨時休診 that closes the facility now, if one does.
    pub closure: Option<Closure>,
}

/// What a day looks like for a result line: 「9:00–12:00、14:00–18:00」, 休診, 24時間, ….
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DayHours {
    Closed,
    /// Closed by a 臨時休診, with its reason.
    TemporarilyClosed {
        reason: String,
    },
    AllDay,
    /// Minutes from the day's midnight, merged across tables; an overnight end is beyond 1440.
    Open {
        spans: Vec<(u32, u32)>,
    },
    /// 日により異なる or not reported.
    Unknown,
}

impl DayHours {
    /// 「9:00–12:00、14:00–翌2:00」, 「休診」, 「24時間」.
    pub fn describe(&self) -> String {
        match self {
            Self::Closed => "休診".into(),
            Self::TemporarilyClosed { .. } => "臨時休診".into(),
            Self::AllDay => "24時間".into(),
            Self::Unknown => "お問い合わせください".into(),
            Self::Open { spans } => spans
                .iter()
                .map(|(a, b)| format!("{}–{}", clock(*a), clock(*b)))
                .collect::<Vec<_>>()
                .join("、"),
        }
    }

    /// The same in English for the public site.
    pub fn describe_en(&self) -> String {
        match self {
            Self::Closed => "Closed".into(),
            Self::TemporarilyClosed { .. } => "Temporarily closed".into(),
            Self::AllDay => "24 hours".into(),
            Self::Unknown => "Please ask the facility".into(),
            Self::Open { spans } => spans
                .iter()
                .map(|(a, b)| format!("{}–{}", clock_en(*a), clock_en(*b)))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

fn clock(minutes: u32) -> String {
    if minutes > 24 * 60 {
        let m = minutes - 24 * 60;
        format!("翌{}:{:02}", m / 60, m % 60)
    } else {
        format!("{}:{:02}", minutes / 60, minutes % 60)
    }
}

fn clock_en(minutes: u32) -> String {
    if minutes > 24 * 60 {
        let m = minutes - 24 * 60;
        format!("{}:{:02} (next day)", m / 60, m % 60)
    } else {
        format!("{}:{:02}", minutes / 60, minutes % 60)
    }
}

/// A facility's hours as open-now reads them: its tables, its current 臨時休診 and the calendar.
pub struct Schedule<'a> {
    pub tables: &'a [&'a WeeklyHours],
    pub closures: &'a [Closure],
    pub is_holiday: &'a dyn Fn(NaiveDate) -> bool,
}

type Interval = (NaiveDateTime, NaiveDateTime);

fn at_minutes(date: NaiveDate, minutes: u32) -> NaiveDateTime {
    date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minutes))
}

impl Schedule<'_> {
    fn closure_on(&self, date: NaiveDate) -> Option<&Closure> {
        self.closures.iter().find(|c| c.covers(date))
    }

    fn day_of<'t>(&self, table: &'t WeeklyHours, date: NaiveDate) -> Option<&'t Day> {
        let is_holiday = self.is_holiday;
        table.day_on(date, &|d| is_day_off(d, is_holiday))
    }

    /// Whether some table leaves `date` open to question (日により異なる, or unanswered).
    fn unknown_on(&self, date: NaiveDate) -> bool {
        self.tables.is_empty()
            || self
                .tables
                .iter()
                .any(|t| matches!(self.day_of(t, date), None | Some(Day::Varies)))
    }

    /// Opening intervals of every table from `first` for `days` days, merged, without the
    /// 臨時休診 days (an overnight slot into a closed day is cut at its midnight).
    fn intervals(&self, first: NaiveDate, days: i64) -> Vec<Interval> {
        let mut all: Vec<Interval> = Vec::new();
        for offset in 0..days {
            let date = first + Duration::days(offset);
            for table in self.tables {
                match self.day_of(table, date) {
                    Some(Day::Open { slots }) => {
                        for s in slots.as_slice() {
                            let end =
                                u32::from(s.end.minutes()) + if s.overnight { 24 * 60 } else { 0 };
                            all.push((
                                at_minutes(date, u32::from(s.start.minutes())),
                                at_minutes(date, end),
                            ));
                        }
                    }
                    Some(Day::AllDay) => all.push((at_minutes(date, 0), at_minutes(date, 24 * 60))),
                    Some(Day::Closed | Day::Varies) | None => {}
                }
            }
        }
        let mut cut: Vec<Interval> = Vec::new();
        for (start, end) in all {
            cut.extend(self.without_closures(start, end));
        }
        cut.sort();
        let mut merged: Vec<Interval> = Vec::new();
        for (start, end) in cut {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }

    /// `[start, end)` minus the days a 臨時休診 covers.
    fn without_closures(&self, start: NaiveDateTime, end: NaiveDateTime) -> Vec<Interval> {
        let mut out = Vec::new();
        let mut from = start;
        let mut day = start.date();
        while from < end {
            let midnight = at_minutes(day, 24 * 60);
            let piece_end = end.min(midnight);
            if self.closure_on(day).is_none() && from < piece_end {
                match out.last_mut() {
                    Some((_, e)) if *e == from => *e = piece_end,
                    _ => out.push((from, piece_end)),
                }
            }
            from = piece_end;
            day += Duration::days(1);
        }
        out
    }

    /// Open, closed or unknown at `at` (Japan time), with until / next opening / closure.
    pub fn at(&self, at: NaiveDateTime) -> OpenNow {
        let today = at.date();
        let first = today - Duration::days(1);
        let horizon = at_minutes(first, 0) + Duration::days(HORIZON_DAYS + 1);
        let intervals = self.intervals(first, HORIZON_DAYS + 1);
        let closure = self.closure_on(today).cloned();
        if let Some((_, end)) = intervals.iter().find(|(s, e)| *s <= at && at < *e) {
            return OpenNow {
                openness: Openness::Open,
                until: (*end < horizon).then_some(*end),
                next_open: None,
                closure: None,
            };
        }
        let next_open = intervals.iter().map(|(s, _)| *s).find(|s| *s > at);
        let openness = if closure.is_none() && self.unknown_on(today) {
            Openness::Unknown
        } else {
            Openness::Closed
        };
        OpenNow {
            openness,
            until: None,
            next_open,
            closure,
        }
    }

    /// The hours of `date` for a result line or the detail page.
    pub fn day(&self, date: NaiveDate) -> DayHours {
        if let Some(c) = self.closure_on(date) {
            return DayHours::TemporarilyClosed {
                reason: c.reason.clone(),
            };
        }
        let days: Vec<Option<&Day>> = self.tables.iter().map(|t| self.day_of(t, date)).collect();
        if days.iter().any(|d| matches!(d, Some(Day::AllDay))) {
            return DayHours::AllDay;
        }
        let mut spans: Vec<(u32, u32)> = Vec::new();
        for d in &days {
            if let Some(Day::Open { slots }) = d {
                for s in slots.as_slice() {
                    let end = u32::from(s.end.minutes()) + if s.overnight { 24 * 60 } else { 0 };
                    spans.push((u32::from(s.start.minutes()), end));
                }
            }
        }
        spans.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::new();
        for (a, b) in spans {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        if !merged.is_empty() {
            DayHours::Open { spans: merged }
        } else if days.is_empty() || days.iter().any(|d| matches!(d, None | Some(Day::Varies))) {
            DayHours::Unknown
        } else {
            DayHours::Closed
        }
    }
}

/// 「18時まで診療」「18時30分まで診療」 for an `until` on `today`; 「翌2時まで」 past midnight.
pub fn until_label(today: NaiveDate, until: NaiveDateTime) -> String {
    let minutes = (until - at_minutes(today, 0)).num_minutes();
    let (prefix, m) = if minutes > 24 * 60 {
        ("翌", minutes - 24 * 60)
    } else {
        ("", minutes)
    };
    if m % 60 == 0 {
        format!("{prefix}{}時まで", m / 60)
    } else {
        format!("{prefix}{}時{}分まで", m / 60, m % 60)
    }
}

/// The time of day of `t` as the hours table writes it.
pub fn time_of(t: NaiveDateTime) -> Option<TimeOfDay> {
    use chrono::Timelike;
    TimeOfDay::new(
        u16::try_from(t.hour()).ok()?,
        u16::try_from(t.minute()).ok()?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hours::{DayType, NthWeekday, Slot, Slots};

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

    /// 月–金 9–12・14–18, 土 9–12, 日・祝 休診.
    fn clinic() -> WeeklyHours {
        let mut h = WeeklyHours::default();
        for d in [
            DayType::Mon,
            DayType::Tue,
            DayType::Wed,
            DayType::Thu,
            DayType::Fri,
        ] {
            h.days
                .insert(d, open(vec![slot("9:00", "12:00"), slot("14:00", "18:00")]));
        }
        h.days
            .insert(DayType::Sat, open(vec![slot("9:00", "12:00")]));
        h.days.insert(DayType::Sun, Day::Closed);
        h.days.insert(DayType::Holiday, Day::Closed);
        h
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// 2026's 祝日 that the tests touch (the real calendar lives in refdata).
    fn holidays(date: NaiveDate) -> bool {
        [
            d("2026-11-03"),
            d("2026-11-23"),
            d("2027-01-01"),
            d("2027-01-11"),
        ]
        .contains(&date)
    }

    fn now(tables: &[&WeeklyHours], closures: &[Closure], when: &str) -> OpenNow {
        Schedule {
            tables,
            closures,
            is_holiday: &holidays,
        }
        .at(at(when))
    }

    #[test]
    fn a_weekday_morning_is_open_until_noon_and_the_lunch_break_is_closed() {
        let h = clinic();
        // 2026-11-20 is a Friday.
        let o = now(&[&h], &[], "2026-11-20 10:30");
        assert_eq!(o.openness, Openness::Open);
        assert_eq!(o.until, Some(at("2026-11-20 12:00")));
        assert_eq!(
            until_label(d("2026-11-20"), at("2026-11-20 12:00")),
            "12時まで"
        );
        let o = now(&[&h], &[], "2026-11-20 12:00");
        assert_eq!(o.openness, Openness::Closed, "the end is not included");
        assert_eq!(o.next_open, Some(at("2026-11-20 14:00")));
    }

    #[test]
    fn a_national_holiday_uses_the_holiday_column() {
        let h = clinic();
        // 2026-11-23 (勤労感謝の日) is a Monday.
        let o = now(&[&h], &[], "2026-11-23 10:00");
        assert_eq!(o.openness, Openness::Closed);
        assert_eq!(o.next_open, Some(at("2026-11-24 09:00")));
        let mut holiday_duty = clinic();
        holiday_duty
            .days
            .insert(DayType::Holiday, open(vec![slot("9:00", "17:00")]));
        assert_eq!(
            now(&[&holiday_duty], &[], "2026-11-23 10:00").openness,
            Openness::Open
        );
    }

    #[test]
    fn second_and_fourth_saturdays_are_closed() {
        let mut h = clinic();
        h.closed_weeks.insert(NthWeekday {
            week: 2,
            day: DayType::Sat,
        });
        h.closed_weeks.insert(NthWeekday {
            week: 4,
            day: DayType::Sat,
        });
        // November 2026: Saturdays 7, 14, 21, 28.
        assert_eq!(now(&[&h], &[], "2026-11-07 10:00").openness, Openness::Open);
        assert_eq!(
            now(&[&h], &[], "2026-11-14 10:00").openness,
            Openness::Closed
        );
        assert_eq!(now(&[&h], &[], "2026-11-21 10:00").openness, Openness::Open);
        let fourth = now(&[&h], &[], "2026-11-28 10:00");
        assert_eq!(fourth.openness, Openness::Closed);
        // Next: Monday the 30th.
        assert_eq!(fourth.next_open, Some(at("2026-11-30 09:00")));
    }

    #[test]
    fn an_overnight_emergency_slot_is_open_after_midnight() {
        let mut er = WeeklyHours::default();
        let night = Slot {
            start: t("17:00"),
            end: t("8:30"),
            overnight: true,
            reception: None,
        };
        for d in DayType::ALL {
            er.days.insert(d, open(vec![night]));
        }
        // Friday night into Saturday morning.
        let o = now(&[&er], &[], "2026-11-21 03:00");
        assert_eq!(o.openness, Openness::Open);
        assert_eq!(o.until, Some(at("2026-11-21 08:30")));
        assert_eq!(
            until_label(d("2026-11-20"), at("2026-11-21 08:30")),
            "翌8時30分まで"
        );
        assert_eq!(
            now(&[&er], &[], "2026-11-21 09:00").openness,
            Openness::Closed
        );
        // With the day clinic of the same hospital, the two tables together.
        let day = clinic();
        let o = now(&[&day, &er], &[], "2026-11-20 16:00");
        assert_eq!(o.openness, Openness::Open);
        assert_eq!(
            o.until,
            Some(at("2026-11-21 08:30")),
            "18:00 runs into 17:00–翌8:30"
        );
    }

    #[test]
    fn year_end_holidays_are_kept_like_a_national_holiday() {
        let h = clinic();
        // 2026-12-29 is a Tuesday, 2027-01-04 a Monday.
        for when in ["2026-12-29 10:00", "2026-12-31 10:00", "2027-01-02 10:00"] {
            let o = now(&[&h], &[], when);
            assert_eq!(o.openness, Openness::Closed, "{when}");
            assert_eq!(o.next_open, Some(at("2027-01-04 09:00")), "{when}");
        }
        assert_eq!(now(&[&h], &[], "2026-12-28 10:00").openness, Openness::Open);
        let mut duty = clinic();
        duty.days
            .insert(DayType::Holiday, open(vec![slot("10:00", "16:00")]));
        assert_eq!(
            now(&[&duty], &[], "2026-12-30 11:00").openness,
            Openness::Open
        );
        assert!(is_year_end(d("2027-01-03")) && !is_year_end(d("2027-01-04")));
    }

    #[test]
    fn a_temporary_closure_closes_the_facility_and_expires() {
        let h = clinic();
        let typhoon = Closure {
            from: d("2026-11-19"),
            to: d("2026-11-20"),
            reason: "台風による停電のため".into(),
        };
        let o = now(&[&h], std::slice::from_ref(&typhoon), "2026-11-20 10:00");
        assert_eq!(o.openness, Openness::Closed);
        assert_eq!(o.closure.as_ref(), Some(&typhoon));
        assert_eq!(o.next_open, Some(at("2026-11-21 09:00")));
        // The day after its last day it no longer applies.
        let o = now(&[&h], std::slice::from_ref(&typhoon), "2026-11-21 10:00");
        assert_eq!(o.openness, Openness::Open);
        assert!(typhoon.expired(d("2026-11-21")) && !typhoon.expired(d("2026-11-20")));
        // An overnight slot into a closed day stops at its midnight.
        let mut er = WeeklyHours::default();
        for d in DayType::ALL {
            er.days.insert(
                d,
                open(vec![Slot {
                    start: t("17:00"),
                    end: t("8:30"),
                    overnight: true,
                    reception: None,
                }]),
            );
        }
        let o = now(&[&er], std::slice::from_ref(&typhoon), "2026-11-18 20:00");
        assert_eq!(o.until, Some(at("2026-11-19 00:00")));
        assert_eq!(
            Schedule {
                tables: &[&h],
                closures: std::slice::from_ref(&typhoon),
                is_holiday: &holidays,
            }
            .day(d("2026-11-19"))
            .describe(),
            "臨時休診"
        );
    }

    #[test]
    fn varying_or_missing_hours_are_unknown_not_closed() {
        let mut h = clinic();
        h.days.insert(DayType::Sat, Day::Varies);
        assert_eq!(
            now(&[&h], &[], "2026-11-21 10:00").openness,
            Openness::Unknown
        );
        h.days.remove(&DayType::Sat);
        assert_eq!(
            now(&[&h], &[], "2026-11-21 10:00").openness,
            Openness::Unknown
        );
        assert_eq!(
            now(&[], &[], "2026-11-20 10:00").openness,
            Openness::Unknown
        );
        // A facility open around the clock has no 「まで」.
        let mut always = WeeklyHours::default();
        for d in DayType::ALL {
            always.days.insert(d, Day::AllDay);
        }
        let o = now(&[&always], &[], "2026-11-20 10:00");
        assert_eq!((o.openness, o.until), (Openness::Open, None));
    }

    #[test]
    fn a_day_line_merges_the_departments() {
        let h = clinic();
        let mut afternoon = clinic();
        afternoon
            .days
            .insert(DayType::Fri, open(vec![slot("17:00", "20:00")]));
        let s = Schedule {
            tables: &[&h, &afternoon],
            closures: &[],
            is_holiday: &holidays,
        };
        assert_eq!(s.day(d("2026-11-20")).describe(), "9:00–12:00、14:00–20:00");
        assert_eq!(s.day(d("2026-11-22")).describe(), "休診");
        assert_eq!(
            s.day(d("2026-11-20")).describe_en(),
            "9:00–12:00, 14:00–20:00"
        );
    }
}
