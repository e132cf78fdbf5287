//! The generated section pages over HTTP: a clinic's user starts the 定期報告, saves a section
//! as 一時保存 and 入力完了, sees what cannot be read beside the field (and keeps it), fills the
//! address from the postal code; a stale save is refused with what the other person changed;
//! a hospital's complete 基本情報 goes through the generated form unchanged; the seed's
//! 前年度実施件数 examples show as the seed says. Each runs on SQLite and, with
//! `TEIKYO_TEST_DATABASE_URL`, on PostgreSQL.

use axum::http::StatusCode;
use teikyo_domain::FacilityKind;
use teikyo_domain::report::SectionStatus;
use teikyo_store::{ReportId, Store};
use teikyo_testkit::report::{form_fields, pairs};
use teikyo_testkit::web::{
    Client, PASSWORD, Page, create_user, facility_admin, kanazawa_clinic, kanazawa_facility,
    on_each_backend, open_ishikawa_period,
};

async fn hospital(store: &Store) -> i64 {
    kanazawa_facility(
        store,
        FacilityKind::Hospital,
        "金沢中央病院",
        "カナザワチュウオウビョウイン",
        "1170000009",
    )
    .await
}

/// Starts the facility's 定期報告 from the home page and returns the report id.
async fn start(c: &mut Client, facility: i64) -> i64 {
    let home = c.get("/home").await;
    let link = format!("/facility/{facility}/report");
    assert!(home.body.contains(&link), "{}", home.body);
    let page = c.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("定期報告を始める"), "{}", page.body);
    // 保険医療機関番号確認 comes first; report_start.rs tests it, here it is skipped.
    let ask = c.get(&format!("{link}/start")).await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
    let res = c
        .post(&format!("{link}/start"), &[("action", "skip")])
        .await;
    let to = res.location.expect("to the report");
    let page = c.get(&to).await;
    assert!(page.body.contains("未入力"), "{}", page.body);
    to.trim_start_matches("/reports/")
        .split('?')
        .next()
        .unwrap_or_default()
        .parse()
        .unwrap()
}

fn section_path(report: i64, section: &str) -> String {
    format!("/reports/{report}/sections/{section}")
}

async fn stored(store: &Store, report: i64, section: &str) -> Option<teikyo_store::SavedSection> {
    store
        .reports()
        .section(ReportId(report), section)
        .await
        .unwrap()
}

fn version_of(page: &Page) -> String {
    page.input("version").expect("a version field")
}

