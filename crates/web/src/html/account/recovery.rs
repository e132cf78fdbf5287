//! 「パスワードをお忘れですか？」 and 「ユーザ名をお忘れですか？」. Every request that names
//! something gets the same answer and the same work (one job queued), whether or not it names an
//! account: the page cannot be used to find out which user names or addresses exist.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use teikyo_account::recovery;

use super::see_other;
use crate::auth::Csrf;
use crate::error::WebError;
use crate::html::{Chrome, render};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    chrome: Chrome,
    title: &'static str,
    csrf: String,
    typed: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "password_sent.html")]
struct SentPage {
    chrome: Chrome,
    title: &'static str,
    csrf: String,
    typed: String,
    resent: bool,
    expires_minutes: i64,
}

#[derive(Template)]
#[template(path = "login_id_forgot.html")]
struct LoginIdPage {
    chrome: Chrome,
    title: &'static str,
    csrf: String,
    sent: bool,
    code: String,
    email: String,
    errors: Vec<(&'static str, &'static str)>,
}

/// Longest value echoed back into a form.
const MAX_ECHO: usize = 254;

fn echo(s: &str) -> String {
    s.trim().chars().take(MAX_ECHO).collect()
}

pub(crate) async fn forgot_form(Csrf(csrf): Csrf) -> Result<Response, WebError> {
    Ok(render(&ForgotPage {
        chrome: Chrome::new(),
        title: "パスワードのリセット",
        csrf,
        typed: String::new(),
        error: None,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct ForgotForm {
    #[serde(default)]
    login_id: String,
}

pub(crate) async fn forgot_submit(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Form(f): Form<ForgotForm>,
) -> Result<Response, WebError> {
    let typed = echo(&f.login_id);
    if typed.is_empty() {
        return Ok(render(&ForgotPage {
            chrome: Chrome::new(),
            title: "パスワードのリセット",
            csrf,
            typed,
            error: Some("ユーザー名を入力してください。"),
        })?
        .into_response());
    }
    recovery::request_password_reset(state.store(), &typed).await?;
    Ok(see_other(&sent_href(&typed, false), &[]))
}

fn sent_href(typed: &str, resent: bool) -> String {
    let id: String = form_urlencoded::byte_serialize(typed.as_bytes()).collect();
    if resent {
        format!("/password/sent?id={id}&resent=1")
    } else {
        format!("/password/sent?id={id}")
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SentQuery {
    #[serde(default)]
    id: String,
    resent: Option<String>,
}

/// 「メールの確認」 (DOMAIN §3.9 step 3): said whether or not a mail went out.
pub(crate) async fn sent(
    Csrf(csrf): Csrf,
    Query(q): Query<SentQuery>,
) -> Result<Response, WebError> {
    Ok(render(&SentPage {
        chrome: Chrome::new(),
        title: "メールの確認",
        csrf,
        typed: echo(&q.id),
        resent: q.resent.is_some(),
        expires_minutes: recovery::RESET_VALID.num_minutes(),
    })?
    .into_response())
}

/// 「メールの再送信」: a new request for the same name (the newest link replaces the older one).
pub(crate) async fn resend(
    State(state): State<AppState>,
    Form(f): Form<ForgotForm>,
) -> Result<Response, WebError> {
    let typed = echo(&f.login_id);
    if typed.is_empty() {
        return Ok(see_other("/password/forgot", &[]));
    }
    recovery::request_password_reset(state.store(), &typed).await?;
    Ok(see_other(&sent_href(&typed, true), &[]))
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginIdQuery {
    sent: Option<String>,
}

pub(crate) async fn login_id_form(
    Csrf(csrf): Csrf,
    Query(q): Query<LoginIdQuery>,
) -> Result<Response, WebError> {
    Ok(render(&LoginIdPage {
        chrome: Chrome::new(),
        title: "ユーザー名のお問い合わせ",
        csrf,
        sent: q.sent.is_some(),
        code: String::new(),
        email: String::new(),
        errors: Vec::new(),
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct LoginIdForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    email: String,
}

pub(crate) async fn login_id_submit(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Form(f): Form<LoginIdForm>,
) -> Result<Response, WebError> {
    let code = echo(&f.code);
    let email = echo(&f.email);
    let mut errors = Vec::new();
    if code.is_empty() {
        errors.push(("code", "医療機関コードまたは機関コードを入力してください。"));
    }
    if email.is_empty() {
        errors.push(("email", "メールアドレスを入力してください。"));
    } else if !email.contains('@') {
        errors.push(("email", "メールアドレスの形式が正しくありません。"));
    }
    if !errors.is_empty() {
        return Ok(render(&LoginIdPage {
            chrome: Chrome::new(),
            title: "ユーザー名のお問い合わせ",
            csrf,
            sent: false,
            code,
            email,
            errors,
        })?
        .into_response());
    }
    recovery::request_login_ids(state.store(), &code, &email).await?;
    Ok(see_other("/login-id/forgot?sent=1", &[]))
}
