//! The publication sequence and 臨時休診 (issue 7, DESIGN principle 4). Public paths read only
//! what is written here: an append-only log of published documents and tombstones, numbered by
//! `seq`, and per facility whether it is shown now and why not.
//!
//! Writes go through [`PublicationRepo::apply`], which keeps one invariant: while a facility is
//! shown, its newest log row is its current document (so the document is stored once).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use teikyo_domain::opening::Closure;
use teikyo_domain::publication::{HiddenReason, PublishedDocument};
use teikyo_domain::{FacilityKind, PrefectureCode};

use crate::account::insert_audit;
use crate::entity::{facility, facility_publication, publication, temporary_closure};
use crate::jobs::{Jobs, NewJob};
use crate::{AuditEvent, Backend, FacilityId, Store, StoreError, UserId};

/// Rows per statement when many facilities are applied at once.
const BATCH: usize = 500;

/// An arbitrary, fixed key for the PostgreSQL advisory lock that serialises appends, so that
/// `seq` order is commit order and a reader that has seen `seq` never misses a smaller one.
const APPEND_LOCK: i64 = 0x7465_696b_796f_0001;

/// One row of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicationRow {
    pub seq: i64,
    pub facility_id: FacilityId,
    /// `None`: a tombstone.
    pub document: Option<PublishedDocument>,
    /// A tombstone's reasons (HiddenReason codes, comma separated).
    pub reason: Option<String>,
    pub published_at: DateTime<Utc>,
}

/// What the public side does with a facility now.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicationState {
    pub facility_id: FacilityId,
    /// The newest document built from its last 確認完了, shown or not (numbers round-trip
    /// exactly: serde_json's `float_roundtrip`, else a re-evaluation would see a change).
    pub document: PublishedDocument,
    pub hidden: Vec<HiddenReason>,
    pub last_seq: Option<i64>,
    pub evaluated_on: NaiveDate,
    pub next_change: Option<NaiveDate>,
}

impl PublicationState {
    pub fn visible(&self) -> bool {
        self.hidden.is_empty()
    }
}

/// A facility evaluated against the rules: its document (with its 臨時休診) and the reasons it
/// is hidden (none: shown).
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub facility: FacilityId,
    pub document: PublishedDocument,
    pub hidden: Vec<HiddenReason>,
    pub evaluated_on: NaiveDate,
    pub next_change: Option<NaiveDate>,
}

/// What [`PublicationRepo::apply`] did for one facility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Published {
        seq: i64,
    },
    Withdrawn {
        seq: i64,
    },
    /// Shown as before, or hidden as before: no log row.
    Unchanged,
}

/// A stored 臨時休診.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredClosure {
    pub id: i64,
    pub facility_id: FacilityId,
    pub closure: Closure,
    pub batch_id: Option<i64>,
    pub declared_by: Option<UserId>,
    pub declared_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewClosure {
    pub facility_id: FacilityId,
    pub closure: Closure,
    pub batch_id: Option<i64>,
    pub by: Option<UserId>,
}

pub struct PublicationRepo<'a> {
    store: &'a Store,
}

fn corrupt(table: &'static str, column: &'static str, e: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        message: e.to_string(),
    }
}

fn document_json(doc: &PublishedDocument) -> Result<String, StoreError> {
    serde_json::to_string(doc).map_err(|e| corrupt("publication", "document", e))
}

fn parse_document(table: &'static str, json: &str) -> Result<PublishedDocument, StoreError> {
    serde_json::from_str(json).map_err(|e| corrupt(table, "document", e))
}

fn row_from_model(m: publication::Model) -> Result<PublicationRow, StoreError> {
    Ok(PublicationRow {
        seq: m.seq,
        facility_id: FacilityId(m.facility_id),
        document: m
            .document
            .as_deref()
            .map(|j| parse_document("publication", j))
            .transpose()?,
        reason: m.reason,
        published_at: m.published_at,
    })
}

