//! Bounce reports (RFC 3464 DSNs and a plain-text bounce) read from fixtures, and what they do to
//! mail rows on both backends.
//!
//! Fixtures live in `tests/fixtures/dsn/`; `__MAIL_ID__` (in the VERP address) and
//! `__MESSAGE_ID__` (in the original's headers) are filled in per test, because ids are only
//! known once the mail is queued.

use teikyo_mail::bounce::{self, Bounce, BounceError, BounceOutcome, DsnAction};
use teikyo_mail::new_message_id;
use teikyo_store::{MailId, MailStatus, NewMail};
use teikyo_testkit::db::{TestDb, backends};

/// A fixture with the VERP mail id (or, with `None`, a plain `bounce@` address) and the
/// original's Message-ID filled in.
fn fixture(name: &str, mail_id: Option<i64>, message_id: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/dsn/{name}.eml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = match mail_id {
        Some(id) => text.replace("__MAIL_ID__", &id.to_string()),
        None => text.replace("bounce+__MAIL_ID__@", "bounce@"),
    };
    text.replace("__MESSAGE_ID__", message_id).into_bytes()
}

fn new_mail(to: &str, message_id: &str) -> NewMail {
    NewMail {
        template: "verification_code".into(),
        to: to.into(),
        subject: "【Teikyo事務局】認証コードのお知らせ".into(),
        body_text: "医療機関ご担当者様\n\n認証コードは 123456 です。\n".into(),
        message_id: message_id.into(),
        related: None,
        facility_id: None,
    }
}

/// Queues a mail and records it as accepted by the server (送信完了), as the worker would.
async fn delivered_mail(db: &TestDb, to: &str) -> anyhow::Result<(MailId, String)> {
    let message_id = new_message_id("teikyo.example.jp");
    let tx = db.store.begin().await?;
    let id = tx.queue_mail(&new_mail(to, &message_id)).await?;
    tx.commit().await?;
    db.store
        .mails()
        .mark(
            id,
            MailStatus::Delivered,
            "250 2.0.0 Ok: queued as 4VfJ2l6Qkpz9sWY",
        )
        .await?;
    Ok((id, message_id))
}

async fn status_and_reply(db: &TestDb, id: MailId) -> anyhow::Result<(MailStatus, String)> {
    let mail = db
        .store
        .mails()
        .get(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("mail {id} is gone"))?;
    Ok((mail.status, mail.smtp_reply.unwrap_or_default()))
}

const POSTFIX_DIAGNOSTIC: &str = "smtp; 550 5.1.1 <nobody@clinic.example.jp>: Recipient address \
     rejected: User unknown in local recipient table";

#[test]
fn postfix_dsn_fields_are_read_with_lf_and_crlf_line_ends() {
    let lf = fixture(
        "postfix-user-unknown",
        Some(42),
        "<abc.1@teikyo.example.jp>",
    );
    let crlf = String::from_utf8(lf.clone())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    for raw in [lf, crlf] {
        let bounces = bounce::parse_dsn(&raw).unwrap();
        assert_eq!(
            bounces,
            vec![Bounce {
                mail_id: Some(MailId(42)),
                original_message_id: Some("<abc.1@teikyo.example.jp>".into()),
                recipient: Some("nobody@clinic.example.jp".into()),
                action: DsnAction::Failed,
                status: Some("5.1.1".into()),
                diagnostic_code: Some(POSTFIX_DIAGNOSTIC.into()),
                remote_mta: Some("mx.clinic.example.jp".into()),
            }]
        );
        assert!(bounces[0].is_failure());
        assert_eq!(bounces[0].reply(), format!("5.1.1 {POSTFIX_DIAGNOSTIC}"));
    }
}

#[test]
fn exim_dsn_reads_the_message_id_from_the_attached_message() {
    let raw = fixture(
        "exim-mailbox-disabled",
        Some(7),
        "<exim.2@teikyo.example.jp>",
    );
    let bounces = bounce::parse_dsn(&raw).unwrap();
    assert_eq!(
        bounces,
        vec![Bounce {
            mail_id: Some(MailId(7)),
            original_message_id: Some("<exim.2@teikyo.example.jp>".into()),
            recipient: Some("kaigo@hospital.example.jp".into()),
            action: DsnAction::Failed,
            status: Some("5.0.0".into()),
            diagnostic_code: Some("smtp; 550 5.2.1 Mailbox disabled for this recipient".into()),
            remote_mta: Some("mx.hospital.example.jp".into()),
        }]
    );
    // without a VERP address the Message-ID alone identifies the mail
    let raw = fixture("exim-mailbox-disabled", None, "<exim.2@teikyo.example.jp>");
    let bounces = bounce::parse_dsn(&raw).unwrap();
    assert_eq!(bounces[0].mail_id, None);
    assert_eq!(
        bounces[0].original_message_id.as_deref(),
        Some("<exim.2@teikyo.example.jp>")
    );
}

