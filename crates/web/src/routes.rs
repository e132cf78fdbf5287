//! Every route of the application, each with its [`Rule`]. The router is built from this list
//! only, so the list is complete by construction; the authorisation matrix test
//! (`tests/authz.rs`) walks [`route_table`] and fails for a route it has no expectation for.

use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, get, post};

use crate::auth::{Guarded, Rule, guard};
use crate::config::WebConfig;
use crate::html::{
    account, apply, audit, bulk_mail, closure, error_report, find, mail, notice, opendata, period,
    public, report, review, status, support, team,
};
use crate::state::AppState;
use crate::{api, assets, probes};

/// One route as the matrix test sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    /// As routed, with `{param}` placeholders.
    pub path: &'static str,
    pub rule: Rule,
}

struct Entry {
    info: RouteInfo,
    handler: MethodRouter<AppState>,
    /// Shares the per-IP rate limit of the forms that guess or send something (`auth::limit`).
    limited: bool,
    /// Open before a required second factor is set up (`auth::Guarded::before_mfa`).
    before_mfa: bool,
}

impl Entry {
    fn limited(mut self) -> Self {
        self.limited = true;
        self
    }

    fn before_mfa(mut self) -> Self {
        self.before_mfa = true;
        self
    }
}

fn entry(method: Method, path: &'static str, rule: Rule, handler: MethodRouter<AppState>) -> Entry {
    Entry {
        info: RouteInfo { method, path, rule },
        handler,
        limited: false,
        before_mfa: false,
    }
}

