//! 差異表示 of the largest synthetic hospital (issue 6): the testkit builder stores both reports
//! with every section 入力完了 at the item sets' limits, and the 報告確認画面 lists exactly the
//! items that changed since the last 確認完了 — each highlighted in its section — on SQLite and,
//! with `TEIKYO_TEST_DATABASE_URL`, PostgreSQL. (Its server time is `bench/run`'s
//! `diff_largest_hospital_ms`, never asserted here.)

use axum::http::StatusCode;
use teikyo_domain::account::StaffLevel;
use teikyo_domain::report::{ReportStatus, SectionStatus};
use teikyo_store::FacilityId;
use teikyo_testkit::largest::{LargestHospital, NAME};
use teikyo_testkit::web::{PASSWORD, create_user, on_each_backend, prefecture_staff};

#[tokio::test]
async fn the_review_of_the_largest_hospital_lists_every_change() {
    on_each_backend(|site| async move {
        let h = LargestHospital::store(&site.store, "1170000017")
            .await
            .expect("the largest hospital is stored");
        let catalogue = teikyo_refdata::forms::catalogue().unwrap();
        let reports = site.store.reports();

        // Every section of both reports is saved 入力完了, and holds answers.
        for (id, set, status) in [
            (h.confirmed, &h.previous_item_set, ReportStatus::Confirmed),
            (h.report, &h.item_set, ReportStatus::Submitted),
        ] {
            let set = &catalogue.item_sets[set];
            let saved = reports.sections(id).await.unwrap();
            assert_eq!(saved.len(), set.sections.len(), "{set:?}", set = set.id);
            for s in &saved {
                assert_eq!(s.status, SectionStatus::Complete, "{}", s.section);
                assert!(!s.answers.is_empty(), "{}", s.section);
            }
            assert_eq!(reports.get(id).await.unwrap().unwrap().status, status);
        }
        let last = reports
            .last_confirmation(FacilityId(h.facility))
            .await
            .unwrap()
            .expect("a confirmation");
        assert_eq!(last.report_id, h.confirmed);
        // A large share of what is answered changed.
        assert!(
            h.changes.len() * 4 >= h.answered,
            "{} of {}",
            h.changes.len(),
            h.answered
        );

        create_user(
            &site.store,
            "pref01",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;
        let mut p = site.client();
        p.login("pref01", PASSWORD).await;
        let queue = p.get("/prefecture/reports").await;
        assert!(queue.body.contains(NAME), "{}", queue.body);

        let page = p.get(&format!("/reports/{}/review", h.report.0)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let rows = page.body.matches("<tr class=\"diff-").count();
        assert_eq!(rows, h.changes.len(), "{}", page.body);
        assert!(
            page.body
                .contains(&format!("との違い：{} 項目", h.changes.len())),
            "{}",
            page.body
        );
        // Changed, withdrawn and (with a new item set) new items, each under its label.
        assert!(page.body.contains("<tr class=\"diff-changed\">"));
        assert!(page.body.contains("<tr class=\"diff-removed\">"));
        if h.previous_item_set != h.item_set {
            assert!(page.body.contains("<tr class=\"diff-added\">"));
        }
        for label in &h.change_labels {
            assert!(
                page.body
                    .contains(&format!("<th scope=\"row\">{label}</th>")),
                "{label}"
            );
        }
        // A group shows only its changed rows, named by their first member, with only the
        // members that changed — of an hours table only the days (土 now closed), not two whole
        // tables to compare by eye.
        assert!(
            page.body
                .contains("<ins>診療科目：内科　診療日・診療時間：土 休み／"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("（時間表）"));
        // 診療科目 and 病床 changed: not offered for bulk 確認完了.
        assert!(
            !page
                .body
                .contains("連絡先・診療時間・アクセスのみの変更です")
        );
    })
    .await;
}
