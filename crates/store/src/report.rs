//! Reports and their sections. A section is saved on its own, with the version the page was
//! shown with: a save against an older version is refused (`SaveOutcome::Stale`), never an
//! overwrite. A section takes input only while its report is 報告中, checked in the same
//! transaction that writes it (the report row is updated first, so on PostgreSQL a concurrent
//! status change waits for the save or the save waits for it).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use teikyo_domain::forms::Answers;
use teikyo_domain::ndb::InsuranceCodeCheck;
use teikyo_domain::report::{
    ReportKind, ReportState, ReportStatus, SectionStatus, Transition, TransitionError,
};

use crate::account::insert_audit;
use crate::entity::{app_user, facility, membership, report, report_confirmation, report_section};
use crate::facility::duplicate_or;
use crate::{AuditEvent, FacilityId, PeriodId, Store, StoreError, UserId};

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
    /// The 定期報告 period it answers (None for 新規・随時報告 and reports before periods).
    pub period_id: Option<PeriodId>,
    /// The last 報告 (kept through 引き戻し: the report was submitted before).
    pub submitted_at: Option<DateTime<Utc>>,
    pub submitted_by: Option<UserId>,
    /// The last 報告 was pressed by prefecture staff (代理入力).
    pub submitted_by_proxy: bool,
    /// The last 確認完了 (kept when reopened: the next 報告 is a 再報告).
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirmed_by: Option<UserId>,
    /// The last 差戻し and its comment, until the next 報告 clears the comment.
    pub returned_at: Option<DateTime<Utc>>,
    pub returned_by: Option<UserId>,
    pub return_comment: Option<String>,
    /// 保険医療機関番号確認 on start: skipped, the matched codes, or None (not asked).
    pub insurance_check: Option<InsuranceCodeCheck>,
}

