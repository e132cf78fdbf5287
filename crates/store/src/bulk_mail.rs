//! 一括メール配信 (`teikyo_domain::bulk_mail`): a send is composed as a draft (作成中), started by
//! fixing its recipients (送信中), worked through by a job that creates the recipients' mails in
//! batches, and ends 完了 — or 中止 when staff stop it, which also stops its mails that the mail
//! server has not taken yet.
//!
//! Exactly once per recipient: each batch runs in one transaction that first takes the send's
//! row (an UPDATE that only a 送信中 send passes; PostgreSQL makes a second worker wait on the
//! row, SQLite's write transaction is exclusive), then creates the mails of the recipients after
//! `done_through` and moves it on. A retried or doubled job finds the recipients done.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use teikyo_domain::bulk_mail::{BulkMailStatus, RecipientFilter, ReportProgress};
use teikyo_domain::codes::{FacilityKind, MunicipalityCode, PrefectureCode};
use teikyo_domain::report::{ReportKind, ReportStatus};

use crate::account::insert_audit;
use crate::entity::{bulk_mail, bulk_mail_recipient, facility, mail, report};
use crate::jobs::{Jobs, NewJob};
use crate::period::{due_facilities, facility_addresses, kind_of};
use crate::{AuditEvent, FacilityId, MailId, MailStatus, Store, StoreError, Tx, UserId};

/// What the mails of a send carry as `related` (kind, the send's id): the mail log and the
/// recipients' mail ids are found by it.
pub const RELATED_KIND: &str = "bulk_mail";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BulkMailId(pub i64);

impl std::fmt::Display for BulkMailId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A send as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkMail {
    pub id: BulkMailId,
    pub prefecture: PrefectureCode,
    pub status: BulkMailStatus,
    /// As written, placeholders and all.
    pub subject: String,
    pub body: String,
    pub filter: RecipientFilter,
    /// Fixed when the send started (0 before).
    pub facilities: u32,
    pub addresses: u32,
    /// Facilities without an address (送信先なし).
    pub unreachable: u32,
    /// Mails created so far.
    pub created_mails: u32,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_by: Option<UserId>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub cancelled_by: Option<UserId>,
    pub cancelled_at: Option<DateTime<Utc>>,
    done_through: i64,
}

/// What a draft says and whom it is for.
#[derive(Debug, Clone)]
pub struct NewBulkMail {
    pub prefecture: PrefectureCode,
    pub subject: String,
    pub body: String,
    pub filter: RecipientFilter,
}

/// Which facilities a send reaches, resolved from its filter (and its period, if any).
#[derive(Debug, Clone)]
pub struct RecipientQuery {
    pub prefecture: PrefectureCode,
    /// The filter's kinds (with a period: those of them the period is for).
    pub kinds: Vec<FacilityKind>,
    /// Empty: the whole prefecture.
    pub municipalities: Vec<MunicipalityCode>,
    /// The period's 年度: its 定期報告 gives each facility's status.
    pub fiscal_year: Option<u16>,
    /// Empty: any.
    pub progress: Vec<ReportProgress>,
    /// Facilities 廃止 by this day are left out.
    pub day: NaiveDate,
}

/// A facility a send reaches, as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub facility_id: FacilityId,
    pub facility_name: String,
    pub facility_code: Option<String>,
    /// `None` without a period.
    pub progress: Option<ReportProgress>,
    /// Its active users holding the kind's 制度, sorted; empty: 送信先なし.
    pub emails: Vec<String>,
}

/// One recipient of a started send, with its mail once created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentTo {
    pub id: i64,
    pub facility_id: FacilityId,
    pub facility_name: String,
    pub facility_code: Option<String>,
    pub progress: Option<ReportProgress>,
    /// `None`: 送信先なし.
    pub to: Option<String>,
    pub mail: Option<(MailId, MailStatus)>,
}

/// What a worker's batch found (`Tx::take_bulk_batch`).
#[derive(Debug, Clone)]
pub enum BatchTake {
    /// The send is not 送信中 (stopped, finished, or never started): nothing to do.
    NotSending,
    /// Every recipient is done: the send can be finished.
    Finished(BulkMail),
    /// The next recipients, in order (some may be 送信先なし).
    Next(BulkMail, Vec<SentTo>),
}

