//! 臨時休診一括処理 (issue 7 §4, `teikyo_domain::closure`): a batch is declared in one
//! transaction — the batch, one `temporary_closure` row per facility, the publication job that
//! shows them, and the audit event — so either every facility is closed or none is. Withdrawing
//! works the same way. The job's progress is the batch's progress.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use teikyo_domain::closure::ClosureTarget;
use teikyo_domain::codes::{FacilityKind, MunicipalityCode, PrefectureCode};
use teikyo_domain::opening::Closure;

use crate::account::insert_audit;
use crate::entity::{closure_batch, facility, temporary_closure};
use crate::jobs::{JobId, Jobs, NewJob};
use crate::period::{due_condition, kind_of};
use crate::{AuditEvent, FacilityId, Store, StoreError, UserId};

/// Rows per statement.
const BATCH: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClosureBatchId(pub i64);

impl std::fmt::Display for ClosureBatchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A batch as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosureBatch {
    pub id: ClosureBatchId,
    pub prefecture: PrefectureCode,
    pub closure: Closure,
    pub target: ClosureTarget,
    /// Facilities closed by it.
    pub facilities: u32,
    /// The newest publication job it caused.
    pub job_id: Option<JobId>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub withdrawn_by: Option<UserId>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// A facility a batch reaches (the preview) or reached (its page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedFacility {
    pub id: FacilityId,
    pub kind: FacilityKind,
    pub municipality: MunicipalityCode,
    pub code: Option<String>,
    pub name: String,
    /// Withdrawn on its own (the facility reopened early), or with the batch.
    pub withdrawn: bool,
}

/// What a batch declares, for whom, and who declared it.
#[derive(Debug, Clone)]
pub struct NewClosureBatch {
    pub prefecture: PrefectureCode,
    pub closure: Closure,
    pub target: ClosureTarget,
    pub by: Option<UserId>,
}

pub struct ClosureBatchRepo<'a> {
    store: &'a Store,
}

fn corrupt(column: &'static str, e: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "closure_batch",
        column,
        message: e.to_string(),
    }
}

fn from_model(m: closure_batch::Model) -> Result<ClosureBatch, StoreError> {
    Ok(ClosureBatch {
        id: ClosureBatchId(m.id),
        prefecture: PrefectureCode::parse(&m.prefecture_code)
            .map_err(|e| corrupt("prefecture_code", e))?,
        closure: Closure {
            from: m.from_date,
            to: m.to_date,
            reason: m.reason,
        },
        target: serde_json::from_str(&m.target).map_err(|e| corrupt("target", e))?,
        facilities: u32::try_from(m.facilities).map_err(|e| corrupt("facilities", e))?,
        job_id: m.job_id.map(JobId),
        created_by: m.created_by.map(UserId),
        created_at: m.created_at,
        withdrawn_by: m.withdrawn_by.map(UserId),
        withdrawn_at: m.withdrawn_at,
    })
}

type FacilityRow = (i64, i16, String, Option<String>, String);

fn facility_from_row(row: FacilityRow, withdrawn: bool) -> Result<ClosedFacility, StoreError> {
    let (id, kind, municipality, code, name) = row;
    Ok(ClosedFacility {
        id: FacilityId(id),
        kind: kind_of(kind)?,
        municipality: MunicipalityCode::parse(&municipality).map_err(|e| StoreError::Corrupt {
            table: "facility",
            column: "municipality_code",
            message: e.to_string(),
        })?,
        code,
        name,
        withdrawn,
    })
}

const FACILITY_COLUMNS: [facility::Column; 5] = [
    facility::Column::Id,
    facility::Column::Kind,
    facility::Column::MunicipalityCode,
    facility::Column::FacilityCode,
    facility::Column::NameOfficial,
];

