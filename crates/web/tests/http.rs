//! The HTTP surface: probes, pages, error pages and the middleware stack.

use std::io::Read;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH,
};
use axum::http::{Method, Request, Response, StatusCode};
use axum::routing::get;
use teikyo_store::Store;
use teikyo_testkit::app::TestApp;
use teikyo_web::{AppState, WebConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

async fn store() -> Store {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn app_with(config: WebConfig) -> (Router, Store) {
    let store = store().await;
    (
        teikyo_web::router(AppState::new(store.clone(), config)),
        store,
    )
}

async fn app() -> Router {
    app_with(WebConfig::default()).await.0
}

async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone().oneshot(req).await.unwrap()
}

async fn get_path(app: &Router, path: &str) -> Response<Body> {
    send(app, Request::get(path).body(Body::empty()).unwrap()).await
}

async fn text(res: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn header<'a>(res: &'a Response<Body>, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn assert_japanese_page(res: &Response<Body>) {
    assert!(
        header(res, "content-type").starts_with("text/html"),
        "not HTML: {:?}",
        res.headers()
    );
}

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let app = app().await;
    let res = get_path(&app, "/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "content-type").starts_with("text/plain"));
    assert_eq!(text(res).await, "ok\n");
}

#[tokio::test]
async fn readyz_is_ok_when_the_database_answers() {
    let app = app().await;
    let res = get_path(&app, "/readyz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(text(res).await, "ready\n");
}

#[tokio::test]
async fn readyz_is_unavailable_with_a_reason_once_the_pool_is_closed() {
    let (app, store) = app_with(WebConfig::default()).await;
    store.close().await.unwrap();
    let res = get_path(&app, "/readyz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    // For machines: plain text, not the HTML error page.
    assert!(header(&res, "content-type").starts_with("text/plain"));
    let body = text(res).await;
    assert!(body.starts_with("not ready: database"), "{body}");
}

#[tokio::test]
async fn metrics_count_requests_per_matched_route() {
    let app = app().await;
    assert_eq!(get_path(&app, "/healthz").await.status(), StatusCode::OK);
    assert_eq!(
        get_path(&app, "/no/such/page").await.status(),
        StatusCode::NOT_FOUND
    );
    let res = get_path(&app, "/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "content-type").starts_with("text/plain"));
    let body = text(res).await;
    let counted = |route: &str, status: &str| {
        body.lines().any(|l| {
            l.starts_with("http_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(counted("/healthz", "200"), "{body}");
    // Unknown paths share one label: the raw path never becomes a label.
    assert!(counted("unmatched", "404"), "{body}");
    assert!(!body.contains("/no/such/page"), "{body}");
    assert!(
        body.contains("http_request_duration_seconds_bucket{"),
        "{body}"
    );
}

#[tokio::test]
async fn many_apps_in_one_process_share_the_metrics_recorder() {
    let a = app().await;
    let b = app().await;
    get_path(&a, "/healthz").await;
    let res = get_path(&b, "/metrics").await;
    assert!(text(res).await.contains("route=\"/healthz\""));
}

#[tokio::test]
async fn unknown_path_gets_the_japanese_404_page() {
    let app = app().await;
    let res = get_path(&app, "/kore/wa/nai").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_japanese_page(&res);
    let request_id = header(&res, "x-request-id").to_owned();
    let body = text(res).await;
    assert!(body.contains("<html lang=\"ja\">"), "{body}");
    assert!(body.contains("ページが見つかりません"), "{body}");
    assert!(body.contains("トップページへ戻る"), "{body}");
    assert!(body.contains("web.not_found"), "{body}");
    // The page shows the id support needs to find the request in the logs.
    assert!(body.contains(&request_id), "{body}");
}

#[tokio::test]
async fn unknown_static_file_is_a_404_page() {
    let app = app().await;
    let res = get_path(&app, "/static/nothing.js").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_japanese_page(&res);
}

#[tokio::test]
async fn wrong_method_gets_a_japanese_405_page() {
    let app = app().await;
    let res = send(&app, Request::delete("/").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_japanese_page(&res);
    assert!(text(res).await.contains("この操作は受け付けておりません"));
}

#[tokio::test]
async fn request_id_is_generated_when_absent() {
    let app = app().await;
    let res = get_path(&app, "/healthz").await;
    let id = header(&res, "x-request-id");
    assert_eq!(id.len(), 36, "expected a UUID, got {id}");
}

#[tokio::test]
async fn request_id_from_the_client_is_echoed() {
    let app = app().await;
    let req = Request::get("/healthz")
        .header("x-request-id", "lb-1234abcd")
        .body(Body::empty())
        .unwrap();
    let res = send(&app, req).await;
    assert_eq!(header(&res, "x-request-id"), "lb-1234abcd");
}

#[tokio::test]
async fn unusable_request_id_is_replaced() {
    let app = app().await;
    let req = Request::get("/healthz")
        .header("x-request-id", "<script>alert(1)</script>")
        .body(Body::empty())
        .unwrap();
    let res = send(&app, req).await;
    let id = header(&res, "x-request-id");
    assert_ne!(id, "<script>alert(1)</script>");
    assert_eq!(id.len(), 36);
}

#[tokio::test]
async fn oversized_body_is_refused_with_413_and_a_japanese_page() {
    let config = WebConfig {
        body_limit_bytes: 1024,
        ..WebConfig::default()
    };
    let (app, _store) = app_with(config).await;
    let body = vec![b'a'; 4096];
    let req = Request::post("/")
        .header(CONTENT_LENGTH, body.len())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let res = send(&app, req).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_japanese_page(&res);
    let page = text(res).await;
    assert!(page.contains("送信されたデータが大きすぎます"), "{page}");
    assert!(page.contains("1 KB"), "{page}");
}

#[tokio::test]
async fn default_body_limit_is_two_mebibytes() {
    let config = WebConfig::default();
    assert_eq!(config.body_limit_bytes, 2 * 1024 * 1024);
    assert_eq!(config.request_timeout_secs, 30);
    let (app, _store) = app_with(config).await;
    let req = Request::post("/")
        .header(CONTENT_LENGTH, 2 * 1024 * 1024 + 1)
        .body(Body::from(vec![0u8; 2 * 1024 * 1024 + 1]))
        .unwrap();
    assert_eq!(
        send(&app, req).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn pages_are_gzipped_when_the_client_accepts_it() {
    let app = app().await;
    let req = Request::get("/")
        .header(ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let res = send(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, CONTENT_ENCODING.as_str()), "gzip");
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let mut html = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut html)
        .unwrap();
    assert!(html.contains("準備中"), "{html}");
}

#[tokio::test]
async fn pages_are_brotli_compressed_when_preferred() {
    let app = app().await;
    let req = Request::get("/")
        .header(ACCEPT_ENCODING, "br")
        .body(Body::empty())
        .unwrap();
    let res = send(&app, req).await;
    assert_eq!(header(&res, CONTENT_ENCODING.as_str()), "br");
}

#[tokio::test]
async fn landing_page_introduces_the_service_to_each_audience() {
    let app = app().await;
    let res = get_path(&app, "/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_japanese_page(&res);
    let html = text(res).await;
    for expected in [
        "<html lang=\"ja\">",
        "name=\"viewport\"",
        "本文へ移動",
        "Teikyo 医療機能情報提供",
        "医療機関・薬局の方へ",
        "都道府県・保健所の方へ",
        "住民の方へ",
        "準備中",
        "href=\"/about/data\"",
    ] {
        assert!(html.contains(expected), "missing {expected}:\n{html}");
    }
    // Built features are links; features that are not built are not.
    assert!(
        html.contains("<a class=\"feature-name\" href=\"/login\">ログイン</a>"),
        "{html}"
    );
    assert!(!html.contains("href=\"/reports"), "{html}");
    assert!(
        html.contains("<a class=\"feature-name\" href=\"/search\">医療機関・薬局を探す</a>"),
        "{html}"
    );
}

#[tokio::test]
async fn data_credits_page_lists_the_required_credits() {
    let app = app().await;
    let res = get_path(&app, "/about/data").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_japanese_page(&res);
    let html = text(res).await;
    for expected in [
        "出典：国土交通省「位置参照情報」を加工して作成",
        "郵便番号データ",
        "日本郵便株式会社",
        "136s/intractable-disease",
        "CC BY 4.0",
        "「医療情報ネットのオープンデータ」（厚生労働省）",
        "公共データ利用規約（第1.0版）（PDL1.0）",
    ] {
        assert!(html.contains(expected), "missing {expected}:\n{html}");
    }
}

#[tokio::test]
async fn stylesheet_is_served_with_cache_headers() {
    let app = app().await;
    let page = text(get_path(&app, "/").await).await;
    let start = page.find("/static/teikyo.css?v=").unwrap();
    let end = start + page[start..].find('"').unwrap();
    let href = &page[start..end];

    let res = get_path(&app, href).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "content-type").starts_with("text/css"));
    assert!(header(&res, CACHE_CONTROL.as_str()).contains("immutable"));
    let etag = header(&res, ETAG.as_str()).to_owned();
    assert!(text(res).await.contains(":focus-visible"));

    // Without the version the URL may change content: revalidate, answer 304 when unchanged.
    let res = get_path(&app, "/static/teikyo.css").await;
    assert_eq!(header(&res, CACHE_CONTROL.as_str()), "public, no-cache");
    let req = Request::get("/static/teikyo.css")
        .header(IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let app = app().await;
    let res = get_path(&app, "/").await;
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    assert!(header(&res, "content-security-policy").contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn a_panicking_handler_gets_the_500_page() {
    let routes = Router::new().route(
        "/boom",
        get(|| async {
            if true {
                panic!("deliberate test panic");
            }
        }),
    );
    let app = teikyo_web::with_middleware(routes, &WebConfig::default());
    let res = get_path(&app, "/boom").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_japanese_page(&res);
    let html = text(res).await;
    assert!(html.contains("システムエラーが発生しました"), "{html}");
    assert!(
        !html.contains("deliberate test panic"),
        "panic text leaked: {html}"
    );
}

#[tokio::test]
async fn a_slow_handler_is_cut_off_with_503_and_a_japanese_page() {
    let routes = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "too late"
        }),
    );
    let config = WebConfig {
        request_timeout_secs: 1,
        ..WebConfig::default()
    };
    let app = teikyo_web::with_middleware(routes, &config);
    let res = get_path(&app, "/slow").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_japanese_page(&res);
    assert!(
        text(res)
            .await
            .contains("処理に時間がかかったため中断しました")
    );
}

#[tokio::test]
async fn head_requests_are_answered() {
    let app = app().await;
    let res = send(
        &app,
        Request::builder()
            .method(Method::HEAD)
            .uri("/")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// The real server: TCP, HTTP/1.1, graceful shutdown.
#[tokio::test]
async fn test_app_serves_over_tcp_and_shuts_down() {
    let app = TestApp::spawn().await;
    assert!(app.base_url().starts_with("http://127.0.0.1:"));
    let mut stream = tokio::net::TcpStream::connect(app.addr()).await.unwrap();
    stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("x-request-id:"),
        "{response}"
    );
    assert!(response.ends_with("ready\n"), "{response}");

    let addr = app.addr();
    tokio::time::timeout(Duration::from_secs(10), app.shutdown())
        .await
        .expect("graceful shutdown finished");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn graceful_shutdown_lets_requests_in_flight_finish() {
    let routes = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            "done"
        }),
    );
    let app = teikyo_web::with_middleware(routes, &WebConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(teikyo_web::serve(listener, app, async {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    // the request is being handled when the shutdown signal arrives
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("done"), "{answer}");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops once the request is answered")
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting connections after shutdown"
    );
}
