//! Mail records: what was sent to whom, and what became of it (送信待ち → 送信中 → 送信完了 |
//! 再試行中 | 不達; or 中止 when a bulk send is stopped before the mail's turn). A mail row and its `mail.send` job are written in the caller's transaction, so
//! a mail is queued if and only if the change that causes it commits.

use crate::entity::{facility, mail};
use crate::jobs::{Jobs, NewJob};
use crate::{Backend, StoreError, Tx};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{ArrayType, Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select, Statement, Value,
};
use std::collections::BTreeMap;

/// The job kind that delivers a mail.
pub const SEND_JOB: &str = "mail.send";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MailId(pub i64);

impl std::fmt::Display for MailId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MailStatus {
    /// 送信待ち
    Queued,
    /// 送信中: handed to the transport; a crash here means "maybe sent".
    Sending,
    /// 送信完了: the SMTP server accepted it.
    Delivered,
    /// 再試行中: a temporary refusal; the job retries with backoff.
    Retrying,
    /// 不達: a permanent refusal or a bounce.
    Bounced,
    /// 中止: stopped before it was handed to the server (a bulk send stopped by staff).
    Cancelled,
}

impl MailStatus {
    pub const ALL: [MailStatus; 6] = [
        Self::Queued,
        Self::Sending,
        Self::Delivered,
        Self::Retrying,
        Self::Bounced,
        Self::Cancelled,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::Retrying => "retrying",
            Self::Bounced => "bounced",
            Self::Cancelled => "cancelled",
        }
    }

    /// The words prefecture staff use (S1: 「送信完了」「不達」).
    pub fn label(self) -> &'static str {
        match self {
            Self::Queued => "送信待ち",
            Self::Sending => "送信中",
            Self::Delivered => "送信完了",
            Self::Retrying => "再試行中",
            Self::Bounced => "不達",
            Self::Cancelled => "中止",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.id() == s)
    }

    /// No transport attempt will change it any more (a bounce report still can change a
    /// 送信完了).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Bounced | Self::Cancelled)
    }

    /// Not yet handed to the mail server for good: what stopping a bulk send turns into 中止
    /// (送信中 is with the server right now and is left to finish).
    pub fn is_stoppable(self) -> bool {
        matches!(self, Self::Queued | Self::Retrying)
    }
}

/// A rendered mail to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub template: String,
    pub to: String,
    pub subject: String,
    pub body_text: String,
    /// `<…@…>`; unique. Re-sends after a crash reuse it, so receivers can de-duplicate.
    pub message_id: String,
    /// What the mail is about, e.g. ("application", "API-00001750").
    pub related: Option<(String, String)>,
    /// The facility it concerns, for prefecture-scoped mail logs.
    pub facility_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub id: MailId,
    pub template: String,
    pub to: String,
    pub subject: String,
    pub body_text: String,
    pub status: MailStatus,
    pub message_id: String,
    pub related: Option<(String, String)>,
    pub facility_id: Option<i64>,
    pub smtp_reply: Option<String>,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub bounced_at: Option<DateTime<Utc>>,
}

