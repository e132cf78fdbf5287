use anyhow::{bail, ensure};
use chrono::{Duration, Utc};
use serde_json::json;
use std::collections::HashSet;
use teikyo_store::{JobStatus, NewJob, Store};

pub async fn claim_hands_out_the_oldest_ready_job_once(store: Store) -> anyhow::Result<()> {
    let q = store.jobs();
    let a = q
        .enqueue(&NewJob::new("mail.send", json!({"n": 1})))
        .await?;
    let b = q
        .enqueue(&NewJob::new("mail.send", json!({"n": 2})))
        .await?;
    let now = Utc::now() + Duration::seconds(1);
    let Some(first) = q.claim("w1", &[], now).await? else {
        bail!("nothing claimed");
    };
    ensure!(
        first.id == a && first.payload == json!({"n": 1}),
        "{first:?}"
    );
    ensure!(first.status == JobStatus::Running && first.attempts == 1);
    ensure!(first.locked_by.as_deref() == Some("w1"));
    let second = q.claim("w2", &[], now).await?.map(|j| j.id);
    ensure!(second == Some(b), "{second:?}");
    ensure!(
        q.claim("w3", &[], now).await?.is_none(),
        "a job was handed out twice"
    );
    ensure!(q.complete(a, "w1", Some(&json!({"sent": true}))).await?);
    let done = q
        .get(a)
        .await?
        .map(|j| (j.status, j.result, j.finished_at.is_some()));
    ensure!(
        done == Some((JobStatus::Done, Some(json!({"sent": true})), true)),
        "{done:?}"
    );
    Ok(())
}

pub async fn claim_respects_run_at_and_kinds(store: Store) -> anyhow::Result<()> {
    let q = store.jobs();
    // a moment ahead, so that jobs enqueued "now" are ready
    let now = Utc::now() + Duration::seconds(1);
    let mut later = NewJob::new("mail.send", json!({}));
    later.run_at = Some(now + Duration::minutes(5));
    q.enqueue(&later).await?;
    let other = q.enqueue(&NewJob::new("index.update", json!({}))).await?;
    ensure!(
        q.claim("w", &["mail.send"], now).await?.is_none(),
        "claimed before run_at"
    );
    let got = q
        .claim("w", &["mail.send", "index.update"], now)
        .await?
        .map(|j| j.id);
    ensure!(got == Some(other), "{got:?}");
    let got = q
        .claim("w", &["mail.send"], now + Duration::minutes(6))
        .await?;
    ensure!(got.is_some_and(|j| j.kind == "mail.send"));
    Ok(())
}

pub async fn failures_back_off_then_give_up(store: Store) -> anyhow::Result<()> {
    let q = store.jobs();
    let mut job = NewJob::new("mail.send", json!({}));
    job.max_attempts = 2;
    let id = q.enqueue(&job).await?;
    let t0 = Utc::now() + Duration::seconds(1);
    ensure!(q.claim("w", &[], t0).await?.is_some());
    let status = q.fail(id, "w", "451 try later", false, t0).await?;
    ensure!(status == Some(JobStatus::Queued), "{status:?}");
    let j = q.get(id).await?;
    ensure!(j.as_ref().and_then(|j| j.last_error.as_deref()) == Some("451 try later"));
    ensure!(
        q.claim("w", &[], t0 + Duration::seconds(9))
            .await?
            .is_none(),
        "retried before backoff"
    );
    let again = q.claim("w", &[], t0 + Duration::seconds(11)).await?;
    ensure!(again.as_ref().map(|j| j.attempts) == Some(2), "{again:?}");
    let status = q
        .fail(id, "w", "451 again", false, t0 + Duration::seconds(11))
        .await?;
    ensure!(status == Some(JobStatus::Failed), "{status:?}");
    ensure!(
        q.claim("w", &[], t0 + Duration::hours(2)).await?.is_none(),
        "failed job retried"
    );
    // a permanent error gives up at once
    let id = q.enqueue(&NewJob::new("mail.send", json!({}))).await?;
    ensure!(q.claim("w", &[], t0 + Duration::hours(2)).await?.is_some());
    let status = q.fail(id, "w", "550 no such user", true, t0).await?;
    ensure!(status == Some(JobStatus::Failed), "{status:?}");
    Ok(())
}

