//! Mail benchmark, run by `bench/run` (release build). Prints one JSON object:
//!
//! - `enqueue_sqlite_s` / `enqueue_pg_s`: render N 定期報告案内 mails from the shipped template and
//!   queue them with their delivery jobs in one transaction (what a prefecture's bulk mail costs);
//!   `render_s` is the rendering part alone.
//! - `delivery_per_s`: a worker drains M queued mails into a local SMTP sink (mailin-embedded on
//!   loopback) through the real SMTP transport, recording every outcome;
//!   `baseline_smtp_per_s` sends the same number of messages straight to the same sink with
//!   lettre, no queue and no database: the ceiling the worker is measured against.
//!
//! Usage: `mail_bench [--n 245000] [--deliver 20000] [--pg URL]`

use chrono::NaiveDate;
use mailin_embedded::{Handler as SmtpHandler, Response, Server, response};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use teikyo_mail::catalogue::PeriodicReportNotice;
use teikyo_mail::{
    MailConfig, MailTemplates, Mailer, Outgoing, TemplateSettings, TlsMode, Transport,
    TransportConfig, queue_bulk,
};
use teikyo_store::{Backend, MailFilter, MailStatus, NewMail, Store};
use teikyo_testkit::db::TestDb;
use teikyo_worker::{Worker, WorkerConfig};

#[derive(Clone)]
struct Sink(Arc<AtomicU64>);

impl SmtpHandler for Sink {
    fn data_end(&mut self) -> Response {
        self.0.fetch_add(1, Ordering::Relaxed);
        response::OK
    }
}

