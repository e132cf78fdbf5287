//! The prefecture's side of 新規ユーザ登録申請 over HTTP, with mails read from the in-memory
//! transport: 却下 with a reason, the three issuance cases of approval, the first password from
//! the 利用案内メール, 代理申請 for a facility without e-mail, the next-business-day schedule,
//! and the scope (another prefecture's application does not exist; read-only staff cannot
//! decide).

use axum::http::StatusCode;
use chrono::Utc;
use teikyo_account::review::IssueTiming;
use teikyo_domain::account::{Membership, StaffLevel};
use teikyo_domain::registration::ApplicationForm;
use teikyo_domain::{
    FacilityCode, FacilityKind, FacilityNames, FacilityRecord, InsuranceCode, MunicipalityCode,
    PrefectureCode, Program,
};
use teikyo_store::{MailFilter, MailStatus, RegistrationId, Store};
use teikyo_testkit::web::{
    Client, PASSWORD, SITE_URL, Site, create_user, facility_admin, on_each_backend_with,
    prefecture_staff,
};

fn form(name: &str, insurance: &str) -> ApplicationForm {
    ApplicationForm {
        facility_name: name.into(),
        facility_code: String::new(),
        kind: "2".into(),
        discriminator: "medical".into(),
        phone: "076-220-2211".into(),
        insurance_code: insurance.into(),
        postal_code: "9200962".into(),
        prefecture: "17".into(),
        municipality: "172014".into(),
        town: "広坂1丁目1番1号".into(),
        building: String::new(),
        department: "事務部".into(),
        family_name: "金沢".into(),
        given_name: "花子".into(),
        department_phone: "076-220-2212".into(),
    }
}

/// A submitted application (the applicant's HTTP flow is `registration.rs`'s subject).
async fn submitted(store: &Store, email: &str, f: &ApplicationForm) -> RegistrationId {
    let regs = store.registrations();
    let now = Utc::now();
    let id = regs.create(email, now).await.unwrap();
    let browser = format!("browser-{}", id.0);
    regs.confirm_pending_browser(id, &browser, now)
        .await
        .unwrap();
    regs.confirm_email(id, &browser, now).await.unwrap();
    regs.save_form(id, f, PrefectureCode::parse("17").ok(), now)
        .await
        .unwrap();
    regs.consent(id, now).await.unwrap();
    regs.submit(id, now).await.unwrap().unwrap();
    id
}