/// Filters of the mail log; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct MailFilter {
    /// Part of the recipient address, case-insensitive.
    pub to: Option<String>,
    pub template: Option<String>,
    pub status: Option<MailStatus>,
    pub facility_id: Option<i64>,
    /// Only mails about facilities of this prefecture (JIS X 0401 code, e.g. `29`): the scope of
    /// prefecture staff.
    pub prefecture: Option<String>,
    /// Only mails about facilities in these municipalities (6-digit codes): the 保健所 area of
    /// staff limited to one. `Some(empty)` matches nothing.
    pub municipalities: Option<Vec<String>>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl MailFilter {
    fn apply(&self, mut q: Select<mail::Entity>) -> Select<mail::Entity> {
        if let Some(to) = self.to.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", escape_like(&to.to_lowercase()));
            q = q.filter(
                Expr::expr(Func::lower(Expr::col(mail::Column::ToAddress)))
                    .like(LikeExpr::new(pattern).escape('\\')),
            );
        }
        if let Some(t) = &self.template {
            q = q.filter(mail::Column::Template.eq(t.as_str()));
        }
        if let Some(s) = self.status {
            q = q.filter(mail::Column::Status.eq(s.id()));
        }
        if let Some(id) = self.facility_id {
            q = q.filter(mail::Column::FacilityId.eq(id));
        }
        if let Some(code) = &self.prefecture {
            q = q.filter(
                mail::Column::FacilityId.in_subquery(
                    Query::select()
                        .column(facility::Column::Id)
                        .from(facility::Entity)
                        .and_where(facility::Column::PrefectureCode.eq(code.as_str()))
                        .to_owned(),
                ),
            );
        }
        if let Some(list) = &self.municipalities {
            q = q.filter(
                mail::Column::FacilityId.in_subquery(
                    Query::select()
                        .column(facility::Column::Id)
                        .from(facility::Entity)
                        .and_where(facility::Column::MunicipalityCode.is_in(list.iter().cloned()))
                        .to_owned(),
                ),
            );
        }
        if let Some(since) = self.since {
            q = q.filter(mail::Column::CreatedAt.gte(since));
        }
        if let Some(until) = self.until {
            q = q.filter(mail::Column::CreatedAt.lt(until));
        }
        q
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Tx {
    /// Queues a mail with its delivery job, as part of this transaction.
    pub async fn queue_mail(&self, new: &NewMail) -> Result<MailId, StoreError> {
        self.queue_mail_at(new, None).await
    }

    /// Queues a mail to be sent at `send_at` (`None`: now), e.g. the 利用案内メール on the next
    /// business day. It stays 送信待ち until then.
    pub async fn queue_mail_at(
        &self,
        new: &NewMail,
        send_at: Option<DateTime<Utc>>,
    ) -> Result<MailId, StoreError> {
        let res = mail::Entity::insert(active(new.clone(), Utc::now()))
            .exec(self.conn())
            .await?;
        let id = MailId(res.last_insert_id);
        let mut job = NewJob::new(SEND_JOB, serde_json::json!({ "mail_id": id.0 }));
        job.run_at = send_at;
        Jobs::new(self.conn(), self.backend()).enqueue(&job).await?;
        Ok(id)
    }
}

/// Rows per INSERT: 12 columns × 2,000 stays under SQLite's 32,766 bound parameters.
const BATCH: usize = 2_000;

/// Mails per delivery job in a bulk send: small enough for the work to spread over workers and
/// nodes, large enough that the queue holds hundreds of rows, not hundreds of thousands.
pub const MAILS_PER_JOB: usize = 250;

impl Tx {
    /// Queues many mails (a prefecture's 定期報告案内 to all its facilities) in batches, as part
    /// of this transaction: all of them or none. Delivery jobs carry up to [`MAILS_PER_JOB`]
    /// mails each (`{"mail_ids": […]}`); a mail that meets a temporary refusal gets a job of its
    /// own with backoff. `progress` is called with the number queued so far after each batch.
    pub async fn queue_mails(
        &self,
        mails: Vec<NewMail>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<usize, StoreError> {
        let now = Utc::now();
        let jobs = Jobs::new(self.conn(), self.backend());
        let total = mails.len();
        let mut done = 0;
        let chunk_size = match self.backend() {
            Backend::Postgres => PG_BATCH,
            Backend::Sqlite => BATCH,
        };
        let mut rows = mails.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<NewMail> = rows.by_ref().take(chunk_size).collect();
            let n = chunk.len();
            let mut ids = match self.backend() {
                Backend::Postgres => insert_unnest(self.conn(), chunk, now).await?,
                Backend::Sqlite => {
                    mail::Entity::insert_many(chunk.into_iter().map(|m| active(m, now)))
                        .exec_with_returning_keys(self.conn())
                        .await?
                }
            };
            // RETURNING promises no order; sorted ids make each job's mails go out in the order
            // they were queued.
            ids.sort_unstable();
            let new_jobs: Vec<NewJob> = ids
                .chunks(MAILS_PER_JOB)
                .map(|part| NewJob::new(SEND_JOB, serde_json::json!({ "mail_ids": part })))
                .collect();
            jobs.enqueue_many(&new_jobs).await?;
            done += n;
            progress(done);
        }
        debug_assert_eq!(done, total);
        Ok(done)
    }
}

/// PostgreSQL: one statement per batch with a column array per field. A VALUES list of thousands
/// of rows makes the server parse and plan 24,000 parameters per statement; arrays keep it at 9.
const PG_BATCH: usize = 10_000;

async fn insert_unnest(
    conn: &DatabaseTransaction,
    chunk: Vec<NewMail>,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    // sea-query binds arrays without NULL elements (a NULL panics in its conversion), so
    // optional fields travel as '' and come back as NULL through NULLIF.
    fn texts(v: Vec<String>) -> Value {
        Value::Array(
            ArrayType::String,
            Some(Box::new(
                v.into_iter().map(|s| Value::String(Some(s))).collect(),
            )),
        )
    }
    let n = chunk.len();
    let mut cols: [Vec<String>; 8] = std::array::from_fn(|_| Vec::with_capacity(n));
    for m in chunk {
        let (kind, id) = related_parts(m.related);
        for (col, v) in cols.iter_mut().zip([
            m.template,
            m.to,
            m.subject,
            m.body_text,
            m.message_id,
            kind.unwrap_or_default(),
            id.unwrap_or_default(),
            m.facility_id.map(|f| f.to_string()).unwrap_or_default(),
        ]) {
            col.push(v);
        }
    }
    let values: Vec<Value> = cols
        .into_iter()
        .map(texts)
        .chain([Value::ChronoDateTimeUtc(Some(now))])
        .collect();
    let sql = "INSERT INTO mail (template, to_address, subject, body_text, status, message_id, \
               related_kind, related_id, facility_id, attempts, created_at, updated_at) \
               SELECT t, a, s, b, 'queued', mid, NULLIF(rk, ''), NULLIF(ri, ''), \
                      NULLIF(f, '')::bigint, 0, $9, $9 \
               FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                           $6::text[], $7::text[], $8::text[]) AS u(t, a, s, b, mid, rk, ri, f) \
               RETURNING id";
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<i64>("", "id").map_err(StoreError::from))
        .collect()
}

