//! The file transport (the demo's default) and the memory transport (tests).

use teikyo_mail::{MailConfig, Mailer, Transport, TransportConfig, new_message_id};
use teikyo_store::{MailStatus, NewMail};
use teikyo_testkit::db::TestDb;

fn mail() -> NewMail {
    NewMail {
        template: "verification_code".into(),
        to: "tanto@clinic.test".into(),
        subject: "【Teikyo】認証コードのお知らせ".into(),
        body_text: "認証コードは 654321 です。\n".into(),
        message_id: new_message_id("teikyo.test"),
        related: None,
        facility_id: None,
    }
}

fn config() -> MailConfig {
    MailConfig {
        from_address: "info@teikyo.test".into(),
        sender_name: "Teikyo".into(),
        bounce_domain: Some("bounce.teikyo.test".into()),
    }
}

#[tokio::test]
async fn file_transport_writes_one_eml_per_mail() -> anyhow::Result<()> {
    let db = TestDb::sqlite().await?;
    let dir = tempfile::tempdir()?;
    let transport = Transport::from_config(&TransportConfig::File {
        dir: dir.path().join("outbox"),
    })
    .map_err(anyhow::Error::msg)?;
    let mailer = Mailer::new(transport, config());
    let tx = db.store.begin().await?;
    let a = tx.queue_mail(&mail()).await?;
    let b = tx.queue_mail(&mail()).await?;
    tx.commit().await?;
    for id in [a, b] {
        assert_eq!(
            mailer.deliver(&db.store, id).await,
            Ok(MailStatus::Delivered)
        );
    }
    let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))?.collect();
    assert_eq!(files.len(), 2);
    let raw = std::fs::read(
        files[0]
            .as_ref()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .path(),
    )?;
    let parsed = mailparse::parse_mail(&raw)?;
    use mailparse::MailHeaderMap;
    assert_eq!(
        parsed.headers.get_first_value("Subject").as_deref(),
        Some("【Teikyo】認証コードのお知らせ")
    );
    let return_path = parsed
        .headers
        .get_first_value("Return-Path")
        .unwrap_or_default();
    assert!(
        return_path.starts_with("<bounce+") && return_path.ends_with("@bounce.teikyo.test>"),
        "{return_path}"
    );
    db.cleanup().await?;
    Ok(())
}

#[tokio::test]
async fn memory_transport_keeps_the_verp_return_path() -> anyhow::Result<()> {
    let db = TestDb::sqlite().await?;
    let transport = Transport::from_config(&TransportConfig::Memory).map_err(anyhow::Error::msg)?;
    let Transport::Memory(outbox) = transport.clone() else {
        anyhow::bail!("not a memory transport");
    };
    let mailer = Mailer::new(transport, config());
    let tx = db.store.begin().await?;
    let id = tx.queue_mail(&mail()).await?;
    tx.commit().await?;
    assert_eq!(
        mailer.deliver(&db.store, id).await,
        Ok(MailStatus::Delivered)
    );
    // delivered mail is never sent again by a stray second job
    assert_eq!(
        mailer.deliver(&db.store, id).await,
        Ok(MailStatus::Delivered)
    );
    let sent = outbox.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].envelope_from.as_deref(),
        Some(format!("bounce+{}@bounce.teikyo.test", id.0).as_str())
    );
    assert_eq!(sent[0].to, vec!["tanto@clinic.test".to_owned()]);
    db.cleanup().await?;
    Ok(())
}
