//! 定期報告 periods (`teikyo_domain::period`): one per prefecture and 年度, with its mail steps.
//! A step is claimed by inserting its row in the transaction that queues its mails, so it goes
//! out once however many workers try (`Tx::claim_period_step`).

use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use teikyo_domain::codes::{FacilityKind, PrefectureCode};
use teikyo_domain::period::ReportingPeriod;
use teikyo_domain::report::{ReportKind, ReportStatus};

use crate::account::insert_audit;
use crate::entity::{app_user, facility, membership, period_mail, report, reporting_period};
use crate::facility::duplicate_or;
use crate::{AuditEvent, FacilityId, Store, StoreError, Tx, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeriodId(pub i64);

impl std::fmt::Display for PeriodId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPeriod {
    pub id: PeriodId,
    pub period: ReportingPeriod,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// A mail step that went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentStep {
    pub step: String,
    pub mails: i32,
    pub sent_at: DateTime<Utc>,
}

/// A facility a period's mail is about, with where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodAddressee {
    pub facility_id: FacilityId,
    pub facility_name: String,
    pub kind: FacilityKind,
    /// Its 定期報告 of the period's 年度 (`NotReported`: none started).
    pub status: ReportStatus,
    /// The addresses of its active users holding the kind's 制度, each once. Empty when nobody
    /// can be told (the mail then goes nowhere; the 報告状況一覧 still shows the facility).
    pub emails: Vec<String>,
}

impl PeriodAddressee {
    /// Not 報告済: what a 督促 is about (報告中, or nothing started).
    pub fn is_pending(&self) -> bool {
        !self.status.is_reported()
    }
}

/// The ids of the facilities a period is for on `day`: of its prefecture and kinds, and not 廃止
/// by then. The 督促 and the 報告状況一覧 (`crate::report_status`) count the same facilities.
pub(crate) fn due_facilities(
    prefecture: PrefectureCode,
    kinds: &[FacilityKind],
    day: NaiveDate,
) -> SelectStatement {
    Query::select()
        .column((facility::Entity, facility::Column::Id))
        .from(facility::Entity)
        .and_where(due_condition(prefecture, kinds, day))
        .to_owned()
}

/// The condition of [`due_facilities`] on the `facility` table, for queries that join it.
pub(crate) fn due_condition(
    prefecture: PrefectureCode,
    kinds: &[FacilityKind],
    day: NaiveDate,
) -> sea_orm::sea_query::SimpleExpr {
    let col = |c: facility::Column| Expr::col((facility::Entity, c));
    col(facility::Column::PrefectureCode)
        .eq(prefecture.to_string())
        .and(col(facility::Column::Kind).is_in(kinds.iter().map(|k| i16::from(k.code()))))
        .and(
            col(facility::Column::AbolishedOn)
                .is_null()
                .or(col(facility::Column::AbolishedOn).gt(day)),
        )
}

fn corrupt(column: &'static str, message: String) -> StoreError {
    StoreError::Corrupt {
        table: "reporting_period",
        column,
        message,
    }
}

