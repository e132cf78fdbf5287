//! The insurance-code master and the NDB preprint counts (DOMAIN §4.3): loaded from files by
//! `teikyo import insurance-master` / `ndb-preprint` in one transaction each (all or nothing,
//! with its audit event), and read by the 保険医療機関番号確認 when a 定期報告 starts.
//!
//! The master is kept as snapshots — every code of a prefecture as of a day — because the 厚生局
//! publish their lists per region and month: a code is valid on a day if the newest snapshot of
//! its prefecture on or before that day lists it. Loading a snapshot again replaces it.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use teikyo_domain::ndb::{InsuranceCodeCheck, MasterEntry, PreprintCount};
use teikyo_domain::report::ReportKind;
use teikyo_domain::{FacilityKind, InsuranceCode, PrefectureCode};

use crate::account::insert_audit;
use crate::entity::{insurance_master, ndb_preprint, report};
use crate::{AuditEvent, FacilityId, Store, StoreError};

/// Bound parameters per INSERT: under SQLite's 32,766 and PostgreSQL's 65,535.
const PARAMS_PER_STATEMENT: usize = 30_000;

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterImport {
    pub inserted: usize,
    /// Rows of the same day and prefectures that the import replaced.
    pub replaced: u64,
    pub prefectures: Vec<PrefectureCode>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreprintImport {
    pub inserted: usize,
    /// Rows of the same 年度 that the import replaced.
    pub replaced: u64,
}

/// A master row with the day of its snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterRecord {
    pub entry: MasterEntry,
    pub as_of: NaiveDate,
}

/// What the master says about a code on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterLookup {
    /// Listed in the snapshot in force on the day.
    Listed(MasterRecord),
    /// The snapshot in force (of this day) does not list it.
    NotListed { snapshot: NaiveDate },
    /// No snapshot of the code's prefecture on or before the day.
    NoMaster,
}

pub struct InsuranceRepo<'a> {
    store: &'a Store,
}

fn corrupt(table: &'static str, column: &'static str, message: String) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        message,
    }
}

fn record(m: insurance_master::Model) -> Result<MasterRecord, StoreError> {
    let code = InsuranceCode::parse(&m.code)
        .map_err(|e| corrupt("insurance_master", "code", e.to_string()))?;
    let kind = m
        .facility_kind
        .map(|k| {
            u8::try_from(k)
                .ok()
                .and_then(FacilityKind::from_code)
                .ok_or_else(|| corrupt("insurance_master", "facility_kind", k.to_string()))
        })
        .transpose()?;
    Ok(MasterRecord {
        entry: MasterEntry {
            code,
            name: m.name,
            address: m.address,
            kind,
        },
        as_of: m.as_of,
    })
}

