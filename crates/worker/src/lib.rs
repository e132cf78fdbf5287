//! The job worker: claims jobs from the store's durable queue and runs the handler registered for
//! their kind. In-process by default (`teikyo serve` runs one), or as its own process
//! (`teikyo worker`) when a deployment scales out; any number of workers may share one database.
//!
//! Delivery is at least once: a worker that dies after its handler did the work but before the
//! outcome was recorded leaves the job `running`; when its lease expires the job is claimed again.
//! Handlers whose effect must not repeat (sending mail) guard themselves with a key of their own.

use chrono::{Duration, Utc};
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use teikyo_store::{Job, JobId, JobStatus, Store, StoreError};
use tracing::Instrument;

/// How a handler failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (a 4xx SMTP reply, a timeout).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed (a 5xx SMTP reply, a malformed payload).
    #[error("{0}")]
    Permanent(String),
}

/// What a handler gets besides the job: the store, and a way to report progress.
pub struct JobContext<'a> {
    pub store: &'a Store,
    pub job: &'a Job,
}

impl JobContext<'_> {
    /// Keeps the lease of a long job. `Ok(false)`: another worker may have the job now (our lease
    /// expired); stop and return an error — the outcome will be discarded anyway.
    pub async fn renew_lease(&self) -> Result<bool, StoreError> {
        let Some(worker) = self.job.locked_by.as_deref() else {
            return Ok(false);
        };
        self.store
            .jobs()
            .renew_lease(self.job.id, worker, Utc::now())
            .await
    }

    pub async fn progress(&self, done: u64, total: u64) -> Result<(), StoreError> {
        self.store
            .jobs()
            .set_progress(self.job.id, done, total)
            .await
    }
}

pub type HandlerResult = Result<Option<serde_json::Value>, JobError>;

/// Runs jobs of one kind.
pub trait Handler: Send + Sync {
    fn kind(&self) -> &'static str;
    fn run<'a>(&'a self, ctx: JobContext<'a>) -> BoxFuture<'a, HandlerResult>;
}

/// What happened to a claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub job: JobId,
    pub kind: String,
    /// `Done`, `Queued` (will be retried) or `Failed`; `Running` if another worker took the job
    /// over meanwhile (our lease had expired) and our outcome was discarded.
    pub status: JobStatus,
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// A job running longer than this is presumed orphaned and handed to another worker.
    pub lease: Duration,
    /// Sleep between polls when the queue is empty.
    pub idle_poll: std::time::Duration,
    /// Jobs in hand at once. Mail delivery waits on the network most of the time, so a few
    /// concurrent jobs multiply throughput without more processes.
    pub concurrency: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            lease: Duration::minutes(10),
            idle_poll: std::time::Duration::from_millis(500),
            concurrency: 4,
        }
    }
}

#[derive(Clone)]
pub struct Worker {
    store: Store,
    id: String,
    handlers: HashMap<&'static str, Arc<dyn Handler>>,
    config: WorkerConfig,
}

impl Worker {
    /// `id` names this worker in the queue (`locked_by`); make it unique per process.
    pub fn new(store: Store, id: impl Into<String>, config: WorkerConfig) -> Self {
        Self {
            store,
            id: id.into(),
            handlers: HashMap::new(),
            config,
        }
    }

