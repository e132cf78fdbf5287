//! Server time of the 差異表示 of the largest synthetic hospital (issue 6): the hospital and its
//! two reports are stored on SQLite by `teikyo_testkit::largest` (last 年度's 確認完了, this
//! 年度's 報告済, every item at the item sets' limits and a large share changed), a signed-in
//! reviewer GETs `/reports/{id}/review` N times through the whole router in-process (session,
//! CSRF cookie, store reads of both reports, carry-over, diff, descriptions, askama), and every
//! answer is checked to be the page listing exactly the expected changes. Prints one JSON line:
//! `{"diff_largest_hospital_ms":…,"p95_ms":…,"baseline_home_ms":…,"changed":…,"answered":…,
//! "page_kb":…,"n":…}` with medians in milliseconds.
//!
//! Baseline, measured in the same run: `GET /home` for the same reviewer — a signed-in page that
//! reads the user's memberships and renders a small template, i.e. the fixed cost every page of
//! this router pays (session, CSRF, layout). It is the baseline of `render_section_ms` too, so
//! the two figures compare directly.
//! Run by the benchmarks: `cargo run --release -p teikyo-web --example diff_bench -- 200`; a
//! second argument names a file to write the measured page to (to look at what is measured).

use std::time::Instant;

use axum::http::StatusCode;
use teikyo_domain::account::StaffLevel;
use teikyo_store::Backend;
use teikyo_testkit::db::TestDb;
use teikyo_testkit::largest::LargestHospital;
use teikyo_testkit::web::{Client, PASSWORD, create_user, prefecture_staff};

/// Per-request times in milliseconds; `check` sees every page (outside the timing).
async fn times(n: usize, c: &mut Client, path: &str, check: impl Fn(&str)) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let page = c.get(path).await;
        out.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        check(&page.body);
    }
    out.sort_by(f64::total_cmp);
    out
}

/// The value below which `q` of the sorted times lie.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let db = TestDb::new(Backend::Sqlite).await?;
    let store = db.store.clone();
    let h = LargestHospital::store(&store, "1170000017").await?;
    create_user(
        &store,
        "benchpref",
        &[prefecture_staff("17", StaffLevel::Reviewer)],
    )
    .await;
    let site =
        teikyo_testkit::web::Site::new(store.clone(), teikyo_web::WebConfig::default()).await;
    let mut c = site.client();
    c.login("benchpref", PASSWORD).await;

    let path = format!("/reports/{}/review", h.report.0);
    let expected = h.changes.len();
    let summary = format!("との違い：{expected} 項目");
    let check = |body: &str| {
        // The diff itself, not an error page or an empty comparison.
        let rows = body.matches("<tr class=\"diff-").count();
        assert_eq!(rows, expected, "highlighted rows");
        assert!(body.contains(&summary), "{summary}");
    };
    // Warm-up: lazy reference data, the first template render, SQLite's page cache.
    let first = c.get(&path).await;
    check(&first.body);
    if let Some(file) = std::env::args().nth(2) {
        std::fs::write(&file, &first.body)?;
    }
    for _ in 0..10 {
        c.get(&path).await;
        c.get("/home").await;
    }
    let review = times(n, &mut c, &path, check).await;
    let home = times(n, &mut c, "/home", |_| {}).await;
    println!(
        "{}",
        serde_json::json!({
            "diff_largest_hospital_ms": quantile(&review, 0.5),
            "p95_ms": quantile(&review, 0.95),
            "baseline_home_ms": quantile(&home, 0.5),
            "baseline_home_p95_ms": quantile(&home, 0.95),
            "changed": expected,
            "answered": h.answered,
            "item_set": h.item_set,
            "previous_item_set": h.previous_item_set,
            "page_kb": first.body.len() / 1024,
            "n": n,
        })
    );
    db.cleanup().await?;
    Ok(())
}
