//! 定期報告 start with the 保険医療機関番号確認 (DOMAIN §4.3, S0 Q15–Q16), as the facility sees
//! it: the number matched against the master as of the previous 年度's end with the NDB counts
//! preprinted into 2.(1) as 一時保存; both seed messages; a check-digit error; 「スキップする」
//! remembered for the next period and forgotten by 取消; outside an open period, nothing starts.
//! SQLite and, with `TEIKYO_TEST_DATABASE_URL`, PostgreSQL.

use axum::http::StatusCode;
use chrono::Utc;
use teikyo_domain::FacilityKind;
use teikyo_domain::account::StaffLevel;
use teikyo_domain::forms::{CodedAnswer, Value};
use teikyo_domain::ndb::InsuranceCodeCheck;
use teikyo_domain::report::{ReportStatus, SectionStatus, fiscal_year_of};
use teikyo_store::{FacilityId, Report, ReportId, Store};
use teikyo_testkit::web::{
    Client, PASSWORD, Page, create_user, facility_admin, insurance_code, on_each_backend,
    prefecture_staff, seed_insurance_master, seed_ndb_preprint,
};

const MATCH_FAILED: &str = "データベースとの照合に失敗しました。";
const NO_PREPRINT: &str = "対応可能な疾患、治療の内容に関する前年度実施件数の情報がありません。";

fn today() -> chrono::NaiveDate {
    Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap())
        .date_naive()
}

/// A 石川県 定期報告 period of `fiscal_year`, open since ten days ago; returns its id.
async fn open_period(store: &Store, fiscal_year: u16) -> i64 {
    let p = teikyo_domain::period::ReportingPeriod {
        prefecture: teikyo_domain::PrefectureCode::new(17).unwrap(),
        fiscal_year,
        facility_kinds: FacilityKind::ALL.to_vec(),
        reference_date: today(),
        opens_on: today() - chrono::Days::new(10),
        closes_on: today() + chrono::Days::new(60),
        extended_to: None,
        closed: false,
        reminder_days: teikyo_domain::period::DEFAULT_REMINDER_DAYS.to_vec(),
        message: None,
    };
    store
        .periods()
        .create(
            &p,
            None,
            teikyo_store::AuditEvent::new("period.opened", None),
            Utc::now(),
        )
        .await
        .unwrap()
        .0
}

/// A facility of `kind` in 金沢市 holding `codes` in Teikyo's facility master.
async fn facility(
    store: &Store,
    kind: FacilityKind,
    n: u32,
    codes: &[&teikyo_domain::InsuranceCode],
) -> i64 {
    let record = teikyo_domain::FacilityRecord {
        kind,
        prefecture: teikyo_domain::PrefectureCode::new(17).unwrap(),
        municipality: teikyo_domain::MunicipalityCode::parse("17201").unwrap(),
        facility_code: Some(
            teikyo_domain::FacilityCode::parse(&format!("{}17{n:07}", kind.code())).unwrap(),
        ),
        insurance_codes: codes.iter().map(|c| (*c).clone()).collect(),
        names: teikyo_domain::FacilityNames {
            official: format!("広坂{}{n}", kind.name()),
            official_kana: "ヒロサカ".into(),
            short: None,
            short_kana: None,
            english: None,
        },
        postal_code: None,
        address: "石川県金沢市広坂1丁目1番1号".into(),
        coordinates: None,
        homepage: None,
        opened_on: None,
        suspended_on: None,
        abolished_on: None,
    };
    store.facilities().insert(&record).await.unwrap().0
}

async fn signed_in(site: &teikyo_testkit::web::Site, login: &str, f: i64) -> Client {
    create_user(&site.store, login, &[facility_admin(f)]).await;
    let mut c = site.client();
    c.login(login, PASSWORD).await;
    c.get("/home").await; // a page with the form token
    c
}

