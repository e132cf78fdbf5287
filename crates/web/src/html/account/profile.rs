//! ユーザ基礎情報 (DOMAIN §3.10): view and edit; the address through a link to the new one.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use teikyo_account::profile::{self, ProfileError, ProfileForm};

use super::see_other;
use crate::auth::{Csrf, SignedIn};
use crate::error::WebError;
use crate::html::{Chrome, render};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    title: &'static str,
    csrf: String,
    login_id: String,
    email: String,
    new_email: String,
    email_error: Option<String>,
    notice: Option<&'static str>,
    /// (name, label, value, invalid)
    fields: Vec<(&'static str, &'static str, String, bool)>,
    errors: Vec<(&'static str, String)>,
}

fn fields(
    f: &ProfileForm,
    errors: &[(&'static str, String)],
) -> Vec<(&'static str, &'static str, String, bool)> {
    let bad = |n: &str| errors.iter().any(|e| e.0 == n);
    vec![
        (
            "family_name",
            "姓",
            f.family_name.clone(),
            bad("family_name"),
        ),
        ("given_name", "名", f.given_name.clone(), bad("given_name")),
        ("phone", "電話", f.phone.clone(), bad("phone")),
        ("extension", "内線", f.extension.clone(), bad("extension")),
        ("fax", "Fax", f.fax.clone(), bad("fax")),
        (
            "department",
            "担当部署",
            f.department.clone(),
            bad("department"),
        ),
    ]
}

#[derive(Deserialize)]
pub(crate) struct AccountQuery {
    done: Option<String>,
}

pub(crate) async fn page(
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Query(q): Query<AccountQuery>,
) -> Result<Response, WebError> {
    let u = &who.user;
    let form = ProfileForm::of(u);
    Ok(render(&AccountPage {
        chrome: Chrome::new(),
        title: "ユーザ基礎情報",
        csrf,
        login_id: u.login_id.as_str().to_owned(),
        email: u.email.clone(),
        new_email: String::new(),
        email_error: None,
        notice: match q.done.as_deref() {
            Some("saved") => Some("保存しました。"),
            Some("email") => Some(
                "新しいメールアドレスに確認のメールをお送りしました。メールのリンクから変更を確定してください。",
            ),
            _ => None,
        },
        fields: fields(&form, &[]),
        errors: Vec::new(),
    })?
    .into_response())
}

pub(crate) async fn save(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Form(form): Form<ProfileForm>,
) -> Result<Response, WebError> {
    match profile::update(state.store(), who.user.id, &form, Utc::now()).await? {
        Ok(()) => Ok(see_other("/account?done=saved", &[])),
        Err(errors) => Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            render(&AccountPage {
                chrome: Chrome::new(),
                title: "ユーザ基礎情報",
                csrf,
                login_id: who.user.login_id.as_str().to_owned(),
                email: who.user.email.clone(),
                new_email: String::new(),
                email_error: None,
                notice: None,
                fields: fields(&form, &errors),
                errors,
            })?,
        )
            .into_response()),
    }
}

#[derive(Deserialize)]
pub(crate) struct EmailForm {
    #[serde(default)]
    email: String,
}

pub(crate) async fn request_email(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Form(f): Form<EmailForm>,
) -> Result<Response, WebError> {
    let templates = state.mail_templates()?;
    let email: String = f.email.trim().chars().take(254).collect();
    match profile::request_email_change(state.store(), templates, who.user.id, &email, Utc::now())
        .await
    {
        Ok(()) => Ok(see_other("/account?done=email", &[])),
        Err(e @ (ProfileError::Email | ProfileError::SameEmail)) => {
            let u = &who.user;
            let form = ProfileForm::of(u);
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                render(&AccountPage {
                    chrome: Chrome::new(),
                    title: "ユーザ基礎情報",
                    csrf,
                    login_id: u.login_id.as_str().to_owned(),
                    email: u.email.clone(),
                    new_email: email,
                    email_error: Some(e.to_string()),
                    notice: None,
                    fields: fields(&form, &[]),
                    errors: Vec::new(),
                })?,
            )
                .into_response())
        }
        Err(ProfileError::Store(e)) => Err(e.into()),
        Err(e) => Err(WebError::Internal(e.to_string())),
    }
}

#[derive(Template)]
#[template(path = "email_link.html")]
struct EmailLinkPage {
    chrome: Chrome,
    title: &'static str,
    csrf: String,
    action: String,
    login_id: String,
    email: String,
    done: bool,
    problem: Option<String>,
}

fn link_problem(e: ProfileError) -> Result<String, WebError> {
    match e {
        ProfileError::Store(e) => Err(e.into()),
        ProfileError::Template(e) => Err(WebError::Internal(e.to_string())),
        other => Ok(other.to_string()),
    }
}

pub(crate) async fn email_link(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let mut page = EmailLinkPage {
        chrome: Chrome::new(),
        title: "メールアドレスの変更",
        csrf,
        action: format!("/e/{token}"),
        login_id: String::new(),
        email: String::new(),
        done: false,
        problem: None,
    };
    let found = if teikyo_account::is_plausible_token(&token) {
        profile::inspect_email_link(state.store(), &token, Utc::now()).await
    } else {
        Err(ProfileError::Unknown)
    };
    match found {
        Ok((user, email)) => {
            page.email = email;
            page.login_id = state
                .store()
                .users()
                .get(user)
                .await?
                .map(|u| u.login_id.as_str().to_owned())
                .unwrap_or_default();
        }
        Err(e) => page.problem = Some(link_problem(e)?),
    }
    Ok(render(&page)?.into_response())
}

pub(crate) async fn email_confirm(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let mut page = EmailLinkPage {
        chrome: Chrome::new(),
        title: "メールアドレスの変更",
        csrf,
        action: format!("/e/{token}"),
        login_id: String::new(),
        email: String::new(),
        done: false,
        problem: None,
    };
    let result = if teikyo_account::is_plausible_token(&token) {
        profile::confirm_email_change(state.store(), state.mail_templates()?, &token, Utc::now())
            .await
    } else {
        Err(ProfileError::Unknown)
    };
    match result {
        Ok(email) => {
            page.email = email;
            page.done = true;
        }
        Err(e) => page.problem = Some(link_problem(e)?),
    }
    Ok(render(&page)?.into_response())
}