fn entries(config: &WebConfig) -> Vec<Entry> {
    use Method as M;
    use Rule as R;
    let mut list = vec![
        entry(M::GET, "/", R::Public, get(public::landing)),
        entry(M::GET, "/about/data", R::Public, get(public::data_credits)),
        // The open data (issue 8 §1): the page, and the files and manifest for programs.
        entry(M::GET, "/opendata/", R::Public, get(opendata::page)),
        entry(M::GET, "/opendata/{name}", R::Machine, get(opendata::file)),
        // The residents' side (issue 7): search and facility pages, Japanese and English, and
        // the JSON API behind them (no session, no cookies).
        entry(M::GET, "/search", R::Public, get(find::page)),
        entry(M::GET, "/en/search", R::Public, get(find::page_en)),
        entry(
            M::GET,
            "/facilities/{id}",
            R::Public,
            get(find::detail::page),
        ),
        entry(
            M::GET,
            "/en/facilities/{id}",
            R::Public,
            get(find::detail::page_en),
        ),
        // 「情報の誤りを報告」: a public form under the per-IP limit of forms that send.
        entry(
            M::GET,
            "/facilities/{id}/report-error",
            R::Public,
            get(find::report_error::page_ja),
        ),
        entry(
            M::POST,
            "/facilities/{id}/report-error",
            R::Public,
            post(find::report_error::submit_ja),
        )
        .limited(),
        entry(
            M::GET,
            "/en/facilities/{id}/report-error",
            R::Public,
            get(find::report_error::page_en),
        ),
        entry(
            M::POST,
            "/en/facilities/{id}/report-error",
            R::Public,
            post(find::report_error::submit_en),
        )
        .limited(),
        entry(M::GET, "/api/search", R::Machine, get(find::api)),
        entry(M::GET, "/healthz", R::Machine, get(probes::healthz)),
        entry(M::GET, "/readyz", R::Machine, get(probes::readyz)),
        entry(M::GET, "/metrics", R::Machine, get(probes::metrics)),
        entry(
            M::GET,
            "/static/{file}",
            R::Machine,
            get(assets::serve_asset),
        ),
        // Login and home (DOMAIN §3.8).
        entry(M::GET, "/login", R::Public, get(account::login::form)),
        entry(M::POST, "/login", R::Public, post(account::login::submit)).limited(),
        // The second step of a login with a second factor (the pending login's cookie).
        entry(
            M::GET,
            "/login/code",
            R::Public,
            get(account::mfa::code_form),
        ),
        entry(
            M::POST,
            "/login/code",
            R::Public,
            post(account::mfa::code_submit),
        )
        .limited(),
        entry(
            M::POST,
            "/logout",
            R::SignedIn,
            post(account::login::logout),
        )
        .before_mfa(),
        entry(
            M::POST,
            "/logout/everywhere",
            R::SignedIn,
            post(account::login::logout_everywhere),
        )
        .before_mfa(),
        // 二段階認証: set up, renew recovery codes, turn off (when not required).
        entry(M::GET, "/account/mfa", R::SignedIn, get(account::mfa::page)).before_mfa(),
        entry(
            M::POST,
            "/account/mfa/begin",
            R::SignedIn,
            post(account::mfa::begin),
        )
        .before_mfa(),
        entry(
            M::POST,
            "/account/mfa/confirm",
            R::SignedIn,
            post(account::mfa::confirm),
        )
        .before_mfa()
        .limited(),
        entry(
            M::POST,
            "/account/mfa/recovery-codes",
            R::SignedIn,
            post(account::mfa::renew_codes),
        )
        .limited(),
        entry(
            M::POST,
            "/account/mfa/disable",
            R::SignedIn,
            post(account::mfa::disable),
        )
        .limited(),
        entry(M::GET, "/home", R::SignedIn, get(account::home::page)),
        // ユーザ基礎情報 (DOMAIN §3.10); the address link works without a session (it proves
        // the new mailbox; the token names the user).
        entry(M::GET, "/account", R::SignedIn, get(account::profile::page)),
        entry(
            M::POST,
            "/account",
            R::SignedIn,
            post(account::profile::save),
        ),
        entry(
            M::POST,
            "/account/email",
            R::SignedIn,
            post(account::profile::request_email),
        )
        .limited(),
        entry(
            M::GET,
            "/e/{token}",
            R::Public,
            get(account::profile::email_link),
        ),
        entry(
            M::POST,
            "/e/{token}",
            R::Public,
            post(account::profile::email_confirm),
        ),
        // Passwords and user names (DOMAIN §3.9).
        entry(
            M::GET,
            "/password/forgot",
            R::Public,
            get(account::recovery::forgot_form),
        ),
        entry(
            M::POST,
            "/password/forgot",
            R::Public,
            post(account::recovery::forgot_submit),
        )
        .limited(),
        entry(
            M::GET,
            "/password/sent",
            R::Public,
            get(account::recovery::sent),
        ),
        entry(
            M::POST,
            "/password/resend",
            R::Public,
            post(account::recovery::resend),
        )
        .limited(),
        entry(
            M::GET,
            "/r/{token}",
            R::Public,
            get(account::link::reset_form),
        ),
        entry(
            M::POST,
            "/r/{token}",
            R::Public,
            post(account::link::reset_submit),
        ),
        entry(
            M::GET,
            "/s/{token}",
            R::Public,
            get(account::link::setup_form),
        ),
        entry(
            M::POST,
            "/s/{token}",
            R::Public,
            post(account::link::setup_submit),
        ),
        entry(
            M::GET,
            "/login-id/forgot",
            R::Public,
            get(account::recovery::login_id_form),
        ),
        entry(
            M::POST,
            "/login-id/forgot",
            R::Public,
            post(account::recovery::login_id_submit),
        )
        .limited(),
        // 新規ユーザ登録申請 ②–⑨ (DOMAIN §3.3): public; the browser's apply cookie names the
        // application.
        entry(M::GET, "/apply", R::Public, get(apply::start_form)),
        entry(M::POST, "/apply", R::Public, post(apply::start_submit)).limited(),
        entry(M::GET, "/apply/confirm", R::Public, get(apply::confirm)),
        entry(M::POST, "/apply/send", R::Public, post(apply::send_code)).limited(),
        entry(M::GET, "/apply/code", R::Public, get(apply::code_form)),
        entry(M::POST, "/apply/code", R::Public, post(apply::code_submit)).limited(),
        entry(M::GET, "/apply/form", R::Public, get(apply::form)),
        entry(M::POST, "/apply/form", R::Public, post(apply::form_submit)),
        entry(M::GET, "/apply/terms", R::Public, get(apply::terms)),
        entry(
            M::POST,
            "/apply/terms",
            R::Public,
            post(apply::terms_submit),
        ),
        entry(M::GET, "/apply/review", R::Public, get(apply::review)),
        entry(M::POST, "/apply/submit", R::Public, post(apply::submit)),
        entry(M::GET, "/apply/done", R::Public, get(apply::done)),
        entry(M::GET, "/apply/download", R::Public, get(apply::download)),
        entry(M::GET, "/apply/status", R::Public, get(apply::status)),
        // The prefecture's review and 代理申請 (DOMAIN §3.4–§3.6); scope in the handlers.
        entry(M::GET, "/review/applications", R::Staff, get(review::list)),
        entry(
            M::GET,
            "/review/applications/new",
            R::Staff,
            get(review::proxy_form),
        ),
        entry(
            M::POST,
            "/review/applications/new",
            R::Staff,
            post(review::proxy_submit),
        ),
        entry(
            M::GET,
            "/review/applications/{id}",
            R::Staff,
            get(review::detail),
        ),
        entry(
            M::POST,
            "/review/applications/{id}/approve",
            R::Staff,
            post(review::approve),
        ),
        entry(
            M::POST,
            "/review/applications/{id}/reject",
            R::Staff,
            post(review::reject),
        ),
        // Support tools (DOMAIN §3.7, §3.13); 棚卸し is the operator's.
        entry(M::GET, "/support/users", R::Staff, get(support::users)),
        entry(M::GET, "/support/users/{id}", R::Staff, get(support::user)),
        entry(
            M::POST,
            "/support/users/{id}/email",
            R::Staff,
            post(support::change_email),
        ),
        entry(
            M::POST,
            "/support/users/{id}/setup-link",
            R::Staff,
            post(support::reissue),
        ),
        entry(
            M::POST,
            "/support/users/{id}/active",
            R::Staff,
            post(support::set_active),
        ),
        entry(
            M::POST,
            "/support/users/{id}/mfa-reset",
            R::Staff,
            post(support::reset_mfa),
        ),
        entry(
            M::GET,
            "/support/inventory",
            R::Operator,
            get(support::inventory),
        ),
        entry(
            M::POST,
            "/support/inventory/deactivate",
            R::Operator,
            post(support::inventory_deactivate),
        ),
        // Who may act: the prefecture's staff and delegates (its whole-prefecture admins, the
        // operator), a facility's users (its admins); scope in the handlers.
        entry(M::GET, "/staff", R::Staff, get(team::staff)),
        entry(M::POST, "/staff/invite", R::Staff, post(team::staff_invite)).limited(),
        entry(
            M::POST,
            "/staff/{id}/remove",
            R::Staff,
            post(team::staff_remove),
        ),
        // 「情報の誤りを報告」 as it reaches the facility (who sees it; its keepers mark 対応済)
        // and the prefecture.
        entry(
            M::GET,
            "/facility/{id}/error-reports",
            R::SignedIn,
            get(error_report::facility_page),
        ),
        entry(
            M::POST,
            "/facility/{id}/error-reports/{report}/handled",
            R::SignedIn,
            post(error_report::handle),
        ),
        entry(
            M::GET,
            "/prefecture/error-reports",
            R::Staff,
            get(error_report::prefecture_page),
        ),
        // A facility's own 臨時休診 (issue 7 §4): its users, delegates and reviewers.
        entry(
            M::GET,
            "/facility/{id}/closures",
            R::SignedIn,
            get(closure::page),
        ),
        entry(
            M::POST,
            "/facility/{id}/closures",
            R::SignedIn,
            post(closure::declare),
        ),
        entry(
            M::POST,
            "/facility/{id}/closures/{closure}/withdraw",
            R::SignedIn,
            post(closure::withdraw),
        ),
        entry(
            M::GET,
            "/facility/{id}/users",
            R::SignedIn,
            get(team::facility_users),
        ),
        entry(
            M::POST,
            "/facility/{id}/users",
            R::SignedIn,
            post(team::facility_invite),
        )
        .limited(),
        entry(
            M::POST,
            "/facility/{id}/users/{user}/remove",
            R::SignedIn,
            post(team::facility_remove),
        ),
        // 調査票入力画面 and the generated section pages: the facility's users with the 制度
        // and its delegates enter, staff in scope look; checked in the handlers.
        entry(
            M::GET,
            "/facility/{id}/report",
            R::SignedIn,
            get(report::workflow::home),
        ),
        // 定期報告 start: the 保険医療機関番号確認 (or straight in, when skipped before or
        // nothing is preprinted); same rights as entering.
        entry(
            M::GET,
            "/facility/{id}/report/start",
            R::SignedIn,
            get(report::start::show),
        ),
        entry(
            M::POST,
            "/facility/{id}/report/start",
            R::SignedIn,
            post(report::start::start),
        ),
        entry(
            M::POST,
            "/facility/{id}/report/change",
            R::SignedIn,
            post(report::workflow::start_change),
        ),
        entry(
            M::POST,
            "/facility/{id}/report/initial",
            R::SignedIn,
            post(report::workflow::start_initial),
        ),
        // One report: its page, the asked steps (報告, 取消, 一括入力完了) and the steps. Who may
        // do what is the handlers' (the facility, 代理入力 by reviewers, review by reviewers).
        entry(
            M::GET,
            "/reports/{id}",
            R::SignedIn,
            get(report::workflow::page),
        ),
        entry(
            M::GET,
            "/reports/{id}/submit",
            R::SignedIn,
            get(report::workflow::ask_submit),
        ),
        entry(
            M::POST,
            "/reports/{id}/submit",
            R::SignedIn,
            post(report::workflow::submit),
        ),
        entry(
            M::GET,
            "/reports/{id}/cancel",
            R::SignedIn,
            get(report::workflow::ask_cancel),
        ),
        entry(
            M::POST,
            "/reports/{id}/cancel",
            R::SignedIn,
            post(report::workflow::cancel),
        ),
        entry(
            M::GET,
            "/reports/{id}/bulk-complete",
            R::SignedIn,
            get(report::workflow::ask_bulk),
        ),
        entry(
            M::POST,
            "/reports/{id}/bulk-complete",
            R::SignedIn,
            post(report::workflow::bulk_complete),
        ),
        entry(
            M::POST,
            "/reports/{id}/withdraw",
            R::SignedIn,
            post(report::workflow::withdraw),
        ),
        entry(
            M::POST,
            "/reports/{id}/reopen",
            R::SignedIn,
            post(report::workflow::reopen),
        ),
        entry(
            M::GET,
            "/reports/{id}/review",
            R::Staff,
            get(report::review::page),
        ),
        entry(
            M::POST,
            "/reports/{id}/confirm",
            R::Staff,
            post(report::workflow::confirm),
        ),
        entry(
            M::POST,
            "/reports/{id}/return",
            R::Staff,
            post(report::workflow::send_back),
        ),
        entry(
            M::GET,
            "/prefecture/reports",
            R::Staff,
            get(report::review::queue),
        ),
        entry(
            M::POST,
            "/prefecture/reports/confirm",
            R::Staff,
            post(report::review::bulk_confirm),
        ),
        entry(
            M::GET,
            "/reports/{id}/sections/{section}",
            R::SignedIn,
            get(report::section),
        ),
        entry(
            M::POST,
            "/reports/{id}/sections/{section}",
            R::SignedIn,
            post(report::save),
        ),
        // お知らせ: the operator (nationwide) and whole-prefecture admins (their prefecture);
        // scope in the handlers.
        entry(M::GET, "/notices", R::Staff, get(notice::list)),
        entry(M::POST, "/notices", R::Staff, post(notice::post)),
        entry(
            M::POST,
            "/notices/{id}/delete",
            R::Staff,
            post(notice::delete),
        ),
        // 定期報告 periods: staff of the prefecture look; its whole-prefecture admins and the
        // operator open, extend and close (checked in the handlers).
        entry(M::GET, "/prefecture/periods", R::Staff, get(period::list)),
        entry(M::POST, "/prefecture/periods", R::Staff, post(period::open)),
        entry(
            M::POST,
            "/prefecture/periods/{id}/extend",
            R::Staff,
            post(period::extend),
        ),
        entry(
            M::POST,
            "/prefecture/periods/{id}/close",
            R::Staff,
            post(period::close),
        ),
        // 一括メール配信: staff of the prefecture look; its reviewers and admins and the operator
        // compose, send and stop (a 保健所 area limits them); checked in the handlers.
        // 臨時休診一括処理 (issue 7 §4); the handlers narrow to who may declare in the
        // prefecture and area.
        entry(
            M::GET,
            "/prefecture/closures",
            R::Staff,
            get(closure::batch::list),
        ),
        entry(
            M::GET,
            "/prefecture/closures/new",
            R::Staff,
            get(closure::batch::new_form),
        ),
        entry(
            M::POST,
            "/prefecture/closures/new",
            R::Staff,
            post(closure::batch::new_submit),
        ),
        entry(
            M::GET,
            "/prefecture/closures/{id}",
            R::Staff,
            get(closure::batch::show),
        ),
        entry(
            M::POST,
            "/prefecture/closures/{id}/withdraw",
            R::Staff,
            post(closure::batch::withdraw),
        ),
        entry(
            M::GET,
            "/prefecture/bulk-mail",
            R::Staff,
            get(bulk_mail::list),
        ),
        entry(
            M::GET,
            "/prefecture/bulk-mail/new",
            R::Staff,
            get(bulk_mail::new_form),
        ),
        entry(
            M::POST,
            "/prefecture/bulk-mail/new",
            R::Staff,
            post(bulk_mail::new_submit),
        ),
        entry(
            M::GET,
            "/prefecture/bulk-mail/{id}",
            R::Staff,
            get(bulk_mail::show),
        ),
        entry(
            M::GET,
            "/prefecture/bulk-mail/{id}/edit",
            R::Staff,
            get(bulk_mail::edit_form),
        ),
        entry(
            M::POST,
            "/prefecture/bulk-mail/{id}/edit",
            R::Staff,
            post(bulk_mail::edit_submit),
        ),
        entry(
            M::POST,
            "/prefecture/bulk-mail/{id}/send",
            R::Staff,
            post(bulk_mail::start),
        ),
        entry(
            M::POST,
            "/prefecture/bulk-mail/{id}/cancel",
            R::Staff,
            post(bulk_mail::cancel),
        ),
        // 報告状況一覧, its CSV and the completeness dashboard: staff look at their prefectures'
        // (保健所 staff at their 市区町村), the operator at any; scope in the handlers.
        entry(
            M::GET,
            "/prefecture/status",
            R::Staff,
            get(status::list::page),
        ),
        entry(
            M::GET,
            "/prefecture/status.csv",
            R::Staff,
            get(status::export::download),
        ),
        entry(
            M::GET,
            "/prefecture/dashboard",
            R::Staff,
            get(status::dashboard::page),
        ),
        // The audit trail, in scope.
        entry(M::GET, "/audit", R::Staff, get(audit::page)),
        // Mail log (DOMAIN §3.7): the scope comes from the signed-in user.
        entry(M::GET, "/mail/log", R::Staff, get(mail::log::list)),
        entry(M::GET, "/mail/log/{id}", R::Staff, get(mail::log::detail)),
    ];
    // Not routed at all outside the demo: the outbox shows every mail to anyone.
    if config.demo {
        list.push(entry(
            M::GET,
            "/demo/outbox",
            R::Public,
            get(mail::outbox::list),
        ));
        list.push(entry(
            M::GET,
            "/demo/outbox/{id}",
            R::Public,
            get(mail::outbox::detail),
        ));
    }
    match config.usable_bounce_token() {
        Some(token) => list.push(entry(
            M::POST,
            "/mail/bounces",
            R::Bearer,
            api::bounces::handler(token),
        )),
        None if config.bounce_token.is_some() => {
            tracing::warn!("bounce_token is blank; POST /mail/bounces is not served");
        }
        None => {}
    }
    list
}

/// The routes this configuration serves, with their rules.
pub fn route_table(config: &WebConfig) -> Vec<RouteInfo> {
    entries(config).into_iter().map(|e| e.info).collect()
}

/// The routes, each behind the guard of its rule.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    let limit = crate::auth::limit::config();
    for e in entries(state.config()) {
        let guarded = Guarded {
            state: state.clone(),
            rule: e.info.rule,
            before_mfa: e.before_mfa,
        };
        let mut handler = e.handler;
        if let (true, Some(config)) = (e.limited, &limit) {
            handler = handler.layer(
                tower_governor::GovernorLayer::new(config.clone())
                    .error_handler(crate::auth::limit::too_many),
            );
        }
        // Applied last, so it runs first: session and CSRF before the limit.
        let handler = handler.route_layer(axum::middleware::from_fn_with_state(guarded, guard));
        router = router.route(e.info.path, handler);
    }
    router
}
