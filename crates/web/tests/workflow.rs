//! The reporting workflow over HTTP (issue: reporting workflow): 報告 only when every section
//! is 入力完了, with the seed's confirmation; 引き戻し; 差戻し with a comment the facility sees;
//! 報告 again and 確認完了; 修正 and 再報告済; and a facility pulling back while the prefecture
//! confirms — one wins, the other is told. SQLite and, with `TEIKYO_TEST_DATABASE_URL`,
//! PostgreSQL.

use axum::http::StatusCode;
use chrono::Utc;
use teikyo_domain::FacilityKind;
use teikyo_domain::account::StaffLevel;
use teikyo_domain::report::{ReportStatus, SectionStatus};
use teikyo_store::{AuditEvent, ReportId, SectionSave, Store};
use teikyo_testkit::web::{
    Client, PASSWORD, create_user, facility_admin, kanazawa_facility, on_each_backend,
    open_ishikawa_period, prefecture_staff,
};

/// Saves every section of the report as 入力完了 with the example hospital's answers, except
/// `leave` (stays 未入力).
async fn complete_all(store: &Store, report: i64, leave: Option<&str>) {
    let catalogue = teikyo_refdata::forms::catalogue().unwrap();
    let r = store
        .reports()
        .get(ReportId(report))
        .await
        .unwrap()
        .unwrap();
    let set = &catalogue.item_sets[&r.item_set];
    let all = teikyo_refdata::forms::examples::hospital();
    for s in &set.sections {
        if Some(s.id.as_str()) == leave {
            continue;
        }
        let version = store
            .reports()
            .section(r.id, &s.id)
            .await
            .unwrap()
            .map_or(0, |x| x.version);
        let answers = all.of_section(s);
        let save = SectionSave {
            report: r.id,
            section: &s.id,
            expected_version: version,
            status: SectionStatus::Complete,
            answers: &answers,
            by: None,
        };
        store
            .reports()
            .save_section(&save, &AuditEvent::new("test", None), Utc::now())
            .await
            .unwrap();
    }
}

async fn status(store: &Store, report: i64) -> ReportStatus {
    store
        .reports()
        .get(ReportId(report))
        .await
        .unwrap()
        .unwrap()
        .status
}

/// The version field of a step's form on a page.
async fn version(c: &mut Client, path: &str) -> String {
    let page = c.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.input("version").expect("a version field")
}

