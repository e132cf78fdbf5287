//! Who else may act, over HTTP with the mail read from the in-memory transport: a clinic's admin
//! invites a colleague (who sets a password from the mail) and removes them again; a chain clerk
//! is added to a second clinic by login ID and address and switches between both on the home
//! screen; a prefecture admin adds a 保健所 member of staff and a delegate, and a reviewer may
//! not. Each runs on SQLite and, with `TEIKYO_TEST_DATABASE_URL`, on PostgreSQL.

use axum::http::StatusCode;
use teikyo_domain::account::StaffLevel;
use teikyo_testkit::web::{
    Client, PASSWORD, ReadMail, SITE_URL, Site, create_user, facility_admin, kanazawa_clinic,
    on_each_backend, prefecture_staff,
};

/// The one 利用者追加のお知らせ to `address`, and the login ID it gives.
async fn invitation(site: &Site, address: &str) -> (ReadMail, String) {
    site.run_jobs().await;
    let mails: Vec<ReadMail> = site
        .mails_to(address)
        .into_iter()
        .filter(|m| m.subject.contains("利用者追加のお知らせ"))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = mails[0].clone();
    let login_id = mail
        .body
        .lines()
        .find_map(|l| l.strip_prefix("ログインID: "))
        .unwrap()
        .trim()
        .to_owned();
    (mail, login_id)
}

/// Sets the password from the mail's link; the client is signed in after.
async fn set_password(site: &Site, mail: &ReadMail) -> Client {
    let link = mail.link(&format!("{SITE_URL}/s/")).expect("a setup link");
    let mut c = site.client();
    c.get(&link).await;
    let res = c
        .post(
            &link,
            &[("password", "Nakama2026"), ("confirm", "Nakama2026")],
        )
        .await;
    assert_eq!(res.location.as_deref(), Some("/home?done=password"));
    c
}

