//! Publication (issue 7 §1): turns 確認完了 reports, the facility master and 臨時休診 into the
//! publication sequence the public side reads.
//!
//! - 確認完了 puts a [`project_job`] into the transition's own transaction; the job publishes
//!   the facility (so a document exists exactly when its confirmation does).
//! - A 臨時休診 declared or withdrawn publishes the facility again right away.
//! - Every node looks for facilities whose date rules or 臨時休診 change today
//!   ([`reevaluate_due`]) every few minutes: a future 開設日 becomes visible on its day, a
//!   廃止日 withdraws the facility on its day, an ended 臨時休診 drops out of the document.
//!
//! Applying the same evaluation twice changes nothing (`Applied::Unchanged`), so nodes may
//! repeat each other's work safely.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::future::BoxFuture;
use serde_json::json;
use teikyo_domain::forms::Catalogue;
use teikyo_domain::opening::japan_date;
use teikyo_domain::publication::{PublishedDocument, Visibility, next_date_change, visibility};
use teikyo_store::{Applied, Evaluation, FacilityId, NewJob, Store, StoreError};
use teikyo_worker::{Handler, HandlerResult, JobContext, JobError};

/// The job 確認完了 enqueues: payload `{"facilities": [id, …]}`.
pub const PROJECT_JOB: &str = "publication.project";

/// How often each node looks for due date changes.
pub const REEVALUATE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Facilities evaluated per store round trip.
const CHUNK: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("公表データの作成中にデータベースのエラーが発生しました: {0}")]
    Store(#[from] StoreError),
    #[error("公表データの作成に必要な調査票の定義（{0}）が見つかりません。")]
    UnknownItemSet(String),
}

impl PublishError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(_) => "publication.store",
            Self::UnknownItemSet(_) => "publication.unknown_item_set",
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishSummary {
    pub published: usize,
    pub withdrawn: usize,
    pub unchanged: usize,
    /// Never confirmed and never published directly: nothing to show or store.
    pub skipped: usize,
}

impl PublishSummary {
    fn add(&mut self, applied: &[Applied]) {
        for a in applied {
            match a {
                Applied::Published { .. } => self.published += 1,
                Applied::Withdrawn { .. } => self.withdrawn += 1,
                Applied::Unchanged => self.unchanged += 1,
            }
        }
    }
}

/// The job for a 確認完了 (or anything else that should republish facilities).
pub fn project_job(facilities: &[FacilityId]) -> NewJob {
    NewJob::new(
        PROJECT_JOB,
        json!({ "facilities": facilities.iter().map(|f| f.0).collect::<Vec<_>>() }),
    )
}

/// Builds and applies publication for facilities.
#[derive(Clone)]
pub struct Publisher {
    catalogue: Arc<Catalogue>,
}

