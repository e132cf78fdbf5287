//! How complete a prefecture's reporting is (DOMAIN §6 報告状況一覧; issue 6, completeness
//! dashboard). The database counts facilities per 機関区分, 市区町村 and 報告状況 ([`Tally`]); this
//! module adds those counts up, turns them into shares — kept as exact fractions, rounded only
//! for display — and follows the share day by day over a period's window.
//!
//! The report rate counts 報告済, 再報告済 and 確認完了済 alike ([`ReportStatus::is_reported`]);
//! the confirmation rate counts 確認完了済 only.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::codes::{FacilityKind, MunicipalityCode};
use crate::report::ReportStatus;

/// `part` of `whole`, e.g. 12 of 40 facilities reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub part: u64,
    pub whole: u64,
}

impl Share {
    pub fn new(part: u64, whole: u64) -> Self {
        Self { part, whole }
    }

    /// In tenths of a percent, rounded half up (1 of 3 → 333, 2 of 3 → 667); `None` of nothing.
    pub fn permille(&self) -> Option<u64> {
        if self.whole == 0 {
            return None;
        }
        let scaled = u128::from(self.part) * 2000 + u128::from(self.whole);
        u64::try_from(scaled / (2 * u128::from(self.whole))).ok()
    }

    /// 「33.3%」, or 「—」 when there is nothing to share (no facility in the group).
    pub fn percent(&self) -> String {
        match self.permille() {
            Some(p) => format!("{}.{}%", p / 10, p % 10),
            None => "—".to_owned(),
        }
    }

    /// 0.0–1.0 for drawing; 0 of nothing.
    pub fn ratio(&self) -> f64 {
        if self.whole == 0 {
            0.0
        } else {
            self.part as f64 / self.whole as f64
        }
    }

    /// Compares two shares exactly (no floating point): 1/3 < 2/5. A share of nothing sorts
    /// before every other.
    pub fn cmp_exact(&self, other: &Self) -> Ordering {
        match (self.whole, other.whole) {
            (0, 0) => Ordering::Equal,
            (0, _) => Ordering::Less,
            (_, 0) => Ordering::Greater,
            _ => (u128::from(self.part) * u128::from(other.whole))
                .cmp(&(u128::from(other.part) * u128::from(self.whole))),
        }
    }
}

/// Facilities per 報告状況.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    counts: [u64; 5],
}

fn index(status: ReportStatus) -> usize {
    ReportStatus::ALL
        .iter()
        .position(|s| *s == status)
        .unwrap_or_default()
}

impl StatusCounts {
    pub fn add(&mut self, status: ReportStatus, facilities: u64) {
        self.counts[index(status)] += facilities;
    }

    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
    }

    pub fn get(&self, status: ReportStatus) -> u64 {
        self.counts[index(status)]
    }

    /// Every status with its count, in the order of the seeds' progress bar.
    pub fn each(&self) -> impl Iterator<Item = (ReportStatus, u64)> + '_ {
        ReportStatus::ALL.into_iter().zip(self.counts)
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// 報告済, 再報告済 and 確認完了済.
    pub fn reported(&self) -> u64 {
        self.each()
            .filter(|(s, _)| s.is_reported())
            .map(|(_, n)| n)
            .sum()
    }

    pub fn confirmed(&self) -> u64 {
        self.get(ReportStatus::Confirmed)
    }

    /// The report rate.
    pub fn reported_share(&self) -> Share {
        Share::new(self.reported(), self.total())
    }

    /// The confirmation rate.
    pub fn confirmed_share(&self) -> Share {
        Share::new(self.confirmed(), self.total())
    }
}

/// One group of facilities as the store counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub kind: FacilityKind,
    pub municipality: MunicipalityCode,
    pub status: ReportStatus,
    pub facilities: u64,
}

/// All of them together.
pub fn total<'a>(tallies: impl IntoIterator<Item = &'a Tally>) -> StatusCounts {
    let mut out = StatusCounts::default();
    for t in tallies {
        out.add(t.status, t.facilities);
    }
    out
}

/// Per 機関区分, in the 機関区分's order.
pub fn by_kind<'a>(
    tallies: impl IntoIterator<Item = &'a Tally>,
) -> BTreeMap<FacilityKind, StatusCounts> {
    let mut out: BTreeMap<FacilityKind, StatusCounts> = BTreeMap::new();
    for t in tallies {
        out.entry(t.kind).or_default().add(t.status, t.facilities);
    }
    out
}

