//! Server time of the generated section pages: the complete example hospital report is stored
//! (SQLite, every section saved), a signed-in user GETs each section page through the whole
//! router in-process (session, CSRF cookie, store reads, page generation, askama), and the
//! median per section is measured. Prints one JSON line:
//! `{"render_section_ms":…,"slowest_section":"…","baseline_home_ms":…,"sections":{…},"n":…}`
//! where `render_section_ms` is the slowest section's median.
//!
//! Baseline, measured in the same run: `GET /home` for the same user — a signed-in page that
//! reads the user's facilities and renders a small template.
//! Run by the benchmarks: `cargo run --release -p teikyo-web --example section_bench`.

use std::collections::BTreeMap;
use std::time::Instant;

use teikyo_domain::FacilityKind;
use teikyo_domain::report::{ReportKind, SectionStatus};
use teikyo_store::{AuditEvent, Backend, FacilityId, NewReport, SectionSave};
use teikyo_testkit::db::TestDb;
use teikyo_testkit::web::{Client, PASSWORD, Site, create_user, facility_admin, kanazawa_facility};

async fn median_ms(n: usize, c: &mut Client, path: &str) -> f64 {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let page = c.get(path).await;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(page.status, axum::http::StatusCode::OK, "{path}");
    }
    times.sort_by(f64::total_cmp);
    times[n / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let db = TestDb::new(Backend::Sqlite).await?;
    let store = db.store.clone();
    let f = kanazawa_facility(
        &store,
        FacilityKind::Hospital,
        "金沢中央病院",
        "カナザワチュウオウビョウイン",
        "1170000009",
    )
    .await;
    create_user(&store, "bench01", &[facility_admin(f)]).await;
    let catalogue = teikyo_refdata::forms::catalogue()
        .map_err(|e| anyhow::anyhow!("{}", teikyo_domain::forms::FormsError::list(e)))?;
    let set = catalogue
        .item_set(2025, FacilityKind::Hospital)
        .ok_or_else(|| anyhow::anyhow!("no 2025 hospital item set"))?;
    let (report, _) = store
        .reports()
        .start(
            &NewReport {
                facility_id: FacilityId(f),
                kind: ReportKind::Periodic,
                fiscal_year: set.fiscal_year,
                item_set: set.id.clone(),
                by: None,
                period_id: None,
                insurance_check: None,
                preset: Vec::new(),
            },
            AuditEvent::new("bench", None),
            chrono::Utc::now(),
        )
        .await?;
    let example = teikyo_refdata::forms::examples::hospital();
    for section in &set.sections {
        let own = example.of_section(section);
        store
            .reports()
            .save_section(
                &SectionSave {
                    report: report.id,
                    section: &section.id,
                    expected_version: 0,
                    status: SectionStatus::Complete,
                    answers: &own,
                    by: None,
                },
                &AuditEvent::new("bench", None),
                chrono::Utc::now(),
            )
            .await?;
    }
    let site = Site::new(store.clone(), teikyo_web::WebConfig::default()).await;
    let mut c = site.client();
    c.login("bench01", PASSWORD).await;
    // Warm-up: lazy reference data, the first template render.
    for s in &set.sections {
        c.get(&format!("/reports/{}/sections/{}", report.id, s.id))
            .await;
    }
    c.get("/home").await;
    let mut sections = BTreeMap::new();
    for s in &set.sections {
        let path = format!("/reports/{}/sections/{}", report.id, s.id);
        sections.insert(s.id.clone(), median_ms(n, &mut c, &path).await);
    }
    let home = median_ms(n, &mut c, "/home").await;
    let (slowest, ms) = sections
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(k, v)| (k.clone(), *v))
        .unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({
            "render_section_ms": ms,
            "slowest_section": slowest,
            "baseline_home_ms": home,
            "sections": sections,
            "n": n,
        })
    );
    db.cleanup().await?;
    Ok(())
}