impl Report {
    /// What the state machine needs.
    pub fn state(&self) -> ReportState {
        ReportState {
            status: self.status,
            ever_submitted: self.submitted_at.is_some(),
            ever_confirmed: self.confirmed_at.is_some(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewReport {
    pub facility_id: FacilityId,
    pub kind: ReportKind,
    pub fiscal_year: u16,
    pub item_set: String,
    pub by: Option<UserId>,
    pub period_id: Option<PeriodId>,
    pub insurance_check: Option<InsuranceCodeCheck>,
    /// Sections saved with the start (the NDB preprint), as 一時保存.
    pub preset: Vec<(String, Answers)>,
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

/// A status change asked for on a page that showed the report at `expected_version`.
#[derive(Debug, Clone)]
pub struct TransitionRequest<'a> {
    pub report: ReportId,
    pub expected_version: i64,
    pub transition: Transition,
    pub by: Option<UserId>,
    /// Prefecture staff act for the facility (代理入力); recorded with a 報告.
    pub proxy: bool,
    /// The 差戻し comment.
    pub comment: Option<&'a str>,
    /// For 報告: the item set's sections, which must all be 入力完了.
    pub required_sections: &'a [String],
    /// For 確認完了: 休止日・廃止日 of the confirmed 基本情報, written to the facility record.
    pub facility_dates: Option<FacilityDates>,
    /// Jobs the change causes (the receipt and notice mails), queued in its transaction: they
    /// exist exactly when the change does.
    pub follow_up: Vec<crate::NewJob>,
}

/// The dates of the confirmed report that change the facility record (DOMAIN §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FacilityDates {
    pub suspended_on: Option<chrono::NaiveDate>,
    pub abolished_on: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TransitionOutcome {
    /// Applied; the report as it is now (`None` after 取消: it is deleted).
    Done {
        report: Option<Report>,
    },
    /// The transition does not apply to the report as it is now (someone acted first).
    Refused {
        current: Report,
        error: TransitionError,
    },
    /// It would apply, but the report changed since the page showed it.
    Stale {
        current: Report,
    },
    /// 報告 with sections not 入力完了.
    Incomplete {
        sections: Vec<String>,
    },
    Missing,
}

/// A confirmed report's answers (the newest one of a facility is its published state).
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmation {
    pub id: i64,
    pub report_id: ReportId,
    pub facility_id: FacilityId,
    pub item_set: String,
    pub answers: Answers,
    pub confirmed_by: Option<UserId>,
    pub confirmed_at: DateTime<Utc>,
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
        period_id: m.period_id.map(PeriodId),
        submitted_at: m.submitted_at,
        submitted_by: m.submitted_by.map(UserId),
        submitted_by_proxy: m.submitted_by_proxy,
        confirmed_at: m.confirmed_at,
        confirmed_by: m.confirmed_by.map(UserId),
        returned_at: m.returned_at,
        returned_by: m.returned_by.map(UserId),
        return_comment: m.return_comment,
        insurance_check: m
            .insurance_check
            .map(|s| {
                InsuranceCodeCheck::parse_stored(&s)
                    .ok_or_else(|| corrupt("report", "insurance_check", s))
            })
            .transpose()?,
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
            period_id: Set(new.period_id.map(|p| p.0)),
            submitted_by_proxy: Set(false),
            insurance_check: Set(new.insurance_check.as_ref().map(InsuranceCodeCheck::stored)),
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
        for (section, answers) in &new.preset {
            report_section::Entity::insert(report_section::ActiveModel {
                report_id: Set(id.0),
                section: Set(section.clone()),
                status: Set(SectionStatus::Draft.id().to_owned()),
                answers: Set(answers_json(answers)?),
                version: Set(1),
                updated_by: Set(None),
                updated_at: Set(now),
            })
            .exec(&txn)
            .await?;
        }
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
        let answers = answers_json(save.answers)?;
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
    /// Applies a workflow transition as one compare-and-set on the report row (status among the
    /// transition's sources and version as shown), with its effects and audit event in the same
    /// transaction: 報告 checks every required section is 入力完了 after taking the row (so a
    /// concurrent save cannot slip in between), 確認完了 stores the whole report as a
    /// `Confirmation` and writes 休止日・廃止日 to the facility, 取消 deletes the report.
    pub async fn transition(
        &self,
        req: &TransitionRequest<'_>,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<TransitionOutcome, StoreError> {
        let Some(before) = self.get(req.report).await? else {
            return Ok(TransitionOutcome::Missing);
        };
        let next = match before.state().after(req.transition) {
            Ok(next) => next,
            Err(error) => {
                return Ok(TransitionOutcome::Refused {
                    current: before,
                    error,
                });
            }
        };
        let sources: Vec<&str> = ReportState::sources(req.transition)
            .iter()
            .map(|s| s.id())
            .collect();
        let txn = self.store.begin_write().await?;
        let filter = |q: sea_orm::UpdateMany<report::Entity>| {
            q.filter(report::Column::Id.eq(req.report.0))
                .filter(report::Column::Version.eq(req.expected_version))
                .filter(report::Column::Status.is_in(sources.clone()))
        };
        let applied = if req.transition == Transition::Cancel {
            report::Entity::delete_many()
                .filter(report::Column::Id.eq(req.report.0))
                .filter(report::Column::Version.eq(req.expected_version))
                .filter(report::Column::Status.is_in(sources.clone()))
                .filter(report::Column::SubmittedAt.is_null())
                .filter(report::Column::ConfirmedAt.is_null())
                .exec(&txn)
                .await?
                .rows_affected
        } else {
            let mut q = report::Entity::update_many()
                .col_expr(report::Column::Status, Expr::value(next.id()))
                .col_expr(
                    report::Column::Version,
                    Expr::col(report::Column::Version).add(1),
                )
                .col_expr(report::Column::UpdatedAt, Expr::value(now));
            let by = req.by.map(|u| u.0);
            match req.transition {
                Transition::Submit => {
                    q = q
                        .col_expr(report::Column::SubmittedAt, Expr::value(Some(now)))
                        .col_expr(report::Column::SubmittedBy, Expr::value(by))
                        .col_expr(report::Column::SubmittedByProxy, Expr::value(req.proxy))
                        .col_expr(report::Column::ReturnComment, Expr::value(None::<String>));
                }
                Transition::Confirm => {
                    q = q
                        .col_expr(report::Column::ConfirmedAt, Expr::value(Some(now)))
                        .col_expr(report::Column::ConfirmedBy, Expr::value(by));
                }
                Transition::Return => {
                    q = q
                        .col_expr(report::Column::ReturnedAt, Expr::value(Some(now)))
                        .col_expr(report::Column::ReturnedBy, Expr::value(by))
                        .col_expr(
                            report::Column::ReturnComment,
                            Expr::value(req.comment.map(str::to_owned)),
                        );
                }
                Transition::Withdraw | Transition::Reopen | Transition::Cancel => {}
            }
            filter(q).exec(&txn).await?.rows_affected
        };
        if applied == 0 {
            txn.rollback().await?;
            let Some(current) = self.get(req.report).await? else {
                return Ok(TransitionOutcome::Missing);
            };
            return Ok(match current.state().after(req.transition) {
                Err(error) => TransitionOutcome::Refused { current, error },
                Ok(_) => TransitionOutcome::Stale { current },
            });
        }
        if req.transition == Transition::Submit {
            let complete: Vec<String> = report_section::Entity::find()
                .filter(report_section::Column::ReportId.eq(req.report.0))
                .filter(report_section::Column::Status.eq(SectionStatus::Complete.id()))
                .all(&txn)
                .await?
                .into_iter()
                .map(|m| m.section)
                .collect();
            let missing: Vec<String> = req
                .required_sections
                .iter()
                .filter(|s| !complete.contains(s))
                .cloned()
                .collect();
            if !missing.is_empty() {
                txn.rollback().await?;
                return Ok(TransitionOutcome::Incomplete { sections: missing });
            }
        }
        if req.transition == Transition::Confirm {
            let mut all = Answers::default();
            for m in report_section::Entity::find()
                .filter(report_section::Column::ReportId.eq(req.report.0))
                .all(&txn)
                .await?
            {
                let section = section_from_model(m)?;
                all.merge(section.answers);
            }
            report_confirmation::Entity::insert(report_confirmation::ActiveModel {
                report_id: Set(req.report.0),
                facility_id: Set(before.facility_id.0),
                item_set: Set(before.item_set.clone()),
                answers: Set(answers_json(&all)?),
                confirmed_by: Set(req.by.map(|u| u.0)),
                confirmed_at: Set(now),
                ..Default::default()
            })
            .exec(&txn)
            .await?;
            if let Some(dates) = req.facility_dates {
                facility::Entity::update_many()
                    .col_expr(
                        facility::Column::SuspendedOn,
                        Expr::value(dates.suspended_on),
                    )
                    .col_expr(
                        facility::Column::AbolishedOn,
                        Expr::value(dates.abolished_on),
                    )
                    .col_expr(facility::Column::UpdatedAt, Expr::value(now))
                    .filter(facility::Column::Id.eq(before.facility_id.0))
                    .exec(&txn)
                    .await?;
            }
        }
        insert_audit(&txn, audit, now).await?;
        crate::jobs::Jobs::new(&txn, self.store.backend())
            .enqueue_many(&req.follow_up)
            .await?;
        txn.commit().await?;
        let report = if req.transition == Transition::Cancel {
            None
        } else {
            self.get(req.report).await?
        };
        Ok(TransitionOutcome::Done { report })
    }

    /// Where a facility's report mails go: the addresses of its active users who work on the
    /// facility's 制度 (a pharmacy user of a shared login does not get the clinic's mail),
    /// sorted and without repeats.
    pub async fn addresses(&self, facility_id: FacilityId) -> Result<Vec<String>, StoreError> {
        let Some(f) = facility::Entity::find_by_id(facility_id.0)
            .one(self.conn())
            .await?
        else {
            return Ok(Vec::new());
        };
        let kind = u8::try_from(f.kind)
            .ok()
            .and_then(teikyo_domain::codes::FacilityKind::from_code)
            .ok_or_else(|| corrupt("facility", "kind", f.kind.to_string()))?;
        let program = kind.program().id();
        let members: Vec<(i64, Option<String>)> = membership::Entity::find()
            .select_only()
            .columns([membership::Column::UserId, membership::Column::Programs])
            .filter(membership::Column::Kind.eq("facility"))
            .filter(membership::Column::FacilityId.eq(facility_id.0))
            .into_tuple()
            .all(self.conn())
            .await?;
        let users: Vec<i64> = members
            .into_iter()
            .filter(|(_, programs)| {
                programs
                    .as_deref()
                    .is_some_and(|list| list.split(',').any(|p| p == program))
            })
            .map(|(u, _)| u)
            .collect();
        let mut emails: Vec<String> = app_user::Entity::find()
            .select_only()
            .column(app_user::Column::Email)
            .filter(app_user::Column::Status.eq("active"))
            .filter(app_user::Column::Id.is_in(users))
            .into_tuple::<String>()
            .all(self.conn())
            .await?
            .into_iter()
            .filter(|e| !e.trim().is_empty())
            .collect();
        emails.sort();
        emails.dedup();
        Ok(emails)
    }

    /// 一括入力完了: each listed section that is still 未入力 (no row) is stored as 入力完了 with
    /// the given answers (the previous report's, carried over). Sections saved meanwhile are left
    /// alone. Only while the report is 報告中 (the row is taken first, as for saves). Returns the
    /// sections it completed, or `None` when the report no longer takes input.
    pub async fn bulk_complete(
        &self,
        report_id: ReportId,
        fills: &[(String, Answers)],
        by: Option<UserId>,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let txn = self.store.begin_write().await?;
        let touched = report::Entity::update_many()
            .col_expr(report::Column::UpdatedAt, Expr::value(now))
            .filter(report::Column::Id.eq(report_id.0))
            .filter(report::Column::Status.eq(ReportStatus::InProgress.id()))
            .exec(&txn)
            .await?;
        if touched.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(None);
        }
        let mut done = Vec::new();
        for (section, answers) in fills {
            let n = report_section::Entity::insert(report_section::ActiveModel {
                report_id: Set(report_id.0),
                section: Set(section.clone()),
                status: Set(SectionStatus::Complete.id().to_owned()),
                answers: Set(answers_json(answers)?),
                version: Set(1),
                updated_by: Set(by.map(|u| u.0)),
                updated_at: Set(now),
            })
            .on_conflict(
                OnConflict::columns([
                    report_section::Column::ReportId,
                    report_section::Column::Section,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
            if n == 1 {
                done.push(section.clone());
            }
        }
        let audit = audit
            .clone()
            .with_detail(serde_json::json!({ "completed": done }));
        insert_audit(&txn, &audit, now).await?;
        txn.commit().await?;
        Ok(Some(done))
    }

    /// The facility's newest 確認完了, if any.
    pub async fn last_confirmation(
        &self,
        facility_id: FacilityId,
    ) -> Result<Option<Confirmation>, StoreError> {
        let Some(m) = report_confirmation::Entity::find()
            .filter(report_confirmation::Column::FacilityId.eq(facility_id.0))
            .order_by_desc(report_confirmation::Column::Id)
            .one(self.conn())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(Confirmation {
            id: m.id,
            report_id: ReportId(m.report_id),
            facility_id: FacilityId(m.facility_id),
            item_set: m.item_set,
            answers: serde_json::from_str(&m.answers)
                .map_err(|e| corrupt("report_confirmation", "answers", e.to_string()))?,
            confirmed_by: m.confirmed_by.map(UserId),
            confirmed_at: m.confirmed_at,
        }))
    }
}

impl ReportRepo<'_> {
    /// The newest 確認完了 of each of these facilities that has one (publication in bulk).
    pub async fn last_confirmations(
        &self,
        facilities: &[FacilityId],
    ) -> Result<std::collections::HashMap<FacilityId, Confirmation>, StoreError> {
        let mut out = std::collections::HashMap::new();
        for chunk in facilities.chunks(500) {
            for m in report_confirmation::Entity::find()
                .filter(
                    report_confirmation::Column::FacilityId
                        .is_in(chunk.iter().map(|f| f.0).collect::<Vec<_>>()),
                )
                .order_by_desc(report_confirmation::Column::Id)
                .all(self.conn())
                .await?
            {
                if out.contains_key(&FacilityId(m.facility_id)) {
                    continue;
                }
                out.insert(
                    FacilityId(m.facility_id),
                    Confirmation {
                        id: m.id,
                        report_id: ReportId(m.report_id),
                        facility_id: FacilityId(m.facility_id),
                        item_set: m.item_set,
                        answers: serde_json::from_str(&m.answers).map_err(|e| {
                            corrupt("report_confirmation", "answers", e.to_string())
                        })?,
                        confirmed_by: m.confirmed_by.map(UserId),
                        confirmed_at: m.confirmed_at,
                    },
                );
            }
        }
        Ok(out)
    }
}

fn answers_json(answers: &Answers) -> Result<String, StoreError> {
    serde_json::to_string(answers).map_err(|e| corrupt("report_section", "answers", e.to_string()))
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

impl ReportRepo<'_> {
    /// Reports waiting for review (報告済・再報告済) of facilities in these prefectures, the
    /// longest-waiting first.
    pub async fn awaiting_review(
        &self,
        prefectures: &[teikyo_domain::codes::PrefectureCode],
    ) -> Result<Vec<Report>, StoreError> {
        use sea_orm::sea_query::Query;
        let in_scope = Query::select()
            .column(facility::Column::Id)
            .from(facility::Entity)
            .and_where(
                Expr::col(facility::Column::PrefectureCode)
                    .is_in(prefectures.iter().map(|p| p.to_string())),
            )
            .to_owned();
        report::Entity::find()
            .filter(
                report::Column::Status
                    .is_in([ReportStatus::Submitted.id(), ReportStatus::Resubmitted.id()]),
            )
            .filter(Expr::col(report::Column::FacilityId).in_subquery(in_scope))
            .order_by_asc(report::Column::SubmittedAt)
            .order_by_asc(report::Column::Id)
            .all(self.conn())
            .await?
            .into_iter()
            .map(from_model)
            .collect()
    }
}
