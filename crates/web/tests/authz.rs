//! The authorisation matrix: every route the router serves, requested by every kind of user —
//! anonymous, facility A's and facility B's users, reviewers of prefecture X (17) and Y (29), a
//! delegate for facility A, the operator — with the expected outcome for each. The route list
//! comes from `teikyo_web::route_table`, the same list the router is built from: a new route
//! without a row here fails this test.
//!
//! Every state-changing route is also posted without a CSRF token, by everyone: refused.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use teikyo_domain::account::{Area, Membership, StaffLevel};
use teikyo_domain::{
    FacilityCode, FacilityKind, FacilityNames, FacilityRecord, MunicipalityCode, PrefectureCode,
};
use teikyo_store::{Backend, NewMail, Store};
use teikyo_testkit::db::{TestDb, backends};
use teikyo_testkit::web::{Client, Page, create_user, session_cookie};
use teikyo_web::{Rule, WebConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Anonymous,
    FacilityA,
    FacilityB,
    PrefectureX,
    PrefectureY,
    DelegateA,
    Operator,
}

const ROLES: [Role; 7] = [
    Role::Anonymous,
    Role::FacilityA,
    Role::FacilityB,
    Role::PrefectureX,
    Role::PrefectureY,
    Role::DelegateA,
    Role::Operator,
];

/// What a request must end in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// 200.
    Ok,
    /// 303 to the login page (with `next` for a GET).
    SignIn,
    /// 303 somewhere else.
    Redirect(&'static str),
    Forbidden,
    NotFound,
    /// 401: a machine endpoint without its bearer token.
    Unauthorized,
    /// 422: a form with mistakes, shown again.
    Unprocessable,
    /// 200 for the first decision on the shared application, 422 (already decided) after.
    Decided,
    /// 303 for the first removal of the shared colleague, 404 (already gone) after.
    RemovedOnce,
    /// 303 to a page other than the login page.
    SeeOther,
    /// A section save: 303 to the report, or the conflict page when another role saved first.
    SavedOrConflict,
}

fn staff(role: Role) -> bool {
    matches!(role, Role::PrefectureX | Role::PrefectureY | Role::Operator)
}

