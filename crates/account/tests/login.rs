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
        assert_eq!(ok, teikyo_account::LoginOutcome::Done { user: id });
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
                .user(),
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
            login(&db.store, "link0001", "Teikyo2026", now)
                .await?
                .user(),
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

/// The second factor end to end at the service level: enrolment by a first code, a login that
/// stops after the password, a code that works once, wrong codes counting towards the lockout,
/// recovery codes that work once, and removal.
#[tokio::test]
async fn a_second_factor_is_enrolled_used_once_and_guarded() -> anyhow::Result<()> {
    use teikyo_account::mfa::{self, MfaError, Verified};
    use teikyo_account::{LoginOutcome, second_factor};
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let store = &db.store;
        let id = user(store, "mfa00001").await;
        let now = Utc::now();
        set_password(store, id, "Teikyo2026", now).await?;
        let u = store.users().get(id).await?.unwrap();

        // Enrolment: a wrong code does not enable it; the right one does, with ten codes.
        let enrolment = mfa::begin(store, &u).await?;
        assert!(
            enrolment
                .otpauth_url
                .starts_with("otpauth://totp/Teikyo:mfa00001?secret=")
        );
        let wrong = mfa::confirm(store, &u, "Teikyo2026", "000000", now).await;
        let wrong_ok = matches!(wrong, Err(MfaError::WrongCode))
            || mfa::code_at(&enrolment.secret_base32, now)? == "000000";
        assert!(wrong_ok);
        assert!(mfa::pending(store, &u).await?.is_some());
        let code = mfa::code_at(&enrolment.secret_base32, now)?;
        // The password is asked again, then the code.
        assert!(matches!(
            mfa::confirm(store, &u, "Wrong2026", &code, now).await,
            Err(MfaError::WrongPassword)
        ));
        let recovery = mfa::confirm(store, &u, "Teikyo2026", &code, now).await?;
        assert_eq!(recovery.len(), 10);
        assert!(matches!(
            mfa::begin(store, &u).await,
            Err(MfaError::AlreadyEnabled)
        ));

        // Login: the password alone does not sign in.
        let LoginOutcome::SecondFactor { pending, user } =
            login(store, "mfa00001", "Teikyo2026", now).await?
        else {
            panic!("a second factor is asked for");
        };
        assert_eq!(user, id);
        // The enrolment's code (same step) cannot be replayed; the next step's can be used.
        let replay = second_factor(store, &pending.plain, &code, now)
            .await
            .unwrap_err();
        assert_eq!(replay.code(), "account.mfa.wrong_code");
        let next = mfa::code_at(&enrolment.secret_base32, now + Duration::seconds(30))?;
        let (signed_in, how) = second_factor(store, &pending.plain, &next, now).await?;
        assert_eq!((signed_in, how), (id, Verified::Totp));
        // The pending login is single-use too.
        let again = second_factor(store, &pending.plain, &next, now)
            .await
            .unwrap_err();
        assert_eq!(again.code(), "account.login.second_factor_expired");

        // A recovery code (typed in upper case, 全角 hyphen) works once. (Each login a second
        // later: of two pending logins only the newer works.)
        let t1 = now + Duration::seconds(1);
        let LoginOutcome::SecondFactor { pending, .. } =
            login(store, "mfa00001", "Teikyo2026", t1).await?
        else {
            panic!("a second factor is asked for");
        };
        let typed = recovery[3].to_uppercase().replace('-', "－");
        let (_, how) = second_factor(store, &pending.plain, &typed, t1).await?;
        assert_eq!(how, Verified::RecoveryCode { left: 9 });
        let LoginOutcome::SecondFactor { pending, .. } =
            login(store, "mfa00001", "Teikyo2026", now + Duration::seconds(2)).await?
        else {
            panic!("a second factor is asked for");
        };
        let reused = second_factor(store, &pending.plain, &recovery[3], now)
            .await
            .unwrap_err();
        assert_eq!(reused.code(), "account.mfa.wrong_code");

        // Wrong codes lock the account like wrong passwords (ten attempts in all, the password
        // steps included), and the message says until when.
        let mut locked = None;
        for _ in 0..10 {
            match second_factor(store, &pending.plain, "99999", now).await {
                Err(LoginError::Locked { until }) => {
                    locked = Some(until);
                    break;
                }
                Err(e) => assert_eq!(e.code(), "account.mfa.wrong_code"),
                Ok(_) => panic!("a wrong code signed in"),
            }
        }
        let until = locked.expect("locked by wrong codes");
        assert!(until > now);
        let right = mfa::code_at(&enrolment.secret_base32, now + Duration::seconds(60))?;
        let refused = second_factor(store, &pending.plain, &right, now)
            .await
            .unwrap_err();
        assert!(matches!(refused, LoginError::Locked { .. }), "{refused:?}");

        // A password reset does not lift the lock of a user with a second factor: someone
        // holding only the mailbox gets no fresh code guesses.
        set_password(store, id, "Teikyo2027", now).await?;
        let still = store.users().get(id).await?.unwrap();
        assert_eq!(still.locked_at(now), Some(until));
        // Removal asks for the password again, under the same lockout.
        let u = still;
        assert!(matches!(
            mfa::disable(store, &u, "Teikyo2027", now).await,
            Err(MfaError::Locked(_))
        ));
        let later = until + Duration::seconds(1);
        assert!(matches!(
            mfa::disable(store, &u, "wrong", later).await,
            Err(MfaError::WrongPassword)
        ));
        mfa::disable(store, &u, "Teikyo2027", later).await?;
        assert!(matches!(
            login(store, "mfa00001", "Teikyo2027", later).await?,
            LoginOutcome::Done { .. }
        ));
        let actions: Vec<String> = store
            .audit()
            .list(None, 100)
            .await?
            .into_iter()
            .map(|r| r.event.action)
            .collect();
        for a in [
            "account.mfa_enabled",
            "account.mfa_failed",
            "account.mfa_recovery_code_used",
            "account.mfa_disabled",
            "account.login_password_ok",
        ] {
            assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
        }
        db.cleanup().await?;
    }
    Ok(())
}

/// Password steps whose code step is never finished count as attempts; at the limit the account
/// locks for a while (and says until when) instead of refusing forever without a reason.
#[tokio::test]
async fn abandoned_code_steps_end_in_a_lock_that_ends() -> anyhow::Result<()> {
    use teikyo_account::LoginOutcome;
    for backend in backends() {
        let db = TestDb::new(backend).await?;
        let store = &db.store;
        let id = user(store, "mfa00003").await;
        let now = Utc::now();
        set_password(store, id, "Teikyo2026", now).await?;
        assert!(
            store
                .mfa()
                .begin(id, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
                .await?
        );
        assert!(store.mfa().enable(id, &[], now).await?);
        for _ in 0..10 {
            let out = login(store, "mfa00003", "Teikyo2026", now).await?;
            assert!(matches!(out, LoginOutcome::SecondFactor { .. }));
        }
        let e = login(store, "mfa00003", "Teikyo2026", now)
            .await
            .unwrap_err();
        let LoginError::Locked { until } = e else {
            panic!("locked, with an end: {e:?}");
        };
        let later = until + Duration::seconds(1);
        assert!(matches!(
            login(store, "mfa00003", "Teikyo2026", later).await?,
            LoginOutcome::SecondFactor { .. }
        ));
        db.cleanup().await?;
    }
    Ok(())
}