/// Per 市区町村, in code order.
pub fn by_municipality<'a>(
    tallies: impl IntoIterator<Item = &'a Tally>,
) -> BTreeMap<MunicipalityCode, StatusCounts> {
    let mut out: BTreeMap<MunicipalityCode, StatusCounts> = BTreeMap::new();
    for t in tallies {
        out.entry(t.municipality)
            .or_default()
            .add(t.status, t.facilities);
    }
    out
}

/// How the dashboard orders the 市区町村.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MunicipalityOrder {
    /// Most facilities first: where the work is.
    Facilities,
    /// Lowest report rate first: whom to chase.
    ReportedShare,
    /// By 市区町村コード (the prefecture's own order).
    Code,
}

impl MunicipalityOrder {
    pub const ALL: [Self; 3] = [Self::Facilities, Self::ReportedShare, Self::Code];

    pub fn id(self) -> &'static str {
        match self {
            Self::Facilities => "facilities",
            Self::ReportedShare => "share",
            Self::Code => "code",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Facilities => "対象施設数の多い順",
            Self::ReportedShare => "報告率の低い順",
            Self::Code => "市区町村コード順",
        }
    }
}

/// The 市区町村 in `order`; ties by code, so the order is stable.
pub fn ranked(
    groups: &BTreeMap<MunicipalityCode, StatusCounts>,
    order: MunicipalityOrder,
) -> Vec<(MunicipalityCode, StatusCounts)> {
    let mut out: Vec<(MunicipalityCode, StatusCounts)> =
        groups.iter().map(|(m, c)| (*m, *c)).collect();
    out.sort_by(|(am, a), (bm, b)| {
        let first = match order {
            MunicipalityOrder::Facilities => b.total().cmp(&a.total()),
            MunicipalityOrder::ReportedShare => a.reported_share().cmp_exact(&b.reported_share()),
            MunicipalityOrder::Code => Ordering::Equal,
        };
        first.then(am.cmp(bm))
    });
    out
}

/// What is left after the first few groups of a ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rest {
    pub groups: usize,
    pub counts: StatusCounts,
}

/// The first `n` groups, and the others added up (none when nothing is left).
pub fn top_and_rest<K: Copy>(
    ranked: &[(K, StatusCounts)],
    n: usize,
) -> (Vec<(K, StatusCounts)>, Option<Rest>) {
    let top = ranked.iter().take(n).copied().collect();
    let others = ranked.get(n..).unwrap_or_default();
    if others.is_empty() {
        return (top, None);
    }
    let mut counts = StatusCounts::default();
    for (_, c) in others {
        counts.merge(c);
    }
    (
        top,
        Some(Rest {
            groups: others.len(),
            counts,
        }),
    )
}

/// The facilities reported and confirmed by the end of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayPoint {
    pub day: NaiveDate,
    pub reported: Share,
    pub confirmed: Share,
}

/// The cumulative report and confirmation rates of each day from `from` to `to` (both
/// included) out of `whole` facilities. `reported` and `confirmed` count facilities per day
/// (the day of the 報告 and of the 確認完了 in Japan); a day before `from` counts on `from`, a
/// day after `to` not at all. Empty when `to` is before `from`.
pub fn over_window(
    from: NaiveDate,
    to: NaiveDate,
    whole: u64,
    reported: &[(NaiveDate, u64)],
    confirmed: &[(NaiveDate, u64)],
) -> Vec<DayPoint> {
    let by_day = |events: &[(NaiveDate, u64)]| {
        let mut m: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        for (day, n) in events {
            if *day <= to {
                *m.entry((*day).max(from)).or_default() += n;
            }
        }
        m
    };
    let reported = by_day(reported);
    let confirmed = by_day(confirmed);
    let (mut r, mut c) = (0, 0);
    from.iter_days()
        .take_while(|d| *d <= to)
        .map(|day| {
            r += reported.get(&day).copied().unwrap_or(0);
            c += confirmed.get(&day).copied().unwrap_or(0);
            DayPoint {
                day,
                reported: Share::new(r, whole),
                confirmed: Share::new(c, whole),
            }
        })
        .collect()
}

