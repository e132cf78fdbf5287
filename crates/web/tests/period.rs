//! 定期報告 periods over HTTP: a prefecture admin opens a period (mistakes shown with the domain's
//! messages), extends and closes it, and sees the 定期報告案内 that went out; a reviewer of the
//! same prefecture looks but cannot change anything. On SQLite and, with
//! `TEIKYO_TEST_DATABASE_URL`, on PostgreSQL.

use axum::http::StatusCode;
use teikyo_domain::account::StaffLevel;
use teikyo_testkit::web::{
    PASSWORD, create_user, facility_admin, kanazawa_clinic, on_each_backend, prefecture_staff,
};

const LIST: &str = "/prefecture/periods";

fn open_form<'a>(
    closes_on: &'a str,
    kinds: &[&'a str],
    reminders: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("prefecture", "17"),
        ("fiscal_year", "2026"),
        ("reference_date", "2027-01-01"),
        ("opens_on", "2027-01-07"),
        ("closes_on", closes_on),
        ("reminder_days", reminders),
    ];
    f.extend(kinds.iter().map(|k| ("kinds", *k)));
    f
}

#[tokio::test]
async fn an_admin_opens_extends_and_closes_a_period_and_a_reviewer_only_looks() {
    on_each_backend(|site| async move {
        let clinic = kanazawa_clinic(&site.store, "広坂クリニック", "1700000301").await;
        create_user(&site.store, "clinic01", &[facility_admin(clinic)]).await;
        create_user(
            &site.store,
            "kenkanri",
            &[prefecture_staff("17", StaffLevel::Admin)],
        )
        .await;
        create_user(
            &site.store,
            "kenshinsa",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;
        let mut admin = site.client();
        admin.login("kenkanri", PASSWORD).await;

        let home = admin.get("/home").await;
        assert!(
            home.body.contains("href=\"/prefecture/periods\""),
            "{}",
            home.body
        );
        let empty = admin.get(LIST).await;
        assert_eq!(empty.status, StatusCode::OK);
        assert!(
            empty.body.contains("報告期間はまだ登録されていません"),
            "{}",
            empty.body
        );
        assert!(
            empty.body.contains("value=\"-14, -3, +1\""),
            "the default schedule: {}",
            empty.body
        );

        // Every mistake at once, in the domain's words, the form kept as typed.
        let long = "あ".repeat(1001);
        let mut form = open_form("2027-01-01", &[], "-90, -3");
        form.push(("message", &long));
        let wrong = admin.post(LIST, &form).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        for message in [
            "報告期限は受付開始日以降の日付を入力してください。",
            "対象の機関区分を1つ以上選択してください。",
            "督促の日程「-90」は報告期限の60日前から30日後までの範囲で入力してください。",
            "メールに添える文面は1000文字以内で入力してください（現在1001文字）。",
        ] {
            assert!(wrong.body.contains(message), "{message}: {}", wrong.body);
        }
        assert!(wrong.body.contains("value=\"-90, -3\""), "{}", wrong.body);
        let unreadable = admin
            .post(LIST, &open_form("３月末", &["1"], "2週間前"))
            .await;
        assert_eq!(unreadable.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            unreadable
                .body
                .contains("報告期限は日付（例: 2027-01-07）で入力してください。")
        );
        assert!(
            unreadable
                .body
                .contains("督促の日程「2週間前」を数値として読み取れません。")
        );

        let mut form = open_form("2027-03-31", &["1", "2"], "-14, -3, 1");
        form.push((
            "message",
            "  問い合わせ先: 医療対策課\r\n電話 076-000-0000\r\n",
        ));
        let opened = admin.post(LIST, &form).await;
        assert_eq!(
            opened.location.as_deref(),
            Some("/prefecture/periods?prefecture=17&done=opened")
        );
        let list = admin.get(opened.location.as_deref().unwrap()).await;
        assert!(
            list.body.contains("報告期間を登録しました"),
            "{}",
            list.body
        );
        assert!(list.body.contains("令和8年度 定期報告"), "{}", list.body);
        assert!(list.body.contains("病院・診療所"), "{}", list.body);
        let stored = site.store.periods().list(None).await.unwrap().remove(0);
        // Kept for the 案内 and 督促 mails, trimmed, with the mail's own line ends.
        assert_eq!(
            stored.period.message.as_deref(),
            Some("問い合わせ先: 医療対策課\n電話 076-000-0000")
        );
        assert!(
            list.body.contains("問い合わせ先: 医療対策課"),
            "{}",
            list.body
        );
        let id = stored.id.0;

        let again = admin.post(LIST, &open_form("2027-03-31", &["1"], "")).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            again
                .body
                .contains("令和8年度の報告期間は既に登録されています。"),
            "{}",
            again.body
        );

        // The 定期報告案内 on the opening day, shown with its count.
        teikyo_mail::period::request(&site.store, chrono::NaiveDate::from_ymd_opt(2027, 1, 7))
            .await
            .unwrap();
        site.run_jobs().await;
        let notices = site.mails_to("clinic01@test.example.jp");
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(
            notices[0].subject.contains("令和8年度定期報告のご案内"),
            "{:?}",
            notices[0]
        );
        let list = admin.get(LIST).await;
        assert!(list.body.contains("定期報告案内: "), "{}", list.body);
        assert!(list.body.contains(" に 1 通"), "{}", list.body);

        let extend = format!("/prefecture/periods/{id}/extend");
        let close = format!("/prefecture/periods/{id}/close");
        let earlier = admin.post(&extend, &[("extended_to", "2027-03-01")]).await;
        assert_eq!(earlier.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            earlier
                .body
                .contains("延長後の報告期限は現在の報告期限より後の日付を入力してください。")
        );
        let extended = admin.post(&extend, &[("extended_to", "2027-04-30")]).await;
        assert_eq!(
            extended.location.as_deref(),
            Some("/prefecture/periods?prefecture=17&done=extended")
        );
        let list = admin.get(LIST).await;
        assert!(
            list.body
                .contains("2027-04-30（延長。当初の期限は 2027-03-31）"),
            "{}",
            list.body
        );

        // The reviewer sees the period, not the forms, and is refused every change.
        let mut reviewer = site.client();
        reviewer.login("kenshinsa", PASSWORD).await;
        let seen = reviewer.get(LIST).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(seen.body.contains("2027-04-30（延長"), "{}", seen.body);
        assert!(!seen.body.contains("延長する"), "{}", seen.body);
        assert!(
            seen.body.contains("全域の管理者が行います"),
            "{}",
            seen.body
        );
        for (path, form) in [
            (extend.as_str(), vec![("extended_to", "2027-05-31")]),
            (close.as_str(), vec![("confirm", "1")]),
            (LIST, open_form("2027-03-31", &["1"], "")),
        ] {
            let refused = reviewer.post(path, &form).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
        }

        let unconfirmed = admin.post(&close, &[]).await;
        assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            unconfirmed
                .body
                .contains("「この報告期間を締め切ります」にチェックを入れてください。")
        );
        let closed = admin.post(&close, &[("confirm", "1")]).await;
        assert_eq!(
            closed.location.as_deref(),
            Some("/prefecture/periods?prefecture=17&done=closed")
        );
        let list = admin.get(LIST).await;
        assert!(list.body.contains("締切済"), "{}", list.body);
        assert!(!list.body.contains("延長する"), "{}", list.body);
        let late = admin.post(&extend, &[("extended_to", "2027-06-30")]).await;
        assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(late.body.contains("この報告期間は既に締め切られています。"));
        assert_eq!(
            admin.post(&close, &[]).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );

        // Every change is in the prefecture's audit trail.
        let audit = admin.get("/audit").await;
        for action in ["報告期間の登録", "報告期限の延長", "報告期間の締切"] {
            assert!(audit.body.contains(action), "{action}: {}", audit.body);
        }
    })
    .await;
}
