//! Server time of the 報告状況一覧 and its CSV for a large prefecture (issue 6): a synthetic 東京都
//! of N facilities (default 30,000; `teikyo_testkit::prefecture`: every kind over its 市区町村,
//! an open period, a 定期報告 for 70 % of them in every status) on SQLite; a signed-in reviewer
//! of 東京都 GETs, through the whole router in-process:
//! - `/prefecture/status` (the first page of 100, with the counts of all N and the 市区町村
//!   choices) — `status_list_ms`; every page is checked to show the expected counts;
//! - `/prefecture/status.csv?encoding=utf8` (every facility) — `status_csv_ms`, and the same in
//!   Shift_JIS (`sjis_ms`); every file is checked to hold N rows and a header.
//!
//! Baselines, measured in the same run on the same database: `GET /home` for the same reviewer
//! (the fixed cost of any signed-in page) for the list; `FacilityRepo::list` of the same N
//! facilities (the existing way to read a prefecture's facilities, without reports, CSV or
//! HTTP) for the CSV.
//!
//! Prints one JSON line with medians in milliseconds. Run by the benchmarks:
//! `cargo run --release -p teikyo-web --example status_bench -- 50 30000`.

use std::time::Instant;

use axum::http::StatusCode;
use teikyo_domain::PrefectureCode;
use teikyo_domain::account::StaffLevel;
use teikyo_domain::report::ReportStatus;
use teikyo_store::{Backend, FacilityFilter};
use teikyo_testkit::db::TestDb;
use teikyo_testkit::web::{PASSWORD, create_user, prefecture_staff};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v.get(i).copied().unwrap_or(f64::NAN)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let facilities: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(30_000);
    let db = TestDb::new(Backend::Sqlite).await?;
    let store = db.store.clone();
    let tokyo = PrefectureCode::parse("13")?;
    let setup = Instant::now();
    let p = teikyo_testkit::prefecture::store(&store, tokyo, facilities).await?;
    let setup_s = setup.elapsed().as_secs_f64();

    create_user(
        &store,
        "benchtokyo",
        &[prefecture_staff("13", StaffLevel::Reviewer)],
    )
    .await;
    let site =
        teikyo_testkit::web::Site::new(store.clone(), teikyo_web::WebConfig::default()).await;
    let mut c = site.client();
    c.login("benchtokyo", PASSWORD).await;

    let all = format!("すべて：{} 施設", p.counts.total());
    let pending = format!("未報告：{} 施設", p.counts.get(ReportStatus::NotReported));
    let check_list = |body: &str| {
        assert!(body.contains(&all), "{all}");
        assert!(body.contains(&pending), "{pending}");
        assert_eq!(body.matches("<tr>").count(), 101, "100 rows and the header");
    };
    let rows = p.counts.total() as usize;
    let check_csv = |bytes: &[u8]| {
        let lines = bytes.iter().filter(|b| **b == b'\n').count();
        assert_eq!(lines, rows + 1, "every facility and the header");
    };

    // Warm-up: reference data, templates, SQLite's page cache.
    for _ in 0..3 {
        check_list(&c.get("/prefecture/status").await.body);
        c.get("/home").await;
    }
    let csv = c.download("/prefecture/status.csv?encoding=utf8").await;
    assert_eq!(csv.status, StatusCode::OK);
    check_csv(&csv.body);
    let csv_kb = csv.body.len() / 1024;

    let mut list = Vec::new();
    let mut home = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let page = c.get("/prefecture/status").await;
        list.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(page.status, StatusCode::OK);
        check_list(&page.body);
        let t = Instant::now();
        c.get("/home").await;
        home.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    // Where the time goes: the store's queries on their own.
    let scope = teikyo_store::StatusScope {
        prefecture: tokyo,
        fiscal_year: p.fiscal_year,
        report_kind: teikyo_domain::report::ReportKind::Periodic,
        facility_kinds: teikyo_domain::FacilityKind::ALL.to_vec(),
        municipalities: None,
        counted_on: chrono::Utc::now().date_naive(),
    };
    let repo = store.report_status();
    let (mut tally, mut page, mut whole) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..(n / 5).max(3) {
        let t = Instant::now();
        repo.tally(&scope).await?;
        tally.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        repo.rows(&scope, None, Some((0, 100))).await?;
        page.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        assert_eq!(repo.rows(&scope, None, None).await?.len(), rows);
        whole.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let runs = (n / 5).max(3);
    let (mut utf8, mut sjis, mut base) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        for (path, into) in [
            ("/prefecture/status.csv?encoding=utf8", &mut utf8),
            ("/prefecture/status.csv?encoding=sjis", &mut sjis),
        ] {
            let t = Instant::now();
            let file = c.download(path).await;
            into.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(file.status, StatusCode::OK, "{path}");
            check_csv(&file.body);
        }
        let t = Instant::now();
        let read = store
            .facilities()
            .list(
                &FacilityFilter {
                    prefecture: Some(tokyo),
                    ..FacilityFilter::default()
                },
                facilities as u64,
                0,
            )
            .await?;
        base.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(read.len(), p.facilities);
    }
    println!(
        "{}",
        serde_json::json!({
            "status_list_ms": median(list.clone()),
            "status_list_p95_ms": quantile(list, 0.95),
            "baseline_home_ms": median(home),
            "status_csv_ms": median(utf8.clone()),
            "status_csv_p95_ms": quantile(utf8, 0.95),
            "status_csv_sjis_ms": median(sjis),
            "baseline_repo_list_ms": median(base),
            "tally_ms": median(tally),
            "rows_page_ms": median(page),
            "rows_all_ms": median(whole),
            "facilities": p.facilities,
            "rows": rows,
            "csv_kb": csv_kb,
            "setup_s": setup_s,
            "n": n,
            "csv_runs": runs,
        })
    );
    db.cleanup().await?;
    Ok(())
}
