//! Sessions: the browser holds a random id in a cookie, the database only its SHA-256, so a
//! leaked database opens no session. A session ends when idle for [`SessionPolicy::idle`], at
//! [`SessionPolicy::absolute`] after login whatever happens, at logout, and for every session of
//! the user when the password changes or the user logs out everywhere.

use chrono::{DateTime, Duration, Utc};
use teikyo_store::{AuditEvent, Store, StoreError, UserId};

use crate::token::{NewToken, hash_token, new_token_of};

/// ~190 bits: sessions live for hours and are presented on every request.
pub const SESSION_ID_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    /// Two idle hours cover a clerk filling a long report section between phone calls; twelve
    /// hours end every session overnight.
    fn default() -> Self {
        Self {
            idle: Duration::hours(2),
            absolute: Duration::hours(12),
        }
    }
}

/// A new session for `user` (after a successful login or a password setting). The caller
/// puts `plain` into the cookie and ends the session it replaces, so ids rotate at login.
pub async fn start(
    store: &Store,
    user: UserId,
    now: DateTime<Utc>,
    policy: SessionPolicy,
) -> Result<NewToken, StoreError> {
    let token = new_token_of(SESSION_ID_LEN);
    store
        .sessions()
        .create(&token.hash, user, now, policy.absolute)
        .await?;
    Ok(token)
}

/// The user of the session the cookie names, if it is still open.
pub async fn resume(
    store: &Store,
    plain: &str,
    now: DateTime<Utc>,
    policy: SessionPolicy,
) -> Result<Option<UserId>, StoreError> {
    if plain.len() != SESSION_ID_LEN || !plain.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    store
        .sessions()
        .touch(&hash_token(plain), now, policy.idle)
        .await
}

/// ログアウト: this session ends.
pub async fn end(
    store: &Store,
    plain: &str,
    user: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    store.sessions().revoke(&hash_token(plain)).await?;
    if let Some(user) = user {
        store
            .audit()
            .record(&user_event(user, "account.logout"), now)
            .await?;
    }
    Ok(())
}

/// すべての端末からログアウト: every session of the user ends.
pub async fn end_all(store: &Store, user: UserId, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let n = store.sessions().revoke_all(user).await?;
    store
        .audit()
        .record(&user_event(user, "account.logout_everywhere"), now)
        .await?;
    Ok(n)
}

fn user_event(user: UserId, action: &str) -> AuditEvent {
    AuditEvent::new(action, Some(user)).on("user", user)
}
