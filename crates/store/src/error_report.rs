//! 「情報の誤りを報告」 (migration 0016, `teikyo_domain::error_report`): residents' reports that
//! a published facility shows something wrong, kept until the facility or its prefecture marks
//! them 対応済.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use teikyo_domain::codes::{MunicipalityCode, PrefectureCode};

use crate::account::insert_audit;
use crate::entity::{error_report, facility};
use crate::{AuditEvent, FacilityId, Store, StoreError, UserId};

/// A report as stored, with the facility's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    pub id: i64,
    pub facility_id: FacilityId,
    pub facility_name: String,
    /// The published section's id it is about; `None`: その他.
    pub section: Option<String>,
    pub body: String,
    pub contact: Option<String>,
    /// The page's language ("ja", "en").
    pub lang: String,
    pub created_at: DateTime<Utc>,
    pub handled_by: Option<UserId>,
    pub handled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewErrorReport {
    pub facility_id: FacilityId,
    pub section: Option<String>,
    pub body: String,
    pub contact: Option<String>,
    pub lang: String,
}

pub struct ErrorReportRepo<'a> {
    store: &'a Store,
}

impl<'a> ErrorReportRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Stores a report with its audit event.
    pub async fn create(
        &self,
        r: &NewErrorReport,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let txn = self.store.begin_write().await?;
        let id = error_report::Entity::insert(error_report::ActiveModel {
            facility_id: Set(r.facility_id.0),
            section: Set(r.section.clone()),
            body: Set(r.body.clone()),
            contact: Set(r.contact.clone()),
            lang: Set(r.lang.clone()),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(&txn)
        .await?
        .last_insert_id;
        insert_audit(&txn, &audit.clone().on("error_report", id), now).await?;
        txn.commit().await?;
        Ok(id)
    }

    async fn named(
        &self,
        models: Vec<error_report::Model>,
    ) -> Result<Vec<ErrorReport>, StoreError> {
        let mut ids: Vec<i64> = models.iter().map(|m| m.facility_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut names: HashMap<i64, String> = HashMap::new();
        for chunk in ids.chunks(500) {
            let rows: Vec<(i64, String)> = facility::Entity::find()
                .select_only()
                .columns([facility::Column::Id, facility::Column::NameOfficial])
                .filter(facility::Column::Id.is_in(chunk.to_vec()))
                .into_tuple()
                .all(self.store.conn())
                .await?;
            names.extend(rows);
        }
        Ok(models
            .into_iter()
            .map(|m| ErrorReport {
                id: m.id,
                facility_id: FacilityId(m.facility_id),
                facility_name: names.get(&m.facility_id).cloned().unwrap_or_default(),
                section: m.section,
                body: m.body,
                contact: m.contact,
                lang: m.lang,
                created_at: m.created_at,
                handled_by: m.handled_by.map(UserId),
                handled_at: m.handled_at,
            })
            .collect())
    }

    pub async fn get(&self, id: i64) -> Result<Option<ErrorReport>, StoreError> {
        let found = error_report::Entity::find_by_id(id)
            .one(self.store.conn())
            .await?;
        Ok(self.named(found.into_iter().collect()).await?.pop())
    }

    /// A facility's reports, newest first.
    pub async fn of_facility(
        &self,
        facility: FacilityId,
        limit: u64,
    ) -> Result<Vec<ErrorReport>, StoreError> {
        let models = error_report::Entity::find()
            .filter(error_report::Column::FacilityId.eq(facility.0))
            .order_by_desc(error_report::Column::Id)
            .limit(limit)
            .all(self.store.conn())
            .await?;
        self.named(models).await
    }

    /// Reports not marked 対応済, per facility (facilities without any are left out).
    pub async fn open_counts(
        &self,
        facilities: &[FacilityId],
    ) -> Result<HashMap<FacilityId, u64>, StoreError> {
        let mut out = HashMap::new();
        for chunk in facilities.chunks(500) {
            let rows: Vec<(i64, i64)> = error_report::Entity::find()
                .select_only()
                .column(error_report::Column::FacilityId)
                .column_as(error_report::Column::Id.count(), "n")
                .filter(
                    error_report::Column::FacilityId
                        .is_in(chunk.iter().map(|f| f.0).collect::<Vec<_>>()),
                )
                .filter(error_report::Column::HandledAt.is_null())
                .group_by(error_report::Column::FacilityId)
                .into_tuple()
                .all(self.store.conn())
                .await?;
            out.extend(
                rows.into_iter()
                    .map(|(f, n)| (FacilityId(f), u64::try_from(n).unwrap_or(0))),
            );
        }
        Ok(out)
    }

    /// The reports about facilities of a prefecture (within `area` when given), newest first;
    /// only those not 対応済 when `open_only`. Also the number of open ones.
    pub async fn in_prefecture(
        &self,
        prefecture: PrefectureCode,
        area: Option<&[MunicipalityCode]>,
        open_only: bool,
        limit: u64,
    ) -> Result<(Vec<ErrorReport>, u64), StoreError> {
        let mut facilities = Query::select();
        facilities
            .column((facility::Entity, facility::Column::Id))
            .from(facility::Entity)
            .and_where(
                Expr::col((facility::Entity, facility::Column::PrefectureCode))
                    .eq(prefecture.to_string()),
            );
        if let Some(area) = area {
            facilities.and_where(
                Expr::col((facility::Entity, facility::Column::MunicipalityCode))
                    .is_in(area.iter().map(|m| m.to_string())),
            );
        }
        let open = error_report::Entity::find()
            .filter(error_report::Column::FacilityId.in_subquery(facilities.clone()))
            .filter(error_report::Column::HandledAt.is_null())
            .count(self.store.conn())
            .await?;
        let mut q = error_report::Entity::find()
            .filter(error_report::Column::FacilityId.in_subquery(facilities));
        if open_only {
            q = q.filter(error_report::Column::HandledAt.is_null());
        }
        let models = q
            .order_by_desc(error_report::Column::Id)
            .limit(limit)
            .all(self.store.conn())
            .await?;
        Ok((self.named(models).await?, open))
    }

    /// Marks a report 対応済, audited; `false` when it already was.
    pub async fn mark_handled(
        &self,
        id: i64,
        by: Option<UserId>,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.store.begin_write().await?;
        let n = error_report::Entity::update_many()
            .col_expr(error_report::Column::HandledAt, Expr::value(Some(now)))
            .col_expr(
                error_report::Column::HandledBy,
                Expr::value(by.map(|u| u.0)),
            )
            .filter(error_report::Column::Id.eq(id))
            .filter(error_report::Column::HandledAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if n == 0 {
            return Ok(false);
        }
        insert_audit(&txn, &audit.clone().on("error_report", id), now).await?;
        txn.commit().await?;
        Ok(true)
    }
}
