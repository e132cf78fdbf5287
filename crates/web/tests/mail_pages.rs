//! The mail pages (demo outbox, mail log) and the bounce endpoint, on SQLite and — with
//! `TEIKYO_TEST_DATABASE_URL` — on PostgreSQL.

use std::future::Future;

use axum::Router;
use axum::body::Body;
use axum::http::HeaderValue;
use axum::http::header::COOKIE;
use axum::http::{Request, Response, StatusCode};
use chrono::{Duration, Utc};
use std::sync::atomic::{AtomicUsize, Ordering};
use teikyo_domain::account::{Area, Membership, StaffLevel};
use teikyo_domain::{
    FacilityCode, FacilityKind, FacilityNames, FacilityRecord, MunicipalityCode, PrefectureCode,
};
use teikyo_store::{Backend, MailId, MailStatus, NewMail, Store};
use teikyo_testkit::db::{TestDb, backends};
use teikyo_testkit::web::{create_user, session_cookie};
use teikyo_web::{AppState, WebConfig};
use tower::ServiceExt;

const TOKEN: &str = "test-bounce-token-0123456789";

/// Runs `test` once per backend on a fresh database.
async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        let db = TestDb::new(backend).await.unwrap();
        test(db.store.clone()).await;
        if backend == Backend::Postgres {
            println!("PostgreSQL: passed");
        }
        db.cleanup().await.unwrap();
    }
}

fn demo() -> WebConfig {
    WebConfig {
        demo: true,
        ..WebConfig::default()
    }
}

fn with_token() -> WebConfig {
    WebConfig {
        bounce_token: Some(TOKEN.into()),
        ..WebConfig::default()
    }
}

/// The application as the operator sees it: every request carries a session of a new operator.
async fn app(store: &Store, config: WebConfig) -> Router {
    signed_in_as(store, config, &[Membership::Operator]).await
}

/// The application with every request carrying a session of a new user with `memberships`.
async fn signed_in_as(store: &Store, config: WebConfig, memberships: &[Membership]) -> Router {
    static N: AtomicUsize = AtomicUsize::new(0);
    let login = format!("viewer{}", N.fetch_add(1, Ordering::Relaxed));
    let user = create_user(store, &login, memberships).await;
    let cookie = HeaderValue::from_str(&session_cookie(store, &config, user).await).unwrap();
    teikyo_web::router(AppState::new(store.clone(), config)).layer(axum::middleware::map_request(
        move |mut req: Request<Body>| {
            let cookie = cookie.clone();
            async move {
                req.headers_mut().insert(COOKIE, cookie);
                req
            }
        },
    ))
}

async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone().oneshot(req).await.unwrap()
}

async fn get(app: &Router, path: &str) -> (StatusCode, String) {
    let res = send(app, Request::get(path).body(Body::empty()).unwrap()).await;
    let status = res.status();
    (status, text(res).await)
}

async fn text(res: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A hospital in `prefecture`, in the municipality with the 5-digit code `municipality`.
async fn facility(store: &Store, prefecture: &str, municipality: &str, name: &str) -> i64 {
    let record = FacilityRecord {
        kind: FacilityKind::Hospital,
        prefecture: PrefectureCode::parse(prefecture).unwrap(),
        municipality: MunicipalityCode::parse(municipality).unwrap(),
        facility_code: Some(FacilityCode::parse(&format!("1{prefecture}0000001")).unwrap()),
        insurance_codes: vec![],
        names: FacilityNames {
            official: name.into(),
            official_kana: "テスト".into(),
            short: None,
            short_kana: None,
            english: None,
        },
        postal_code: None,
        address: format!(
            "{}テスト町1番1号",
            PrefectureCode::parse(prefecture).unwrap().name()
        ),
        coordinates: None,
        homepage: None,
        opened_on: None,
        suspended_on: None,
        abolished_on: None,
    };
    store.facilities().insert(&record).await.unwrap().0
}

struct Letter<'a> {
    template: &'a str,
    to: &'a str,
    subject: &'a str,
    body: &'a str,
    facility_id: Option<i64>,
}

