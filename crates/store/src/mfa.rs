//! The second factor's state: a TOTP secret per user (pending until a first code confirms it),
//! the replay guard, and single-use recovery codes (only their hashes).

use crate::entity::{app_user, recovery_code};
use crate::{Store, StoreError, UserId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};

/// A user's TOTP secret (base32) and whether it is confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpState {
    pub secret: String,
    pub enabled_at: Option<DateTime<Utc>>,
    pub last_step: Option<i64>,
}

pub struct MfaRepo<'a> {
    store: &'a Store,
    conn: &'a DatabaseConnection,
}

impl<'a> MfaRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self {
            store,
            conn: store.conn(),
        }
    }

    pub async fn totp(&self, user: UserId) -> Result<Option<TotpState>, StoreError> {
        let row = app_user::Entity::find_by_id(user.0).one(self.conn).await?;
        Ok(row.and_then(|r| {
            r.totp_secret.map(|secret| TotpState {
                secret,
                enabled_at: r.totp_enabled_at,
                last_step: r.totp_last_step,
            })
        }))
    }

    /// Starts (or restarts) an enrolment with a new secret. Refused (`false`) while a confirmed
    /// second factor exists: that one must be turned off first, by its owner.
    pub async fn begin(&self, user: UserId, secret: &str) -> Result<bool, StoreError> {
        let res = app_user::Entity::update_many()
            .col_expr(app_user::Column::TotpSecret, Expr::value(secret))
            .col_expr(app_user::Column::TotpLastStep, Expr::value(None::<i64>))
            .filter(app_user::Column::Id.eq(user.0))
            .filter(app_user::Column::TotpEnabledAt.is_null())
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Accepts a code's time step once: succeeds only if no code of this or a later step was
    /// accepted before, in one UPDATE, so two parallel submissions of one code cannot both pass.
    pub async fn accept_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        let newer = sea_orm::Condition::any()
            .add(app_user::Column::TotpLastStep.is_null())
            .add(app_user::Column::TotpLastStep.lt(step));
        let res = app_user::Entity::update_many()
            .col_expr(app_user::Column::TotpLastStep, Expr::value(step))
            .filter(app_user::Column::Id.eq(user.0))
            .filter(app_user::Column::TotpSecret.is_not_null())
            .filter(newer)
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Confirms the pending secret and stores the recovery codes' hashes (replacing any).
    pub async fn enable(
        &self,
        user: UserId,
        recovery_hashes: &[String],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.store.begin_write().await?;
        let res = app_user::Entity::update_many()
            .col_expr(app_user::Column::TotpEnabledAt, Expr::value(now))
            .filter(app_user::Column::Id.eq(user.0))
            .filter(app_user::Column::TotpSecret.is_not_null())
            .filter(app_user::Column::TotpEnabledAt.is_null())
            .exec(&txn)
            .await?;
        if res.rows_affected != 1 {
            return Ok(false);
        }
        replace_codes(&txn, user, recovery_hashes, now).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Removes the second factor and its recovery codes.
    pub async fn disable(&self, user: UserId) -> Result<(), StoreError> {
        let txn = self.store.begin_write().await?;
        app_user::Entity::update_many()
            .col_expr(app_user::Column::TotpSecret, Expr::value(None::<String>))
            .col_expr(
                app_user::Column::TotpEnabledAt,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(app_user::Column::TotpLastStep, Expr::value(None::<i64>))
            .filter(app_user::Column::Id.eq(user.0))
            .exec(&txn)
            .await?;
        recovery_code::Entity::delete_many()
            .filter(recovery_code::Column::UserId.eq(user.0))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// New recovery codes; the old ones stop working.
    pub async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.store.begin_write().await?;
        replace_codes(&txn, user, hashes, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Uses a recovery code: once, in one UPDATE.
    pub async fn use_recovery_code(
        &self,
        user: UserId,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let res = recovery_code::Entity::update_many()
            .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
            .filter(recovery_code::Column::UserId.eq(user.0))
            .filter(recovery_code::Column::Hash.eq(hash))
            .filter(recovery_code::Column::UsedAt.is_null())
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn recovery_codes_left(&self, user: UserId) -> Result<u64, StoreError> {
        Ok(recovery_code::Entity::find()
            .filter(recovery_code::Column::UserId.eq(user.0))
            .filter(recovery_code::Column::UsedAt.is_null())
            .count(self.conn)
            .await?)
    }
}

async fn replace_codes<C: sea_orm::ConnectionTrait>(
    conn: &C,
    user: UserId,
    hashes: &[String],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user.0))
        .exec(conn)
        .await?;
    if hashes.is_empty() {
        return Ok(());
    }
    recovery_code::Entity::insert_many(hashes.iter().map(|h| recovery_code::ActiveModel {
        user_id: Set(user.0),
        hash: Set(h.clone()),
        created_at: Set(now),
        used_at: Set(None),
        ..Default::default()
    }))
    .exec(conn)
    .await?;
    Ok(())
}
