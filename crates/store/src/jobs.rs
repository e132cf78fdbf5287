//! The durable job queue (DESIGN §4, the crates.io worker model): a job is a row, written in the
//! same transaction as the change that causes it, so a job exists if and only if its change
//! committed. Workers claim ready jobs with one atomic `UPDATE … RETURNING` (on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`, so many workers on many nodes never wait for each other), retry
//! failures with exponential backoff, and report progress for long jobs. A worker that dies while
//! holding a job loses its lease: [`Jobs::release_stale`] puts the job back in the queue.

use crate::entity::job;
use crate::{Backend, StoreError};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    Statement, Value,
};
use std::collections::BTreeMap;

/// Rows per INSERT when enqueueing many jobs (8 bound columns).
const BATCH: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub i64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobStatus {
    /// Waiting for `run_at`, first time or after a failed attempt.
    Queued,
    /// Claimed by a worker.
    Running,
    Done,
    /// Gave up after `max_attempts`.
    Failed,
}

impl JobStatus {
    pub fn id(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Failed]
            .into_iter()
            .find(|x| x.id() == s)
    }

    /// Japanese label for operator screens.
    pub fn label(self) -> &'static str {
        match self {
            Self::Queued => "待機中",
            Self::Running => "実行中",
            Self::Done => "完了",
            Self::Failed => "失敗",
        }
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// What to do, e.g. `mail.send`; workers dispatch on it.
    pub kind: String,
    pub payload: serde_json::Value,
    /// Not before this time; `None` = now.
    pub run_at: Option<DateTime<Utc>>,
    pub max_attempts: u32,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            run_at: None,
            max_attempts: 8,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub status: JobStatus,
    pub run_at: DateTime<Utc>,
    /// Attempts started so far, including a running one.
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    pub locked_by: Option<String>,
    pub locked_at: Option<DateTime<Utc>>,
    /// (done, total) as last reported by the worker.
    pub progress: Option<(u64, u64)>,
    pub result: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Delay before attempt `attempts + 1` after `attempts` failed ones: 10 s, 20 s, 40 s, … capped at
/// one hour, so a mail server that is down for an afternoon is retried about hourly.
pub fn backoff(attempts: u32) -> Duration {
    let secs = 10u64.saturating_mul(1u64 << attempts.saturating_sub(1).min(20));
    Duration::seconds(secs.min(3_600) as i64)
}

/// The queue, over a plain connection or inside a transaction (`Tx::jobs`).
pub struct Jobs<'a, C> {
    conn: &'a C,
    backend: Backend,
}

