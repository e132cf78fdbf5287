//! 報告状況一覧, its CSV and the dashboard over HTTP (issue 6): 石川県's facilities in every
//! state — one abolished, one in 奈良県 — are counted and listed as the reports say, filters
//! narrow the list and keep each other, the CSV comes as UTF-8 with BOM or CP932 (refused, with
//! where and what, when a name cannot be written in it), every export is audited, the dashboard's
//! tables carry the exact shares, and each user sees their own scope only. SQLite and, with
//! `TEIKYO_TEST_DATABASE_URL`, PostgreSQL.

use axum::http::StatusCode;
use chrono::{DateTime, Days, Utc};
use teikyo_domain::account::{Area, Membership, StaffLevel};
use teikyo_domain::report::{ReportKind, Transition};
use teikyo_domain::{
    FacilityCode, FacilityKind, FacilityNames, FacilityRecord, MunicipalityCode, PrefectureCode,
};
use teikyo_store::{AuditEvent, FacilityId, NewReport, ReportId, Store, TransitionRequest};
use teikyo_testkit::web::{
    Client, PASSWORD, Site, create_user, facility_admin, on_each_backend, open_ishikawa_period,
    prefecture_staff, unescape,
};

async fn facility(
    store: &Store,
    kind: FacilityKind,
    name: &str,
    code: &str,
    municipality: &str,
    abolished: bool,
) -> i64 {
    let municipality = MunicipalityCode::parse(municipality).unwrap();
    let record = FacilityRecord {
        kind,
        prefecture: municipality.prefecture(),
        municipality,
        facility_code: Some(FacilityCode::parse(code).unwrap()),
        insurance_codes: vec![],
        names: FacilityNames {
            official: name.into(),
            official_kana: "シケン".into(),
            short: None,
            short_kana: None,
            english: None,
        },
        postal_code: None,
        address: format!("{}試験町1番1号", municipality.prefecture().name()),
        coordinates: None,
        homepage: None,
        opened_on: None,
        suspended_on: None,
        abolished_on: abolished.then(|| Utc::now().date_naive() - Days::new(30)),
    };
    store.facilities().insert(&record).await.unwrap().0
}

/// A 定期報告 of this 年度 taken through `steps`, each at its time.
async fn report(store: &Store, f: i64, steps: &[(Transition, DateTime<Utc>)]) -> i64 {
    let kind = store
        .facilities()
        .get(FacilityId(f))
        .await
        .unwrap()
        .unwrap()
        .record
        .kind;
    let catalogue = teikyo_refdata::forms::catalogue().unwrap();
    let today = teikyo_domain::report::fiscal_year_of(
        Utc::now()
            .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap())
            .date_naive(),
    );
    let set = catalogue.current(kind, today).unwrap();
    let (r, _) = store
        .reports()
        .start(
            &NewReport {
                facility_id: FacilityId(f),
                kind: ReportKind::Periodic,
                fiscal_year: today,
                item_set: set.id.clone(),
                by: None,
                period_id: None,
                insurance_check: None,
                preset: Vec::new(),
            },
            AuditEvent::new("report.started", None),
            Utc::now(),
        )
        .await
        .unwrap();
    for (t, at) in steps {
        let version = store.reports().get(r.id).await.unwrap().unwrap().version;
        let out = store
            .reports()
            .transition(
                &TransitionRequest {
                    report: ReportId(r.id.0),
                    expected_version: version,
                    transition: *t,
                    by: None,
                    proxy: false,
                    comment: None,
                    required_sections: &[],
                    facility_dates: None,
                    follow_up: Vec::new(),
                },
                &AuditEvent::new("report.step", None),
                *at,
            )
            .await
            .unwrap();
        assert!(
            matches!(out, teikyo_store::TransitionOutcome::Done { .. }),
            "{out:?}"
        );
    }
    r.id.0
}

struct World {
    /// 確認完了済, 病院, 金沢市.
    central: i64,
    /// The report of 𠮷田クリニック (診療所, 金沢市), 報告済 three days ago; 𠮷 is not in CP932
    /// (髙 of 髙橋記念病院, 報告中, is, through the NEC/IBM extensions).
    yoshida_report: i64,
    /// 未報告, 診療所.
    hirosaka: i64,
}

