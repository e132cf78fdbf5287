//! 一括メール配信 over HTTP: a reviewer composes a mail with placeholders for the facilities
//! that have not reported (an unknown placeholder is refused beside its field), counts and
//! previews it, confirms, and the worker sends it to exactly those facilities, each mail with
//! its own facility's values; 中止 half-way leaves the unsent mails unsent; two workers create
//! each recipient's mail once; staff of another prefecture, facility users, 閲覧のみ staff and a
//! 保健所 area each get what their scope allows; every step is in the audit trail. SQLite and,
//! with `TEIKYO_TEST_DATABASE_URL`, PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;
use chrono::Utc;
use teikyo_domain::account::{Area, Membership, StaffLevel};
use teikyo_domain::bulk_mail::BulkMailStatus;
use teikyo_domain::report::{ReportKind, Transition, fiscal_year_label, fiscal_year_of};
use teikyo_domain::{
    FacilityCode, FacilityKind, FacilityNames, FacilityRecord, MunicipalityCode, PrefectureCode,
};
use teikyo_mail::bulk_mail::{BulkMailSender, job};
use teikyo_store::{
    AuditEvent, BulkMailId, FacilityId, MailFilter, MailStatus, NewReport, Store,
    TransitionOutcome, TransitionRequest,
};
use teikyo_testkit::web::{
    Client, PASSWORD, Page, Site, create_user, on_each_backend, open_ishikawa_period,
    prefecture_staff,
};
use teikyo_worker::{Worker, WorkerConfig};

const NEW: &str = "/prefecture/bulk-mail/new";

fn today() -> chrono::NaiveDate {
    Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap())
        .date_naive()
}

/// A facility of `kind` in the municipality, stored.
async fn facility(
    store: &Store,
    kind: FacilityKind,
    name: &str,
    code: &str,
    municipality: &str,
) -> i64 {
    let m = MunicipalityCode::parse(municipality).unwrap();
    store
        .facilities()
        .insert(&FacilityRecord {
            kind,
            prefecture: m.prefecture(),
            municipality: m,
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
            address: format!("{}試験町1番1号", m.prefecture().name()),
            coordinates: None,
            homepage: None,
            opened_on: None,
            suspended_on: None,
            abolished_on: None,
        })
        .await
        .unwrap()
        .0
}

/// A user of the facility with its kind's 制度; their address is `<login>@test.example.jp`.
async fn clerk(store: &Store, login: &str, facility: i64) {
    let kind = store
        .facilities()
        .get(FacilityId(facility))
        .await
        .unwrap()
        .unwrap()
        .record
        .kind;
    create_user(
        store,
        login,
        &[Membership::Facility {
            facility_id: facility,
            admin: true,
            programs: vec![kind.program()],
        }],
    )
    .await;
}

fn address(login: &str) -> String {
    format!("{login}@test.example.jp")
}

/// This 年度's 定期報告 of the facility, taken through `steps`.
async fn report(store: &Store, facility: i64, steps: &[(Transition, Option<&str>)]) {
    let new = NewReport {
        facility_id: FacilityId(facility),
        kind: ReportKind::Periodic,
        fiscal_year: fiscal_year_of(today()),
        item_set: "test".into(),
        by: None,
        period_id: None,
        insurance_check: None,
        preset: Vec::new(),
    };
    let (mut r, _) = store
        .reports()
        .start(&new, AuditEvent::new("report.started", None), Utc::now())
        .await
        .unwrap();
    for (t, comment) in steps {
        let out = store
            .reports()
            .transition(
                &TransitionRequest {
                    report: r.id,
                    expected_version: r.version,
                    transition: *t,
                    by: None,
                    proxy: false,
                    comment: *comment,
                    required_sections: &[],
                    facility_dates: None,
                    follow_up: Vec::new(),
                },
                &AuditEvent::new("report.step", None),
                Utc::now(),
            )
            .await
            .unwrap();
        let TransitionOutcome::Done { report: Some(next) } = out else {
            panic!("{t:?}: {out:?}");
        };
        r = next;
    }
}

const SUBJECT: &str = "{年度}定期報告のお願い（{施設名}）";
const BODY: &str = "{施設名} ご担当者様\n\n機関コード: {機関コード}\n報告期限: {報告期限}\n現在の状況: {報告状況}\n\n{報告URL}\n";