fn corrupt(column: &'static str, message: String) -> StoreError {
    StoreError::Corrupt {
        table: "bulk_mail",
        column,
        message,
    }
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn from_model(m: bulk_mail::Model) -> Result<BulkMail, StoreError> {
    Ok(BulkMail {
        id: BulkMailId(m.id),
        prefecture: PrefectureCode::parse(&m.prefecture_code)
            .map_err(|e| corrupt("prefecture_code", e.to_string()))?,
        status: BulkMailStatus::parse(&m.status).ok_or_else(|| corrupt("status", m.status))?,
        subject: m.subject,
        body: m.body,
        filter: serde_json::from_str(&m.filter).map_err(|e| corrupt("filter", e.to_string()))?,
        facilities: count(m.facilities),
        addresses: count(m.addresses),
        unreachable: count(m.unreachable),
        created_mails: count(m.created_mails),
        created_by: m.created_by.map(UserId),
        created_at: m.created_at,
        updated_at: m.updated_at,
        started_by: m.started_by.map(UserId),
        started_at: m.started_at,
        finished_at: m.finished_at,
        cancelled_by: m.cancelled_by.map(UserId),
        cancelled_at: m.cancelled_at,
        done_through: m.done_through,
    })
}

fn progress_of(text: Option<String>) -> Result<Option<ReportProgress>, StoreError> {
    text.map(|p| {
        ReportProgress::parse(&p).ok_or_else(|| StoreError::Corrupt {
            table: "bulk_mail_recipient",
            column: "progress",
            message: p,
        })
    })
    .transpose()
}

fn filter_json(filter: &RecipientFilter) -> Result<String, StoreError> {
    serde_json::to_string(filter).map_err(|e| corrupt("filter", e.to_string()))
}

fn i32_of(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Rows per INSERT of recipients: 7 columns × 2,000 stays under SQLite's 32,766 parameters.
const RECIPIENT_BATCH: usize = 2_000;

/// The mail ids of a send's recipients, as a subquery.
fn mails_of(id: BulkMailId) -> SelectStatement {
    Query::select()
        .column(bulk_mail_recipient::Column::MailId)
        .from(bulk_mail_recipient::Entity)
        .and_where(bulk_mail_recipient::Column::BulkMailId.eq(id.0))
        .and_where(bulk_mail_recipient::Column::MailId.is_not_null())
        .to_owned()
}

/// Recipients in these municipalities only (a 保健所 area's view), as a condition on
/// `facility_id`.
fn in_area(list: &[MunicipalityCode]) -> sea_orm::sea_query::SimpleExpr {
    bulk_mail_recipient::Column::FacilityId.in_subquery(
        Query::select()
            .column(facility::Column::Id)
            .from(facility::Entity)
            .and_where(facility::Column::MunicipalityCode.is_in(list.iter().map(|m| m.to_string())))
            .to_owned(),
    )
}

pub struct BulkMailRepo<'a> {
    store: &'a Store,
}

impl<'a> BulkMailRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    fn conn(&self) -> &DatabaseConnection {
        self.store.conn()
    }

    /// Saves a draft (作成中), audited in the same transaction.
    pub async fn create(
        &self,
        new: &NewBulkMail,
        by: Option<UserId>,
        audit: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<BulkMailId, StoreError> {
        let txn = self.store.begin_write().await?;
        let res = bulk_mail::Entity::insert(bulk_mail::ActiveModel {
            prefecture_code: Set(new.prefecture.to_string()),
            status: Set(BulkMailStatus::Draft.id().to_owned()),
            subject: Set(new.subject.clone()),
            body: Set(new.body.clone()),
            filter: Set(filter_json(&new.filter)?),
            facilities: Set(0),
            addresses: Set(0),
            unreachable: Set(0),
            created_mails: Set(0),
            done_through: Set(0),
            created_by: Set(by.map(|u| u.0)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        let id = BulkMailId(res.last_insert_id);
        insert_audit(&txn, &audit.on("bulk_mail", id.0), now).await?;
        txn.commit().await?;
        Ok(id)
    }

    /// Rewrites a draft; `false` when it is no longer 作成中 (started or stopped meanwhile).
    pub async fn update_draft(
        &self,
        id: BulkMailId,
        new: &NewBulkMail,
        audit: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.store.begin_write().await?;
        let n = bulk_mail::Entity::update_many()
            .col_expr(bulk_mail::Column::Subject, Expr::value(new.subject.clone()))
            .col_expr(bulk_mail::Column::Body, Expr::value(new.body.clone()))
            .col_expr(
                bulk_mail::Column::Filter,
                Expr::value(filter_json(&new.filter)?),
            )
            .col_expr(bulk_mail::Column::UpdatedAt, Expr::value(now))
            .filter(bulk_mail::Column::Id.eq(id.0))
            .filter(bulk_mail::Column::PrefectureCode.eq(new.prefecture.to_string()))
            .filter(bulk_mail::Column::Status.eq(BulkMailStatus::Draft.id()))
            .exec(&txn)
            .await?
            .rows_affected;
        if n == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        insert_audit(&txn, &audit.on("bulk_mail", id.0), now).await?;
        txn.commit().await?;
        Ok(true)
    }

    pub async fn get(&self, id: BulkMailId) -> Result<Option<BulkMail>, StoreError> {
        bulk_mail::Entity::find_by_id(id.0)
            .one(self.conn())
            .await?
            .map(from_model)
            .transpose()
    }

    /// A prefecture's sends, newest first.
    pub async fn list(
        &self,
        prefecture: PrefectureCode,
        limit: u64,
    ) -> Result<Vec<BulkMail>, StoreError> {
        bulk_mail::Entity::find()
            .filter(bulk_mail::Column::PrefectureCode.eq(prefecture.to_string()))
            .order_by_desc(bulk_mail::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(from_model)
            .collect()
    }

    /// The facilities a send reaches now, by facility id, with their status in the period and
    /// their addresses: four queries with the facilities as a subquery, whatever their number.
    pub async fn recipients(&self, q: &RecipientQuery) -> Result<Vec<Recipient>, StoreError> {
        let municipalities: Vec<String> = q.municipalities.iter().map(|m| m.to_string()).collect();
        // The same facilities the period's mails and the status list count (not 廃止 by `day`).
        let of_filter = || -> SelectStatement {
            let mut s = due_facilities(q.prefecture, &q.kinds, q.day);
            if !municipalities.is_empty() {
                s.and_where(facility::Column::MunicipalityCode.is_in(municipalities.clone()));
            }
            s
        };
        let facilities: Vec<(i64, i16, String, Option<String>)> = facility::Entity::find()
            .select_only()
            .columns([
                facility::Column::Id,
                facility::Column::Kind,
                facility::Column::NameOfficial,
                facility::Column::FacilityCode,
            ])
            .filter(facility::Column::Id.in_subquery(of_filter()))
            .order_by_asc(facility::Column::Id)
            .into_tuple()
            .all(self.conn())
            .await?;
        let mut reports: BTreeMap<i64, ReportProgress> = BTreeMap::new();
        if let Some(year) = q.fiscal_year {
            let rows: Vec<(i64, String, Option<String>)> = report::Entity::find()
                .select_only()
                .columns([
                    report::Column::FacilityId,
                    report::Column::Status,
                    report::Column::ReturnComment,
                ])
                .filter(report::Column::Kind.eq(ReportKind::Periodic.id()))
                .filter(report::Column::FiscalYear.eq(i32::from(year)))
                .filter(report::Column::FacilityId.in_subquery(of_filter()))
                .into_tuple()
                .all(self.conn())
                .await?;
            for (facility, status, comment) in rows {
                let status = ReportStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                    table: "report",
                    column: "status",
                    message: status.clone(),
                })?;
                reports.insert(facility, ReportProgress::of(status, comment.is_some()));
            }
        }
        let mut kinds_of = BTreeMap::new();
        for (id, kind, _, _) in &facilities {
            kinds_of.insert(*id, kind_of(*kind)?);
        }
        let mut addresses = facility_addresses(self.conn(), &of_filter, &kinds_of).await?;
        let mut out = Vec::new();
        for (id, _, name, code) in facilities {
            let progress = q.fiscal_year.map(|_| {
                reports
                    .get(&id)
                    .copied()
                    .unwrap_or(ReportProgress::NotReported)
            });
            let wanted = q.progress.is_empty() || progress.is_some_and(|p| q.progress.contains(&p));
            if wanted {
                out.push(Recipient {
                    facility_id: FacilityId(id),
                    facility_name: name,
                    facility_code: code,
                    progress,
                    emails: addresses.remove(&id).unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    /// Starts a draft: 送信中 with its recipients fixed (one row per address, one per facility
    /// without any), the job that creates the mails and the audit event, all in one
    /// transaction. `false` when the send is not 作成中 any more (a second click, or stopped).
    pub async fn start(
        &self,
        id: BulkMailId,
        recipients: &[Recipient],
        by: Option<UserId>,
        job: &NewJob,
        audit: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let addresses: usize = recipients.iter().map(|r| r.emails.len()).sum();
        let unreachable = recipients.iter().filter(|r| r.emails.is_empty()).count();
        let txn = self.store.begin_write().await?;
        let n = bulk_mail::Entity::update_many()
            .col_expr(
                bulk_mail::Column::Status,
                Expr::value(BulkMailStatus::Sending.id()),
            )
            .col_expr(
                bulk_mail::Column::Facilities,
                Expr::value(i32_of(recipients.len())),
            )
            .col_expr(bulk_mail::Column::Addresses, Expr::value(i32_of(addresses)))
            .col_expr(
                bulk_mail::Column::Unreachable,
                Expr::value(i32_of(unreachable)),
            )
            .col_expr(bulk_mail::Column::StartedBy, Expr::value(by.map(|u| u.0)))
            .col_expr(bulk_mail::Column::StartedAt, Expr::value(Some(now)))
            .col_expr(bulk_mail::Column::UpdatedAt, Expr::value(now))
            .filter(bulk_mail::Column::Id.eq(id.0))
            .filter(bulk_mail::Column::Status.eq(BulkMailStatus::Draft.id()))
            .exec(&txn)
            .await?
            .rows_affected;
        if n == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        let rows = recipients.iter().flat_map(|r| {
            let to: Vec<Option<String>> = if r.emails.is_empty() {
                vec![None]
            } else {
                r.emails.iter().cloned().map(Some).collect()
            };
            to.into_iter()
                .map(move |to| bulk_mail_recipient::ActiveModel {
                    bulk_mail_id: Set(id.0),
                    facility_id: Set(r.facility_id.0),
                    facility_name: Set(r.facility_name.clone()),
                    facility_code: Set(r.facility_code.clone()),
                    progress: Set(r.progress.map(|p| p.id().to_owned())),
                    to_address: Set(to),
                    mail_id: Set(None),
                    ..Default::default()
                })
        });
        let rows: Vec<_> = rows.collect();
        for chunk in rows.chunks(RECIPIENT_BATCH) {
            bulk_mail_recipient::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        Jobs::new(&txn, self.store.backend()).enqueue(job).await?;
        insert_audit(&txn, &audit.on("bulk_mail", id.0), now).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// 中止: the send stops (a draft is discarded) and its mails that the mail server has not
    /// taken — 送信待ち, 再試行中 — become 中止; 送信完了 stays. Returns how many mails were
    /// stopped, or `None` when the send was already 完了 or 中止. The number is added to the
    /// audit event's detail.
    pub async fn cancel(
        &self,
        id: BulkMailId,
        by: Option<UserId>,
        audit: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let txn = self.store.begin_write().await?;
        // The send's row first: a worker's batch holding it finishes before this goes on, and
        // none starts after it.
        let n = bulk_mail::Entity::update_many()
            .col_expr(
                bulk_mail::Column::Status,
                Expr::value(BulkMailStatus::Cancelled.id()),
            )
            .col_expr(bulk_mail::Column::CancelledBy, Expr::value(by.map(|u| u.0)))
            .col_expr(bulk_mail::Column::CancelledAt, Expr::value(Some(now)))
            .col_expr(bulk_mail::Column::UpdatedAt, Expr::value(now))
            .filter(bulk_mail::Column::Id.eq(id.0))
            .filter(
                bulk_mail::Column::Status
                    .is_in([BulkMailStatus::Draft.id(), BulkMailStatus::Sending.id()]),
            )
            .exec(&txn)
            .await?
            .rows_affected;
        if n == 0 {
            txn.rollback().await?;
            return Ok(None);
        }
        let stopped = mail::Entity::update_many()
            .col_expr(
                mail::Column::Status,
                Expr::value(MailStatus::Cancelled.id()),
            )
            .col_expr(mail::Column::UpdatedAt, Expr::value(now))
            .filter(mail::Column::Id.in_subquery(mails_of(id)))
            .filter(
                mail::Column::Status.is_in(
                    MailStatus::ALL
                        .into_iter()
                        .filter(|s| s.is_stoppable())
                        .map(MailStatus::id),
                ),
            )
            .exec(&txn)
            .await?
            .rows_affected;
        let mut audit = audit.on("bulk_mail", id.0);
        let mut detail = audit.detail.take().unwrap_or_else(|| serde_json::json!({}));
        if let Some(obj) = detail.as_object_mut() {
            obj.insert("stopped_mails".to_owned(), serde_json::json!(stopped));
        }
        insert_audit(&txn, &audit.with_detail(detail), now).await?;
        txn.commit().await?;
        Ok(Some(stopped))
    }

    /// A started send's recipients in order, with their mails (`area`: only those of
    /// facilities in these municipalities).
    pub async fn sent_to(
        &self,
        id: BulkMailId,
        area: Option<&[MunicipalityCode]>,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<SentTo>, StoreError> {
        let mut q = bulk_mail_recipient::Entity::find()
            .filter(bulk_mail_recipient::Column::BulkMailId.eq(id.0));
        if let Some(list) = area {
            q = q.filter(in_area(list));
        }
        let rows = q
            .order_by_asc(bulk_mail_recipient::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(self.conn())
            .await?;
        with_mails(self.conn(), rows).await
    }

    /// How many recipient rows [`Self::sent_to`] pages through.
    pub async fn count_sent_to(
        &self,
        id: BulkMailId,
        area: Option<&[MunicipalityCode]>,
    ) -> Result<u64, StoreError> {
        let mut q = bulk_mail_recipient::Entity::find()
            .filter(bulk_mail_recipient::Column::BulkMailId.eq(id.0));
        if let Some(list) = area {
            q = q.filter(in_area(list));
        }
        Ok(q.count(self.conn()).await?)
    }

    /// The send's mails per status, every status present (what the progress shows).
    pub async fn mail_counts(
        &self,
        id: BulkMailId,
    ) -> Result<BTreeMap<MailStatus, u64>, StoreError> {
        let rows: Vec<(String, i64)> = mail::Entity::find()
            .select_only()
            .column(mail::Column::Status)
            .column_as(mail::Column::Id.count(), "n")
            .filter(mail::Column::Id.in_subquery(mails_of(id)))
            .group_by(mail::Column::Status)
            .into_tuple()
            .all(self.conn())
            .await?;
        let mut out: BTreeMap<MailStatus, u64> =
            MailStatus::ALL.into_iter().map(|s| (s, 0)).collect();
        for (status, n) in rows {
            let status = MailStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                table: "mail",
                column: "status",
                message: status.clone(),
            })?;
            out.insert(status, u64::try_from(n).unwrap_or(0));
        }
        Ok(out)
    }
}

async fn with_mails(
    conn: &impl sea_orm::ConnectionTrait,
    rows: Vec<bulk_mail_recipient::Model>,
) -> Result<Vec<SentTo>, StoreError> {
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.mail_id).collect();
    let statuses: BTreeMap<i64, String> = if ids.is_empty() {
        BTreeMap::new()
    } else {
        mail::Entity::find()
            .select_only()
            .columns([mail::Column::Id, mail::Column::Status])
            .filter(mail::Column::Id.is_in(ids))
            .into_tuple::<(i64, String)>()
            .all(conn)
            .await?
            .into_iter()
            .collect()
    };
    rows.into_iter()
        .map(|r| {
            let mail = match r.mail_id {
                None => None,
                Some(m) => {
                    let text = statuses.get(&m).cloned().unwrap_or_default();
                    let status = MailStatus::parse(&text).ok_or(StoreError::Corrupt {
                        table: "mail",
                        column: "status",
                        message: text,
                    })?;
                    Some((MailId(m), status))
                }
            };
            Ok(SentTo {
                id: r.id,
                facility_id: FacilityId(r.facility_id),
                facility_name: r.facility_name,
                facility_code: r.facility_code,
                progress: progress_of(r.progress)?,
                to: r.to_address,
                mail,
            })
        })
        .collect()
}

impl Tx {
    /// A worker's batch, step one: takes the send's row (only while 送信中; a concurrent batch
    /// or 中止 waits for this transaction) and reads the next `limit` recipients after those
    /// done. Queue their mails in this transaction, then [`Tx::finish_bulk_batch`].
    pub async fn take_bulk_batch(
        &self,
        id: BulkMailId,
        limit: u64,
        now: DateTime<Utc>,
    ) -> Result<BatchTake, StoreError> {
        let n = bulk_mail::Entity::update_many()
            .col_expr(bulk_mail::Column::UpdatedAt, Expr::value(now))
            .filter(bulk_mail::Column::Id.eq(id.0))
            .filter(bulk_mail::Column::Status.eq(BulkMailStatus::Sending.id()))
            .exec(self.conn())
            .await?
            .rows_affected;
        if n == 0 {
            return Ok(BatchTake::NotSending);
        }
        // Read after taking the row: what a batch that held it before committed is seen.
        let Some(send) = bulk_mail::Entity::find_by_id(id.0)
            .one(self.conn())
            .await?
            .map(from_model)
            .transpose()?
        else {
            return Ok(BatchTake::NotSending);
        };
        let rows = bulk_mail_recipient::Entity::find()
            .filter(bulk_mail_recipient::Column::BulkMailId.eq(id.0))
            .filter(bulk_mail_recipient::Column::Id.gt(send.done_through))
            .order_by_asc(bulk_mail_recipient::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await?;
        if rows.is_empty() {
            return Ok(BatchTake::Finished(send));
        }
        Ok(BatchTake::Next(send, with_mails(self.conn(), rows).await?))
    }

    /// A worker's batch, step two: the recipients up to `through` (the last of the batch) are
    /// done, `created` mails were queued for them (each with `related` = ("bulk_mail", id), its
    /// facility and its address), and each recipient row learns its mail's id.
    pub async fn finish_bulk_batch(
        &self,
        send: &BulkMail,
        through: i64,
        created: usize,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let id = send.id;
        // The mail created for each row of the batch: the one about its facility, to its
        // address, from this send (one per facility and address by construction).
        let mail_of_row = Query::select()
            .expr(Expr::col((mail::Entity, mail::Column::Id)).max())
            .from(mail::Entity)
            .and_where(Expr::col((mail::Entity, mail::Column::FacilityId)).equals((
                bulk_mail_recipient::Entity,
                bulk_mail_recipient::Column::FacilityId,
            )))
            .and_where(Expr::col((mail::Entity, mail::Column::ToAddress)).equals((
                bulk_mail_recipient::Entity,
                bulk_mail_recipient::Column::ToAddress,
            )))
            .and_where(Expr::col((mail::Entity, mail::Column::RelatedKind)).eq(RELATED_KIND))
            .and_where(Expr::col((mail::Entity, mail::Column::RelatedId)).eq(id.0.to_string()))
            .to_owned();
        bulk_mail_recipient::Entity::update_many()
            .col_expr(bulk_mail_recipient::Column::MailId, Expr::from(mail_of_row))
            .filter(bulk_mail_recipient::Column::BulkMailId.eq(id.0))
            .filter(bulk_mail_recipient::Column::Id.gt(send.done_through))
            .filter(bulk_mail_recipient::Column::Id.lte(through))
            .filter(bulk_mail_recipient::Column::ToAddress.is_not_null())
            .exec(self.conn())
            .await?;
        bulk_mail::Entity::update_many()
            .col_expr(bulk_mail::Column::DoneThrough, Expr::value(through))
            .col_expr(
                bulk_mail::Column::CreatedMails,
                Expr::col(bulk_mail::Column::CreatedMails).add(i32_of(created)),
            )
            .col_expr(bulk_mail::Column::UpdatedAt, Expr::value(now))
            .filter(bulk_mail::Column::Id.eq(id.0))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// 送信中 → 完了, audited; `false` if the send was not 送信中.
    pub async fn finish_bulk_mail(
        &self,
        id: BulkMailId,
        audit: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = bulk_mail::Entity::update_many()
            .col_expr(
                bulk_mail::Column::Status,
                Expr::value(BulkMailStatus::Done.id()),
            )
            .col_expr(bulk_mail::Column::FinishedAt, Expr::value(Some(now)))
            .col_expr(bulk_mail::Column::UpdatedAt, Expr::value(now))
            .filter(bulk_mail::Column::Id.eq(id.0))
            .filter(bulk_mail::Column::Status.eq(BulkMailStatus::Sending.id()))
            .exec(self.conn())
            .await?
            .rows_affected;
        if n == 1 {
            insert_audit(self.conn(), &audit.on("bulk_mail", id.0), now).await?;
        }
        Ok(n == 1)
    }
}