/// Whole days a report has waited for review since the day it was reported (0 on that day).
pub fn days_waiting(reported_on: NaiveDate, today: NaiveDate) -> i64 {
    (today - reported_on).num_days().max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReportStatus as S;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, m, day).unwrap()
    }

    fn m(code: &str) -> MunicipalityCode {
        MunicipalityCode::parse(code).unwrap()
    }

    #[test]
    fn shares_round_half_up_and_compare_exactly() {
        assert_eq!(Share::new(1, 3).percent(), "33.3%");
        assert_eq!(Share::new(2, 3).percent(), "66.7%");
        assert_eq!(Share::new(1, 8).percent(), "12.5%");
        assert_eq!(Share::new(1, 2000).percent(), "0.1%");
        assert_eq!(Share::new(1, 2001).percent(), "0.0%");
        assert_eq!(Share::new(5, 5).percent(), "100.0%");
        assert_eq!(Share::new(0, 0).percent(), "—");
        assert_eq!(
            Share::new(1, 3).cmp_exact(&Share::new(2, 5)),
            Ordering::Less
        );
        assert_eq!(
            Share::new(2, 4).cmp_exact(&Share::new(1, 2)),
            Ordering::Equal
        );
        assert_eq!(
            Share::new(0, 0).cmp_exact(&Share::new(0, 9)),
            Ordering::Less
        );
    }

    #[test]
    fn counts_add_up_by_kind_and_municipality() {
        let kanazawa = m("172014");
        let nanao = m("172022");
        let t = |kind, municipality, status, facilities| Tally {
            kind,
            municipality,
            status,
            facilities,
        };
        let tallies = [
            t(FacilityKind::Hospital, kanazawa, S::NotReported, 2),
            t(FacilityKind::Hospital, kanazawa, S::Confirmed, 1),
            t(FacilityKind::Hospital, nanao, S::Resubmitted, 1),
            t(FacilityKind::Clinic, kanazawa, S::Submitted, 3),
            t(FacilityKind::Clinic, nanao, S::InProgress, 1),
        ];
        let all = total(&tallies);
        assert_eq!(all.total(), 8);
        assert_eq!(all.reported(), 5);
        assert_eq!(all.confirmed(), 1);
        assert_eq!(all.reported_share().percent(), "62.5%");
        assert_eq!(all.confirmed_share().percent(), "12.5%");
        let kinds = by_kind(&tallies);
        assert_eq!(
            kinds[&FacilityKind::Hospital].reported_share(),
            Share::new(2, 4)
        );
        assert_eq!(kinds[&FacilityKind::Clinic].get(S::Submitted), 3);
        let places = by_municipality(&tallies);
        assert_eq!(places[&kanazawa].total(), 6);
        assert_eq!(places[&nanao].reported_share(), Share::new(1, 2));
        // 七尾 (1 of 2) is behind 金沢 (4 of 6); 金沢 has more facilities.
        let low = ranked(&places, MunicipalityOrder::ReportedShare);
        assert_eq!(low[0].0, nanao);
        let big = ranked(&places, MunicipalityOrder::Facilities);
        assert_eq!(big[0].0, kanazawa);
        let (top, rest) = top_and_rest(&big, 1);
        assert_eq!(top.len(), 1);
        let rest = rest.unwrap();
        assert_eq!((rest.groups, rest.counts.total()), (1, 2));
        assert!(top_and_rest(&big, 5).1.is_none());
        assert_eq!(
            MunicipalityOrder::parse("share"),
            Some(MunicipalityOrder::ReportedShare)
        );
    }

    #[test]
    fn the_window_accumulates_day_by_day() {
        let points = over_window(
            d(1, 7),
            d(1, 10),
            10,
            &[(d(1, 5), 1), (d(1, 8), 2), (d(1, 10), 1), (d(1, 12), 5)],
            &[(d(1, 9), 1)],
        );
        let reported: Vec<_> = points.iter().map(|p| p.reported.part).collect();
        let confirmed: Vec<_> = points.iter().map(|p| p.confirmed.part).collect();
        assert_eq!(points.first().map(|p| p.day), Some(d(1, 7)));
        assert_eq!(points.last().map(|p| p.day), Some(d(1, 10)));
        // The early 報告 counts on the first day; the one after the end does not count.
        assert_eq!(reported, [1, 3, 3, 4]);
        assert_eq!(confirmed, [0, 0, 1, 1]);
        assert_eq!(points[3].reported.percent(), "40.0%");
        assert!(over_window(d(1, 10), d(1, 7), 10, &[], &[]).is_empty());
        assert_eq!(days_waiting(d(1, 7), d(1, 10)), 3);
        assert_eq!(days_waiting(d(1, 10), d(1, 7)), 0);
    }
}
