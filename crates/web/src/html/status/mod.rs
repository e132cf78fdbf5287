//! 報告状況 for prefecture / 保健所 staff and the operator (DOMAIN §6; issue 6): the 報告状況一覧
//! (`/prefecture/status`, one row per facility the period is for, 未報告 included), its CSV for
//! Excel (`/prefecture/status.csv`, UTF-8 with BOM or Shift_JIS) and the completeness dashboard
//! (`/prefecture/dashboard`, shares by 機関区分, 市区町村 and day, as inline SVG with tables).
//!
//! All three read the same filters from the query string ([`Selection`]), so a filtered list,
//! its export and its dashboard are about the same facilities; the scope is the signed-in
//! user's: their prefectures (the operator: any, chosen from a list) and, for 保健所 staff, their
//! 市区町村. Statuses are the store's (`ReportStatusRepo`: a facility's 定期報告 of the 年度, none
//! = 未報告, the same rule as the 督促) and the shares the domain's (`completeness`).

pub(crate) mod chart;
pub(crate) mod dashboard;
pub(crate) mod export;
pub(crate) mod list;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use teikyo_domain::account::FacilityScope;
use teikyo_domain::completeness::Tally;
use teikyo_domain::report::{ReportKind, ReportStatus, fiscal_year_label, fiscal_year_of};
use teikyo_domain::{FacilityKind, MunicipalityCode, PrefectureCode};
use teikyo_store::{StatusRow, StatusScope, StoredPeriod};

use super::mail::TOKYO;
use super::report::workflow::date_ja;
use crate::auth::Principal;
use crate::error::WebError;
use crate::html::report::today;
use crate::state::AppState;

/// The query string of the three pages (every value as typed; [`Selection::resolve`] reads it).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StatusQuery {
    prefecture: Option<String>,
    year: Option<String>,
    report: Option<String>,
    kind: Option<String>,
    municipality: Option<String>,
    status: Option<String>,
    page: Option<String>,
    encoding: Option<String>,
    sort: Option<String>,
}

/// A 年度 the pages can show, with its period if the prefecture registered one.
pub(crate) struct YearChoice {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

/// What the pages show, read from the query string within the signed-in user's scope.
pub(crate) struct Selection {
    pub(crate) prefecture: PrefectureCode,
    /// (code, name, selected) when the user may choose among several prefectures.
    pub(crate) prefectures: Vec<(String, &'static str, bool)>,
    pub(crate) fiscal_year: u16,
    pub(crate) period: Option<StoredPeriod>,
    pub(crate) years: Vec<YearChoice>,
    pub(crate) report_kind: ReportKind,
    pub(crate) facility_kind: Option<FacilityKind>,
    pub(crate) municipality: Option<MunicipalityCode>,
    pub(crate) status: Option<ReportStatus>,
    /// The user's 保健所 area in the prefecture; `None`: all of it.
    pub(crate) area: Option<Vec<MunicipalityCode>>,
    pub(crate) today: NaiveDate,
}

pub(crate) fn day_in_japan(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&TOKYO).date_naive()
}

/// A value from our own selects: blank is "none", anything unreadable a bad request (a filter
/// silently dropped would list, and export, facilities the user did not ask for).
fn pick<T>(
    value: Option<&str>,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, WebError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse(v)
            .map(Some)
            .ok_or_else(|| WebError::BadRequest(format!("{what}: {v}"))),
    }
}

fn period_state(p: &StoredPeriod, today: NaiveDate) -> &'static str {
    let r = &p.period;
    if r.closed {
        "締切済"
    } else if today < r.opens_on {
        "受付開始前"
    } else if today <= r.deadline() {
        "受付中"
    } else {
        "期限後（受付中）"
    }
}

