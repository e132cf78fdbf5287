//! Account stories over HTTP, as a user lives them: login (with the seeds' typing mistakes),
//! lockout, deep links, logout, CSRF, the password reset from the mail (read from the in-memory
//! transport), a reused link, the forgotten user name, and the first password setting. Each runs
//! on SQLite and, with `TEIKYO_TEST_DATABASE_URL`, on PostgreSQL.

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use teikyo_domain::account::{Area, Membership, StaffLevel};
use teikyo_domain::{
    FacilityCode, FacilityKind, FacilityNames, FacilityRecord, InsuranceCode, MunicipalityCode,
    PrefectureCode,
};
use teikyo_store::{JobStatus, Store, TokenPurpose};
use teikyo_testkit::web::{PASSWORD, SITE_URL, create_user, facility_admin, on_each_backend};

async fn clinic(store: &Store, insurance: &str) -> i64 {
    let record = FacilityRecord {
        kind: FacilityKind::Clinic,
        prefecture: PrefectureCode::parse("17").unwrap(),
        municipality: MunicipalityCode::parse("17201").unwrap(),
        facility_code: Some(FacilityCode::parse("1700000123").unwrap()),
        insurance_codes: vec![InsuranceCode::parse(insurance).unwrap()],
        names: FacilityNames {
            official: "広坂クリニック".into(),
            official_kana: "ヒロサカクリニック".into(),
            short: None,
            short_kana: None,
            english: None,
        },
        postal_code: None,
        address: "石川県金沢市広坂1丁目1番1号".into(),
        coordinates: None,
        homepage: None,
        opened_on: None,
        suspended_on: None,
        abolished_on: None,
    };
    store.facilities().insert(&record).await.unwrap().0
}

async fn jobs_queued(store: &Store) -> u64 {
    store
        .jobs()
        .count_by_status()
        .await
        .unwrap()
        .get(&JobStatus::Queued)
        .copied()
        .unwrap_or(0)
}

// ---- login ----

#[tokio::test]
async fn full_width_and_upper_case_user_names_log_in() {
    on_each_backend(|site| async move {
        let f = clinic(&site.store, "1710112341").await;
        create_user(&site.store, "abc123", &[facility_admin(f)]).await;
        let mut c = site.client();
        let res = c.login("ＡＢｃ１２３", PASSWORD).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        assert_eq!(res.location.as_deref(), Some("/home"));
        let home = c.get("/home").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(
            home.body
                .contains("ユーザー名：<span class=\"nowrap\">abc123</span>"),
            "{}",
            home.body
        );
        assert!(home.body.contains("広坂クリニック"), "{}", home.body);
        assert!(home.body.contains("医療機能情報提供制度"), "{}", home.body);
    })
    .await;
}

#[tokio::test]
async fn wrong_passwords_and_unknown_names_read_the_same() {
    on_each_backend(|site| async move {
        create_user(&site.store, "known01", &[]).await;
        let mut c = site.client();
        let wrong = c.login("known01", "Wrong1234").await;
        let unknown = c.login("nobody99", "Wrong1234").await;
        assert_eq!(wrong.status, StatusCode::OK);
        assert_eq!(unknown.status, StatusCode::OK);
        let msg = "ユーザ名またはパスワードが正しくありません。";
        assert!(wrong.body.contains(msg), "{}", wrong.body);
        assert!(unknown.body.contains(msg), "{}", unknown.body);
        // The pages differ only in the echoed name and the form token.
        let norm = |body: &str, name: &str| {
            let mut b = body.replace(name, "NAME");
            if let Some(i) = b.find("name=\"_csrf\" value=\"") {
                b.replace_range(i..i + 20 + 32, "TOKEN");
            }
            b
        };
        assert_eq!(
            norm(&wrong.body, "known01"),
            norm(&unknown.body, "nobody99")
        );
    })
    .await;
}

