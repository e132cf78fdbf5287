//! お知らせ over HTTP: the operator posts nationwide, a whole-prefecture admin for its
//! prefecture; each user's home shows the nationwide ones and those of their prefecture, only
//! within the days they are shown; mistakes are shown beside the fields; reviewers may not post;
//! taking one down is audited. SQLite and, with `TEIKYO_TEST_DATABASE_URL`, PostgreSQL.

use axum::http::StatusCode;
use chrono::{Days, Utc};
use teikyo_domain::account::{Membership, StaffLevel};
use teikyo_domain::{
    FacilityCode, FacilityKind, FacilityNames, FacilityRecord, MunicipalityCode, PrefectureCode,
};
use teikyo_testkit::web::{
    PASSWORD, create_user, facility_admin, kanazawa_clinic, on_each_backend, prefecture_staff,
};

fn today() -> chrono::NaiveDate {
    Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap())
        .date_naive()
}

#[tokio::test]
async fn notices_reach_the_homes_they_are_for() {
    on_each_backend(|site| async move {
        let kanazawa = kanazawa_clinic(&site.store, "金沢内科クリニック", "1170000009").await;
        let nara = site
            .store
            .facilities()
            .insert(&FacilityRecord {
                kind: FacilityKind::Clinic,
                prefecture: PrefectureCode::parse("29").unwrap(),
                municipality: MunicipalityCode::parse("29201").unwrap(),
                facility_code: Some(FacilityCode::parse("2910000001").unwrap()),
                insurance_codes: vec![],
                names: FacilityNames {
                    official: "奈良内科医院".into(),
                    official_kana: "ナライナイカイイン".into(),
                    short: None,
                    short_kana: None,
                    english: None,
                },
                postal_code: None,
                address: "奈良県奈良市登大路町30番地".into(),
                coordinates: None,
                homepage: None,
                opened_on: None,
                suspended_on: None,
                abolished_on: None,
            })
            .await
            .unwrap()
            .0;
        create_user(&site.store, "kz01", &[facility_admin(kanazawa)]).await;
        create_user(&site.store, "nr01", &[facility_admin(nara)]).await;
        create_user(&site.store, "ope01", &[Membership::Operator]).await;
        create_user(
            &site.store,
            "admin17",
            &[prefecture_staff("17", StaffLevel::Admin)],
        )
        .await;
        create_user(
            &site.store,
            "rev17",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;

        // The operator posts a nationwide notice.
        let mut o = site.client();
        o.login("ope01", PASSWORD).await;
        o.get("/home").await;
        let form = o.get("/notices?scope=national").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let day = today().to_string();
        let res = o
            .post(
                "/notices",
                &[
                    ("scope", "national"),
                    ("title", "年末年始のシステム停止について"),
                    ("body", "12月29日から1月3日まで\n停止します。"),
                    ("shown_from", &day),
                    ("shown_until", ""),
                ],
            )
            .await;
        assert_eq!(
            res.location.as_deref(),
            Some("/notices?scope=national&done=posted")
        );

        // 石川県's admin: mistakes first, each beside its field; then a notice for 石川県.
        let mut a = site.client();
        a.login("admin17", PASSWORD).await;
        a.get("/home").await;
        let yesterday = (today() - Days::new(1)).to_string();
        let bad = a
            .post(
                "/notices",
                &[
                    ("scope", "17"),
                    ("title", ""),
                    ("body", "本文"),
                    ("shown_from", &day),
                    ("shown_until", &yesterday),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            bad.body.contains("件名を入力してください。"),
            "{}",
            bad.body
        );
        assert!(
            bad.body
                .contains("掲載終了日は掲載開始日以降の日付を入力してください。")
        );
        // What was typed stays.
        assert!(bad.body.contains(">本文</textarea>"), "{}", bad.body);
        // Not nationwide, and not another prefecture.
        for scope in ["national", "29"] {
            let res = a
                .post(
                    "/notices",
                    &[
                        ("scope", scope),
                        ("title", "件名"),
                        ("body", "本文"),
                        ("shown_from", &day),
                    ],
                )
                .await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{scope}");
        }
        let res = a
            .post(
                "/notices",
                &[
                    ("scope", "17"),
                    ("title", "定期報告の期限は3月31日です"),
                    ("body", "お早めにご報告ください。"),
                    ("shown_from", &day),
                    ("shown_until", ""),
                ],
            )
            .await;
        assert_eq!(
            res.location.as_deref(),
            Some("/notices?scope=17&done=posted")
        );
        // One that is over already and one not yet shown never appear.
        let week_ago = (today() - Days::new(7)).to_string();
        let tomorrow = (today() + Days::new(1)).to_string();
        for (title, from, until) in [
            ("終わったお知らせ", week_ago.as_str(), yesterday.as_str()),
            ("明日からのお知らせ", tomorrow.as_str(), ""),
        ] {
            let res = a
                .post(
                    "/notices",
                    &[
                        ("scope", "17"),
                        ("title", title),
                        ("body", "本文"),
                        ("shown_from", from),
                        ("shown_until", until),
                    ],
                )
                .await;
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{title}: {}", res.body);
        }

        // A reviewer of 石川県 may read them on the home page but not post.
        let mut r = site.client();
        r.login("rev17", PASSWORD).await;
        let home = r.get("/home").await;
        assert!(home.body.contains("定期報告の期限は3月31日です"));
        assert!(!home.body.contains("お知らせの掲載"));
        assert_eq!(r.get("/notices").await.status, StatusCode::FORBIDDEN);

        // The facilities' homes.
        let mut k = site.client();
        k.login("kz01", PASSWORD).await;
        let home = k.get("/home").await;
        assert!(
            home.body.contains("年末年始のシステム停止について"),
            "{}",
            home.body
        );
        assert!(home.body.contains("12月29日から1月3日まで\n停止します。"));
        assert!(home.body.contains("定期報告の期限は3月31日です"));
        assert!(!home.body.contains("終わったお知らせ"));
        assert!(!home.body.contains("明日からのお知らせ"));
        let mut n = site.client();
        n.login("nr01", PASSWORD).await;
        let home = n.get("/home").await;
        assert!(home.body.contains("年末年始のシステム停止について"));
        assert!(!home.body.contains("定期報告の期限は3月31日です"));

        // Taken down by the admin: gone from the homes, audited.
        let id = site
            .store
            .notices()
            .list(Some(PrefectureCode::parse("17").unwrap()))
            .await
            .unwrap()
            .into_iter()
            .find(|x| x.title == "定期報告の期限は3月31日です")
            .unwrap()
            .id;
        let page = a.get("/notices?scope=17").await;
        assert!(page.body.contains(&format!("/notices/{id}/delete")));
        // Not by the Nara facility's user, nor another prefecture's notice by this admin.
        assert_eq!(
            n.post(&format!("/notices/{id}/delete"), &[]).await.status,
            StatusCode::FORBIDDEN
        );
        let res = a.post(&format!("/notices/{id}/delete"), &[]).await;
        assert_eq!(
            res.location.as_deref(),
            Some("/notices?scope=17&done=deleted")
        );
        let home = k.get("/home").await;
        assert!(!home.body.contains("定期報告の期限は3月31日です"));
        let audit = site.store.audit().list(None, 100).await.unwrap();
        for action in ["notice.posted", "notice.deleted"] {
            assert!(
                audit.iter().any(|e| e.event.action == action),
                "{action}: {audit:?}"
            );
        }
    })
    .await;
}
