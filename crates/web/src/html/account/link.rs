//! The password links of the 利用案内メール (`/s/…`, first setting) and of the reset mail
//! (`/r/…`). Opening a link only shows the form; the POST uses the link, once. A used or
//! expired link says so — when — and offers a new one (S3 No.7: the group mailbox).
//! Setting the password signs the user in and lands on the home screen (DOMAIN §3.9).

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use teikyo_account::{LinkError, LoginError};
use teikyo_domain::account::{AccountError, PasswordProblem};
use teikyo_store::{TokenPurpose, UserId};

use super::see_other;
use crate::auth::Csrf;
use crate::auth::cookies::Names;
use crate::error::WebError;
use crate::html::{Chrome, render};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "password_link.html")]
struct LinkPage {
    chrome: Chrome,
    title: &'static str,
    heading: &'static str,
    csrf: String,
    action: String,
    login_id: String,
    rules: Vec<&'static str>,
    errors: Vec<String>,
    problem: Option<String>,
}

#[derive(Clone, Copy)]
enum Kind {
    Setup,
    Reset,
}

impl Kind {
    fn purpose(self) -> TokenPurpose {
        match self {
            Self::Setup => TokenPurpose::PasswordSetup,
            Self::Reset => TokenPurpose::PasswordReset,
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Self::Setup => "パスワードの初期設定",
            Self::Reset => "パスワードの再設定",
        }
    }

    fn action(self, token: &str) -> String {
        match self {
            Self::Setup => format!("/s/{token}"),
            Self::Reset => format!("/r/{token}"),
        }
    }
}

impl LinkPage {
    fn new(kind: Kind, csrf: String, token: &str) -> Self {
        Self {
            chrome: Chrome::new(),
            title: kind.heading(),
            heading: kind.heading(),
            csrf,
            action: kind.action(token),
            login_id: String::new(),
            rules: PasswordProblem::RULES
                .iter()
                .map(|r| r.requirement())
                .collect(),
            errors: Vec::new(),
            problem: None,
        }
    }
}

async fn show(
    state: AppState,
    kind: Kind,
    csrf: String,
    token: String,
) -> Result<Response, WebError> {
    let mut page = LinkPage::new(kind, csrf, &token);
    let found = if teikyo_account::is_plausible_token(&token) {
        teikyo_account::inspect_link(state.store(), &token, kind.purpose(), Utc::now()).await
    } else {
        Err(LinkError::Unknown)
    };
    match found {
        Ok(user) => page.login_id = login_id_of(&state, user).await?,
        Err(e) => page.problem = Some(link_problem(e)?),
    }
    Ok(render(&page)?.into_response())
}

async fn login_id_of(state: &AppState, user: UserId) -> Result<String, WebError> {
    Ok(state
        .store()
        .users()
        .get(user)
        .await?
        .map(|u| u.login_id.as_str().to_owned())
        .unwrap_or_default())
}

/// The message for a link that cannot be used; other failures are errors.
fn link_problem(e: LinkError) -> Result<String, WebError> {
    match e {
        LinkError::Used(_)
        | LinkError::Expired(_)
        | LinkError::Replaced(_)
        | LinkError::Unknown => Ok(e.to_string()),
        LinkError::Login(LoginError::Store(e)) => Err(e.into()),
        LinkError::Login(e) => Err(WebError::Internal(e.to_string())),
    }
}

pub(crate) async fn setup_form(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    show(state, Kind::Setup, csrf, token).await
}

pub(crate) async fn reset_form(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    show(state, Kind::Reset, csrf, token).await
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn submit(
    state: AppState,
    kind: Kind,
    csrf: String,
    token: String,
    f: PasswordForm,
) -> Result<Response, WebError> {
    if !teikyo_account::is_plausible_token(&token) {
        let mut page = LinkPage::new(kind, csrf, &token);
        page.problem = Some(LinkError::Unknown.to_string());
        return Ok(render(&page)?.into_response());
    }
    let now = Utc::now();
    let mut errors = Vec::new();
    if let Err(AccountError::Password(problems)) =
        teikyo_domain::account::check_password(&f.password)
    {
        errors.extend(problems.0.iter().map(|p| {
            format!(
                "パスワードが「{}」の条件を満たしていません。",
                p.requirement()
            )
        }));
    }
    if errors.is_empty() && f.password != f.confirm {
        errors.push("新しいパスワードと確認用のパスワードが一致しません。".to_owned());
    }
    if !errors.is_empty() {
        // The link is not used by a form with mistakes.
        let mut page = LinkPage::new(kind, csrf, &token);
        match teikyo_account::inspect_link(state.store(), &token, kind.purpose(), now).await {
            Ok(user) => page.login_id = login_id_of(&state, user).await?,
            Err(e) => page.problem = Some(link_problem(e)?),
        }
        page.errors = errors;
        return Ok(render(&page)?.into_response());
    }
    match teikyo_account::set_password_with_token(
        state.store(),
        &token,
        kind.purpose(),
        &f.password,
        now,
    )
    .await
    {
        Ok(user) => {
            if let Ok(templates) = state.mail_templates()
                && let Err(e) = teikyo_account::recovery::notify_password_changed(
                    state.store(),
                    templates,
                    user,
                    now,
                )
                .await
            {
                // The password is set; a failed notice must not undo that for the user.
                tracing::error!(error = %e, "パスワード設定のお知らせを作成できませんでした");
            }
            let store = state.store();
            let has_second_factor = store
                .users()
                .get(user)
                .await?
                .is_some_and(|u| u.mfa_enabled_at.is_some());
            if has_second_factor {
                // The mailbox alone does not sign in: the code step follows, as at login.
                let pending = teikyo_account::start_second_factor(store, user, now).await?;
                let cookie = Names::of(state.config()).login_cookie(&pending.plain);
                return Ok(see_other("/login/code", &[cookie]));
            }
            let session =
                teikyo_account::session::start(store, user, now, state.config().session).await?;
            let cookie = Names::of(state.config()).session_cookie(&session.plain);
            Ok(see_other("/home?done=password", &[cookie]))
        }
        Err(e) => {
            let mut page = LinkPage::new(kind, csrf, &token);
            page.problem = Some(link_problem(e)?);
            Ok(render(&page)?.into_response())
        }
    }
}

pub(crate) async fn setup_submit(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Path(token): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<Response, WebError> {
    submit(state, Kind::Setup, csrf, token, f).await
}

pub(crate) async fn reset_submit(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Path(token): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<Response, WebError> {
    submit(state, Kind::Reset, csrf, token, f).await
}
