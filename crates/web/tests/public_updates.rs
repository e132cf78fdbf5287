//! What travels between facilities and residents through the pages (issue 7 §4–§5):
//! - 臨時休診: a clinic's clerk declares and withdraws the clinic's own; prefecture staff close a
//!   municipality's facilities at once (臨時休診一括処理) after checking which ones it reaches,
//!   watch it reach residents, and withdraw it. Residents' pages show each within one catch-up
//!   of the search index.
//! - 「情報の誤りを報告」: a resident's report, in Japanese or English, reaches the facility and
//!   its prefecture, and is marked 対応済 once.

use axum::http::StatusCode;
use teikyo_domain::account::{Area, Membership, StaffLevel};
use teikyo_domain::{FacilityCode, MunicipalityCode, PrefectureCode};
use teikyo_store::FacilityId;
use teikyo_testkit::published::{clinic_document, publish};
use teikyo_testkit::web::{Client, Site, create_user, on_each_backend, session_cookie};

fn today() -> String {
    teikyo_domain::opening::japan_date(chrono::Utc::now())
        .format("%Y-%m-%d")
        .to_string()
}

fn in_days(n: u64) -> String {
    (teikyo_domain::opening::japan_date(chrono::Utc::now()) + chrono::Days::new(n))
        .format("%Y-%m-%d")
        .to_string()
}

/// Three published clinics: two in 金沢市 (the first with a 機関コード), one in 七尾市.
async fn clinics(site: &Site) -> Vec<FacilityId> {
    let mut a = clinic_document("香林坊クリニック", "コウリンボウクリニック", None, 100.0);
    a.facility.facility_code = Some(FacilityCode::parse("2170000001").unwrap());
    let b = clinic_document("広坂クリニック", "ヒロサカクリニック", None, 300.0);
    let mut c = clinic_document("七尾港クリニック", "ナナオミナトクリニック", None, 500.0);
    c.facility.municipality = MunicipalityCode::parse("172022").unwrap();
    c.facility.address = "石川県七尾市府中町1番地".into();
    let ids = publish(&site.store, vec![a, b, c]).await;
    site.catch_up_search().await;
    ids
}

async fn signed_in(site: &Site, login: &str, memberships: &[Membership]) -> Client {
    let user = create_user(&site.store, login, memberships).await;
    let mut c = site.client();
    c.set_cookie(&session_cookie(&site.store, &site.config, user).await);
    c.get("/home").await;
    c
}

fn reviewer(area: Area) -> Membership {
    Membership::Prefecture {
        prefecture: PrefectureCode::parse("17").unwrap(),
        level: StaffLevel::Reviewer,
        area,
    }
}