/// The compose form's fields: every kind of `kinds`, the period and the statuses.
fn form<'a>(
    period: &'a str,
    kinds: &[&'a str],
    progress: &[&'a str],
    subject: &'a str,
    body: &'a str,
    action: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("prefecture", "17"),
        ("period", period),
        ("subject", subject),
        ("body", body),
        ("action", action),
    ];
    f.extend(kinds.iter().map(|k| ("kinds", *k)));
    f.extend(progress.iter().map(|p| ("progress", *p)));
    f
}

/// The send's id from a redirect to its page.
fn send_id(page: &Page) -> BulkMailId {
    let location = page.location.as_deref().unwrap_or_else(|| {
        panic!("a redirect to the send: {} {}", page.status, page.body);
    });
    let id = location
        .trim_start_matches("/prefecture/bulk-mail/")
        .split(['?', '/'])
        .next()
        .unwrap();
    BulkMailId(id.parse().unwrap_or_else(|_| panic!("{location}")))
}

/// Confirms the preview at `path` as shown (its counts), returning the answer.
async fn confirm(c: &mut Client, id: BulkMailId) -> Page {
    let preview = c.get(&format!("/prefecture/bulk-mail/{id}")).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let facilities = preview.input("facilities").expect("the counts");
    let addresses = preview.input("addresses").expect("the counts");
    c.post(
        &format!("/prefecture/bulk-mail/{id}/send"),
        &[
            ("confirm", "1"),
            ("facilities", &facilities),
            ("addresses", &addresses),
        ],
    )
    .await
}

/// Mails of the send per address, as queued.
async fn mails_of(store: &Store, id: BulkMailId) -> BTreeMap<String, Vec<teikyo_store::Mail>> {
    let mut out: BTreeMap<String, Vec<teikyo_store::Mail>> = BTreeMap::new();
    for m in store
        .mails()
        .list(&MailFilter::default(), 1000, 0)
        .await
        .unwrap()
    {
        if m.related == Some(("bulk_mail".into(), id.0.to_string())) {
            out.entry(m.to.clone()).or_default().push(m);
        }
    }
    out
}

