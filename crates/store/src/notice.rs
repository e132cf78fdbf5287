//! お知らせ on the home page: nationwide ones posted by the operator and a prefecture's for its
//! facilities and staff, each shown from a day and optionally until a day.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use teikyo_domain::codes::PrefectureCode;

use crate::account::insert_audit;
use crate::entity::notice;
use crate::{AuditEvent, Store, StoreError, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: i64,
    /// None: nationwide (the operator's).
    pub prefecture: Option<PrefectureCode>,
    pub title: String,
    pub body: String,
    pub shown_from: NaiveDate,
    pub shown_until: Option<NaiveDate>,
    pub posted_by: Option<UserId>,
    pub posted_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewNotice {
    pub prefecture: Option<PrefectureCode>,
    pub title: String,
    pub body: String,
    pub shown_from: NaiveDate,
    pub shown_until: Option<NaiveDate>,
    pub by: Option<UserId>,
}

pub struct NoticeRepo<'a> {
    store: &'a Store,
}

fn from_model(m: notice::Model) -> Result<Notice, StoreError> {
    Ok(Notice {
        id: m.id,
        prefecture: m
            .prefecture_code
            .as_deref()
            .map(PrefectureCode::parse)
            .transpose()
            .map_err(|e| StoreError::Corrupt {
                table: "notice",
                column: "prefecture_code",
                message: e.to_string(),
            })?,
        title: m.title,
        body: m.body,
        shown_from: m.shown_from,
        shown_until: m.shown_until,
        posted_by: m.posted_by.map(UserId),
        posted_at: m.posted_at,
    })
}

impl<'a> NoticeRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Posts a notice, audited in the same transaction.
    pub async fn post(
        &self,
        n: &NewNotice,
        audit: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let txn = self.store.begin_write().await?;
        let id = notice::Entity::insert(notice::ActiveModel {
            prefecture_code: Set(n.prefecture.map(|p| p.to_string())),
            title: Set(n.title.clone()),
            body: Set(n.body.clone()),
            shown_from: Set(n.shown_from),
            shown_until: Set(n.shown_until),
            posted_by: Set(n.by.map(|u| u.0)),
            posted_at: Set(now),
            ..Default::default()
        })
        .exec(&txn)
        .await?
        .last_insert_id;
        insert_audit(&txn, &audit.on("notice", id), now).await?;
        txn.commit().await?;
        Ok(id)
    }

    /// What a home page shows on `day`: nationwide notices and those of `prefectures`, newest
    /// first, at most `limit`.
    pub async fn shown(
        &self,
        prefectures: &[PrefectureCode],
        day: NaiveDate,
        limit: u64,
    ) -> Result<Vec<Notice>, StoreError> {
        let mut whose = Condition::any().add(notice::Column::PrefectureCode.is_null());
        if !prefectures.is_empty() {
            whose = whose.add(
                notice::Column::PrefectureCode.is_in(prefectures.iter().map(|p| p.to_string())),
            );
        }
        notice::Entity::find()
            .filter(whose)
            .filter(notice::Column::ShownFrom.lte(day))
            .filter(
                Condition::any()
                    .add(notice::Column::ShownUntil.is_null())
                    .add(notice::Column::ShownUntil.gte(day)),
            )
            .order_by_desc(notice::Column::ShownFrom)
            .order_by_desc(notice::Column::Id)
            .limit(limit)
            .all(self.store.conn())
            .await?
            .into_iter()
            .map(from_model)
            .collect()
    }

    /// Every notice of one author scope (`None`: the nationwide ones), newest first.
    pub async fn list(
        &self,
        prefecture: Option<PrefectureCode>,
    ) -> Result<Vec<Notice>, StoreError> {
        let q = match prefecture {
            Some(p) => {
                notice::Entity::find().filter(notice::Column::PrefectureCode.eq(p.to_string()))
            }
            None => notice::Entity::find().filter(notice::Column::PrefectureCode.is_null()),
        };
        q.order_by_desc(notice::Column::Id)
            .all(self.store.conn())
            .await?
            .into_iter()
            .map(from_model)
            .collect()
    }

    /// Takes a notice down, audited. `false` if it did not exist.
    pub async fn delete(
        &self,
        id: i64,
        audit: AuditEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.store.begin_write().await?;
        let n = notice::Entity::delete_by_id(id)
            .exec(&txn)
            .await?
            .rows_affected;
        if n == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        insert_audit(&txn, &audit.on("notice", id), now).await?;
        txn.commit().await?;
        Ok(true)
    }

    pub async fn get(&self, id: i64) -> Result<Option<Notice>, StoreError> {
        notice::Entity::find_by_id(id)
            .one(self.store.conn())
            .await?
            .map(from_model)
            .transpose()
    }
}
