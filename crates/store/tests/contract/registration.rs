use anyhow::ensure;
use chrono::{Duration, Utc};
use teikyo_domain::PrefectureCode;
use teikyo_domain::account::LoginId;
use teikyo_domain::registration::{ApplicationForm, ApplicationStatus, IssuanceOutcome};
use teikyo_store::{NewUser, RegistrationFilter, Store};

fn form(name: &str) -> ApplicationForm {
    ApplicationForm {
        facility_name: name.into(),
        kind: "2".into(),
        prefecture: "17".into(),
        ..ApplicationForm::default()
    }
}

/// From the address to the decision: resume by address, code bookkeeping, the applicant's
/// browser, the form kept as typed, one submission, one decision, the issuance outcome.
pub async fn an_application_goes_from_address_to_decision(store: Store) -> anyhow::Result<()> {
    let regs = store.registrations();
    let now = Utc::now();
    let id = regs.create("Tanto@Clinic.example.jp", now).await?;
    let found = regs.unfinished_for("tanto@clinic.example.jp").await?;
    ensure!(found.as_ref().map(|r| r.id) == Some(id), "{found:?}");
    ensure!(found.map(|r| r.status) == Some(ApplicationStatus::Verifying));

    regs.set_code(id, "hash1", now + Duration::minutes(30), now)
        .await?;
    ensure!(regs.count_code_attempt(id).await? == 1);
    ensure!(regs.count_code_attempt(id).await? == 2);
    regs.set_code(id, "hash2", now + Duration::minutes(30), now)
        .await?;
    let r = regs.get(id).await?.unwrap();
    ensure!(r.code_attempts == 0 && r.codes_sent == 2, "{r:?}");
    ensure!(r.code_hash.as_deref() == Some("hash2"));

    regs.confirm_email(id, "browser-hash", now).await?;
    let r = regs.by_applicant("browser-hash").await?.unwrap();
    ensure!(
        r.status == ApplicationStatus::Draft && r.code_hash.is_none(),
        "{r:?}"
    );
    ensure!(r.email_verified_at.is_some());

    let f = form("広坂クリニック");
    let ishikawa = PrefectureCode::parse("17")?;
    ensure!(regs.save_form(id, &f, Some(ishikawa), now).await?);
    regs.consent(id, now).await?;
    let number = regs.submit(id, now).await?.unwrap();
    ensure!(number.to_string() == format!("API-{:08}", id.0));
    ensure!(regs.submit(id, now).await?.is_none(), "submitted once");
    ensure!(
        !regs.save_form(id, &f, Some(ishikawa), now).await?,
        "no edits after submission"
    );
    let r = regs.by_number(number).await?.unwrap();
    ensure!(r.form == f && r.prefecture == Some(ishikawa), "{r:?}");
    ensure!(
        regs.unfinished_for("tanto@clinic.example.jp")
            .await?
            .is_none()
    );

    let reviewer = store
        .users()
        .create(&NewUser {
            login_id: LoginId::parse("reviewer1")?,
            email: "r@pref.example.jp".into(),
            family_name: "県".into(),
            given_name: "太郎".into(),
            phone: None,
            extension: None,
            fax: None,
            department: None,
        })
        .await?;
    let waiting = RegistrationFilter {
        prefectures: Some(vec![ishikawa]),
        status: Some(ApplicationStatus::Submitted),
    };
    ensure!(regs.count(&waiting).await? == 1);
    let elsewhere = RegistrationFilter {
        prefectures: Some(vec![PrefectureCode::parse("29")?]),
        status: None,
    };
    ensure!(regs.list(&elsewhere, 50, 0).await?.is_empty());
    ensure!(
        regs.decide(id, reviewer, false, Some("機関コード誤り"), now)
            .await?
    );
    ensure!(
        !regs.decide(id, reviewer, true, None, now).await?,
        "decided once"
    );
    let r = regs.get(id).await?.unwrap();
    ensure!(r.status == ApplicationStatus::Rejected, "{r:?}");
    ensure!(r.reject_reason.as_deref() == Some("機関コード誤り"));

    // 代理申請, approved, issued.
    let (proxy, n2) = regs
        .file_on_behalf(reviewer, "", &form("紙報告診療所"), ishikawa, now)
        .await?;
    ensure!(n2.0 == proxy.0);
    ensure!(regs.decide(proxy, reviewer, true, None, now).await?);
    regs.record_issuance(proxy, IssuanceOutcome::AlreadyPermitted, None, None, now)
        .await?;
    let r = regs.get(proxy).await?.unwrap();
    ensure!(r.filed_by == Some(reviewer) && r.email.is_empty(), "{r:?}");
    ensure!(r.outcome == Some(IssuanceOutcome::AlreadyPermitted));
    ensure!(regs.count(&RegistrationFilter::default()).await? == 2);
    Ok(())
}