#[test]
fn delayed_dsn_is_read_as_not_a_failure() {
    let raw = fixture("postfix-delayed", Some(3), "<d.3@teikyo.example.jp>");
    let bounces = bounce::parse_dsn(&raw).unwrap();
    assert_eq!(bounces.len(), 1);
    let b = &bounces[0];
    assert_eq!(b.action, DsnAction::Delayed);
    assert_eq!(b.status.as_deref(), Some("4.4.1"));
    assert_eq!(
        b.diagnostic_code.as_deref(),
        Some(
            "X-Postfix; connect to mx.slow-clinic.example.jp[203.0.113.9]:25: Connection timed out"
        )
    );
    assert_eq!(b.remote_mta, None);
    assert!(!b.is_failure());
}

#[test]
fn plain_text_bounce_to_a_verp_address_falls_back_to_failed() {
    let raw = fixture("qmail-plain-bounce", Some(11), "<q.11@teikyo.example.jp>");
    let bounces = bounce::parse_dsn(&raw).unwrap();
    assert_eq!(
        bounces,
        vec![Bounce {
            mail_id: Some(MailId(11)),
            // read from the quoted original: what shows the report is about our mail
            original_message_id: Some("<q.11@teikyo.example.jp>".into()),
            recipient: None,
            action: DsnAction::Failed,
            status: Some("5.1.1".into()),
            diagnostic_code: Some(
                "Remote host said: 550 5.1.1 <uketsuke@old-clinic.example.jp>... User unknown"
                    .into()
            ),
            remote_mta: None,
        }]
    );
    // the same text to a mailbox that names no mail is not a bounce we can use
    let raw = fixture("qmail-plain-bounce", None, "<q.11@teikyo.example.jp>");
    assert!(matches!(bounce::parse_dsn(&raw), Err(BounceError::NotDsn)));
    // nor is a "550" line to bounce+11@ without the original quoted (anyone can write that)
    let forged = b"To: bounce+11@teikyo.example.jp\nFrom: x@example.com\nSubject: hi\n\n\
        550 5.1.1 User unknown\n";
    assert!(matches!(
        bounce::parse_dsn(forged),
        Err(BounceError::NotDsn)
    ));
}

#[tokio::test]
async fn forged_or_premature_reports_change_nothing() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        // a DSN naming our mail by VERP but quoting a Message-ID that is not ours
        let (id, _) = delivered_mail(&db, "nobody@clinic.example.jp").await?;
        let raw = fixture("postfix-user-unknown", Some(id.0), "<forged@evil.example>");
        let outcomes = bounce::process(&db.store, &raw).await?;
        assert!(
            matches!(outcomes[0], BounceOutcome::Unmatched { .. }),
            "{outcomes:?}"
        );
        assert_eq!(status_and_reply(&db, id).await?.0, MailStatus::Delivered);
        // a genuine-looking report about a mail never handed to a server
        let tx = db.store.begin().await?;
        let queued = tx
            .queue_mail(&new_mail(
                "nobody@clinic.example.jp",
                "<queued.1@teikyo.example.jp>",
            ))
            .await?;
        tx.commit().await?;
        let raw = fixture(
            "postfix-user-unknown",
            Some(queued.0),
            "<queued.1@teikyo.example.jp>",
        );
        let outcomes = bounce::process(&db.store, &raw).await?;
        assert!(
            matches!(outcomes[0], BounceOutcome::Ignored { .. }),
            "{outcomes:?}"
        );
        assert_eq!(status_and_reply(&db, queued).await?.0, MailStatus::Queued);
        db.cleanup().await?;
    }
    Ok(())
}

#[test]
fn non_dsn_mail_is_refused() {
    // an auto-reply goes to the return path too, and has a number that looks like a 550
    let raw = fixture("auto-reply", Some(5), "<a.5@teikyo.example.jp>");
    let err = bounce::parse_dsn(&raw).unwrap_err();
    assert!(matches!(err, BounceError::NotDsn), "{err:?}");
    assert_eq!(err.code(), "mail.bounce.not_dsn");
    assert_eq!(
        err.to_string(),
        "配送状態通知（DSN）として読み取れませんでした。"
    );
    let err = bounce::parse_dsn(b"").unwrap_err();
    assert_eq!(err.code(), "mail.bounce.not_dsn");
}

#[test]
fn report_without_recipient_blocks_is_refused() {
    let raw = b"To: bounce+1@teikyo.example.jp\n\
        Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n\
        --b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.jp\n\n--b--\n";
    let err = bounce::parse_dsn(raw).unwrap_err();
    assert_eq!(err.code(), "mail.bounce.no_recipients");
}

