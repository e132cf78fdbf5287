//! The residents' pages and the search API (issue 7 §5–§6): search by words and filters, results
//! with kind, open-now, today's hours and distance, paging, the facility page with its
//! sections and 最終確認日, English versions, and what a hidden facility shows.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use teikyo_search::SearchIndex;
use teikyo_store::{FacilityId, Store};
use teikyo_testkit::published::{clinic_document, publish};
use teikyo_web::{AppState, WebConfig};
use tower::ServiceExt;

async fn app(count: usize) -> (Router, Vec<FacilityId>) {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let docs = (0..count)
        .map(|i| {
            if i == 0 {
                clinic_document(
                    "香林坊こどもクリニック",
                    "コウリンボウコドモクリニック",
                    Some("Korinbo Children's Clinic"),
                    100.0,
                )
            } else {
                clinic_document(
                    &format!("広坂第{i}診療所"),
                    "ヒロサカシンリョウジョ",
                    None,
                    200.0 + i as f64 * 100.0,
                )
            }
        })
        .collect();
    let ids = publish(&store, docs).await;
    let index = Arc::new(SearchIndex::open(None).unwrap());
    index.catch_up(&store).await.unwrap();
    let state = AppState::new(store, WebConfig::default()).with_search(index);
    (teikyo_web::router(state), ids)
}

async fn get(app: &Router, path: &str) -> (StatusCode, String) {
    let res = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn residents_search_by_words_place_and_conditions() {
    let (app, ids) = app(3).await;
    // The form alone.
    let (status, body) = get(&app, "/search").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("医療機関・薬局を探す"));
    assert!(!body.contains("検索結果"));

    // カナ in hiragana finds the kanji name; the line shows kind, open-now and today.
    let (status, body) = get(&app, &format!("/search?q={}", enc("こうりんぼう"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("1 件見つかりました"), "{body}");
    assert!(body.contains(&format!("/facilities/{}", ids[0].0)));
    assert!(body.contains("診療所"));
    assert!(body.contains("診療中"));
    assert!(body.contains("本日：24時間"));

    // 小児科, open now, with parking, within 2 km of a typed place, nearest first.
    let (_, body) = get(
        &app,
        &format!(
            "/search?dept=03001&open=1&feature=parking&place={}&radius=2",
            enc("金沢市広坂")
        ),
    )
    .await;
    assert!(body.contains("3 件見つかりました"), "{body}");
    assert!(body.contains("「金沢市広坂」付近"));
    assert!(body.contains("近い順"));
    let first = body.find(&format!("/facilities/{}", ids[0].0)).unwrap();
    let last = body.find(&format!("/facilities/{}", ids[2].0)).unwrap();
    assert!(first < last, "nearest first");
    assert!(body.contains("距離 "));

    // A place that cannot be found is said, and the rest of the search still runs.
    let (_, body) = get(&app, &format!("/search?q=&place={}", enc("どこにもない町"))).await;
    assert!(
        body.contains("「どこにもない町」の場所が見つかりませんでした"),
        "{body}"
    );

    // 利用者別の入口: the preset is applied and said.
    let (_, body) = get(&app, "/search?group=children").await;
    assert!(body.contains("小児科のある施設を表示しています。"));
    assert!(body.contains("3 件見つかりました"));
}

#[tokio::test]
async fn results_page_without_a_cap() {
    let (app, _) = app(45).await;
    let (_, body) = get(&app, "/search?pref=17").await;
    assert!(body.contains("45 件見つかりました"));
    assert!(body.contains("（1–20）"));
    assert!(body.contains("cursor=20"));
    let (_, body) = get(&app, "/search?pref=17&cursor=40").await;
    assert!(body.contains("（41–45）"), "{body}");
    assert!(!body.contains("rel=\"next\""));
    assert!(body.contains("cursor=20"), "a link back");
    // The API pages the same way.
    let (status, json) = get(&app, "/api/search?pref=17").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["total"], 45);
    assert_eq!(v["results"].as_array().unwrap().len(), 20);
    assert_eq!(v["next_cursor"], "20");
    let (_, json) = get(&app, "/api/search?pref=17&cursor=40").await;
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["results"].as_array().unwrap().len(), 5);
    assert!(v.get("next_cursor").is_none());
}

#[tokio::test]
async fn the_api_says_open_now_today_and_distance() {
    let (app, ids) = app(2).await;
    let (status, json) = get(&app, "/api/search?lat=36.5613&lon=136.6562&radius=1").await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let first = &v["results"][0];
    assert_eq!(first["id"], ids[0].0);
    assert_eq!(first["kind"], "clinic");
    assert_eq!(first["open_now"]["status"], "open");
    assert_eq!(first["today"]["status"], "all_day");
    assert_eq!(first["distance_m"], 100.0);
    assert_eq!(first["url"], format!("/facilities/{}", ids[0].0));
}

#[tokio::test]
async fn the_facility_page_in_japanese_and_english() {
    let (app, ids) = app(1).await;
    let (status, body) = get(&app, &format!("/facilities/{}", ids[0].0)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<html lang=\"ja\">"));
    assert!(body.contains("香林坊こどもクリニック"));
    assert!(body.contains("最終確認日：2026年6月1日"), "{body}");
    assert!(body.contains("1.(1) 基本情報"));
    assert!(body.contains("診療時間"));
    assert!(body.contains("小児科"));
    let (status, body) = get(&app, &format!("/en/facilities/{}", ids[0].0)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<html lang=\"en\">"));
    assert!(
        body.contains("Korinbo Children&#39;s Clinic")
            || body.contains("Korinbo Children's Clinic")
    );
    assert!(body.contains("Open now"));
    assert!(body.contains("published in Japanese"));
    // English search shows the English name beside the Japanese one.
    let (_, body) = get(&app, "/en/search?q=korinbo").await;
    assert!(body.contains("1 found"), "{body}");
    // Not published: 404 with a way back.
    let (status, body) = get(&app, "/facilities/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("公表されていません"));
}