#[tokio::test]
async fn a_clinic_admin_invites_a_colleague_and_removes_them() {
    on_each_backend(|site| async move {
        let f = kanazawa_clinic(&site.store, "広坂クリニック", "1700000201").await;
        create_user(&site.store, "kanri001", &[facility_admin(f)]).await;
        let mut admin = site.client();
        admin.login("kanri001", PASSWORD).await;
        let home = admin.get("/home").await;
        assert!(
            home.body.contains(&format!("/facility/{f}/users")),
            "{}",
            home.body
        );
        let page = admin.get(&format!("/facility/{f}/users")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("kanri001"));

        // Mistakes are shown, with what was typed kept.
        let bad = admin
            .post(
                &format!("/facility/{f}/users"),
                &[("email", "not-an-address"), ("family_name", "事務")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("メールアドレスを正しく入力してください"));
        assert!(bad.body.contains("名を入力してください"));
        assert!(bad.body.contains("value=\"事務\""), "kept as typed");

        let res = admin
            .post(
                &format!("/facility/{f}/users"),
                &[
                    ("email", "jimu@hirosaka.example.jp"),
                    ("family_name", "事務"),
                    ("given_name", "次郎"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let (mail, login_id) = invitation(&site, "jimu@hirosaka.example.jp").await;
        assert!(mail.body.contains("広坂クリニック"), "{}", mail.body);
        assert!(
            mail.body.contains("医療機関・薬局の利用者（利用者）"),
            "{}",
            mail.body
        );
        let notice = admin.get(res.location.as_deref().unwrap()).await;
        assert!(notice.body.contains(&login_id), "{}", notice.body);

        // The colleague sets a password and sees the clinic, not as its admin.
        let mut colleague = set_password(&site, &mail).await;
        let home = colleague.get("/home").await;
        assert!(home.body.contains("広坂クリニック"), "{}", home.body);
        assert!(!home.body.contains("この施設の管理者"), "{}", home.body);
        assert_eq!(
            colleague.get(&format!("/facility/{f}/users")).await.status,
            StatusCode::FORBIDDEN
        );

        // Removed: the colleague's open session ends at once.
        let page = admin.get(&format!("/facility/{f}/users")).await;
        let id = site
            .store
            .users()
            .find_by_login_id(&teikyo_domain::account::LoginId::parse(&login_id).unwrap())
            .await
            .unwrap()
            .unwrap()
            .id;
        assert!(page.body.contains(&format!("/users/{}/remove", id.0)));
        let res = admin
            .post(
                &format!("/facility/{f}/users/{}/remove", id.0),
                &[("kind", "facility")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert_eq!(colleague.get("/home").await.status, StatusCode::SEE_OTHER);
        // Not themselves.
        let me = site
            .store
            .users()
            .find_by_login_id(&teikyo_domain::account::LoginId::parse("kanri001").unwrap())
            .await
            .unwrap()
            .unwrap()
            .id;
        admin.get(&format!("/facility/{f}/users")).await;
        let res = admin
            .post(&format!("/facility/{f}/users/{}/remove", me.0), &[])
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test]
async fn a_chain_clerk_is_added_to_a_second_clinic_and_switches_on_the_home_screen() {
    on_each_backend(|site| async move {
        let a = kanazawa_clinic(&site.store, "広坂クリニック", "1700000202").await;
        let b = kanazawa_clinic(&site.store, "香林坊クリニック", "1700000203").await;
        create_user(&site.store, "chain001", &[facility_admin(a)]).await;
        create_user(&site.store, "kanri002", &[facility_admin(b)]).await;
        let mut admin_b = site.client();
        admin_b.login("kanri002", PASSWORD).await;
        admin_b.get(&format!("/facility/{b}/users")).await;
        // The address must be the one registered with that login ID.
        let wrong = admin_b
            .post(
                &format!("/facility/{b}/users"),
                &[
                    ("email", "someone@else.example.jp"),
                    ("existing_login_id", "CHAIN001"),
                    ("admin", "yes"),
                ],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong.body.contains("組み合わせは登録されていません"));
        let res = admin_b
            .post(
                &format!("/facility/{b}/users"),
                &[
                    ("email", "chain001@test.example.jp"),
                    ("existing_login_id", "CHAIN001"),
                    ("admin", "yes"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let (mail, login_id) = invitation(&site, "chain001@test.example.jp").await;
        assert_eq!(login_id, "chain001");
        assert!(
            mail.link(&format!("{SITE_URL}/s/")).is_none(),
            "no new password"
        );
        // Twice is once.
        admin_b.get(&format!("/facility/{b}/users")).await;
        let again = admin_b
            .post(
                &format!("/facility/{b}/users"),
                &[
                    ("email", "chain001@test.example.jp"),
                    ("existing_login_id", "chain001"),
                ],
            )
            .await;
        assert!(again.body.contains("すでに同じ役割で登録されています"));

        let mut chain = site.client();
        chain.login("chain001", PASSWORD).await;
        let home = chain.get("/home").await;
        assert!(home.body.contains("広坂クリニック") && home.body.contains("香林坊クリニック"));
        assert!(home.body.contains(&format!("/facility/{a}/users")));
        assert!(home.body.contains(&format!("/facility/{b}/users")));
    })
    .await;
}

#[tokio::test]
async fn a_prefecture_admin_adds_staff_and_a_delegate() {
    on_each_backend(|site| async move {
        let f = kanazawa_clinic(&site.store, "広坂クリニック", "1700000204").await;
        create_user(
            &site.store,
            "kanri017",
            &[prefecture_staff("17", StaffLevel::Admin)],
        )
        .await;
        create_user(
            &site.store,
            "shinsa17",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;

        // A reviewer does not manage staff; the menu does not offer it.
        let mut reviewer = site.client();
        reviewer.login("shinsa17", PASSWORD).await;
        assert!(!reviewer.get("/home").await.body.contains("href=\"/staff\""));
        assert_eq!(reviewer.get("/staff").await.status, StatusCode::FORBIDDEN);

        let mut admin = site.client();
        admin.login("kanri017", PASSWORD).await;
        assert!(admin.get("/home").await.body.contains("href=\"/staff\""));
        let page = admin.get("/staff").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("shinsa17"), "{}", page.body);
        // Another prefecture's staff: not this admin's.
        assert_eq!(
            admin.get("/staff?prefecture=29").await.status,
            StatusCode::FORBIDDEN
        );

        // A 保健所 member of staff for 金沢市 only; a code from another prefecture is refused.
        let bad = admin
            .post(
                "/staff/invite",
                &[
                    ("prefecture", "17"),
                    ("kind", "staff"),
                    ("email", "hokenjo@pref.ishikawa.example.jp"),
                    ("family_name", "保健"),
                    ("given_name", "三郎"),
                    ("level", "reviewer"),
                    ("municipalities", "13101"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            bad.body
                .contains("「13101」は石川県の市区町村コードではありません。")
        );
        let res = admin
            .post(
                "/staff/invite",
                &[
                    ("prefecture", "17"),
                    ("kind", "staff"),
                    ("email", "hokenjo@pref.ishikawa.example.jp"),
                    ("family_name", "保健"),
                    ("given_name", "三郎"),
                    ("level", "reviewer"),
                    ("municipalities", "１７２０１"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let (mail, _) = invitation(&site, "hokenjo@pref.ishikawa.example.jp").await;
        assert!(
            mail.body.contains("石川県の職員（担当者）"),
            "{}",
            mail.body
        );
        // The new member of staff must set up the second factor before anything else.
        let mut hokenjo = set_password(&site, &mail).await;
        assert_eq!(
            hokenjo.get("/home").await.location.as_deref(),
            Some("/account/mfa?required=1")
        );
        let page = admin.get("/staff").await;
        assert!(
            page.body.contains("職員（担当者・金沢市）"),
            "{}",
            page.body
        );

        // A delegate for the clinic, by its 機関コード.
        let res = admin
            .post(
                "/staff/invite",
                &[
                    ("prefecture", "17"),
                    ("kind", "delegate"),
                    ("email", "daiko@ishikawa-med.example.jp"),
                    ("family_name", "代行"),
                    ("given_name", "四郎"),
                    ("facility_codes", "1700000204、1799999999"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            res.body
                .contains("機関コード「1799999999」の施設は石川県にありません。")
        );
        let res = admin
            .post(
                "/staff/invite",
                &[
                    ("prefecture", "17"),
                    ("kind", "delegate"),
                    ("email", "daiko@ishikawa-med.example.jp"),
                    ("family_name", "代行"),
                    ("given_name", "四郎"),
                    ("facility_codes", "1700000204"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let (mail, login_id) = invitation(&site, "daiko@ishikawa-med.example.jp").await;
        let mut delegate = set_password(&site, &mail).await;
        let home = delegate.get("/home").await;
        assert!(home.body.contains("広坂クリニック"), "{}", home.body);
        assert!(home.body.contains("・代行"), "{}", home.body);
        let _ = f;

        // Removed: the delegate's session ends.
        let page = admin.get("/staff").await;
        let id = site
            .store
            .users()
            .find_by_login_id(&teikyo_domain::account::LoginId::parse(&login_id).unwrap())
            .await
            .unwrap()
            .unwrap()
            .id;
        assert!(page.body.contains(&format!("/staff/{}/remove", id.0)));
        let res = admin
            .post(
                &format!("/staff/{}/remove", id.0),
                &[("prefecture", "17"), ("kind", "delegate")],
            )
            .await;
        assert_eq!(
            res.location.as_deref(),
            Some("/staff?prefecture=17&removed=1")
        );
        assert_eq!(delegate.get("/home").await.status, StatusCode::SEE_OTHER);
        let audit = admin.get("/audit").await;
        assert!(audit.body.contains("利用者の追加"), "{}", audit.body);
        assert!(audit.body.contains("役割の削除"), "{}", audit.body);
    })
    .await;
}

/// The way in the review found: joining a staff account to one's clinic by login ID and address,
/// then using the support tools on it. Neither step is possible.
#[tokio::test]
async fn staff_accounts_cannot_be_joined_or_supported_from_a_facility() {
    on_each_backend(|site| async move {
        let f = kanazawa_clinic(&site.store, "広坂クリニック", "1700000205").await;
        create_user(&site.store, "kanri003", &[facility_admin(f)]).await;
        let nara = create_user(
            &site.store,
            "nara0001",
            &[prefecture_staff("29", StaffLevel::Admin)],
        )
        .await;
        create_user(
            &site.store,
            "kanri117",
            &[prefecture_staff("17", StaffLevel::Admin)],
        )
        .await;
        let mut admin = site.client();
        admin.login("kanri003", PASSWORD).await;
        admin.get(&format!("/facility/{f}/users")).await;
        let res = admin
            .post(
                &format!("/facility/{f}/users"),
                &[
                    ("email", "nara0001@test.example.jp"),
                    ("existing_login_id", "nara0001"),
                    ("admin", "yes"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.body.contains("組み合わせは登録されていません"));
        assert_eq!(
            site.store
                .users()
                .access(nara)
                .await
                .unwrap()
                .memberships
                .len(),
            1
        );

        // Even a staff account that holds a facility role is out of the support tools' reach.
        site.store
            .users()
            .add_membership(nara, &facility_admin(f))
            .await
            .unwrap();
        let mut pref = site.client();
        pref.login("kanri117", PASSWORD).await;
        let page = pref.get(&format!("/support/users/{}", nara.0)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            !page.body.contains("メールアドレスを変更する"),
            "{}",
            page.body
        );
        for action in ["email", "setup-link", "mfa-reset", "active"] {
            let res = pref
                .post(
                    &format!("/support/users/{}/{action}", nara.0),
                    &[("email", "evil@example.jp"), ("active", "no")],
                )
                .await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{action}");
        }
    })
    .await;
}
