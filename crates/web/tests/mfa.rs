//! 二段階認証 over HTTP, as people live it: a prefecture reviewer who must set it up before
//! anything else (QR page, first code, recovery codes shown once), the login's code step with a
//! wrong code, a replayed code and a recovery code; a clinic clerk who opts in and out; support
//! removing a lost second factor. Each runs on SQLite and, with `TEIKYO_TEST_DATABASE_URL`, on
//! PostgreSQL.

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use teikyo_account::mfa::code_at;
use teikyo_domain::account::StaffLevel;
use teikyo_testkit::web::{
    Client, PASSWORD, create_user, create_user_without_mfa, enable_mfa, facility_admin,
    kanazawa_clinic, on_each_backend, prefecture_staff,
};

/// The secret the set-up page shows for typing in (grouped by four).
fn shown_secret(body: &str) -> String {
    let tag = "<code class=\"address\">";
    let start = body.find(tag).expect("secret shown") + tag.len();
    let end = body[start..].find("</code>").unwrap() + start;
    body[start..end].replace(' ', "")
}

/// The recovery codes of the page that shows them once.
fn shown_codes(body: &str) -> Vec<String> {
    body.split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find("</code>").unwrap()].to_owned())
        .collect()
}

/// Sets up the second factor from the page as a user does; returns the secret, the recovery
/// codes and the TOTP code that confirmed the enrolment (its step is used up).
async fn enrol(c: &mut Client) -> (String, Vec<String>, String) {
    let page = c.get("/account/mfa").await;
    assert!(page.body.contains("二段階認証を設定する"), "{}", page.body);
    let begun = c.post("/account/mfa/begin", &[]).await;
    assert_eq!(begun.location.as_deref(), Some("/account/mfa"));
    let page = c.get("/account/mfa").await;
    assert!(page.body.contains("<svg"), "a QR code: {}", page.body);
    let secret = shown_secret(&page.body);
    // A reload shows the same secret (the app may have read it already).
    assert_eq!(shown_secret(&c.get("/account/mfa").await.body), secret);
    let wrong = c
        .post(
            "/account/mfa/confirm",
            &[("password", PASSWORD), ("code", "12345")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("確認コードが正しくありません。"));
    // A session left open is not enough: the password is asked again.
    let right_code = code_at(&secret, Utc::now()).unwrap();
    let no_password = c
        .post(
            "/account/mfa/confirm",
            &[("password", "Wrong2026x"), ("code", &right_code)],
        )
        .await;
    assert_eq!(no_password.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_password.body.contains("パスワードが正しくありません。"));
    // 全角 digits from a Japanese input method are fine.
    let used = code_at(&secret, Utc::now()).unwrap();
    let code: String = used
        .chars()
        .map(|c| char::from_u32(u32::from(c) - u32::from('0') + 0xFF10).unwrap())
        .collect();
    let done = c
        .post(
            "/account/mfa/confirm",
            &[("password", PASSWORD), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("この画面でのみ表示します"));
    let codes = shown_codes(&done.body);
    assert_eq!(codes.len(), 10, "{}", done.body);
    (secret, codes, used)
}

#[tokio::test]
async fn staff_set_up_a_second_factor_before_anything_else() {
    on_each_backend(|site| async move {
        create_user_without_mfa(
            &site.store,
            "pref1701",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;
        let mut c = site.client();
        let res = c.login("pref1701", PASSWORD).await;
        assert_eq!(res.location.as_deref(), Some("/home"));
        // Every page but the set-up and logout sends them to the set-up.
        for path in [
            "/home",
            "/review/applications",
            "/support/users",
            "/account",
        ] {
            let res = c.get(path).await;
            assert_eq!(
                res.location.as_deref(),
                Some("/account/mfa?required=1"),
                "{path}"
            );
        }
        let page = c.get("/account/mfa?required=1").await;
        assert!(
            page.body.contains("二段階認証の設定が必要です"),
            "{}",
            page.body
        );
        let (secret, codes, used) = enrol(&mut c).await;
        assert_eq!(c.get("/review/applications").await.status, StatusCode::OK);
        // Required: cannot be turned off.
        let off = c
            .post("/account/mfa/disable", &[("password", PASSWORD)])
            .await;
        assert_eq!(off.status, StatusCode::FORBIDDEN);
        c.post("/logout", &[]).await;

        // The next login asks for a code after the password.
        let mut c = site.client();
        c.get("/login").await;
        let res = c
            .post(
                "/login",
                &[("login_id", "pref1701"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(res.location.as_deref(), Some("/login/code"));
        // Not signed in yet.
        assert_eq!(c.get("/home").await.status, StatusCode::SEE_OTHER);
        let form = c.get("/login/code").await;
        assert!(form.body.contains("6桁の確認コード"), "{}", form.body);
        let wrong = c.post("/login/code", &[("code", "000000")]).await;
        assert_eq!(wrong.status, StatusCode::OK);
        assert!(wrong.body.contains("確認コードが正しくありません。"));
        // The code that confirmed the enrolment was used: it does not work again. (The very
        // code, not the one of this moment: a 30-second step may have passed since.)
        let replay = c.post("/login/code", &[("code", &used)]).await;
        assert_eq!(replay.status, StatusCode::OK, "a replayed code is refused");
        let next = code_at(&secret, Utc::now() + Duration::seconds(30)).unwrap();
        let ok = c.post("/login/code", &[("code", &next)]).await;
        assert_eq!(ok.location.as_deref(), Some("/home"));
        assert_eq!(c.get("/home").await.status, StatusCode::OK);

        // Without the phone: a recovery code, once; the page says how many are left.
        let mut c = site.client();
        c.get("/login").await;
        c.post(
            "/login",
            &[("login_id", "pref1701"), ("password", PASSWORD)],
        )
        .await;
        c.get("/login/code").await;
        let res = c.post("/login/code", &[("code", &codes[0])]).await;
        assert_eq!(
            res.location.as_deref(),
            Some("/account/mfa?recovery_left=9")
        );
        let page = c.get("/account/mfa?recovery_left=9").await;
        assert!(page.body.contains("残り9個"), "{}", page.body);
        assert!(page.body.contains("9個"), "{}", page.body);
        let mut again = site.client();
        again.get("/login").await;
        again
            .post(
                "/login",
                &[("login_id", "pref1701"), ("password", PASSWORD)],
            )
            .await;
        again.get("/login/code").await;
        let reused = again.post("/login/code", &[("code", &codes[0])]).await;
        assert_eq!(reused.status, StatusCode::OK);
        assert!(reused.body.contains("確認コードが正しくありません。"));

        // New recovery codes need the password; the old ones stop working.
        let bad = c
            .post("/account/mfa/recovery-codes", &[("password", "nope")])
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let renewed = c
            .post("/account/mfa/recovery-codes", &[("password", PASSWORD)])
            .await;
        assert_eq!(renewed.status, StatusCode::OK);
        let fresh = shown_codes(&renewed.body);
        assert_eq!(fresh.len(), 10);
        assert!(!fresh.contains(&codes[1]));
        let reused = again.post("/login/code", &[("code", &codes[1])]).await;
        assert_eq!(reused.status, StatusCode::OK, "an old code is refused");
        let res = again.post("/login/code", &[("code", &fresh[0])]).await;
        assert_eq!(
            res.location.as_deref(),
            Some("/account/mfa?recovery_left=9")
        );
    })
    .await;
}

#[tokio::test]
async fn a_clinic_clerk_may_opt_in_and_out() {
    on_each_backend(|site| async move {
        let f = kanazawa_clinic(&site.store, "兼六クリニック", "1700000456").await;
        create_user(&site.store, "clerk001", &[facility_admin(f)]).await;
        let mut c = site.client();
        assert_eq!(
            c.login("clerk001", PASSWORD).await.location.as_deref(),
            Some("/home")
        );
        let home = c.get("/home").await;
        assert!(home.body.contains("/account/mfa"), "a link to the set-up");
        let (secret, _, _) = enrol(&mut c).await;
        c.post("/logout", &[]).await;

        let mut c = site.client();
        c.get("/login").await;
        let res = c
            .post(
                "/login",
                &[("login_id", "clerk001"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(res.location.as_deref(), Some("/login/code"));
        c.get("/login/code").await;
        let code = code_at(&secret, Utc::now() + Duration::seconds(30)).unwrap();
        let res = c.post("/login/code", &[("code", &code)]).await;
        assert_eq!(res.location.as_deref(), Some("/home"));
        // Not required of a clerk: turned off with the password.
        c.get("/account/mfa").await;
        let wrong = c
            .post("/account/mfa/disable", &[("password", "Wrong1234")])
            .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        let off = c
            .post("/account/mfa/disable", &[("password", PASSWORD)])
            .await;
        assert_eq!(off.location.as_deref(), Some("/account/mfa?done=disabled"));
        let mut c = site.client();
        assert_eq!(
            c.login("clerk001", PASSWORD).await.location.as_deref(),
            Some("/home")
        );
    })
    .await;
}

#[tokio::test]
async fn a_stale_code_step_starts_again() {
    on_each_backend(|site| async move {
        create_user(
            &site.store,
            "pref1702",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;
        let mut c = site.client();
        c.get("/login").await;
        c.post(
            "/login",
            &[("login_id", "pref1702"), ("password", PASSWORD)],
        )
        .await;
        // A second login elsewhere replaces this pending step.
        let mut other = site.client();
        other.get("/login").await;
        other
            .post(
                "/login",
                &[("login_id", "pref1702"), ("password", PASSWORD)],
            )
            .await;
        let res = c.get("/login/code").await;
        assert_eq!(res.location.as_deref(), Some("/login?done=restart"));
        let page = c.get("/login?done=restart").await;
        assert!(page.body.contains("最初からやり直してください"));
        // The newer one works.
        other.get("/login/code").await;
        let res = other.second_factor(None).await;
        assert_eq!(res.location.as_deref(), Some("/home"));
    })
    .await;
}

#[tokio::test]
async fn support_removes_a_lost_second_factor() {
    on_each_backend(|site| async move {
        let f = kanazawa_clinic(&site.store, "兼六クリニック", "1700000456").await;
        let clerk = create_user(&site.store, "clerk002", &[facility_admin(f)]).await;
        enable_mfa(&site.store, clerk).await;
        create_user(
            &site.store,
            "pref1703",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;
        create_user(
            &site.store,
            "pref2901",
            &[prefecture_staff("29", StaffLevel::Reviewer)],
        )
        .await;

        // Another prefecture's staff do not see the clerk at all.
        let mut y = site.client();
        y.login("pref2901", PASSWORD).await;
        y.get("/home").await;
        let res = y
            .post(&format!("/support/users/{}/mfa-reset", clerk.0), &[])
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);

        let mut x = site.client();
        x.login("pref1703", PASSWORD).await;
        let page = x.get(&format!("/support/users/{}", clerk.0)).await;
        assert!(page.body.contains("二段階認証を解除する"), "{}", page.body);
        let res = x
            .post(&format!("/support/users/{}/mfa-reset", clerk.0), &[])
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let page = x.get(&format!("/support/users/{}", clerk.0)).await;
        assert!(page.body.contains("未設定"), "{}", page.body);
        let audit = x.get("/audit").await;
        assert!(audit.body.contains("二段階認証の解除（サポート）"));

        let mut c = site.client();
        assert_eq!(
            c.login("clerk002", PASSWORD).await.location.as_deref(),
            Some("/home")
        );
    })
    .await;
}

#[tokio::test]
async fn a_password_reset_does_not_skip_the_second_factor() {
    on_each_backend(|site| async move {
        create_user(
            &site.store,
            "pref1704",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;
        let mut c = site.client();
        c.get("/password/forgot").await;
        c.post("/password/forgot", &[("login_id", "pref1704")])
            .await;
        site.run_jobs().await;
        let mails = site.mails_to("pref1704@test.example.jp");
        let link = mails
            .iter()
            .find_map(|m| m.link(&format!("{}/r/", teikyo_testkit::web::SITE_URL)))
            .expect("a reset link");
        c.get(&link).await;
        let res = c
            .post(
                &link,
                &[("password", "Atarashii2026"), ("confirm", "Atarashii2026")],
            )
            .await;
        // The mailbox alone does not sign in: the code step follows.
        assert_eq!(res.location.as_deref(), Some("/login/code"));
        assert_eq!(c.get("/home").await.status, StatusCode::SEE_OTHER);
        c.get("/login/code").await;
        let res = c.second_factor(None).await;
        assert_eq!(res.location.as_deref(), Some("/home"));
        // The registered address is told the password was set.
        site.run_jobs().await;
        let told = site
            .mails_to("pref1704@test.example.jp")
            .into_iter()
            .find(|m| m.subject.contains("パスワード設定のお知らせ"))
            .expect("パスワード設定のお知らせ");
        assert!(told.body.contains("pref1704"), "{}", told.body);
    })
    .await;
}
