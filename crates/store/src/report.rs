//! Reports and their sections. A section is saved on its own, with the version the page was
//! shown with: a save against an older version is refused (`SaveOutcome::Stale`), never an
//! overwrite. A section takes input only while its report is 報告中, checked in the same
//! transaction that writes it (the report row is updated first, so on PostgreSQL a concurrent
//! status change waits for the save or the save waits for it).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use teikyo_domain::forms::Answers;
use teikyo_domain::report::{ReportKind, ReportStatus, SectionStatus};

use crate::account::insert_audit;
use crate::entity::{report, report_section};
use crate::facility::duplicate_or;
use crate::{AuditEvent, FacilityId, Store, StoreError, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReportId(pub i64);

impl std::fmt::Display for ReportId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: ReportId,
    pub facility_id: FacilityId,
    pub kind: ReportKind,
    pub fiscal_year: u16,
    /// The item set's id, e.g. `2026-hospital`: a report stays on the set it was started with.
    pub item_set: String,
    pub status: ReportStatus,
    pub version: i64,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewReport {
    pub facility_id: FacilityId,
    pub kind: ReportKind,
    pub fiscal_year: u16,
    pub item_set: String,
    pub by: Option<UserId>,
}

/// A saved section (one without a row is 未入力).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedSection {
    pub section: String,
    pub status: SectionStatus,
    pub answers: Answers,
    /// 1 after the first save.
    pub version: i64,
    pub updated_by: Option<UserId>,
    pub updated_at: DateTime<Utc>,
}

/// One 一時保存 or 入力完了 of a section.
#[derive(Debug, Clone)]
pub struct SectionSave<'a> {
    pub report: ReportId,
    pub section: &'a str,
    /// The version the page was shown with; 0 for a section never saved.
    pub expected_version: i64,
    /// `Draft` or `Complete` (`Empty` is stored as `Draft`: a saved section is not 未入力).
    pub status: SectionStatus,
    pub answers: &'a Answers,
    pub by: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SaveOutcome {
    Saved {
        version: i64,
    },
    /// Someone saved the section since the page was shown: what is stored now.
    Stale {
        current: Option<SavedSection>,
    },
    /// The report no longer takes input (報告済, 確認完了済).
    Closed {
        status: ReportStatus,
    },
    /// No such report.
    Missing,
}

pub struct ReportRepo<'a> {
    store: &'a Store,
}

fn corrupt(table: &'static str, column: &'static str, message: String) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        message,
    }
}

