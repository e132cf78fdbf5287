//! ログイン and ログアウト. A successful login starts a new session (the id rotates: a session
//! id planted before login is worth nothing after it) and returns to the page that asked for it.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use teikyo_account::{LoginError, LoginOutcome};

use super::see_other;
use crate::auth::cookies::Names;
use crate::auth::{Csrf, MaybeSignedIn, SessionId, SignedIn, safe_next};
use crate::error::WebError;
use crate::html::{Chrome, render};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    title: &'static str,
    csrf: String,
    login_id: String,
    next: Option<String>,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
    done: Option<String>,
}

/// Messages the login page shows after a redirect (`?done=`).
fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "logout" => Some("ログアウトしました。"),
        "everywhere" => Some("すべての端末からログアウトしました。"),
        "restart" => Some(
            "ログインの途中で時間が経ったため、最初からやり直してください。ユーザ名とパスワードをもう一度入力してください。",
        ),
        _ => None,
    }
}

/// The login page again with an error (also after a failed second step).
pub(super) fn with_error(
    csrf: String,
    login_id: &str,
    next: Option<String>,
    error: String,
) -> Result<Response, WebError> {
    Ok(render(&LoginPage {
        chrome: Chrome::new(),
        title: "ログイン",
        csrf,
        // Kept as typed, so a typo is visible; the password never is.
        login_id: login_id.chars().take(64).collect(),
        next,
        error: Some(error),
        notice: None,
    })?
    .into_response())
}

/// Signs `user` in: ends the session the browser came with (ids rotate at login) and starts a
/// new one.
pub(super) async fn start_session(
    state: &AppState,
    old: Option<axum::Extension<SessionId>>,
    user: teikyo_store::UserId,
    now: chrono::DateTime<Utc>,
) -> Result<axum::http::HeaderValue, WebError> {
    let store = state.store();
    if let Some(axum::Extension(SessionId(old))) = old {
        teikyo_account::session::end(store, &old, None, now).await?;
    }
    let session = teikyo_account::session::start(store, user, now, state.config().session).await?;
    Ok(Names::of(state.config()).session_cookie(&session.plain))
}

pub(crate) async fn form(
    MaybeSignedIn(who): MaybeSignedIn,
    Csrf(csrf): Csrf,
    Query(q): Query<LoginQuery>,
) -> Result<Response, WebError> {
    let next = safe_next(q.next.as_deref());
    if who.is_some() {
        return Ok(see_other(next.as_deref().unwrap_or("/home"), &[]));
    }
    Ok(render(&LoginPage {
        chrome: Chrome::new(),
        title: "ログイン",
        csrf,
        login_id: String::new(),
        next,
        error: None,
        notice: notice(q.done.as_deref()),
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    login_id: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    old: Option<axum::Extension<SessionId>>,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let store = state.store();
    let now = Utc::now();
    let next = safe_next(f.next.as_deref());
    match teikyo_account::login(store, &f.login_id, &f.password, now).await {
        Ok(LoginOutcome::Done { user }) => {
            let cookie = start_session(&state, old, user, now).await?;
            Ok(see_other(next.as_deref().unwrap_or("/home"), &[cookie]))
        }
        Ok(LoginOutcome::SecondFactor { pending, .. }) => {
            let cookie = Names::of(state.config()).login_cookie(&pending.plain);
            let to = match &next {
                Some(n) => format!(
                    "/login/code?next={}",
                    form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()
                ),
                None => "/login/code".to_owned(),
            };
            Ok(see_other(&to, &[cookie]))
        }
        Err(e @ (LoginError::Invalid | LoginError::Locked { .. } | LoginError::Disabled)) => {
            with_error(csrf, &f.login_id, next, e.to_string())
        }
        Err(LoginError::Store(e)) => Err(e.into()),
        Err(e) => Err(WebError::Internal(e.to_string())),
    }
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    session: Option<axum::Extension<SessionId>>,
) -> Result<Response, WebError> {
    if let Some(axum::Extension(SessionId(plain))) = session {
        teikyo_account::session::end(state.store(), &plain, Some(who.user.id), Utc::now()).await?;
    }
    let removal = Names::of(state.config()).session_removal();
    Ok(see_other("/login?done=logout", &[removal]))
}

pub(crate) async fn logout_everywhere(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
) -> Result<Response, WebError> {
    teikyo_account::session::end_all(state.store(), who.user.id, Utc::now()).await?;
    let removal = Names::of(state.config()).session_removal();
    Ok(see_other("/login?done=everywhere", &[removal]))
}
