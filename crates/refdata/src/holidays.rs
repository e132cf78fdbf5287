//! 国民の祝日 (including 振替休日 and 国民の休日) from `data/holidays_jp.csv`, made from the npm
//! package `@holiday-jp/holiday_jp`, which covers 1970–2050. 年末年始 is not a 祝日 and is not
//! here; business-day rules (DOMAIN.md principle 7) add it.

use crate::table::{data_text, fields, rows};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::ops::RangeInclusive;
use std::sync::LazyLock;

const FILE: &str = "holidays_jp.csv";

#[derive(Debug, Clone, Serialize)]
pub struct Holiday {
    pub date: NaiveDate,
    /// 「元日」, 「振替休日」
    pub name: &'static str,
    /// "New Year's Day"
    pub name_en: &'static str,
}

/// Sorted by date.
static HOLIDAYS: LazyLock<Vec<Holiday>> = LazyLock::new(|| {
    let text: &'static str = data_text!("holidays_jp.csv");
    let mut out: Vec<Holiday> = rows(text)
        .map(|(n, line)| {
            let [date, name, name_en] = fields(FILE, n, line, ',');
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .unwrap_or_else(|e| panic!("data/{FILE}:{n}: bad date {date:?}: {e}"));
            Holiday {
                date,
                name,
                name_en,
            }
        })
        .collect();
    out.sort_by_key(|h| h.date);
    out
});

/// The holiday on a date, if any.
pub fn get(date: NaiveDate) -> Option<&'static Holiday> {
    let all = &*HOLIDAYS;
    all.binary_search_by_key(&date, |h| h.date)
        .ok()
        .and_then(|i| all.get(i))
}

/// The name of the holiday on a date: `name_on(2026-01-01)` is `Some("元日")`.
pub fn name_on(date: NaiveDate) -> Option<&'static str> {
    get(date).map(|h| h.name)
}

pub fn is_holiday(date: NaiveDate) -> bool {
    get(date).is_some()
}

/// The holidays from `from` to `to`, both included.
pub fn between(from: NaiveDate, to: NaiveDate) -> &'static [Holiday] {
    let all = &*HOLIDAYS;
    let start = all.partition_point(|h| h.date < from);
    let end = all.partition_point(|h| h.date <= to);
    all.get(start..end).unwrap_or_default()
}

/// Every holiday in the data.
pub fn all() -> &'static [Holiday] {
    &HOLIDAYS
}

/// The years the data covers. Outside them `name_on` knows nothing, so callers that plan far
/// ahead should check (the data must be refreshed before its last year comes close).
pub fn covered_years() -> Option<RangeInclusive<i32>> {
    let all = &*HOLIDAYS;
    Some(all.first()?.date.year()..=all.last()?.date.year())
}

pub(crate) fn force() {
    LazyLock::force(&HOLIDAYS);
}
