use anyhow::{bail, ensure};
use chrono::{Duration, Utc};
use teikyo_domain::account::{Access, Area, LoginId, Membership, StaffLevel};
use teikyo_domain::{FacilityKind, MunicipalityCode, PrefectureCode};
use teikyo_store::{AuditEvent, NewUser, Store, StoreError, TokenPurpose, TokenState, UserId};

use crate::fixtures::facility;

fn new_user(login: &str, email: &str) -> NewUser {
    NewUser {
        login_id: LoginId::parse(login).unwrap(),
        email: email.into(),
        family_name: "山田".into(),
        given_name: "花子".into(),
        phone: Some("076-000-0000".into()),
        extension: None,
        fax: None,
        department: Some("事務部".into()),
    }
}

pub async fn users_are_found_by_what_people_type(store: Store) -> anyhow::Result<()> {
    let users = store.users();
    let id = users
        .create(&new_user("abc123", "Tanto@Clinic.example.jp"))
        .await?;
    let typed = LoginId::parse("ＡＢｃ１２３")?;
    let found = users.find_by_login_id(&typed).await?;
    ensure!(found.as_ref().map(|u| u.id) == Some(id), "{found:?}");
    let Some(u) = found else { bail!("not found") };
    ensure!(u.family_name == "山田" && u.password_hash.is_none() && u.active);
    match users.create(&new_user("ABC123", "other@example.jp")).await {
        Err(StoreError::Duplicate(_)) => {}
        other => bail!("a second abc123: {other:?}"),
    }
    let by_mail = users.find_by_email(" tanto@CLINIC.example.jp ").await?;
    ensure!(by_mail.len() == 1 && by_mail[0].id == id, "{by_mail:?}");
    users
        .set_password_hash(id, "$argon2id$v=19$m=19456,t=2,p=1$x$y")
        .await?;
    let u = users.get(id).await?;
    ensure!(u.and_then(|u| u.password_hash).is_some());
    Ok(())
}

pub async fn ten_wrong_passwords_lock_the_account(store: Store) -> anyhow::Result<()> {
    let users = store.users();
    let id = users.create(&new_user("locked01", "a@example.jp")).await?;
    let now = Utc::now();
    for n in 1..10 {
        ensure!(
            users.reserve_login_attempt(id, now).await?,
            "attempt {n} refused"
        );
        let lock = users.record_failed_login(id, now).await?;
        ensure!(lock.is_none(), "locked after {n}");
    }
    ensure!(users.reserve_login_attempt(id, now).await?);
    let Some(until) = users.record_failed_login(id, now).await? else {
        bail!("not locked after 10");
    };
    ensure!(until > now + Duration::minutes(14) && until <= now + Duration::minutes(15));
    let u = users.get(id).await?.unwrap();
    ensure!(u.locked_at(now) == Some(until));
    ensure!(
        !users.reserve_login_attempt(id, now).await?,
        "no check while locked"
    );
    ensure!(!users.record_login(id, now).await?, "no login while locked");
    ensure!(
        u.locked_at(until + Duration::seconds(1)).is_none(),
        "the lock ends"
    );
    // a success starts the count again
    let after = until + Duration::seconds(1);
    ensure!(users.reserve_login_attempt(id, after).await?);
    ensure!(users.record_login(id, after).await?);
    let u = users.get(id).await?.unwrap();
    ensure!(u.failed_logins == 0 && u.last_login_at.is_some());
    Ok(())
}

/// Guesses sent at once share the ten attempts: the 11th is refused before it is checked.
pub async fn parallel_guesses_share_the_attempts(store: Store) -> anyhow::Result<()> {
    let users = store.users();
    let id = users.create(&new_user("burst001", "b@example.jp")).await?;
    let now = Utc::now();
    for n in 1..=10 {
        ensure!(
            users.reserve_login_attempt(id, now).await?,
            "attempt {n} refused"
        );
    }
    ensure!(
        !users.reserve_login_attempt(id, now).await?,
        "an 11th check while ten are in flight"
    );
    // the first of them to fail locks the account; a correct one finishing later is refused
    ensure!(users.record_failed_login(id, now).await?.is_some());
    ensure!(!users.record_login(id, now).await?);
    Ok(())
}