fn kinds_text(kinds: &[FacilityKind]) -> String {
    let mut codes: Vec<u8> = kinds.iter().map(|k| k.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn days_text(days: &[i32]) -> String {
    days.iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn from_model(m: reporting_period::Model) -> Result<StoredPeriod, StoreError> {
    let facility_kinds = m
        .facility_kinds
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u8>()
                .ok()
                .and_then(FacilityKind::from_code)
                .ok_or_else(|| corrupt("facility_kinds", m.facility_kinds.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let reminder_days = m
        .reminder_days
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i32>()
                .map_err(|_| corrupt("reminder_days", m.reminder_days.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StoredPeriod {
        id: PeriodId(m.id),
        period: ReportingPeriod {
            prefecture: PrefectureCode::parse(&m.prefecture_code)
                .map_err(|e| corrupt("prefecture_code", e.to_string()))?,
            fiscal_year: u16::try_from(m.fiscal_year)
                .map_err(|e| corrupt("fiscal_year", e.to_string()))?,
            facility_kinds,
            reference_date: m.reference_date,
            opens_on: m.opens_on,
            closes_on: m.closes_on,
            extended_to: m.extended_to,
            closed: m.closed_at.is_some(),
            reminder_days,
            message: m.mail_message,
        },
        created_by: m.created_by.map(UserId),
        created_at: m.created_at,
    })
}

pub struct PeriodRepo<'a> {
    store: &'a Store,
}

impl<'a> PeriodRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    fn conn(&self) -> &DatabaseConnection {
        self.store.conn()
    }

    /// Opens a period, audited in the same transaction. A second period for the same
    /// prefecture and 年度 is `StoreError::Duplicate`.
    pub async fn create(
        &self,
        p: &ReportingPeriod,
        by: Option<UserId>,
        audit: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<PeriodId, StoreError> {
        let txn = self.store.begin_write().await?;
        let res = reporting_period::Entity::insert(reporting_period::ActiveModel {
            prefecture_code: Set(p.prefecture.to_string()),
            fiscal_year: Set(i32::from(p.fiscal_year)),
            facility_kinds: Set(kinds_text(&p.facility_kinds)),
            reference_date: Set(p.reference_date),
            opens_on: Set(p.opens_on),
            closes_on: Set(p.closes_on),
            extended_to: Set(p.extended_to),
            closed_at: Set(p.closed.then_some(now)),
            reminder_days: Set(days_text(&p.reminder_days)),
            mail_message: Set(p.message.clone()),
            created_by: Set(by.map(|u| u.0)),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(&txn)
        .await
        .map_err(|e| duplicate_or(e, "reporting_period"))?;
        let id = PeriodId(res.last_insert_id);
        insert_audit(&txn, &audit.on("reporting_period", id.0), now).await?;
        txn.commit().await?;
        Ok(id)
    }

    pub async fn get(&self, id: PeriodId) -> Result<Option<StoredPeriod>, StoreError> {
        reporting_period::Entity::find_by_id(id.0)
            .one(self.conn())
            .await?
            .map(from_model)
            .transpose()
    }

    /// A prefecture's periods, newest 年度 first (`None`: every prefecture's).
    pub async fn list(
        &self,
        prefecture: Option<PrefectureCode>,
    ) -> Result<Vec<StoredPeriod>, StoreError> {
        let mut q = reporting_period::Entity::find();
        if let Some(p) = prefecture {
            q = q.filter(reporting_period::Column::PrefectureCode.eq(p.to_string()));
        }
        q.order_by_desc(reporting_period::Column::FiscalYear)
            .order_by_asc(reporting_period::Column::PrefectureCode)
            .all(self.conn())
            .await?
            .into_iter()
            .map(from_model)
            .collect()
    }

    /// The prefecture's period of a 年度.
    pub async fn of_year(
        &self,
        prefecture: PrefectureCode,
        fiscal_year: u16,
    ) -> Result<Option<StoredPeriod>, StoreError> {
        reporting_period::Entity::find()
            .filter(reporting_period::Column::PrefectureCode.eq(prefecture.to_string()))
            .filter(reporting_period::Column::FiscalYear.eq(i32::from(fiscal_year)))
            .one(self.conn())
            .await?
            .map(from_model)
            .transpose()
    }

    /// The periods a facility of `kind` in `prefecture` sees on `day`: those for its kind that
    /// have opened, newest first (closed ones too, so the facility sees it missed one).
    pub async fn for_facility(
        &self,
        prefecture: PrefectureCode,
        kind: FacilityKind,
        day: NaiveDate,
    ) -> Result<Vec<StoredPeriod>, StoreError> {
        Ok(self
            .list(Some(prefecture))
            .await?
            .into_iter()
            .filter(|p| p.period.applies_to(kind) && p.period.opens_on <= day)
            .collect())
    }

    /// Every period whose mail steps may be due: not closed, opened by `day`.
    pub async fn running(&self, day: NaiveDate) -> Result<Vec<StoredPeriod>, StoreError> {
        reporting_period::Entity::find()
            .filter(reporting_period::Column::ClosedAt.is_null())
            .filter(reporting_period::Column::OpensOn.lte(day))
            .order_by_asc(reporting_period::Column::Id)
            .all(self.conn())
            .await?
            .into_iter()
            .map(from_model)
            .collect()
    }

    /// Moves the deadline (延長); the domain check (later than the announced deadline) is the
    /// caller's. Audited.
    pub async fn extend(
        &self,
        id: PeriodId,
        to: NaiveDate,
        audit: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.update(
            id,
            reporting_period::Column::ExtendedTo,
            Expr::value(Some(to)),
            audit,
            now,
        )
        .await
    }

    /// Closes the period: no more starts or submissions, no more 督促. Audited.
    pub async fn close(
        &self,
        id: PeriodId,
        audit: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.update(
            id,
            reporting_period::Column::ClosedAt,
            Expr::value(Some(now)),
            audit,
            now,
        )
        .await
    }

    async fn update(
        &self,
        id: PeriodId,
        column: reporting_period::Column,
        value: sea_orm::sea_query::SimpleExpr,
        audit: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.store.begin_write().await?;
        let n = reporting_period::Entity::update_many()
            .col_expr(column, value)
            .filter(reporting_period::Column::Id.eq(id.0))
            .filter(reporting_period::Column::ClosedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if n == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        insert_audit(&txn, &audit.on("reporting_period", id.0), now).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// The facilities a period is for — its prefecture and kinds, not 廃止 by `day` — with
    /// their 定期報告's status and their users' addresses, by facility id. `pending_only`: only
    /// those not 報告済 (the 督促's addressees). Four queries whatever the prefecture's size.
    pub async fn addressees(
        &self,
        p: &ReportingPeriod,
        day: NaiveDate,
        pending_only: bool,
    ) -> Result<Vec<PeriodAddressee>, StoreError> {
        // The facilities as a subquery, so the other three queries need no id lists.
        let of_period = || due_facilities(p.prefecture, &p.facility_kinds, day);
        let facilities: Vec<(i64, i16, String)> = facility::Entity::find()
            .select_only()
            .columns([
                facility::Column::Id,
                facility::Column::Kind,
                facility::Column::NameOfficial,
            ])
            .filter(facility::Column::Id.in_subquery(of_period()))
            .order_by_asc(facility::Column::Id)
            .into_tuple()
            .all(self.conn())
            .await?;
        let reports: BTreeMap<i64, String> = report::Entity::find()
            .select_only()
            .columns([report::Column::FacilityId, report::Column::Status])
            .filter(report::Column::Kind.eq(ReportKind::Periodic.id()))
            .filter(report::Column::FiscalYear.eq(i32::from(p.fiscal_year)))
            .filter(report::Column::FacilityId.in_subquery(of_period()))
            .into_tuple::<(i64, String)>()
            .all(self.conn())
            .await?
            .into_iter()
            .collect();
        let mut kinds_of = BTreeMap::new();
        for (id, kind, _) in &facilities {
            kinds_of.insert(*id, kind_of(*kind)?);
        }
        let mut addresses = facility_addresses(self.conn(), &of_period, &kinds_of).await?;
        let mut out = Vec::new();
        for (id, _, name) in facilities {
            let kind = kinds_of[&id];
            let status = match reports.get(&id) {
                None => ReportStatus::NotReported,
                Some(s) => ReportStatus::parse(s).ok_or_else(|| StoreError::Corrupt {
                    table: "report",
                    column: "status",
                    message: s.clone(),
                })?,
            };
            let a = PeriodAddressee {
                facility_id: FacilityId(id),
                facility_name: name,
                kind,
                status,
                emails: addresses.remove(&id).unwrap_or_default(),
            };
            if !pending_only || a.is_pending() {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// The mail steps that went out, oldest first.
    pub async fn sent_steps(&self, id: PeriodId) -> Result<Vec<SentStep>, StoreError> {
        Ok(period_mail::Entity::find()
            .filter(period_mail::Column::PeriodId.eq(id.0))
            .order_by_asc(period_mail::Column::SentAt)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|m| SentStep {
                step: m.step,
                mails: m.mails,
                sent_at: m.sent_at,
            })
            .collect())
    }
}

pub(crate) fn kind_of(kind: i16) -> Result<FacilityKind, StoreError> {
    u8::try_from(kind)
        .ok()
        .and_then(FacilityKind::from_code)
        .ok_or_else(|| StoreError::Corrupt {
            table: "facility",
            column: "kind",
            message: kind.to_string(),
        })
}

/// Where mail about each facility the subquery `of` selects goes (`kinds`: those facilities'
/// kinds): the addresses of its active users holding the kind's 制度, sorted, each once —
/// the same rule as `ReportRepo::addresses`, in two queries whatever the number of facilities.
/// Facilities nobody can be told about have no entry.
pub(crate) async fn facility_addresses(
    conn: &impl ConnectionTrait,
    of: &(dyn Fn() -> SelectStatement + Sync),
    kinds: &BTreeMap<i64, FacilityKind>,
) -> Result<BTreeMap<i64, Vec<String>>, StoreError> {
    let members: Vec<(i64, i64, Option<String>)> = membership::Entity::find()
        .select_only()
        .columns([
            membership::Column::UserId,
            membership::Column::FacilityId,
            membership::Column::Programs,
        ])
        .filter(membership::Column::Kind.eq("facility"))
        .filter(membership::Column::FacilityId.in_subquery(of()))
        .order_by_asc(membership::Column::Id)
        .into_tuple::<(i64, Option<i64>, Option<String>)>()
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|(u, f, programs)| f.map(|f| (u, f, programs)))
        .collect();
    let emails: BTreeMap<i64, String> = app_user::Entity::find()
        .select_only()
        .columns([app_user::Column::Id, app_user::Column::Email])
        .filter(app_user::Column::Status.eq("active"))
        .filter(
            app_user::Column::Id.in_subquery(
                Query::select()
                    .column(membership::Column::UserId)
                    .from(membership::Entity)
                    .and_where(membership::Column::Kind.eq("facility"))
                    .and_where(membership::Column::FacilityId.in_subquery(of()))
                    .to_owned(),
            ),
        )
        .into_tuple::<(i64, String)>()
        .all(conn)
        .await?
        .into_iter()
        .filter(|(_, e)| !e.trim().is_empty())
        .collect();
    let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (user, facility, programs) in members {
        let Some(kind) = kinds.get(&facility) else {
            continue;
        };
        let program = kind.program().id();
        let holds = programs
            .as_deref()
            .is_some_and(|list| list.split(',').any(|p| p == program));
        if let (true, Some(email)) = (holds, emails.get(&user)) {
            out.entry(facility).or_default().push(email.clone());
        }
    }
    for list in out.values_mut() {
        list.sort();
        list.dedup();
    }
    Ok(out)
}

impl Tx {
    /// Claims a period's mail step inside this transaction: `false` when it was already sent
    /// (or another worker's transaction claimed it first), and then nothing must be queued.
    /// On PostgreSQL a racing claim waits on the primary key until the other commits or rolls
    /// back; on SQLite the write transaction is exclusive.
    pub async fn claim_period_step(
        &self,
        period: PeriodId,
        step: &str,
        mails: i32,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let res = period_mail::Entity::insert(period_mail::ActiveModel {
            period_id: Set(period.0),
            step: Set(step.to_owned()),
            mails: Set(mails),
            sent_at: Set(now),
        })
        .exec(self.conn())
        .await
        .map_err(|e| duplicate_or(e, "period_mail"));
        match res {
            Ok(_) => Ok(true),
            Err(StoreError::Duplicate(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