/// The table. `mail` is a mail about facility A (prefecture X).
fn expected(method: &Method, path: &str, role: Role) -> Option<Outcome> {
    use Outcome as O;
    let anon = role == Role::Anonymous;
    let signed_in_or_login = |ok: Outcome| if anon { O::SignIn } else { ok };
    Some(match (method.as_str(), path) {
        ("GET", "/" | "/about/data" | "/healthz" | "/readyz" | "/metrics" | "/static/{file}") => {
            O::Ok
        }
        // The residents' side: anyone; the matrix's facilities were never confirmed, so they
        // are not published.
        ("GET", "/search" | "/en/search" | "/api/search") => O::Ok,
        ("GET", "/facilities/{id}" | "/en/facilities/{id}") => O::NotFound,
        // The open data: the page for anyone; the matrix made no snapshot, so no file exists.
        ("GET", "/opendata/") => O::Ok,
        ("GET", "/opendata/{name}") => O::NotFound,
        ("GET", "/login") => {
            if anon {
                O::Ok
            } else {
                O::Redirect("/home")
            }
        }
        // An empty login form: the page again, with the message.
        ("POST", "/login") => O::Ok,
        // No login waiting for its code (no pending cookie): start again, whoever asks.
        ("GET" | "POST", "/login/code") => O::Redirect("/login?done=restart"),
        ("GET", "/account/mfa") => signed_in_or_login(O::Ok),
        // Staff have one already (the default policy requires it): back to the page.
        ("POST", "/account/mfa/begin") => signed_in_or_login(O::Redirect("/account/mfa")),
        ("POST", "/account/mfa/confirm") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Redirect("/account/mfa"),
            // Nothing started: the page with the message.
            _ => O::Unprocessable,
        },
        // An empty password: the page with the message.
        ("POST", "/account/mfa/recovery-codes") => signed_in_or_login(O::Unprocessable),
        ("POST", "/account/mfa/disable") => match role {
            Role::Anonymous => O::SignIn,
            // Required of staff: cannot be turned off.
            r if staff(r) => O::Forbidden,
            _ => O::Unprocessable,
        },
        ("POST", "/logout") => signed_in_or_login(O::Redirect("/login?done=logout")),
        ("POST", "/logout/everywhere") => signed_in_or_login(O::Redirect("/login?done=everywhere")),
        ("GET", "/home" | "/account") => signed_in_or_login(O::Ok),
        // An empty profile form: the page again with what is missing.
        ("POST", "/account") => signed_in_or_login(O::Unprocessable),
        ("POST", "/account/email") => signed_in_or_login(O::Unprocessable),
        ("GET" | "POST", "/e/{token}") => O::Ok,
        ("GET", "/password/forgot" | "/password/sent" | "/login-id/forgot") => O::Ok,
        // Empty forms: the form again with its message, or back to it.
        ("POST", "/password/forgot" | "/login-id/forgot") => O::Ok,
        ("POST", "/password/resend") => O::Redirect("/password/forgot"),
        // A token that does not exist: the page that says so, for anyone.
        ("GET" | "POST", "/r/{token}" | "/s/{token}") => O::Ok,
        ("GET", "/mail/log") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Ok,
            _ => O::Forbidden,
        },
        ("GET", "/mail/log/{id}") => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::Ok,
            // In Y's default scope, X's mail does not exist.
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        ("GET", "/demo/outbox" | "/demo/outbox/{id}") => O::Ok,
        // 新規ユーザ登録申請: public; without an application of this browser every later step
        // goes back to the start, whoever is signed in.
        ("GET", "/apply" | "/apply/status") => O::Ok,
        ("POST", "/apply") => O::Unprocessable,
        (
            "GET",
            "/apply/confirm" | "/apply/code" | "/apply/form" | "/apply/terms" | "/apply/review"
            | "/apply/done" | "/apply/download",
        ) => O::Redirect("/apply"),
        (
            "POST",
            "/apply/send" | "/apply/code" | "/apply/form" | "/apply/terms" | "/apply/submit",
        ) => O::Redirect("/apply"),
        ("POST", "/mail/bounces") => O::Unauthorized,
        // Review: staff of the application's prefecture (X) and the operator; Y does not see
        // X's application at all.
        ("GET", "/review/applications") | ("GET", "/review/applications/new") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Ok,
            _ => O::Forbidden,
        },
        ("POST", "/review/applications/new") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Unprocessable,
            _ => O::Forbidden,
        },
        ("GET", "/review/applications/{id}") => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::Ok,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        ("POST", "/review/applications/{id}/approve") => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::Decided,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        // Support tools: a user of facility A (prefecture X).
        ("GET", "/audit") | ("GET", "/support/users") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Ok,
            _ => O::Forbidden,
        },
        ("GET", "/support/users/{id}") | ("POST", "/support/users/{id}/setup-link") => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::Ok,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        ("POST", "/support/users/{id}/email") => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::Unprocessable,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        ("POST", "/support/users/{id}/active" | "/support/users/{id}/mfa-reset") => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::SeeOther,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        ("GET", "/support/inventory") => match role {
            Role::Anonymous => O::SignIn,
            Role::Operator => O::Ok,
            _ => O::Forbidden,
        },
        ("POST", "/support/inventory/deactivate") => match role {
            Role::Anonymous => O::SignIn,
            Role::Operator => O::SeeOther,
            _ => O::Forbidden,
        },
        // Staff and delegates: whole-prefecture admins and the operator; X and Y are reviewers.
        ("GET", "/staff") => match role {
            Role::Anonymous => O::SignIn,
            Role::Operator => O::Ok,
            _ => O::Forbidden,
        },
        // An empty form: the page with the messages.
        ("POST", "/staff/invite") => match role {
            Role::Anonymous => O::SignIn,
            Role::Operator => O::Unprocessable,
            _ => O::Forbidden,
        },
        // The clerk is nobody's staff member.
        ("POST", "/staff/{id}/remove") => match role {
            Role::Anonymous => O::SignIn,
            Role::Operator => O::NotFound,
            _ => O::Forbidden,
        },
        // Facility A's users: its admin and the operator; X's reviewer and A's delegate see A
        // but do not manage its users; B and Y do not see A at all.
        ("GET" | "POST", "/facility/{id}/users") => match role {
            Role::Anonymous => O::SignIn,
            Role::FacilityA | Role::Operator => {
                if method == Method::GET {
                    O::Ok
                } else {
                    O::Unprocessable
                }
            }
            Role::PrefectureX | Role::DelegateA => O::Forbidden,
            Role::FacilityB | Role::PrefectureY => O::NotFound,
        },
        // Reports: the facility's users with the 制度 and its delegates enter; reviewers in
        // scope (X, the operator) may enter and submit for it (代理入力); others do not see the
        // facility. Facility A's 定期報告 exists, so 開始 opens it (or, without a period, says
        // none is open). A save without the page's version is a conflict once the first role
        // has saved the section; a step without the page's version is refused with 422.
        ("GET", "/facility/{id}/report")
        | ("GET", "/reports/{id}/sections/{section}")
        | ("GET", "/reports/{id}")
        | (
            "GET",
            "/reports/{id}/submit" | "/reports/{id}/cancel" | "/reports/{id}/bulk-complete",
        ) => match role {
            Role::Anonymous => O::SignIn,
            Role::FacilityA | Role::DelegateA | Role::PrefectureX | Role::Operator => O::Ok,
            Role::FacilityB | Role::PrefectureY => O::NotFound,
        },
        // 定期報告 start (保険医療機関番号確認): no period is open today, so everyone allowed is
        // sent back to the 制度ホーム, which says so.
        ("GET" | "POST", "/facility/{id}/report/start") => match role {
            Role::Anonymous => O::SignIn,
            Role::FacilityA | Role::DelegateA | Role::PrefectureX | Role::Operator => O::SeeOther,
            Role::FacilityB | Role::PrefectureY => O::NotFound,
        },
        ("POST", "/facility/{id}/report/change" | "/facility/{id}/report/initial") => match role {
            Role::Anonymous => O::SignIn,
            Role::FacilityA | Role::DelegateA | Role::PrefectureX | Role::Operator => O::SeeOther,
            Role::FacilityB | Role::PrefectureY => O::NotFound,
        },
        ("POST", "/reports/{id}/sections/{section}") => match role {
            Role::Anonymous => O::SignIn,
            Role::FacilityA | Role::DelegateA | Role::PrefectureX | Role::Operator => {
                O::SavedOrConflict
            }
            Role::FacilityB | Role::PrefectureY => O::NotFound,
        },
        (
            "POST",
            "/reports/{id}/submit"
            | "/reports/{id}/cancel"
            | "/reports/{id}/bulk-complete"
            | "/reports/{id}/withdraw"
            | "/reports/{id}/reopen",
        ) => match role {
            Role::Anonymous => O::SignIn,
            Role::FacilityA | Role::DelegateA | Role::PrefectureX | Role::Operator => {
                O::Unprocessable
            }
            Role::FacilityB | Role::PrefectureY => O::NotFound,
        },
        // Review of a report: reviewers in scope only.
        ("GET", "/reports/{id}/review") => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::Ok,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        ("POST", "/reports/{id}/confirm" | "/reports/{id}/return") => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::Unprocessable,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        ("GET", "/prefecture/reports") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Ok,
            _ => O::Forbidden,
        },
        // Nothing chosen: back to the list, nothing confirmed.
        ("POST", "/prefecture/reports/confirm") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Redirect("/prefecture/reports?done=bulk&n=0"),
            _ => O::Forbidden,
        },
        ("POST", "/facility/{id}/users/{user}/remove") => match role {
            Role::Anonymous => O::SignIn,
            Role::FacilityA | Role::Operator => O::RemovedOnce,
            Role::PrefectureX | Role::DelegateA => O::Forbidden,
            Role::FacilityB | Role::PrefectureY => O::NotFound,
        },
        // 定期報告 periods: staff look at their prefecture's (the operator at any); only
        // whole-prefecture admins and the operator change them — X and Y are reviewers, and the
        // period is X's. An empty open or extension form: the page with the messages.
        // 報告状況一覧, its CSV and the dashboard: staff see their own prefecture's (Y its own,
        // not X's facilities), the operator any; nobody else.
        ("GET", "/prefecture/status" | "/prefecture/status.csv" | "/prefecture/dashboard") => {
            match role {
                Role::Anonymous => O::SignIn,
                r if staff(r) => O::Ok,
                _ => O::Forbidden,
            }
        }
        ("GET", "/prefecture/periods") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Ok,
            _ => O::Forbidden,
        },
        ("POST", "/prefecture/periods") => match role {
            Role::Anonymous => O::SignIn,
            Role::Operator => O::Unprocessable,
            _ => O::Forbidden,
        },
        ("POST", "/prefecture/periods/{id}/extend") => match role {
            Role::Anonymous => O::SignIn,
            Role::Operator => O::Unprocessable,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        // Without the confirmation box: the page with the message.
        ("POST", "/prefecture/periods/{id}/close") => match role {
            Role::Anonymous => O::SignIn,
            Role::Operator => O::Unprocessable,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        // 「情報の誤りを報告」: the matrix's facilities are not published, so there is nothing
        // to report about, whoever asks.
        ("GET" | "POST", "/facilities/{id}/report-error" | "/en/facilities/{id}/report-error") => {
            O::NotFound
        }
        // Reports reach whoever sees facility A; its keepers mark them 対応済 (a second time
        // changes nothing: back to the list).
        ("GET", "/facility/{id}/error-reports") => match role {
            Role::Anonymous => O::SignIn,
            Role::FacilityA | Role::DelegateA | Role::PrefectureX | Role::Operator => O::Ok,
            Role::FacilityB | Role::PrefectureY => O::NotFound,
        },
        ("POST", "/facility/{id}/error-reports/{report}/handled") => match role {
            Role::Anonymous => O::SignIn,
            Role::FacilityA | Role::DelegateA | Role::PrefectureX | Role::Operator => O::SeeOther,
            Role::FacilityB | Role::PrefectureY => O::NotFound,
        },
        ("GET", "/prefecture/error-reports") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Ok,
            _ => O::Forbidden,
        },
        // A facility's own 臨時休診: its users and delegate, the reviewer of its prefecture
        // (X) and the operator; B and Y do not see it. An empty form: the page with the
        // messages. Withdrawing twice is harmless (back to the page).
        ("GET" | "POST", "/facility/{id}/closures") => match role {
            Role::Anonymous => O::SignIn,
            Role::FacilityA | Role::DelegateA | Role::PrefectureX | Role::Operator => {
                if method == Method::GET {
                    O::Ok
                } else {
                    O::Unprocessable
                }
            }
            Role::FacilityB | Role::PrefectureY => O::NotFound,
        },
        ("POST", "/facility/{id}/closures/{closure}/withdraw") => match role {
            Role::Anonymous => O::SignIn,
            Role::FacilityA | Role::DelegateA | Role::PrefectureX | Role::Operator => O::SeeOther,
            Role::FacilityB | Role::PrefectureY => O::NotFound,
        },
        // 臨時休診一括処理: like 一括メール配信 — staff see their prefecture's batches, its
        // reviewers and the operator declare and withdraw; the batch is X's.
        ("GET", "/prefecture/closures" | "/prefecture/closures/new") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Ok,
            _ => O::Forbidden,
        },
        ("POST", "/prefecture/closures/new") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Unprocessable,
            _ => O::Forbidden,
        },
        ("GET", "/prefecture/closures/{id}") => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::Ok,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        // Without the confirmation box: the page with the message.
        ("POST", "/prefecture/closures/{id}/withdraw") => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::Unprocessable,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        // 一括メール配信: staff look at their prefecture's sends; reviewers (X, Y) and the
        // operator compose; the draft is X's, so Y does not see it. Empty forms: the page with
        // the messages (no prefecture named; nothing typed; the confirmation box not ticked).
        ("GET", "/prefecture/bulk-mail" | "/prefecture/bulk-mail/new") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Ok,
            _ => O::Forbidden,
        },
        ("POST", "/prefecture/bulk-mail/new") => match role {
            Role::Anonymous => O::SignIn,
            r if staff(r) => O::Unprocessable,
            _ => O::Forbidden,
        },
        ("GET", "/prefecture/bulk-mail/{id}" | "/prefecture/bulk-mail/{id}/edit") => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::Ok,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        (
            "POST",
            "/prefecture/bulk-mail/{id}/edit"
            | "/prefecture/bulk-mail/{id}/send"
            | "/prefecture/bulk-mail/{id}/cancel",
        ) => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::Unprocessable,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        // お知らせ: the operator posts nationwide and in every prefecture; X and Y are
        // reviewers, not whole-prefecture admins. An empty form: the page with the messages.
        ("GET", "/notices") => match role {
            Role::Anonymous => O::SignIn,
            Role::Operator => O::Ok,
            _ => O::Forbidden,
        },
        ("POST", "/notices") => match role {
            Role::Anonymous => O::SignIn,
            Role::Operator => O::Unprocessable,
            _ => O::Forbidden,
        },
        // Prefecture X's notice.
        ("POST", "/notices/{id}/delete") => match role {
            Role::Anonymous => O::SignIn,
            Role::Operator => O::Redirect("/notices?scope=17&done=deleted"),
            _ => O::Forbidden,
        },
        // An empty reason: the page again with the message.
        ("POST", "/review/applications/{id}/reject") => match role {
            Role::Anonymous => O::SignIn,
            Role::PrefectureX | Role::Operator => O::Unprocessable,
            Role::PrefectureY => O::NotFound,
            _ => O::Forbidden,
        },
        _ => return None,
    })
}

