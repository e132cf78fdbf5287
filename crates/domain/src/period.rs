//! A prefecture's 定期報告 window (DOMAIN §4.1): 報告基準日, the window, the facility kinds it is
//! for, an extension, an early close, and the mail steps that go with it (定期報告案内 when it
//! opens, 督促 on a schedule relative to the deadline).

use chrono::{Days, NaiveDate};

use crate::codes::{FacilityKind, PrefectureCode};

/// The 督促 schedule when the prefecture does not set one: 14 and 3 days before the deadline and
/// the day after it.
pub const DEFAULT_REMINDER_DAYS: [i32; 3] = [-14, -3, 1];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportingPeriod {
    pub prefecture: PrefectureCode,
    pub fiscal_year: u16,
    pub facility_kinds: Vec<FacilityKind>,
    pub reference_date: NaiveDate,
    pub opens_on: NaiveDate,
    /// The deadline as first announced.
    pub closes_on: NaiveDate,
    pub extended_to: Option<NaiveDate>,
    /// Closed early by the prefecture.
    pub closed: bool,
    /// 督促 days relative to the deadline, ascending (-14 = two weeks before, 1 = the day after).
    pub reminder_days: Vec<i32>,
    /// The prefecture's own words for the period's mails (a contact, what is new this 年度).
    pub message: Option<String>,
}

/// The longest message a period's mails carry, in characters: a paragraph, not a second mail.
pub const MESSAGE_MAX_CHARS: usize = 1000;

/// One mail step of a period; its `id` is stored so that each step goes out once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailStep {
    /// 定期報告案内, when the window opens.
    Opened,
    /// 督促 `offset` days from `deadline` (a later extension makes new steps).
    Reminder { offset: i32, deadline: NaiveDate },
}

impl MailStep {
    pub fn id(self) -> String {
        match self {
            Self::Opened => "opened".to_owned(),
            Self::Reminder { offset, deadline } => format!("reminder:{offset:+}:{deadline}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodError {
    WindowOrder,
    ReferenceYear,
    NoKinds,
    ReminderRange(i32),
    ExtensionNotLater,
    MessageTooLong(usize),
}

impl PeriodError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::WindowOrder => "period.window_order",
            Self::ReferenceYear => "period.reference_year",
            Self::NoKinds => "period.no_kinds",
            Self::ReminderRange(_) => "period.reminder_range",
            Self::ExtensionNotLater => "period.extension_not_later",
            Self::MessageTooLong(_) => "period.message_too_long",
        }
    }
}

impl std::fmt::Display for PeriodError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::WindowOrder => f.write_str("報告期限は受付開始日以降の日付を入力してください。"),
            Self::ReferenceYear => f.write_str(
                "報告基準日は対象年度の4月1日から翌年度末までの日付を入力してください。",
            ),
            Self::NoKinds => f.write_str("対象の機関区分を1つ以上選択してください。"),
            Self::ReminderRange(d) => write!(
                f,
                "督促の日程「{d}」は報告期限の60日前から30日後までの範囲で入力してください。"
            ),
            Self::ExtensionNotLater => {
                f.write_str("延長後の報告期限は現在の報告期限より後の日付を入力してください。")
            }
            Self::MessageTooLong(n) => write!(
                f,
                "メールに添える文面は{MESSAGE_MAX_CHARS}文字以内で入力してください（現在{n}文字）。"
            ),
        }
    }
}

impl std::error::Error for PeriodError {}

impl ReportingPeriod {
    /// Every problem of a new or edited period (empty when it can be saved).
    pub fn check(&self) -> Vec<PeriodError> {
        let mut out = Vec::new();
        if self.closes_on < self.opens_on {
            out.push(PeriodError::WindowOrder);
        }
        let first = NaiveDate::from_ymd_opt(i32::from(self.fiscal_year), 4, 1);
        let last = NaiveDate::from_ymd_opt(i32::from(self.fiscal_year) + 2, 3, 31);
        if first.is_none_or(|f| self.reference_date < f)
            || last.is_none_or(|l| self.reference_date > l)
        {
            out.push(PeriodError::ReferenceYear);
        }
        if self.facility_kinds.is_empty() {
            out.push(PeriodError::NoKinds);
        }
        for d in &self.reminder_days {
            if !(-60..=30).contains(d) {
                out.push(PeriodError::ReminderRange(*d));
            }
        }
        if self.extended_to.is_some_and(|e| e <= self.closes_on) {
            out.push(PeriodError::ExtensionNotLater);
        }
        if let Some(n) = self
            .message
            .as_deref()
            .map(|m| m.chars().count())
            .filter(|n| *n > MESSAGE_MAX_CHARS)
        {
            out.push(PeriodError::MessageTooLong(n));
        }
        out
    }

    /// The deadline in force (extended or not).
    pub fn deadline(&self) -> NaiveDate {
        self.extended_to.unwrap_or(self.closes_on)
    }

    pub fn applies_to(&self, kind: FacilityKind) -> bool {
        self.facility_kinds.contains(&kind)
    }

    /// The day the 報告状況一覧 counts the period's facilities on (a facility 廃止 on or before
    /// it is not due): today while the window runs, the deadline in force once it has passed —
    /// a past period keeps the facilities it was for, even those abolished since.
    pub fn counted_on(&self, today: NaiveDate) -> NaiveDate {
        today.min(self.deadline())
    }