/// An empty related kind or id means none, on both backends (the PostgreSQL bulk path cannot
/// carry NULL inside its arrays and writes '' as NULL).
fn related_parts(related: Option<(String, String)>) -> (Option<String>, Option<String>) {
    let (kind, id) = related.unzip();
    (kind.filter(|k| !k.is_empty()), id.filter(|i| !i.is_empty()))
}

fn active(new: NewMail, now: DateTime<Utc>) -> mail::ActiveModel {
    let (related_kind, related_id) = related_parts(new.related);
    mail::ActiveModel {
        template: Set(new.template),
        to_address: Set(new.to),
        subject: Set(new.subject),
        body_text: Set(new.body_text),
        status: Set(MailStatus::Queued.id().to_owned()),
        message_id: Set(new.message_id),
        related_kind: Set(related_kind),
        related_id: Set(related_id),
        facility_id: Set(new.facility_id),
        attempts: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

pub struct MailRepo<'a> {
    conn: &'a DatabaseConnection,
}

impl<'a> MailRepo<'a> {
    pub(crate) fn new(conn: &'a DatabaseConnection) -> Self {
        Self { conn }
    }

    pub async fn get(&self, id: MailId) -> Result<Option<Mail>, StoreError> {
        mail::Entity::find_by_id(id.0)
            .one(self.conn)
            .await?
            .map(from_model)
            .transpose()
    }

    pub async fn find_by_message_id(&self, message_id: &str) -> Result<Option<Mail>, StoreError> {
        mail::Entity::find()
            .filter(mail::Column::MessageId.eq(message_id))
            .one(self.conn)
            .await?
            .map(from_model)
            .transpose()
    }

    /// 送信中, counting the attempt — only if the mail may be sent: 送信待ち, 再試行中, or 送信中
    /// left by a worker that died. `false` when its outcome is already recorded (a bounce report
    /// or another worker got there first): then it must not be sent.
    pub async fn mark_sending(&self, id: MailId) -> Result<bool, StoreError> {
        let now = Utc::now();
        let res = mail::Entity::update_many()
            .col_expr(mail::Column::Status, MailStatus::Sending.id().into())
            .col_expr(
                mail::Column::Attempts,
                sea_orm::sea_query::ExprTrait::add(
                    sea_orm::sea_query::Expr::col(mail::Column::Attempts),
                    1,
                ),
            )
            .col_expr(mail::Column::UpdatedAt, now.into())
            .filter(mail::Column::Id.eq(id.0))
            .filter(mail::Column::Status.is_in([
                MailStatus::Queued.id(),
                MailStatus::Retrying.id(),
                MailStatus::Sending.id(),
            ]))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Records the outcome of an attempt (or a bounce report) with the server's reply.
    pub async fn mark(
        &self,
        id: MailId,
        status: MailStatus,
        reply: &str,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut q = mail::Entity::update_many()
            .col_expr(mail::Column::Status, status.id().into())
            .col_expr(mail::Column::SmtpReply, Some(reply.to_owned()).into())
            .col_expr(mail::Column::UpdatedAt, now.into());
        match status {
            MailStatus::Delivered => q = q.col_expr(mail::Column::SentAt, Some(now).into()),
            MailStatus::Bounced => q = q.col_expr(mail::Column::BouncedAt, Some(now).into()),
            _ => {}
        }
        if status != MailStatus::Bounced {
            // A bounce report that arrived while the worker was still talking to the server is
            // the later truth: the worker's 送信完了 must not overwrite it.
            q = q.filter(mail::Column::Status.ne(MailStatus::Bounced.id()));
        }
        // A stopped mail was never sent: nothing said about it afterwards applies.
        q = q.filter(mail::Column::Status.ne(MailStatus::Cancelled.id()));
        q.filter(mail::Column::Id.eq(id.0)).exec(self.conn).await?;
        Ok(())
    }

    /// The mail log, newest first.
    pub async fn list(
        &self,
        filter: &MailFilter,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<Mail>, StoreError> {
        filter
            .apply(mail::Entity::find())
            .order_by_desc(mail::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(self.conn)
            .await?
            .into_iter()
            .map(from_model)
            .collect()
    }

    /// How many mails match, per status, every status present (the log's summary and paging).
    pub async fn count_by_status(
        &self,
        filter: &MailFilter,
    ) -> Result<BTreeMap<MailStatus, u64>, StoreError> {
        let rows: Vec<(String, i64)> = filter
            .apply(mail::Entity::find())
            .select_only()
            .column(mail::Column::Status)
            .column_as(mail::Column::Id.count(), "n")
            .group_by(mail::Column::Status)
            .into_tuple()
            .all(self.conn)
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

fn from_model(m: mail::Model) -> Result<Mail, StoreError> {
    Ok(Mail {
        id: MailId(m.id),
        template: m.template,
        to: m.to_address,
        subject: m.subject,
        body_text: m.body_text,
        status: MailStatus::parse(&m.status).ok_or_else(|| StoreError::Corrupt {
            table: "mail",
            column: "status",
            message: m.status.clone(),
        })?,
        message_id: m.message_id,
        related: m.related_kind.zip(m.related_id),
        facility_id: m.facility_id,
        smtp_reply: m.smtp_reply,
        attempts: u32::try_from(m.attempts).unwrap_or(0),
        created_at: m.created_at,
        updated_at: m.updated_at,
        sent_at: m.sent_at,
        bounced_at: m.bounced_at,
    })
}