/// 「照合して定期報告を始める」 with one number.
async fn check(c: &mut Client, f: i64, code: &str) -> Page {
    c.post(
        &format!("/facility/{f}/report/start"),
        &[("action", "check"), ("code", code)],
    )
    .await
}

async fn report_at(store: &Store, location: &str) -> Report {
    let id: i64 = location
        .trim_start_matches("/reports/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("a report page: {location}"));
    store.reports().get(ReportId(id)).await.unwrap().unwrap()
}

async fn periodic(store: &Store, f: i64, fiscal_year: u16) -> Option<Report> {
    store
        .reports()
        .periodic(FacilityId(f), fiscal_year)
        .await
        .unwrap()
}

/// The audit details of `action` about facility `f`, newest first.
async fn audited(store: &Store, action: &str, f: i64) -> Vec<serde_json::Value> {
    store
        .audit()
        .list(None, 200)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.event.action == action && r.event.facility_id == Some(f))
        .map(|r| r.event.detail.unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_matched_number_preprints_last_years_counts_as_a_draft() {
    on_each_backend(|site| async move {
        let fy = fiscal_year_of(today());
        let code = insurance_code("171010123");
        let f = facility(&site.store, FacilityKind::Hospital, 1, &[&code]).await;
        open_period(&site.store, fy).await;
        seed_insurance_master(&site.store, fy, &[(&code, "広坂病院1")]).await;
        // 00007 carries 前年度実施件数; 00009 does not (only 対応可能 is preprinted for it).
        seed_ndb_preprint(&site.store, fy, &[(&code, "00007", 12), (&code, "00009", 4)]).await;
        let mut c = signed_in(&site, "hosp01", f).await;

        // The 制度ホーム's button opens the 番号確認, the registered number filled in.
        let home = c.get(&format!("/facility/{f}/report")).await;
        assert!(
            home.body
                .contains(&format!("href=\"/facility/{f}/report/start\">定期報告を始める")),
            "{}",
            home.body
        );
        let ask = c.get(&format!("/facility/{f}/report/start")).await;
        assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
        assert_eq!(ask.input("code").as_deref(), Some(code.as_str()));
        assert!(ask.body.contains("都道府県番号 + 点数区分番号 + 医療機関番号"));
        assert!(
            ask.body.contains(&format!("令和{}年3月末時点の保険医療機関番号", fy - 2018)),
            "{}",
            ask.body
        );
        assert!(ask.body.contains("スキップする"));
        assert!(periodic(&site.store, f, fy).await.is_none(), "a GET starts nothing");

        // Typed with 全角 digits and hyphens, as people do.
        let typed: String = format!("{}-{}", &code.as_str()[..2], &code.as_str()[2..])
            .chars()
            .map(|ch| char::from_u32(ch as u32 + 0xFEE0).unwrap_or(ch))
            .collect();
        let done = c
            .post(
                &format!("/facility/{f}/report/start"),
                &[("action", "check"), ("code", &typed), ("code2", "")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let to = done.location.unwrap();
        assert!(to.ends_with("?done=preprinted"), "{to}");
        let r = report_at(&site.store, &to).await;
        assert_eq!(r.status, ReportStatus::InProgress);
        assert_eq!(
            r.insurance_check,
            Some(InsuranceCodeCheck::Matched(vec![code.clone()]))
        );
        assert!(r.period_id.is_some());

        // 2.(1) is 一時保存 with the counts; nothing else was touched.
        let sections = site.store.reports().sections(r.id).await.unwrap();
        assert_eq!(sections.len(), 1, "{sections:?}");
        assert_eq!(sections[0].section, "services");
        assert_eq!(sections[0].status, SectionStatus::Draft);
        let Some(Value::Coded(m)) = sections[0].answers.get("services.treatments") else {
            panic!("{:?}", sections[0].answers);
        };
        assert_eq!(
            m.get("00007"),
            Some(&CodedAnswer {
                available: true,
                count: Some(12)
            })
        );
        assert_eq!(
            m.get("00009"),
            Some(&CodedAnswer {
                available: true,
                count: None
            })
        );
        let page = c.get(&to).await;
        assert!(
            page.body
                .contains("前年度実施件数をプレプリントしました。「2.(1) 診療内容、提供保健・医療・介護サービス」は一時保存の状態です"),
            "{}",
            page.body
        );
        assert!(page.body.contains(code.as_str()));
        let section = c
            .get(&format!("/reports/{}/sections/services", r.id))
            .await;
        assert!(section.body.contains("value=\"12\""), "{}", section.body);

        // Audited with what the check found; a second start only opens the report.
        let started = audited(&site.store, "report.started", f).await;
        assert_eq!(started[0]["insurance_check"], "matched");
        assert_eq!(started[0]["codes"][0], code.as_str());
        assert_eq!(started[0]["preprinted"], 2);
        assert_eq!(started[0]["proxy"], false);
        let again = c.get(&format!("/facility/{f}/report/start")).await;
        assert_eq!(
            again.location.as_deref(),
            Some(format!("/reports/{}", r.id).as_str())
        );
    })
    .await;
}

#[tokio::test]
async fn medical_and_dental_numbers_are_matched_and_added_up_by_a_proxy() {
    on_each_backend(|site| async move {
        let fy = fiscal_year_of(today());
        let medical = insurance_code("171010200");
        let dental = insurance_code("173010200");
        let f = facility(&site.store, FacilityKind::Clinic, 2, &[&medical, &dental]).await;
        open_period(&site.store, fy).await;
        seed_insurance_master(
            &site.store,
            fy,
            &[(&medical, "広坂医科"), (&dental, "広坂歯科")],
        )
        .await;
        seed_ndb_preprint(
            &site.store,
            fy,
            &[(&medical, "00007", 5), (&dental, "00007", 2)],
        )
        .await;
        // A reviewer of the prefecture starts it for the facility (代理入力).
        create_user(
            &site.store,
            "pref01",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;
        let mut p = site.client();
        p.login("pref01", PASSWORD).await;
        p.get("/home").await;
        let ask = p.get(&format!("/facility/{f}/report/start")).await;
        assert_eq!(ask.input("code2").as_deref(), Some(dental.as_str()));
        assert!(ask.body.contains("代理入力"), "{}", ask.body);
        // Two 医科 numbers are not 医科 and 歯科.
        let same = p
            .post(
                &format!("/facility/{f}/report/start"),
                &[("code", medical.as_str()), ("code2", medical.as_str())],
            )
            .await;
        assert_eq!(same.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            same.body.contains("どちらも医科の番号です"),
            "{}",
            same.body
        );
        let done = p
            .post(
                &format!("/facility/{f}/report/start"),
                &[
                    ("action", "check"),
                    ("code", medical.as_str()),
                    ("code2", dental.as_str()),
                ],
            )
            .await;
        let r = report_at(&site.store, done.location.as_deref().unwrap()).await;
        assert_eq!(
            r.insurance_check,
            Some(InsuranceCodeCheck::Matched(vec![medical, dental]))
        );
        let saved = site
            .store
            .reports()
            .section(r.id, "services")
            .await
            .unwrap()
            .unwrap();
        let Some(Value::Coded(m)) = saved.answers.get("services.treatments") else {
            panic!("{:?}", saved.answers);
        };
        assert_eq!(m["00007"].count, Some(7), "5 (医科) + 2 (歯科)");
        let started = audited(&site.store, "report.started", f).await;
        assert_eq!(started[0]["proxy"], true);
        assert_eq!(started[0]["codes"].as_array().unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_number_the_master_does_not_list_fails_with_the_seed_message() {
    on_each_backend(|site| async move {
        let fy = fiscal_year_of(today());
        let listed = insurance_code("171010300");
        let unlisted = insurance_code("171010301");
        let elsewhere = insurance_code("171010302");
        let f = facility(&site.store, FacilityKind::Clinic, 3, &[]).await;
        // Another facility holds `elsewhere` in Teikyo's master.
        facility(&site.store, FacilityKind::Clinic, 4, &[&elsewhere]).await;
        open_period(&site.store, fy).await;
        let mut c = signed_in(&site, "clinic03", f).await;

        // No master loaded yet for 石川県.
        let none = check(&mut c, f, listed.as_str()).await;
        assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(none.body.contains(MATCH_FAILED), "{}", none.body);
        assert!(none.body.contains("照合用データがまだ登録されていません"));

        // Listed only in a later snapshot than the previous 年度's end: not in force.
        seed_insurance_master(&site.store, fy + 1, &[(&unlisted, "未来の診療所")]).await;
        seed_insurance_master(
            &site.store,
            fy,
            &[(&listed, "広坂診療所3"), (&elsewhere, "広坂診療所4")],
        )
        .await;
        let miss = check(&mut c, f, unlisted.as_str()).await;
        assert_eq!(miss.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(miss.body.contains(MATCH_FAILED), "{}", miss.body);
        assert!(miss.body.contains("時点の保険医療機関の一覧にありません"));
        // The number stays in the field to be corrected.
        assert_eq!(miss.input("code").as_deref(), Some(unlisted.as_str()));

        // Another prefecture's number, and another facility's.
        let tokyo = check(&mut c, f, "1310110049").await;
        assert!(tokyo.body.contains(MATCH_FAILED));
        assert!(tokyo.body.contains("東京都の番号です"), "{}", tokyo.body);
        let theirs = check(&mut c, f, elsewhere.as_str()).await;
        assert!(theirs.body.contains(MATCH_FAILED));
        assert!(
            theirs.body.contains("別の機関の保険医療機関番号"),
            "{}",
            theirs.body
        );

        assert!(periodic(&site.store, f, fy).await.is_none(), "no report");
        let failed = audited(&site.store, "report.insurance_check_failed", f).await;
        assert_eq!(failed.len(), 4);
        assert_eq!(failed[0]["reasons"][0], "insurance_check.other_facility");
        assert_eq!(failed[3]["reasons"][0], "insurance_check.no_master");
        assert!(audited(&site.store, "report.started", f).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_wrong_check_digit_is_refused_before_the_master() {
    on_each_backend(|site| async move {
        let fy = fiscal_year_of(today());
        let code = insurance_code("171010400");
        let f = facility(&site.store, FacilityKind::Clinic, 5, &[]).await;
        open_period(&site.store, fy).await;
        seed_insurance_master(&site.store, fy, &[(&code, "広坂診療所5")]).await;
        let mut c = signed_in(&site, "clinic05", f).await;
        // A last digit that neither check-digit rule gives.
        let wrong = (0..10)
            .map(|d| format!("{}{d}", &code.as_str()[..9]))
            .find(|c| teikyo_domain::InsuranceCode::parse(c).is_err())
            .unwrap();
        let res = c
            .post(
                &format!("/facility/{f}/report/start"),
                &[("action", "check"), ("code", &wrong)],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            res.body.contains("の検証番号（10桁目）が一致しません"),
            "{}",
            res.body
        );
        assert!(
            res.body.contains("href=\"#code\""),
            "the summary links the field"
        );
        assert!(!res.body.contains(MATCH_FAILED), "not the master's answer");
        let short = c
            .post(
                &format!("/facility/{f}/report/start"),
                &[("action", "check"), ("code", "1710104")],
            )
            .await;
        assert!(
            short.body.contains("10桁で入力してください"),
            "{}",
            short.body
        );
        assert!(periodic(&site.store, f, fy).await.is_none());
    })
    .await;
}

#[tokio::test]
async fn a_number_without_ndb_counts_starts_with_the_seed_message() {
    on_each_backend(|site| async move {
        let fy = fiscal_year_of(today());
        let code = insurance_code("171010500");
        let other = insurance_code("171010501");
        let f = facility(&site.store, FacilityKind::Clinic, 6, &[&code]).await;
        open_period(&site.store, fy).await;
        seed_insurance_master(&site.store, fy, &[(&code, "広坂診療所6"), (&other, "x")]).await;
        // Counts exist, for someone else and for this code in the wrong 年度.
        seed_ndb_preprint(&site.store, fy, &[(&other, "00007", 3)]).await;
        seed_ndb_preprint(&site.store, fy + 1, &[(&code, "00007", 3)]).await;
        let mut c = signed_in(&site, "clinic06", f).await;
        let done = c
            .post(
                &format!("/facility/{f}/report/start"),
                &[("action", "check"), ("code", code.as_str())],
            )
            .await;
        let to = done.location.expect("started");
        assert!(to.ends_with("?done=no_preprint"), "{to}");
        let r = report_at(&site.store, &to).await;
        assert_eq!(
            r.insurance_check,
            Some(InsuranceCodeCheck::Matched(vec![code.clone()]))
        );
        assert!(
            site.store
                .reports()
                .sections(r.id)
                .await
                .unwrap()
                .is_empty()
        );
        let page = c.get(&to).await;
        assert!(page.body.contains(NO_PREPRINT), "{}", page.body);
        let started = audited(&site.store, "report.started", f).await;
        assert_eq!(started[0]["preprinted"], 0);
    })
    .await;
}

#[tokio::test]
async fn skip_is_remembered_for_the_next_period_and_forgotten_by_cancel() {
    on_each_backend(|site| async move {
        let fy = fiscal_year_of(today());
        let f = facility(&site.store, FacilityKind::Clinic, 7, &[]).await;
        let earlier = open_period(&site.store, fy - 1).await;
        let mut c = signed_in(&site, "clinic07", f).await;

        // Last year: 「スキップする」.
        let done = c
            .post(
                &format!("/facility/{f}/report/start"),
                &[("action", "skip")],
            )
            .await;
        let to = done.location.expect("started");
        assert!(to.ends_with("?done=skipped"), "{to}");
        let page = c.get(&to).await;
        assert!(
            page.body
                .contains("次回以降の定期報告も、この確認を行わずに")
        );
        let last_year = report_at(&site.store, &to).await;
        assert_eq!(last_year.insurance_check, Some(InsuranceCodeCheck::Skipped));
        let skipped = audited(&site.store, "report.started", f).await;
        assert_eq!(skipped[0]["insurance_check"], "skipped");

        // 取消 of the skipped report (S0 Q16's way back) and a new start ask again.
        let v = c
            .get(&format!("/reports/{}/cancel", last_year.id))
            .await
            .input("version")
            .unwrap();
        c.post(
            &format!("/reports/{}/cancel", last_year.id),
            &[("version", &v)],
        )
        .await;
        assert!(periodic(&site.store, f, fy - 1).await.is_none());
        let home = c.get(&format!("/facility/{f}/report")).await;
        assert!(home.body.contains(&format!(
            "href=\"/facility/{f}/report/start\">定期報告を始める"
        )));
        c.post(
            &format!("/facility/{f}/report/start"),
            &[("action", "skip")],
        )
        .await;
        assert!(periodic(&site.store, f, fy - 1).await.is_some());

        // This year's period: 「定期報告を始める」 goes straight to the 調査票入力画面.
        site.store
            .periods()
            .close(
                teikyo_store::PeriodId(earlier),
                teikyo_store::AuditEvent::new("period.closed", None),
                Utc::now(),
            )
            .await
            .unwrap();
        open_period(&site.store, fy).await;
        let home = c.get(&format!("/facility/{f}/report")).await;
        assert!(
            home.body.contains("name=\"action\" value=\"start\""),
            "{}",
            home.body
        );
        assert!(home.body.contains("確認を行わずに始まります"));
        let done = c
            .post(
                &format!("/facility/{f}/report/start"),
                &[("action", "start")],
            )
            .await;
        let to = done.location.expect("started");
        assert!(to.ends_with("?done=remembered_skip"), "{to}");
        let this_year = report_at(&site.store, &to).await;
        assert_eq!(this_year.fiscal_year, fy);
        // Recorded as skipped again, so the year after goes straight too.
        assert_eq!(this_year.insurance_check, Some(InsuranceCodeCheck::Skipped));
        let page = c.get(&to).await;
        assert!(
            page.body
                .contains("前回の定期報告で保険医療機関番号確認をスキップしたため")
        );
        let started = audited(&site.store, "report.started", f).await;
        assert_eq!(started[0]["remembered"], true);
    })
    .await;
}

#[tokio::test]
async fn a_start_needing_the_check_is_not_taken_straight() {
    on_each_backend(|site| async move {
        let fy = fiscal_year_of(today());
        let f = facility(&site.store, FacilityKind::Clinic, 8, &[]).await;
        open_period(&site.store, fy).await;
        let mut c = signed_in(&site, "clinic08", f).await;
        // A hand-made 「始める」 when the check applies: back to the 番号確認, nothing started.
        let res = c
            .post(
                &format!("/facility/{f}/report/start"),
                &[("action", "start")],
            )
            .await;
        assert_eq!(
            res.location.as_deref(),
            Some(format!("/facility/{f}/report/start").as_str())
        );
        assert!(periodic(&site.store, f, fy).await.is_none());
        // A 薬局's item set has nothing to preprint: its start needs no number.
        let pharmacy = facility(&site.store, FacilityKind::Pharmacy, 9, &[]).await;
        create_user(
            &site.store,
            "pharm09",
            &[teikyo_domain::account::Membership::Facility {
                facility_id: pharmacy,
                admin: true,
                programs: vec![teikyo_domain::Program::PharmacyFunction],
            }],
        )
        .await;
        let mut p = site.client();
        p.login("pharm09", PASSWORD).await;
        p.get("/home").await;
        let ask = p.get(&format!("/facility/{pharmacy}/report/start")).await;
        assert!(
            ask.body.contains("保険医療機関番号確認は不要です"),
            "{}",
            ask.body
        );
        let res = p
            .post(
                &format!("/facility/{pharmacy}/report/start"),
                &[("action", "start")],
            )
            .await;
        let r = report_at(&site.store, res.location.as_deref().unwrap()).await;
        assert_eq!(r.insurance_check, None);
    })
    .await;
}

#[tokio::test]
async fn outside_an_open_period_nothing_starts() {
    on_each_backend(|site| async move {
        let fy = fiscal_year_of(today());
        let code = insurance_code("171010600");
        let f = facility(&site.store, FacilityKind::Clinic, 10, &[&code]).await;
        seed_insurance_master(&site.store, fy, &[(&code, "広坂診療所10")]).await;
        let mut c = signed_in(&site, "clinic10", f).await;
        let home_path = format!("/facility/{f}/report?done=no_period");
        let ask = c.get(&format!("/facility/{f}/report/start")).await;
        assert_eq!(ask.location.as_deref(), Some(home_path.as_str()));
        for action in ["check", "skip", "start"] {
            let res = c
                .post(
                    &format!("/facility/{f}/report/start"),
                    &[("action", action), ("code", code.as_str())],
                )
                .await;
            assert_eq!(
                res.location.as_deref(),
                Some(home_path.as_str()),
                "{action}"
            );
        }
        let home = c.get(&home_path).await;
        assert!(
            home.body.contains("現在、定期報告の受付期間ではありません"),
            "{}",
            home.body
        );
        assert!(periodic(&site.store, f, fy).await.is_none());
        // A read-only member of the prefecture sees the facility but may not start for it.
        open_period(&site.store, fy).await;
        create_user(
            &site.store,
            "pref02",
            &[prefecture_staff("17", StaffLevel::ReadOnly)],
        )
        .await;
        let mut r = site.client();
        r.login("pref02", PASSWORD).await;
        let res = r.get(&format!("/facility/{f}/report/start")).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
    })
    .await;
}
