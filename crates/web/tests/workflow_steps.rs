//! The reporting steps around the main story (issue: reporting workflow): 取消 with the seed's
//! warning; 一括入力完了 exactly as the seed states it; a 随時報告 of 廃止 that makes the facility a
//! 廃止機関 whose accounts reach the 棚卸し; 代理入力 by the prefecture; bulk 確認完了 offered only
//! for low-risk changes. SQLite and, with `TEIKYO_TEST_DATABASE_URL`, PostgreSQL.

use axum::http::StatusCode;
use teikyo_domain::FacilityKind;
use teikyo_domain::account::{Membership, StaffLevel};
use teikyo_domain::forms::Value;
use teikyo_domain::report::{ReportStatus, SectionStatus};
use teikyo_store::{FacilityId, ReportId, Store};
use teikyo_testkit::report::{complete_all, fill_sections, form_fields, pairs, status, version};
use teikyo_testkit::web::{
    Client, PASSWORD, Site, create_user, facility_admin, kanazawa_facility, on_each_backend,
    open_ishikawa_period, prefecture_staff,
};

async fn hospital(store: &Store, name: &str, code: &str) -> i64 {
    kanazawa_facility(store, FacilityKind::Hospital, name, "ビョウイン", code).await
}

/// Starts a report with the button at `path` (制度ホーム's forms) and returns its id.
async fn start_with(c: &mut Client, path: &str, form: &[(&str, &str)]) -> i64 {
    // The button is on a page: open one first (it carries the form's token).
    c.get("/home").await;
    let res = c.post(path, form).await;
    let to = res
        .location
        .unwrap_or_else(|| panic!("{path}: {} {}", res.status, res.body));
    to.trim_start_matches("/reports/")
        .split('?')
        .next()
        .unwrap_or_default()
        .parse()
        .unwrap_or_else(|_| panic!("a report page, not {to}"))
}

async fn start(c: &mut Client, path: &str) -> i64 {
    start_with(c, path, &[]).await
}

/// The open period's 定期報告, started with スキップ (report_start.rs tests the 番号確認).
async fn start_periodic(c: &mut Client, f: i64) -> i64 {
    start_with(
        c,
        &format!("/facility/{f}/report/start"),
        &[("action", "skip")],
    )
    .await
}