fn closure_from_model(m: temporary_closure::Model) -> StoredClosure {
    StoredClosure {
        id: m.id,
        facility_id: FacilityId(m.facility_id),
        closure: Closure {
            from: m.from_date,
            to: m.to_date,
            reason: m.reason,
        },
        batch_id: m.batch_id,
        declared_by: m.declared_by.map(UserId),
        declared_at: m.declared_at,
        withdrawn_at: m.withdrawn_at,
    }
}

impl<'a> PublicationRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// The newest `seq` (0 when nothing was ever published).
    pub async fn head(&self) -> Result<i64, StoreError> {
        let last = publication::Entity::find()
            .select_only()
            .column_as(publication::Column::Seq.max(), "max")
            .into_tuple::<Option<i64>>()
            .one(self.store.conn())
            .await?;
        Ok(last.flatten().unwrap_or(0))
    }

    /// Log rows after `seq`, oldest first, at most `limit`: how an index or a mirror catches up.
    pub async fn since(&self, seq: i64, limit: u64) -> Result<Vec<PublicationRow>, StoreError> {
        publication::Entity::find()
            .filter(publication::Column::Seq.gt(seq))
            .order_by_asc(publication::Column::Seq)
            .limit(limit)
            .all(self.store.conn())
            .await?
            .into_iter()
            .map(row_from_model)
            .collect()
    }

    /// What residents see of a facility: its current document, if it is shown.
    pub async fn published(
        &self,
        facility: FacilityId,
    ) -> Result<Option<PublishedDocument>, StoreError> {
        let Some(state) = facility_publication::Entity::find_by_id(facility.0)
            .one(self.store.conn())
            .await?
        else {
            return Ok(None);
        };
        if !state.visible {
            return Ok(None);
        }
        let Some(seq) = state.last_seq else {
            return Ok(None);
        };
        let row = publication::Entity::find_by_id(seq)
            .one(self.store.conn())
            .await?;
        row.and_then(|r| r.document)
            .map(|j| parse_document("publication", &j))
            .transpose()
    }

    /// The states of these facilities (those evaluated at least once).
    pub async fn states(
        &self,
        facilities: &[FacilityId],
    ) -> Result<HashMap<FacilityId, PublicationState>, StoreError> {
        let mut out = HashMap::new();
        for chunk in facilities.chunks(BATCH) {
            let ids: Vec<i64> = chunk.iter().map(|f| f.0).collect();
            let states = facility_publication::Entity::find()
                .filter(facility_publication::Column::FacilityId.is_in(ids))
                .all(self.store.conn())
                .await?;
            let shown: Vec<i64> = states
                .iter()
                .filter(|s| s.document.is_none())
                .filter_map(|s| s.last_seq)
                .collect();
            let mut documents: HashMap<i64, String> = HashMap::new();
            if !shown.is_empty() {
                for r in publication::Entity::find()
                    .filter(publication::Column::Seq.is_in(shown))
                    .all(self.store.conn())
                    .await?
                {
                    if let Some(d) = r.document {
                        documents.insert(r.seq, d);
                    }
                }
            }
            for s in states {
                let json = match (&s.document, s.last_seq) {
                    (Some(d), _) => d.clone(),
                    (None, Some(seq)) => documents.remove(&seq).ok_or_else(|| {
                        corrupt("facility_publication", "last_seq", "no document row")
                    })?,
                    (None, None) => {
                        return Err(corrupt(
                            "facility_publication",
                            "document",
                            "neither a document nor a row",
                        ));
                    }
                };
                let hidden: Vec<HiddenReason> = serde_json::from_str(&s.hidden_reasons)
                    .map_err(|e| corrupt("facility_publication", "hidden_reasons", e))?;
                out.insert(
                    FacilityId(s.facility_id),
                    PublicationState {
                        facility_id: FacilityId(s.facility_id),
                        document: parse_document("facility_publication", &json)?,
                        hidden,
                        last_seq: s.last_seq,
                        evaluated_on: s.evaluated_on,
                        next_change: s.next_change,
                    },
                );
            }
        }
        Ok(out)
    }

    pub async fn state(
        &self,
        facility: FacilityId,
    ) -> Result<Option<PublicationState>, StoreError> {
        Ok(self.states(&[facility]).await?.remove(&facility))
    }

    /// The documents residents see of one prefecture's facilities of one kind with a 機関コード
    /// after `after`, in 機関コード order (so in the open data's `ID` order), at most `limit`: how
    /// the open-data export reads, a page at a time, through the public-ID index.
    ///
    /// `T` is what the caller reads of each document: `PublishedDocument`, or a view of it
    /// that skips what it does not need (the export reads one section of nine).
    pub async fn shown_by_code<T: serde::de::DeserializeOwned>(
        &self,
        prefecture: PrefectureCode,
        kind: FacilityKind,
        after: &str,
        limit: u64,
    ) -> Result<Vec<T>, StoreError> {
        use sea_orm::sea_query::{ExprTrait, Order, Query};
        let q = Query::select()
            .column((publication::Entity, publication::Column::Document))
            .from(facility::Entity)
            .inner_join(
                facility_publication::Entity,
                Expr::col((
                    facility_publication::Entity,
                    facility_publication::Column::FacilityId,
                ))
                .equals((facility::Entity, facility::Column::Id)),
            )
            .inner_join(
                publication::Entity,
                Expr::col((publication::Entity, publication::Column::Seq)).equals((
                    facility_publication::Entity,
                    facility_publication::Column::LastSeq,
                )),
            )
            .and_where(
                Expr::col((facility::Entity, facility::Column::PrefectureCode))
                    .eq(prefecture.to_string()),
            )
            .and_where(
                Expr::col((facility::Entity, facility::Column::Kind)).eq(i16::from(kind.code())),
            )
            .and_where(Expr::col((facility::Entity, facility::Column::FacilityCode)).gt(after))
            .and_where(
                Expr::col((
                    facility_publication::Entity,
                    facility_publication::Column::Visible,
                ))
                .eq(true),
            )
            .order_by(
                (facility::Entity, facility::Column::FacilityCode),
                Order::Asc,
            )
            .limit(limit)
            .to_owned();
        let conn = self.store.conn();
        let stmt = conn.get_database_backend().build(&q);
        conn.query_all_raw(stmt)
            .await?
            .into_iter()
            .map(|r| {
                let json: Option<String> = r.try_get("", "document")?;
                let json = json.ok_or_else(|| corrupt("publication", "document", "tombstone"))?;
                serde_json::from_str(&json).map_err(|e| corrupt("publication", "document", e))
            })
            .collect()
    }

    /// Facilities shown now without a 機関コード (the open data cannot name them).
    pub async fn shown_without_code(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        use sea_orm::sea_query::ExprTrait;
        let ids = sea_orm::sea_query::Query::select()
            .column(facility::Column::Id)
            .from(facility::Entity)
            .and_where(Expr::col(facility::Column::FacilityCode).is_null())
            .to_owned();
        Ok(facility_publication::Entity::find()
            .filter(facility_publication::Column::Visible.eq(true))
            .filter(facility_publication::Column::FacilityId.in_subquery(ids))
            .count(self.store.conn())
            .await?)
    }

    /// Facilities whose next date change has come by `today` (the daily re-evaluation).
    pub async fn due(&self, today: NaiveDate) -> Result<Vec<FacilityId>, StoreError> {
        Ok(facility_publication::Entity::find()
            .select_only()
            .column(facility_publication::Column::FacilityId)
            .filter(facility_publication::Column::NextChange.lte(today))
            .order_by_asc(facility_publication::Column::FacilityId)
            .into_tuple::<i64>()
            .all(self.store.conn())
            .await?
            .into_iter()
            .map(FacilityId)
            .collect())
    }

    /// Stores the evaluations and appends what changed for residents: a document when a
    /// facility is shown with a new document (or shown again), a tombstone when a shown one is
    /// hidden. One transaction; appends are serialised so `seq` order is commit order.
    pub async fn apply(
        &self,
        evaluations: &[Evaluation],
        now: DateTime<Utc>,
    ) -> Result<Vec<Applied>, StoreError> {
        let txn = self.store.begin_write().await?;
        if self.store.backend() == Backend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [APPEND_LOCK.into()],
            ))
            .await?;
        }
        let mut out = Vec::with_capacity(evaluations.len());
        for chunk in evaluations.chunks(BATCH) {
            out.extend(apply_chunk(&txn, chunk, now).await?);
        }
        txn.commit().await?;
        Ok(out)
    }

    /// Declares a 臨時休診, audited, with `jobs` (the publication that shows it) in the same
    /// transaction. The caller may also publish the facility right away.
    pub async fn declare_closures(
        &self,
        closures: &[NewClosure],
        jobs: &[NewJob],
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        let txn = self.store.begin_write().await?;
        Jobs::new(&txn, self.store.backend())
            .enqueue_many(jobs)
            .await?;
        let mut ids = Vec::with_capacity(closures.len());
        for c in closures {
            let id = temporary_closure::Entity::insert(temporary_closure::ActiveModel {
                facility_id: Set(c.facility_id.0),
                from_date: Set(c.closure.from),
                to_date: Set(c.closure.to),
                reason: Set(c.closure.reason.clone()),
                batch_id: Set(c.batch_id),
                declared_by: Set(c.by.map(|u| u.0)),
                declared_at: Set(now),
                ..Default::default()
            })
            .exec(&txn)
            .await?
            .last_insert_id;
            ids.push(id);
        }
        insert_audit(&txn, audit, now).await?;
        txn.commit().await?;
        Ok(ids)
    }

    /// Withdraws 臨時休診 (those not withdrawn yet), audited, with `jobs` in the same
    /// transaction; returns the facilities affected.
    pub async fn withdraw_closures(
        &self,
        ids: &[i64],
        jobs: &[NewJob],
        by: Option<UserId>,
        audit: &AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<Vec<FacilityId>, StoreError> {
        let txn = self.store.begin_write().await?;
        Jobs::new(&txn, self.store.backend())
            .enqueue_many(jobs)
            .await?;
        let mut facilities = Vec::new();
        for chunk in ids.chunks(BATCH) {
            let affected = temporary_closure::Entity::find()
                .filter(temporary_closure::Column::Id.is_in(chunk.to_vec()))
                .filter(temporary_closure::Column::WithdrawnAt.is_null())
                .all(&txn)
                .await?;
            temporary_closure::Entity::update_many()
                .col_expr(
                    temporary_closure::Column::WithdrawnAt,
                    Expr::value(Some(now)),
                )
                .col_expr(
                    temporary_closure::Column::WithdrawnBy,
                    Expr::value(by.map(|u| u.0)),
                )
                .filter(temporary_closure::Column::Id.is_in(chunk.to_vec()))
                .filter(temporary_closure::Column::WithdrawnAt.is_null())
                .exec(&txn)
                .await?;
            facilities.extend(affected.into_iter().map(|m| FacilityId(m.facility_id)));
        }
        facilities.sort();
        facilities.dedup();
        insert_audit(&txn, audit, now).await?;
        txn.commit().await?;
        Ok(facilities)
    }

    /// The 臨時休診 of these facilities that are not withdrawn and not over by `today`, by
    /// facility, earliest first.
    pub async fn current_closures(
        &self,
        facilities: &[FacilityId],
        today: NaiveDate,
    ) -> Result<HashMap<FacilityId, Vec<StoredClosure>>, StoreError> {
        let mut out: HashMap<FacilityId, Vec<StoredClosure>> = HashMap::new();
        for chunk in facilities.chunks(BATCH) {
            for m in temporary_closure::Entity::find()
                .filter(
                    temporary_closure::Column::FacilityId
                        .is_in(chunk.iter().map(|f| f.0).collect::<Vec<_>>()),
                )
                .filter(temporary_closure::Column::WithdrawnAt.is_null())
                .filter(temporary_closure::Column::ToDate.gte(today))
                .order_by_asc(temporary_closure::Column::FromDate)
                .order_by_asc(temporary_closure::Column::Id)
                .all(self.store.conn())
                .await?
            {
                let c = closure_from_model(m);
                out.entry(c.facility_id).or_default().push(c);
            }
        }
        Ok(out)
    }

    /// Every 臨時休診 of a facility, newest first (its own page lists and withdraws them).
    pub async fn closures_of(
        &self,
        facility: FacilityId,
    ) -> Result<Vec<StoredClosure>, StoreError> {
        Ok(temporary_closure::Entity::find()
            .filter(temporary_closure::Column::FacilityId.eq(facility.0))
            .order_by_desc(temporary_closure::Column::FromDate)
            .order_by_desc(temporary_closure::Column::Id)
            .all(self.store.conn())
            .await?
            .into_iter()
            .map(closure_from_model)
            .collect())
    }
}

