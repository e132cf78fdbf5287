//! 報告状況一覧 and the completeness dashboard (DOMAIN §6; issue 6): each facility a prefecture's
//! 定期報告 is for, with the status of its report of the 年度 — none is 未報告, as for the 督促
//! (`period::due_facilities` is the one definition of who is due) — or, for 随時・新規報告, each
//! facility with such a report and the status of its latest one.
//!
//! Counting and day bucketing happen in the database (`GROUP BY`), so a prefecture of 30,000
//! facilities costs a few small result sets, not 30,000 reports loaded into Rust.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{
    Alias, CaseStatement, Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement,
    SimpleExpr,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};
use teikyo_domain::completeness::Tally;
use teikyo_domain::report::{ReportKind, ReportStatus};
use teikyo_domain::{FacilityKind, MunicipalityCode, PrefectureCode};

use crate::entity::{facility, report};
use crate::{Backend, FacilityId, ReportId, Store, StoreError};

/// Which facilities and reports a list or dashboard is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusScope {
    pub prefecture: PrefectureCode,
    pub fiscal_year: u16,
    pub report_kind: ReportKind,
    /// The 機関区分 counted (a period's kinds, narrowed by a filter). Empty: none.
    pub facility_kinds: Vec<FacilityKind>,
    /// Only these 市区町村 (a 保健所 area, or the one chosen); `None`: the whole prefecture.
    pub municipalities: Option<Vec<MunicipalityCode>>,
    /// 定期報告: a facility 廃止 on or before this day is not due
    /// (`ReportingPeriod::counted_on`). Not used for 随時・新規報告, which list every facility
    /// that has one — the 随時報告 of a 廃止 included.
    pub counted_on: NaiveDate,
}

/// The report a row shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub id: ReportId,
    pub status: ReportStatus,
    /// The last 報告.
    pub submitted_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The last 報告 was 代理入力.
    pub by_proxy: bool,
}

/// One facility of a 報告状況一覧.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub facility_id: FacilityId,
    pub facility_code: Option<String>,
    pub kind: FacilityKind,
    pub name: String,
    pub municipality: MunicipalityCode,
    /// None: 未報告.
    pub report: Option<StatusReport>,
}

impl StatusRow {
    pub fn status(&self) -> ReportStatus {
        self.report
            .as_ref()
            .map_or(ReportStatus::NotReported, |r| r.status)
    }
}

/// How many facilities were reported and confirmed on each day (in Japan).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DailyCounts {
    /// By the day of the last 報告 of reports now 報告済, 再報告済 or 確認完了済.
    pub reported: Vec<(NaiveDate, u64)>,
    /// By the day of the last 確認完了 of reports now 確認完了済.
    pub confirmed: Vec<(NaiveDate, u64)>,
}

pub struct ReportStatusRepo<'a> {
    store: &'a Store,
}

fn corrupt(table: &'static str, column: &'static str, message: String) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        message,
    }
}

fn fcol(c: facility::Column) -> Expr {
    Expr::col((facility::Entity, c))
}

fn rcol(c: report::Column) -> Expr {
    Expr::col((report::Entity, c))
}

fn kind_of(code: i16) -> Result<FacilityKind, StoreError> {
    u8::try_from(code)
        .ok()
        .and_then(FacilityKind::from_code)
        .ok_or_else(|| corrupt("facility", "kind", code.to_string()))
}

fn municipality_of(code: &str) -> Result<MunicipalityCode, StoreError> {
    MunicipalityCode::parse(code)
        .map_err(|e| corrupt("facility", "municipality_code", e.to_string()))
}

fn status_of(stored: Option<&str>) -> Result<ReportStatus, StoreError> {
    match stored {
        None => Ok(ReportStatus::NotReported),
        Some(s) => ReportStatus::parse(s).ok_or_else(|| corrupt("report", "status", s.to_owned())),
    }
}

fn count_of(row: &QueryResult) -> Result<u64, StoreError> {
    let n: i64 = row.try_get("", "n")?;
    u64::try_from(n).map_err(|e| corrupt("report", "count", e.to_string()))
}

/// The order of the list: 未報告 first (whom to chase), then along the progress bar.
fn status_rank() -> SimpleExpr {
    let mut case = CaseStatement::new().case(rcol(report::Column::Status).is_null(), 0);
    for (n, s) in ReportStatus::ALL.iter().enumerate().skip(1) {
        case = case.case(rcol(report::Column::Status).eq(s.id()), n as i32);
    }
    case.finally(9).into()
}

