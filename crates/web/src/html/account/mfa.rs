//! 二段階認証: the code step of a login, and the user's own set-up page (QR code for the
//! authenticator app, recovery codes shown once, renewal, turning it off where not required).
//! The work is `teikyo_account::mfa`'s and `teikyo_account::second_factor`'s.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use teikyo_account::LoginError;
use teikyo_account::mfa::{self, MfaError, Verified};

use super::login::{start_session, with_error};
use super::see_other;
use crate::auth::cookies::{self, Names};
use crate::auth::{Csrf, Principal, SessionId, SignedIn, safe_next};
use crate::error::WebError;
use crate::html::{Chrome, render};
use crate::state::AppState;

// ---- The code step of a login ----

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    chrome: Chrome,
    title: &'static str,
    csrf: String,
    next: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

fn pending_cookie(state: &AppState, headers: &axum::http::HeaderMap) -> Option<String> {
    cookies::get(headers, Names::of(state.config()).login)
}

fn restart(state: &AppState) -> Response {
    see_other(
        "/login?done=restart",
        &[Names::of(state.config()).login_removal()],
    )
}

pub(crate) async fn code_form(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: axum::http::HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    let pending = pending_cookie(&state, &headers).unwrap_or_default();
    let open = teikyo_account::pending_second_factor(state.store(), &pending, Utc::now())
        .await
        .map_err(login_error)?;
    if open.is_none() {
        return Ok(restart(&state));
    }
    Ok(render(&CodePage {
        chrome: Chrome::new(),
        title: "確認コードの入力",
        csrf,
        next: safe_next(q.next.as_deref()),
        error: None,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

pub(crate) async fn code_submit(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    headers: axum::http::HeaderMap,
    old: Option<axum::Extension<SessionId>>,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    let now = Utc::now();
    let next = safe_next(f.next.as_deref());
    let pending = pending_cookie(&state, &headers).unwrap_or_default();
    match teikyo_account::second_factor(state.store(), &pending, &f.code, now).await {
        Ok((user, verified)) => {
            let session = start_session(&state, old, user, now).await?;
            let removal = Names::of(state.config()).login_removal();
            let to = match verified {
                // Say how many are left, and offer new ones.
                Verified::RecoveryCode { left } => format!("/account/mfa?recovery_left={left}"),
                Verified::Totp => next.unwrap_or_else(|| "/home".to_owned()),
            };
            Ok(see_other(&to, &[session, removal]))
        }
        Err(e @ LoginError::Mfa(MfaError::WrongCode)) => Ok(render(&CodePage {
            chrome: Chrome::new(),
            title: "確認コードの入力",
            csrf,
            next,
            error: Some(e.to_string()),
        })?
        .into_response()),
        Err(LoginError::SecondFactorExpired) => Ok(restart(&state)),
        Err(e @ (LoginError::Locked { .. } | LoginError::Disabled)) => {
            let mut res = with_error(csrf, "", next, e.to_string())?;
            cookies::append(res.headers_mut(), Names::of(state.config()).login_removal());
            Ok(res)
        }
        Err(e) => Err(login_error(e)),
    }
}

fn login_error(e: LoginError) -> WebError {
    match e {
        LoginError::Store(e) => e.into(),
        e => WebError::Internal(e.to_string()),
    }
}

// ---- The user's own set-up page ----

#[derive(Template)]
#[template(path = "account_mfa.html")]
struct MfaPage {
    chrome: Chrome,
    title: &'static str,
    csrf: String,
    /// The policy requires it and it is not set up yet.
    required_now: bool,
    notice: Option<String>,
    error: Option<String>,
    /// Set up since (Japan time).
    enabled: Option<String>,
    codes_left: u64,
    /// May be turned off (not required for this user).
    can_disable: bool,
    /// An enrolment under way: the QR code (inline SVG) and the secret to type in.
    pending: Option<Pending>,
}

struct Pending {
    qr_svg: String,
    secret_groups: String,
}

#[derive(Template)]
#[template(path = "account_mfa_codes.html")]
struct CodesPage {
    chrome: Chrome,
    title: &'static str,
    first: bool,
    codes: Vec<String>,
}

#[derive(Deserialize)]
pub(crate) struct MfaQuery {
    required: Option<String>,
    recovery_left: Option<u64>,
    done: Option<String>,
}

async fn mfa_page(
    state: &AppState,
    who: &Principal,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let store = state.store();
    let policy = state.config().mfa;
    let user = &who.user;
    let pending = match mfa::pending(store, user).await.map_err(mfa_error)? {
        Some(e) => Some(Pending {
            qr_svg: qr_svg(&e.otpauth_url)?,
            secret_groups: group(&e.secret_base32),
        }),
        None => None,
    };
    let codes_left = if user.mfa_enabled_at.is_some() {
        store.mfa().recovery_codes_left(user.id).await?
    } else {
        0
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        // The set-up step shows the secret: no cache may keep it.
        [(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        )],
        render(&MfaPage {
            chrome: Chrome::new(),
            title: "二段階認証",
            csrf,
            required_now: who.must_set_up_mfa(policy),
            notice,
            error,
            enabled: user.mfa_enabled_at.map(crate::html::mail::tokyo_time),
            codes_left,
            can_disable: !who.mfa_required(policy),
            pending,
        })?,
    )
        .into_response())
}

/// The enrolment URI as a QR code, inline SVG (no script, no image request).
fn qr_svg(url: &str) -> Result<String, WebError> {
    let code = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| WebError::Internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// `JBSW Y3DP …`: groups of four are easier to type from the screen into a phone.
fn group(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn mfa_error(e: MfaError) -> WebError {
    match e {
        MfaError::Store(e) => e.into(),
        e => WebError::Internal(e.to_string()),
    }
}

pub(crate) async fn page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Query(q): Query<MfaQuery>,
) -> Result<Response, WebError> {
    let notice = match (q.recovery_left, q.done.as_deref(), q.required.as_deref()) {
        (Some(0), _, _) => Some(
            "回復コードでログインしました。回復コードはもう残っていません。下の「回復コードを再発行する」から新しいコードを受け取ってください。"
                .to_owned(),
        ),
        (Some(n), _, _) => Some(format!(
            "回復コードでログインしました。使ったコードはもう使えません（残り{n}個）。認証アプリの端末をなくされた場合は、いったん解除して設定し直してください。"
        )),
        (None, Some("disabled"), _) => Some("二段階認証を解除しました。".to_owned()),
        (None, None, Some(_)) if who.must_set_up_mfa(state.config().mfa) => Some(
            "都道府県・運営の職員の方は、二段階認証の設定が必要です。設定が終わるまで、他の画面はご利用いただけません。"
                .to_owned(),
        ),
        _ => None,
    };
    mfa_page(&state, &who, csrf, notice, None).await
}

pub(crate) async fn begin(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
) -> Result<Response, WebError> {
    match mfa::begin(state.store(), &who.user).await {
        Ok(_) | Err(MfaError::AlreadyEnabled) => Ok(see_other("/account/mfa", &[])),
        Err(e) => Err(mfa_error(e)),
    }
}

#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

pub(crate) async fn confirm(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Form(f): Form<ConfirmForm>,
) -> Result<Response, WebError> {
    match mfa::confirm(state.store(), &who.user, &f.password, &f.code, Utc::now()).await {
        Ok(codes) => codes_page(codes, true),
        Err(
            e @ (MfaError::WrongCode
            | MfaError::NotStarted
            | MfaError::WrongPassword
            | MfaError::Locked(_)),
        ) => mfa_page(&state, &who, csrf, None, Some(e.to_string())).await,
        Err(MfaError::AlreadyEnabled) => Ok(see_other("/account/mfa", &[])),
        Err(e) => Err(mfa_error(e)),
    }
}

fn codes_page(codes: Vec<String>, first: bool) -> Result<Response, WebError> {
    let mut res = render(&CodesPage {
        chrome: Chrome::new(),
        title: "回復コード",
        first,
        codes,
    })?
    .into_response();
    // Shown once: no cache may keep them.
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    password: String,
}

pub(crate) async fn renew_codes(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Form(f): Form<PasswordForm>,
) -> Result<Response, WebError> {
    match mfa::renew_recovery_codes(state.store(), &who.user, &f.password, Utc::now()).await {
        Ok(codes) => codes_page(codes, false),
        Err(e @ (MfaError::WrongPassword | MfaError::NotStarted | MfaError::Locked(_))) => {
            mfa_page(&state, &who, csrf, None, Some(e.to_string())).await
        }
        Err(e) => Err(mfa_error(e)),
    }
}

pub(crate) async fn disable(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Form(f): Form<PasswordForm>,
) -> Result<Response, WebError> {
    if who.mfa_required(state.config().mfa) {
        return Err(WebError::Forbidden);
    }
    match mfa::disable(state.store(), &who.user, &f.password, Utc::now()).await {
        Ok(()) => Ok(see_other("/account/mfa?done=disabled", &[])),
        Err(e @ (MfaError::WrongPassword | MfaError::Locked(_))) => {
            mfa_page(&state, &who, csrf, None, Some(e.to_string())).await
        }
        Err(e) => Err(mfa_error(e)),
    }
}