impl<'a, C: ConnectionTrait> Jobs<'a, C> {
    pub(crate) fn new(conn: &'a C, backend: Backend) -> Self {
        Self { conn, backend }
    }

    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.conn.get_database_backend(), sql, values)
    }

    pub async fn enqueue(&self, job: &NewJob) -> Result<JobId, StoreError> {
        let res = job::Entity::insert(active(job, Utc::now()))
            .exec(self.conn)
            .await?;
        Ok(JobId(res.last_insert_id))
    }

    /// Enqueues many jobs in batches; call it inside a transaction for all-or-nothing.
    pub async fn enqueue_many(&self, jobs: &[NewJob]) -> Result<usize, StoreError> {
        let now = Utc::now();
        for chunk in jobs.chunks(BATCH) {
            job::Entity::insert_many(chunk.iter().map(|j| active(j, now)))
                .exec_without_returning(self.conn)
                .await?;
        }
        Ok(jobs.len())
    }

    /// Claims the oldest ready job (of one of `kinds`, or any when empty) for `worker`: marks it
    /// running, counts the attempt. `None` when nothing is ready.
    pub async fn claim(
        &self,
        worker: &str,
        kinds: &[&str],
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        let mut values: Vec<Value> = vec![worker.into(), now.into(), now.into()];
        let kind_filter = if kinds.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = kinds
                .iter()
                .map(|k| {
                    values.push((*k).into());
                    format!("${}", values.len())
                })
                .collect();
            format!(" AND kind IN ({})", marks.join(", "))
        };
        // SKIP LOCKED: a row another worker is claiming right now is passed over, not waited
        // for. SQLite has one writer at a time, so the plain subquery is already exclusive.
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE job SET status = 'running', locked_by = $1, locked_at = $2, \
             attempts = attempts + 1, updated_at = $2 \
             WHERE id = (SELECT id FROM job WHERE status = 'queued' AND run_at <= $3{kind_filter} \
             ORDER BY run_at, id LIMIT 1{lock}) \
             RETURNING *"
        );
        let m = job::Entity::find()
            .from_raw_sql(self.statement(&sql, values))
            .one(self.conn)
            .await?;
        m.map(from_model).transpose()
    }

    /// Marks a job done — only if `worker` still holds it (a worker whose lease expired and whose
    /// job was handed to another must not overwrite that one's outcome). Returns whether it did.
    pub async fn complete(
        &self,
        id: JobId,
        worker: &str,
        result: Option<&serde_json::Value>,
    ) -> Result<bool, StoreError> {
        let now = Utc::now();
        let res = job::Entity::update_many()
            .col_expr(job::Column::Status, JobStatus::Done.id().into())
            .col_expr(job::Column::Result, result.map(|r| r.to_string()).into())
            .col_expr(job::Column::LockedBy, Option::<String>::None.into())
            .col_expr(job::Column::UpdatedAt, now.into())
            .col_expr(job::Column::FinishedAt, Some(now).into())
            .filter(job::Column::Id.eq(id.0))
            .filter(job::Column::Status.eq(JobStatus::Running.id()))
            .filter(job::Column::LockedBy.eq(worker))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Records a failed attempt: back to the queue after [`backoff`], or `Failed` when the
    /// attempts are used up (or `permanent`). Returns the new status, `None` if `worker` no
    /// longer held the job.
    pub async fn fail(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        permanent: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<JobStatus>, StoreError> {
        let Some(current) = self.get(id).await? else {
            return Ok(None);
        };
        if current.status != JobStatus::Running || current.locked_by.as_deref() != Some(worker) {
            return Ok(None);
        }
        let give_up = permanent || current.attempts >= current.max_attempts;
        let status = if give_up {
            JobStatus::Failed
        } else {
            JobStatus::Queued
        };
        let res = job::Entity::update_many()
            .col_expr(job::Column::Status, status.id().into())
            .col_expr(job::Column::LastError, Some(error.to_owned()).into())
            .col_expr(job::Column::LockedBy, Option::<String>::None.into())
            .col_expr(job::Column::RunAt, (now + backoff(current.attempts)).into())
            .col_expr(job::Column::UpdatedAt, now.into())
            .col_expr(
                job::Column::FinishedAt,
                if give_up { Some(now) } else { None }.into(),
            )
            .filter(job::Column::Id.eq(id.0))
            .filter(job::Column::Status.eq(JobStatus::Running.id()))
            .filter(job::Column::LockedBy.eq(worker))
            .exec(self.conn)
            .await?;
        Ok((res.rows_affected == 1).then_some(status))
    }

    /// Progress of a long job, for progress bars.
    pub async fn set_progress(&self, id: JobId, done: u64, total: u64) -> Result<(), StoreError> {
        job::Entity::update_many()
            .col_expr(
                job::Column::ProgressDone,
                Some(i64::try_from(done).unwrap_or(i64::MAX)).into(),
            )
            .col_expr(
                job::Column::ProgressTotal,
                Some(i64::try_from(total).unwrap_or(i64::MAX)).into(),
            )
            .col_expr(job::Column::UpdatedAt, Utc::now().into())
            .filter(job::Column::Id.eq(id.0))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Extends the lease of a long job: `false` when `worker` no longer holds it (the lease ran
    /// out and the job went back to the queue), in which case the worker must stop working on it.
    pub async fn renew_lease(
        &self,
        id: JobId,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let res = job::Entity::update_many()
            .col_expr(job::Column::LockedAt, Some(now).into())
            .col_expr(job::Column::UpdatedAt, now.into())
            .filter(job::Column::Id.eq(id.0))
            .filter(job::Column::Status.eq(JobStatus::Running.id()))
            .filter(job::Column::LockedBy.eq(worker))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Running jobs whose worker took the lease before `locked_before` (it crashed or hung) go
    /// back to the queue; the attempt they used counts. Returns how many.
    pub async fn release_stale(&self, locked_before: DateTime<Utc>) -> Result<u64, StoreError> {
        let res = job::Entity::update_many()
            .col_expr(job::Column::Status, JobStatus::Queued.id().into())
            .col_expr(job::Column::LockedBy, Option::<String>::None.into())
            .col_expr(
                job::Column::LastError,
                Some("ワーカーが応答しなくなったため、再実行します。".to_owned()).into(),
            )
            .col_expr(job::Column::UpdatedAt, Utc::now().into())
            .filter(job::Column::Status.eq(JobStatus::Running.id()))
            .filter(job::Column::LockedAt.lt(locked_before))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected)
    }

    /// Deletes jobs that ended long ago: done ones finished before `done_before`, failed ones
    /// before `failed_before` (kept longer, an operator may still look into them). Queued and
    /// running jobs are never touched. Without this the table grows by the ten-minute period
    /// look of every node (about 150 rows a day each) and every mail ever sent.
    pub async fn purge(
        &self,
        done_before: DateTime<Utc>,
        failed_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let ended = sea_orm::Condition::any()
            .add(
                sea_orm::Condition::all()
                    .add(job::Column::Status.eq(JobStatus::Done.id()))
                    .add(job::Column::FinishedAt.lt(done_before)),
            )
            .add(
                sea_orm::Condition::all()
                    .add(job::Column::Status.eq(JobStatus::Failed.id()))
                    .add(job::Column::FinishedAt.lt(failed_before)),
            );
        Ok(job::Entity::delete_many()
            .filter(ended)
            .exec(self.conn)
            .await?
            .rows_affected)
    }

    pub async fn get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        job::Entity::find_by_id(id.0)
            .one(self.conn)
            .await?
            .map(from_model)
            .transpose()
    }

    /// Jobs per status, every status present.
    pub async fn count_by_status(&self) -> Result<BTreeMap<JobStatus, u64>, StoreError> {
        let rows: Vec<(String, i64)> = job::Entity::find()
            .select_only()
            .column(job::Column::Status)
            .column_as(job::Column::Id.count(), "n")
            .group_by(job::Column::Status)
            .into_tuple()
            .all(self.conn)
            .await?;
        let mut out: BTreeMap<JobStatus, u64> = [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Done,
            JobStatus::Failed,
        ]
        .into_iter()
        .map(|s| (s, 0))
        .collect();
        for (s, n) in rows {
            let status = JobStatus::parse(&s).ok_or_else(|| corrupt("status", &s))?;
            out.insert(status, u64::try_from(n).unwrap_or(0));
        }
        Ok(out)
    }
}

fn active(j: &NewJob, now: DateTime<Utc>) -> job::ActiveModel {
    job::ActiveModel {
        kind: Set(j.kind.clone()),
        payload: Set(j.payload.to_string()),
        status: Set(JobStatus::Queued.id().to_owned()),
        run_at: Set(j.run_at.unwrap_or(now)),
        attempts: Set(0),
        max_attempts: Set(i32::try_from(j.max_attempts).unwrap_or(i32::MAX)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

fn corrupt(column: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: "job",
        column,
        message: e.to_string(),
    }
}

fn from_model(m: job::Model) -> Result<Job, StoreError> {
    let json = |column: &'static str, s: &str| {
        serde_json::from_str::<serde_json::Value>(s).map_err(|e| corrupt(column, e))
    };
    Ok(Job {
        id: JobId(m.id),
        kind: m.kind,
        payload: json("payload", &m.payload)?,
        status: JobStatus::parse(&m.status).ok_or_else(|| corrupt("status", &m.status))?,
        run_at: m.run_at,
        attempts: u32::try_from(m.attempts).unwrap_or(0),
        max_attempts: u32::try_from(m.max_attempts).unwrap_or(0),
        last_error: m.last_error,
        locked_by: m.locked_by,
        locked_at: m.locked_at,
        progress: match (m.progress_done, m.progress_total) {
            (Some(d), Some(t)) => {
                Some((u64::try_from(d).unwrap_or(0), u64::try_from(t).unwrap_or(0)))
            }
            _ => None,
        },
        result: m.result.as_deref().map(|r| json("result", r)).transpose()?,
        created_at: m.created_at,
        finished_at: m.finished_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(10));
        assert_eq!(backoff(2), Duration::seconds(20));
        assert_eq!(backoff(3), Duration::seconds(40));
        assert_eq!(backoff(9), Duration::seconds(2_560));
        assert_eq!(backoff(10), Duration::seconds(3_600));
        assert_eq!(backoff(1_000), Duration::seconds(3_600));
        assert_eq!(backoff(0), Duration::seconds(10));
    }
}
