//! Mail records: what was sent to whom, and what became of it (送信待ち → 送信中 → 送信完了 |
//! 再試行中 | 不達). A mail row and its `mail.send` job are written in the caller's transaction, so
//! a mail is queued if and only if the change that causes it commits.

use crate::entity::mail;
use crate::jobs::{Jobs, NewJob};
use crate::{StoreError, Tx};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// The job kind that delivers a mail.
pub const SEND_JOB: &str = "mail.send";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MailId(pub i64);

impl std::fmt::Display for MailId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
}

impl MailStatus {
    pub const ALL: [MailStatus; 5] = [
        Self::Queued,
        Self::Sending,
        Self::Delivered,
        Self::Retrying,
        Self::Bounced,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::Retrying => "retrying",
            Self::Bounced => "bounced",
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
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.id() == s)
    }

    /// No transport attempt will change it any more (a bounce report still can).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Bounced)
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
    pub to: Option<String>,
    pub template: Option<String>,
    pub status: Option<MailStatus>,
    pub facility_ids: Option<Vec<i64>>,
    pub since: Option<DateTime<Utc>>,
}

impl Tx {
    /// Queues a mail with its delivery job, as part of this transaction.
    pub async fn queue_mail(&self, new: &NewMail) -> Result<MailId, StoreError> {
        let now = Utc::now();
        let res = mail::Entity::insert(mail::ActiveModel {
            template: Set(new.template.clone()),
            to_address: Set(new.to.clone()),
            subject: Set(new.subject.clone()),
            body_text: Set(new.body_text.clone()),
            status: Set(MailStatus::Queued.id().to_owned()),
            message_id: Set(new.message_id.clone()),
            related_kind: Set(new.related.as_ref().map(|r| r.0.clone())),
            related_id: Set(new.related.as_ref().map(|r| r.1.clone())),
            facility_id: Set(new.facility_id),
            attempts: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(self.conn())
        .await?;
        let id = MailId(res.last_insert_id);
        Jobs::new(self.conn(), self.backend())
            .enqueue(&NewJob::new(
                SEND_JOB,
                serde_json::json!({ "mail_id": id.0 }),
            ))
            .await?;
        Ok(id)
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

    /// 送信中, counting the attempt.
    pub async fn mark_sending(&self, id: MailId) -> Result<(), StoreError> {
        let now = Utc::now();
        mail::Entity::update_many()
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
            .exec(self.conn)
            .await?;
        Ok(())
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
        let mut q = mail::Entity::find();
        if let Some(to) = &filter.to {
            q = q.filter(mail::Column::ToAddress.eq(to.as_str()));
        }
        if let Some(t) = &filter.template {
            q = q.filter(mail::Column::Template.eq(t.as_str()));
        }
        if let Some(s) = filter.status {
            q = q.filter(mail::Column::Status.eq(s.id()));
        }
        if let Some(ids) = &filter.facility_ids {
            q = q.filter(mail::Column::FacilityId.is_in(ids.clone()));
        }
        if let Some(since) = filter.since {
            q = q.filter(mail::Column::CreatedAt.gte(since));
        }
        q.order_by_desc(mail::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(self.conn)
            .await?
            .into_iter()
            .map(from_model)
            .collect()
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