async fn world(store: &Store) -> World {
    open_ishikawa_period(store).await;
    let now = Utc::now();
    let three_days_ago = now - chrono::Duration::days(3);
    let central = facility(
        store,
        FacilityKind::Hospital,
        "金沢中央病院",
        "1170000009",
        "172014",
        false,
    )
    .await;
    let yoshida = facility(
        store,
        FacilityKind::Clinic,
        "𠮷田クリニック",
        "2170000001",
        "172014",
        false,
    )
    .await;
    let takahashi = facility(
        store,
        FacilityKind::Hospital,
        "髙橋記念病院",
        "1170000017",
        "172014",
        false,
    )
    .await;
    let hirosaka = facility(
        store,
        FacilityKind::Clinic,
        "広坂診療所",
        "2170000019",
        "172014",
        false,
    )
    .await;
    let nanao = facility(
        store,
        FacilityKind::Clinic,
        "七尾港クリニック",
        "2170000027",
        "172022",
        false,
    )
    .await;
    facility(
        store,
        FacilityKind::Clinic,
        "閉院済クリニック",
        "2170000035",
        "172014",
        true,
    )
    .await;
    let nara = facility(
        store,
        FacilityKind::Hospital,
        "奈良県立試験病院",
        "1290000001",
        "292010",
        false,
    )
    .await;
    report(
        store,
        central,
        &[(Transition::Submit, now), (Transition::Confirm, now)],
    )
    .await;
    let yoshida_report = report(store, yoshida, &[(Transition::Submit, three_days_ago)]).await;
    report(store, takahashi, &[]).await;
    report(
        store,
        nanao,
        &[
            (Transition::Submit, three_days_ago),
            (Transition::Confirm, three_days_ago),
            (Transition::Reopen, now),
            (Transition::Submit, now),
        ],
    )
    .await;
    report(store, nara, &[(Transition::Submit, now)]).await;
    World {
        central,
        yoshida_report,
        hirosaka,
    }
}

async fn signed_in(site: &Site, login: &str, memberships: &[Membership]) -> Client {
    create_user(&site.store, login, memberships).await;
    let mut c = site.client();
    c.login(login, PASSWORD).await;
    c
}

/// Where each name appears on the page (panics if missing), to check the order of rows.
fn positions(body: &str, names: &[&str]) -> Vec<usize> {
    names
        .iter()
        .map(|n| body.find(n).unwrap_or_else(|| panic!("{n} on the page")))
        .collect()
}