#[tokio::test]
async fn a_clinic_saves_a_section_as_draft_then_finds_what_to_fix() {
    on_each_backend(|site| async move {
        let f = kanazawa_clinic(&site.store, "広坂クリニック", "1700000301").await;
        create_user(&site.store, "clinic01", &[facility_admin(f)]).await;
        let mut c = site.client();
        c.login("clinic01", PASSWORD).await;
        open_ishikawa_period(&site.store).await;
        let report = start(&mut c, f).await;
        let path = section_path(report, "basic");
        let page = c.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        for expected in [
            "name=\"basic.name_official\"",
            "一時保存",
            "入力完了",
            "郵便番号から所在地を入力",
            "決まった週の休み",
            "診療科目の行を追加",
        ] {
            assert!(page.body.contains(expected), "missing {expected}");
        }
        assert_eq!(version_of(&page), "0");

        // A number that cannot be read: shown beside the field and at the top, kept, not saved.
        let bad = c
            .post(
                &path,
                &[
                    ("version", "0"),
                    ("action", "draft"),
                    ("basic.name_official", "広坂クリニック"),
                    ("basic.departments.rows", "1"),
                    ("basic.departments[0].department", "01001"),
                    ("basic.departments[0].hours.mon[0].start", "25:00"),
                    ("basic.departments[0].hours.mon[0].end", "12:00"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            bad.body
                .contains("入力内容に誤りがあるため、保存していません")
        );
        assert!(bad.body.contains("時刻として読めません"), "{}", bad.body);
        assert!(
            bad.body
                .contains("href=\"#f-basic-departments-0-hours-mon-0\"")
        );
        assert!(bad.body.contains("value=\"25:00\""), "kept as typed");
        assert!(stored(&site.store, report, "basic").await.is_none());

        // Postal auto-fill: the address starts with the postal code's area; nothing saved.
        let filled = c
            .post(
                &path,
                &[
                    ("version", "0"),
                    ("action", "postal"),
                    ("basic.postal_code", "９２００９６２"),
                    ("basic.address", "1丁目1番1号"),
                ],
            )
            .await;
        assert_eq!(filled.status, StatusCode::OK);
        assert_eq!(
            filled.input("basic.address").as_deref(),
            Some("石川県金沢市広坂1丁目1番1号"),
        );
        assert!(stored(&site.store, report, "basic").await.is_none());

        // 一時保存 with little entered: saved as 一時保存, back on the report.
        let saved = c
            .post(
                &path,
                &[
                    ("version", "0"),
                    ("action", "draft"),
                    ("basic.name_official", "広坂クリニック"),
                ],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let report_page = c.get(saved.location.as_deref().unwrap()).await;
        assert!(
            report_page.body.contains("一時保存しました"),
            "{}",
            report_page.body
        );
        assert!(report_page.body.contains("一時保存"));
        let s = stored(&site.store, report, "basic").await.unwrap();
        assert_eq!(s.status, SectionStatus::Draft);
        assert_eq!(s.version, 1);

        // 入力完了 with required items missing: kept as 一時保存, the missing ones listed.
        let page = c.get(&path).await;
        assert_eq!(version_of(&page), "1");
        let incomplete = c
            .post(
                &path,
                &[
                    ("version", "1"),
                    ("action", "complete"),
                    ("basic.name_official", "広坂クリニック 本院"),
                ],
            )
            .await;
        assert_eq!(incomplete.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(incomplete.body.contains("入力内容を一時保存しました"));
        assert!(incomplete.body.contains("入力内容をご確認ください"));
        let s = stored(&site.store, report, "basic").await.unwrap();
        assert_eq!((s.status, s.version), (SectionStatus::Draft, 2));
        assert_eq!(
            version_of(&incomplete),
            "2",
            "the next save goes on from here"
        );
        // The audit trail has each save.
        let events = site.store.audit().list(None, 50).await.unwrap();
        assert_eq!(
            events
                .iter()
                .filter(|e| e.event.action == "report.section_saved")
                .count(),
            2
        );
    })
    .await;
}

#[tokio::test]
async fn a_stale_save_is_refused_with_what_the_other_person_changed() {
    on_each_backend(|site| async move {
        let f = kanazawa_clinic(&site.store, "広坂クリニック", "1700000302").await;
        create_user(&site.store, "clinic02", &[facility_admin(f)]).await;
        create_user(&site.store, "clinic03", &[facility_admin(f)]).await;
        let mut a = site.client();
        a.login("clinic02", PASSWORD).await;
        let mut b = site.client();
        b.login("clinic03", PASSWORD).await;
        open_ishikawa_period(&site.store).await;
        let report = start(&mut a, f).await;
        let path = section_path(report, "basic");
        assert_eq!(version_of(&a.get(&path).await), "0");
        assert_eq!(version_of(&b.get(&path).await), "0");
        let first = a
            .post(
                &path,
                &[
                    ("version", "0"),
                    ("action", "draft"),
                    ("basic.name_official", "Aさんの入力"),
                ],
            )
            .await;
        assert_eq!(first.status, StatusCode::SEE_OTHER);
        let second = b
            .post(
                &path,
                &[
                    ("version", "0"),
                    ("action", "draft"),
                    ("basic.name_official", "Bさんの入力"),
                ],
            )
            .await;
        assert_eq!(second.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            second
                .body
                .contains("他の方が先に保存したため、保存していません")
        );
        assert!(
            second.body.contains("value=\"Bさんの入力\""),
            "B's input stays"
        );
        let s = stored(&site.store, report, "basic").await.unwrap();
        assert_eq!(s.version, 1);
        assert_eq!(
            s.answers.get("basic.name_official"),
            Some(&teikyo_domain::forms::Value::Text("Aさんの入力".into())),
            "nothing overwritten"
        );
        // Having seen it, B saves on top of the current version.
        assert_eq!(version_of(&second), "1");
        let again = b
            .post(
                &path,
                &[
                    ("version", "1"),
                    ("action", "draft"),
                    ("basic.name_official", "Bさんの入力"),
                ],
            )
            .await;
        assert_eq!(again.status, StatusCode::SEE_OTHER);
        assert_eq!(
            stored(&site.store, report, "basic").await.unwrap().version,
            2
        );
    })
    .await;
}

/// The complete example hospital's 基本情報, as the page shows it, posted back with 入力完了:
/// saved as it was, 入力完了. Staff of the prefecture can look but not save.
#[tokio::test]
async fn a_hospital_completes_its_basic_section_through_the_generated_form() {
    on_each_backend(|site| async move {
        let f = hospital(&site.store).await;
        create_user(&site.store, "hosp01", &[facility_admin(f)]).await;
        let mut c = site.client();
        c.login("hosp01", PASSWORD).await;
        open_ishikawa_period(&site.store).await;
        let report = start(&mut c, f).await;
        let catalogue = teikyo_refdata::forms::catalogue().unwrap();
        let r = site
            .store
            .reports()
            .get(ReportId(report))
            .await
            .unwrap()
            .unwrap();
        let set = &catalogue.item_sets[&r.item_set];
        let basic = set.sections.iter().find(|s| s.id == "basic").unwrap();
        let own = teikyo_refdata::forms::examples::hospital().of_section(basic);
        // Read the form's fields from the page itself after saving the example as a draft
        // through the store, so the test posts what a browser would.
        let path = section_path(report, "basic");
        let mut fields: Vec<(String, String)> = Vec::new();
        site.store
            .reports()
            .save_section(
                &teikyo_store::SectionSave {
                    report: ReportId(report),
                    section: "basic",
                    expected_version: 0,
                    status: SectionStatus::Draft,
                    answers: &own,
                    by: None,
                },
                &teikyo_store::AuditEvent::new("test", None),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let page = c.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        for (name, value) in form_fields(&page.body) {
            if name != "_csrf" && name != "action" {
                fields.push((name, value));
            }
        }
        fields.push(("action".into(), "complete".into()));
        let res = c.post(&path, &pairs(&fields)).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let s = stored(&site.store, report, "basic").await.unwrap();
        assert_eq!(s.status, SectionStatus::Complete);
        assert_eq!(s.answers, own, "the generated form changes nothing");
        let overview = c.get(res.location.as_deref().unwrap()).await;
        assert!(overview.body.contains("を入力完了にしました"));

        // The seed's examples on 2.(1): 00009 is not counted (the seed's text), 00007 is.
        let services = c.get(&section_path(report, "services")).await;
        assert_eq!(services.status, StatusCode::OK);
        let body = &services.body;
        let at9 = body.find("00009 : ").expect("00009 listed");
        let row9 = &body[at9..at9 + body[at9..].find("</li>").unwrap()];
        assert!(
            row9.contains("前年度実施件数報告対象ではないため、実施件数の報告は不要です。"),
            "{row9}"
        );
        assert!(!row9.contains(".count\""), "{row9}");
        let at7 = body.find("00007 : ").expect("00007 listed");
        let row7 = &body[at7..at7 + body[at7..].find("</li>").unwrap()];
        assert!(row7.contains("前年度実施件数"), "{row7}");
        assert!(row7.contains("00007.count"), "{row7}");

        // Read-only staff of the prefecture look (no buttons) and may not save; reviewers may
        // (代理入力, see workflow.rs).
        create_user(
            &site.store,
            "pref01",
            &[teikyo_testkit::web::prefecture_staff(
                "17",
                teikyo_domain::account::StaffLevel::ReadOnly,
            )],
        )
        .await;
        let mut p = site.client();
        p.login("pref01", PASSWORD).await;
        let look = p.get(&path).await;
        assert_eq!(look.status, StatusCode::OK);
        assert!(look.body.contains("内容の確認のみできます"));
        assert!(!look.body.contains("value=\"complete\""));
        let refused = p
            .post(&path, &[("version", "1"), ("action", "draft")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    })
    .await;
}