/// An abandoned form comes back when the address is confirmed again, in another browser.
pub async fn an_abandoned_form_is_resumed_from_the_address(store: Store) -> anyhow::Result<()> {
    let regs = store.registrations();
    let now = Utc::now();
    let first = regs.create("a@clinic.example.jp", now).await?;
    regs.confirm_email(first, "browser-1", now).await?;
    regs.save_form(
        first,
        &form("途中の申請"),
        PrefectureCode::parse("17").ok(),
        now,
    )
    .await?;
    let second = regs.create("A@clinic.example.jp", now).await?;
    regs.confirm_email(second, "browser-2", now).await?;
    ensure!(regs.adopt_draft(second, "A@clinic.example.jp", now).await?);
    let r = regs.get(second).await?.unwrap();
    ensure!(r.form.facility_name == "途中の申請", "{r:?}");
    ensure!(regs.get(first).await?.is_none(), "the old draft is gone");
    ensure!(regs.by_applicant("browser-1").await?.is_none());
    ensure!(!regs.adopt_draft(second, "a@clinic.example.jp", now).await?);
    Ok(())
}

/// A solved captcha works once.
pub async fn a_captcha_solution_is_spent_once(store: Store) -> anyhow::Result<()> {
    let regs = store.registrations();
    let now = Utc::now();
    ensure!(
        regs.spend_captcha("sig-1", now + Duration::minutes(5), now)
            .await?
    );
    ensure!(
        !regs
            .spend_captcha("sig-1", now + Duration::minutes(5), now)
            .await?
    );
    // Expired ones are cleared: the same signature (past its expiry) is no longer remembered,
    // but its expiry already makes the solution invalid.
    ensure!(
        regs.spend_captcha("sig-2", now - Duration::minutes(1), now)
            .await?
    );
    ensure!(
        regs.spend_captcha("sig-2", now + Duration::minutes(5), now)
            .await?
    );
    Ok(())
}

/// 棚卸し: accounts of abolished facilities and accounts idle for long.
pub async fn inventory_lists_closed_and_idle_accounts(store: Store) -> anyhow::Result<()> {
    use teikyo_domain::account::Membership;
    use teikyo_store::InventoryReason;
    let mut gone = crate::fixtures::facility(teikyo_domain::FacilityKind::Clinic, 1);
    gone.abolished_on = chrono::NaiveDate::from_ymd_opt(2025, 3, 31);
    let gone = store.facilities().insert(&gone).await?;
    let open = store
        .facilities()
        .insert(&crate::fixtures::facility(
            teikyo_domain::FacilityKind::Clinic,
            2,
        ))
        .await?;
    let user = |login: &str| NewUser {
        login_id: LoginId::parse(login).unwrap(),
        email: format!("{login}@example.jp"),
        family_name: "山田".into(),
        given_name: "花子".into(),
        phone: None,
        extension: None,
        fax: None,
        department: None,
    };
    let users = store.users();
    let closed = users.create(&user("closed01")).await?;
    users
        .add_membership(
            closed,
            &Membership::Facility {
                facility_id: gone.0,
                admin: true,
                programs: vec![],
            },
        )
        .await?;
    let active = users.create(&user("active01")).await?;
    users
        .add_membership(
            active,
            &Membership::Facility {
                facility_id: open.0,
                admin: true,
                programs: vec![],
            },
        )
        .await?;
    users.record_login(active, Utc::now()).await?;
    // Idle since "tomorrow": everyone who never logged in counts as idle; the active user not.
    let list = users
        .inventory(Utc::now() - Duration::days(365), 100)
        .await?;
    ensure!(
        list.iter()
            .any(|(u, r)| u.id == closed && *r == InventoryReason::FacilityAbolished),
        "{list:?}"
    );
    ensure!(!list.iter().any(|(u, _)| u.id == active), "{list:?}");
    let list = users.inventory(Utc::now() + Duration::days(1), 100).await?;
    ensure!(
        list.iter()
            .any(|(u, r)| u.id == active && *r == InventoryReason::Inactive),
        "{list:?}"
    );
    users.set_active(closed, false).await?;
    let list = users
        .inventory(Utc::now() - Duration::days(365), 100)
        .await?;
    ensure!(
        !list.iter().any(|(u, _)| u.id == closed),
        "stopped accounts leave the list"
    );
    Ok(())
}

/// Two links issued at once for the same user (two workers handling two reset requests):
/// exactly one of them works, every time.
pub async fn racing_issues_leave_exactly_one_token(store: Store) -> anyhow::Result<()> {
    use teikyo_store::{TokenPurpose, TokenState};
    let user = store
        .users()
        .create(&NewUser {
            login_id: LoginId::parse("race01")?,
            email: "race@example.jp".into(),
            family_name: "競".into(),
            given_name: "走".into(),
            phone: None,
            extension: None,
            fax: None,
            department: None,
        })
        .await?;
    for round in 0..20 {
        let (a, b) = (format!("a{round:02}"), format!("b{round:02}"));
        let tokens = store.tokens();
        let now = Utc::now();
        let (ra, rb) = tokio::join!(
            tokens.issue(
                &a,
                TokenPurpose::PasswordReset,
                Some(user),
                None,
                now,
                Duration::hours(1)
            ),
            tokens.issue(
                &b,
                TokenPurpose::PasswordReset,
                Some(user),
                None,
                Utc::now(),
                Duration::hours(1)
            ),
        );
        ra?;
        rb?;
        let mut valid = 0;
        for h in [&a, &b] {
            if matches!(
                tokens
                    .state(h, TokenPurpose::PasswordReset, Utc::now())
                    .await?,
                TokenState::Valid { .. }
            ) {
                valid += 1;
            }
        }
        ensure!(valid == 1, "round {round}: {valid} valid tokens");
    }
    Ok(())
}