struct World {
    router: axum::Router,
    store: Store,
    config: WebConfig,
    memberships: BTreeMap<Role, Vec<Membership>>,
    mail: i64,
    /// A submitted application from a facility of prefecture X.
    application: i64,
    /// A user of facility A (prefecture X), for the support tools.
    clerk: i64,
    facility_a: i64,
    /// Another user of facility A, whom the first allowed request removes.
    colleague: i64,
    /// Facility A's 定期報告.
    report: i64,
    /// Prefecture X's 定期報告 period.
    period: i64,
    /// Prefecture X's お知らせ.
    notice: i64,
    /// Prefecture X's 一括メール, a draft.
    bulk_mail: i64,
    /// Facility A's own 臨時休診, which the first allowed request withdraws.
    closure: i64,
    /// Prefecture X's 臨時休診一括処理 (closing facility A).
    closure_batch: i64,
    /// A resident's 「情報の誤りを報告」 about facility A.
    error_report: i64,
    stylesheet: String,
}

async fn facility(store: &Store, prefecture: &str, municipality: &str, code: &str) -> i64 {
    let record = FacilityRecord {
        kind: FacilityKind::Hospital,
        prefecture: PrefectureCode::parse(prefecture).unwrap(),
        municipality: MunicipalityCode::parse(municipality).unwrap(),
        facility_code: Some(FacilityCode::parse(code).unwrap()),
        insurance_codes: vec![],
        names: FacilityNames {
            official: format!("試験病院{code}"),
            official_kana: "シケン".into(),
            short: None,
            short_kana: None,
            english: None,
        },
        postal_code: None,
        address: format!(
            "{}試験町1番1号",
            PrefectureCode::parse(prefecture).unwrap().name()
        ),
        coordinates: None,
        homepage: None,
        opened_on: None,
        suspended_on: None,
        abolished_on: None,
    };
    store.facilities().insert(&record).await.unwrap().0
}

