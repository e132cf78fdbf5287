//! The reporting workflow over HTTP (issue: reporting workflow): 報告 only when every section
//! is 入力完了, with the seed's confirmation; 引き戻し; 差戻し with a comment the facility sees;
//! 報告 again and 確認完了; 修正 and 再報告済; and a facility pulling back while the prefecture
//! confirms — one wins, the other is told. SQLite and, with `TEIKYO_TEST_DATABASE_URL`,
//! PostgreSQL.

use axum::http::StatusCode;
use teikyo_domain::FacilityKind;
use teikyo_domain::account::StaffLevel;
use teikyo_domain::report::ReportStatus;
use teikyo_store::ReportId;
use teikyo_testkit::report::{complete_all, status, version};
use teikyo_testkit::web::{
    PASSWORD, create_user, facility_admin, kanazawa_facility, on_each_backend,
    open_ishikawa_period, prefecture_staff,
};

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
        let res = c
            .post(
                &format!("/facility/{f}/report/start"),
                &[("action", "skip")],
            )
            .await;
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
        // Started without the 保険医療機関番号確認 (report_start.rs tests the check).
        let res = c
            .post(
                &format!("/facility/{f}/report/start"),
                &[("action", "skip")],
            )
            .await;
        let started = res.location.expect("to the report");
        let page_path = started
            .strip_suffix("?done=skipped")
            .expect("started with スキップ")
            .to_owned();
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
        // The receipt says the 報告 went through (the seeds' users doubt it did).
        site.run_jobs().await;
        let receipts = site.mails_to("hosp01@test.example.jp");
        assert_eq!(receipts.len(), 1, "{receipts:?}");
        assert!(
            receipts[0]
                .subject
                .contains("定期報告を受け付けました（報告済）"),
            "{}",
            receipts[0].subject
        );
        assert!(receipts[0].body.contains("金沢中央病院"));
        assert!(receipts[0].body.contains("引き戻し"));
        assert!(!receipts[0].body.contains("代理"));

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
        // 引き戻し mailed nothing; the second 報告 a receipt, the 差戻し its notice.
        site.run_jobs().await;
        let mails = site.mails_to("hosp01@test.example.jp");
        assert_eq!(mails.len(), 3, "{mails:?}");
        // Mails of one run go out in any order.
        let returned: Vec<_> = mails
            .iter()
            .filter(|m| m.subject.contains("差戻し"))
            .collect();
        assert_eq!(returned.len(), 1, "{mails:?}");
        assert!(returned[0].body.contains("病床数をご確認ください。"));
        assert!(returned[0].body.contains(&format!("/reports/{report}")));
        assert!(site.mails_to("pref01@test.example.jp").is_empty());

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
        site.run_jobs().await;
        let mails = site.mails_to("hosp01@test.example.jp");
        assert_eq!(mails.len(), 5, "{mails:?}");
        let confirmed: Vec<_> = mails
            .iter()
            .filter(|m| m.subject.contains("確認が完了しました"))
            .collect();
        assert_eq!(confirmed.len(), 1, "{mails:?}");
        assert!(!confirmed[0].body.contains("廃止機関"));
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
        site.run_jobs().await;
        let mails = site.mails_to("hosp01@test.example.jp");
        assert!(
            mails
                .last()
                .is_some_and(|m| m.subject.contains("受け付けました（再報告済）")),
            "{mails:?}"
        );

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