    /// Reports can be started and submitted on `day`. Late reports are still accepted after the
    /// deadline until the prefecture closes the period: a late report is better than none, and
    /// the 督促 after the deadline asks for exactly that.
    pub fn accepts_on(&self, day: NaiveDate) -> bool {
        !self.closed && day >= self.opens_on
    }

    /// Days left until the deadline (negative once it has passed).
    pub fn days_left(&self, day: NaiveDate) -> i64 {
        (self.deadline() - day).num_days()
    }

    /// The mail step due on `day`, if any: 定期報告案内 from the opening day until the first
    /// 督促 is due, then the latest 督促 whose day has come. An earlier step that was missed
    /// (the server was down) is not sent late once a later one is due: one mail, the current one.
    pub fn due_step(&self, day: NaiveDate) -> Option<MailStep> {
        if self.closed || day < self.opens_on {
            return None;
        }
        let deadline = self.deadline();
        let reminder = self
            .reminder_days
            .iter()
            .filter_map(|&offset| {
                let on = shift(deadline, offset)?;
                (on <= day && on >= self.opens_on).then_some((on, offset))
            })
            .max()
            .map(|(_, offset)| MailStep::Reminder { offset, deadline });
        Some(reminder.unwrap_or(MailStep::Opened))
    }
}

fn shift(day: NaiveDate, offset: i32) -> Option<NaiveDate> {
    let n = u64::from(offset.unsigned_abs());
    if offset >= 0 {
        day.checked_add_days(Days::new(n))
    } else {
        day.checked_sub_days(Days::new(n))
    }
}

/// Parses a schedule like 「-14, -3, 1」 (全角 too), sorted and without repeats.
pub fn parse_reminder_days(text: &str) -> Result<Vec<i32>, String> {
    let folded = crate::text::nfkc(text).replace(['−', '－', 'ー'], "-");
    let mut out = Vec::new();
    for part in folded
        .split([',', '、', ' '])
        .filter(|p| !p.trim().is_empty())
    {
        let n: i32 = part
            .trim()
            .parse()
            .map_err(|_| format!("督促の日程「{}」を数値として読み取れません。", part.trim()))?;
        out.push(n);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn period() -> ReportingPeriod {
        ReportingPeriod {
            prefecture: PrefectureCode::new(17).unwrap(),
            fiscal_year: 2026,
            facility_kinds: vec![FacilityKind::Hospital, FacilityKind::Clinic],
            reference_date: d(2027, 1, 1),
            opens_on: d(2027, 1, 7),
            closes_on: d(2027, 3, 31),
            extended_to: None,
            closed: false,
            reminder_days: DEFAULT_REMINDER_DAYS.to_vec(),
            message: None,
        }
    }

    #[test]
    fn steps_follow_the_deadline() {
        let p = period();
        assert!(p.check().is_empty());
        assert_eq!(p.due_step(d(2027, 1, 6)), None);
        assert_eq!(p.due_step(d(2027, 1, 7)), Some(MailStep::Opened));
        let at = |offset| {
            Some(MailStep::Reminder {
                offset,
                deadline: d(2027, 3, 31),
            })
        };
        assert_eq!(p.due_step(d(2027, 3, 17)), at(-14));
        assert_eq!(p.due_step(d(2027, 3, 30)), at(-3));
        assert_eq!(p.due_step(d(2027, 4, 1)), at(1));
        assert_eq!(p.due_step(d(2027, 5, 1)), at(1));
        let mut extended = p.clone();
        extended.extended_to = Some(d(2027, 7, 31));
        assert!(extended.check().is_empty());
        // The old deadline's 督促 are no longer due; the new deadline's come in their time.
        assert_eq!(extended.due_step(d(2027, 4, 1)), Some(MailStep::Opened));
        assert_eq!(
            extended.due_step(d(2027, 7, 28)).map(MailStep::id),
            Some("reminder:-3:2027-07-31".to_owned())
        );
        assert_eq!(p.counted_on(d(2027, 2, 1)), d(2027, 2, 1));
        assert_eq!(p.counted_on(d(2027, 6, 1)), d(2027, 3, 31));
        assert_eq!(extended.counted_on(d(2027, 6, 1)), d(2027, 6, 1));
        let mut closed = p;
        closed.closed = true;
        assert_eq!(closed.due_step(d(2027, 3, 30)), None);
        assert!(!closed.accepts_on(d(2027, 3, 30)));
    }

    #[test]
    fn a_reminder_before_the_opening_is_skipped() {
        let mut p = period();
        p.opens_on = d(2027, 3, 20);
        assert_eq!(p.due_step(d(2027, 3, 20)), Some(MailStep::Opened));
        assert_eq!(
            p.due_step(d(2027, 3, 28)).map(MailStep::id),
            Some("reminder:-3:2027-03-31".to_owned())
        );
    }

    #[test]
    fn checks_report_every_problem() {
        let mut p = period();
        p.closes_on = d(2027, 1, 1);
        p.facility_kinds.clear();
        p.reminder_days = vec![-90];
        p.reference_date = d(2020, 1, 1);
        p.extended_to = Some(d(2026, 12, 1));
        let codes: Vec<_> = p.check().iter().map(PeriodError::code).collect();
        assert_eq!(
            codes,
            [
                "period.window_order",
                "period.reference_year",
                "period.no_kinds",
                "period.reminder_range",
                "period.extension_not_later"
            ]
        );
        assert_eq!(
            parse_reminder_days("－14、-3, １").unwrap(),
            vec![-14, -3, 1]
        );
        assert!(parse_reminder_days("2週間前").is_err());
    }
}