impl<'a> ClosureBatchRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// The facilities a target reaches in `prefecture` (not 廃止 by `day`), limited to `area`
    /// (`None`: the whole prefecture), in municipality and id order.
    pub async fn targets(
        &self,
        prefecture: PrefectureCode,
        target: &ClosureTarget,
        area: Option<&[MunicipalityCode]>,
        day: NaiveDate,
    ) -> Result<Vec<ClosedFacility>, StoreError> {
        let mut q = facility::Entity::find()
            .select_only()
            .columns(FACILITY_COLUMNS)
            .filter(due_condition(prefecture, target.kinds(), day));
        match target {
            ClosureTarget::Area { municipalities, .. } if !municipalities.is_empty() => {
                q = q.filter(
                    facility::Column::MunicipalityCode
                        .is_in(municipalities.iter().map(|m| m.to_string())),
                );
            }
            ClosureTarget::Area { .. } => {}
            ClosureTarget::Codes { codes, .. } => {
                q = q.filter(
                    facility::Column::FacilityCode.is_in(codes.iter().map(|c| c.to_string())),
                );
            }
        }
        if let Some(area) = area {
            q = q.filter(
                facility::Column::MunicipalityCode.is_in(area.iter().map(|m| m.to_string())),
            );
        }
        let rows: Vec<FacilityRow> = q
            .order_by_asc(facility::Column::MunicipalityCode)
            .order_by_asc(facility::Column::Id)
            .into_tuple()
            .all(self.store.conn())
            .await?;
        rows.into_iter()
            .map(|r| facility_from_row(r, false))
            .collect()
    }

    /// Declares the closure for these facilities, with the job that publishes them, audited.
    pub async fn declare(
        &self,
        batch: &NewClosureBatch,
        facilities: &[FacilityId],
        job: &NewJob,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<ClosureBatchId, StoreError> {
        let NewClosureBatch {
            prefecture,
            closure,
            target,
            by,
        } = batch;
        let txn = self.store.begin_write().await?;
        let job_id = Jobs::new(&txn, self.store.backend()).enqueue(job).await?;
        let id = closure_batch::Entity::insert(closure_batch::ActiveModel {
            prefecture_code: Set(prefecture.to_string()),
            from_date: Set(closure.from),
            to_date: Set(closure.to),
            reason: Set(closure.reason.clone()),
            target: Set(serde_json::to_string(target).map_err(|e| corrupt("target", e))?),
            facilities: Set(i32::try_from(facilities.len()).map_err(|e| corrupt("facilities", e))?),
            job_id: Set(Some(job_id.0)),
            created_by: Set(by.map(|u| u.0)),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(&txn)
        .await?
        .last_insert_id;
        for chunk in facilities.chunks(BATCH) {
            temporary_closure::Entity::insert_many(chunk.iter().map(|f| {
                temporary_closure::ActiveModel {
                    facility_id: Set(f.0),
                    from_date: Set(closure.from),
                    to_date: Set(closure.to),
                    reason: Set(closure.reason.clone()),
                    batch_id: Set(Some(id)),
                    declared_by: Set(by.map(|u| u.0)),
                    declared_at: Set(now),
                    ..Default::default()
                }
            }))
            .exec_without_returning(&txn)
            .await?;
        }
        insert_audit(&txn, &audit.clone().on("closure_batch", id), now).await?;
        txn.commit().await?;
        Ok(ClosureBatchId(id))
    }

    /// Withdraws a batch: its closures not withdrawn yet, with the job (made by `job` from the
    /// facilities affected) that publishes them again, audited. `None` when it was already
    /// withdrawn (a second click changes nothing).
    pub async fn withdraw(
        &self,
        id: ClosureBatchId,
        job: impl FnOnce(&[FacilityId]) -> NewJob,
        by: Option<UserId>,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<Option<usize>, StoreError> {
        let txn = self.store.begin_write().await?;
        // Takes the row first, so two withdrawals do not both pass.
        let taken = closure_batch::Entity::update_many()
            .col_expr(closure_batch::Column::WithdrawnAt, Expr::value(Some(now)))
            .col_expr(
                closure_batch::Column::WithdrawnBy,
                Expr::value(by.map(|u| u.0)),
            )
            .filter(closure_batch::Column::Id.eq(id.0))
            .filter(closure_batch::Column::WithdrawnAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if taken == 0 {
            return Ok(None);
        }
        let mut affected: Vec<FacilityId> = temporary_closure::Entity::find()
            .select_only()
            .column(temporary_closure::Column::FacilityId)
            .filter(temporary_closure::Column::BatchId.eq(id.0))
            .filter(temporary_closure::Column::WithdrawnAt.is_null())
            .into_tuple::<i64>()
            .all(&txn)
            .await?
            .into_iter()
            .map(FacilityId)
            .collect();
        affected.sort();
        affected.dedup();
        temporary_closure::Entity::update_many()
            .col_expr(
                temporary_closure::Column::WithdrawnAt,
                Expr::value(Some(now)),
            )
            .col_expr(
                temporary_closure::Column::WithdrawnBy,
                Expr::value(by.map(|u| u.0)),
            )
            .filter(temporary_closure::Column::BatchId.eq(id.0))
            .filter(temporary_closure::Column::WithdrawnAt.is_null())
            .exec(&txn)
            .await?;
        let job_id = Jobs::new(&txn, self.store.backend())
            .enqueue(&job(&affected))
            .await?;
        closure_batch::Entity::update_many()
            .col_expr(closure_batch::Column::JobId, Expr::value(Some(job_id.0)))
            .filter(closure_batch::Column::Id.eq(id.0))
            .exec(&txn)
            .await?;
        insert_audit(&txn, &audit.clone().on("closure_batch", id.0), now).await?;
        txn.commit().await?;
        Ok(Some(affected.len()))
    }

    pub async fn get(&self, id: ClosureBatchId) -> Result<Option<ClosureBatch>, StoreError> {
        closure_batch::Entity::find_by_id(id.0)
            .one(self.store.conn())
            .await?
            .map(from_model)
            .transpose()
    }

    /// The newest batches of these prefectures, newest first.
    pub async fn list(
        &self,
        prefectures: &[PrefectureCode],
        limit: u64,
    ) -> Result<Vec<ClosureBatch>, StoreError> {
        closure_batch::Entity::find()
            .filter(
                closure_batch::Column::PrefectureCode
                    .is_in(prefectures.iter().map(|p| p.to_string())),
            )
            .order_by_desc(closure_batch::Column::Id)
            .limit(limit)
            .all(self.store.conn())
            .await?
            .into_iter()
            .map(from_model)
            .collect()
    }

    /// The facilities a batch closed, limited to `area`, in municipality and id order.
    pub async fn facilities_of(
        &self,
        id: ClosureBatchId,
        area: Option<&[MunicipalityCode]>,
    ) -> Result<Vec<ClosedFacility>, StoreError> {
        let closures: Vec<(i64, Option<DateTime<Utc>>)> = temporary_closure::Entity::find()
            .select_only()
            .columns([
                temporary_closure::Column::FacilityId,
                temporary_closure::Column::WithdrawnAt,
            ])
            .filter(temporary_closure::Column::BatchId.eq(id.0))
            .into_tuple()
            .all(self.store.conn())
            .await?;
        let withdrawn: std::collections::HashMap<i64, bool> =
            closures.iter().map(|(f, w)| (*f, w.is_some())).collect();
        let ids: Vec<i64> = withdrawn.keys().copied().collect();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH) {
            let mut q = facility::Entity::find()
                .select_only()
                .columns(FACILITY_COLUMNS)
                .filter(facility::Column::Id.is_in(chunk.to_vec()));
            if let Some(area) = area {
                q = q.filter(
                    facility::Column::MunicipalityCode.is_in(area.iter().map(|m| m.to_string())),
                );
            }
            for row in q.into_tuple::<FacilityRow>().all(self.store.conn()).await? {
                let w = withdrawn.get(&row.0).copied().unwrap_or(false);
                out.push(facility_from_row(row, w)?);
            }
        }
        out.sort_by_key(|f| (f.municipality, f.id));
        Ok(out)
    }
}