#[tokio::test]
async fn report_return_fix_confirm_and_report_again() {
    on_each_backend(|site| async move {
        let f = kanazawa_facility(
            &site.store,
            FacilityKind::Hospital,
            "金沢中央病院",
            "カナザワチュウオウビョウイン",
            "1170000009",
        )
        .await;
        create_user(&site.store, "hosp01", &[facility_admin(f)]).await;
        create_user(
            &site.store,
            "pref01",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;
        let mut c = site.client();
        c.login("hosp01", PASSWORD).await;
        // No period yet: the facility is told, nothing starts.
        let home = c.get(&format!("/facility/{f}/report")).await;
        assert!(
            home.body.contains("受付中の定期報告はありません"),
            "{}",
            home.body
        );
        let res = c.post(&format!("/facility/{f}/report"), &[]).await;
        assert_eq!(
            res.location.as_deref(),
            Some(format!("/facility/{f}/report?done=no_period").as_str())
        );
        let home = c.get(res.location.as_deref().unwrap()).await;
        assert!(
            home.body.contains("定期報告の受付期間ではありません"),
            "{}",
            home.body
        );
        open_ishikawa_period(&site.store).await;
        let res = c.post(&format!("/facility/{f}/report"), &[]).await;
        let page_path = res.location.expect("to the report");
        let report: i64 = page_path.trim_start_matches("/reports/").parse().unwrap();

        // 報告 is blocked until every section is 入力完了; the step says which are missing.
        complete_all(&site.store, report, Some("access")).await;
        let ask = c.get(&format!("/reports/{report}/submit")).await;
        assert!(ask.body.contains("まだ報告できません"), "{}", ask.body);
        assert!(ask.body.contains("病院等へのアクセス"), "{}", ask.body);
        assert!(!ask.body.contains("報告申請します。よろしいですか？"));
        let v = site
            .store
            .reports()
            .get(ReportId(report))
            .await
            .unwrap()
            .unwrap()
            .version
            .to_string();
        let refused = c
            .post(&format!("/reports/{report}/submit"), &[("version", &v)])
            .await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert!(refused.body.contains("病院等へのアクセス"));
        assert_eq!(status(&site.store, report).await, ReportStatus::InProgress);

        complete_all(&site.store, report, None).await;
        let page = c.get(&page_path).await;
        assert!(
            page.body.contains(
                "すべての項目が入力完了です。「報告」ボタンを押して報告を完了してください。"
            ),
            "{}",
            page.body
        );
        let ask = c.get(&format!("/reports/{report}/submit")).await;
        assert!(
            ask.body.contains("報告申請します。よろしいですか？"),
            "{}",
            ask.body
        );
        let v = ask.input("version").unwrap();
        let done = c
            .post(&format!("/reports/{report}/submit"), &[("version", &v)])
            .await;
        assert_eq!(
            done.location.as_deref(),
            Some(format!("/reports/{report}?done=submitted").as_str())
        );
        assert_eq!(status(&site.store, report).await, ReportStatus::Submitted);

        // 引き戻し, and 報告 again.
        let v = version(&mut c, &page_path).await;
        c.post(&format!("/reports/{report}/withdraw"), &[("version", &v)])
            .await;
        assert_eq!(status(&site.store, report).await, ReportStatus::InProgress);
        let v = version(&mut c, &format!("/reports/{report}/submit")).await;
        c.post(&format!("/reports/{report}/submit"), &[("version", &v)])
            .await;
        assert_eq!(status(&site.store, report).await, ReportStatus::Submitted);

        // The prefecture returns it with a comment (an empty one is asked for).
        let mut p = site.client();
        p.login("pref01", PASSWORD).await;
        p.get("/home").await;
        let queue = p.get("/prefecture/reports").await;
        assert!(queue.body.contains("金沢中央病院"), "{}", queue.body);
        let review = p.get(&format!("/reports/{report}/review")).await;
        assert_eq!(review.status, StatusCode::OK);
        assert!(
            review.body.contains("確認完了済の報告はまだありません"),
            "{}",
            review.body
        );
        let v = review.input("version").unwrap();
        let empty = p
            .post(
                &format!("/reports/{report}/return"),
                &[("version", &v), ("comment", " ")],
            )
            .await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(empty.body.contains("差戻しの理由を入力してください"));
        p.post(
            &format!("/reports/{report}/return"),
            &[("version", &v), ("comment", "病床数をご確認ください。")],
        )
        .await;
        assert_eq!(status(&site.store, report).await, ReportStatus::InProgress);
        let page = c.get(&page_path).await;
        assert!(page.body.contains("差し戻されました"), "{}", page.body);
        assert!(page.body.contains("病床数をご確認ください。"));

        // Fixed and reported again; confirmed.
        let v = version(&mut c, &format!("/reports/{report}/submit")).await;
        c.post(&format!("/reports/{report}/submit"), &[("version", &v)])
            .await;
        let v = version(&mut p, &format!("/reports/{report}/review")).await;
        let ok = p
            .post(&format!("/reports/{report}/confirm"), &[("version", &v)])
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        assert_eq!(status(&site.store, report).await, ReportStatus::Confirmed);
        assert!(
            site.store
                .reports()
                .last_confirmation(teikyo_store::FacilityId(f))
                .await
                .unwrap()
                .is_some()
        );

        // Confirmed reports are read-only: no 引き戻し; 修正 then 報告 is a 再報告.
        let v = version(&mut c, &page_path).await;
        let late = c
            .post(&format!("/reports/{report}/withdraw"), &[("version", &v)])
            .await;
        assert_eq!(late.status, StatusCode::CONFLICT);
        assert!(late.body.contains("修正する"), "{}", late.body);
        c.post(&format!("/reports/{report}/reopen"), &[("version", &v)])
            .await;
        let v = version(&mut c, &format!("/reports/{report}/submit")).await;
        c.post(&format!("/reports/{report}/submit"), &[("version", &v)])
            .await;
        assert_eq!(status(&site.store, report).await, ReportStatus::Resubmitted);

        // The facility pulls back while the prefecture confirms: one wins, the other is told.
        let fv = version(&mut c, &page_path).await;
        let pv = version(&mut p, &format!("/reports/{report}/review")).await;
        let withdraw_path = format!("/reports/{report}/withdraw");
        let confirm_path = format!("/reports/{report}/confirm");
        let fform = [("version", fv.as_str())];
        let pform = [("version", pv.as_str())];
        let (w, k) = tokio::join!(
            c.post(&withdraw_path, &fform),
            p.post(&confirm_path, &pform)
        );
        let wins = [w.status, k.status]
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count();
        assert_eq!(wins, 1, "{} {}", w.status, k.status);
        let loser = if w.status == StatusCode::SEE_OTHER {
            &k
        } else {
            &w
        };
        assert_eq!(loser.status, StatusCode::CONFLICT);
        let now = status(&site.store, report).await;
        assert!(
            matches!(now, ReportStatus::InProgress | ReportStatus::Confirmed),
            "{now:?}"
        );
    })
    .await;
}