pub async fn disabled_users_are_marked(store: Store) -> anyhow::Result<()> {
    let users = store.users();
    let id = users.create(&new_user("stopped1", "c@example.jp")).await?;
    users.set_active(id, false).await?;
    ensure!(!users.get(id).await?.unwrap().active);
    users.set_active(id, true).await?;
    ensure!(users.get(id).await?.unwrap().active);
    Ok(())
}

pub async fn tokens_work_once(store: Store) -> anyhow::Result<()> {
    let users = store.users();
    let id = users.create(&new_user("token01", "t@example.jp")).await?;
    let tokens = store.tokens();
    let now = Utc::now();
    let day = Duration::hours(24);
    tokens
        .issue("h1", TokenPurpose::PasswordSetup, Some(id), None, now, day)
        .await?;
    let valid = TokenState::Valid {
        user: Some(id),
        subject: None,
    };
    ensure!(tokens.state("h1", TokenPurpose::PasswordSetup, now).await? == valid);
    ensure!(
        tokens.state("h1", TokenPurpose::PasswordReset, now).await? == TokenState::Unknown,
        "a setup token is not a reset token"
    );
    let later = now + Duration::minutes(5);
    ensure!(
        tokens
            .consume("h1", TokenPurpose::PasswordSetup, later)
            .await?
            == valid
    );
    let again = tokens
        .consume("h1", TokenPurpose::PasswordSetup, later)
        .await?;
    ensure!(
        matches!(again, TokenState::Used(_)),
        "used twice: {again:?}"
    );
    // expiry
    tokens
        .issue(
            "h2",
            TokenPurpose::PasswordReset,
            Some(id),
            None,
            now,
            Duration::minutes(60),
        )
        .await?;
    let late = now + Duration::minutes(61);
    let st = tokens
        .consume("h2", TokenPurpose::PasswordReset, late)
        .await?;
    ensure!(matches!(st, TokenState::Expired(_)), "{st:?}");
    // a new link withdraws the previous unused one
    tokens
        .issue("h3", TokenPurpose::PasswordReset, Some(id), None, now, day)
        .await?;
    tokens
        .issue(
            "h4",
            TokenPurpose::PasswordReset,
            Some(id),
            None,
            later,
            day,
        )
        .await?;
    let st = tokens
        .state("h3", TokenPurpose::PasswordReset, later)
        .await?;
    ensure!(matches!(st, TokenState::Replaced(_)), "{st:?}");
    ensure!(matches!(
        tokens
            .state("h4", TokenPurpose::PasswordReset, later)
            .await?,
        TokenState::Valid { .. }
    ));
    // a token about an address, not a user
    tokens
        .issue(
            "h5",
            TokenPurpose::EmailConfirmation,
            None,
            Some("new@example.jp"),
            now,
            day,
        )
        .await?;
    ensure!(
        tokens
            .consume("h5", TokenPurpose::EmailConfirmation, now)
            .await?
            == TokenState::Valid {
                user: None,
                subject: Some("new@example.jp".into())
            }
    );
    ensure!(
        tokens
            .state("nope", TokenPurpose::PasswordSetup, now)
            .await?
            == TokenState::Unknown
    );
    Ok(())
}