#[tokio::test]
async fn a_reviewer_mails_the_facilities_that_have_not_reported() {
    on_each_backend(|site| async move {
        let store = &site.store;
        let period = open_ishikawa_period(store).await.to_string();
        let a = facility(
            store,
            FacilityKind::Clinic,
            "広坂未報告クリニック",
            "1710000001",
            "172014",
        )
        .await;
        let b = facility(
            store,
            FacilityKind::Clinic,
            "広坂報告済クリニック",
            "1710000002",
            "172014",
        )
        .await;
        let c = facility(
            store,
            FacilityKind::Hospital,
            "差戻し病院",
            "1710000003",
            "172014",
        )
        .await;
        let d = facility(
            store,
            FacilityKind::Clinic,
            "連絡先なし診療所",
            "1710000004",
            "172022",
        )
        .await;
        let e = facility(
            store,
            FacilityKind::Clinic,
            "報告中クリニック",
            "1710000005",
            "172014",
        )
        .await;
        let nara = facility(
            store,
            FacilityKind::Clinic,
            "奈良未報告医院",
            "2910000001",
            "292010",
        )
        .await;
        clerk(store, "clerka1", a).await;
        clerk(store, "clerka2", a).await;
        clerk(store, "clerkb", b).await;
        clerk(store, "clerkc", c).await;
        clerk(store, "clerke", e).await;
        clerk(store, "clerknara", nara).await;
        report(store, b, &[(Transition::Submit, None)]).await;
        report(
            store,
            c,
            &[
                (Transition::Submit, None),
                (Transition::Return, Some("病床数をご確認ください。")),
            ],
        )
        .await;
        report(store, e, &[]).await;
        let _ = d;
        create_user(
            store,
            "ken17",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;
        let mut staff = site.client();
        staff.login("ken17", PASSWORD).await;

        let home = staff.get("/home").await;
        assert!(
            home.body.contains("href=\"/prefecture/bulk-mail\""),
            "{}",
            home.body
        );
        let list = staff.get("/prefecture/bulk-mail").await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(
            list.body.contains("一括メールはまだありません"),
            "{}",
            list.body
        );
        let new = staff.get(NEW).await;
        assert_eq!(new.status, StatusCode::OK, "{}", new.body);
        for placeholder in [
            "{施設名}",
            "{機関コード}",
            "{報告期限}",
            "{都道府県名}",
            "{ログインURL}",
        ] {
            assert!(
                new.body.contains(placeholder),
                "{placeholder}: {}",
                new.body
            );
        }
        assert!(
            new.body
                .contains(&format!("<option value=\"{period}\" selected>")),
            "the running period is chosen: {}",
            new.body
        );

        // An unknown placeholder is refused beside the body, the form kept as typed.
        let typo = "{施設名称} ご担当者様";
        let wrong = staff
            .post(
                NEW,
                &form(&period, &["2"], &["not_reported"], SUBJECT, typo, "preview"),
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        let message = "本文の差し込み項目 {施設名称} はありません。";
        assert!(wrong.body.contains(message), "{}", wrong.body);
        let beside = wrong.body.find("<label for=\"b-body\">").unwrap();
        assert!(
            wrong.body[beside..].find(message).unwrap()
                < wrong.body[beside..].find("<textarea").unwrap(),
            "the message stands beside the body field"
        );
        assert!(wrong.body.contains(typo), "{}", wrong.body);
        assert!(
            store
                .bulk_mails()
                .list(PrefectureCode::new(17).unwrap(), 10)
                .await
                .unwrap()
                .is_empty()
        );

        // The counts: 未報告 and 差戻し among 病院・診療所; the clinic without users counts as
        // 送信先なし.
        let kinds = ["1", "2"];
        let chase = ["not_reported", "returned"];
        let counted = staff
            .post(NEW, &form(&period, &kinds, &chase, SUBJECT, BODY, "count"))
            .await;
        assert_eq!(counted.status, StatusCode::OK, "{}", counted.body);
        assert!(
            counted
                .body
                .contains("3 施設（メールアドレス 3 件）が条件に当てはまります。うち 1 施設は"),
            "{}",
            counted.body
        );

        let saved = staff
            .post(
                NEW,
                &form(&period, &kinds, &chase, SUBJECT, BODY, "preview"),
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let id = send_id(&saved);
        let fy = fiscal_year_label(fiscal_year_of(today()));
        let preview = staff.get(&format!("/prefecture/bulk-mail/{id}")).await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert!(preview.body.contains("作成中"), "{}", preview.body);
        assert!(
            preview.body.contains(&format!(
                "【Teikyo事務局】{fy}定期報告のお願い（広坂未報告クリニック）"
            )),
            "the first recipient's mail, as sent: {}",
            preview.body
        );
        assert!(
            preview.body.contains("現在の状況: 未報告"),
            "{}",
            preview.body
        );
        assert!(
            preview.body.contains("機関コード: 1710000001"),
            "{}",
            preview.body
        );
        assert!(
            preview
                .body
                .contains("このメールは、石川県が医療機関・薬局の皆様へ一括でお送りしています。")
        );
        assert!(
            preview.body.contains("送信先なし（1 施設）"),
            "{}",
            preview.body
        );
        assert!(
            preview.body.contains("連絡先なし診療所（1710000004）"),
            "{}",
            preview.body
        );
        assert!(
            !preview.body.contains("広坂報告済クリニック"),
            "{}",
            preview.body
        );
        // Another recipient's preview.
        let other = staff
            .get(&format!("/prefecture/bulk-mail/{id}?facility={c}"))
            .await;
        assert!(
            other.body.contains("定期報告のお願い（差戻し病院）"),
            "{}",
            other.body
        );
        assert!(other.body.contains("現在の状況: 差戻し"), "{}", other.body);

        // Sending needs the confirmation.
        let unconfirmed = staff
            .post(
                &format!("/prefecture/bulk-mail/{id}/send"),
                &[("facilities", "3"), ("addresses", "3")],
            )
            .await;
        assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            unconfirmed
                .body
                .contains("「この内容で送信します」にチェックを入れてください。")
        );
        // Counts that no longer hold (another tab, a facility that reported since) are refused.
        let stale = staff
            .post(
                &format!("/prefecture/bulk-mail/{id}/send"),
                &[("confirm", "1"), ("facilities", "4"), ("addresses", "3")],
            )
            .await;
        assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            stale.body.contains(
                "プレビューの後で送信先が変わりました（現在 3 施設・メールアドレス 3 件）"
            ),
            "{}",
            stale.body
        );
        assert!(mails_of(store, id).await.is_empty());

        let sent = confirm(&mut staff, id).await;
        assert_eq!(
            sent.location.as_deref(),
            Some(format!("/prefecture/bulk-mail/{id}?done=started").as_str()),
            "{}",
            sent.body
        );
        // A second click (the preview's form, sent again) does not send twice.
        let again = staff
            .post(
                &format!("/prefecture/bulk-mail/{id}/send"),
                &[("confirm", "1"), ("facilities", "3"), ("addresses", "3")],
            )
            .await;
        assert_eq!(
            again.location.as_deref(),
            Some(format!("/prefecture/bulk-mail/{id}").as_str()),
            "to the started send's page: {}",
            again.body
        );
        site.run_jobs().await;

        // Exactly the chased facilities, each mail with its own facility's values.
        for (login, name, code, status) in [
            ("clerka1", "広坂未報告クリニック", "1710000001", "未報告"),
            ("clerka2", "広坂未報告クリニック", "1710000001", "未報告"),
            ("clerkc", "差戻し病院", "1710000003", "差戻し"),
        ] {
            let got = site.mails_to(&address(login));
            assert_eq!(got.len(), 1, "{login}: {got:?}");
            let m = &got[0];
            assert_eq!(
                m.subject,
                format!("【Teikyo事務局】{fy}定期報告のお願い（{name}）")
            );
            assert!(
                m.body.starts_with(&format!("{name} ご担当者様")),
                "{}",
                m.body
            );
            assert!(
                m.body.contains(&format!("機関コード: {code}")),
                "{}",
                m.body
            );
            assert!(
                m.body.contains(&format!("現在の状況: {status}")),
                "{}",
                m.body
            );
            assert!(m.body.contains("報告期限: 20"), "{}", m.body);
            assert!(
                m.body.contains("（"),
                "the deadline carries its weekday: {}",
                m.body
            );
            let facility = if login == "clerkc" { c } else { a };
            assert!(
                m.body
                    .contains(&format!("https://teikyo.test/facility/{facility}/report")),
                "{}",
                m.body
            );
            assert!(
                !m.body.contains('{'),
                "every placeholder replaced: {}",
                m.body
            );
        }
        for login in ["clerkb", "clerke", "clerknara"] {
            assert!(site.mails_to(&address(login)).is_empty(), "{login}");
        }
        assert_eq!(site.mails().len(), 3);

        let done = staff.get(&format!("/prefecture/bulk-mail/{id}")).await;
        assert_eq!(done.status, StatusCode::OK);
        assert!(
            done.body.contains("bulk-status-done\">完了"),
            "{}",
            done.body
        );
        assert!(done.body.contains("送信完了</span>: 3 件"), "{}", done.body);
        assert!(done.body.contains(">送信先なし<"), "{}", done.body);
        assert!(
            done.body.contains("clerka2@test.example.jp"),
            "{}",
            done.body
        );
        assert!(
            !done.body.contains("中止する"),
            "nothing left to stop: {}",
            done.body
        );
        let list = staff.get("/prefecture/bulk-mail").await;
        assert!(list.body.contains("3 施設・3 件"), "{}", list.body);
        let log = staff.get("/mail/log?kind=bulk_mail").await;
        assert!(log.body.contains("一括メール配信"), "{}", log.body);

        // Audited: drafted, started with its filter and counts, finished.
        let events = store
            .audit()
            .list(PrefectureCode::new(17), 50)
            .await
            .unwrap();
        let started = events
            .iter()
            .find(|e| e.event.action == "bulk_mail.started")
            .expect("the start is audited");
        let detail = started.event.detail.clone().unwrap();
        assert_eq!(detail["facilities"], 3);
        assert_eq!(detail["addresses"], 3);
        assert_eq!(detail["unreachable"], 1);
        assert_eq!(
            detail["filter"]["progress"],
            serde_json::json!(["not_reported", "returned"])
        );
        assert_eq!(detail["filter"]["kinds"], serde_json::json!([1, 2]));
        assert_eq!(
            started.event.target,
            Some(("bulk_mail".into(), id.0.to_string()))
        );
        let audit = staff.get("/audit").await;
        for label in [
            "一括メールの作成",
            "一括メールの送信開始",
            "一括メールの作成完了",
        ] {
            assert!(audit.body.contains(label), "{label}: {}", audit.body);
        }
    })
    .await;
}

/// Five clinics, each with one clerk, and a whole-prefecture reviewer signed in.
async fn five_clinics(site: &Site) -> (Client, String, Vec<String>) {
    let store = &site.store;
    let period = open_ishikawa_period(store).await.to_string();
    let mut logins = Vec::new();
    for n in 1..=5 {
        let f = facility(
            store,
            FacilityKind::Clinic,
            &format!("第{n}クリニック"),
            &format!("17200000{n:02}"),
            "172014",
        )
        .await;
        let login = format!("clinic{n:02}");
        clerk(store, &login, f).await;
        logins.push(login);
    }
    create_user(
        store,
        "ken17",
        &[prefecture_staff("17", StaffLevel::Reviewer)],
    )
    .await;
    let mut staff = site.client();
    staff.login("ken17", PASSWORD).await;
    (staff, period, logins)
}

async fn started_send(staff: &mut Client, period: &str) -> BulkMailId {
    staff.get(NEW).await;
    let saved = staff
        .post(
            NEW,
            &form(
                period,
                &["2"],
                &[],
                "{施設名}へのお知らせ",
                "{施設名} ご担当者様",
                "preview",
            ),
        )
        .await;
    let id = send_id(&saved);
    let sent = confirm(staff, id).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    id
}

#[tokio::test]
async fn stopping_half_way_leaves_the_unsent_mails_unsent() {
    on_each_backend(|site| async move {
        let (mut staff, period, _) = five_clinics(&site).await;
        let id = started_send(&mut staff, &period).await;
        let store = &site.store;
        let sender = BulkMailSender::new(site.templates.clone()).with_batch(2);
        // Two mails made and delivered, two more made, one recipient not reached yet.
        sender.run_batch(store, id).await.unwrap();
        assert_eq!(
            site.deliver_mails().await,
            1,
            "one delivery job for the batch"
        );
        sender.run_batch(store, id).await.unwrap();
        assert_eq!(site.mails().len(), 2);
        let page = staff.get(&format!("/prefecture/bulk-mail/{id}")).await;
        assert!(
            page.body.contains("bulk-status-sending\">送信中"),
            "{}",
            page.body
        );
        assert!(page.body.contains("作成待ち</span>: 1 件"), "{}", page.body);
        assert!(page.body.contains("送信待ち</span>: 2 件"), "{}", page.body);
        assert!(page.body.contains("送信完了</span>: 2 件"), "{}", page.body);
        assert!(
            page.body.contains("value=\"4\""),
            "the creation bar: {}",
            page.body
        );
        assert!(
            page.body.contains("秒ごとに自動で更新する"),
            "{}",
            page.body
        );
        let refreshing = staff
            .get(&format!("/prefecture/bulk-mail/{id}?refresh=on"))
            .await;
        assert!(
            refreshing.body.contains("http-equiv=\"refresh\""),
            "{}",
            refreshing.body
        );
        assert!(
            !page.body.contains("http-equiv=\"refresh\""),
            "only when asked for"
        );

        let cancel = format!("/prefecture/bulk-mail/{id}/cancel");
        let unconfirmed = staff.post(&cancel, &[]).await;
        assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            unconfirmed
                .body
                .contains("「送信を中止します」にチェックを入れてください。")
        );
        let stopped = staff.post(&cancel, &[("confirm", "1")]).await;
        assert_eq!(
            stopped.location.as_deref(),
            Some(format!("/prefecture/bulk-mail/{id}?done=cancelled").as_str())
        );
        // The send's job and the queued mails' job run: nothing more goes out.
        site.run_jobs().await;
        assert_eq!(site.mails().len(), 2, "{:?}", site.mails());
        let by_status: Vec<MailStatus> = mails_of(store, id)
            .await
            .values()
            .flatten()
            .map(|m| m.status)
            .collect();
        assert_eq!(by_status.len(), 4);
        assert_eq!(
            by_status
                .iter()
                .filter(|s| **s == MailStatus::Delivered)
                .count(),
            2
        );
        assert_eq!(
            by_status
                .iter()
                .filter(|s| **s == MailStatus::Cancelled)
                .count(),
            2
        );
        let send = store.bulk_mails().get(id).await.unwrap().unwrap();
        assert_eq!(send.status, BulkMailStatus::Cancelled);
        assert_eq!(send.created_mails, 4);

        let page = staff.get(&format!("/prefecture/bulk-mail/{id}")).await;
        assert!(
            page.body.contains("bulk-status-cancelled\">中止"),
            "{}",
            page.body
        );
        assert!(page.body.contains("中止</span>: 2 件"), "{}", page.body);
        assert!(
            page.body.contains("未作成（中止）</span>: 1 件"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("中止する"), "{}", page.body);
        let again = staff.post(&cancel, &[("confirm", "1")]).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            again
                .body
                .contains("この一括メールは既に中止されています。"),
            "{}",
            again.body
        );
        let events = store
            .audit()
            .list(PrefectureCode::new(17), 50)
            .await
            .unwrap();
        let cancelled = events
            .iter()
            .find(|e| e.event.action == "bulk_mail.cancelled")
            .expect("中止 is audited");
        assert_eq!(cancelled.event.detail.clone().unwrap()["stopped_mails"], 2);
        assert_eq!(cancelled.event.actor, Some(staff_id(store, "ken17").await));
    })
    .await;
}