async fn submit(c: &mut Client, fields: &[(&'static str, String)]) -> teikyo_testkit::web::Page {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.post("/prefecture/closures/new", &pairs).await
}

/// The first number after `prefix` in `body`.
fn id_after(body: &str, prefix: &str) -> i64 {
    let start = body
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} in {body}"))
        + prefix.len();
    body[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_clinic_declares_its_own_closure_and_withdraws_it() {
    on_each_backend(|site| async move {
        let ids = clinics(&site).await;
        let own = ids[0].0;
        let mut clerk = signed_in(
            &site,
            "korinbo",
            &[Membership::Facility {
                facility_id: own,
                admin: false,
                programs: vec![teikyo_domain::Program::MedicalFunction],
            }],
        )
        .await;
        let home = clerk.get("/home").await;
        let here = format!("/facility/{own}/closures");
        assert!(
            home.body.contains(&format!("href=\"{here}\"")),
            "{}",
            home.body
        );
        let page = clerk.get(&here).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("登録中の臨時休診はありません"));
        assert!(
            page.body.contains(&format!("href=\"/facilities/{own}\"")),
            "published"
        );

        // Mistakes: every one at once, beside its field.
        let page = clerk
            .post(&here, &[("from", ""), ("to", "2020-01-01"), ("reason", "")])
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("休診開始日を入力してください。"));
        assert!(page.body.contains("理由を入力してください"));

        let page = clerk
            .post(
                &here,
                &[
                    ("from", &today()),
                    ("to", &in_days(1)),
                    ("reason", "院長不在のため"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(
            page.location.as_deref(),
            Some(&*format!("{here}?done=declared"))
        );
        site.catch_up_search().await;
        let residents = clerk.get(&format!("/facilities/{own}")).await;
        assert!(
            residents.body.contains("院長不在のため"),
            "{}",
            residents.body
        );
        let api = clerk.get("/api/search?q=%E9%A6%99%E6%9E%97%E5%9D%8A").await;
        assert!(
            api.body.contains("\"closure_reason\":\"院長不在のため\""),
            "{}",
            api.body
        );
        // Another facility is untouched.
        let other = clerk.get(&format!("/facilities/{}", ids[1].0)).await;
        assert!(!other.body.contains("院長不在のため"));

        let page = clerk.get(&format!("{here}?done=declared")).await;
        assert!(page.body.contains("臨時休診を登録しました"));
        assert!(page.body.contains("休診中"));
        let closure = id_after(&page.body, &format!("{here}/"));
        // Not another facility's page: its closures do not exist there.
        let elsewhere = clerk
            .post(
                &format!("/facility/{}/closures/{closure}/withdraw", ids[1].0),
                &[],
            )
            .await;
        assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
        let page = clerk.post(&format!("{here}/{closure}/withdraw"), &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        site.catch_up_search().await;
        let residents = clerk.get(&format!("/facilities/{own}")).await;
        assert!(!residents.body.contains("院長不在のため"));
        let page = clerk.get(&here).await;
        assert!(page.body.contains("取消済"), "listed under the past ones");
        // Both steps are in the audit log.
        let events = site
            .store
            .audit()
            .list(None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event.action)
            .collect::<Vec<_>>();
        assert!(
            events.contains(&"closure.declared".to_owned()),
            "{events:?}"
        );
        assert!(
            events.contains(&"closure.withdrawn".to_owned()),
            "{events:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn prefecture_staff_close_a_municipality_at_once() {
    on_each_backend(|site| async move {
        let ids = clinics(&site).await;
        let mut staff = signed_in(&site, "ken17", &[reviewer(Area::Whole)]).await;
        let home = staff.get("/home").await;
        assert!(home.body.contains("href=\"/prefecture/closures\""));
        let list = staff.get("/prefecture/closures").await;
        assert!(list.body.contains("臨時休診一括処理はまだありません"));
        let form = staff.get("/prefecture/closures/new").await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.body.contains("金沢市") && form.body.contains("七尾市"));

        let until = in_days(2);
        let fields = |step: &'static str| {
            vec![
                ("prefecture", "17".to_owned()),
                ("by", "area".to_owned()),
                ("kinds", "2".to_owned()),
                ("municipalities", "172014".to_owned()),
                ("from", today()),
                ("to", until.clone()),
                ("reason", "大雨による浸水のため".to_owned()),
                ("step", step.to_owned()),
            ]
        };
        // 対象の確認: the two in 金沢市, not the one in 七尾市.
        let preview = submit(&mut staff, &fields("preview")).await;
        assert_eq!(preview.status, StatusCode::OK);
        assert!(
            preview.body.contains("<strong>2 施設</strong>"),
            "{}",
            preview.body
        );
        assert!(
            preview.body.contains("香林坊クリニック") && preview.body.contains("広坂クリニック")
        );
        assert!(!preview.body.contains("七尾港クリニック"));
        assert!(preview.body.contains("2 施設を臨時休診にする"));
        // Without the box ticked, or with a count that is no longer true: nothing happens.
        let mut f = fields("declare");
        f.push(("expect", "2".into()));
        let page = submit(&mut staff, &f.clone()).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("チェックを入れてください"));
        let mut stale = fields("declare");
        stale.push(("expect", "5".into()));
        stale.push(("confirm", "1".into()));
        let page = submit(&mut staff, &stale).await;
        assert!(
            page.body
                .contains("確認の後で対象が変わりました（現在 2 施設）")
        );
        assert!(
            site.store
                .closure_batches()
                .list(&[PrefectureCode::parse("17").unwrap()], 5)
                .await
                .unwrap()
                .is_empty()
        );

        f.push(("confirm", "1".into()));
        let page = submit(&mut staff, &f).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let at = page.location.clone().unwrap();
        assert!(at.starts_with("/prefecture/closures/") && at.ends_with("?done=declared"));
        let batch_page = staff.get(&at).await;
        assert!(batch_page.body.contains("臨時休診を登録しました"));
        assert!(
            batch_page.body.contains("反映中（0 / 2 施設）"),
            "{}",
            batch_page.body
        );
        // The job publishes them (the page published these few at once already).
        site.run_jobs().await;
        let batch_page = staff.get(&at).await;
        assert!(
            batch_page.body.contains("反映済（2 / 2 施設）"),
            "{}",
            batch_page.body
        );
        assert!(batch_page.body.contains("休診中"));
        site.catch_up_search().await;
        for id in &ids[..2] {
            let p = staff.get(&format!("/facilities/{}", id.0)).await;
            assert!(p.body.contains("大雨による浸水のため"), "{}", p.body);
        }
        let nanao = staff.get(&format!("/facilities/{}", ids[2].0)).await;
        assert!(!nanao.body.contains("大雨による浸水のため"));
        let list = staff.get("/prefecture/closures").await;
        assert!(list.body.contains("大雨による浸水のため") && list.body.contains("休診中"));

        // A 保健所 reviewer of 七尾 sees the batch but cannot withdraw what lies outside the
        // area; a preview of the whole prefecture reaches only the area.
        let mut hokenjo = signed_in(
            &site,
            "nanao",
            &[reviewer(Area::Municipalities(vec![
                MunicipalityCode::parse("172022").unwrap(),
            ]))],
        )
        .await;
        let path = at.trim_end_matches("?done=declared").to_owned();
        let seen = hokenjo.get(&path).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(!seen.body.contains("香林坊クリニック"), "outside the area");
        assert!(!seen.body.contains("取り消す</button>"));
        let refused = hokenjo
            .post(&format!("{path}/withdraw"), &[("confirm", "1")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let mut whole = fields("preview");
        whole.retain(|(k, _)| *k != "municipalities");
        let area_preview = submit(&mut hokenjo, &whole).await;
        assert!(
            area_preview.body.contains("<strong>1 施設</strong>"),
            "{}",
            area_preview.body
        );
        assert!(area_preview.body.contains("七尾港クリニック"));

        // By 機関コード pasted from Excel: the one that matches nothing is named.
        let mut by_code = fields("preview");
        by_code.retain(|(k, _)| *k != "municipalities" && *k != "by");
        by_code.push(("by", "codes".into()));
        by_code.push(("codes", "２１７００００００１\n2170000099".into()));
        let page = submit(&mut staff, &by_code).await;
        assert!(
            page.body.contains("<strong>1 施設</strong>"),
            "{}",
            page.body
        );
        assert!(
            page.body
                .contains("見つかりませんでした（1 件）：2170000099")
        );

        // Withdrawn: every facility is back to its hours.
        let page = staff.post(&format!("{path}/withdraw"), &[]).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "needs the box ticked"
        );
        let page = staff
            .post(&format!("{path}/withdraw"), &[("confirm", "1")])
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        site.run_jobs().await;
        site.catch_up_search().await;
        let p = staff.get(&format!("/facilities/{}", ids[1].0)).await;
        assert!(!p.body.contains("大雨による浸水のため"));
        let batch_page = staff.get(&path).await;
        assert!(batch_page.body.contains("取消済") && batch_page.body.contains("取消日時"));
        // A second withdrawal changes nothing.
        let again = staff
            .post(&format!("{path}/withdraw"), &[("confirm", "1")])
            .await;
        assert_eq!(again.status, StatusCode::SEE_OTHER);
        assert_eq!(again.location.as_deref(), Some(path.as_str()));
    })
    .await;
}

#[tokio::test]
async fn a_residents_error_report_reaches_the_facility_and_its_prefecture() {
    on_each_backend(|site| async move {
        let ids = clinics(&site).await;
        let id = ids[0].0;
        let mut resident = site.client();
        let page = resident.get(&format!("/facilities/{id}")).await;
        let form_path = format!("/facilities/{id}/report-error");
        assert!(
            page.body.contains(&format!("href=\"{form_path}\"")),
            "{}",
            page.body
        );
        let form = resident.get(&form_path).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.body.contains("1.(1) 基本情報"), "the parts offered");
        let page = resident
            .post(
                &form_path,
                &[("part", "basic"), ("body", ""), ("contact", "hana@")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("誤りの内容を入力してください。"));
        assert!(page.body.contains("メールアドレスの形式が正しくありません"));
        let page = resident
            .post(
                &form_path,
                &[
                    ("part", "basic"),
                    ("body", "電話番号が古いです。\n正しくは076-000-0000です。"),
                    ("contact", "ｈａｎａ@example.jp"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let thanks = resident.get(page.location.as_deref().unwrap()).await;
        assert!(thanks.body.contains("ご報告ありがとうございました"));
        // In English, with the English messages.
        let en_path = format!("/en/facilities/{id}/report-error");
        resident.get(&en_path).await;
        let page = resident
            .post(
                &en_path,
                &[
                    ("part", "other"),
                    ("body", "Closed on Saturdays now."),
                    ("contact", "x"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("does not look right"), "{}", page.body);
        let page = resident
            .post(
                &en_path,
                &[
                    ("part", "other"),
                    ("body", "Closed on Saturdays now."),
                    ("contact", ""),
                ],
            )
            .await;
        assert_eq!(
            page.location.as_deref(),
            Some(&*format!("{en_path}?sent=1"))
        );
        // Nothing to report about a facility that is not published.
        let missing = resident
            .post(
                "/facilities/999999/report-error",
                &[("body", "違います。違います。")],
            )
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);

        // The clinic sees both on its home screen and its list, and deals with one.
        let mut clerk = signed_in(
            &site,
            "korinbo",
            &[Membership::Facility {
                facility_id: id,
                admin: false,
                programs: vec![teikyo_domain::Program::MedicalFunction],
            }],
        )
        .await;
        let home = clerk.get("/home").await;
        assert!(home.body.contains("未対応 2 件"), "{}", home.body);
        let list_path = format!("/facility/{id}/error-reports");
        let list = clerk.get(&list_path).await;
        assert!(list.body.contains("正しくは076-000-0000です。"));
        assert!(list.body.contains("1.(1) 基本情報") && list.body.contains("その他"));
        assert!(list.body.contains("hana@example.jp") && list.body.contains("英語のページから"));
        let report = id_after(&list.body, &format!("{list_path}/"));
        let done = clerk
            .post(&format!("{list_path}/{report}/handled"), &[])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        let home = clerk.get("/home").await;
        assert!(home.body.contains("未対応 1 件"));
        // Another facility's report id is not found from this facility's page.
        let other = clerk
            .post(
                &format!("/facility/{}/error-reports/{report}/handled", ids[1].0),
                &[],
            )
            .await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);

        // The prefecture sees the open one, and all of them when asked.
        let mut staff = signed_in(&site, "ken17", &[reviewer(Area::Whole)]).await;
        let open = staff.get("/prefecture/error-reports").await;
        assert!(open.body.contains("未対応は 1 件"), "{}", open.body);
        assert!(open.body.contains("香林坊クリニック"));
        let all = staff.get("/prefecture/error-reports?all=1").await;
        assert!(all.body.contains("正しくは076-000-0000です。") && all.body.contains("対応済（"));
        // A 保健所 of 七尾 sees none of 金沢市's.
        let mut nanao = signed_in(
            &site,
            "nanao",
            &[reviewer(Area::Municipalities(vec![
                MunicipalityCode::parse("172022").unwrap(),
            ]))],
        )
        .await;
        let area = nanao.get("/prefecture/error-reports?all=1").await;
        assert!(area.body.contains("該当する報告はありません"));
    })
    .await;
}