impl Publisher {
    pub fn new(catalogue: Arc<Catalogue>) -> Self {
        Self { catalogue }
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Evaluates these facilities as of `now` and applies the result: the document of the last
    /// 確認完了 (rebuilt when a newer one exists, else the stored one) with the master as it is
    /// and the current 臨時休診, shown or withdrawn by the rules.
    pub async fn publish(
        &self,
        store: &Store,
        facilities: &[FacilityId],
        now: DateTime<Utc>,
    ) -> Result<PublishSummary, PublishError> {
        let mut summary = PublishSummary::default();
        for chunk in facilities.chunks(CHUNK) {
            let evaluations = self.evaluate(store, chunk, now).await?;
            summary.skipped += chunk.len() - evaluations.len();
            let applied = store.publications().apply(&evaluations, now).await?;
            summary.add(&applied);
        }
        Ok(summary)
    }

    /// Publishes documents built elsewhere (development data, imports) as if confirmed: they
    /// are evaluated by the same rules and kept until a real 確認完了 replaces them.
    pub async fn publish_documents(
        &self,
        store: &Store,
        documents: Vec<(FacilityId, PublishedDocument)>,
        now: DateTime<Utc>,
    ) -> Result<PublishSummary, PublishError> {
        let today = japan_date(now);
        let mut summary = PublishSummary::default();
        let mut documents = documents;
        while !documents.is_empty() {
            let rest = documents.split_off(documents.len().min(CHUNK));
            let chunk = std::mem::replace(&mut documents, rest);
            let ids: Vec<FacilityId> = chunk.iter().map(|(f, _)| *f).collect();
            let closures = store.publications().current_closures(&ids, today).await?;
            let evaluations: Vec<Evaluation> = chunk
                .into_iter()
                .map(|(id, mut doc)| {
                    doc.closures = closures_of(&closures, id);
                    self.evaluation(id, doc, today)
                })
                .collect();
            let applied = store.publications().apply(&evaluations, now).await?;
            summary.add(&applied);
        }
        Ok(summary)
    }

    fn evaluation(&self, id: FacilityId, doc: PublishedDocument, today: NaiveDate) -> Evaluation {
        let hidden = match visibility(&doc.facility, Some(&doc), &self.catalogue, today) {
            Visibility::Visible => Vec::new(),
            Visibility::Hidden(reasons) => reasons,
        };
        // The day after a 臨時休診 ends, it leaves the document.
        let closure_end = doc
            .closures
            .iter()
            .map(|c| c.to + Duration::days(1))
            .filter(|d| *d > today)
            .min();
        let next_change = [next_date_change(&doc.facility, today), closure_end]
            .into_iter()
            .flatten()
            .min();
        Evaluation {
            facility: id,
            document: doc,
            hidden,
            evaluated_on: today,
            next_change,
        }
    }

    async fn evaluate(
        &self,
        store: &Store,
        ids: &[FacilityId],
        now: DateTime<Utc>,
    ) -> Result<Vec<Evaluation>, PublishError> {
        let today = japan_date(now);
        let facilities = store.facilities().get_many(ids).await?;
        let states = store.publications().states(ids).await?;
        let confirmations = store.reports().last_confirmations(ids).await?;
        let closures = store.publications().current_closures(ids, today).await?;
        let mut out = Vec::with_capacity(ids.len());
        let by_id: HashMap<FacilityId, _> = facilities.into_iter().map(|f| (f.id, f)).collect();
        for id in ids {
            let Some(facility) = by_id.get(id) else {
                continue;
            };
            let state = states.get(id);
            // A 確認完了 newer than the stored document is built; otherwise the stored one
            // (also one published directly, which no confirmation backs) is kept.
            let newer = confirmations
                .get(id)
                .filter(|c| state.is_none_or(|s| s.document.confirmed_at < c.confirmed_at));
            let mut doc = match (newer, state) {
                (Some(c), s) => {
                    let set = self
                        .catalogue
                        .item_sets
                        .get(&c.item_set)
                        .ok_or_else(|| PublishError::UnknownItemSet(c.item_set.clone()))?;
                    PublishedDocument::build(
                        &facility.record,
                        set,
                        &c.answers,
                        c.confirmed_at,
                        japan_date(c.confirmed_at),
                        s.map(|s| &s.document),
                    )
                }
                (_, Some(s)) => s.document.clone(),
                (None, None) => continue,
            };
            doc.facility = facility.record.clone();
            doc.closures = closures_of(&closures, *id);
            out.push(self.evaluation(*id, doc, today));
        }
        Ok(out)
    }
}

/// A facility's current 臨時休診 as the document carries them.
fn closures_of(
    closures: &HashMap<FacilityId, Vec<teikyo_store::StoredClosure>>,
    id: FacilityId,
) -> Vec<teikyo_domain::opening::Closure> {
    closures
        .get(&id)
        .map(|cs| cs.iter().map(|c| c.closure.clone()).collect())
        .unwrap_or_default()
}

/// Publishes again every facility whose date rules or 臨時休診 change by now.
pub async fn reevaluate_due(
    store: &Store,
    publisher: &Publisher,
    now: DateTime<Utc>,
) -> Result<PublishSummary, PublishError> {
    let due = store.publications().due(japan_date(now)).await?;
    if due.is_empty() {
        return Ok(PublishSummary::default());
    }
    publisher.publish(store, &due, now).await
}

/// Runs [`PROJECT_JOB`].
pub struct ProjectHandler {
    publisher: Publisher,
}

impl ProjectHandler {
    pub fn new(publisher: Publisher) -> Self {
        Self { publisher }
    }
}

impl Handler for ProjectHandler {
    fn kind(&self) -> &'static str {
        PROJECT_JOB
    }

    fn run<'a>(&'a self, ctx: JobContext<'a>) -> BoxFuture<'a, HandlerResult> {
        Box::pin(async move {
            let ids: Vec<FacilityId> = ctx
                .job
                .payload
                .get("facilities")
                .and_then(|v| v.as_array())
                .ok_or_else(|| JobError::Permanent("公表ジョブに施設の一覧がありません。".into()))?
                .iter()
                .map(|v| {
                    v.as_i64().map(FacilityId).ok_or_else(|| {
                        JobError::Permanent(format!("公表ジョブの施設IDが数値ではありません: {v}"))
                    })
                })
                .collect::<Result<_, _>>()?;
            // In chunks with progress: a 臨時休診一括処理 over a whole prefecture publishes tens
            // of thousands of facilities, and its page shows how far it got.
            let total = ids.len() as u64;
            let mut summary = PublishSummary::default();
            let mut done = 0u64;
            for chunk in ids.chunks(CHUNK) {
                let s = self
                    .publisher
                    .publish(ctx.store, chunk, Utc::now())
                    .await
                    .map_err(|e| match e {
                        PublishError::Store(e) => JobError::Retry(e.to_string()),
                        other => JobError::Permanent(other.to_string()),
                    })?;
                summary.published += s.published;
                summary.withdrawn += s.withdrawn;
                summary.unchanged += s.unchanged;
                summary.skipped += s.skipped;
                done += chunk.len() as u64;
                if total > CHUNK as u64 {
                    ctx.progress(done, total)
                        .await
                        .map_err(|e| JobError::Retry(e.to_string()))?;
                }
            }
            Ok(Some(json!({
                "published": summary.published,
                "withdrawn": summary.withdrawn,
                "unchanged": summary.unchanged,
                "skipped": summary.skipped,
            })))
        })
    }
}