#[tokio::test]
async fn the_list_counts_filters_and_keeps_to_the_prefecture() {
    on_each_backend(|site| async move {
        let w = world(&site.store).await;
        let mut p = signed_in(
            &site,
            "pref17",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;
        let home = p.get("/home").await;
        assert!(
            home.body.contains("href=\"/prefecture/status\""),
            "{}",
            home.body
        );
        assert!(home.body.contains("href=\"/prefecture/dashboard\""));

        let list = p.get("/prefecture/status").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let b = &list.body;
        for count in [
            "すべて：5 施設",
            "未報告：1 施設",
            "報告中：1 施設",
            "報告済：1 施設",
            "再報告済：1 施設",
            "確認完了済：1 施設",
        ] {
            assert!(b.contains(count), "{count}: {b}");
        }
        assert!(b.contains("報告率 <strong>60.0%</strong>"), "{b}");
        assert!(b.contains("確認完了率 <strong>20.0%</strong>"), "{b}");
        // 未報告 first, then along the progress bar.
        let at = positions(
            b,
            &[
                "広坂診療所",
                "髙橋記念病院",
                "𠮷田クリニック",
                "七尾港クリニック",
                "金沢中央病院",
            ],
        );
        assert!(at.windows(2).all(|x| x[0] < x[1]), "{at:?}");
        // The abolished clinic and 奈良県's hospital are not 石川県's to chase.
        assert!(!b.contains("閉院済クリニック"));
        assert!(!b.contains("奈良県立試験病院"));
        // A report waiting for review: its day, how long it waited, the review.
        assert!(b.contains("<td class=\"nowrap\">3日</td>"), "{b}");
        assert!(b.contains(&format!("href=\"/reports/{}/review\"", w.yoshida_report)));
        assert!(b.contains(&format!("href=\"/facility/{}/report\"", w.hirosaka)));
        assert!(b.contains("七尾市"));

        // Each count is a link that applies its status, keeping the other filters.
        let clinics = p.get("/prefecture/status?prefecture=17&kind=2").await;
        assert!(clinics.body.contains("すべて：3 施設"), "{}", clinics.body);
        assert!(!clinics.body.contains("髙橋記念病院"));
        let link = clinics
            .body
            .split("href=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .find(|h| h.contains("status=not_reported"))
            .map(unescape)
            .expect("the 未報告 count links");
        assert!(link.contains("kind=2"), "{link}");
        let pending = p.get(&link).await;
        assert!(pending.body.contains("広坂診療所"));
        assert!(
            !pending.body.contains("𠮷田クリニック"),
            "{link}: {}",
            pending.body
        );
        assert!(!pending.body.contains("七尾港クリニック"));
        // The counts stay those of all statuses.
        assert!(pending.body.contains("報告済：1 施設"), "{}", pending.body);
        let nanao = p.get("/prefecture/status?municipality=172022").await;
        assert!(nanao.body.contains("七尾港クリニック"));
        assert!(!nanao.body.contains("金沢中央病院"));
        assert!(nanao.body.contains("すべて：1 施設"));
        // 随時報告: none this 年度, and no 未報告 count for a report nobody owes.
        let changes = p.get("/prefecture/status?report=change").await;
        assert!(changes.body.contains("すべて：0 施設"), "{}", changes.body);
        assert!(!changes.body.contains("未報告："));
        // A value not from the page's own selects is refused, not ignored.
        let odd = p.get("/prefecture/status?status=drafting").await;
        assert_eq!(odd.status, StatusCode::BAD_REQUEST);

        // 奈良県's reviewer: 石川県 is refused; their own list has only theirs.
        let mut y = signed_in(
            &site,
            "pref29",
            &[prefecture_staff("29", StaffLevel::Reviewer)],
        )
        .await;
        for path in [
            "/prefecture/status?prefecture=17",
            "/prefecture/status.csv?prefecture=17",
            "/prefecture/dashboard?prefecture=17",
        ] {
            assert_eq!(y.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
        }
        let own = y.get("/prefecture/status").await;
        assert!(own.body.contains("奈良県立試験病院"), "{}", own.body);
        assert!(!own.body.contains("金沢中央病院"));

        // 保健所 staff of 七尾市 only: their 市区町村, and no other.
        let area = Membership::Prefecture {
            prefecture: PrefectureCode::parse("17").unwrap(),
            level: StaffLevel::ReadOnly,
            area: Area::Municipalities(vec![MunicipalityCode::parse("172022").unwrap()]),
        };
        let mut h = signed_in(&site, "hoken17", &[area]).await;
        let theirs = h.get("/prefecture/status").await;
        assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);
        assert!(theirs.body.contains("七尾港クリニック"));
        assert!(!theirs.body.contains("広坂診療所"));
        assert!(theirs.body.contains("すべて：1 施設"));
        // Read-only: the report, not the review.
        assert!(!theirs.body.contains("/review\""));
        let other = h.get("/prefecture/status?municipality=172014").await;
        assert_eq!(other.status, StatusCode::FORBIDDEN);

        // The operator chooses any prefecture; a facility's user has no list.
        let mut op = signed_in(&site, "operator", &[Membership::Operator]).await;
        let any = op.get("/prefecture/status?prefecture=17").await;
        assert!(any.body.contains("すべて：5 施設"), "{}", any.body);
        assert!(any.body.contains("id=\"f-prefecture\""));
        let mut f = signed_in(&site, "clerk", &[facility_admin(w.central)]).await;
        assert_eq!(
            f.get("/prefecture/status").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            f.download("/prefecture/status.csv").await.status,
            StatusCode::FORBIDDEN
        );
    })
    .await;
}

fn parse_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

async fn exports(store: &Store) -> Vec<serde_json::Value> {
    store
        .audit()
        .list(PrefectureCode::parse("17").ok(), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.event.action == "report_status.exported")
        .map(|r| r.event.detail.unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn the_csv_is_excel_ready_in_utf8_and_shift_jis() {
    on_each_backend(|site| async move {
        world(&site.store).await;
        let mut p = signed_in(
            &site,
            "pref17",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;
        let list = p.get("/prefecture/status").await;
        assert!(list.body.contains("encoding=utf8"), "{}", list.body);

        let utf8 = p.download("/prefecture/status.csv?encoding=utf8").await;
        assert_eq!(utf8.status, StatusCode::OK);
        assert_eq!(utf8.header("content-type"), "text/csv; charset=utf-8");
        let disposition = utf8.header("content-disposition");
        assert!(
            disposition.starts_with("attachment; filename=\"report-status-17-"),
            "{disposition}"
        );
        // 報告状況一覧_石川県_… in UTF-8, percent-encoded.
        assert!(
            disposition.contains("filename*=UTF-8''%E5%A0%B1%E5%91%8A%E7%8A%B6%E6%B3%81"),
            "{disposition}"
        );
        assert!(utf8.body.starts_with(&[0xEF, 0xBB, 0xBF]), "a BOM");
        let text = std::str::from_utf8(&utf8.body[3..]).unwrap();
        assert!(text.contains("\r\n"));
        let records = parse_csv(text);
        assert_eq!(
            records[0],
            [
                "機関コード",
                "機関区分",
                "名称",
                "市区町村コード",
                "市区町村",
                "報告区分",
                "年度",
                "報告状況",
                "報告日",
                "報告からの日数",
                "確認完了日",
                "代理入力"
            ]
        );
        let names: Vec<&str> = records[1..].iter().map(|r| r[2].as_str()).collect();
        assert_eq!(
            names,
            [
                "広坂診療所",
                "髙橋記念病院",
                "𠮷田クリニック",
                "七尾港クリニック",
                "金沢中央病院"
            ]
        );
        let yoshida = &records[3];
        assert_eq!(yoshida[0], "2170000001");
        assert_eq!(yoshida[1], "診療所");
        assert_eq!(yoshida[4], "金沢市");
        assert_eq!(yoshida[5], "定期報告");
        assert_eq!(yoshida[7], "報告済");
        assert_eq!(yoshida[9], "3");
        assert!(!records[5][10].is_empty(), "確認完了日 of the confirmed one");
        assert_eq!(records[1][7], "未報告");
        assert_eq!(records[1][8], "");

        // Shift_JIS of the hospitals: CP932, no BOM, the names round-trip.
        let sjis = p
            .download("/prefecture/status.csv?encoding=sjis&kind=1")
            .await;
        assert_eq!(sjis.status, StatusCode::OK);
        assert_eq!(sjis.header("content-type"), "text/csv; charset=Shift_JIS");
        assert!(sjis.header("content-disposition").contains("-sjis.csv\""));
        assert!(!sjis.body.starts_with(&[0xEF, 0xBB, 0xBF]));
        let (decoded, _, bad) = encoding_rs::SHIFT_JIS.decode(&sjis.body);
        assert!(!bad, "valid Shift_JIS");
        let records = parse_csv(&decoded);
        assert_eq!(records.len(), 3, "{records:?}");
        assert_eq!(records[0][2], "名称");
        assert_eq!(records[1][2], "髙橋記念病院");
        assert_eq!(records[2][2], "金沢中央病院");
        assert_eq!(records[2][7], "確認完了済");

        // 𠮷 is not in CP932: refused with where and what, and the UTF-8 file offered.
        let refused = p.get("/prefecture/status.csv?encoding=sjis").await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.body.contains(
                "4行目（機関コード 2170000001）の「名称」にある文字「𠮷」（U+20BB7）は Shift_JIS（CP932）で表せません。"
            ),
            "{}",
            refused.body
        );
        assert!(refused.body.contains("encoding=utf8"));
        assert!(refused.body.contains("UTF-8（BOM付き）形式のCSVをダウンロード"));

        // Two files went out, each audited with its filters and rows; the refusal is not.
        let audited = exports(&site.store).await;
        assert_eq!(audited.len(), 2, "{audited:?}");
        let hospitals = &audited[0];
        assert_eq!(hospitals["encoding"], "sjis");
        assert_eq!(hospitals["rows"], 2);
        assert_eq!(hospitals["filters"]["kind"], "1");
        assert_eq!(hospitals["filters"]["prefecture"], "17");
        assert_eq!(audited[1]["encoding"], "utf8");
        assert_eq!(audited[1]["rows"], 5);
        let trail = p.get("/audit").await;
        assert!(
            trail.body.contains("報告状況一覧のダウンロード"),
            "{}",
            trail.body
        );
    })
    .await;
}

/// Tags of each `<svg>…</svg>` open and close in order (what a browser needs to draw it).
fn svg_is_well_formed(body: &str) -> usize {
    let mut count = 0;
    let mut rest = body;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("the svg closes") + start + 6;
        let svg = &rest[start..end];
        let mut stack: Vec<String> = Vec::new();
        let mut s = svg;
        while let Some(open) = s.find('<') {
            let close = s[open..].find('>').expect("a closed tag") + open;
            let tag = &s[open + 1..close];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "in {svg}");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap_or_default();
                stack.push(name.to_owned());
            }
            s = &s[close + 1..];
        }
        assert!(stack.is_empty(), "{stack:?} left open in {svg}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=") && svg.contains("<desc id="));
        count += 1;
        rest = &rest[end..];
    }
    count
}