impl Selection {
    pub(crate) async fn resolve(
        state: &AppState,
        who: &Principal,
        q: &StatusQuery,
    ) -> Result<Self, WebError> {
        let prefecture = super::period::chosen(who, q.prefecture.as_deref())?;
        let prefectures = match who.access.staff_prefectures() {
            Some(list) if list.len() <= 1 => Vec::new(),
            Some(list) => list
                .iter()
                .map(|p| (p.to_string(), p.name(), *p == prefecture))
                .collect(),
            None => PrefectureCode::all()
                .map(|p| (p.to_string(), p.name(), p == prefecture))
                .collect(),
        };
        let today = today();
        let periods = state.store().periods().list(Some(prefecture)).await?;
        let asked = pick(q.year.as_deref(), "year", |v| {
            v.parse::<u16>().ok().filter(|y| (2000..=2100).contains(y))
        })?;
        // The newest period that takes reports, else the latest one, else this 年度.
        let fiscal_year = asked.unwrap_or_else(|| {
            periods
                .iter()
                .find(|p| p.period.accepts_on(today))
                .or(periods.first())
                .map_or_else(|| fiscal_year_of(today), |p| p.period.fiscal_year)
        });
        let period = periods
            .iter()
            .find(|p| p.period.fiscal_year == fiscal_year)
            .cloned();
        let mut listed: Vec<u16> = periods.iter().map(|p| p.period.fiscal_year).collect();
        listed.extend([fiscal_year_of(today), fiscal_year]);
        listed.sort_unstable_by(|a, b| b.cmp(a));
        listed.dedup();
        let years = listed
            .into_iter()
            .map(|y| {
                let about = match periods.iter().find(|p| p.period.fiscal_year == y) {
                    Some(p) => format!(
                        "{}・報告期限 {}",
                        period_state(p, today),
                        date_ja(p.period.deadline())
                    ),
                    None => "報告期間の登録なし".to_owned(),
                };
                YearChoice {
                    value: y.to_string(),
                    label: format!("{}（{about}）", fiscal_year_label(y)),
                    selected: y == fiscal_year,
                }
            })
            .collect();
        let report_kind =
            pick(q.report.as_deref(), "report", ReportKind::parse)?.unwrap_or(ReportKind::Periodic);
        let facility_kind = pick(q.kind.as_deref(), "kind", |v| FacilityKind::parse(v).ok())?;
        let municipality = pick(q.municipality.as_deref(), "municipality", |v| {
            MunicipalityCode::parse(v)
                .ok()
                .filter(|m| m.prefecture() == prefecture)
        })?;
        let status = pick(q.status.as_deref(), "status", ReportStatus::parse)?;
        let area = who.access.area_in(prefecture);
        if let (Some(area), Some(m)) = (&area, municipality)
            && !area.contains(&m)
        {
            return Err(WebError::Forbidden);
        }
        Ok(Self {
            prefecture,
            prefectures,
            fiscal_year,
            period,
            years,
            report_kind,
            facility_kind,
            municipality,
            status,
            area,
            today,
        })
    }

    /// The 機関区分 counted: the period's for a 定期報告 (every kind without a period), narrowed
    /// to the one chosen.
    fn kinds(&self) -> Vec<FacilityKind> {
        let base: Vec<FacilityKind> = match (&self.period, self.report_kind) {
            (Some(p), ReportKind::Periodic) => p.period.facility_kinds.clone(),
            _ => FacilityKind::ALL.to_vec(),
        };
        base.into_iter()
            .filter(|k| self.facility_kind.is_none_or(|f| f == *k))
            .collect()
    }

    /// The store's scope: the whole area, or (`narrow`) only the 市区町村 chosen.
    pub(crate) fn scope(&self, narrow: bool) -> StatusScope {
        let municipalities = match (self.municipality.filter(|_| narrow), &self.area) {
            (Some(m), _) => Some(vec![m]),
            (None, area) => area.clone(),
        };
        StatusScope {
            prefecture: self.prefecture,
            fiscal_year: self.fiscal_year,
            report_kind: self.report_kind,
            facility_kinds: self.kinds(),
            municipalities,
            counted_on: match (&self.period, self.report_kind) {
                (Some(p), ReportKind::Periodic) => p.period.counted_on(self.today),
                _ => self.today,
            },
        }
    }

    /// The filters as query pairs, with `changes` applied (`None` drops a key).
    pub(crate) fn pairs(&self, changes: &[(&str, Option<String>)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = vec![
            ("prefecture".into(), self.prefecture.to_string()),
            ("year".into(), self.fiscal_year.to_string()),
            ("report".into(), self.report_kind.id().to_owned()),
        ];
        if let Some(k) = self.facility_kind {
            out.push(("kind".into(), k.code().to_string()));
        }
        if let Some(m) = self.municipality {
            out.push(("municipality".into(), m.to_string()));
        }
        if let Some(s) = self.status {
            out.push(("status".into(), s.id().to_owned()));
        }
        for (key, value) in changes {
            out.retain(|(k, _)| k != key);
            if let Some(v) = value {
                out.push(((*key).to_owned(), v.clone()));
            }
        }
        out
    }

    /// `path` with the filters (and `changes`) as its query string.
    pub(crate) fn href(&self, path: &str, changes: &[(&str, Option<String>)]) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs(changes) {
            s.append_pair(&k, &v);
        }
        format!("{path}?{}", s.finish())
    }

