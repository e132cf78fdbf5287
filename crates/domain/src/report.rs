//! A facility's report: its kind, its status and the input status of each section (DOMAIN §4).
//! The state machine of 報告 / 引き戻し / 確認完了 comes with the reporting workflow; what is here
//! is what the section pages need — which reports take input, and the words for each status.

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
    }
}
