//! Housekeeping: ended sessions, long-expired tokens and long-finished jobs are deleted, so the
//! tables hold what is still in use (a session table of 245,000 facilities' clerks grows by every
//! login otherwise, the job table by every mail and every node's ten-minute period look). Run hourly by every app node (`teikyo serve`); the deletes are
//! idempotent, so nodes running it at once do no harm.

use chrono::{DateTime, Duration, Utc};
use teikyo_store::{Store, StoreError};

use crate::SessionPolicy;

/// How long an expired or used link still says when it was used or expired.
pub const TOKEN_MEMORY: Duration = Duration::days(30);

/// How long a finished job stays visible (its result, its progress) after it is done.
pub const DONE_JOB_MEMORY: Duration = Duration::days(7);

/// How long a job that gave up stays, so that an operator can still see why.
pub const FAILED_JOB_MEMORY: Duration = Duration::days(90);

/// What one run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub tokens: u64,
    pub jobs: u64,
}

pub async fn purge(
    store: &Store,
    now: DateTime<Utc>,
    policy: SessionPolicy,
) -> Result<Purged, StoreError> {
    Ok(Purged {
        sessions: store.sessions().purge(now, policy.idle).await?,
        tokens: store.tokens().purge(now - TOKEN_MEMORY).await?,
        jobs: store
            .jobs()
            .purge(now - DONE_JOB_MEMORY, now - FAILED_JOB_MEMORY)
            .await?,
    })
}
