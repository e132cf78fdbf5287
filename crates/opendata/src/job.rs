//! The export as a job (issue 8 §1: on demand, on a schedule): `opendata.export` runs on
//! whichever worker claims it. The daily look queues one when the day's snapshot is missing;
//! an operator's 「今すぐ作成」 queues one with `force`. A job finding the day's snapshot
//! already made does nothing, so looks from several nodes cost nothing.

use chrono::{Timelike, Utc};
use futures::future::BoxFuture;
use serde_json::json;
use teikyo_domain::opening::{japan_date, japan_time};
use teikyo_store::jobs::{JobId, NewJob};
use teikyo_store::{Store, StoreError};
use teikyo_worker::{Handler, HandlerResult, JobContext, JobError};

use crate::export::{ExportError, ExportOptions, Manifest, export};

pub const EXPORT_JOB: &str = "opendata.export";

/// How often each node looks whether the day's snapshot is due.
pub const LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Queues an export. `force`: make the snapshot even if today's exists (an operator's request).
pub async fn request(store: &Store, force: bool) -> Result<JobId, StoreError> {
    let job = NewJob {
        max_attempts: 3,
        ..NewJob::new(EXPORT_JOB, json!({ "force": force }))
    };
    store.jobs().enqueue(&job).await
}

/// Whether the day's snapshot is due at `now`: past `hour` (Japan time) and not made today.
pub fn due(manifest: Option<&Manifest>, now: chrono::DateTime<Utc>, hour: u32) -> bool {
    let today = japan_date(now);
    japan_time(now).hour() >= hour && manifest.is_none_or(|m| m.snapshot < today)
}

/// Runs [`EXPORT_JOB`] into one directory.
pub struct ExportHandler {
    dir: std::path::PathBuf,
    credit: String,
    licence: String,
}

impl ExportHandler {
    /// Each run's snapshot is its own day in Japan.
    pub fn new(dir: std::path::PathBuf, credit: String, licence: String) -> Self {
        Self {
            dir,
            credit,
            licence,
        }
    }
}

/// The database or a full disk may come back; a broken manifest is rewritten by the next run.
fn job_error(e: ExportError) -> JobError {
    JobError::Retry(e.to_string())
}

impl Handler for ExportHandler {
    fn kind(&self) -> &'static str {
        EXPORT_JOB
    }

    fn run<'a>(&'a self, ctx: JobContext<'a>) -> BoxFuture<'a, HandlerResult> {
        Box::pin(async move {
            let force = ctx
                .job
                .payload
                .get("force")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            let today = japan_date(Utc::now());
            let existing = Manifest::read(&self.dir).map_err(job_error)?;
            if !force && existing.as_ref().is_some_and(|m| m.snapshot >= today) {
                return Ok(Some(json!({ "skipped": "today's snapshot exists" })));
            }
            let options = ExportOptions {
                dir: self.dir.clone(),
                snapshot: today,
                credit: self.credit.clone(),
                licence: self.licence.clone(),
            };
            // Progress is written to the job row every few steps (235 in all).
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, u64)>();
            let mut progress = move |done: u64, total: u64| {
                if done.is_multiple_of(10) || done == total {
                    let _ = tx.send((done, total));
                }
            };
            let work = export(ctx.store, &options, &mut progress);
            tokio::pin!(work);
            let manifest = loop {
                tokio::select! {
                    result = &mut work => break result.map_err(job_error)?,
                    Some((done, total)) = rx.recv() => {
                        ctx.progress(done, total)
                            .await
                            .map_err(|e| JobError::Retry(e.to_string()))?;
                    }
                }
            };
            tracing::info!(
                snapshot = %manifest.snapshot,
                facilities = manifest.facilities,
                "オープンデータを作成しました"
            );
            Ok(Some(json!({
                "snapshot": manifest.snapshot.to_string(),
                "facilities": manifest.facilities,
                "files": manifest.files.len(),
            })))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn manifest(snapshot: NaiveDate) -> Manifest {
        Manifest {
            snapshot,
            generated_at: Utc::now(),
            publication_seq: 0,
            facilities: 0,
            omitted_without_code: 0,
            credit: String::new(),
            licence: String::new(),
            files: Vec::new(),
        }
    }

    #[test]
    fn the_daily_snapshot_is_due_once_a_day_after_its_hour() {
        // 2026-12-01 02:30 and 03:30 in Japan.
        let before = Utc.with_ymd_and_hms(2026, 11, 30, 17, 30, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 11, 30, 18, 30, 0).unwrap();
        let yesterday = manifest(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        let today = manifest(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert!(!due(Some(&yesterday), before, 3));
        assert!(due(Some(&yesterday), after, 3));
        assert!(due(None, after, 3));
        assert!(!due(Some(&today), after, 3));
    }
}