impl<'a> ReportStatusRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    fn conn(&self) -> &DatabaseConnection {
        self.store.conn()
    }

    /// `FROM facility` joined with the report each facility of the scope is listed with.
    fn base(&self, scope: &StatusScope) -> SelectStatement {
        let mut q = Query::select();
        q.from(facility::Entity);
        let on = rcol(report::Column::FacilityId)
            .equals((facility::Entity, facility::Column::Id))
            .and(rcol(report::Column::Kind).eq(scope.report_kind.id()))
            .and(rcol(report::Column::FiscalYear).eq(i32::from(scope.fiscal_year)));
        if scope.report_kind == ReportKind::Periodic {
            // One 定期報告 per facility and 年度 (unique index), so no row repeats.
            q.join(JoinType::LeftJoin, report::Entity, on);
            q.and_where(crate::period::due_condition(
                scope.prefecture,
                &scope.facility_kinds,
                scope.counted_on,
            ));
        } else {
            // Several 随時報告 a year are possible: the latest shows.
            let latest = Alias::new("latest");
            let newest = Query::select()
                .expr(Func::max(Expr::col((latest.clone(), report::Column::Id))))
                .from_as(report::Entity, latest.clone())
                .and_where(
                    Expr::col((latest.clone(), report::Column::Kind)).eq(scope.report_kind.id()),
                )
                .and_where(
                    Expr::col((latest.clone(), report::Column::FiscalYear))
                        .eq(i32::from(scope.fiscal_year)),
                )
                .group_by_col((latest, report::Column::FacilityId))
                .to_owned();
            q.join(
                JoinType::InnerJoin,
                report::Entity,
                on.and(rcol(report::Column::Id).in_subquery(newest)),
            );
            q.and_where(fcol(facility::Column::PrefectureCode).eq(scope.prefecture.to_string()))
                .and_where(
                    fcol(facility::Column::Kind)
                        .is_in(scope.facility_kinds.iter().map(|k| i16::from(k.code()))),
                );
        }
        if let Some(list) = &scope.municipalities {
            q.and_where(
                fcol(facility::Column::MunicipalityCode)
                    .is_in(list.iter().map(MunicipalityCode::to_string)),
            );
        }
        q
    }

    /// Facilities per 機関区分, 市区町村 and status: the counts at the top of the list, the
    /// 市区町村 to choose from, and the dashboard's tables — one grouped query.
    pub async fn tally(&self, scope: &StatusScope) -> Result<Vec<Tally>, StoreError> {
        let mut q = self.base(scope);
        q.expr_as(fcol(facility::Column::Kind), Alias::new("kind"))
            .expr_as(
                fcol(facility::Column::MunicipalityCode),
                Alias::new("municipality_code"),
            )
            .expr_as(rcol(report::Column::Status), Alias::new("status"))
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .add_group_by([
                fcol(facility::Column::Kind),
                fcol(facility::Column::MunicipalityCode),
                rcol(report::Column::Status),
            ]);
        let rows = self.conn().query_all(&q).await?;
        rows.iter()
            .map(|r| {
                let municipality: String = r.try_get("", "municipality_code")?;
                let status: Option<String> = r.try_get("", "status")?;
                Ok(Tally {
                    kind: kind_of(r.try_get("", "kind")?)?,
                    municipality: municipality_of(&municipality)?,
                    status: status_of(status.as_deref())?,
                    facilities: count_of(r)?,
                })
            })
            .collect()
    }

    /// The facilities of the scope, only those in `status` if given, 未報告 first then along
    /// the progress bar, then by 機関コード (facilities without one last) and id: a stable
    /// order, so pages do not shift. `page`: (offset, limit); `None`: all of them (the CSV).
    pub async fn rows(
        &self,
        scope: &StatusScope,
        status: Option<ReportStatus>,
        page: Option<(u64, u64)>,
    ) -> Result<Vec<StatusRow>, StoreError> {
        let mut q = self.base(scope);
        q.expr_as(fcol(facility::Column::Id), Alias::new("facility_id"))
            .expr_as(
                fcol(facility::Column::FacilityCode),
                Alias::new("facility_code"),
            )
            .expr_as(fcol(facility::Column::Kind), Alias::new("kind"))
            .expr_as(fcol(facility::Column::NameOfficial), Alias::new("name"))
            .expr_as(
                fcol(facility::Column::MunicipalityCode),
                Alias::new("municipality_code"),
            )
            .expr_as(rcol(report::Column::Id), Alias::new("report_id"))
            .expr_as(rcol(report::Column::Status), Alias::new("status"))
            .expr_as(
                rcol(report::Column::SubmittedAt),
                Alias::new("submitted_at"),
            )
            .expr_as(
                rcol(report::Column::ConfirmedAt),
                Alias::new("confirmed_at"),
            )
            .expr_as(
                rcol(report::Column::SubmittedByProxy),
                Alias::new("by_proxy"),
            );
        match status {
            None => {}
            Some(ReportStatus::NotReported) => {
                q.and_where(rcol(report::Column::Id).is_null());
            }
            Some(s) => {
                q.and_where(rcol(report::Column::Status).eq(s.id()));
            }
        }
        q.order_by_expr(status_rank(), Order::Asc)
            .order_by_expr(
                Expr::case(fcol(facility::Column::FacilityCode).is_null(), 1)
                    .finally(0)
                    .into(),
                Order::Asc,
            )
            .order_by_expr(fcol(facility::Column::FacilityCode), Order::Asc)
            .order_by_expr(fcol(facility::Column::Id), Order::Asc);
        if let Some((offset, limit)) = page {
            q.offset(offset).limit(limit);
        }
        let rows = self.conn().query_all(&q).await?;
        // A prefecture has a few dozen 市区町村 and up to tens of thousands of rows: each code
        // is parsed (NFKC, check digit) once.
        let mut places: HashMap<String, MunicipalityCode> = HashMap::new();
        rows.iter().map(|r| row_of(r, &mut places)).collect()
    }

    /// 報告 and 確認完了 per day (in Japan) of the scope's reports that are reported, resp.
    /// confirmed, now: what the dashboard accumulates over the window.
    pub async fn daily(&self, scope: &StatusScope) -> Result<DailyCounts, StoreError> {
        let reported: Vec<&str> = ReportStatus::ALL
            .iter()
            .filter(|s| s.is_reported())
            .map(|s| s.id())
            .collect();
        // A confirmed report was reported first; its 報告 time is there unless data came from
        // elsewhere, and then its 確認完了 stands in.
        let reported_at = "COALESCE(\"report\".\"submitted_at\", \"report\".\"confirmed_at\")";
        let confirmed_at = "\"report\".\"confirmed_at\"";
        Ok(DailyCounts {
            reported: self
                .per_day(
                    scope,
                    reported_at,
                    rcol(report::Column::Status).is_in(reported),
                )
                .await?,
            confirmed: self
                .per_day(
                    scope,
                    confirmed_at,
                    rcol(report::Column::Status).eq(ReportStatus::Confirmed.id()),
                )
                .await?,
        })
    }

    async fn per_day(
        &self,
        scope: &StatusScope,
        at: &str,
        which: SimpleExpr,
    ) -> Result<Vec<(NaiveDate, u64)>, StoreError> {
        // The day in Japan (UTC+9, no summer time). SQLite keeps RFC 3339 text in UTC as sqlx
        // writes it: the first 19 characters are the UTC time, without the fraction that
        // SQLite would round up to the next second.
        let day = match self.store.backend() {
            Backend::Sqlite => format!("date(substr({at}, 1, 19), '+9 hours')"),
            Backend::Postgres => format!("to_char({at} AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD')"),
        };
        let mut q = self.base(scope);
        q.and_where(which)
            .expr_as(Expr::cust(day.clone()), Alias::new("day"))
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .add_group_by([Expr::cust(day.clone())])
            .order_by_expr(Expr::cust(day), Order::Asc);
        let rows = self.conn().query_all(&q).await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("", "day")?;
                let day = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .map_err(|e| corrupt("report", "submitted_at", format!("{text}: {e}")))?;
                Ok((day, count_of(r)?))
            })
            .collect()
    }
}

fn row_of(
    r: &QueryResult,
    places: &mut HashMap<String, MunicipalityCode>,
) -> Result<StatusRow, StoreError> {
    let code: String = r.try_get("", "municipality_code")?;
    let municipality = match places.get(&code) {
        Some(m) => *m,
        None => {
            let m = municipality_of(&code)?;
            places.insert(code, m);
            m
        }
    };
    let report_id: Option<i64> = r.try_get("", "report_id")?;
    let status: Option<String> = r.try_get("", "status")?;
    let report = match report_id {
        None => None,
        Some(id) => Some(StatusReport {
            id: ReportId(id),
            status: status_of(status.as_deref())?,
            submitted_at: r.try_get("", "submitted_at")?,
            confirmed_at: r.try_get("", "confirmed_at")?,
            by_proxy: r.try_get::<Option<bool>>("", "by_proxy")?.unwrap_or(false),
        }),
    };
    Ok(StatusRow {
        facility_id: FacilityId(r.try_get("", "facility_id")?),
        facility_code: r.try_get("", "facility_code")?,
        kind: kind_of(r.try_get("", "kind")?)?,
        name: r.try_get("", "name")?,
        municipality,
        report,
    })
}