/// Presses 「報告」 on the confirmation step and expects it to go through.
async fn submit(c: &mut Client, report: i64) {
    let v = version(c, &format!("/reports/{report}/submit")).await;
    let res = c
        .post(&format!("/reports/{report}/submit"), &[("version", &v)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
}

async fn confirm(p: &mut Client, report: i64) {
    let v = version(p, &format!("/reports/{report}/review")).await;
    let res = p
        .post(&format!("/reports/{report}/confirm"), &[("version", &v)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
}

/// A hospital with a user `login` and one confirmed 新規報告 (the example hospital's answers).
async fn confirmed_hospital(
    site: &Site,
    p: &mut Client,
    name: &str,
    code: &str,
    login: &str,
) -> (i64, Client, i64) {
    let f = hospital(&site.store, name, code).await;
    create_user(&site.store, login, &[facility_admin(f)]).await;
    let mut c = site.client();
    c.login(login, PASSWORD).await;
    let report = start(&mut c, &format!("/facility/{f}/report/initial")).await;
    complete_all(&site.store, report, None).await;
    submit(&mut c, report).await;
    confirm(p, report).await;
    assert_eq!(status(&site.store, report).await, ReportStatus::Confirmed);
    (f, c, report)
}

async fn reviewer(site: &Site) -> Client {
    create_user(
        &site.store,
        "pref01",
        &[prefecture_staff("17", StaffLevel::Reviewer)],
    )
    .await;
    let mut p = site.client();
    p.login("pref01", PASSWORD).await;
    p.get("/home").await;
    p
}

async fn section_status(store: &Store, report: i64, section: &str) -> SectionStatus {
    store
        .reports()
        .section(ReportId(report), section)
        .await
        .unwrap()
        .map_or(SectionStatus::Empty, |s| s.status)
}

#[tokio::test]
async fn cancel_warns_that_nothing_can_be_restored_and_keeps_the_audit() {
    on_each_backend(|site| async move {
        let f = hospital(&site.store, "金沢中央病院", "1170000009").await;
        create_user(&site.store, "hosp01", &[facility_admin(f)]).await;
        open_ishikawa_period(&site.store).await;
        let mut c = site.client();
        c.login("hosp01", PASSWORD).await;
        let report = start_periodic(&mut c, f).await;
        fill_sections(&site.store, report, SectionStatus::Draft, &[]).await;

        let page = c.get(&format!("/reports/{report}")).await;
        assert!(page.body.contains(&format!("/reports/{report}/cancel")));
        let ask = c.get(&format!("/reports/{report}/cancel")).await;
        assert_eq!(ask.status, StatusCode::OK);
        // The seed (S0 Q16): 取消した場合、入力途中の定期報告の内容は削除され復元することができません.
        assert!(
            ask.body.contains("削除され、復元することができません"),
            "{}",
            ask.body
        );
        let v = ask.input("version").unwrap();
        let done = c
            .post(&format!("/reports/{report}/cancel"), &[("version", &v)])
            .await;
        assert_eq!(
            done.location.as_deref(),
            Some(format!("/facility/{f}/report?done=cancelled").as_str())
        );
        assert!(
            site.store
                .reports()
                .get(ReportId(report))
                .await
                .unwrap()
                .is_none()
        );
        let home = c.get(done.location.as_deref().unwrap()).await;
        assert!(home.body.contains("報告を取消しました"), "{}", home.body);
        // The audit outlives the report.
        let audit = site.store.audit().list(None, 50).await.unwrap();
        assert!(
            audit.iter().any(|a| a.event.action == "report.cancel"
                && a.event.target == Some(("report".into(), report.to_string()))),
            "{audit:?}"
        );
        // A fresh start is possible and nothing came back.
        let again = start_periodic(&mut c, f).await;
        assert_eq!(
            section_status(&site.store, again, "basic").await,
            SectionStatus::Empty
        );

        // A report that was once submitted cannot be cancelled (its history is the prefecture's).
        complete_all(&site.store, again, None).await;
        submit(&mut c, again).await;
        let v = version(&mut c, &format!("/reports/{again}")).await;
        c.post(&format!("/reports/{again}/withdraw"), &[("version", &v)])
            .await;
        assert_eq!(status(&site.store, again).await, ReportStatus::InProgress);
        let page = c.get(&format!("/reports/{again}")).await;
        assert!(!page.body.contains(&format!("/reports/{again}/cancel")));
        let v = site
            .store
            .reports()
            .get(ReportId(again))
            .await
            .unwrap()
            .unwrap()
            .version
            .to_string();
        let refused = c
            .post(&format!("/reports/{again}/cancel"), &[("version", &v)])
            .await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
        assert!(
            site.store
                .reports()
                .get(ReportId(again))
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn bulk_complete_follows_the_seed() {
    on_each_backend(|site| async move {
        let mut p = reviewer(&site).await;
        open_ishikawa_period(&site.store).await;

        // Never reported: not offered, and refused if posted anyway.
        let f0 = hospital(&site.store, "金沢新設病院", "1170000108").await;
        create_user(&site.store, "new01", &[facility_admin(f0)]).await;
        let mut n = site.client();
        n.login("new01", PASSWORD).await;
        let first = start_periodic(&mut n, f0).await;
        let ask = n.get(&format!("/reports/{first}/bulk-complete")).await;
        assert!(
            ask.body
                .contains("一度も報告を行っていない場合は利用できません"),
            "{}",
            ask.body
        );
        assert!(
            !ask.body
                .contains(&format!("action=\"/reports/{first}/bulk-complete\""))
        );
        let v = site
            .store
            .reports()
            .get(ReportId(first))
            .await
            .unwrap()
            .unwrap()
            .version
            .to_string();
        let refused = n
            .post(
                &format!("/reports/{first}/bulk-complete"),
                &[("version", &v)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert_eq!(
            section_status(&site.store, first, "basic").await,
            SectionStatus::Empty
        );

        // Reported once (新規報告, confirmed): the 定期報告 offers it.
        let (f, mut c, _) =
            confirmed_hospital(&site, &mut p, "金沢中央病院", "1170000009", "hosp01").await;
        let report = start_periodic(&mut c, f).await;
        // 基本情報 is 一時保存 with a new phone number: it must stay as it is.
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
        let mut draft = teikyo_refdata::forms::examples::hospital().of_section(basic);
        draft.set("basic.phone", Value::Text("076-999-0000".into()));
        teikyo_testkit::report::save_section(
            &site.store,
            report,
            "basic",
            SectionStatus::Draft,
            &draft,
        )
        .await;
        let ask = c.get(&format!("/reports/{report}/bulk-complete")).await;
        assert!(
            ask.body
                .contains("既に一時保存の項目は「入力完了」に更新されません"),
            "{}",
            ask.body
        );
        let excluded: Vec<_> = set.sections.iter().filter(|s| !s.bulk_complete).collect();
        assert!(!excluded.is_empty(), "the item set flags some sections");
        for s in &excluded {
            assert!(ask.body.contains(&s.title), "{} is listed", s.title);
        }
        let v = ask.input("version").unwrap();
        let done = c
            .post(
                &format!("/reports/{report}/bulk-complete"),
                &[("version", &v)],
            )
            .await;
        let to = done.location.expect("back to the report");
        let page = c.get(&to).await;
        assert!(page.body.contains("一括入力完了しました"), "{}", page.body);

        // 一時保存 untouched; 未入力 → 入力完了 with the previous content; flagged ones skipped
        // and named afterwards.
        let saved = site
            .store
            .reports()
            .section(ReportId(report), "basic")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(saved.status, SectionStatus::Draft);
        assert_eq!(
            saved.answers.get("basic.phone"),
            Some(&Value::Text("076-999-0000".into()))
        );
        let previous = teikyo_refdata::forms::examples::hospital();
        for s in &set.sections {
            let now = section_status(&site.store, report, &s.id).await;
            if s.id == "basic" {
                continue;
            }
            if s.bulk_complete {
                assert_eq!(now, SectionStatus::Complete, "{}", s.id);
                let got = site
                    .store
                    .reports()
                    .section(ReportId(report), &s.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .answers;
                assert_eq!(
                    got,
                    previous.of_section(s),
                    "{} keeps the last report",
                    s.id
                );
            } else {
                assert_eq!(now, SectionStatus::Empty, "{}", s.id);
                assert!(
                    page.body.contains(&format!("{} {}", s.number, s.title)),
                    "{} is named as still to do",
                    s.id
                );
            }
        }
        // Basic (一時保存) is named too: it is not 入力完了.
        assert!(page.body.contains(&basic.title));

        // Not for a 随時報告.
        let change = start(&mut c, &format!("/facility/{f}/report/change")).await;
        let ask = c.get(&format!("/reports/{change}/bulk-complete")).await;
        assert!(ask.body.contains("一括入力完了は定期報告専用です"));
    })
    .await;
}

#[tokio::test]
async fn a_change_report_of_closure_makes_the_facility_abolished_and_its_users_inventoried() {
    on_each_backend(|site| async move {
        let mut p = reviewer(&site).await;
        create_user(&site.store, "ope01", &[Membership::Operator]).await;
        let (f, mut c, _) =
            confirmed_hospital(&site, &mut p, "金沢中央病院", "1170000009", "hosp01").await;
        // 確認完了 publishes the hospital for residents.
        site.run_jobs().await;
        let shown = site
            .store
            .publications()
            .published(FacilityId(f))
            .await
            .unwrap()
            .expect("published after 確認完了");
        assert_eq!(shown.facility.names.official, "金沢中央病院");
        let home = c.get(&format!("/facility/{f}/report")).await;
        assert!(
            home.body
                .contains("住民向けの検索に公表されています（最終確認日"),
            "{}",
            home.body
        );
        assert!(
            shown.value("basic.name_official").is_some(),
            "the confirmed answers: {shown:?}"
        );

        // 随時報告: 基本情報 with a 廃止日.
        let report = start(&mut c, &format!("/facility/{f}/report/change")).await;
        complete_all(&site.store, report, None).await;
        let mut basic = site
            .store
            .reports()
            .section(ReportId(report), "basic")
            .await
            .unwrap()
            .unwrap()
            .answers;
        let closed_on = chrono::NaiveDate::from_ymd_opt(2026, 9, 30).unwrap();
        basic.set("basic.abolished_on", Value::Date(closed_on));
        teikyo_testkit::report::save_section(
            &site.store,
            report,
            "basic",
            SectionStatus::Complete,
            &basic,
        )
        .await;
        submit(&mut c, report).await;
        // Until it is confirmed the facility is not 廃止.
        let facility = site.store.facilities().get(FacilityId(f)).await.unwrap();
        assert_eq!(facility.unwrap().record.abolished_on, None);
        let review = p.get(&format!("/reports/{report}/review")).await;
        assert!(review.body.contains("廃止"), "{}", review.body);
        confirm(&mut p, report).await;

        let facility = site
            .store
            .facilities()
            .get(FacilityId(f))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(facility.record.abolished_on, Some(closed_on));
        let home = c.get(&format!("/facility/{f}/report")).await;
        assert!(home.body.contains("廃止機関"), "{}", home.body);
        site.run_jobs().await;
        let mails = site.mails_to("hosp01@test.example.jp");
        let notice = mails
            .iter()
            .find(|m| m.subject.contains("随時報告の確認が完了しました"))
            .unwrap_or_else(|| panic!("the 確認完了 notice: {mails:?}"));
        assert!(notice.body.contains("廃止機関"), "{}", notice.body);
        assert!(notice.body.contains("2026年9月30日"), "{}", notice.body);
        // Withdrawn from the residents' side, with a tombstone in the publication sequence.
        assert_eq!(
            site.store
                .publications()
                .published(FacilityId(f))
                .await
                .unwrap(),
            None
        );
        let home = c.get(&format!("/facility/{f}/report")).await;
        assert!(
            home.body.contains(
                "廃止日（2026年9月30日）を迎えたため、住民向けの検索には表示されていません。"
            ),
            "{}",
            home.body
        );
        let log = site.store.publications().since(0, 10).await.unwrap();
        let last = log.last().expect("rows");
        assert!(last.document.is_none(), "{log:?}");
        assert_eq!(last.reason.as_deref(), Some("publication.abolished"));

        // The operator's 棚卸し lists the facility's account.
        let mut o = site.client();
        o.login("ope01", PASSWORD).await;
        o.get("/home").await;
        let inventory = o.get("/support/inventory").await;
        assert_eq!(inventory.status, StatusCode::OK);
        let row = inventory
            .body
            .split("<tr>")
            .find(|r| r.contains("hosp01"))
            .unwrap_or_else(|| panic!("hosp01 listed: {}", inventory.body));
        assert!(row.contains("施設が廃止済み"), "{row}");
        assert!(!inventory.body.contains(">pref01<"));
    })
    .await;
}

#[tokio::test]
async fn the_prefecture_enters_and_reports_for_a_paper_facility() {
    on_each_backend(|site| async move {
        let mut p = reviewer(&site).await;
        open_ishikawa_period(&site.store).await;
        let f = hospital(&site.store, "能登紙報告病院", "1170000207").await;
        // The facility has a user (for the mails) who never logs in.
        create_user(&site.store, "paper01", &[facility_admin(f)]).await;

        // The reviewer starts the 定期報告 and saves a section through the generated form.
        let report = start_periodic(&mut p, f).await;
        complete_all(&site.store, report, Some("basic")).await;
        let path = format!("/reports/{report}/sections/basic");
        let form = p.get(&path).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
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
        teikyo_testkit::report::save_section(
            &site.store,
            report,
            "basic",
            SectionStatus::Draft,
            &teikyo_refdata::forms::examples::hospital().of_section(basic),
        )
        .await;
        let form = p.get(&path).await;
        let mut fields: Vec<(String, String)> = form_fields(&form.body)
            .into_iter()
            .filter(|(k, _)| k != "action")
            .collect();
        fields.push(("action".into(), "complete".into()));
        let saved = p.post(&path, &pairs(&fields)).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        assert_eq!(
            section_status(&site.store, report, "basic").await,
            SectionStatus::Complete
        );

        submit(&mut p, report).await;
        let r = site
            .store
            .reports()
            .get(ReportId(report))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.status, ReportStatus::Submitted);
        assert!(r.submitted_by_proxy);
        // Audited as proxy, both the save and the 報告.
        let audit = site.store.audit().list(None, 100).await.unwrap();
        for action in ["report.section_saved", "report.submit"] {
            let e = audit
                .iter()
                .find(|a| a.event.action == action)
                .unwrap_or_else(|| panic!("{action} audited: {audit:?}"));
            assert_eq!(
                e.event.detail.as_ref().and_then(|d| d["proxy"].as_bool()),
                Some(true),
                "{action}: {e:?}"
            );
        }
        // The facility is told that the prefecture reported for it.
        site.run_jobs().await;
        let mails = site.mails_to("paper01@test.example.jp");
        assert_eq!(mails.len(), 1, "{mails:?}");
        assert!(mails[0].body.contains("代理で入力し、報告したもの"));

        // The reviewer confirms it like any other.
        confirm(&mut p, report).await;
        assert_eq!(status(&site.store, report).await, ReportStatus::Confirmed);
    })
    .await;
}

#[tokio::test]
async fn bulk_confirm_is_offered_only_for_low_risk_changes() {
    on_each_backend(|site| async move {
        let mut p = reviewer(&site).await;
        let (fa, mut a, ra) =
            confirmed_hospital(&site, &mut p, "金沢電話病院", "1170000009", "hospa").await;
        let (fb, mut b, rb) =
            confirmed_hospital(&site, &mut p, "金沢病床病院", "1170000306", "hospb").await;
        let _ = (fa, fb);
        // Each reopens its report: A changes its phone number (low risk), B its beds (high).
        for (c, report, item, value) in [
            (
                &mut a,
                ra,
                "basic.phone",
                Value::Text("076-999-0000".into()),
            ),
            (&mut b, rb, "basic.beds_general", Value::Number(150.0)),
        ] {
            let v = version(c, &format!("/reports/{report}")).await;
            c.post(&format!("/reports/{report}/reopen"), &[("version", &v)])
                .await;
            let mut basic = site
                .store
                .reports()
                .section(ReportId(report), "basic")
                .await
                .unwrap()
                .unwrap()
                .answers;
            assert!(basic.get(item).is_some(), "{item} answered");
            basic.set(item, value);
            teikyo_testkit::report::save_section(
                &site.store,
                report,
                "basic",
                SectionStatus::Complete,
                &basic,
            )
            .await;
            submit(c, report).await;
            assert_eq!(status(&site.store, report).await, ReportStatus::Resubmitted);
        }
        let queue = p.get("/prefecture/reports").await;
        let row = |name: &str| -> String {
            queue
                .body
                .split("<tr")
                .find(|r| r.contains(name))
                .unwrap_or_else(|| panic!("{name} queued: {}", queue.body))
                .to_owned()
        };
        let low = row("金沢電話病院");
        let high = row("金沢病床病院");
        assert!(low.contains("type=\"checkbox\""), "{low}");
        assert!(low.contains("（低リスク）"), "{low}");
        assert!(!high.contains("type=\"checkbox\""), "{high}");
        assert!(high.contains("個別に確認"), "{high}");

        // Posting both (a crafted form) confirms only the low-risk one.
        let va = version(&mut p, &format!("/reports/{ra}/review")).await;
        let vb = version(&mut p, &format!("/reports/{rb}/review")).await;
        let res = p
            .post(
                "/prefecture/reports/confirm",
                &[
                    ("report", format!("{ra}:{va}").as_str()),
                    ("report", format!("{rb}:{vb}").as_str()),
                ],
            )
            .await;
        assert_eq!(
            res.location.as_deref(),
            Some("/prefecture/reports?done=bulk&n=1")
        );
        assert_eq!(status(&site.store, ra).await, ReportStatus::Confirmed);
        assert_eq!(status(&site.store, rb).await, ReportStatus::Resubmitted);
        // B's confirmation needs its own look at the 差異表示.
        let review = p.get(&format!("/reports/{rb}/review")).await;
        assert!(review.body.contains("150"), "{}", review.body);
    })
    .await;
}