#[tokio::test]
async fn the_dashboard_shows_exact_shares_and_valid_svg() {
    on_each_backend(|site| async move {
        world(&site.store).await;
        let mut p = signed_in(
            &site,
            "pref17",
            &[prefecture_staff("17", StaffLevel::ReadOnly)],
        )
        .await;
        let page = p.get("/prefecture/dashboard").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let b = &page.body;
        // By kind: 対象, 未報告, 報告中, 報告済, 再報告済, 確認完了済, 報告率, 確認完了率.
        assert!(
            b.contains("<tr><th scope=\"row\">病院</th><td>2</td><td>0</td><td>1</td><td>0</td><td>0</td><td>1</td><td>50.0%</td><td>50.0%</td></tr>"),
            "{b}"
        );
        assert!(
            b.contains("<tr><th scope=\"row\">診療所</th><td>3</td><td>1</td><td>0</td><td>1</td><td>1</td><td>0</td><td>66.7%</td><td>0.0%</td></tr>"),
            "{b}"
        );
        assert!(
            b.contains("<th scope=\"row\">合計</th><td>5</td><td>1</td><td>1</td><td>1</td><td>1</td><td>1</td><td>60.0%</td><td>20.0%</td>"),
            "{b}"
        );
        // By 市区町村, each linking to its list.
        assert!(
            b.contains("金沢市</a></th><td>4</td><td>1</td><td>1</td><td>1</td><td>0</td><td>1</td><td>50.0%</td><td>25.0%</td>"),
            "{b}"
        );
        assert!(
            b.contains("七尾市</a></th><td>1</td><td>0</td><td>0</td><td>0</td><td>1</td><td>0</td><td>100.0%</td><td>0.0%</td>"),
            "{b}"
        );
        // The 市区町村 sorted by report rate: 金沢市 (50 %) before 七尾市 (100 %).
        let by_share = p.get("/prefecture/dashboard?sort=share").await;
        let table = &by_share.body[by_share.body.find("id=\"places-table\"").unwrap()..];
        assert!(table.find("金沢市").unwrap() < table.find("七尾市").unwrap());
        // Over the window: 1 of 5 reported three days ago, 3 today; 1 confirmed today.
        let window = &b[b.find("id=\"window-table\"").expect("the window's table")..];
        assert!(
            window.contains("<td>1</td><td>20.0%</td><td>0</td><td>0.0%</td>"),
            "{window}"
        );
        let last = &window[window.rfind("<tr>").unwrap()..];
        assert!(
            last.contains("<td>3</td><td>60.0%</td><td>1</td><td>20.0%</td>"),
            "{last}"
        );
        assert_eq!(svg_is_well_formed(b), 3);
        assert!(b.contains("報告率は 病院 50.0%、診療所 66.7%"), "{b}");
    })
    .await;
}
