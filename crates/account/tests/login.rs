//! Login, lockout and password setting against both databases.

use chrono::{Duration, Utc};
use teikyo_account::{LoginError, login, new_token, set_password};
use teikyo_domain::account::LoginId;
use teikyo_store::{NewUser, Store, UserId};
use teikyo_testkit::db::{TestDb, backends};

async fn user(store: &Store, login_id: &str) -> UserId {
    store
        .users()
        .create(&NewUser {
            login_id: LoginId::parse(login_id).unwrap(),
            email: "tanto@clinic.example.jp".into(),
            family_name: "山田".into(),
            given_name: "花子".into(),
            phone: None,
            extension: None,
            fax: None,
            department: None,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn full_width_upper_case_logs_in_and_failures_look_alike() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let id = user(&db.store, "abc123").await;
        let now = Utc::now();
        // no password yet: the same answer as a wrong one
        let err = login(&db.store, "abc123", "Teikyo2026", now)
            .await
            .unwrap_err();
        assert!(matches!(err, LoginError::Invalid), "{err:?}");
        set_password(&db.store, id, "Teikyo2026", now).await?;
        let ok = login(&db.store, "ＡＢｃ１２３", "Teikyo2026", now).await?;
        assert_eq!(ok.user, id);
        let wrong = login(&db.store, "abc123", "teikyo2026", now)
            .await
            .unwrap_err();
        let unknown = login(&db.store, "nobody99", "Teikyo2026", now)
            .await
            .unwrap_err();
        assert_eq!(wrong.to_string(), unknown.to_string());
        assert_eq!(wrong.code(), "account.login.invalid");
        assert_eq!(unknown.code(), "account.login.invalid");
        let actions: Vec<String> = db
            .store
            .audit()
            .list(None, 10)
            .await?
            .into_iter()
            .map(|r| r.event.action)
            .collect();
        assert_eq!(
            actions,
            [
                "account.login_unknown",
                "account.login_failed",
                "account.login",
                "account.password_set",
                "account.login_failed"
            ]
        );
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn ten_wrong_passwords_lock_and_say_until_when() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let id = user(&db.store, "lockme01").await;
        let now = Utc::now();
        set_password(&db.store, id, "Teikyo2026", now).await?;
        for n in 1..10 {
            let e = login(&db.store, "lockme01", "Wrong2026", now)
                .await
                .unwrap_err();
            assert!(matches!(e, LoginError::Invalid), "attempt {n}: {e:?}");
        }
        let e = login(&db.store, "lockme01", "Wrong2026", now)
            .await
            .unwrap_err();
        let LoginError::Locked { until } = e else {
            panic!("not locked: {e:?}");
        };
        assert!(e.to_string().contains("までログインできません"), "{e}");
        // 「11月21日 18時35分まで」: the date and time in Japan
        let jst = until.with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap());
        let when = jst.format("%-m月%-d日 %-H時%M分").to_string();
        assert!(
            e.to_string()
                .contains(&format!("{when}までログインできません")),
            "{e}"
        );
        // the right password does not help while locked
        let e = login(&db.store, "lockme01", "Teikyo2026", now)
            .await
            .unwrap_err();
        assert!(matches!(e, LoginError::Locked { .. }), "{e:?}");
        // after the lock, it does
        let later = until + Duration::seconds(1);
        assert_eq!(
            login(&db.store, "lockme01", "Teikyo2026", later)
                .await?
                .user,
            id
        );
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_new_password_follows_the_rule_and_ends_sessions() -> anyhow::Result<()> {
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let id = user(&db.store, "rule0001").await;
        let now = Utc::now();
        let e = set_password(&db.store, id, "short", now).await.unwrap_err();
        assert_eq!(e.code(), "account.password.rule");
        assert!(e.to_string().contains("8文字以上"), "{e}");
        let session = new_token();
        db.store
            .sessions()
            .create(&session.hash, id, now, Duration::hours(8))
            .await?;
        set_password(&db.store, id, "Teikyo2026", now).await?;
        let still = db
            .store
            .sessions()
            .touch(&session.hash, now, Duration::minutes(30))
            .await?;
        assert_eq!(still, None, "sessions end when the password changes");
        db.cleanup().await?;
    }
    Ok(())
}

/// A setup link: a password that breaks the rule does not use it up; it then works once, and a
/// second use says when it was used (the seeds' group-mailbox case).
#[tokio::test]
async fn a_setup_link_sets_a_password_once() -> anyhow::Result<()> {
    use teikyo_account::{LinkError, set_password_with_token};
    use teikyo_store::TokenPurpose;
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let id = user(&db.store, "link0001").await;
        let now = Utc::now();
        let token = new_token();
        db.store
            .tokens()
            .issue(
                &token.hash,
                TokenPurpose::PasswordSetup,
                Some(id),
                None,
                now,
                Duration::hours(72),
            )
            .await?;
        let e = set_password_with_token(
            &db.store,
            &token.plain,
            TokenPurpose::PasswordSetup,
            "weak",
            now,
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), "account.password.rule", "{e}");
        let set = set_password_with_token(
            &db.store,
            &token.plain,
            TokenPurpose::PasswordSetup,
            "Teikyo2026",
            now,
        )
        .await?;
        assert_eq!(set, id);
        assert_eq!(
            login(&db.store, "link0001", "Teikyo2026", now).await?.user,
            id
        );
        let again = set_password_with_token(
            &db.store,
            &token.plain,
            TokenPurpose::PasswordSetup,
            "Other2026x",
            now,
        )
        .await
        .unwrap_err();
        assert!(matches!(again, LinkError::Used(_)), "{again:?}");
        assert!(again.to_string().contains("使用済みです"), "{again}");
        let e = set_password_with_token(
            &db.store,
            "nonsense",
            TokenPurpose::PasswordSetup,
            "Teikyo2026",
            now,
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), "account.link.unknown");
        // the reset purpose does not accept a setup token
        let e = set_password_with_token(
            &db.store,
            &token.plain,
            TokenPurpose::PasswordReset,
            "Teikyo2026",
            now,
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), "account.link.unknown");
        db.cleanup().await?;
    }
    Ok(())
}
