//! Pages in a real browser: headless Chromium, axe-core, and a 360 px screenshot to look at.
//!
//! Setup once: `.ci/browser-setup` (Debian chromium + chromium-driver, `npm ci` for axe-core).
//! Without it this test prints `BROWSER TEST NOT RUN: …` and passes, unless
//! `TEIKYO_REQUIRE_BROWSER=1`.

use chrono::Utc;
use fantoccini::Locator;
use teikyo_domain::account::Membership;
use teikyo_domain::{
    FacilityKind, FacilityNames, FacilityRecord, MunicipalityCode, PrefectureCode,
};
use teikyo_store::{MailStatus, NewMail};
use teikyo_testkit::app::TestApp;
use teikyo_testkit::browser::{self, Browser};
use teikyo_web::WebConfig;

/// Opens `path`, fails on any serious or critical axe-core violation (printing all of them),
/// saves a full-page screenshot at 360 px to `target/screenshots/<name>-360.png`, and fails if
/// the page scrolls sideways at that width.
async fn check_page(browser: &Browser, app: &TestApp, path: &str, name: &str) {
    browser.goto(&app.url(path)).await.unwrap();
    check_here(browser, path, name).await;
}

/// [`check_page`] on the page the browser shows now (e.g. the answer to a POST), `path` naming
/// it in the messages.
async fn check_here(browser: &Browser, path: &str, name: &str) {
    browser.set_width(360).await.unwrap();

    let violations = browser.axe_check().await.unwrap();
    for v in &violations {
        println!("axe {path}: {v}");
    }
    let blocking: Vec<_> = violations.iter().filter(|v| v.is_blocking()).collect();
    println!(
        "axe {path}: {} violations, {} serious or critical",
        violations.len(),
        blocking.len()
    );

    let shot = browser::repo_root()
        .join("target/screenshots")
        .join(format!("{name}-360.png"));
    browser.screenshot(&shot).await.unwrap();
    println!("screenshot: {}", shot.display());

    let fits = browser
        .client()
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        fits,
        serde_json::Value::Bool(true),
        "{path} scrolls sideways at 360 px"
    );
    assert!(
        blocking.is_empty(),
        "{path} has serious or critical accessibility violations:\n{}",
        blocking.iter().map(ToString::to_string).collect::<String>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_pass_axe_and_fit_360px() {
    let Some(browser) = Browser::launch_or_skip().await else {
        return;
    };
    // The map without background tiles: tests reach nothing beyond loopback.
    let app = TestApp::spawn_with(WebConfig {
        map: teikyo_web::MapConfig {
            tiles: String::new(),
            ..teikyo_web::MapConfig::default()
        },
        ..WebConfig::default()
    })
    .await;

    check_page(&browser, &app, "/", "landing").await;
    check_page(&browser, &app, "/about/data", "about-data").await;
    check_page(&browser, &app, "/no/such/page", "not-found").await;

    // The residents' side, with results (long names and addresses must wrap at 360 px).
    let ids = teikyo_testkit::published::publish(
        app.store(),
        vec![teikyo_testkit::published::clinic_document(
            "医療法人社団香林坊会香林坊こどもとおとなのクリニック",
            "イリョウホウジンシャダンコウリンボウカイコウリンボウコドモトオトナノクリニック",
            Some("Korinbo Clinic for Children and Adults"),
            100.0,
        )],
    )
    .await;
    app.catch_up_search().await.unwrap();
    check_page(&browser, &app, "/search", "search").await;
    check_page(
        &browser,
        &app,
        "/search?q=%E3%81%93%E3%81%86%E3%82%8A%E3%82%93%E3%81%BC%E3%81%86&open=1",
        "search-results",
    )
    .await;
    if std::env::var_os("TEIKYO_REQUIRE_BROWSER").is_some() {
        assert_eq!(map_markers(&browser).await, 1, "one marker per result");
    }
    check_page(&browser, &app, "/en/search?q=korinbo", "search-results-en").await;
    let facility = format!("/facilities/{}", ids[0].0);
    check_page(&browser, &app, &facility, "facility").await;
    // The map (Leaflet from npm; CI installs it, see .ci/browser-setup): the facility's marker.
    if std::env::var_os("TEIKYO_REQUIRE_BROWSER").is_some() {
        assert_eq!(map_markers(&browser).await, 1, "the facility page's map");
    }
    check_page(&browser, &app, &format!("/en{facility}"), "facility-en").await;
    // 「情報の誤りを報告」, and its mistakes shown beside the fields.
    let report = format!("{facility}/report-error");
    check_page(&browser, &app, &report, "report-error").await;
    let c = browser.client();
    type_into(c, "#r-contact", "hana@").await;
    click(c, "form[action$='/report-error'] button[type=submit]").await;
    check_here(&browser, &report, "report-error-mistakes").await;
    check_page(&browser, &app, &format!("/en{report}"), "report-error-en").await;

    browser.close().await.unwrap();
}

/// The demo's mail pages, with mails whose long subjects, addresses and URLs must not widen the
/// page at 360 px, and the mail log with its error summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_pages_pass_axe_and_fit_360px() {
    let Some(browser) = Browser::launch_or_skip().await else {
        return;
    };
    let app = TestApp::spawn_with(WebConfig {
        demo: true,
        ..WebConfig::default()
    })
    .await;
    let tx = app.store().begin().await.unwrap();
    let mut ids = Vec::new();
    for (n, template) in ["account_ready", "periodic_report_notice", "password_reset"]
        .into_iter()
        .enumerate()
    {
        let id = tx
            .queue_mail(&NewMail {
                template: template.into(),
                to: format!("a-very-long-mailbox-name-for-testing-{n}@hospital-with-a-long-domain.example.jp"),
                subject: format!("【Teikyo 医療機能情報提供】G-MISログインIDのお知らせ及びパスワード設定のご依頼（{n}）"),
                body_text: "医療法人社団提供会 さくら内科クリニック 御中\n\n\
                            次のURLから24時間以内にパスワードを設定してください。\n\
                            https://teikyo.example.jp/s/Ab3dEf9hXyZ0123456789abcdefghijklmnopqrstuvwxyz\n\n\
                            このメールに心当たりのない場合は、お手数ですが破棄してください。\n"
                    .into(),
                message_id: format!("<browser-{n}.0123456789abcdef@teikyo.example.jp>"),
                related: None,
                facility_id: None,
            })
            .await
            .unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();
    app.store()
        .mails()
        .mark(
            ids[0],
            MailStatus::Delivered,
            "250 2.0.0 Ok: queued as 4F2A1C0FFEE",
        )
        .await
        .unwrap();
    app.store()
        .mails()
        .mark(ids[1], MailStatus::Bounced, "5.1.1 smtp; 550 5.1.1 <a-very-long-mailbox-name-for-testing-1@hospital-with-a-long-domain.example.jp>: Recipient address rejected: User unknown in virtual mailbox table")
        .await
        .unwrap();

    check_page(&browser, &app, "/demo/outbox", "demo-outbox").await;
    check_page(
        &browser,
        &app,
        &format!("/demo/outbox/{}", ids[0]),
        "demo-outbox-mail",
    )
    .await;
    // The log needs a signed-in operator: through the real login form.
    sign_in(&browser, &app, "browserop", &[Membership::Operator]).await;
    check_page(&browser, &app, "/mail/log", "mail-log").await;
    check_page(&browser, &app, "/staff?prefecture=17", "staff").await;
    check_page(
        &browser,
        &app,
        &format!("/mail/log/{}?scope=all", ids[1]),
        "mail-log-detail",
    )
    .await;
    check_page(
        &browser,
        &app,
        "/mail/log?status=lost&facility_id=abc&date_from=2026-13-01",
        "mail-log-errors",
    )
    .await;

    browser.close().await.unwrap();
}

/// Waits (up to 10 s) until the browser has navigated to `path`: a click returns before the
/// next page has loaded.
async fn wait_for_path(c: &fantoccini::Client, path: &str) {
    wait_for_any(c, &[path]).await;
}

/// Like [`wait_for_path`], for any of `paths`; returns the one arrived at.
async fn wait_for_any(c: &fantoccini::Client, paths: &[&str]) -> String {
    let mut url = c.current_url().await.unwrap();
    for _ in 0..100 {
        if paths.contains(&url.path()) {
            return url.path().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        url = c.current_url().await.unwrap();
    }
    panic!("expected to arrive at one of {paths:?}, still at {url}");
}

/// Signs in through the login form as a new user with `memberships`, and checks it landed home.
async fn sign_in(browser: &Browser, app: &TestApp, login_id: &str, memberships: &[Membership]) {
    teikyo_testkit::web::create_user(app.store(), login_id, memberships).await;
    browser.goto(&app.url("/login")).await.unwrap();
    let c = browser.client();
    c.find(Locator::Css("#f-login-id"))
        .await
        .unwrap()
        .send_keys(&login_id.to_uppercase())
        .await
        .unwrap();
    c.find(Locator::Css("#f-password"))
        .await
        .unwrap()
        .send_keys(teikyo_testkit::web::PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("form.stack-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    if wait_for_any(c, &["/home", "/login/code"]).await == "/login/code" {
        // Staff have a second factor: the code page, checked like every page, then the code.
        check_page(browser, app, "/login/code", "login-code").await;
        let c = browser.client();
        let code =
            teikyo_account::mfa::code_at(teikyo_testkit::web::TOTP_SECRET, Utc::now()).unwrap();
        c.find(Locator::Css("#f-code"))
            .await
            .unwrap()
            .send_keys(&code)
            .await
            .unwrap();
        c.find(Locator::Css("form.stack-form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for_path(c, "/home").await;
    }
}

/// The account pages a facility clerk meets, on a phone: login, the two 「お忘れですか？」 pages,
/// the 「メールの確認」 page, a used link, and the home screen after login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_pages_pass_axe_and_fit_360px() {
    let Some(browser) = Browser::launch_or_skip().await else {
        return;
    };
    let app = TestApp::spawn().await;
    check_page(&browser, &app, "/login", "login").await;
    check_page(&browser, &app, "/password/forgot", "password-forgot").await;
    check_page(&browser, &app, "/password/sent?id=abc123", "password-sent").await;
    check_page(
        &browser,
        &app,
        "/r/AAAAAAAAAAAAAAAA",
        "password-link-unknown",
    )
    .await;
    check_page(&browser, &app, "/login-id/forgot", "login-id-forgot").await;
    let facility = FacilityRecord {
        kind: FacilityKind::Clinic,
        prefecture: PrefectureCode::parse("17").unwrap(),
        municipality: MunicipalityCode::parse("17201").unwrap(),
        facility_code: None,
        insurance_codes: vec![],
        names: FacilityNames {
            official: "医療法人社団提供会 さくら内科・小児科クリニック".into(),
            official_kana: "サクラナイカショウニカクリニック".into(),
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
    let id = app.store().facilities().insert(&facility).await.unwrap().0;
    sign_in(
        &browser,
        &app,
        "browserclinic",
        &[Membership::Facility {
            facility_id: id,
            admin: true,
            programs: vec![teikyo_domain::Program::MedicalFunction],
        }],
    )
    .await;
    check_page(&browser, &app, "/home", "home-facility").await;
    check_page(
        &browser,
        &app,
        &format!("/facility/{id}/users"),
        "facility-users",
    )
    .await;
    // The 調査票入力画面 and generated section pages (the hours table, a coded list).
    check_page(
        &browser,
        &app,
        &format!("/facility/{id}/report"),
        "report-start",
    )
    .await;
    // The 保険医療機関番号確認 of the 定期報告 start, once a period is open.
    teikyo_testkit::web::open_ishikawa_period(app.store()).await;
    check_page(
        &browser,
        &app,
        &format!("/facility/{id}/report/start"),
        "report-number-check",
    )
    .await;
    let kind = FacilityKind::Clinic;
    let catalogue = teikyo_refdata::forms::catalogue().unwrap();
    let set = catalogue.current(kind, u16::MAX).unwrap();
    let report = app
        .store()
        .reports()
        .start(
            &teikyo_store::NewReport {
                facility_id: teikyo_store::FacilityId(id),
                kind: teikyo_domain::report::ReportKind::Periodic,
                fiscal_year: set.fiscal_year,
                item_set: set.id.clone(),
                by: None,
                period_id: None,
                insurance_check: None,
                preset: Vec::new(),
            },
            teikyo_store::AuditEvent::new("report.started", None),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .0;
    check_page(&browser, &app, &format!("/facility/{id}/report"), "report").await;
    for section in ["basic", "services"] {
        check_page(
            &browser,
            &app,
            &format!("/reports/{}/sections/{section}", report.id),
            &format!("report-{section}"),
        )
        .await;
    }
    // 二段階認証: the page before, and the QR code step after 「設定する」.
    check_page(&browser, &app, "/account/mfa", "account-mfa").await;
    let c = browser.client();
    c.find(Locator::Css("form[action='/account/mfa/begin'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Css(".qr svg")).await.unwrap();
    check_page(&browser, &app, "/account/mfa", "account-mfa-setup").await;
    browser.close().await.unwrap();
}

/// The reporting workflow's pages: a facility's 制度ホーム with an お知らせ, its report page and
/// the 報告 step; then the prefecture's review queue, 差異表示, periods, 報告状況一覧, dashboard
/// and お知らせ pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_pages_pass_axe_and_fit_360px() {
    let Some(browser) = Browser::launch_or_skip().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let store = app.store();
    let f = teikyo_testkit::web::kanazawa_facility(
        store,
        FacilityKind::Hospital,
        "医療法人社団提供会 金沢中央病院",
        "カナザワチュウオウビョウイン",
        "1170000009",
    )
    .await;
    teikyo_testkit::web::open_ishikawa_period(store).await;
    let today = Utc::now().date_naive();
    store
        .notices()
        .post(
            &teikyo_store::NewNotice {
                prefecture: Some(PrefectureCode::parse("17").unwrap()),
                title: "定期報告の受付を開始しました".into(),
                body: "報告期限までに、すべての項目を入力して「報告」ボタンを押してください。\n不明な点は県医療政策課までお問い合わせください。".into(),
                shown_from: today - chrono::Days::new(1),
                shown_until: None,
                by: None,
            },
            teikyo_store::AuditEvent::new("notice.posted", None),
            Utc::now(),
        )
        .await
        .unwrap();
    sign_in(
        &browser,
        &app,
        "wfclinic",
        &[teikyo_testkit::web::facility_admin(f)],
    )
    .await;
    check_page(&browser, &app, "/home", "home-notice").await;
    check_page(
        &browser,
        &app,
        &format!("/facility/{f}/report"),
        "report-home",
    )
    .await;
    // The 定期報告, started from the page (スキップ: report_start.rs checks the 番号確認),
    // filled through the store, then the steps' pages.
    browser
        .goto(&app.url(&format!("/facility/{f}/report/start")))
        .await
        .unwrap();
    let c = browser.client();
    c.find(Locator::Css("button[aria-describedby='skip-hint']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css(".report-progress"))
        .await
        .unwrap();
    let report = store
        .reports()
        .of_facility(teikyo_store::FacilityId(f))
        .await
        .unwrap()
        .first()
        .map(|r| r.id.0)
        .expect("the report started");
    teikyo_testkit::report::complete_all(store, report, Some("access")).await;
    check_page(&browser, &app, &format!("/reports/{report}"), "report-page").await;
    check_page(
        &browser,
        &app,
        &format!("/reports/{report}/submit"),
        "report-submit-incomplete",
    )
    .await;
    teikyo_testkit::report::complete_all(store, report, None).await;
    check_page(
        &browser,
        &app,
        &format!("/reports/{report}/submit"),
        "report-submit",
    )
    .await;
    check_page(
        &browser,
        &app,
        &format!("/reports/{report}/cancel"),
        "report-cancel",
    )
    .await;
    // 報告 through the page itself.
    browser
        .goto(&app.url(&format!("/reports/{report}/submit")))
        .await
        .unwrap();
    c.find(Locator::Css("form[action$='/submit'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(c, &format!("/reports/{report}")).await;
    check_page(
        &browser,
        &app,
        &format!("/reports/{report}?done=submitted"),
        "report-submitted",
    )
    .await;

    // The prefecture: a whole-prefecture admin sees every staff page of the workflow.
    c.delete_all_cookies().await.unwrap();
    sign_in(
        &browser,
        &app,
        "wfadmin",
        &[teikyo_testkit::web::prefecture_staff(
            "17",
            teikyo_domain::account::StaffLevel::Admin,
        )],
    )
    .await;
    check_page(&browser, &app, "/home", "home-prefecture").await;
    check_page(&browser, &app, "/prefecture/reports", "review-queue").await;
    check_page(
        &browser,
        &app,
        &format!("/reports/{report}/review"),
        "review-diff",
    )
    .await;
    check_page(&browser, &app, "/prefecture/periods", "periods").await;
    check_page(&browser, &app, "/prefecture/status", "status-list").await;
    check_page(&browser, &app, "/prefecture/dashboard", "status-dashboard").await;
    check_page(&browser, &app, "/notices", "notices").await;
    browser.close().await.unwrap();
}

/// 一括メール配信 on a phone: the list, the compose form, a draft's preview and a started send's
/// progress, the draft written and sent through the pages themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_mail_pages_pass_axe_and_fit_360px() {
    let Some(browser) = Browser::launch_or_skip().await else {
        return;
    };
    // The preview renders the mail, so the app needs the mail templates.
    let app = TestApp::spawn_router(|store| {
        let registrations =
            teikyo_testkit::web::test_registrations(teikyo_testkit::web::test_templates());
        teikyo_web::router(
            teikyo_web::AppState::new(store, WebConfig::default())
                .with_registrations(registrations),
        )
    })
    .await
    .unwrap();
    let store = app.store();
    teikyo_testkit::web::open_ishikawa_period(store).await;
    for (n, name) in ["金沢中央クリニック", "広坂内科医院", "香林坊歯科"]
        .iter()
        .enumerate()
    {
        let f = teikyo_testkit::web::kanazawa_facility(
            store,
            FacilityKind::Clinic,
            name,
            "クリニック",
            &format!("17400000{n:02}"),
        )
        .await;
        if n > 0 {
            teikyo_testkit::web::create_user(
                store,
                &format!("bmclerk{n}"),
                &[teikyo_testkit::web::facility_admin(f)],
            )
            .await;
        }
    }
    sign_in(
        &browser,
        &app,
        "bmadmin",
        &[teikyo_testkit::web::prefecture_staff(
            "17",
            teikyo_domain::account::StaffLevel::Admin,
        )],
    )
    .await;
    check_page(
        &browser,
        &app,
        "/prefecture/bulk-mail",
        "bulk-mail-list-empty",
    )
    .await;
    check_page(
        &browser,
        &app,
        "/prefecture/bulk-mail/new",
        "bulk-mail-compose",
    )
    .await;
    let c = browser.client();
    type_into(c, "#b-subject", "{年度}定期報告のお願い（{施設名}）").await;
    type_into(
        c,
        "#b-body",
        "{施設名} ご担当者様\n\n報告期限は{報告期限}です。\n{報告URL}",
    )
    .await;
    click(c, "button[value=preview]").await;
    let mut url = c.current_url().await.unwrap();
    for _ in 0..100 {
        if url.path().starts_with("/prefecture/bulk-mail/") && !url.path().ends_with("/new") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        url = c.current_url().await.unwrap();
    }
    let preview = url.path().to_owned();
    assert!(!preview.ends_with("/new"), "the draft was saved: {url}");
    check_page(&browser, &app, &preview, "bulk-mail-preview").await;
    check_page(&browser, &app, &format!("{preview}/edit"), "bulk-mail-edit").await;
    browser.goto(&app.url(&preview)).await.unwrap();
    click(c, "#p-confirm-box").await;
    click(c, "form[action$='/send'] button[type=submit]").await;
    for _ in 0..100 {
        if c.current_url().await.unwrap().query() == Some("done=started") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // No worker runs here: the send waits at 作成待ち, the page shows its progress and 中止.
    check_page(
        &browser,
        &app,
        &format!("{preview}?done=started"),
        "bulk-mail-progress",
    )
    .await;
    check_page(&browser, &app, "/prefecture/bulk-mail", "bulk-mail-list").await;

    // 臨時休診一括処理: the form, its 対象の確認 with the facilities, the batch's page and list;
    // a facility's own 臨時休診 page; the 誤りの報告 list.
    check_page(
        &browser,
        &app,
        "/prefecture/closures/new",
        "closure-batch-new",
    )
    .await;
    let c = browser.client();
    type_into(c, "#c-reason", "大雨による浸水のため").await;
    let to = (teikyo_domain::opening::japan_date(chrono::Utc::now()) + chrono::Days::new(1))
        .format("%Y-%m-%d")
        .to_string();
    c.execute(
        "document.getElementById('c-to').value = arguments[0];",
        vec![serde_json::Value::String(to)],
    )
    .await
    .unwrap();
    click(c, "button[value=preview]").await;
    for _ in 0..100 {
        if c.find(Locator::Css("#preview-heading")).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    check_here(
        &browser,
        "/prefecture/closures/new (対象の確認)",
        "closure-batch-preview",
    )
    .await;
    click(c, "#c-confirm-box").await;
    click(c, "button[value=declare]").await;
    let mut url = c.current_url().await.unwrap();
    for _ in 0..100 {
        if url.query() == Some("done=declared") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        url = c.current_url().await.unwrap();
    }
    assert_eq!(url.query(), Some("done=declared"), "declared: {url}");
    check_page(
        &browser,
        &app,
        &format!("{}?done=declared", url.path()),
        "closure-batch",
    )
    .await;
    check_page(&browser, &app, "/prefecture/closures", "closure-batch-list").await;
    let clinic = store
        .facilities()
        .list(&Default::default(), 1, 0)
        .await
        .unwrap()
        .remove(0)
        .id;
    check_page(
        &browser,
        &app,
        &format!("/facility/{}/closures", clinic.0),
        "facility-closures",
    )
    .await;
    check_page(&browser, &app, "/prefecture/error-reports", "error-reports").await;
    browser.close().await.unwrap();
}

/// The whole 新規ユーザ登録申請 (②–⑨) in a real browser, as a new user walks it in the demo:
/// the page's script solves the captcha, the 認証コード is read from the demo outbox, the postal
/// code fills the address, and the completion page shows the 申請番号. Every step's page is
/// checked with axe at 360 px.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_walks_the_whole_application_in_the_browser() {
    let Some(browser) = Browser::launch_or_skip().await else {
        return;
    };
    let app = TestApp::spawn_router(|store| {
        let registrations =
            teikyo_testkit::web::test_registrations(teikyo_testkit::web::test_templates());
        // The demo: its outbox shows the mails, as a new user reads them there.
        let config = WebConfig {
            demo: true,
            ..WebConfig::default()
        };
        teikyo_web::router(
            teikyo_web::AppState::new(store, config).with_registrations(registrations),
        )
    })
    .await
    .unwrap();
    check_page(&browser, &app, "/apply", "apply-start").await;
    let c = browser.client();
    let mut solved = false;
    for _ in 0..100 {
        let status = c
            .find(Locator::Css("[data-captcha-status]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if status.contains("確認できました") {
            solved = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(solved, "the captcha was solved by the page's script");
    c.find(Locator::Css("#f-email"))
        .await
        .unwrap()
        .send_keys("browser@clinic.example.jp")
        .await
        .unwrap();
    c.find(Locator::Css("form.stack-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(c, "/apply/confirm").await;
    check_page(&browser, &app, "/apply/confirm", "apply-confirm").await;

    // ③–⑤: the code is sent, read in the demo outbox, and entered.
    let c = browser.client();
    click(c, "form[action='/apply/send'] button[type=submit]").await;
    wait_for_path(c, "/apply/code").await;
    check_page(&browser, &app, "/apply/code", "apply-code").await;
    let c = browser.client();
    c.goto(&app.url("/demo/outbox")).await.unwrap();
    click(c, "table th a").await;
    c.wait()
        .for_element(Locator::Css("pre, .mail-body"))
        .await
        .unwrap();
    let text = c.source().await.unwrap();
    let after = &text[text.find("認証コード: ").expect("the code mail") + "認証コード: ".len()..];
    let code: String = after.chars().take(6).collect();
    assert!(code.chars().all(|ch| ch.is_ascii_digit()), "{code}");
    c.goto(&app.url("/apply/code")).await.unwrap();
    type_into(c, "#f-code", &code).await;
    click(c, "form[action='/apply/code'] button[type=submit]").await;
    wait_for_path(c, "/apply/form").await;

    // ⑥: the postal code fills 都道府県・市区町村・町名; the rest is typed.
    type_into(c, "#f-postal_code", "920-0962").await;
    click(c, "button[name=action][value=postal]").await;
    c.wait()
        .for_element(Locator::Css("#f-prefecture option[value='17'][selected]"))
        .await
        .unwrap();
    check_page(&browser, &app, "/apply/form", "apply-form").await;
    let c = browser.client();
    // The autofill was saved with the form: a reload keeps it.
    let kept = c
        .find(Locator::Css("#f-town"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(kept, "広坂", "the autofill was saved");
    for (field, value) in [
        ("facility_name", "広坂クリニック"),
        ("phone", "076-220-2211"),
        ("insurance_code", "1710112341"),
        ("town", "1丁目1番1号"),
        ("department", "事務部"),
        ("family_name", "金沢"),
        ("given_name", "花子"),
        ("department_phone", "076-220-2212"),
    ] {
        type_into(c, &format!("#f-{field}"), value).await;
    }
    for (field, value) in [("kind", "2"), ("discriminator", "medical")] {
        c.find(Locator::Css(&format!("#f-{field}")))
            .await
            .unwrap()
            .select_by_value(value)
            .await
            .unwrap();
    }
    click(c, "button[name=action][value=next]").await;
    wait_for_path(c, "/apply/terms").await;

    // ⑦–⑨: consent, confirmation, completion with the 申請番号.
    check_page(&browser, &app, "/apply/terms", "apply-terms").await;
    let c = browser.client();
    click(c, "#f-consent").await;
    click(c, "form[action='/apply/terms'] button[type=submit]").await;
    wait_for_path(c, "/apply/review").await;
    check_page(&browser, &app, "/apply/review", "apply-review").await;
    let c = browser.client();
    let review = c.source().await.unwrap();
    assert!(review.contains("広坂クリニック") && review.contains("広坂1丁目1番1号"));
    click(c, "form[action='/apply/submit'] button[type=submit]").await;
    wait_for_path(c, "/apply/done").await;
    check_page(&browser, &app, "/apply/done", "apply-done").await;
    let done = browser.client().source().await.unwrap();
    assert!(done.contains("API-"), "the 申請番号 is shown");
    assert!(done.contains("申請内容をダウンロードする"));
    browser.close().await.unwrap();
}

/// The markers on the page's map once `map.js` has drawn it (0 when there is no map).
async fn map_markers(browser: &Browser) -> usize {
    for _ in 0..50 {
        let n = browser
            .client()
            .execute(
                "return document.querySelector('[data-map-ready]') \
                   ? document.querySelectorAll('.leaflet-interactive').length : -1;",
                vec![],
            )
            .await
            .unwrap();
        if let Some(n) = n.as_u64() {
            return usize::try_from(n).unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    0
}

async fn click(c: &fantoccini::Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn type_into(c: &fantoccini::Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// The harness itself: axe-core really runs and reports what it should.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_check_reports_a_known_violation() {
    let Some(browser) = Browser::launch_or_skip().await else {
        return;
    };
    browser
        .goto("data:text/html;charset=utf-8,<!DOCTYPE html><title>t</title><img src=x.png>")
        .await
        .unwrap();
    let violations = browser.axe_check().await.unwrap();
    let ids: Vec<&str> = violations.iter().map(|v| v.id.as_str()).collect();
    assert!(ids.contains(&"image-alt"), "{ids:?}");
    assert!(ids.contains(&"html-has-lang"), "{ids:?}");
    assert!(violations.iter().any(|v| v.is_blocking()));
    browser.close().await.unwrap();
}