fn from_model(m: report::Model) -> Result<Report, StoreError> {
    Ok(Report {
        id: ReportId(m.id),
        facility_id: FacilityId(m.facility_id),
        kind: ReportKind::parse(&m.kind)
            .ok_or_else(|| corrupt("report", "kind", m.kind.clone()))?,
        fiscal_year: u16::try_from(m.fiscal_year)
            .map_err(|e| corrupt("report", "fiscal_year", e.to_string()))?,
        item_set: m.item_set,
        status: ReportStatus::parse(&m.status)
            .ok_or_else(|| corrupt("report", "status", m.status.clone()))?,
        version: m.version,
        created_by: m.created_by.map(UserId),
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn section_from_model(m: report_section::Model) -> Result<SavedSection, StoreError> {
    Ok(SavedSection {
        status: SectionStatus::parse(&m.status)
            .ok_or_else(|| corrupt("report_section", "status", m.status.clone()))?,
        answers: serde_json::from_str(&m.answers)
            .map_err(|e| corrupt("report_section", "answers", e.to_string()))?,
        section: m.section,
        version: m.version,
        updated_by: m.updated_by.map(UserId),
        updated_at: m.updated_at,
    })
}

impl<'a> ReportRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    fn conn(&self) -> &DatabaseConnection {
        self.store.conn()
    }

    /// Starts a report, audited in the same transaction (`audit` gets the report as target).
    /// A 定期報告 exists once per facility and 年度: if another request started it first, that
    /// report is returned with `false`.
    pub async fn start(
        &self,
        new: &NewReport,
        audit: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<(Report, bool), StoreError> {
        let txn = self.store.begin_write().await?;
        let inserted = report::Entity::insert(report::ActiveModel {
            facility_id: Set(new.facility_id.0),
            kind: Set(new.kind.id().to_owned()),
            fiscal_year: Set(i32::from(new.fiscal_year)),
            item_set: Set(new.item_set.clone()),
            status: Set(ReportStatus::InProgress.id().to_owned()),
            version: Set(1),
            created_by: Set(new.by.map(|u| u.0)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(&txn)
        .await
        .map_err(|e| duplicate_or(e, "report"));
        let id = match inserted {
            Ok(r) => ReportId(r.last_insert_id),
            Err(StoreError::Duplicate(_)) if new.kind == ReportKind::Periodic => {
                txn.rollback().await?;
                let existing = self
                    .periodic(new.facility_id, new.fiscal_year)
                    .await?
                    .ok_or_else(|| {
                        StoreError::Duplicate("report: periodic report vanished".to_owned())
                    })?;
                return Ok((existing, false));
            }
            Err(e) => return Err(e),
        };
        insert_audit(&txn, &audit.on("report", id), now).await?;
        txn.commit().await?;
        let report = self
            .get(id)
            .await?
            .ok_or_else(|| corrupt("report", "id", format!("{id} not found after insert")))?;
        Ok((report, true))
    }

    pub async fn get(&self, id: ReportId) -> Result<Option<Report>, StoreError> {
        report::Entity::find_by_id(id.0)
            .one(self.conn())
            .await?
            .map(from_model)
            .transpose()
    }

    /// The facility's 定期報告 of a 年度, if started.
    pub async fn periodic(
        &self,
        facility: FacilityId,
        fiscal_year: u16,
    ) -> Result<Option<Report>, StoreError> {
        report::Entity::find()
            .filter(report::Column::FacilityId.eq(facility.0))
            .filter(report::Column::FiscalYear.eq(i32::from(fiscal_year)))
            .filter(report::Column::Kind.eq(ReportKind::Periodic.id()))
            .one(self.conn())
            .await?
            .map(from_model)
            .transpose()
    }

    /// Every report of the facility, newest first.
    pub async fn of_facility(&self, facility: FacilityId) -> Result<Vec<Report>, StoreError> {
        report::Entity::find()
            .filter(report::Column::FacilityId.eq(facility.0))
            .order_by_desc(report::Column::CreatedAt)
            .order_by_desc(report::Column::Id)
            .all(self.conn())
            .await?
            .into_iter()
            .map(from_model)
            .collect()
    }

    /// The saved sections of a report (未入力 ones have none).
    pub async fn sections(&self, id: ReportId) -> Result<Vec<SavedSection>, StoreError> {
        report_section::Entity::find()
            .filter(report_section::Column::ReportId.eq(id.0))
            .order_by_asc(report_section::Column::Section)
            .all(self.conn())
            .await?
            .into_iter()
            .map(section_from_model)
            .collect()
    }

    pub async fn section(
        &self,
        id: ReportId,
        section: &str,
    ) -> Result<Option<SavedSection>, StoreError> {
        section_of(self.conn(), id, section).await
    }

    /// Saves a section if it is still at `expected_version` and the report takes input, with
    /// its audit event, in one transaction.
    pub async fn save_section(
        &self,
        save: &SectionSave<'_>,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<SaveOutcome, StoreError> {
        let status = match save.status {
            SectionStatus::Complete => SectionStatus::Complete,
            SectionStatus::Draft | SectionStatus::Empty => SectionStatus::Draft,
        };
        let answers = serde_json::to_string(save.answers)
            .map_err(|e| corrupt("report_section", "answers", e.to_string()))?;
        let txn = self.store.begin_write().await?;
        // Takes the report row's lock (PostgreSQL) and checks it takes input in one statement.
        let touched = report::Entity::update_many()
            .col_expr(report::Column::UpdatedAt, Expr::value(now))
            .filter(report::Column::Id.eq(save.report.0))
            .filter(report::Column::Status.eq(ReportStatus::InProgress.id()))
            .exec(&txn)
            .await?;
        if touched.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(match self.get(save.report).await? {
                Some(r) => SaveOutcome::Closed { status: r.status },
                None => SaveOutcome::Missing,
            });
        }
        let written = if save.expected_version == 0 {
            let res = report_section::Entity::insert(report_section::ActiveModel {
                report_id: Set(save.report.0),
                section: Set(save.section.to_owned()),
                status: Set(status.id().to_owned()),
                answers: Set(answers),
                version: Set(1),
                updated_by: Set(save.by.map(|u| u.0)),
                updated_at: Set(now),
            })
            .exec(&txn)
            .await
            .map_err(|e| duplicate_or(e, "report_section"));
            match res {
                Ok(_) => true,
                Err(StoreError::Duplicate(_)) => false,
                Err(e) => return Err(e),
            }
        } else {
            report_section::Entity::update_many()
                .col_expr(report_section::Column::Status, Expr::value(status.id()))
                .col_expr(report_section::Column::Answers, Expr::value(answers))
                .col_expr(
                    report_section::Column::Version,
                    Expr::col(report_section::Column::Version).add(1),
                )
                .col_expr(
                    report_section::Column::UpdatedBy,
                    Expr::value(save.by.map(|u| u.0)),
                )
                .col_expr(report_section::Column::UpdatedAt, Expr::value(now))
                .filter(report_section::Column::ReportId.eq(save.report.0))
                .filter(report_section::Column::Section.eq(save.section))
                .filter(report_section::Column::Version.eq(save.expected_version))
                .exec(&txn)
                .await?
                .rows_affected
                == 1
        };
        if !written {
            txn.rollback().await?;
            return Ok(SaveOutcome::Stale {
                current: self.section(save.report, save.section).await?,
            });
        }
        insert_audit(&txn, audit, now).await?;
        txn.commit().await?;
        Ok(SaveOutcome::Saved {
            version: save.expected_version + 1,
        })
    }
}

async fn section_of(
    conn: &impl ConnectionTrait,
    id: ReportId,
    section: &str,
) -> Result<Option<SavedSection>, StoreError> {
    report_section::Entity::find_by_id((id.0, section.to_owned()))
        .one(conn)
        .await?
        .map(section_from_model)
        .transpose()
}