pub async fn rolled_back_change_leaves_no_job(store: Store) -> anyhow::Result<()> {
    let tx = store.begin().await?;
    tx.jobs()
        .enqueue(&NewJob::new("mail.send", json!({"to": "a"})))
        .await?;
    tx.rollback().await?;
    let tx = store.begin().await?;
    tx.jobs()
        .enqueue(&NewJob::new("mail.send", json!({"to": "b"})))
        .await?;
    drop(tx); // dropped without commit: rolled back too
    let tx = store.begin().await?;
    tx.jobs()
        .enqueue(&NewJob::new("mail.send", json!({"to": "c"})))
        .await?;
    tx.commit().await?;
    let counts = store.jobs().count_by_status().await?;
    ensure!(counts[&JobStatus::Queued] == 1, "{counts:?}");
    let j = store
        .jobs()
        .claim("w", &[], Utc::now() + Duration::seconds(1))
        .await?;
    ensure!(j.map(|j| j.payload) == Some(json!({"to": "c"})));
    Ok(())
}

pub async fn stale_lease_goes_back_to_the_queue(store: Store) -> anyhow::Result<()> {
    let q = store.jobs();
    let id = q.enqueue(&NewJob::new("mail.send", json!({}))).await?;
    let t0 = Utc::now() + Duration::seconds(1);
    ensure!(q.claim("crashed", &[], t0).await?.is_some());
    ensure!(
        q.release_stale(t0 - Duration::seconds(1)).await? == 0,
        "fresh lease released"
    );
    ensure!(q.release_stale(t0 + Duration::seconds(1)).await? == 1);
    let j = q.claim("w2", &[], t0 + Duration::seconds(2)).await?;
    ensure!(
        j.as_ref().map(|j| (j.id, j.attempts)) == Some((id, 2)),
        "{j:?}"
    );
    ensure!(
        !q.complete(id, "crashed", None).await?,
        "the old holder overwrote the new one"
    );
    ensure!(q.fail(id, "crashed", "late", false, t0).await?.is_none());
    ensure!(q.complete(id, "w2", None).await?);
    Ok(())
}

pub async fn concurrent_workers_never_share_a_job(store: Store) -> anyhow::Result<()> {
    let jobs: Vec<_> = (0..120)
        .map(|n| NewJob::new("mail.send", json!({"n": n})))
        .collect();
    let tx = store.begin().await?;
    ensure!(tx.jobs().enqueue_many(&jobs).await? == 120);
    tx.commit().await?;
    let now = Utc::now() + Duration::seconds(1);
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(j) = store.jobs().claim(&format!("w{w}"), &[], now).await? {
                mine.push(j.id);
                tokio::task::yield_now().await;
            }
            anyhow::Ok(mine)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let unique: HashSet<_> = all.iter().collect();
    ensure!(
        all.len() == 120 && unique.len() == 120,
        "{} claims, {} distinct",
        all.len(),
        unique.len()
    );
    Ok(())
}

pub async fn progress_is_recorded(store: Store) -> anyhow::Result<()> {
    let q = store.jobs();
    let id = q
        .enqueue(&NewJob::new("import.facilities", json!({})))
        .await?;
    q.set_progress(id, 1_200, 245_000).await?;
    let p = q.get(id).await?.and_then(|j| j.progress);
    ensure!(p == Some((1_200, 245_000)), "{p:?}");
    Ok(())
}

pub async fn purge_deletes_only_long_ended_jobs(store: Store) -> anyhow::Result<()> {
    let q = store.jobs();
    let done = q.enqueue(&NewJob::new("period.mail", json!({}))).await?;
    let mut once = NewJob::new("mail.send", json!({}));
    once.max_attempts = 1;
    let failed = q.enqueue(&once).await?;
    let running = q.enqueue(&NewJob::new("mail.send", json!({}))).await?;
    let queued = q.enqueue(&NewJob::new("mail.send", json!({}))).await?;
    let now = Utc::now() + Duration::seconds(1);
    for (want, worker) in [(done, "w1"), (failed, "w2"), (running, "w3")] {
        let got = q.claim(worker, &[], now).await?.map(|j| j.id);
        ensure!(got == Some(want), "{got:?} claimed instead of {want:?}");
    }
    ensure!(q.complete(done, "w1", None).await?);
    let status = q.fail(failed, "w2", "550 no such user", true, now).await?;
    ensure!(status == Some(JobStatus::Failed), "{status:?}");
    let later = Utc::now() + Duration::hours(1);
    // Nothing ended before the cut-offs yet.
    ensure!(
        q.purge(now - Duration::hours(1), now - Duration::hours(1))
            .await?
            == 0
    );
    // Done jobs go first; the failed one is kept longer.
    ensure!(q.purge(later, now - Duration::hours(1)).await? == 1);
    ensure!(q.get(done).await?.is_none(), "the done job is still there");
    ensure!(
        q.get(failed).await?.is_some(),
        "the failed job went too early"
    );
    ensure!(q.purge(later, later).await? == 1);
    ensure!(q.get(failed).await?.is_none());
    for id in [running, queued] {
        ensure!(q.get(id).await?.is_some(), "{id:?} was purged unfinished");
    }
    Ok(())
}
