//! `/opendata/` (issue 8 §1): before the first snapshot the page says so; after an export it
//! lists the files with their rows and SHA-256, and serves them and the manifest as written.

use axum::http::StatusCode;
use chrono::NaiveDate;
use teikyo_domain::FacilityCode;
use teikyo_opendata::export::{ExportOptions, export};
use teikyo_testkit::db::{TestDb, backends};
use teikyo_testkit::published::{clinic_document, publish};
use teikyo_testkit::web::Site;
use teikyo_web::WebConfig;

#[tokio::test]
async fn the_open_data_page_lists_and_serves_the_snapshot() {
    for backend in backends() {
        let db = TestDb::new(backend).await.expect("a test database");
        let dir = tempfile::tempdir().unwrap();
        let config = WebConfig {
            opendata_dir: Some(dir.path().to_owned()),
            ..WebConfig::default()
        };
        let site = Site::new(db.store.clone(), config).await;
        let mut client = site.client();

        let page = client.get("/opendata/").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("まだ作成されていません"),
            "{}",
            page.body
        );
        let missing = client.download("/opendata/manifest.json").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);

        let mut doc = clinic_document("香林坊クリニック", "コウリンボウクリニック", None, 100.0);
        doc.facility.facility_code = Some(FacilityCode::parse("2170000001").unwrap());
        publish(&site.store, vec![doc]).await;
        let options = ExportOptions {
            dir: dir.path().to_owned(),
            snapshot: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            credit: "「テストのオープンデータ」（テスト県）".into(),
            licence: "CC BY 4.0".into(),
        };
        let manifest = export(&site.store, &options, &mut |_, _| {})
            .await
            .expect("the export");

        let page = client.get("/opendata/").await;
        assert!(
            page.body.contains("2026年12月1日時点のデータ"),
            "{}",
            page.body
        );
        let clinic = manifest
            .file("02-1_clinic_facility_info_20261201.csv")
            .expect("the clinic file");
        assert_eq!(clinic.rows, 1);
        assert!(page.body.contains(&clinic.sha256));
        assert!(
            page.body
                .contains("href=\"/opendata/02-1_clinic_facility_info_20261201.csv\"")
        );
        assert!(
            page.body
                .contains("「テストのオープンデータ」（テスト県）（2026年12月1日時点）")
        );

        let file = client
            .download("/opendata/02-1_clinic_facility_info_20261201.csv")
            .await;
        assert_eq!(file.status, StatusCode::OK);
        assert_eq!(file.header("content-type"), "text/csv; charset=utf-8");
        assert_eq!(file.header("access-control-allow-origin"), "*");
        assert_eq!(
            file.body,
            std::fs::read(dir.path().join("02-1_clinic_facility_info_20261201.csv")).unwrap()
        );
        assert!(
            String::from_utf8_lossy(&file.body).contains("\"1722170000001\",\"香林坊クリニック\"")
        );
        let json = client.download("/opendata/manifest.json").await;
        assert_eq!(json.header("content-type"), "application/json");
        let read: teikyo_opendata::export::Manifest = serde_json::from_slice(&json.body).unwrap();
        assert_eq!(read, manifest);

        // Only the snapshot's own names: nothing else in or outside the directory.
        std::fs::write(dir.path().join("secret.txt"), "x").unwrap();
        for path in [
            "/opendata/secret.txt",
            "/opendata/..%2Fsecret.txt",
            "/opendata/.02-1_clinic_facility_info_20261201.csv",
            "/opendata/01-1_hospital_facility_info_20200101.csv",
        ] {
            assert_eq!(
                client.download(path).await.status,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
        db.cleanup().await.expect("cleanup");
    }
}