impl Default for Letter<'_> {
    fn default() -> Self {
        Self {
            template: "account_ready",
            to: "taro@example.jp",
            subject: "【Teikyo】ログインIDのお知らせ",
            body: "本文です。\n",
            facility_id: None,
        }
    }
}

async fn queue(store: &Store, letter: Letter<'_>) -> MailId {
    let tx = store.begin().await.unwrap();
    let id = tx
        .queue_mail(&NewMail {
            template: letter.template.into(),
            to: letter.to.into(),
            subject: letter.subject.into(),
            body_text: letter.body.into(),
            message_id: format!("<{}@teikyo.test>", uuid::Uuid::new_v4().simple()),
            related: None,
            facility_id: letter.facility_id,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Two facilities (石川県 17, 奈良県 29) and mails about each, one about none.
struct Arranged {
    ishikawa_mail: MailId,
    nara_mail: MailId,
    unscoped_mail: MailId,
    ishikawa: i64,
}

async fn arrange(store: &Store) -> Arranged {
    let ishikawa = facility(store, "17", "17201", "金沢テスト病院").await;
    let nara = facility(store, "29", "29201", "奈良テスト病院").await;
    let ishikawa_mail = queue(
        store,
        Letter {
            to: "kanazawa@hospital.example.jp",
            subject: "【Teikyo】金沢テスト病院 ログインIDのお知らせ",
            facility_id: Some(ishikawa),
            ..Letter::default()
        },
    )
    .await;
    let nara_mail = queue(
        store,
        Letter {
            template: "periodic_report_notice",
            to: "nara@clinic.example.jp",
            subject: "【Teikyo】奈良テスト病院 定期報告のご案内",
            facility_id: Some(nara),
            ..Letter::default()
        },
    )
    .await;
    let unscoped_mail = queue(
        store,
        Letter {
            template: "custom_template",
            to: "someone@example.jp",
            subject: "【Teikyo】施設に紐づかないメール",
            ..Letter::default()
        },
    )
    .await;
    store
        .mails()
        .mark(ishikawa_mail, MailStatus::Delivered, "250 2.0.0 Ok")
        .await
        .unwrap();
    store
        .mails()
        .mark(nara_mail, MailStatus::Bounced, "550 5.1.1 User unknown")
        .await
        .unwrap();
    Arranged {
        ishikawa_mail,
        nara_mail,
        unscoped_mail,
        ishikawa,
    }
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

// ---- demo outbox ----

#[tokio::test]
async fn outbox_lists_the_demo_mails_newest_first() {
    on_each_backend(|store| async move {
        let a = arrange(&store).await;
        let app = app(&store, demo()).await;
        let (status, html) = get(&app, "/demo/outbox").await;
        assert_eq!(status, StatusCode::OK);
        for expected in [
            "<html lang=\"ja\">",
            "送信メール一覧（デモ）",
            "メールサーバを用意しなくても",
            "kanazawa@hospital.example.jp",
            "利用案内メール",
            "定期報告案内メール",
            // unknown template: its id rather than nothing
            "custom_template",
            "送信完了",
            "不達",
            "送信待ち",
            "<caption",
            "scope=\"col\"",
        ] {
            assert!(html.contains(expected), "missing {expected}:\n{html}");
        }
        let pos = |id: MailId| {
            html.find(&format!("href=\"/demo/outbox/{id}\""))
                .unwrap_or_else(|| panic!("no link to mail {id}:\n{html}"))
        };
        assert!(pos(a.unscoped_mail) < pos(a.nara_mail));
        assert!(pos(a.nara_mail) < pos(a.ishikawa_mail));
        // Created "now", shown in Japan time as YYYY-MM-DD HH:MM.
        let today = (Utc::now() + Duration::hours(9))
            .format("%Y-%m-%d ")
            .to_string();
        assert!(html.contains(&today), "{html}");
    })
    .await;
}

#[tokio::test]
async fn outbox_shows_a_mail_with_its_body_and_clickable_links() {
    on_each_backend(|store| async move {
        let id = queue(
            &store,
            Letter {
                subject: "<script>alert(1)</script> のお知らせ",
                body: "金沢テスト病院 御中\n\n次のURLからパスワードを設定してください。\nhttps://teikyo.test/s/Ab3dEf9h\n\n<b>太字ではありません</b> & 記号\n",
                ..Letter::default()
            },
        )
        .await;
        store
            .mails()
            .mark(id, MailStatus::Delivered, "250 2.0.0 Ok: queued as 4F2A1")
            .await
            .unwrap();
        let app = app(&store, demo()).await;
        let (status, html) = get(&app, &format!("/demo/outbox/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        for expected in [
            "<pre class=\"mail-body\">",
            "金沢テスト病院 御中\n\n次のURLから",
            "<a href=\"https://teikyo.test/s/Ab3dEf9h\">https://teikyo.test/s/Ab3dEf9h</a>",
            "&lt;b&gt;太字ではありません&lt;/b&gt; &amp; 記号",
            // askama's escaping of the subject
            "&#60;script&#62;alert(1)&#60;/script&#62; のお知らせ",
            "Message-ID",
            "@teikyo.test&#62;",
            "SMTP応答",
            "250 2.0.0 Ok: queued as 4F2A1",
            "送信日時",
            "送信完了",
            "デモ専用",
            "href=\"/demo/outbox\"",
        ] {
            assert!(html.contains(expected), "missing {expected}:\n{html}");
        }
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<b>太字"), "{html}");
        assert!(!html.contains("不達日時"), "{html}");
    })
    .await;
}

#[tokio::test]
async fn outbox_pages_by_fifty() {
    on_each_backend(|store| async move {
        let tx = store.begin().await.unwrap();
        let mails = (0..55)
            .map(|n| NewMail {
                template: "password_reset".into(),
                to: format!("user{n}@example.jp"),
                subject: format!("パスワードリセットのご案内 {n}"),
                body_text: "本文\n".into(),
                message_id: format!("<page-{n}@teikyo.test>"),
                related: None,
                facility_id: None,
            })
            .collect();
        tx.queue_mails(mails, &mut |_| {}).await.unwrap();
        tx.commit().await.unwrap();
        let app = app(&store, demo()).await;

        let (_, first) = get(&app, "/demo/outbox").await;
        assert_eq!(count(&first, "href=\"/demo/outbox/"), 50, "{first}");
        assert!(first.contains("href=\"/demo/outbox?page=2\""), "{first}");
        assert!(first.contains("全 55 件中 1〜50 件目"), "{first}");

        let (status, second) = get(&app, "/demo/outbox?page=2").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(count(&second, "href=\"/demo/outbox/"), 5, "{second}");
        assert!(second.contains("全 55 件中 51〜55 件目"), "{second}");
        assert!(second.contains("前のページ"), "{second}");

        let (status, html) = get(&app, "/demo/outbox?page=abc").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            html.contains("送信された内容を処理できませんでした"),
            "{html}"
        );
    })
    .await;
}

#[tokio::test]
async fn outbox_unknown_mail_is_the_404_page() {
    on_each_backend(|store| async move {
        let app = app(&store, demo()).await;
        for path in ["/demo/outbox/999999", "/demo/outbox/abc", "/demo/outbox/0"] {
            let (status, html) = get(&app, path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(html.contains("ページが見つかりません"), "{path}: {html}");
        }
    })
    .await;
}

#[tokio::test]
async fn demo_pages_are_not_routed_outside_the_demo() {
    on_each_backend(|store| async move {
        let a = arrange(&store).await;
        let app = app(&store, WebConfig::default()).await;
        for path in [
            "/demo/outbox".to_owned(),
            format!("/demo/outbox/{}", a.ishikawa_mail),
        ] {
            let (status, html) = get(&app, &path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(!html.contains("kanazawa@"), "{path}: {html}");
        }
        // The log is not a demo page any more: it is there for signed-in staff.
        let (status, _) = get(&app, "/mail/log").await;
        assert_eq!(status, StatusCode::OK);
        // …and not for anyone else.
        let anonymous = teikyo_web::router(AppState::new(store.clone(), WebConfig::default()));
        let res = send(
            &anonymous,
            Request::get("/mail/log").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers()["location"].to_str().unwrap(),
            "/login?next=%2Fmail%2Flog"
        );
    })
    .await;
}

#[tokio::test]
async fn prefecture_staff_see_their_prefecture_only_and_cannot_choose_another() {
    on_each_backend(|store| async move {
        let a = arrange(&store).await;
        let nara = signed_in_as(
            &store,
            WebConfig::default(),
            &[Membership::Prefecture {
                prefecture: PrefectureCode::parse("29").unwrap(),
                level: StaffLevel::ReadOnly,
                area: Area::Whole,
            }],
        )
        .await;
        // Without a scope: their own prefecture.
        let (status, html) = get(&nara, "/mail/log").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("現在の表示範囲：<strong>奈良県（29）</strong>"),
            "{html}"
        );
        assert!(!html.contains("kanazawa@"), "{html}");
        assert!(
            !html.contains("すべての都道府県"),
            "no operator scope offered: {html}"
        );
        assert!(
            !html.contains("17 石川県"),
            "no other prefecture offered: {html}"
        );
        // Asking for another scope is refused, on the list and on a detail page.
        for path in [
            "/mail/log?scope=17".to_owned(),
            "/mail/log?scope=all".to_owned(),
            format!("/mail/log/{}?scope=17", a.ishikawa_mail),
        ] {
            let (status, html) = get(&nara, &path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert!(!html.contains("kanazawa@"), "{path}: {html}");
        }
        // A facility's user has no mail log at all.
        let clinic = signed_in_as(
            &store,
            WebConfig::default(),
            &[Membership::Facility {
                facility_id: a.ishikawa,
                admin: true,
                programs: vec![teikyo_domain::Program::MedicalFunction],
            }],
        )
        .await;
        let (status, html) = get(&clinic, "/mail/log").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            html.contains("このページを表示する権限がありません"),
            "{html}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_demo_landing_page_points_to_its_mail_pages() {
    on_each_backend(|store| async move {
        let (status, html) = get(&app(&store, demo()).await, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<a href=\"/demo/outbox\">"), "{html}");
        assert!(html.contains("<a href=\"/mail/log\">"));
        let (_, html) = get(&app(&store, WebConfig::default()).await, "/").await;
        assert!(!html.contains("/demo/outbox"));
        assert!(!html.contains("デモ環境"));
    })
    .await;
}

// ---- mail log ----

#[tokio::test]
async fn mail_log_says_whose_mail_it_shows() {
    on_each_backend(|store| async move {
        arrange(&store).await;
        let app = app(&store, demo()).await;
        let (status, html) = get(&app, "/mail/log").await;
        assert_eq!(status, StatusCode::OK);
        for expected in [
            "表示されるのは、ログインしている利用者の権限の範囲のメールです。",
            "現在の表示範囲：<strong>すべての都道府県（運用者）</strong>",
            "<label for=\"f-recipient\">宛先</label>",
            "<label for=\"f-kind\">種類</label>",
            "<label for=\"f-status\">状態</label>",
            "<label for=\"f-facility_id\">施設ID</label>",
            "<legend>期間（作成日）</legend>",
            "<option value=\"29\">29 奈良県</option>",
            "<option value=\"account_ready\">利用案内メール</option>",
            "<option value=\"bounced\">不達</option>",
            "条件に当てはまるメールは 3 件です。",
            "送信完了：1 件",
            "不達：1 件",
            "送信待ち：1 件",
        ] {
            assert!(html.contains(expected), "missing {expected}:\n{html}");
        }
    })
    .await;
}

#[tokio::test]
async fn mail_log_filters_by_status_kind_and_recipient() {
    on_each_backend(|store| async move {
        let a = arrange(&store).await;
        let app = app(&store, demo()).await;
        let link = |id: MailId| format!("href=\"/mail/log/{id}?scope=all\"");

        let (status, html) = get(&app, "/mail/log?status=bounced").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(&link(a.nara_mail)), "{html}");
        assert!(!html.contains(&link(a.ishikawa_mail)), "{html}");
        assert!(
            html.contains("条件に当てはまるメールは 1 件です。"),
            "{html}"
        );
        assert!(
            html.contains("<option value=\"bounced\" selected>"),
            "{html}"
        );

        let (_, html) = get(&app, "/mail/log?kind=account_ready").await;
        assert!(html.contains(&link(a.ishikawa_mail)), "{html}");
        assert!(!html.contains(&link(a.nara_mail)), "{html}");

        // Part of the address, any case.
        let (_, html) = get(&app, "/mail/log?recipient=CLINIC.example").await;
        assert!(html.contains(&link(a.nara_mail)), "{html}");
        assert!(!html.contains(&link(a.ishikawa_mail)), "{html}");
        assert!(!html.contains(&link(a.unscoped_mail)), "{html}");
        assert!(html.contains("value=\"CLINIC.example\""), "{html}");

        let (_, html) = get(&app, &format!("/mail/log?facility_id={}", a.ishikawa)).await;
        assert!(html.contains(&link(a.ishikawa_mail)), "{html}");
        assert!(
            html.contains("条件に当てはまるメールは 1 件です。"),
            "{html}"
        );

        let (_, html) = get(
            &app,
            "/mail/log?status=delivered&kind=periodic_report_notice",
        )
        .await;
        assert!(
            html.contains("条件に当てはまるメールはありません。"),
            "{html}"
        );
    })
    .await;
}

#[tokio::test]
async fn mail_log_period_is_inclusive_days_in_japan() {
    on_each_backend(|store| async move {
        let a = arrange(&store).await;
        let app = app(&store, demo()).await;
        let day = |offset: i64| {
            (Utc::now() + Duration::hours(9) + Duration::days(offset))
                .format("%Y-%m-%d")
                .to_string()
        };
        let link = format!("href=\"/mail/log/{}?scope=all\"", a.ishikawa_mail);

        let (_, html) = get(
            &app,
            &format!("/mail/log?date_from={0}&date_to={0}", day(0)),
        )
        .await;
        assert!(html.contains(&link), "today, inclusive: {html}");
        let (_, html) = get(&app, &format!("/mail/log?date_to={}", day(-1))).await;
        assert!(!html.contains(&link), "until yesterday: {html}");
        let (_, html) = get(&app, &format!("/mail/log?date_from={}", day(1))).await;
        assert!(!html.contains(&link), "from tomorrow: {html}");
        assert!(
            html.contains("条件に当てはまるメールはありません。"),
            "{html}"
        );
    })
    .await;
}

#[tokio::test]
async fn prefecture_scope_hides_other_prefectures_mail() {
    on_each_backend(|store| async move {
        let a = arrange(&store).await;
        let app = app(&store, demo()).await;

        let (status, html) = get(&app, "/mail/log?scope=29").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("現在の表示範囲：<strong>奈良県（29）</strong>"),
            "{html}"
        );
        assert!(
            html.contains(&format!("href=\"/mail/log/{}?scope=29\"", a.nara_mail)),
            "{html}"
        );
        assert!(!html.contains("kanazawa@"), "{html}");
        assert!(!html.contains("someone@example.jp"), "{html}");
        assert!(
            html.contains("条件に当てはまるメールは 1 件です。"),
            "{html}"
        );
        assert!(
            html.contains("送信完了：0 件"),
            "counts are scoped too: {html}"
        );

        // Filters cannot widen the scope.
        let (_, html) = get(
            &app,
            &format!("/mail/log?scope=29&facility_id={}", a.ishikawa),
        )
        .await;
        assert!(!html.contains("kanazawa@"), "{html}");

        // Detail pages: another prefecture's mail and a mail about no facility do not exist here.
        for (id, expected) in [
            (a.nara_mail, StatusCode::OK),
            (a.ishikawa_mail, StatusCode::NOT_FOUND),
            (a.unscoped_mail, StatusCode::NOT_FOUND),
        ] {
            let (status, html) = get(&app, &format!("/mail/log/{id}?scope=29")).await;
            assert_eq!(status, expected, "mail {id}: {html}");
            if expected == StatusCode::NOT_FOUND {
                assert!(!html.contains("@"), "leaks an address: {html}");
            }
        }
        // The operator sees every one of them.
        for id in [a.nara_mail, a.ishikawa_mail, a.unscoped_mail] {
            let (status, _) = get(&app, &format!("/mail/log/{id}?scope=all")).await;
            assert_eq!(status, StatusCode::OK, "mail {id}");
        }
        let (status, html) = get(&app, &format!("/mail/log/{}?scope=17", a.ishikawa_mail)).await;
        assert_eq!(status, StatusCode::OK);
        for expected in [
            "SMTP応答",
            "250 2.0.0 Ok",
            "送信日時",
            "メール送信記録へ戻る",
            "href=\"/mail/log?scope=17\"",
            "表示されるのは、ログインしている利用者の権限の範囲のメールです。",
        ] {
            assert!(html.contains(expected), "missing {expected}:\n{html}");
        }
    })
    .await;
}

#[tokio::test]
async fn bad_filter_input_gets_japanese_messages_not_an_error_page() {
    on_each_backend(|store| async move {
        arrange(&store).await;
        let app = app(&store, demo()).await;
        let (status, html) = get(
            &app,
            "/mail/log?scope=99&kind=spam&status=lost&facility_id=abc&date_from=2026-13-01&date_to=2026-02-30&page=x",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        for expected in [
            "入力内容をご確認ください",
            "<a href=\"#f-scope\">表示範囲は一覧から選んでください。</a>",
            "<a href=\"#f-kind\">種類は一覧から選んでください。</a>",
            "<a href=\"#f-status\">状態は一覧から選んでください。</a>",
            "<a href=\"#f-facility_id\">施設IDは1以上の数字で入力してください（例：1234）。</a>",
            "期間の開始日は「2026-11-21」の形式で",
            "期間の終了日は「2026-11-21」の形式で",
            "ページ番号が正しくありません。",
            "aria-invalid=\"true\"",
            // what was typed is shown again
            "value=\"abc\"",
        ] {
            assert!(html.contains(expected), "missing {expected}:\n{html}");
        }
        // No results under a filter that could not be read.
        assert!(!html.contains("kanazawa@"), "{html}");

        let (status, html) = get(&app, "/mail/log?date_from=2026-11-21&date_to=2026-11-20").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(html.contains("開始日と同じ日かそれより後の日付"), "{html}");

        // Odd encodings and values are never a 500.
        for path in [
            "/mail/log?recipient=%FF%FE",
            "/mail/log?recipient=%25_%5C",
            "/mail/log?facility_id=99999999999999999999999",
            "/mail/log?page=99999999999",
            "/mail/log?scope=all&scope=17",
            "/mail/log/1?scope=%3Cscript%3E",
            "/mail/log/abc",
        ] {
            let (status, html) = get(&app, path).await;
            assert!(!status.is_server_error(), "{path}: {status}\n{html}");
            assert!(html.contains("<html lang=\"ja\">"), "{path}: {html}");
        }
    })
    .await;
}

// ---- bounce endpoint ----

fn dsn(mail_id: MailId, message_id: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example.jp\r\n\
         To: bounce+{mail_id}@teikyo.test\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"XyZ\"\r\n\
         \r\n\
         --XyZ\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         This is the mail system at host mx.example.jp. Your message could not be delivered.\r\n\
         \r\n\
         --XyZ\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; mx.example.jp\r\n\
         \r\n\
         Final-Recipient: rfc822; kanazawa@hospital.example.jp\r\n\
         Action: failed\r\n\
         Status: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\
         \r\n\
         --XyZ\r\n\
         Content-Type: text/rfc822-headers\r\n\
         \r\n\
         Message-ID: {message_id}\r\n\
         Subject: =?UTF-8?B?44GK55+l44KJ44Gb?=\r\n\
         \r\n\
         --XyZ--\r\n"
    )
}

fn post_bounce(token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut req = Request::post("/mail/bounces").header("content-type", "text/plain");
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(body.into()).unwrap()
}

async fn json(res: Response<Body>) -> serde_json::Value {
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        res.headers()
    );
    serde_json::from_str(&text(res).await).unwrap()
}

#[tokio::test]
async fn bounce_endpoint_refuses_missing_and_wrong_tokens() {
    on_each_backend(|store| async move {
        let a = arrange(&store).await;
        let app = app(&store, with_token()).await;
        let mail = store.mails().get(a.ishikawa_mail).await.unwrap().unwrap();
        for token in [None, Some("wrong"), Some(&TOKEN[..TOKEN.len() - 1])] {
            let res = send(&app, post_bounce(token, dsn(mail.id, &mail.message_id))).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{token:?}");
            assert_eq!(res.headers()["www-authenticate"], "Bearer");
            let body = json(res).await;
            assert_eq!(body["error"]["code"], "auth.token", "{body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("トークン"),
                "{body}"
            );
        }
        let res = send(
            &app,
            Request::post("/mail/bounces")
                .header("authorization", format!("Basic {TOKEN}"))
                .body(Body::from(dsn(mail.id, &mail.message_id)))
                .unwrap(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        // Nothing changed.
        let after = store.mails().get(a.ishikawa_mail).await.unwrap().unwrap();
        assert_eq!(after.status, MailStatus::Delivered);
    })
    .await;
}

#[tokio::test]
async fn bounce_endpoint_does_not_exist_without_a_token() {
    on_each_backend(|store| async move {
        for config in [
            demo(),
            WebConfig {
                bounce_token: Some("   ".into()),
                ..WebConfig::default()
            },
        ] {
            let app = app(&store, config).await;
            let res = send(&app, post_bounce(Some(TOKEN), "x")).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND);
            // and the empty token of a blank configuration opens nothing either
            let res = send(&app, post_bounce(Some(""), "x")).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND);
        }
    })
    .await;
}

#[tokio::test]
async fn a_dsn_turns_a_delivered_mail_into_bounced() {
    on_each_backend(|store| async move {
        let a = arrange(&store).await;
        let app = app(&store, with_token()).await;
        let mail = store.mails().get(a.ishikawa_mail).await.unwrap().unwrap();
        assert_eq!(mail.status, MailStatus::Delivered);

        let res = send(
            &app,
            post_bounce(Some(TOKEN), dsn(mail.id, &mail.message_id)),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body = json(res).await;
        let outcome = &body["outcomes"][0];
        assert_eq!(outcome["result"], "bounced", "{body}");
        assert_eq!(outcome["mail_id"], mail.id.0, "{body}");
        assert!(
            outcome["message"]
                .as_str()
                .unwrap()
                .starts_with("不達にしました"),
            "{body}"
        );
        assert_eq!(body["outcomes"].as_array().unwrap().len(), 1, "{body}");

        let after = store.mails().get(mail.id).await.unwrap().unwrap();
        assert_eq!(after.status, MailStatus::Bounced);
        let reply = after.smtp_reply.unwrap_or_default();
        assert!(reply.contains("550 5.1.1 User unknown"), "{reply}");
        assert!(after.bounced_at.is_some());

        // The same report again changes nothing.
        let res = send(
            &app,
            post_bounce(Some(TOKEN), dsn(mail.id, &mail.message_id)),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(json(res).await["outcomes"][0]["result"], "already_bounced");

        // A report about a mail we never sent is answered, not refused.
        let res = send(
            &app,
            post_bounce(Some(TOKEN), dsn(MailId(987_654), "<nobody@teikyo.test>")),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body = json(res).await;
        assert_eq!(body["outcomes"][0]["result"], "unmatched", "{body}");
    })
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_a_dsn_is_accepted_and_ignored() {
    on_each_backend(|store| async move {
        let app = app(&store, with_token()).await;
        let res = send(
            &app,
            post_bounce(Some(TOKEN), "Subject: hello\r\n\r\nただのメールです。\r\n"),
        )
        .await;
        // not an error: the MTA would bounce the auto-reply back to its sender
        assert_eq!(res.status(), StatusCode::OK);
        let body = json(res).await;
        assert_eq!(body["outcomes"][0]["result"], "ignored", "{body}");
        assert!(
            body["outcomes"][0]["message"]
                .as_str()
                .unwrap()
                .contains("DSN"),
            "{body}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_log_withholds_codes_and_account_links_the_outbox_shows() {
    on_each_backend(|store| async move {
        let secret = queue(
            &store,
            Letter {
                template: "password_reset",
                body: "次のリンクを開いてください。\nhttps://teikyo.test/r/SECRETTOKEN123\n",
                ..Letter::default()
            },
        )
        .await;
        let notice = queue(
            &store,
            Letter {
                template: "periodic_report_notice",
                body: "令和7年度の定期報告のご案内です。\n",
                ..Letter::default()
            },
        )
        .await;
        let app = app(&store, demo()).await;
        let (status, html) = get(&app, &format!("/mail/log/{secret}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains("SECRETTOKEN123"), "{html}");
        assert!(html.contains("送信記録では本文を表示しません"), "{html}");
        let (_, html) = get(&app, &format!("/mail/log/{notice}")).await;
        assert!(html.contains("令和7年度の定期報告のご案内です。"), "{html}");
        // the demo outbox is the demo's mailbox: there the reader is the recipient
        let (_, html) = get(&app, &format!("/demo/outbox/{secret}")).await;
        assert!(html.contains("SECRETTOKEN123"), "{html}");
    })
    .await;
}

#[tokio::test]
async fn staff_limited_to_a_hokenjo_area_see_that_area_s_mail_only() {
    on_each_backend(|store| async move {
        let a = arrange(&store).await;
        // A second 石川県 facility, in 七尾市.
        let mut record = store
            .facilities()
            .get(teikyo_store::FacilityId(a.ishikawa))
            .await
            .unwrap()
            .unwrap()
            .record;
        record.municipality = MunicipalityCode::parse("17202").unwrap();
        record.facility_code = Some(FacilityCode::parse("1700000099").unwrap());
        record.names.official = "七尾テスト病院".into();
        let nanao = store.facilities().insert(&record).await.unwrap().0;
        let nanao_mail = queue(
            &store,
            Letter {
                to: "nanao@hospital.example.jp",
                facility_id: Some(nanao),
                ..Letter::default()
            },
        )
        .await;
        let kanazawa_hokenjo = signed_in_as(
            &store,
            WebConfig::default(),
            &[Membership::Prefecture {
                prefecture: PrefectureCode::parse("17").unwrap(),
                level: StaffLevel::Reviewer,
                area: Area::Municipalities(vec![MunicipalityCode::parse("17201").unwrap()]),
            }],
        )
        .await;
        let (status, html) = get(&kanazawa_hokenjo, "/mail/log").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("kanazawa@"), "{html}");
        assert!(!html.contains("nanao@"), "{html}");
        let (status, _) = get(&kanazawa_hokenjo, &format!("/mail/log/{nanao_mail}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = get(&kanazawa_hokenjo, &format!("/mail/log/{}", a.ishikawa_mail)).await;
        assert_eq!(status, StatusCode::OK);
        // The whole prefecture's staff see both.
        let whole = signed_in_as(
            &store,
            WebConfig::default(),
            &[Membership::Prefecture {
                prefecture: PrefectureCode::parse("17").unwrap(),
                level: StaffLevel::Reviewer,
                area: Area::Whole,
            }],
        )
        .await;
        let (_, html) = get(&whole, "/mail/log").await;
        assert!(
            html.contains("kanazawa@") && html.contains("nanao@"),
            "{html}"
        );
    })
    .await;
}