async fn world(store: Store) -> World {
    let config = WebConfig {
        demo: true,
        bounce_token: Some("matrix-bounce-token-0123456789".into()),
        ..WebConfig::default()
    };
    let a = facility(&store, "17", "17201", "1700000001").await;
    let b = facility(&store, "29", "29201", "2900000001").await;
    let tx = store.begin().await.unwrap();
    let mail = tx
        .queue_mail(&NewMail {
            template: "account_ready".into(),
            to: "a@hospital.example.jp".into(),
            subject: "試験".into(),
            body_text: "試験".into(),
            message_id: "<matrix@teikyo.test>".into(),
            related: None,
            facility_id: Some(a),
        })
        .await
        .unwrap()
        .0;
    tx.commit().await.unwrap();
    let reviewer = |p: &str| Membership::Prefecture {
        prefecture: PrefectureCode::parse(p).unwrap(),
        level: StaffLevel::Reviewer,
        area: Area::Whole,
    };
    let memberships = BTreeMap::from([
        (Role::Anonymous, vec![]),
        (
            Role::FacilityA,
            vec![Membership::Facility {
                facility_id: a,
                admin: true,
                programs: vec![teikyo_domain::Program::MedicalFunction],
            }],
        ),
        (
            Role::FacilityB,
            vec![Membership::Facility {
                facility_id: b,
                admin: true,
                programs: vec![teikyo_domain::Program::MedicalFunction],
            }],
        ),
        (Role::PrefectureX, vec![reviewer("17")]),
        (Role::PrefectureY, vec![reviewer("29")]),
        (
            Role::DelegateA,
            vec![Membership::Delegate {
                prefecture: PrefectureCode::parse("17").unwrap(),
                facility_ids: vec![a],
            }],
        ),
        (Role::Operator, vec![Membership::Operator]),
    ]);
    let application = submitted_application(&store).await;
    let clerk = create_user(
        &store,
        "clerk-a",
        &[Membership::Facility {
            facility_id: a,
            admin: true,
            programs: vec![teikyo_domain::Program::MedicalFunction],
        }],
    )
    .await
    .0;
    let colleague = create_user(
        &store,
        "colleague-a",
        &[Membership::Facility {
            facility_id: a,
            admin: false,
            programs: vec![teikyo_domain::Program::MedicalFunction],
        }],
    )
    .await
    .0;
    let report = {
        let kind = store
            .facilities()
            .get(teikyo_store::FacilityId(a))
            .await
            .unwrap()
            .unwrap()
            .record
            .kind;
        let catalogue = teikyo_refdata::forms::catalogue().unwrap();
        // The report the page would start today.
        let today = teikyo_domain::report::fiscal_year_of(chrono::Utc::now().date_naive());
        let set = catalogue.current(kind, today).unwrap();
        let new = teikyo_store::NewReport {
            facility_id: teikyo_store::FacilityId(a),
            kind: teikyo_domain::report::ReportKind::Periodic,
            fiscal_year: set.fiscal_year,
            item_set: set.id.clone(),
            by: None,
            period_id: None,
            insurance_check: None,
            preset: Vec::new(),
        };
        store
            .reports()
            .start(
                &new,
                teikyo_store::AuditEvent::new("report.started", None),
                chrono::Utc::now(),
            )
            .await
            .unwrap()
            .0
            .id
            .0
    };
    let period = {
        let day = |m, d| chrono::NaiveDate::from_ymd_opt(2027, m, d).unwrap();
        let p = teikyo_domain::period::ReportingPeriod {
            prefecture: PrefectureCode::parse("17").unwrap(),
            fiscal_year: 2026,
            facility_kinds: vec![FacilityKind::Hospital],
            reference_date: day(1, 1),
            opens_on: day(1, 7),
            closes_on: day(3, 31),
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
                chrono::Utc::now(),
            )
            .await
            .unwrap()
            .0
    };
    let notice = store
        .notices()
        .post(
            &teikyo_store::NewNotice {
                prefecture: Some(PrefectureCode::parse("17").unwrap()),
                title: "定期報告の受付を開始しました".into(),
                body: "1月7日から受け付けます。".into(),
                shown_from: chrono::NaiveDate::from_ymd_opt(2027, 1, 7).unwrap(),
                shown_until: None,
                by: None,
            },
            teikyo_store::AuditEvent::new("notice.posted", None),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let bulk_mail = store
        .bulk_mails()
        .create(
            &teikyo_store::NewBulkMail {
                prefecture: PrefectureCode::parse("17").unwrap(),
                subject: "定期報告のお願い".into(),
                body: "{施設名} ご担当者様".into(),
                filter: teikyo_domain::bulk_mail::RecipientFilter {
                    kinds: vec![FacilityKind::Hospital],
                    ..Default::default()
                },
            },
            None,
            teikyo_store::AuditEvent::new("bulk_mail.drafted", None),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .0;
    let storm = teikyo_domain::opening::Closure {
        from: teikyo_domain::opening::japan_date(chrono::Utc::now()),
        to: teikyo_domain::opening::japan_date(chrono::Utc::now()) + chrono::Days::new(2),
        reason: "大雨のため".into(),
    };
    let closure = store
        .publications()
        .declare_closures(
            &[teikyo_store::NewClosure {
                facility_id: teikyo_store::FacilityId(a),
                closure: storm.clone(),
                batch_id: None,
                by: None,
            }],
            &[],
            &teikyo_store::AuditEvent::new("closure.declared", None),
            chrono::Utc::now(),
        )
        .await
        .unwrap()[0];
    let closure_batch = store
        .closure_batches()
        .declare(
            &teikyo_store::NewClosureBatch {
                prefecture: PrefectureCode::parse("17").unwrap(),
                closure: storm.clone(),
                target: teikyo_domain::closure::ClosureTarget::Area {
                    kinds: vec![FacilityKind::Hospital],
                    municipalities: vec![],
                },
                by: None,
            },
            &[teikyo_store::FacilityId(a)],
            &teikyo_search::project_job(&[teikyo_store::FacilityId(a)]),
            &teikyo_store::AuditEvent::new("closure.batch_declared", None),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .0;
    let error_report = store
        .error_reports()
        .create(
            &teikyo_store::NewErrorReport {
                facility_id: teikyo_store::FacilityId(a),
                section: None,
                body: "電話番号が違います。".into(),
                contact: None,
                lang: "ja".into(),
            },
            &teikyo_store::AuditEvent::new("error_report.received", None),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let router = teikyo_testkit::web::Site::new(store.clone(), config.clone())
        .await
        .router;
    let mut landing = Client::new(router.clone());
    let page = landing.get("/").await;
    let start = page.body.find("href=\"/static/").unwrap() + 6;
    let end = page.body[start..].find('"').unwrap() + start;
    World {
        router,
        stylesheet: page.body[start..end].to_owned(),
        store,
        config,
        memberships,
        mail,
        application,
        clerk,
        facility_a: a,
        colleague,
        report,
        period,
        notice,
        bulk_mail,
        closure,
        closure_batch,
        error_report,
    }
}

async fn submitted_application(store: &Store) -> i64 {
    let regs = store.registrations();
    let now = chrono::Utc::now();
    let id = regs.create("matrix@clinic.example.jp", now).await.unwrap();
    regs.confirm_pending_browser(id, "matrix-browser", now)
        .await
        .unwrap();
    regs.confirm_email(id, "matrix-browser", now).await.unwrap();
    let form = teikyo_domain::registration::ApplicationForm {
        facility_name: "行列クリニック".into(),
        kind: "2".into(),
        discriminator: "none".into(),
        phone: "076-220-2211".into(),
        postal_code: "9200962".into(),
        prefecture: "17".into(),
        municipality: "172014".into(),
        town: "広坂1丁目1番1号".into(),
        department: "事務部".into(),
        family_name: "金沢".into(),
        given_name: "花子".into(),
        department_phone: "076-220-2212".into(),
        ..Default::default()
    };
    regs.save_form(id, &form, PrefectureCode::parse("17").ok(), now)
        .await
        .unwrap();
    regs.consent(id, now).await.unwrap();
    regs.submit(id, now).await.unwrap().unwrap();
    id.0
}

/// A client for `role` with a fresh session (so a logout in one check does not end the next)
/// and the CSRF token of a form page.
async fn client_for(w: &World, role: Role, n: usize) -> Client {
    let mut c = Client::new(w.router.clone());
    if role != Role::Anonymous {
        let user = create_user(&w.store, &format!("matrix{n:04}"), &w.memberships[&role]).await;
        c.set_cookie(&session_cookie(&w.store, &w.config, user).await);
        c.get("/home").await;
    } else {
        c.get("/login").await;
    }
    assert!(c.csrf().is_some(), "{role:?} has a form token");
    c
}

fn concrete(path: &str, w: &World) -> String {
    if path.starts_with("/reports/") {
        return path
            .replace("{id}", &w.report.to_string())
            .replace("{section}", "basic");
    }
    if path.starts_with("/facility/") {
        return path
            .replace("{id}", &w.facility_a.to_string())
            .replace("{user}", &w.colleague.to_string())
            .replace("{closure}", &w.closure.to_string())
            .replace("{report}", &w.error_report.to_string());
    }
    if path.starts_with("/prefecture/closures/") {
        return path.replace("{id}", &w.closure_batch.to_string());
    }
    if path.starts_with("/prefecture/bulk-mail/") {
        return path.replace("{id}", &w.bulk_mail.to_string());
    }
    if path.starts_with("/prefecture/") {
        return path.replace("{id}", &w.period.to_string());
    }
    if path.starts_with("/notices/") {
        return path.replace("{id}", &w.notice.to_string());
    }
    let id = if path.starts_with("/review/") {
        w.application
    } else if path.starts_with("/support/") || path.starts_with("/staff/") {
        w.clerk
    } else {
        w.mail
    };
    path.replace("{file}", w.stylesheet.trim_start_matches("/static/"))
        .replace("{token}", "AAAAAAAAAAAAAAAA")
        .replace("{id}", &id.to_string())
}

fn outcome_of(page: &Page) -> String {
    format!("{} {:?}", page.status, page.location)
}

fn matches(page: &Page, expected: &Outcome) -> bool {
    match expected {
        Outcome::Ok => page.status == StatusCode::OK,
        Outcome::SignIn => {
            page.status == StatusCode::SEE_OTHER
                && page
                    .location
                    .as_deref()
                    .is_some_and(|l| l.starts_with("/login") && !l.contains("done="))
        }
        Outcome::Redirect(to) => {
            page.status == StatusCode::SEE_OTHER && page.location.as_deref() == Some(*to)
        }
        Outcome::Forbidden => page.status == StatusCode::FORBIDDEN,
        Outcome::NotFound => page.status == StatusCode::NOT_FOUND,
        Outcome::Unauthorized => page.status == StatusCode::UNAUTHORIZED,
        Outcome::Unprocessable => page.status == StatusCode::UNPROCESSABLE_ENTITY,
        Outcome::SeeOther => {
            page.status == StatusCode::SEE_OTHER
                && page
                    .location
                    .as_deref()
                    .is_some_and(|l| !l.starts_with("/login"))
        }
        Outcome::Decided => {
            page.status == StatusCode::OK || page.status == StatusCode::UNPROCESSABLE_ENTITY
        }
        Outcome::SavedOrConflict => {
            (page.status == StatusCode::SEE_OTHER
                && page
                    .location
                    .as_deref()
                    .is_some_and(|l| l.starts_with("/reports/")))
                || (page.status == StatusCode::UNPROCESSABLE_ENTITY
                    && page
                        .body
                        .contains("他の方が先に保存したため、保存していません"))
        }
        Outcome::RemovedOnce => {
            page.status == StatusCode::NOT_FOUND
                || (page.status == StatusCode::SEE_OTHER
                    && page
                        .location
                        .as_deref()
                        .is_some_and(|l| l.starts_with("/facility/")))
        }
    }
}

#[tokio::test]
async fn every_route_for_every_role() {
    for backend in backends() {
        let db = TestDb::new(backend).await.unwrap();
        let w = world(db.store.clone()).await;
        let routes = teikyo_web::route_table(&w.config);
        let mut missing = Vec::new();
        let mut wrong = Vec::new();
        let mut n = 0;
        for route in &routes {
            for role in ROLES {
                let Some(want) = expected(&route.method, route.path, role) else {
                    missing.push(format!("{} {}", route.method, route.path));
                    break;
                };
                n += 1;
                let mut c = client_for(&w, role, n).await;
                let path = concrete(route.path, &w);
                let page = match route.method {
                    Method::GET => c.get(&path).await,
                    Method::POST => c.post(&path, &[]).await,
                    ref m => panic!("no check for method {m}"),
                };
                if !matches(&page, &want) {
                    wrong.push(format!(
                        "{} {path} as {role:?}: expected {want:?}, got {}",
                        route.method,
                        outcome_of(&page)
                    ));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "routes without a row in the authorisation matrix: {missing:?}"
        );
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert!(routes.len() >= 20, "the table lists the routes: {routes:?}");
        if backend == Backend::Postgres {
            println!("PostgreSQL: passed");
        }
        db.cleanup().await.unwrap();
    }
}

#[tokio::test]
async fn every_state_change_without_a_csrf_token_is_refused() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let w = world(db.store.clone()).await;
    let mut checked = 0;
    for route in teikyo_web::route_table(&w.config) {
        if route.method == Method::GET || route.rule == Rule::Bearer {
            continue;
        }
        for role in ROLES {
            checked += 1;
            let mut c = client_for(&w, role, 1000 + checked).await;
            let path = concrete(route.path, &w);
            let page = c
                .post_raw(&path, &[("login_id", "x"), ("password", "y")])
                .await;
            assert_eq!(
                page.status,
                StatusCode::FORBIDDEN,
                "{} {path} as {role:?} without a token",
                route.method
            );
            assert!(
                page.body.contains("画面の有効期限が切れました"),
                "{}",
                page.body
            );
        }
    }
    assert!(checked >= 7 * 14, "every POST route was tried: {checked}");
}
