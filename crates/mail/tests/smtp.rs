//! Delivery through a real SMTP server started in-process (mailin-embedded): what arrives, what a
//! refusal does to the mail's status, retries, and a worker dying mid-delivery.

use chrono::Utc;
use mailin_embedded::{Handler as SmtpHandler, Response, Server, response};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use teikyo_mail::{MailConfig, Mailer, TlsMode, Transport, TransportConfig, new_message_id};
use teikyo_store::{JobStatus, MailStatus, NewMail};
use teikyo_testkit::db::{TestDb, backends};
use teikyo_worker::{Worker, WorkerConfig};

#[derive(Default)]
struct SinkState {
    received: Vec<Vec<u8>>,
    current: Vec<u8>,
    /// How many more times `later@…` is refused with 451.
    tempfail_left: u32,
}

/// An SMTP server that accepts everything except `nobody@…` (550) and, a set number of times,
/// `later@…` (451).
#[derive(Clone)]
struct Sink(Arc<Mutex<SinkState>>);

impl SmtpHandler for Sink {
    fn rcpt(&mut self, to: &str) -> Response {
        let mut s = self.0.lock().unwrap();
        if to.starts_with("nobody@") {
            response::NO_MAILBOX
        } else if to.starts_with("later@") && s.tempfail_left > 0 {
            s.tempfail_left -= 1;
            response::INTERNAL_ERROR
        } else {
            response::OK
        }
    }
    fn data_start(&mut self, _: &str, _: &str, _: bool, _: &[String]) -> Response {
        self.0.lock().unwrap().current.clear();
        response::START_DATA
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.lock().unwrap().current.extend_from_slice(buf);
        Ok(())
    }
    fn data_end(&mut self) -> Response {
        let mut s = self.0.lock().unwrap();
        let m = std::mem::take(&mut s.current);
        s.received.push(m);
        response::OK
    }
}

/// Starts the sink on a free loopback port; it runs until the test process ends.
fn start_sink(tempfail: u32) -> (u16, Arc<Mutex<SinkState>>) {
    let state = Arc::new(Mutex::new(SinkState {
        tempfail_left: tempfail,
        ..SinkState::default()
    }));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut server = Server::new(Sink(state.clone()));
    server.with_name("sink.test").with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (port, state)
}

fn mailer(port: u16) -> Mailer {
    let transport = Transport::from_config(&TransportConfig::Smtp {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::None,
        username: None,
        password: None,
        timeout_secs: 10,
        pool_size: 2,
    })
    .unwrap();
    Mailer::new(
        transport,
        MailConfig {
            from_address: "info@teikyo.test".into(),
            sender_name: "Teikyo事務局".into(),
            bounce_domain: None,
        },
    )
}

fn new_mail(to: &str) -> NewMail {
    NewMail {
        template: "verification_code".into(),
        to: to.into(),
        subject: "【Teikyo事務局】認証コードのお知らせ".into(),
        body_text: "医療機関ご担当者様\n\n認証コードは 123456 です。\nお心当たりがない場合は、このメールを破棄してください。\n".into(),
        message_id: new_message_id("teikyo.test"),
        related: Some(("application".into(), "API-00001750".into())),
        facility_id: Some(7),
    }
}

/// Queues a mail in a committed transaction.
async fn queue(db: &TestDb, to: &str) -> anyhow::Result<teikyo_store::MailId> {
    let tx = db.store.begin().await?;
    let id = tx.queue_mail(&new_mail(to)).await?;
    tx.commit().await?;
    Ok(id)
}

fn worker(db: &TestDb, port: u16) -> Worker {
    Worker::new(db.store.clone(), "w", WorkerConfig::default()).with_handler(Arc::new(mailer(port)))
}