fn start_sink() -> anyhow::Result<(u16, Arc<AtomicU64>)> {
    let count = Arc::new(AtomicU64::new(0));
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let mut server = Server::new(Sink(count.clone()));
    server
        .with_name("sink.local")
        .with_num_threads(16)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    Ok((port, count))
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn templates() -> anyhow::Result<MailTemplates> {
    Ok(MailTemplates::load(TemplateSettings {
        sender_name: "Teikyo".into(),
        site_url: "https://teikyo.example.jp".into(),
        contact: "Teikyo ヘルプデスク 03-0000-0000".into(),
        message_id_domain: "teikyo.example.jp".into(),
        dir: None,
    })?)
}

fn outgoing(t: &MailTemplates, n: usize) -> Vec<Outgoing<PeriodicReportNotice>> {
    let deadline = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap_or_default();
    let reference = NaiveDate::from_ymd_opt(2025, 10, 1).unwrap_or_default();
    (0..n)
        .map(|i| Outgoing {
            to: format!("clinic{i}@example.jp"),
            content: PeriodicReportNotice {
                facility_name: format!("医療法人社団提供会 さくら内科クリニック{i}"),
                prefecture_name: "奈良県".into(),
                fiscal_year: "令和7年度".into(),
                reference_date: reference,
                deadline,
                report_url: t.link("/reports"),
                message: None,
            },
            related: Some(("facility".into(), i.to_string())),
            facility_id: None,
        })
        .collect()
}

fn compose_all(t: &MailTemplates, n: usize) -> anyhow::Result<Vec<NewMail>> {
    Ok(t.compose_many(&outgoing(t, n))?)
}

/// Renders and queues `n` mails in one transaction (what a bulk send does); returns (seconds
/// until the commit returned, seconds to render them alone, seconds until SQLite's deferred
/// checkpoint was done as well).
async fn enqueue(
    store: &Store,
    t: &Arc<MailTemplates>,
    n: usize,
) -> anyhow::Result<(f64, f64, f64)> {
    let items = outgoing(t, n);
    let start = Instant::now();
    let tx = store.begin().await?;
    let queued = queue_bulk(&tx, t, items, &mut |_| {}).await?;
    tx.commit().await?;
    let total = start.elapsed().as_secs_f64();
    store.checkpoint().await?;
    let with_checkpoint = start.elapsed().as_secs_f64();
    anyhow::ensure!(queued == n);
    let start = Instant::now();
    let rendered = compose_all(t, n)?;
    let render = start.elapsed().as_secs_f64();
    anyhow::ensure!(rendered.len() == n);
    Ok((total, render, with_checkpoint))
}

/// The database's own floor: it generates `n` mail rows of the same size itself (no rendering,
/// nothing sent over the connection) plus one delivery job per 250, in one transaction.
async fn floor(store: &Store, n: usize, body_bytes: usize) -> anyhow::Result<f64> {
    let (series, body, now) = match store.backend() {
        Backend::Sqlite => (
            format!(
                "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n})"
            ),
            format!("printf('%.*c', {body_bytes}, 'x')"),
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        ),
        Backend::Postgres => (
            format!("WITH g(i) AS (SELECT generate_series(1, {n}))"),
            format!("repeat('x', {body_bytes})"),
            "now()",
        ),
    };
    let sql = format!(
        "BEGIN; {series} INSERT INTO mail (template, to_address, subject, body_text, status, \
         message_id, related_kind, related_id, attempts, created_at, updated_at) \
         SELECT 'periodic_report_notice', 'clinic' || i || '@example.jp', \
         '【Teikyo】令和7年度定期報告のご案内', {body}, 'queued', \
         '<' || i || '.floor@teikyo.example.jp>', 'facility', CAST(i AS TEXT), 0, {now}, {now} \
         FROM g; \
         INSERT INTO job (kind, payload, status, run_at, attempts, max_attempts, created_at, \
         updated_at) SELECT 'mail.send', '{{\"mail_ids\":[' || id || ']}}', 'queued', {now}, 0, \
         8, {now}, {now} FROM mail WHERE id % 250 = 1; COMMIT;"
    );
    let start = Instant::now();
    store.execute_unprepared(&sql).await?;
    Ok(start.elapsed().as_secs_f64())
}

fn smtp(port: u16) -> TransportConfig {
    TransportConfig::Smtp {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::None,
        username: None,
        password: None,
        timeout_secs: 30,
        pool_size: 8,
    }
}

async fn deliver(store: &Store, t: &MailTemplates, m: usize, port: u16) -> anyhow::Result<f64> {
    let tx = store.begin().await?;
    tx.queue_mails(compose_all(t, m)?, &mut |_| {}).await?;
    tx.commit().await?;
    let mailer = Mailer::new(
        Transport::from_config(&smtp(port)).map_err(anyhow::Error::msg)?,
        MailConfig {
            from_address: "noreply@teikyo.example.jp".into(),
            sender_name: "Teikyo".into(),
            bounce_domain: None,
        },
    );
    let worker = Worker::new(
        store.clone(),
        "bench",
        WorkerConfig {
            concurrency: 8,
            ..WorkerConfig::default()
        },
    )
    .with_handler(Arc::new(mailer));
    let start = Instant::now();
    let jobs = worker.drain().await?;
    let secs = start.elapsed().as_secs_f64();
    let counts = store
        .mails()
        .count_by_status(&MailFilter::default())
        .await?;
    eprintln!("{jobs} delivery jobs");
    anyhow::ensure!(
        counts.get(&MailStatus::Delivered) == Some(&(m as u64)),
        "not all delivered: {counts:?}"
    );
    eprintln!("delivered {m} in {secs:.2} s");
    Ok(m as f64 / secs)
}

/// lettre straight to the sink, 8 sends in flight like the worker.
async fn baseline(t: &MailTemplates, m: usize, port: u16) -> anyhow::Result<f64> {
    let transport = Arc::new(Transport::from_config(&smtp(port)).map_err(anyhow::Error::msg)?);
    let mailer = Mailer::new(
        Transport::Memory(Default::default()),
        MailConfig {
            from_address: "noreply@teikyo.example.jp".into(),
            sender_name: "Teikyo".into(),
            bounce_domain: None,
        },
    );
    let rendered: Vec<_> = compose_all(t, m)?
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let mail = teikyo_store::Mail {
                id: teikyo_store::MailId(i as i64 + 1),
                template: n.template,
                to: n.to,
                subject: n.subject,
                body_text: n.body_text,
                status: MailStatus::Queued,
                message_id: n.message_id,
                related: None,
                facility_id: None,
                smtp_reply: None,
                attempts: 0,
                created_at: chrono::Utc::now(),
                updated_at: chrono::Utc::now(),
                sent_at: None,
                bounced_at: None,
            };
            mailer.render(&mail)
        })
        .collect::<Result<_, _>>()?;
    let rendered = Arc::new(rendered);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let lanes = (0..8).map(|_| {
        let (transport, rendered, next) = (transport.clone(), rendered.clone(), next.clone());
        async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some((env, bytes)) = rendered.get(i) else {
                    break;
                };
                transport
                    .send(env, bytes)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.reply))?;
            }
            anyhow::Ok(())
        }
    });
    futures::future::try_join_all(lanes).await?;
    Ok(m as f64 / start.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = arg("--n").and_then(|s| s.parse().ok()).unwrap_or(245_000);
    let m: usize = arg("--deliver")
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let t = Arc::new(templates()?);
    let mut out = serde_json::Map::new();
    out.insert("n".into(), n.into());

    let body_bytes = t
        .render_sample(teikyo_mail::MailKind::PeriodicReportNotice)?
        .body_text
        .len();
    out.insert("body_bytes".into(), body_bytes.into());
    let db = TestDb::new(Backend::Sqlite).await?;
    out.insert(
        "floor_sqlite_s".into(),
        floor(&db.store, n, body_bytes).await?.into(),
    );
    db.cleanup().await?;
    let db = TestDb::new(Backend::Sqlite).await?;
    let (secs, render, with_checkpoint) = enqueue(&db.store, &t, n).await?;
    out.insert("enqueue_sqlite_s".into(), secs.into());
    out.insert(
        "enqueue_sqlite_with_checkpoint_s".into(),
        with_checkpoint.into(),
    );
    out.insert("render_s".into(), render.into());
    db.cleanup().await?;

    if let Some(url) = arg("--pg") {
        let db = TestDb::postgres(&url).await?;
        out.insert(
            "floor_pg_s".into(),
            floor(&db.store, n, body_bytes).await?.into(),
        );
        db.cleanup().await?;
        let db = TestDb::postgres(&url).await?;
        let (secs, _, _) = enqueue(&db.store, &t, n).await?;
        out.insert("enqueue_pg_s".into(), secs.into());
        db.cleanup().await?;
    }

    let (port, received) = start_sink()?;
    let db = TestDb::new(Backend::Sqlite).await?;
    let rate = deliver(&db.store, &t, m, port).await?;
    db.cleanup().await?;
    out.insert("delivery_per_s".into(), rate.into());
    out.insert("deliver".into(), m.into());
    let base = baseline(&t, m, port).await?;
    out.insert("baseline_smtp_per_s".into(), base.into());
    anyhow::ensure!(
        received.load(Ordering::Relaxed) == 2 * m as u64,
        "the sink counted {} messages, expected {}",
        received.load(Ordering::Relaxed),
        2 * m
    );
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}