pub async fn memberships_round_trip_as_access(store: Store) -> anyhow::Result<()> {
    let f1 = store
        .facilities()
        .insert(&facility(FacilityKind::Clinic, 1))
        .await?;
    let f2 = store
        .facilities()
        .insert(&facility(FacilityKind::Pharmacy, 2))
        .await?;
    let users = store.users();
    let id = users.create(&new_user("member01", "m@example.jp")).await?;
    let ishikawa = PrefectureCode::parse("17")?;
    let memberships = vec![
        Membership::Facility {
            facility_id: f1.0,
            admin: true,
            programs: vec![teikyo_domain::Program::MedicalFunction],
        },
        Membership::Prefecture {
            prefecture: ishikawa,
            level: StaffLevel::Reviewer,
            area: Area::Municipalities(vec![MunicipalityCode::parse("172022")?]),
        },
        Membership::Delegate {
            prefecture: ishikawa,
            facility_ids: vec![f1.0, f2.0],
        },
        Membership::Operator,
    ];
    for m in &memberships {
        users.add_membership(id, m).await?;
    }
    let access = users.access(id).await?;
    ensure!(access == Access { memberships }, "{access:?}");
    let staff = users.create(&new_user("member02", "s@example.jp")).await?;
    users
        .add_membership(
            staff,
            &Membership::Facility {
                facility_id: f1.0,
                admin: false,
                programs: vec![teikyo_domain::Program::MedicalFunction],
            },
        )
        .await?;
    let of_f1: Vec<UserId> = users
        .of_facility(f1.0)
        .await?
        .iter()
        .map(|u| u.id)
        .collect();
    ensure!(of_f1 == vec![id, staff], "{of_f1:?}");
    ensure!(
        users.of_facility(f2.0).await?.is_empty(),
        "delegates are not the facility's users"
    );
    ensure!(users.access(UserId(999_999)).await? == Access::default());
    Ok(())
}

pub async fn sessions_end_when_idle_or_old(store: Store) -> anyhow::Result<()> {
    let users = store.users();
    let id = users.create(&new_user("session01", "s@example.jp")).await?;
    let sessions = store.sessions();
    let now = Utc::now();
    let (idle, absolute) = (Duration::minutes(30), Duration::hours(12));
    sessions.create("s1", id, now, absolute).await?;
    sessions.create("s2", id, now, absolute).await?;
    sessions.create("s3", id, now, absolute).await?;
    ensure!(
        sessions
            .touch("s1", now + Duration::minutes(29), idle)
            .await?
            == Some(id)
    );
    // kept alive by use until a minute before the absolute end, then gone at it however
    // recently it was used
    let last = now + absolute - Duration::minutes(1);
    let mut t = now + Duration::minutes(29);
    while t + Duration::minutes(25) < last {
        t += Duration::minutes(25);
        ensure!(sessions.touch("s1", t, idle).await? == Some(id), "at {t}");
    }
    ensure!(
        sessions.touch("s1", last, idle).await? == Some(id),
        "a minute before the end"
    );
    ensure!(
        sessions.touch("s1", now + absolute, idle).await?.is_none(),
        "absolute end"
    );
    ensure!(
        sessions.touch("s1", now, idle).await?.is_none(),
        "ended sessions are gone"
    );
    ensure!(
        sessions
            .touch("s2", now + Duration::minutes(31), idle)
            .await?
            .is_none(),
        "idle end"
    );
    ensure!(sessions.revoke_all(id).await? == 1, "only s3 was left");
    ensure!(sessions.touch("s3", now, idle).await?.is_none());
    Ok(())
}

pub async fn audit_events_are_listed_in_scope(store: Store) -> anyhow::Result<()> {
    let audit = store.audit();
    let now = Utc::now();
    let ishikawa = PrefectureCode::parse("17")?;
    let tokyo = PrefectureCode::parse("13")?;
    for (action, pref) in [
        ("account.login_failed", Some(ishikawa)),
        ("account.email_changed", Some(tokyo)),
        ("account.locked", Some(ishikawa)),
        ("operator.note", None),
    ] {
        audit
            .record(
                &AuditEvent {
                    actor: None,
                    action: action.into(),
                    target: Some(("user".into(), "1".into())),
                    prefecture: pref,
                    facility_id: None,
                    detail: Some(serde_json::json!({"ip": "192.0.2.1"})),
                },
                now,
            )
            .await?;
    }
    let all = audit.list(None, 10).await?;
    ensure!(all.len() == 4 && all[0].event.action == "operator.note");
    let mine: Vec<String> = audit
        .list(Some(ishikawa), 10)
        .await?
        .into_iter()
        .map(|r| r.event.action)
        .collect();
    ensure!(
        mine == ["account.locked", "account.login_failed"],
        "{mine:?}"
    );
    ensure!(all[1].event.detail == Some(serde_json::json!({"ip": "192.0.2.1"})));
    Ok(())
}