impl<'a> InsuranceRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Stores `entries` as the snapshot of `as_of` of every prefecture they cover, replacing
    /// those prefectures' rows of that day, in one transaction with `audit`. `progress` gets
    /// the number of rows written after each statement.
    pub async fn import_master(
        &self,
        as_of: NaiveDate,
        entries: &[MasterEntry],
        audit: AuditEvent,
        now: DateTime<Utc>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<MasterImport, StoreError> {
        let prefectures: BTreeSet<PrefectureCode> =
            entries.iter().map(|e| e.code.prefecture()).collect();
        let txn = self.store.begin_write().await?;
        let replaced = insurance_master::Entity::delete_many()
            .filter(insurance_master::Column::AsOf.eq(as_of))
            .filter(
                insurance_master::Column::PrefectureCode
                    .is_in(prefectures.iter().map(|p| p.to_string())),
            )
            .exec(&txn)
            .await?
            .rows_affected;
        let mut written = 0;
        for chunk in entries.chunks(PARAMS_PER_STATEMENT / 9) {
            let rows = chunk.iter().map(|e| insurance_master::ActiveModel {
                code: Set(e.code.as_str().to_owned()),
                as_of: Set(as_of),
                prefecture_code: Set(e.code.prefecture().to_string()),
                fee_schedule: Set(i16::from(e.code.fee_schedule().digit())),
                facility_kind: Set(e.kind.map(|k| i16::from(k.code()))),
                name: Set(e.name.clone()),
                address: Set(e.address.clone()),
                check_rule: Set(e.code.rule().id().to_owned()),
                imported_at: Set(now),
            });
            insurance_master::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await
                .map_err(|e| crate::facility::duplicate_or(e, "insurance_master"))?;
            written += chunk.len();
            progress(written);
        }
        insert_audit(&txn, &audit, now).await?;
        txn.commit().await?;
        Ok(MasterImport {
            inserted: entries.len(),
            replaced,
            prefectures: prefectures.into_iter().collect(),
        })
    }

    /// Stores `rows` as the counts of `fiscal_year` (the 年度 they cover), replacing that
    /// 年度's, in one transaction with `audit`.
    pub async fn import_preprint(
        &self,
        fiscal_year: u16,
        rows: &[PreprintCount],
        audit: AuditEvent,
        now: DateTime<Utc>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<PreprintImport, StoreError> {
        let year = i32::from(fiscal_year);
        let txn = self.store.begin_write().await?;
        let replaced = ndb_preprint::Entity::delete_many()
            .filter(ndb_preprint::Column::FiscalYear.eq(year))
            .exec(&txn)
            .await?
            .rows_affected;
        let mut written = 0;
        for chunk in rows.chunks(PARAMS_PER_STATEMENT / 4) {
            let models = chunk.iter().map(|r| ndb_preprint::ActiveModel {
                fiscal_year: Set(year),
                code: Set(r.code.as_str().to_owned()),
                item_code: Set(r.item.clone()),
                count: Set(i32::try_from(r.count).unwrap_or(i32::MAX)),
            });
            ndb_preprint::Entity::insert_many(models)
                .exec_without_returning(&txn)
                .await
                .map_err(|e| crate::facility::duplicate_or(e, "ndb_preprint"))?;
            written += chunk.len();
            progress(written);
        }
        insert_audit(&txn, &audit, now).await?;
        txn.commit().await?;
        Ok(PreprintImport {
            inserted: rows.len(),
            replaced,
        })
    }

    /// The master's word on `code` on `day` (for a 定期報告: `ndb::master_date` of its 年度).
    pub async fn lookup(
        &self,
        code: &InsuranceCode,
        day: NaiveDate,
    ) -> Result<MasterLookup, StoreError> {
        let snapshot: Option<Option<NaiveDate>> = insurance_master::Entity::find()
            .select_only()
            .column_as(insurance_master::Column::AsOf.max(), "as_of")
            .filter(insurance_master::Column::PrefectureCode.eq(code.prefecture().to_string()))
            .filter(insurance_master::Column::AsOf.lte(day))
            .into_tuple()
            .one(self.store.conn())
            .await?;
        let Some(snapshot) = snapshot.flatten() else {
            return Ok(MasterLookup::NoMaster);
        };
        let found = insurance_master::Entity::find()
            .filter(insurance_master::Column::Code.eq(code.as_str()))
            .filter(insurance_master::Column::AsOf.eq(snapshot))
            .one(self.store.conn())
            .await?;
        Ok(match found {
            Some(m) => MasterLookup::Listed(record(m)?),
            None => MasterLookup::NotListed { snapshot },
        })
    }

    /// The counts of `fiscal_year` (the 年度 they cover) for these codes, by code and item.
    pub async fn preprint(
        &self,
        fiscal_year: u16,
        codes: &[InsuranceCode],
    ) -> Result<Vec<PreprintCount>, StoreError> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        ndb_preprint::Entity::find()
            .filter(ndb_preprint::Column::FiscalYear.eq(i32::from(fiscal_year)))
            .filter(ndb_preprint::Column::Code.is_in(codes.iter().map(|c| c.as_str().to_owned())))
            .order_by_asc(ndb_preprint::Column::Code)
            .order_by_asc(ndb_preprint::Column::ItemCode)
            .all(self.store.conn())
            .await?
            .into_iter()
            .map(|m| {
                Ok(PreprintCount {
                    code: InsuranceCode::parse(&m.code)
                        .map_err(|e| corrupt("ndb_preprint", "code", e.to_string()))?,
                    item: m.item_code,
                    count: u32::try_from(m.count)
                        .map_err(|e| corrupt("ndb_preprint", "count", e.to_string()))?,
                })
            })
            .collect()
    }

    /// Whether the facility's latest 定期報告 before `fiscal_year` was started with
    /// 「スキップする」: then its next one starts without asking (S0 Q16). Read from the reports
    /// rather than kept as a flag, so that 取消 of the skipped report — the seed's way back to
    /// the preprint — also forgets the choice.
    pub async fn skipped_before(
        &self,
        facility: FacilityId,
        fiscal_year: u16,
    ) -> Result<bool, StoreError> {
        let last: Option<Option<String>> = report::Entity::find()
            .select_only()
            .column(report::Column::InsuranceCheck)
            .filter(report::Column::FacilityId.eq(facility.0))
            .filter(report::Column::Kind.eq(ReportKind::Periodic.id()))
            .filter(report::Column::FiscalYear.lt(i32::from(fiscal_year)))
            .order_by_desc(report::Column::FiscalYear)
            .limit(1)
            .into_tuple()
            .one(self.store.conn())
            .await?;
        Ok(last
            .flatten()
            .and_then(|s| InsuranceCodeCheck::parse_stored(&s))
            .is_some_and(|c| c.is_skipped()))
    }

    /// Number of master rows per snapshot day, newest first (for the import's summary).
    pub async fn snapshots(&self) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        Ok(insurance_master::Entity::find()
            .select_only()
            .column(insurance_master::Column::AsOf)
            .column_as(insurance_master::Column::Code.count(), "n")
            .group_by(insurance_master::Column::AsOf)
            .order_by_desc(insurance_master::Column::AsOf)
            .into_tuple()
            .all(self.store.conn())
            .await?)
    }
}