async fn staff_id(store: &Store, login: &str) -> teikyo_store::UserId {
    store
        .users()
        .find_by_login_id(&teikyo_domain::account::LoginId::parse(login).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_create_each_recipients_mail_once() {
    on_each_backend(|site| async move {
        let (mut staff, period, logins) = five_clinics(&site).await;
        let id = started_send(&mut staff, &period).await;
        let store = &site.store;
        // The send's own job and a second one for it (a retry, a doubled enqueue).
        store.jobs().enqueue(&job(id)).await.unwrap();
        let handler = Arc::new(BulkMailSender::new(site.templates.clone()).with_batch(1));
        let runs: Vec<_> = ["bulk-a", "bulk-b"]
            .into_iter()
            .map(|name| {
                let w = Worker::new(store.clone(), name, WorkerConfig::default())
                    .with_handler(handler.clone());
                tokio::spawn(async move { w.run_until_idle().await })
            })
            .collect();
        let mut outcomes = 0;
        for r in runs {
            for o in r.await.unwrap().unwrap() {
                assert_eq!(o.status, teikyo_store::JobStatus::Done, "{o:?}");
                outcomes += 1;
            }
        }
        assert_eq!(outcomes, 2, "both jobs ran");
        let mails = mails_of(store, id).await;
        assert_eq!(mails.len(), 5, "{mails:?}");
        for login in &logins {
            assert_eq!(mails[&address(login)].len(), 1, "{login}");
        }
        let send = store.bulk_mails().get(id).await.unwrap().unwrap();
        assert_eq!((send.status, send.created_mails), (BulkMailStatus::Done, 5));
        site.run_jobs().await;
        assert_eq!(site.mails().len(), 5);
    })
    .await;
}

#[tokio::test]
async fn each_scope_sees_and_stops_only_its_own() {
    on_each_backend(|site| async move {
        let store = &site.store;
        let period = open_ishikawa_period(store).await.to_string();
        let kanazawa = facility(
            store,
            FacilityKind::Clinic,
            "金沢の診療所",
            "1730000001",
            "172014",
        )
        .await;
        let nanao = facility(
            store,
            FacilityKind::Clinic,
            "七尾の診療所",
            "1730000002",
            "172022",
        )
        .await;
        clerk(store, "kzclerk", kanazawa).await;
        clerk(store, "nnclerk", nanao).await;
        create_user(
            store,
            "ken17",
            &[prefecture_staff("17", StaffLevel::Reviewer)],
        )
        .await;
        create_user(
            store,
            "ken29",
            &[prefecture_staff("29", StaffLevel::Reviewer)],
        )
        .await;
        create_user(
            store,
            "etsuran",
            &[prefecture_staff("17", StaffLevel::ReadOnly)],
        )
        .await;
        create_user(
            store,
            "hokenjo",
            &[Membership::Prefecture {
                prefecture: PrefectureCode::new(17).unwrap(),
                level: StaffLevel::Reviewer,
                area: Area::Municipalities(vec![MunicipalityCode::parse("172022").unwrap()]),
            }],
        )
        .await;
        create_user(store, "unyo", &[Membership::Operator]).await;
        let mut ken = site.client();
        ken.login("ken17", PASSWORD).await;
        ken.get(NEW).await;
        let saved = ken
            .post(
                NEW,
                &form(
                    &period,
                    &["2"],
                    &[],
                    "お知らせ",
                    "{施設名} ご担当者様",
                    "preview",
                ),
            )
            .await;
        let id = send_id(&saved);
        let show = format!("/prefecture/bulk-mail/{id}");
        let cancel = format!("{show}/cancel");
        let send = format!("{show}/send");

        // Another prefecture's staff: it does not exist for them.
        let mut other = site.client();
        other.login("ken29", PASSWORD).await;
        other.get("/home").await;
        assert_eq!(other.get(&show).await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            other.post(&cancel, &[("confirm", "1")]).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            other.post(&send, &[("confirm", "1")]).await.status,
            StatusCode::NOT_FOUND
        );
        let theirs = other.get("/prefecture/bulk-mail").await;
        assert!(!theirs.body.contains("お知らせ</a>"), "{}", theirs.body);
        assert_eq!(
            other
                .get("/prefecture/bulk-mail?prefecture=17")
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        // A facility's user: not a page for them.
        let mut clinic = site.client();
        clinic.login("kzclerk", PASSWORD).await;
        clinic.get("/home").await;
        for path in ["/prefecture/bulk-mail", NEW, show.as_str()] {
            assert_eq!(
                clinic.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
        assert_eq!(
            clinic.post(&cancel, &[("confirm", "1")]).await.status,
            StatusCode::FORBIDDEN
        );
        // 閲覧のみ: looks, changes nothing.
        let mut reader = site.client();
        reader.login("etsuran", PASSWORD).await;
        assert_eq!(reader.get(&show).await.status, StatusCode::OK);
        let list = reader.get("/prefecture/bulk-mail").await;
        assert!(
            list.body.contains("担当者・管理者が行います"),
            "{}",
            list.body
        );
        assert_eq!(reader.get(NEW).await.status, StatusCode::FORBIDDEN);
        assert_eq!(
            reader.post(&send, &[("confirm", "1")]).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            reader.post(&cancel, &[("confirm", "1")]).await.status,
            StatusCode::FORBIDDEN
        );

        // A 保健所 area: composes for its area only and cannot stop a whole-prefecture send.
        let mut area = site.client();
        area.login("hokenjo", PASSWORD).await;
        let new = area.get(NEW).await;
        assert!(new.body.contains("七尾市"), "{}", new.body);
        assert!(!new.body.contains("金沢市"), "{}", new.body);
        let counted = area
            .post(
                NEW,
                &form(&period, &["2"], &[], "お知らせ", "本文", "count"),
            )
            .await;
        assert!(
            counted.body.contains("1 施設（メールアドレス 1 件）"),
            "{}",
            counted.body
        );
        let outside = area
            .post(
                NEW,
                &[
                    ("prefecture", "17"),
                    ("kinds", "2"),
                    ("municipalities", "172014"),
                    ("subject", "お知らせ"),
                    ("body", "本文"),
                    ("action", "count"),
                ],
            )
            .await;
        assert_eq!(outside.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            outside
                .body
                .contains("担当区域の外の市区町村には送信できません。")
        );
        assert_eq!(
            area.post(&cancel, &[("confirm", "1")]).await.status,
            StatusCode::FORBIDDEN
        );

        // The whole-prefecture send goes out; the area sees its own recipients only.
        assert_eq!(confirm(&mut ken, id).await.status, StatusCode::SEE_OTHER);
        site.run_jobs().await;
        let seen = area.get(&show).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(
            seen.body.contains("nnclerk@test.example.jp"),
            "{}",
            seen.body
        );
        assert!(
            !seen.body.contains("kzclerk@test.example.jp"),
            "{}",
            seen.body
        );
        assert!(
            seen.body
                .contains("担当区域の医療機関・薬局だけを表示しています。")
        );
        // The operator sees any prefecture's.
        let mut operator = site.client();
        operator.login("unyo", PASSWORD).await;
        let op = operator.get(&show).await;
        assert!(
            op.body.contains("kzclerk@test.example.jp")
                && op.body.contains("nnclerk@test.example.jp")
        );
        assert_eq!(
            operator
                .get("/prefecture/bulk-mail/new?prefecture=29")
                .await
                .status,
            StatusCode::OK
        );
    })
    .await;
}