async fn apply_chunk(
    txn: &DatabaseTransaction,
    chunk: &[Evaluation],
    now: DateTime<Utc>,
) -> Result<Vec<Applied>, StoreError> {
    let ids: Vec<i64> = chunk.iter().map(|e| e.facility.0).collect();
    let before: HashMap<i64, facility_publication::Model> = facility_publication::Entity::find()
        .filter(facility_publication::Column::FacilityId.is_in(ids))
        .all(txn)
        .await?
        .into_iter()
        .map(|m| (m.facility_id, m))
        .collect();
    let shown_seqs: Vec<i64> = before
        .values()
        .filter(|m| m.visible)
        .filter_map(|m| m.last_seq)
        .collect();
    let mut shown_docs: HashMap<i64, String> = HashMap::new();
    if !shown_seqs.is_empty() {
        for r in publication::Entity::find()
            .filter(publication::Column::Seq.is_in(shown_seqs))
            .all(txn)
            .await?
        {
            if let Some(d) = r.document {
                shown_docs.insert(r.seq, d);
            }
        }
    }
    // What each evaluation appends: a document, a tombstone, or nothing.
    enum Step {
        Append {
            document: Option<String>,
            reason: Option<String>,
        },
        Keep(Option<i64>),
    }
    let mut steps = Vec::with_capacity(chunk.len());
    let mut documents = Vec::with_capacity(chunk.len());
    for e in chunk {
        let json = document_json(&e.document)?;
        let prev = before.get(&e.facility.0);
        let was_shown_doc = prev
            .filter(|p| p.visible)
            .and_then(|p| p.last_seq)
            .and_then(|seq| shown_docs.get(&seq));
        // A hidden facility keeps its newest document in its state, for when it is shown again.
        let (step, kept) = match (e.hidden.is_empty(), was_shown_doc) {
            (true, Some(old)) if *old == json => (Step::Keep(prev.and_then(|p| p.last_seq)), None),
            (true, _) => (
                Step::Append {
                    document: Some(json),
                    reason: None,
                },
                None,
            ),
            (false, Some(_)) => (
                Step::Append {
                    document: None,
                    reason: Some(
                        e.hidden
                            .iter()
                            .map(HiddenReason::code)
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                },
                Some(json),
            ),
            (false, None) => (Step::Keep(prev.and_then(|p| p.last_seq)), Some(json)),
        };
        steps.push(step);
        documents.push(kept);
    }
    // When every facility is in the chunk once, its appends go in one statement and its states
    // in one upsert (a statement per row made publishing 245,000 facilities take a minute);
    // otherwise row by row, since one statement cannot update the same row twice.
    let unique = {
        let mut ids: Vec<i64> = chunk.iter().map(|e| e.facility.0).collect();
        ids.sort_unstable();
        ids.windows(2).all(|w| w[0] != w[1])
    };
    let mut seqs: HashMap<i64, i64> = HashMap::new();
    if unique {
        let appends: Vec<(i64, Option<String>, Option<String>)> = chunk
            .iter()
            .zip(&mut steps)
            .filter_map(|(e, s)| match s {
                Step::Append { document, reason } => {
                    Some((e.facility.0, document.take(), reason.take()))
                }
                Step::Keep(_) => None,
            })
            .collect();
        if !appends.is_empty() {
            seqs = append_many(txn, appends, now).await?;
        }
    }
    let mut out = Vec::with_capacity(chunk.len());
    let mut models = Vec::with_capacity(chunk.len());
    for ((e, step), document) in chunk.iter().zip(steps).zip(documents) {
        let visible = e.hidden.is_empty();
        let (applied, last_seq) = match step {
            Step::Keep(last) => (Applied::Unchanged, last),
            Step::Append { document, reason } => {
                let seq = if unique {
                    seqs.get(&e.facility.0).copied().ok_or_else(|| {
                        corrupt("publication", "seq", "an appended row without a seq")
                    })?
                } else {
                    append(txn, e.facility, document, reason, now).await?
                };
                if visible {
                    (Applied::Published { seq }, Some(seq))
                } else {
                    (Applied::Withdrawn { seq }, Some(seq))
                }
            }
        };
        let hidden = serde_json::to_string(&e.hidden)
            .map_err(|err| corrupt("facility_publication", "hidden_reasons", err))?;
        models.push(facility_publication::ActiveModel {
            facility_id: Set(e.facility.0),
            document: Set(document),
            visible: Set(visible),
            hidden_reasons: Set(hidden),
            last_seq: Set(last_seq),
            evaluated_on: Set(e.evaluated_on),
            next_change: Set(e.next_change),
        });
        out.push(applied);
    }
    let on_conflict =
        sea_orm::sea_query::OnConflict::column(facility_publication::Column::FacilityId)
            .update_columns([
                facility_publication::Column::Document,
                facility_publication::Column::Visible,
                facility_publication::Column::HiddenReasons,
                facility_publication::Column::LastSeq,
                facility_publication::Column::EvaluatedOn,
                facility_publication::Column::NextChange,
            ])
            .to_owned();
    if unique {
        if !models.is_empty() {
            facility_publication::Entity::insert_many(models)
                .on_conflict(on_conflict)
                .exec_without_returning(txn)
                .await?;
        }
    } else {
        for model in models {
            facility_publication::Entity::insert(model)
                .on_conflict(on_conflict.clone())
                .exec_without_returning(txn)
                .await?;
        }
    }
    Ok(out)
}

/// Appends rows for distinct facilities in one statement; their seqs by facility.
async fn append_many(
    txn: &DatabaseTransaction,
    rows: Vec<(i64, Option<String>, Option<String>)>,
    now: DateTime<Utc>,
) -> Result<HashMap<i64, i64>, StoreError> {
    use sea_orm::sea_query::Query;
    let mut insert = Query::insert();
    insert.into_table(publication::Entity).columns([
        publication::Column::FacilityId,
        publication::Column::Document,
        publication::Column::Reason,
        publication::Column::PublishedAt,
    ]);
    for (facility, document, reason) in rows {
        insert
            .values([
                Expr::val(facility),
                Expr::val(document),
                Expr::val(reason),
                Expr::val(now),
            ])
            .map_err(|e| corrupt("publication", "document", e))?;
    }
    insert.returning(
        Query::returning().columns([publication::Column::Seq, publication::Column::FacilityId]),
    );
    let stmt = txn.get_database_backend().build(&insert);
    let mut seqs = HashMap::new();
    for r in txn.query_all_raw(stmt).await? {
        let seq: i64 = r.try_get("", "seq")?;
        let facility: i64 = r.try_get("", "facility_id")?;
        seqs.insert(facility, seq);
    }
    Ok(seqs)
}

async fn append(
    txn: &DatabaseTransaction,
    facility: FacilityId,
    document: Option<String>,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    Ok(publication::Entity::insert(publication::ActiveModel {
        facility_id: Set(facility.0),
        document: Set(document),
        reason: Set(reason),
        published_at: Set(now),
        ..Default::default()
    })
    .exec(txn)
    .await?
    .last_insert_id)
}