#[tokio::test]
async fn japanese_mail_arrives_intact_and_is_recorded_as_delivered() -> anyhow::Result<()> {
    let (port, sink) = start_sink(0);
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let id = queue(&db, "tanto@clinic.test").await?;
        let before = sink.lock().unwrap().received.len();
        let w = worker(&db, port);
        let outcomes = w.run_until_idle().await?;
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].status, JobStatus::Done);
        let raw = sink.lock().unwrap().received[before].clone();
        let parsed = mailparse::parse_mail(&raw)?;
        use mailparse::MailHeaderMap;
        assert_eq!(
            parsed.headers.get_first_value("Subject").as_deref(),
            Some("【Teikyo事務局】認証コードのお知らせ")
        );
        assert!(parsed.get_body()?.contains("認証コードは 123456 です。"));
        let from = parsed.headers.get_first_value("From").unwrap_or_default();
        assert!(
            from.contains("Teikyo事務局") && from.contains("info@teikyo.test"),
            "{from}"
        );
        let mail = db.store.mails().get(id).await?.expect("mail");
        assert_eq!(
            parsed.headers.get_first_value("Message-ID").as_deref(),
            Some(mail.message_id.as_str())
        );
        assert_eq!(mail.status, MailStatus::Delivered);
        assert!(
            mail.smtp_reply
                .as_deref()
                .is_some_and(|r| r.starts_with("250")),
            "{mail:?}"
        );
        assert!(mail.sent_at.is_some());
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_550_marks_the_mail_undeliverable_with_the_reply() -> anyhow::Result<()> {
    let (port, _sink) = start_sink(0);
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let id = queue(&db, "nobody@clinic.test").await?;
        let w = worker(&db, port);
        let outcomes = w.run_until_idle().await?;
        assert_eq!(
            outcomes[0].status,
            JobStatus::Failed,
            "no retry after a 5xx"
        );
        let mail = db.store.mails().get(id).await?.expect("mail");
        assert_eq!(mail.status, MailStatus::Bounced);
        assert_eq!(mail.status.label(), "不達");
        let reply = mail.smtp_reply.unwrap_or_default();
        assert!(
            reply.contains("550") && reply.contains("Mailbox unavailable"),
            "{reply}"
        );
        assert!(mail.bounced_at.is_some());
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_451_is_retried_and_then_delivered() -> anyhow::Result<()> {
    for backend in backends() {
        let (port, sink) = start_sink(1);
        let db = TestDb::new(backend).await?;
        let id = queue(&db, "later@clinic.test").await?;
        let w = worker(&db, port);
        let first = w.run_until_idle().await?;
        assert_eq!(first[0].status, JobStatus::Queued, "a 4xx is retried");
        let mail = db.store.mails().get(id).await?.expect("mail");
        assert_eq!(
            (mail.status, mail.status.label()),
            (MailStatus::Retrying, "再試行中")
        );
        assert!(
            mail.smtp_reply
                .as_deref()
                .is_some_and(|r| r.contains("451")),
            "{mail:?}"
        );
        // the retry is due after the backoff; claim it as the worker would then
        let job = db
            .store
            .jobs()
            .claim(
                "w",
                &["mail.send"],
                Utc::now() + chrono::Duration::seconds(11),
            )
            .await?
            .expect("retry due");
        let status = mailer(port)
            .deliver(&db.store, teikyo_store::MailId(id.0))
            .await;
        assert_eq!(status, Ok(MailStatus::Delivered));
        assert!(db.store.jobs().complete(job.id, "w", None).await?);
        let mail = db.store.mails().get(id).await?.expect("mail");
        assert_eq!((mail.status, mail.attempts), (MailStatus::Delivered, 2));
        assert_eq!(sink.lock().unwrap().received.len(), 1);
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_rolled_back_change_sends_no_mail() -> anyhow::Result<()> {
    let (port, sink) = start_sink(0);
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let tx = db.store.begin().await?;
        tx.queue_mail(&new_mail("tanto@clinic.test")).await?;
        // the change fails after queueing its mail
        tx.rollback().await?;
        let w = worker(&db, port);
        assert!(w.run_until_idle().await?.is_empty());
        assert!(
            db.store
                .mails()
                .list(&Default::default(), 10, 0)
                .await?
                .is_empty()
        );
        db.cleanup().await?;
    }
    assert!(sink.lock().unwrap().received.is_empty());
    Ok(())
}

/// The worker dies after claiming the job, before sending: after the restart the mail is sent,
/// once.
#[tokio::test]
async fn a_worker_killed_between_claim_and_send_sends_once_after_restart() -> anyhow::Result<()> {
    for backend in backends() {
        let (port, sink) = start_sink(0);
        let db = TestDb::new(backend).await?;
        let id = queue(&db, "tanto@clinic.test").await?;
        let claimed = db
            .store
            .jobs()
            .claim("killed", &["mail.send"], Utc::now())
            .await?;
        assert!(claimed.is_some());
        let config = WorkerConfig {
            lease: chrono::Duration::zero(),
            ..WorkerConfig::default()
        };
        let w =
            Worker::new(db.store.clone(), "restarted", config).with_handler(Arc::new(mailer(port)));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(w.release_stale().await?, 1);
        let outcomes = w.run_until_idle().await?;
        assert_eq!(outcomes.len(), 1);
        assert!(w.run_until_idle().await?.is_empty());
        assert_eq!(sink.lock().unwrap().received.len(), 1, "sent exactly once");
        let mail = db.store.mails().get(id).await?.expect("mail");
        assert_eq!((mail.status, mail.attempts), (MailStatus::Delivered, 1));
        db.cleanup().await?;
    }
    Ok(())
}

/// A bulk send: rendered from the shipped template, queued in one transaction as batch jobs; a
/// 550 ends one mail, a 451 moves one to a job of its own, the rest arrive.
#[tokio::test]
async fn a_bulk_send_delivers_each_mail_and_defers_only_the_refused_one() -> anyhow::Result<()> {
    use teikyo_mail::catalogue::PeriodicReportNotice;
    use teikyo_mail::{MailContent, MailTemplates, Outgoing, TemplateSettings, queue_bulk};
    let (port, sink) = start_sink(1);
    let templates = Arc::new(MailTemplates::load(TemplateSettings {
        sender_name: "Teikyo事務局".into(),
        site_url: "https://teikyo.test".into(),
        contact: "Teikyo事務局 03-0000-0000".into(),
        message_id_domain: "teikyo.test".into(),
        dir: None,
    })?);
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        sink.lock().unwrap().tempfail_left = 1;
        let before = sink.lock().unwrap().received.len();
        let to = [
            "a@clinic.test",
            "nobody@clinic.test",
            "later@clinic.test",
            "b@clinic.test",
        ];
        let items: Vec<_> = to
            .iter()
            .map(|t| Outgoing {
                to: t.to_string(),
                content: PeriodicReportNotice::sample(),
                related: None,
                facility_id: None,
            })
            .collect();
        let tx = db.store.begin().await?;
        let mut seen = 0;
        let n = queue_bulk(&tx, &templates, items, &mut |d| seen = d).await?;
        tx.commit().await?;
        assert_eq!((n, seen), (4, 4));
        let outcomes = worker(&db, port).run_until_idle().await?;
        assert_eq!(outcomes.len(), 1, "one batch job: {outcomes:?}");
        assert_eq!(outcomes[0].status, JobStatus::Done);
        let status_of = |addr: &'static str| {
            let store = db.store.clone();
            async move {
                let list = store
                    .mails()
                    .list(
                        &teikyo_store::MailFilter {
                            to: Some(addr.into()),
                            ..Default::default()
                        },
                        10,
                        0,
                    )
                    .await
                    .unwrap();
                list[0].status
            }
        };
        assert_eq!(status_of("a@clinic.test").await, MailStatus::Delivered);
        assert_eq!(status_of("b@clinic.test").await, MailStatus::Delivered);
        assert_eq!(status_of("nobody@clinic.test").await, MailStatus::Bounced);
        assert_eq!(status_of("later@clinic.test").await, MailStatus::Retrying);
        assert_eq!(sink.lock().unwrap().received.len() - before, 2);
        // The deferred mail waits for its backoff, then goes out on its own job.
        let job = db
            .store
            .jobs()
            .claim(
                "w",
                &["mail.send"],
                Utc::now() + chrono::Duration::minutes(1),
            )
            .await?
            .expect("a job for the refused mail");
        let id = job.payload["mail_id"].as_i64().expect("a single-mail job");
        let status = mailer(port)
            .deliver(&db.store, teikyo_store::MailId(id))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        assert_eq!(status, MailStatus::Delivered);
        assert_eq!(status_of("later@clinic.test").await, MailStatus::Delivered);
        let raw = sink.lock().unwrap().received.last().cloned().unwrap();
        let parsed = mailparse::parse_mail(&raw)?;
        use mailparse::MailHeaderMap;
        assert_eq!(
            parsed.headers.get_first_value("Subject").as_deref(),
            Some("【Teikyo事務局】令和7年度定期報告のご案内")
        );
        assert!(parsed.get_body()?.contains("報告期限: 2026年1月31日（土）"));
        db.cleanup().await?;
    }
    Ok(())
}