    pub fn with_handler(mut self, handler: Arc<dyn Handler>) -> Self {
        self.handlers.insert(handler.kind(), handler);
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Claims and runs one ready job; `None` when there was none.
    pub async fn run_once(&self) -> Result<Option<Outcome>, StoreError> {
        if self.handlers.is_empty() {
            // An empty kind list would mean "any kind" to the queue.
            return Ok(None);
        }
        let kinds: Vec<&str> = self.handlers.keys().copied().collect();
        let Some(job) = self
            .store
            .jobs()
            .claim(&self.id, &kinds, Utc::now())
            .await?
        else {
            return Ok(None);
        };
        let Some(handler) = self.handlers.get(job.kind.as_str()) else {
            // claim() only hands out our kinds; keep the job for a worker that knows it.
            let status = self
                .store
                .jobs()
                .fail(
                    job.id,
                    &self.id,
                    "この種類のジョブを処理できるワーカーがありません。",
                    false,
                    Utc::now(),
                )
                .await?;
            return Ok(Some(Outcome {
                job: job.id,
                kind: job.kind,
                status: status.unwrap_or(JobStatus::Running),
            }));
        };
        let span =
            tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
        let result = handler
            .run(JobContext {
                store: &self.store,
                job: &job,
            })
            .instrument(span)
            .await;
        let q = self.store.jobs();
        let status = match result {
            Ok(value) => {
                if q.complete(job.id, &self.id, value.as_ref()).await? {
                    Some(JobStatus::Done)
                } else {
                    None
                }
            }
            Err(e) => {
                let permanent = matches!(e, JobError::Permanent(_));
                tracing::warn!(error = %e, permanent, "job failed");
                q.fail(job.id, &self.id, &e.to_string(), permanent, Utc::now())
                    .await?
            }
        };
        if status.is_none() {
            tracing::warn!("job was taken over by another worker; outcome discarded");
        }
        Ok(Some(Outcome {
            job: job.id,
            kind: job.kind,
            status: status.unwrap_or(JobStatus::Running),
        }))
    }

    /// Runs ready jobs until none is left (tests, and `teikyo worker --once`).
    pub async fn run_until_idle(&self) -> Result<Vec<Outcome>, StoreError> {
        let mut out = Vec::new();
        while let Some(o) = self.run_once().await? {
            out.push(o);
        }
        Ok(out)
    }

    /// Puts jobs whose worker's lease expired back in the queue.
    pub async fn release_stale(&self) -> Result<u64, StoreError> {
        self.store
            .jobs()
            .release_stale(Utc::now() - self.config.lease)
            .await
    }

    /// Runs ready jobs, `concurrency` at a time, until none is left; returns how many ran
    /// (`teikyo worker --once`, benchmarks).
    pub async fn drain(&self) -> Result<usize, StoreError> {
        // join_all, not try_join_all: an error in one lane must not abandon the jobs the other
        // lanes are in the middle of (they would stay leased, their mails 送信中).
        let lanes = (0..self.config.concurrency.max(1)).map(|_| async {
            let mut n = 0usize;
            while self.run_once().await?.is_some() {
                n += 1;
            }
            Ok::<usize, StoreError>(n)
        });
        let mut total = 0;
        let mut first_error = None;
        for lane in futures::future::join_all(lanes).await {
            match lane {
                Ok(n) => total += n,
                Err(e) => {
                    tracing::error!(error = %e, "worker lane stopped");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }

    /// Works until `shutdown` resolves, with `concurrency` jobs in hand at most; jobs in hand are
    /// finished first.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let shutdown = futures::FutureExt::shared(Box::pin(shutdown));
        let sweeper = async {
            let mut shutdown = shutdown.clone();
            loop {
                match self.release_stale().await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(n, "released jobs of unresponsive workers"),
                    Err(e) => tracing::error!(error = %e, "cannot release stale jobs"),
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
                }
            }
        };
        let lanes = (0..self.config.concurrency.max(1)).map(|_| self.lane(shutdown.clone()));
        futures::future::join(sweeper, futures::future::join_all(lanes)).await;
        tracing::info!(worker = %self.id, "worker stopped");
    }

    async fn lane(&self, shutdown: impl Future<Output = ()> + Unpin) {
        let mut shutdown = shutdown;
        loop {
            let idle = match self.run_once().await {
                Ok(Some(_)) => false,
                Ok(None) => true,
                Err(e) => {
                    tracing::error!(error = %e, "worker cannot reach the queue");
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(self.config.idle_poll) => {}
                }
            } else if futures::FutureExt::now_or_never(&mut shutdown).is_some() {
                break;
            }
        }
    }
}