#[tokio::test]
async fn a_delivered_mail_flips_to_bounced_by_its_verp_address() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let (id, message_id) = delivered_mail(&db, "nobody@clinic.example.jp").await?;
        let (other, _) = delivered_mail(&db, "tanto@clinic.example.jp").await?;
        let raw = fixture("postfix-user-unknown", Some(id.0), &message_id);
        let outcomes = bounce::process(&db.store, &raw).await?;
        let reply = format!("5.1.1 {POSTFIX_DIAGNOSTIC}");
        assert_eq!(
            outcomes,
            vec![BounceOutcome::Bounced {
                mail_id: id,
                to: "nobody@clinic.example.jp".into(),
                previous_status: MailStatus::Delivered,
                reply: reply.clone(),
            }]
        );
        assert_eq!(
            outcomes[0].to_string(),
            format!(
                "不達にしました: メール {id}（nobody@clinic.example.jp）{reply}（変更前: 送信完了）"
            )
        );
        assert_eq!(
            status_and_reply(&db, id).await?,
            (MailStatus::Bounced, reply.clone())
        );
        let mail = db.store.mails().get(id).await?.expect("mail");
        assert!(mail.bounced_at.is_some());
        assert_eq!(status_and_reply(&db, other).await?.0, MailStatus::Delivered);
        // the same report again changes nothing
        let again = bounce::process(&db.store, &raw).await?;
        assert_eq!(
            again,
            vec![BounceOutcome::AlreadyBounced {
                mail_id: id,
                to: "nobody@clinic.example.jp".into()
            }]
        );
        assert_eq!(
            status_and_reply(&db, id).await?,
            (MailStatus::Bounced, reply)
        );
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_report_without_verp_is_matched_by_message_id() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let (id, message_id) = delivered_mail(&db, "kaigo@hospital.example.jp").await?;
        let raw = fixture("exim-mailbox-disabled", None, &message_id);
        let outcomes = bounce::process(&db.store, &raw).await?;
        let reply = "5.0.0 smtp; 550 5.2.1 Mailbox disabled for this recipient".to_string();
        assert_eq!(
            outcomes,
            vec![BounceOutcome::Bounced {
                mail_id: id,
                to: "kaigo@hospital.example.jp".into(),
                previous_status: MailStatus::Delivered,
                reply: reply.clone(),
            }]
        );
        assert_eq!(
            status_and_reply(&db, id).await?,
            (MailStatus::Bounced, reply)
        );
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn the_message_id_wins_over_a_verp_address_naming_another_mail() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let (verp_named, _) = delivered_mail(&db, "tanto@clinic.example.jp").await?;
        let (id, message_id) = delivered_mail(&db, "nobody@clinic.example.jp").await?;
        let raw = fixture("postfix-user-unknown", Some(verp_named.0), &message_id);
        let outcomes = bounce::process(&db.store, &raw).await?;
        assert!(
            matches!(&outcomes[..], [BounceOutcome::Bounced { mail_id, .. }] if *mail_id == id),
            "{outcomes:?}"
        );
        assert_eq!(status_and_reply(&db, id).await?.0, MailStatus::Bounced);
        assert_eq!(
            status_and_reply(&db, verp_named).await?.0,
            MailStatus::Delivered
        );
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_delayed_report_leaves_the_status_alone() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let (id, message_id) = delivered_mail(&db, "jimu@slow-clinic.example.jp").await?;
        let raw = fixture("postfix-delayed", Some(id.0), &message_id);
        let outcomes = bounce::process(&db.store, &raw).await?;
        assert_eq!(
            outcomes,
            vec![BounceOutcome::Ignored {
                mail_id: id,
                to: "jimu@slow-clinic.example.jp".into(),
                action: DsnAction::Delayed,
                status: Some("4.4.1".into()),
                reason: "配送が遅れているという通知で、不達ではありません。".into(),
            }]
        );
        assert_eq!(
            status_and_reply(&db, id).await?,
            (
                MailStatus::Delivered,
                "250 2.0.0 Ok: queued as 4VfJ2l6Qkpz9sWY".into()
            )
        );
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_report_about_an_unknown_mail_is_unmatched() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let (id, _) = delivered_mail(&db, "nobody@clinic.example.jp").await?;
        let raw = fixture(
            "postfix-user-unknown",
            Some(987_654),
            "<unknown@elsewhere.example>",
        );
        let outcomes = bounce::process(&db.store, &raw).await?;
        assert_eq!(
            outcomes,
            vec![BounceOutcome::Unmatched {
                mail_id: Some(MailId(987_654)),
                original_message_id: Some("<unknown@elsewhere.example>".into()),
                recipient: Some("nobody@clinic.example.jp".into()),
            }]
        );
        assert_eq!(
            outcomes[0].to_string(),
            "対応するメールが見つかりませんでした: 宛先 nobody@clinic.example.jp、メール番号 987654、Message-ID <unknown@elsewhere.example>"
        );
        assert_eq!(status_and_reply(&db, id).await?.0, MailStatus::Delivered);
        db.cleanup().await?;
    }
    Ok(())
}