/// When the server cannot be reached at all, a batch is retried as one job later, instead of
/// spawning a job per mail.
#[tokio::test]
async fn an_unreachable_server_retries_the_whole_batch() -> anyhow::Result<()> {
    // A port nothing listens on: bind, note it, close.
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let mails: Vec<NewMail> = (0..5)
            .map(|i| new_mail(&format!("f{i}@clinic.test")))
            .collect();
        let tx = db.store.begin().await?;
        tx.queue_mails(mails, &mut |_| {}).await?;
        tx.commit().await?;
        let outcomes = worker(&db, port).run_until_idle().await?;
        assert_eq!(outcomes.len(), 1, "{outcomes:?}");
        assert_eq!(outcomes[0].status, JobStatus::Queued, "retried later");
        let jobs = db.store.jobs().count_by_status().await?;
        assert_eq!(jobs.values().sum::<u64>(), 1, "no job per mail: {jobs:?}");
        let counts = db
            .store
            .mails()
            .count_by_status(&teikyo_store::MailFilter::default())
            .await?;
        assert_eq!(counts[&MailStatus::Retrying], 1, "{counts:?}");
        assert_eq!(counts[&MailStatus::Queued], 4, "{counts:?}");
        db.cleanup().await?;
    }
    Ok(())
}