/// The second factor's state: a pending secret until enabled, each time step accepted once
/// (also when two requests race), recovery codes used once, removal of everything.
pub async fn second_factor_steps_and_codes_work_once(store: Store) -> anyhow::Result<()> {
    let id = store
        .users()
        .create(&new_user("mfa00002", "m@example.jp"))
        .await?;
    let mfa = store.mfa();
    ensure!(mfa.totp(id).await?.is_none());
    ensure!(!mfa.enable(id, &[], Utc::now()).await?, "nothing to enable");
    ensure!(mfa.begin(id, "SECRETONE").await?);
    ensure!(
        mfa.begin(id, "SECRETTWO").await?,
        "a pending secret is replaced"
    );
    let t = mfa.totp(id).await?.unwrap();
    ensure!(t.secret == "SECRETTWO" && t.enabled_at.is_none());
    let other = store.mfa();
    let (a, b) = tokio::join!(mfa.accept_step(id, 100), other.accept_step(id, 100));
    ensure!(a? ^ b?, "one of two racing uses of a step passes");
    ensure!(!mfa.accept_step(id, 99).await?, "an older step");
    ensure!(mfa.accept_step(id, 101).await?);
    let now = Utc::now();
    let hashes: Vec<String> = (0..3).map(|i| format!("hash{i}")).collect();
    ensure!(mfa.enable(id, &hashes, now).await?);
    ensure!(
        store
            .users()
            .get(id)
            .await?
            .unwrap()
            .mfa_enabled_at
            .is_some()
    );
    ensure!(
        !mfa.begin(id, "SECRETTHREE").await?,
        "enabled: not replaced"
    );
    ensure!(mfa.recovery_codes_left(id).await? == 3);
    ensure!(mfa.use_recovery_code(id, "hash1", now).await?);
    ensure!(!mfa.use_recovery_code(id, "hash1", now).await?);
    ensure!(!mfa.use_recovery_code(id, "unknown", now).await?);
    ensure!(mfa.recovery_codes_left(id).await? == 2);
    mfa.replace_recovery_codes(id, &["new".to_owned()], now)
        .await?;
    ensure!(!mfa.use_recovery_code(id, "hash0", now).await?);
    ensure!(mfa.recovery_codes_left(id).await? == 1);
    mfa.disable(id).await?;
    ensure!(mfa.totp(id).await?.is_none());
    ensure!(mfa.recovery_codes_left(id).await? == 0);
    ensure!(
        store
            .users()
            .get(id)
            .await?
            .unwrap()
            .mfa_enabled_at
            .is_none()
    );
    Ok(())
}

/// Housekeeping: ended sessions (absolute end or idle) and tokens expired before a date go;
/// open sessions and recent tokens stay.
pub async fn ended_sessions_and_old_tokens_are_purged(store: Store) -> anyhow::Result<()> {
    let id = store
        .users()
        .create(&new_user("purge001", "p@example.jp"))
        .await?;
    let now = Utc::now();
    let sessions = store.sessions();
    sessions
        .create("open", id, now, Duration::hours(12))
        .await?;
    sessions
        .create("old", id, now - Duration::hours(13), Duration::hours(12))
        .await?;
    sessions
        .create("idle", id, now - Duration::hours(3), Duration::hours(12))
        .await?;
    ensure!(sessions.purge(now, Duration::hours(2)).await? == 2);
    ensure!(sessions.touch("open", now, Duration::hours(2)).await? == Some(id));
    let tokens = store.tokens();
    let week = Duration::days(7);
    tokens
        .issue(
            "recent",
            TokenPurpose::PasswordReset,
            Some(id),
            None,
            now,
            week,
        )
        .await?;
    tokens
        .issue(
            "ancient",
            TokenPurpose::PasswordSetup,
            Some(id),
            None,
            now - Duration::days(60),
            week,
        )
        .await?;
    ensure!(tokens.purge(now - Duration::days(30)).await? == 1);
    ensure!(matches!(
        tokens
            .state("recent", TokenPurpose::PasswordReset, now)
            .await?,
        TokenState::Valid { .. }
    ));
    ensure!(
        tokens
            .state("ancient", TokenPurpose::PasswordSetup, now)
            .await?
            == TokenState::Unknown
    );
    Ok(())
}
