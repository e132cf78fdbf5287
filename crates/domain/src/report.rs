//! A facility's report: its kind, its status and the input status of each section (DOMAIN §4).
//! The state machine of 報告 / 引き戻し / 差戻し / 確認完了 / 修正 / 取消 is `ReportStatus::after`;
//! the store applies it as a compare-and-set on the report row.

use chrono::{Datelike, NaiveDate};

/// 新規報告 / 定期報告 / 随時報告 (DOMAIN §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    Initial,
    Periodic,
    Change,
}

impl ReportKind {
    pub const ALL: [Self; 3] = [Self::Initial, Self::Periodic, Self::Change];

    /// Stored and in URLs.
    pub fn id(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Periodic => "periodic",
            Self::Change => "change",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Initial => "新規報告",
            Self::Periodic => "定期報告",
            Self::Change => "随時報告",
        }
    }
}

/// The report's status as the seeds name it (DOMAIN §4.2). 未報告 is the absence of a report
/// for the period, so no stored report has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportStatus {
    NotReported,
    InProgress,
    Submitted,
    Resubmitted,
    Confirmed,
}

impl ReportStatus {
    pub const ALL: [Self; 5] = [
        Self::NotReported,
        Self::InProgress,
        Self::Submitted,
        Self::Resubmitted,
        Self::Confirmed,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Self::NotReported => "not_reported",
            Self::InProgress => "in_progress",
            Self::Submitted => "submitted",
            Self::Resubmitted => "resubmitted",
            Self::Confirmed => "confirmed",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::NotReported => "未報告",
            Self::InProgress => "報告中",
            Self::Submitted => "報告済",
            Self::Resubmitted => "再報告済",
            Self::Confirmed => "確認完了済",
        }
    }

    /// Sections take input only while the report is 報告中: a submitted report is pulled back
    /// (引き戻し) first, a confirmed one is read-only.
    pub fn takes_input(self) -> bool {
        self == Self::InProgress
    }

    /// Counts towards the report rate: 報告済, 再報告済 and 確認完了済 (DOMAIN §4.2: MHLW's rate
    /// counts the reports submitted by the facility or by the prefecture, confirmed or not).
    /// The others — 未報告 and 報告中 — are what a 督促 is about.
    pub fn is_reported(self) -> bool {
        matches!(self, Self::Submitted | Self::Resubmitted | Self::Confirmed)
    }

    /// Waits for the prefecture's 確認完了 or 差戻し (the review queue).
    pub fn awaits_review(self) -> bool {
        matches!(self, Self::Submitted | Self::Resubmitted)
    }
}

/// What a facility or a reviewer does to a report (DOMAIN §4.2, issue: reporting workflow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    /// 報告 (the facility, or prefecture staff for it: 代理入力).
    Submit,
    /// 引き戻し: the facility takes a submitted report back into editing.
    Withdraw,
    /// 確認完了 by the prefecture.
    Confirm,
    /// 差戻し by the prefecture, with a comment.
    Return,
    /// 修正: a confirmed report is opened again; its next 報告 is a 再報告.
    Reopen,
    /// 取消: the draft of a report never submitted is deleted.
    Cancel,
}

impl Transition {
    pub fn id(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Withdraw => "withdraw",
            Self::Confirm => "confirm",
            Self::Return => "return",
            Self::Reopen => "reopen",
            Self::Cancel => "cancel",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        [
            Self::Submit,
            Self::Withdraw,
            Self::Confirm,
            Self::Return,
            Self::Reopen,
            Self::Cancel,
        ]
        .into_iter()
        .find(|t| t.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Submit => "報告",
            Self::Withdraw => "引き戻し",
            Self::Confirm => "確認完了",
            Self::Return => "差戻し",
            Self::Reopen => "修正",
            Self::Cancel => "取消",
        }
    }
}

/// What the state machine needs to know about a report besides its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportState {
    pub status: ReportStatus,
    /// It has been submitted at least once (then it cannot be cancelled).
    pub ever_submitted: bool,
    /// It has been confirmed at least once (then its next 報告 is a 再報告).
    pub ever_confirmed: bool,
}

