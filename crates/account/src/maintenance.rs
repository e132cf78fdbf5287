//! Housekeeping of the account tables: ended sessions and long-expired tokens are deleted, so
//! the tables hold what is still in use (a session table of 245,000 facilities' clerks grows by
//! every login otherwise). Run hourly by every app node (`teikyo serve`); the deletes are
//! idempotent, so nodes running it at once do no harm.

use chrono::{DateTime, Duration, Utc};
use teikyo_store::{Store, StoreError};

use crate::SessionPolicy;

/// How long an expired or used link still says when it was used or expired.
pub const TOKEN_MEMORY: Duration = Duration::days(30);

/// What one run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub tokens: u64,
}

pub async fn purge(
    store: &Store,
    now: DateTime<Utc>,
    policy: SessionPolicy,
) -> Result<Purged, StoreError> {
    Ok(Purged {
        sessions: store.sessions().purge(now, policy.idle).await?,
        tokens: store.tokens().purge(now - TOKEN_MEMORY).await?,
    })
}