    /// 「石川県 令和8年度 定期報告」, and the filters in words, for headings and the audit.
    pub(crate) fn title(&self) -> String {
        format!(
            "{} {} {}",
            self.prefecture.name(),
            fiscal_year_label(self.fiscal_year),
            self.report_kind.label()
        )
    }

    /// The filters other than prefecture, 年度 and report kind, in words (empty: none).
    pub(crate) fn narrowed_by(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(k) = self.facility_kind {
            out.push(format!("機関区分：{}", k.name()));
        }
        if let Some(m) = self.municipality {
            out.push(format!("市区町村：{}", municipality_name(m)));
        }
        if let Some(s) = self.status {
            out.push(format!("報告状況：{}", s.label()));
        }
        out
    }

    /// What the page says about the period (or its absence).
    pub(crate) fn period_note(&self) -> String {
        match (&self.period, self.report_kind) {
            (Some(p), ReportKind::Periodic) => {
                let r = &p.period;
                format!(
                    "受付期間 {} ～ {}（{}）。対象の機関区分：{}。{}時点で廃止されていない施設を数えています。",
                    date_ja(r.opens_on),
                    date_ja(r.deadline()),
                    period_state(p, self.today),
                    r.facility_kinds
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join("・"),
                    date_ja(r.counted_on(self.today)),
                )
            }
            (None, ReportKind::Periodic) => format!(
                "{}の{}の報告期間は登録されていません。すべての機関区分の、本日時点で廃止されていない施設を数えています。",
                self.prefecture.name(),
                fiscal_year_label(self.fiscal_year)
            ),
            (_, kind) => format!(
                "{}に{}を開始した施設を、最新の{}の状況で表示しています（{}には未報告はありません）。",
                fiscal_year_label(self.fiscal_year),
                kind.label(),
                kind.label(),
                kind.label()
            ),
        }
    }

    /// Whether the viewer reviews the row's facility (then the link opens the review).
    fn reviews(who: &Principal, prefecture: PrefectureCode, row: &StatusRow) -> bool {
        who.access.reviews_facility(&FacilityScope {
            id: row.facility_id.0,
            prefecture,
            municipality: row.municipality,
        })
    }

    /// The 市区町村 the facilities in scope lie in, by code: the filter's choices.
    pub(crate) fn municipality_choices(&self, tallies: &[Tally]) -> Vec<(String, String, bool)> {
        let mut codes: Vec<MunicipalityCode> = tallies.iter().map(|t| t.municipality).collect();
        if let Some(m) = self.municipality {
            codes.push(m);
        }
        codes.sort_unstable();
        codes.dedup();
        codes
            .into_iter()
            .map(|m| {
                (
                    m.to_string(),
                    municipality_name(m),
                    Some(m) == self.municipality,
                )
            })
            .collect()
    }
}

/// 「金沢市」, or the code when the master does not know it (merged since the import).
pub(crate) fn municipality_name(code: MunicipalityCode) -> String {
    teikyo_refdata::municipalities::get(code)
        .map_or_else(|| code.to_string(), |m| m.name.to_owned())
}

/// Where a row's link goes and what it says: the review of a report waiting for it (for
/// reviewers), the report itself, or the facility's 制度ホーム when nothing was started.
pub(crate) fn row_link(
    who: &Principal,
    prefecture: PrefectureCode,
    row: &StatusRow,
) -> (String, &'static str) {
    match &row.report {
        Some(r) if r.status.awaits_review() && Selection::reviews(who, prefecture, row) => {
            (format!("/reports/{}/review", r.id), "確認する")
        }
        Some(r) => (format!("/reports/{}", r.id), "報告を見る"),
        None => (
            format!("/facility/{}/report", row.facility_id),
            "制度ホーム",
        ),
    }
}
