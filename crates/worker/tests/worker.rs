//! The worker against a real (SQLite, and PostgreSQL when configured) queue.

use chrono::{Duration, Utc};
use futures::future::BoxFuture;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use teikyo_store::{JobStatus, NewJob};
use teikyo_testkit::db::{TestDb, backends};
use teikyo_worker::{Handler, HandlerResult, JobContext, JobError, Worker, WorkerConfig};

/// Counts its runs; fails as told by the payload (`"fail": "retry" | "permanent"`).
struct Counting(AtomicU32);

impl Handler for Counting {
    fn kind(&self) -> &'static str {
        "test.count"
    }
    fn run<'a>(&'a self, ctx: JobContext<'a>) -> BoxFuture<'a, HandlerResult> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::SeqCst);
            ctx.progress(1, 1)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            match ctx.job.payload["fail"].as_str() {
                Some("retry") => Err(JobError::Retry("451 4.3.0 try again later".into())),
                Some("permanent") => Err(JobError::Permanent("550 5.1.1 no such user".into())),
                _ => Ok(Some(json!({"ok": true}))),
            }
        })
    }
}

fn worker(db: &TestDb, id: &str, handler: Arc<Counting>) -> Worker {
    Worker::new(db.store.clone(), id, WorkerConfig::default()).with_handler(handler)
}

#[tokio::test]
async fn runs_jobs_and_records_outcomes() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let counting = Arc::new(Counting(AtomicU32::new(0)));
        let w = worker(&db, "w1", counting.clone());
        let q = db.store.jobs();
        let ok = q.enqueue(&NewJob::new("test.count", json!({}))).await?;
        let retry = q
            .enqueue(&NewJob::new("test.count", json!({"fail": "retry"})))
            .await?;
        let perm = q
            .enqueue(&NewJob::new("test.count", json!({"fail": "permanent"})))
            .await?;
        let other = q.enqueue(&NewJob::new("someone.else", json!({}))).await?;
        let outcomes = w.run_until_idle().await?;
        assert_eq!(outcomes.len(), 3, "{backend:?}: {outcomes:?}");
        assert_eq!(counting.0.load(Ordering::SeqCst), 3);
        let status = |id| {
            let q = db.store.jobs();
            async move {
                q.get(id)
                    .await
                    .map(|j| j.map(|j| (j.status, j.last_error, j.progress)))
            }
        };
        assert_eq!(
            status(ok).await?,
            Some((JobStatus::Done, None, Some((1, 1))))
        );
        let r = status(retry).await?;
        assert_eq!(r.as_ref().map(|r| r.0), Some(JobStatus::Queued), "{r:?}");
        assert_eq!(
            r.and_then(|r| r.1).as_deref(),
            Some("451 4.3.0 try again later")
        );
        assert_eq!(status(perm).await?.map(|r| r.0), Some(JobStatus::Failed));
        assert_eq!(
            status(other).await?.map(|r| r.0),
            Some(JobStatus::Queued),
            "not ours"
        );
        db.cleanup().await?;
    }
    Ok(())
}

/// A worker dies between claiming a job and finishing it: after its lease expires the job is run
/// exactly once more, by the next worker.
#[tokio::test]
async fn a_job_orphaned_by_a_dead_worker_runs_once_after_restart() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let id = db
            .store
            .jobs()
            .enqueue(&NewJob::new("test.count", json!({})))
            .await?;
        // the "dead" worker: claimed, never finished
        let claimed = db
            .store
            .jobs()
            .claim("dead", &["test.count"], Utc::now())
            .await?;
        assert!(claimed.is_some());
        let counting = Arc::new(Counting(AtomicU32::new(0)));
        let config = WorkerConfig {
            lease: Duration::zero(),
            ..WorkerConfig::default()
        };
        let w = Worker::new(db.store.clone(), "restarted", config).with_handler(counting.clone());
        assert!(
            w.run_until_idle().await?.is_empty(),
            "the job was still leased"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(w.release_stale().await?, 1);
        // the job becomes ready again at once (run_at is unchanged)
        let outcomes = w.run_until_idle().await?;
        assert_eq!(outcomes.len(), 1);
        assert_eq!(counting.0.load(Ordering::SeqCst), 1);
        let job = db.store.jobs().get(id).await?.expect("job");
        assert_eq!((job.status, job.attempts), (JobStatus::Done, 2));
        assert!(w.run_until_idle().await?.is_empty());
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn run_stops_on_shutdown() -> anyhow::Result<()> {
    let db = TestDb::sqlite().await?;
    let counting = Arc::new(Counting(AtomicU32::new(0)));
    let config = WorkerConfig {
        idle_poll: std::time::Duration::from_millis(10),
        ..WorkerConfig::default()
    };
    let w = Worker::new(db.store.clone(), "loop", config).with_handler(counting.clone());
    db.store
        .jobs()
        .enqueue(&NewJob::new("test.count", json!({})))
        .await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        w.run(async {
            let _ = stopped.await;
        })
        .await
    });
    for _ in 0..200 {
        if counting.0.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(counting.0.load(Ordering::SeqCst), 1);
    let _ = stop.send(());
    tokio::time::timeout(std::time::Duration::from_secs(5), running).await??;
    db.cleanup().await?;
    Ok(())
}