async fn existing_clinic(store: &Store, insurance: &str) -> i64 {
    store
        .facilities()
        .insert(&FacilityRecord {
            kind: FacilityKind::Clinic,
            prefecture: PrefectureCode::parse("17").unwrap(),
            municipality: MunicipalityCode::parse("172014").unwrap(),
            facility_code: Some(FacilityCode::parse("1700000777").unwrap()),
            insurance_codes: vec![InsuranceCode::parse(insurance).unwrap()],
            names: FacilityNames {
                official: "既存クリニック".into(),
                official_kana: "キソンクリニック".into(),
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
        })
        .await
        .unwrap()
        .0
}

async fn signed_in(site: &Site, login: &str, m: Membership) -> Client {
    create_user(&site.store, login, &[m]).await;
    let mut c = site.client();
    assert_eq!(c.login(login, PASSWORD).await.status, StatusCode::SEE_OTHER);
    c
}

#[tokio::test]
async fn rejection_mails_the_reason_and_the_applicant_may_apply_again() {
    on_each_backend_with(IssueTiming::Immediately, |site| async move {
        let id = submitted(
            &site.store,
            "reject@clinic.example.jp",
            &form("却下クリニック", "1710112341"),
        )
        .await;
        let mut pref = signed_in(
            &site,
            "pref17",
            prefecture_staff("17", StaffLevel::Reviewer),
        )
        .await;
        let list = pref.get("/review/applications").await;
        assert!(list.body.contains("却下クリニック"), "{}", list.body);
        let detail = pref.get(&format!("/review/applications/{}", id.0)).await;
        assert!(
            detail
                .body
                .contains("一致する施設は、施設の一覧にありません"),
            "{}",
            detail.body
        );
        // A reason is required.
        let res = pref
            .post(
                &format!("/review/applications/{}/reject", id.0),
                &[("reason", " ")],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            res.body.contains("却下の理由を入力してください。"),
            "{}",
            res.body
        );
        let res = pref
            .post(
                &format!("/review/applications/{}/reject", id.0),
                &[(
                    "reason",
                    "機関コードが誤っています。機関コード一覧をご確認ください。",
                )],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let detail = pref.get(&format!("/review/applications/{}", id.0)).await;
        assert!(
            detail.body.contains("状態：<strong>却下</strong>"),
            "{}",
            detail.body
        );
        assert!(!detail.body.contains("/approve"), "no second decision");
        // Deciding again is refused.
        let res = pref
            .post(&format!("/review/applications/{}/approve", id.0), &[])
            .await;
        assert!(
            res.body.contains("既に承認または却下されています"),
            "{}",
            res.body
        );

        site.run_jobs().await;
        let mails = site.mails_to("reject@clinic.example.jp");
        assert_eq!(mails.len(), 1);
        // The decision is in the prefecture's audit trail, with who made it.
        let audit = pref.get("/audit").await;
        assert!(audit.body.contains("申請の却下"), "{}", audit.body);
        assert!(audit.body.contains("pref17"), "{}", audit.body);
        // Another prefecture's staff do not see it.
        let mut nara = signed_in(&site, "pref29a", prefecture_staff("29", StaffLevel::Admin)).await;
        assert!(!nara.get("/audit").await.body.contains("申請の却下"));
        assert!(
            mails[0].body.contains("機関コードが誤っています。"),
            "{}",
            mails[0].body
        );
        assert!(
            mails[0].body.contains(&format!("{SITE_URL}/apply")),
            "{}",
            mails[0].body
        );
        // Applying again is possible: a new application for the same address.
        submitted(
            &site.store,
            "reject@clinic.example.jp",
            &form("却下クリニック", "1710112341"),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn approval_of_a_new_facility_issues_an_account_and_the_setup_link_sets_the_password() {
    on_each_backend_with(IssueTiming::Immediately, |site| async move {
        let email = "new@clinic.example.jp";
        let id = submitted(&site.store, email, &form("新設クリニック", "1710112341")).await;
        let mut pref = signed_in(
            &site,
            "pref17b",
            prefecture_staff("17", StaffLevel::Reviewer),
        )
        .await;
        pref.get(&format!("/review/applications/{}", id.0)).await;
        let res = pref
            .post(&format!("/review/applications/{}/approve", id.0), &[])
            .await;
        assert_eq!(res.status, StatusCode::OK);
        assert!(
            res.body.contains("新しいアカウントを発行しました"),
            "{}",
            res.body
        );
        site.run_jobs().await;
        let mails = site.mails_to(email);
        assert_eq!(mails.len(), 2, "{mails:?}");
        assert!(
            mails.iter().any(|m| m.subject.contains("事前のご連絡")),
            "{mails:?}"
        );
        let ready = mails
            .iter()
            .find(|m| m.subject.contains("パスワード設定のご依頼"))
            .expect("the 利用案内メール");
        let login_id = ready
            .body
            .lines()
            .find_map(|l| l.strip_prefix("ログインID: "))
            .unwrap()
            .trim()
            .to_owned();
        let link = ready.link(&format!("{SITE_URL}/s/")).unwrap();

        // The facility's clerk sets the password from the mail and lands home, signed in.
        let mut clerk = site.client();
        let page = clerk.get(&link).await;
        assert!(page.body.contains(&login_id), "{}", page.body);
        let res = clerk
            .post(
                &link,
                &[("password", "Hajime2026"), ("confirm", "Hajime2026")],
            )
            .await;
        assert_eq!(res.location.as_deref(), Some("/home?done=password"));
        let home = clerk.get("/home").await;
        assert!(home.body.contains("新設クリニック"), "{}", home.body);
        assert!(
            !home.body.contains("権限が付与されていません"),
            "{}",
            home.body
        );
        // And can log in with it later, typed in capitals.
        assert_eq!(
            site.client()
                .login(&login_id.to_uppercase(), "Hajime2026")
                .await
                .status,
            StatusCode::SEE_OTHER
        );
    })
    .await;
}

#[tokio::test]
async fn approval_for_a_facility_with_a_permitted_account_issues_nothing() {
    on_each_backend_with(IssueTiming::Immediately, |site| async move {
        let f = existing_clinic(&site.store, "1710112341").await;
        create_user(&site.store, "existing1", &[facility_admin(f)]).await;
        let id = submitted(
            &site.store,
            "again@clinic.example.jp",
            &form("既存クリニック", "1710112341"),
        )
        .await;
        let mut pref = signed_in(&site, "pref17c", prefecture_staff("17", StaffLevel::Admin)).await;
        let detail = pref.get(&format!("/review/applications/{}", id.0)).await;
        assert!(
            detail
                .body
                .contains("保険機関コードが一致する施設があります"),
            "{}",
            detail.body
        );
        assert!(
            detail.body.contains("existing1（この制度の権限あり）"),
            "{}",
            detail.body
        );
        let res = pref
            .post(&format!("/review/applications/{}/approve", id.0), &[])
            .await;
        assert!(
            res.body
                .contains("アカウントは発行せず、メールも送信していません"),
            "{}",
            res.body
        );
        site.run_jobs().await;
        assert!(site.mails().is_empty(), "no mail: {:?}", site.mails());
    })
    .await;
}

#[tokio::test]
async fn approval_for_an_account_without_the_right_adds_it_and_asks_to_check() {
    on_each_backend_with(IssueTiming::Immediately, |site| async move {
        let f = existing_clinic(&site.store, "1710112341").await;
        create_user(
            &site.store,
            "covid01",
            &[Membership::Facility {
                facility_id: f,
                admin: true,
                programs: vec![],
            }],
        )
        .await;
        // Before: the home screen says the right is missing and what to do.
        let mut clerk = site.client();
        clerk.login("covid01", PASSWORD).await;
        let home = clerk.get("/home").await;
        assert!(
            home.body
                .contains("医療機能情報提供制度の報告を開始する権限が付与されていません。"),
            "{}",
            home.body
        );
        let id = submitted(
            &site.store,
            "covid@clinic.example.jp",
            &form("既存クリニック", "1710112341"),
        )
        .await;
        let mut pref = signed_in(
            &site,
            "pref17d",
            prefecture_staff("17", StaffLevel::Reviewer),
        )
        .await;
        pref.get(&format!("/review/applications/{}", id.0)).await;
        let res = pref
            .post(&format!("/review/applications/{}/approve", id.0), &[])
            .await;
        assert!(
            res.body
                .contains("既存のアカウントに報告の権限を追加しました"),
            "{}",
            res.body
        );
        site.run_jobs().await;
        let mails = site.mails_to("covid01@test.example.jp");
        assert_eq!(mails.len(), 1, "{:?}", site.mails());
        assert!(
            mails[0].subject.contains("ご利用者の確認依頼"),
            "{}",
            mails[0].subject
        );
        assert!(mails[0].body.contains("covid01"), "{}", mails[0].body);
        let home = clerk.get("/home").await;
        assert!(
            !home.body.contains("権限が付与されていません"),
            "{}",
            home.body
        );
    })
    .await;
}

#[tokio::test]
async fn the_account_mail_waits_for_the_next_business_morning() {
    on_each_backend_with(IssueTiming::NextBusinessDay, |site| async move {
        let id = submitted(
            &site.store,
            "later@clinic.example.jp",
            &form("翌営業日クリニック", "1710112341"),
        )
        .await;
        let mut pref = signed_in(
            &site,
            "pref17e",
            prefecture_staff("17", StaffLevel::Reviewer),
        )
        .await;
        pref.get(&format!("/review/applications/{}", id.0)).await;
        let res = pref
            .post(&format!("/review/applications/{}/approve", id.0), &[])
            .await;
        assert!(
            res.body.contains("利用案内メールの送信予定："),
            "{}",
            res.body
        );
        site.run_jobs().await;
        let mails = site.mails_to("later@clinic.example.jp");
        assert_eq!(mails.len(), 1, "only the 事前確認メール today: {mails:?}");
        let waiting = site
            .store
            .mails()
            .list(
                &MailFilter {
                    status: Some(MailStatus::Queued),
                    ..MailFilter::default()
                },
                10,
                0,
            )
            .await
            .unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].template, "account_ready");
    })
    .await;
}

#[tokio::test]
async fn a_proxy_application_for_a_facility_without_mail_shows_the_setup_link_once() {
    on_each_backend_with(IssueTiming::Immediately, |site| async move {
        let mut pref = signed_in(
            &site,
            "pref17f",
            prefecture_staff("17", StaffLevel::Reviewer),
        )
        .await;
        let page = pref.get("/review/applications/new").await;
        assert!(page.body.contains("代理申請する"), "{}", page.body);
        // Another prefecture's facility is refused.
        let mut other: Vec<(&str, String)> = vec![];
        let f = form("紙の診療所", "");
        for (k, v) in [
            ("facility_name", f.facility_name.clone()),
            ("kind", f.kind.clone()),
            ("discriminator", "none".to_owned()),
            ("phone", f.phone.clone()),
            ("insurance_code", String::new()),
            ("postal_code", f.postal_code.clone()),
            ("prefecture", f.prefecture.clone()),
            ("municipality", f.municipality.clone()),
            ("town", f.town.clone()),
            ("department", f.department.clone()),
            ("family_name", f.family_name.clone()),
            ("given_name", f.given_name.clone()),
            ("department_phone", f.department_phone.clone()),
        ] {
            other.push((k, v));
        }
        let fields: Vec<(&str, &str)> = other.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = pref.post("/review/applications/new", &fields).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let detail_path = res.location.unwrap();
        let detail = pref.get(&detail_path).await;
        assert!(
            detail.body.contains("都道府県による代理申請"),
            "{}",
            detail.body
        );
        assert!(
            detail.body.contains("（なし：紙での連絡）"),
            "{}",
            detail.body
        );
        let res = pref.post(&format!("{detail_path}/approve"), &[]).await;
        assert!(
            res.body.contains("この画面でのみ表示します"),
            "{}",
            res.body
        );
        assert!(res.body.contains(&format!("{SITE_URL}/s/")), "{}", res.body);
        let again = pref.get(&detail_path).await;
        assert!(
            !again.body.contains(&format!("{SITE_URL}/s/")),
            "shown once"
        );
        site.run_jobs().await;
        assert!(site.mails().is_empty(), "no address, no mail");
    })
    .await;
}

#[tokio::test]
async fn other_prefectures_and_read_only_staff_cannot_decide() {
    on_each_backend_with(IssueTiming::Immediately, |site| async move {
        let id = submitted(
            &site.store,
            "scope@clinic.example.jp",
            &form("範囲クリニック", "1710112341"),
        )
        .await;
        let mut nara = signed_in(&site, "pref29", prefecture_staff("29", StaffLevel::Admin)).await;
        assert!(
            !nara
                .get("/review/applications")
                .await
                .body
                .contains("範囲クリニック")
        );
        assert_eq!(
            nara.get(&format!("/review/applications/{}", id.0))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        nara.get("/home").await;
        assert_eq!(
            nara.post(&format!("/review/applications/{}/approve", id.0), &[])
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let mut ro = signed_in(
            &site,
            "pref17ro",
            prefecture_staff("17", StaffLevel::ReadOnly),
        )
        .await;
        let detail = ro.get(&format!("/review/applications/{}", id.0)).await;
        assert_eq!(detail.status, StatusCode::OK);
        assert!(!detail.body.contains("/approve"), "{}", detail.body);
        ro.get("/home").await;
        assert_eq!(
            ro.post(&format!("/review/applications/{}/approve", id.0), &[])
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            ro.get("/review/applications/new").await.status,
            StatusCode::FORBIDDEN
        );
    })
    .await;
}

#[tokio::test]
async fn support_tools_find_users_change_an_address_reissue_and_stop() {
    on_each_backend_with(IssueTiming::Immediately, |site| async move {
        let f = existing_clinic(&site.store, "1710112341").await;
        let clerk = create_user(&site.store, "lostmail1", &[facility_admin(f)]).await;
        let mut pref = signed_in(
            &site,
            "pref17s",
            prefecture_staff("17", StaffLevel::Reviewer),
        )
        .await;
        // Found by the insurance code the facility gives on the phone.
        let found = pref.get("/support/users?q=1710112341").await;
        assert!(found.body.contains("lostmail1"), "{}", found.body);
        let path = format!("/support/users/{}", clerk.0);
        let page = pref.get(&path).await;
        assert!(
            page.body.contains("lostmail1@test.example.jp"),
            "{}",
            page.body
        );
        // The address, on the facility's request: both addresses are told.
        let res = pref
            .post(
                &format!("{path}/email"),
                &[("email", "new.clerk@clinic.example.jp")],
            )
            .await;
        assert!(
            res.body.contains("変更前のアドレスにも通知しました。"),
            "{}",
            res.body
        );
        // A new setup link; the old one (if any) stops working.
        let res = pref.post(&format!("{path}/setup-link"), &[]).await;
        assert!(res.body.contains("再送信しました"), "{}", res.body);
        site.run_jobs().await;
        let old = site.mails_to("lostmail1@test.example.jp");
        assert_eq!(old.len(), 1, "{:?}", site.mails());
        assert!(old[0].body.contains("都道府県"), "{}", old[0].body);
        let new = site.mails_to("new.clerk@clinic.example.jp");
        assert_eq!(new.len(), 1);
        assert!(new[0].link(&format!("{SITE_URL}/s/")).is_some());
        // The mails show on the user's page with their status.
        let page = pref.get(&path).await;
        assert!(page.body.contains("送信完了"), "{}", page.body);
        // Stopping ends the user's sessions; the login says the account is stopped.
        let mut c = site.client();
        c.login("lostmail1", PASSWORD).await;
        assert_eq!(c.get("/home").await.status, StatusCode::OK);
        pref.get(&path).await;
        let res = pref
            .post(&format!("{path}/active"), &[("active", "no")])
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert_eq!(c.get("/home").await.status, StatusCode::SEE_OTHER);
        let res = site.client().login("lostmail1", PASSWORD).await;
        assert!(
            res.body.contains("現在ご利用いただけません"),
            "{}",
            res.body
        );
        // Another prefecture does not find the user.
        let mut nara = signed_in(&site, "pref29s", prefecture_staff("29", StaffLevel::Admin)).await;
        assert!(
            !nara
                .get("/support/users?q=lostmail1")
                .await
                .body
                .contains("lostmail1</a>")
        );
        assert_eq!(nara.get(&path).await.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn the_operator_stops_accounts_of_abolished_facilities_in_bulk() {
    on_each_backend_with(IssueTiming::Immediately, |site| async move {
        // An abolished pharmacy with one user.
        let gone = site
            .store
            .facilities()
            .insert(&FacilityRecord {
                kind: FacilityKind::Pharmacy,
                prefecture: PrefectureCode::parse("17").unwrap(),
                municipality: MunicipalityCode::parse("172014").unwrap(),
                facility_code: Some(FacilityCode::parse("1700000888").unwrap()),
                insurance_codes: vec![],
                names: FacilityNames {
                    official: "閉局薬局".into(),
                    official_kana: "ヘイキョクヤッキョク".into(),
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
                abolished_on: chrono::NaiveDate::from_ymd_opt(2025, 3, 31),
            })
            .await
            .unwrap();
        let closed = create_user(
            &site.store,
            "closed01",
            &[Membership::Facility {
                facility_id: gone.0,
                admin: true,
                programs: vec![Program::PharmacyFunction],
            }],
        )
        .await;
        let mut op = signed_in(&site, "operator1", Membership::Operator).await;
        let page = op.get("/support/inventory").await;
        assert!(page.body.contains("closed01"), "{}", page.body);
        assert!(page.body.contains("施設が廃止済み"), "{}", page.body);
        let res = op
            .post(
                "/support/inventory/deactivate",
                &[("user", &closed.0.to_string())],
            )
            .await;
        assert_eq!(
            res.location.as_deref(),
            Some("/support/inventory?stopped=1")
        );
        let page = op.get("/support/inventory?stopped=1").await;
        assert!(
            page.body.contains("1 件のアカウントの利用を停止しました。"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("closed01</a>"), "{}", page.body);
        // Prefecture staff have no 棚卸し.
        let mut pref = signed_in(&site, "pref17t", prefecture_staff("17", StaffLevel::Admin)).await;
        assert_eq!(
            pref.get("/support/inventory").await.status,
            StatusCode::FORBIDDEN
        );
    })
    .await;
}