/// A transition that does not apply to the report as it is now. The message says why in the
/// words the facility or reviewer sees, because the usual cause is someone else acting first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionError {
    pub transition: Transition,
    pub status: ReportStatus,
    pub ever_submitted: bool,
}

impl TransitionError {
    pub fn code(&self) -> String {
        format!("report.{}.from_{}", self.transition.id(), self.status.id())
    }
}

impl std::fmt::Display for TransitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use ReportStatus as S;
        use Transition as T;
        let text = match (self.transition, self.status) {
            (_, S::NotReported) => "この報告はありません。取消されたか、まだ開始されていません。",
            (T::Submit, S::Submitted | S::Resubmitted) => "この報告はすでに報告済です。",
            (T::Submit | T::Withdraw | T::Cancel, S::Confirmed) => {
                "この報告は都道府県等が確認を完了しています。内容を変える場合は「修正する」から再報告してください。"
            }
            (T::Withdraw, S::InProgress) => {
                "この報告は報告中です（引き戻されたか、差し戻されています）。入力を続けてください。"
            }
            (T::Confirm | T::Return, S::InProgress) => {
                "この報告は医療機関等が引き戻したか、差し戻し済みのため、報告中に戻っています。再度報告されるまでお待ちください。"
            }
            (T::Confirm | T::Return, S::Confirmed) => "この報告はすでに確認完了済です。",
            (T::Reopen, _) => "確認完了済の報告だけを修正できます。",
            (T::Cancel, _) if self.ever_submitted => {
                "一度報告した報告は取消できません。内容を変える場合は入力を続けてください。"
            }
            (T::Cancel, _) => "報告済の報告は取消できません。先に引き戻してください。",
            (T::Submit, S::InProgress) | (T::Withdraw | T::Confirm | T::Return, _) => {
                "この操作は現在の報告状況ではできません。画面を開き直して、表示されているボタンから操作してください。"
            }
        };
        f.write_str(text)
    }
}

impl std::error::Error for TransitionError {}

impl ReportState {
    /// The status after `t`, or why `t` does not apply. `Cancel` leads to 未報告 (the report is
    /// deleted).
    pub fn after(self, t: Transition) -> Result<ReportStatus, TransitionError> {
        use ReportStatus as S;
        use Transition as T;
        let submitted = matches!(self.status, S::Submitted | S::Resubmitted);
        let next = match t {
            T::Submit if self.status == S::InProgress => Some(if self.ever_confirmed {
                S::Resubmitted
            } else {
                S::Submitted
            }),
            T::Withdraw | T::Return if submitted => Some(S::InProgress),
            T::Confirm if submitted => Some(S::Confirmed),
            T::Reopen if self.status == S::Confirmed => Some(S::InProgress),
            T::Cancel
                if self.status == S::InProgress && !self.ever_submitted && !self.ever_confirmed =>
            {
                Some(S::NotReported)
            }
            _ => None,
        };
        next.ok_or(TransitionError {
            transition: t,
            status: self.status,
            ever_submitted: self.ever_submitted,
        })
    }

    /// The statuses `t` may start from: the store's compare-and-set condition.
    pub fn sources(t: Transition) -> &'static [ReportStatus] {
        use ReportStatus as S;
        match t {
            Transition::Submit | Transition::Cancel => &[S::InProgress],
            Transition::Withdraw | Transition::Return | Transition::Confirm => {
                &[S::Submitted, S::Resubmitted]
            }
            Transition::Reopen => &[S::Confirmed],
        }
    }
}

/// A section's 入力状況 (DOMAIN §4.4). 未入力 is the absence of a saved section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionStatus {
    Empty,
    Draft,
    Complete,
}

impl SectionStatus {
    pub fn id(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Draft => "draft",
            Self::Complete => "complete",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        [Self::Empty, Self::Draft, Self::Complete]
            .into_iter()
            .find(|s| s.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Empty => "未入力",
            Self::Draft => "一時保存",
            Self::Complete => "入力完了",
        }
    }
}