#[tokio::test]
async fn ten_wrong_passwords_lock_the_account_and_say_until_when() {
    on_each_backend(|site| async move {
        create_user(&site.store, "locked01", &[]).await;
        let mut c = site.client();
        for i in 1..=9 {
            let res = c.login("locked01", "Wrong1234").await;
            assert!(
                res.body
                    .contains("ユーザ名またはパスワードが正しくありません。"),
                "attempt {i}: {}",
                res.body
            );
        }
        let tenth = c.login("locked01", "Wrong1234").await;
        assert!(
            tenth.body.contains("パスワードを続けて間違えたため、"),
            "{}",
            tenth.body
        );
        assert!(
            tenth.body.contains("までログインできません。"),
            "{}",
            tenth.body
        );
        // The right password does not help while locked.
        let right = c.login("locked01", PASSWORD).await;
        assert_eq!(right.status, StatusCode::OK);
        assert!(
            right.body.contains("までログインできません。"),
            "{}",
            right.body
        );
        assert!(c.get("/home").await.status == StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn bookmarked_pages_come_back_after_login() {
    on_each_backend(|site| async move {
        create_user(
            &site.store,
            "pref17",
            &[Membership::Prefecture {
                prefecture: PrefectureCode::parse("17").unwrap(),
                level: StaffLevel::Reviewer,
                area: Area::Whole,
            }],
        )
        .await;
        let mut c = site.client();
        let res = c.get("/mail/log?status=bounced").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let to = res.location.unwrap();
        assert_eq!(to, "/login?next=%2Fmail%2Flog%3Fstatus%3Dbounced");
        let form = c.get(&to).await;
        let next = form.input("next").unwrap();
        assert_eq!(next, "/mail/log?status=bounced");
        let res = c
            .post(
                "/login",
                &[
                    ("login_id", "pref17"),
                    ("password", PASSWORD),
                    ("next", &next),
                ],
            )
            .await;
        // Staff have a second factor: the code step keeps the page asked for.
        let to = res.location.unwrap();
        assert_eq!(to, "/login/code?next=%2Fmail%2Flog%3Fstatus%3Dbounced");
        let code_page = c.get(&to).await;
        assert_eq!(code_page.status, StatusCode::OK);
        let next = code_page.input("next");
        assert_eq!(next.as_deref(), Some("/mail/log?status=bounced"));
        let res = c.second_factor(next.as_deref()).await;
        assert_eq!(res.location.as_deref(), Some("/mail/log?status=bounced"));
        let log = c.get("/mail/log?status=bounced").await;
        assert_eq!(log.status, StatusCode::OK);
        assert!(log.body.contains("石川県（17）"), "{}", log.body);
        // A next that leaves the site is ignored.
        let mut c = site.client();
        c.get("/login").await;
        let res = c
            .post(
                "/login",
                &[
                    ("login_id", "pref17"),
                    ("password", PASSWORD),
                    ("next", "//evil.example/"),
                ],
            )
            .await;
        assert_eq!(res.location.as_deref(), Some("/login/code"));
        c.get("/login/code").await;
        let res = c.second_factor(Some("//evil.example/")).await;
        assert_eq!(res.location.as_deref(), Some("/home"));
    })
    .await;
}

#[tokio::test]
async fn login_rotates_the_session_and_logout_ends_it() {
    on_each_backend(|site| async move {
        create_user(&site.store, "rotate01", &[]).await;
        let name = teikyo_web::auth::session_cookie_name(&site.config);
        let mut c = site.client();
        // A session id planted before login (fixation) is not the one after it.
        c.set_cookie(&format!("{name}=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        let res = c.login("rotate01", PASSWORD).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert!(c.has_cookie(name));
        let home = c.get("/home").await;
        assert_eq!(home.status, StatusCode::OK);
        let res = c.post("/logout", &[]).await;
        assert_eq!(res.location.as_deref(), Some("/login?done=logout"));
        assert!(!c.has_cookie(name), "the cookie is dropped");
        assert!(
            c.get("/login?done=logout")
                .await
                .body
                .contains("ログアウトしました。")
        );
        assert_eq!(c.get("/home").await.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn logout_everywhere_ends_every_session() {
    on_each_backend(|site| async move {
        create_user(&site.store, "multi01", &[]).await;
        let mut pc = site.client();
        let mut phone = site.client();
        pc.login("multi01", PASSWORD).await;
        phone.login("multi01", PASSWORD).await;
        pc.get("/home").await;
        pc.post("/logout/everywhere", &[]).await;
        assert_eq!(phone.get("/home").await.status, StatusCode::SEE_OTHER);
        assert_eq!(pc.get("/home").await.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn a_post_without_a_valid_csrf_token_is_refused() {
    on_each_backend(|site| async move {
        create_user(&site.store, "csrf01", &[]).await;
        let mut c = site.client();
        // No cookie at all, no token.
        let res = c
            .post_raw("/login", &[("login_id", "csrf01"), ("password", PASSWORD)])
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert!(
            res.body.contains("画面の有効期限が切れました"),
            "{}",
            res.body
        );
        // A cookie (from the refusal) but a made-up token.
        let res = c
            .post_raw(
                "/login",
                &[
                    ("login_id", "csrf01"),
                    ("password", PASSWORD),
                    ("_csrf", "0123456789abcdef0123456789abcdef"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        // The token of another browser does not fit this one's cookie.
        let mut other = site.client();
        other.get("/login").await;
        let foreign = other.csrf().unwrap().to_owned();
        c.get("/login").await;
        let res = c
            .post_raw(
                "/login",
                &[
                    ("login_id", "csrf01"),
                    ("password", PASSWORD),
                    ("_csrf", &foreign),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        // Signed in, the logout needs the token too; the session survives the forged attempt.
        assert_eq!(
            c.login("csrf01", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        let res = c.post_raw("/logout", &[]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(c.get("/home").await.status, StatusCode::OK);
        // The login token does not work after login: the token follows the session.
        let res = c.post_raw("/logout", &[("_csrf", &foreign)]).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
    })
    .await;
}

// ---- password reset ----

#[tokio::test]
async fn reset_story_mail_link_new_password_and_a_reused_link() {
    on_each_backend(|site| async move {
        let f = clinic(&site.store, "1710112341").await;
        create_user(&site.store, "reset01", &[facility_admin(f)]).await;
        let mut c = site.client();
        let login = c.get("/login").await;
        assert!(
            login
                .body
                .contains("<a href=\"/password/forgot\">パスワードをお忘れですか？</a>")
        );
        c.get("/password/forgot").await;
        let res = c
            .post("/password/forgot", &[("login_id", "ＲＥＳＥＴ01")])
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let sent = c.get(res.location.as_deref().unwrap()).await;
        assert!(sent.body.contains("<h1>メールの確認</h1>"), "{}", sent.body);
        assert!(sent.body.contains("メールの再送信"));
        assert!(sent.body.contains("ログイン画面へ戻る"));

        site.run_jobs().await;
        let mails = site.mails_to("reset01@test.example.jp");
        assert_eq!(mails.len(), 1, "{mails:?}");
        assert!(
            mails[0].subject.contains("パスワードリセットのご案内"),
            "{}",
            mails[0].subject
        );
        let link = mails[0]
            .link(&format!("{SITE_URL}/r/"))
            .expect("a reset link");

        // Opening the link (a mail scanner would too) does not use it.
        for _ in 0..2 {
            let form = c.get(&link).await;
            assert_eq!(form.status, StatusCode::OK);
            assert!(
                form.body
                    .contains("<strong class=\"nowrap\">reset01</strong>"),
                "{}",
                form.body
            );
            assert!(
                form.body.contains("1個以上の大文字"),
                "the rule is on the form"
            );
        }
        // A password that breaks the rule, and a mismatch, do not use it either.
        let res = c
            .post(&link, &[("password", "short"), ("confirm", "short")])
            .await;
        assert!(
            res.body.contains("「8文字以上」の条件を満たしていません。"),
            "{}",
            res.body
        );
        let res = c
            .post(
                &link,
                &[("password", "NewPassw0rd"), ("confirm", "NewPassw0rd!")],
            )
            .await;
        assert!(res.body.contains("一致しません"), "{}", res.body);

        let res = c
            .post(
                &link,
                &[("password", "NewPassw0rd"), ("confirm", "NewPassw0rd")],
            )
            .await;
        assert_eq!(
            res.location.as_deref(),
            Some("/home?done=password"),
            "{}",
            res.body
        );
        let home = c.get("/home?done=password").await;
        assert!(
            home.body.contains("パスワードを設定しました。"),
            "{}",
            home.body
        );

        // The old password is gone, the new one works.
        let mut other = site.client();
        assert_eq!(
            other.login("reset01", PASSWORD).await.status,
            StatusCode::OK
        );
        assert_eq!(
            other.login("reset01", "NewPassw0rd").await.status,
            StatusCode::SEE_OTHER
        );

        // The link works once: the second use says when it was used and offers a new one.
        let mut late = site.client();
        let again = late.get(&link).await;
        assert!(again.body.contains("に使用済みです。"), "{}", again.body);
        assert!(
            again
                .body
                .contains("href=\"/password/forgot\">新しいリンクを受け取る")
        );
        // A stale form (opened before the link was used) posting now is refused the same way.
        late.get("/password/forgot").await;
        let res = late
            .post(
                &link,
                &[("password", "Other1234x"), ("confirm", "Other1234x")],
            )
            .await;
        assert!(res.body.contains("に使用済みです。"), "{}", res.body);
        assert_eq!(
            site.client().login("reset01", "Other1234x").await.status,
            StatusCode::OK
        );
    })
    .await;
}

#[tokio::test]
async fn reset_for_an_unknown_name_looks_and_costs_the_same() {
    on_each_backend(|site| async move {
        create_user(&site.store, "known02", &[]).await;
        let mut c = site.client();
        let mut pages = Vec::new();
        for typed in ["known02", "nobody02"] {
            c.get("/password/forgot").await;
            let before = jobs_queued(&site.store).await;
            let mails_before = site
                .store
                .mails()
                .count_by_status(&Default::default())
                .await
                .unwrap();
            let res = c.post("/password/forgot", &[("login_id", typed)]).await;
            assert_eq!(res.status, StatusCode::SEE_OTHER);
            // The same work on the request path: one job, no mail yet, whatever was typed.
            assert_eq!(jobs_queued(&site.store).await, before + 1, "{typed}");
            assert_eq!(
                site.store
                    .mails()
                    .count_by_status(&Default::default())
                    .await
                    .unwrap(),
                mails_before,
                "{typed}: the request itself queues no mail"
            );
            let page = c.get(res.location.as_deref().unwrap()).await;
            pages.push(
                page.body
                    .replace(typed, "NAME")
                    .replace(c.csrf().unwrap(), "TOKEN"),
            );
        }
        assert_eq!(pages[0], pages[1], "the same 「メールの確認」 page");
        site.run_jobs().await;
        assert_eq!(site.mails().len(), 1, "only the known name gets a mail");
        assert_eq!(
            site.mails()[0].to,
            vec!["known02@test.example.jp".to_owned()]
        );
    })
    .await;
}

#[tokio::test]
async fn a_reset_can_be_asked_with_the_registered_address_and_resent() {
    on_each_backend(|site| async move {
        create_user(&site.store, "byaddr01", &[]).await;
        let mut c = site.client();
        c.get("/password/forgot").await;
        let res = c
            .post(
                "/password/forgot",
                &[("login_id", "BYADDR01@test.example.jp")],
            )
            .await;
        let sent = c.get(res.location.as_deref().unwrap()).await;
        assert_eq!(
            sent.input("login_id").as_deref(),
            Some("BYADDR01@test.example.jp")
        );
        let res = c
            .post(
                "/password/resend",
                &[("login_id", "BYADDR01@test.example.jp")],
            )
            .await;
        let resent = c.get(res.location.as_deref().unwrap()).await;
        assert!(
            resent.body.contains("メールを再送信しました。"),
            "{}",
            resent.body
        );
        site.run_jobs().await;
        let mails = site.mails_to("byaddr01@test.example.jp");
        assert_eq!(mails.len(), 2);
        // Only the newest link works.
        let first = mails[0].link(&format!("{SITE_URL}/r/")).unwrap();
        let second = mails[1].link(&format!("{SITE_URL}/r/")).unwrap();
        assert_ne!(first, second, "two requests, two links: {mails:?}");
        let (old, new) = if c
            .get(&first)
            .await
            .body
            .contains("このリンクはご利用いただけません")
        {
            (first, second)
        } else {
            (second, first)
        };
        let old_page = c.get(&old).await;
        assert!(
            old_page
                .body
                .contains("新しいリンクをお送りしたため、このリンクは使えなくなりました。"),
            "old {old} / new {new}: {}",
            old_page.body
        );
        assert!(c.get(&new).await.body.contains("新しいパスワードの確認"));
    })
    .await;
}

#[tokio::test]
async fn a_broken_or_expired_link_says_so_and_offers_a_new_one() {
    on_each_backend(|site| async move {
        let user = create_user(&site.store, "expire01", &[]).await;
        let mut c = site.client();
        // Cut short by a mail client.
        let res = c.get("/r/abc").await;
        assert!(res.body.contains("途中で切れていないか"), "{}", res.body);
        // Expired.
        let token = teikyo_account::new_token();
        let past = Utc::now() - Duration::hours(3);
        site.store
            .tokens()
            .issue(
                &token.hash,
                TokenPurpose::PasswordReset,
                Some(user),
                None,
                past,
                Duration::hours(1),
            )
            .await
            .unwrap();
        let res = c.get(&format!("/r/{}", token.plain)).await;
        assert!(res.body.contains("有効期限"), "{}", res.body);
        assert!(res.body.contains("新しいリンクを受け取る"));
        // A reset token is not a setup token.
        let res = c.get(&format!("/s/{}", token.plain)).await;
        assert!(res.body.contains("このリンクは無効です。"), "{}", res.body);
    })
    .await;
}

// ---- first password setting (the 利用案内メール's link) ----

#[tokio::test]
async fn the_setup_link_sets_the_first_password_and_signs_in() {
    on_each_backend(|site| async move {
        let f = clinic(&site.store, "1710112341").await;
        let user = create_user(&site.store, "setup01", &[facility_admin(f)]).await;
        let token = teikyo_account::new_token();
        site.store
            .tokens()
            .issue(
                &token.hash,
                TokenPurpose::PasswordSetup,
                Some(user),
                None,
                Utc::now(),
                Duration::days(7),
            )
            .await
            .unwrap();
        let mut c = site.client();
        let path = format!("/s/{}", token.plain);
        let form = c.get(&path).await;
        assert!(
            form.body.contains("<h1>パスワードの初期設定</h1>"),
            "{}",
            form.body
        );
        let res = c
            .post(
                &path,
                &[("password", "Hajime2026"), ("confirm", "Hajime2026")],
            )
            .await;
        assert_eq!(res.location.as_deref(), Some("/home?done=password"));
        assert!(c.get("/home").await.body.contains("広坂クリニック"));
        let again = site.client().get(&path).await;
        assert!(again.body.contains("に使用済みです。"), "{}", again.body);
    })
    .await;
}

// ---- forgotten user name ----

#[tokio::test]
async fn a_forgotten_user_name_is_mailed_to_the_registered_address_only() {
    on_each_backend(|site| async move {
        let f = clinic(&site.store, "1710112341").await;
        create_user(&site.store, "name01", &[facility_admin(f)]).await;
        let mut c = site.client();
        assert!(
            c.get("/login")
                .await
                .body
                .contains("ユーザ名をお忘れですか？")
        );
        c.get("/login-id/forgot").await;
        // Wrong address: the same answer, no mail.
        let res = c
            .post(
                "/login-id/forgot",
                &[("code", "1710112341"), ("email", "someone@else.example")],
            )
            .await;
        assert_eq!(res.location.as_deref(), Some("/login-id/forgot?sent=1"));
        let page = c.get("/login-id/forgot?sent=1").await;
        assert!(page.body.contains("受け付けました"), "{}", page.body);
        site.run_jobs().await;
        assert!(site.mails().is_empty());
        // The registered address, typed in capitals, with the 機関コード.
        for code in ["1710112341", "１７０００００１２３"] {
            c.get("/login-id/forgot").await;
            c.post(
                "/login-id/forgot",
                &[("code", code), ("email", "NAME01@test.example.jp")],
            )
            .await;
        }
        site.run_jobs().await;
        let mails = site.mails_to("name01@test.example.jp");
        assert_eq!(mails.len(), 2, "{:?}", site.mails());
        for m in &mails {
            assert!(m.body.contains("name01"), "{}", m.body);
            assert!(m.body.contains("広坂クリニック"), "{}", m.body);
        }
        // Empty fields are said at once.
        c.get("/login-id/forgot").await;
        let res = c
            .post("/login-id/forgot", &[("code", ""), ("email", "")])
            .await;
        assert!(
            res.body
                .contains("医療機関コードまたは機関コードを入力してください。"),
            "{}",
            res.body
        );
    })
    .await;
}

// ---- ユーザ基礎情報 and the address change ----

#[tokio::test]
async fn profile_edits_and_an_address_change_that_waits_for_the_new_address() {
    on_each_backend(|site| async move {
        create_user(&site.store, "profile01", &[]).await;
        let mut c = site.client();
        c.login("profile01", PASSWORD).await;
        let page = c.get("/account").await;
        assert!(
            page.body.contains("profile01</strong>（変更できません）"),
            "{}",
            page.body
        );
        // A missing family name is said; nothing is lost.
        let res = c
            .post(
                "/account",
                &[
                    ("family_name", ""),
                    ("given_name", "花子"),
                    ("department", "医事課"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.body.contains("姓を入力してください。"), "{}", res.body);
        assert!(res.body.contains("value=\"医事課\""));
        let res = c
            .post(
                "/account",
                &[
                    ("family_name", "金沢"),
                    ("given_name", "花子"),
                    ("phone", "076-000-0000"),
                    ("department", "医事課"),
                ],
            )
            .await;
        assert_eq!(res.location.as_deref(), Some("/account?done=saved"));
        let page = c.get("/account?done=saved").await;
        assert!(page.body.contains("value=\"医事課\""), "{}", page.body);

        // The address: a link to the new one; until it is used nothing changes.
        let res = c
            .post(
                "/account/email",
                &[("email", "new.tanto@clinic.example.jp")],
            )
            .await;
        assert_eq!(res.location.as_deref(), Some("/account?done=email"));
        site.run_jobs().await;
        let mails = site.mails_to("new.tanto@clinic.example.jp");
        assert_eq!(mails.len(), 1);
        let link = mails[0]
            .link(&format!("{SITE_URL}/e/"))
            .expect("a confirmation link");
        let user = site
            .store
            .users()
            .find_by_login_id(&teikyo_domain::account::LoginId::parse("profile01").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.email, "profile01@test.example.jp", "not changed yet");
        // Opening it shows what will change; the POST changes it.
        let mut other = site.client();
        let page = other.get(&link).await;
        assert!(
            page.body.contains("new.tanto@clinic.example.jp"),
            "{}",
            page.body
        );
        let res = other.post(&link, &[]).await;
        assert!(res.body.contains("に変更しました。"), "{}", res.body);
        let user = site.store.users().get(user.id).await.unwrap().unwrap();
        assert_eq!(user.email, "new.tanto@clinic.example.jp");
        // The old address is told, with the new one masked.
        site.run_jobs().await;
        let told = site.mails_to("profile01@test.example.jp");
        assert_eq!(told.len(), 1, "{:?}", site.mails());
        assert!(
            told[0].body.contains("ne***@clinic.example.jp"),
            "{}",
            told[0].body
        );
        assert!(told[0].body.contains("破棄せず"), "{}", told[0].body);
        // The link works once.
        let again = site.client().get(&link).await;
        assert!(again.body.contains("に使用済みです。"), "{}", again.body);
        // A reset now goes to the new address.
        let mut r = site.client();
        r.get("/password/forgot").await;
        r.post("/password/forgot", &[("login_id", "profile01")])
            .await;
        site.run_jobs().await;
        assert_eq!(site.mails_to("new.tanto@clinic.example.jp").len(), 2);
    })
    .await;
}

#[tokio::test]
async fn one_address_sending_too_many_requests_is_slowed_down() {
    on_each_backend(|site| async move {
        let mut c = site.client();
        c.get("/password/forgot").await;
        let mut refused = None;
        for i in 1..=40 {
            let res = c.post("/password/forgot", &[("login_id", "someone")]).await;
            if res.status == StatusCode::TOO_MANY_REQUESTS {
                refused = Some((i, res));
                break;
            }
            assert_eq!(res.status, StatusCode::SEE_OTHER, "request {i}");
        }
        let (i, res) = refused.expect("the limit is reached");
        assert_eq!(i, 31, "a burst of 30 is allowed");
        assert!(res.body.contains("1分ほど待ってから"), "{}", res.body);
        // The login shares the bucket; another address does not.
        c.get("/login").await;
        assert_eq!(
            c.post("/login", &[("login_id", "x"), ("password", "y")])
                .await
                .status,
            StatusCode::TOO_MANY_REQUESTS
        );
        let mut other = site.client();
        other.get("/password/forgot").await;
        assert_eq!(
            other
                .post("/password/forgot", &[("login_id", "someone")])
                .await
                .status,
            StatusCode::SEE_OTHER
        );
    })
    .await;
}