/// The 年度 a day belongs to: April to March (2026-03-31 is 2025年度).
pub fn fiscal_year_of(day: NaiveDate) -> u16 {
    let year = if day.month() >= 4 {
        day.year()
    } else {
        day.year() - 1
    };
    u16::try_from(year).unwrap_or(0)
}

/// 令和 for a 年度 from 2019 on (令和元年 = 2019), else the western year: 「令和8年度」.
pub fn fiscal_year_label(fiscal_year: u16) -> String {
    match fiscal_year {
        2019 => "令和元年度".to_owned(),
        y if y > 2019 => format!("令和{}年度", y - 2018),
        y => format!("{y}年度"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fiscal_years_start_in_april() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(fiscal_year_of(d(2026, 3, 31)), 2025);
        assert_eq!(fiscal_year_of(d(2026, 4, 1)), 2026);
        assert_eq!(fiscal_year_label(2025), "令和7年度");
        assert_eq!(fiscal_year_label(2019), "令和元年度");
    }

    #[test]
    fn ids_round_trip_and_only_in_progress_takes_input() {
        for k in ReportKind::ALL {
            assert_eq!(ReportKind::parse(k.id()), Some(k));
        }
        for s in ReportStatus::ALL {
            assert_eq!(ReportStatus::parse(s.id()), Some(s));
            assert_eq!(s.takes_input(), s == ReportStatus::InProgress);
        }
        assert_eq!(
            SectionStatus::parse("complete").map(SectionStatus::label),
            Some("入力完了")
        );
        assert_eq!(ReportStatus::parse("draft"), None);
        let reported: Vec<_> = ReportStatus::ALL
            .into_iter()
            .filter(|s| s.is_reported())
            .map(ReportStatus::label)
            .collect();
        assert_eq!(reported, ["報告済", "再報告済", "確認完了済"]);
        let waiting: Vec<_> = ReportStatus::ALL
            .into_iter()
            .filter(|s| s.awaits_review())
            .map(ReportStatus::label)
            .collect();
        assert_eq!(waiting, ["報告済", "再報告済"]);
    }

    #[test]
    fn the_workflow_follows_the_seeds() {
        use ReportStatus as S;
        use Transition as T;
        let st = |status, ever_submitted, ever_confirmed| ReportState {
            status,
            ever_submitted,
            ever_confirmed,
        };
        assert_eq!(
            st(S::InProgress, false, false).after(T::Submit),
            Ok(S::Submitted)
        );
        assert_eq!(
            st(S::InProgress, true, true).after(T::Submit),
            Ok(S::Resubmitted)
        );
        assert_eq!(
            st(S::Submitted, true, false).after(T::Withdraw),
            Ok(S::InProgress)
        );
        assert_eq!(
            st(S::Resubmitted, true, true).after(T::Confirm),
            Ok(S::Confirmed)
        );
        assert_eq!(
            st(S::Submitted, true, false).after(T::Return),
            Ok(S::InProgress)
        );
        assert_eq!(
            st(S::Confirmed, true, true).after(T::Reopen),
            Ok(S::InProgress)
        );
        assert_eq!(
            st(S::InProgress, false, false).after(T::Cancel),
            Ok(S::NotReported)
        );
        // A report once submitted is never deleted; a confirmed one is not pulled back.
        let e = st(S::InProgress, true, false).after(T::Cancel).unwrap_err();
        assert!(e.to_string().contains("一度報告した報告は取消できません"));
        let e = st(S::Confirmed, true, true).after(T::Withdraw).unwrap_err();
        assert_eq!(e.code(), "report.withdraw.from_confirmed");
        assert!(e.to_string().contains("修正する"));
        assert!(st(S::InProgress, true, false).after(T::Confirm).is_err());
        // Every allowed source status is in `sources`, and nothing else.
        for t in [
            T::Submit,
            T::Withdraw,
            T::Confirm,
            T::Return,
            T::Reopen,
            T::Cancel,
        ] {
            for s in ReportStatus::ALL {
                let ok = st(s, false, false).after(t).is_ok();
                if ok {
                    assert!(ReportState::sources(t).contains(&s), "{t:?} from {s:?}");
                }
            }
        }
    }
}
