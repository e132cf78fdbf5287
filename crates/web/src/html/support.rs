//! Support tools for the helpdesk side (DOMAIN §3.7, §3.13): find a facility's users, see their
//! account mails (送信完了 / 不達), change an address on request, re-issue the setup link, stop
//! or resume an account; the operator's 棚卸し with bulk 停止. Staff see users of facilities in
//! their scope; changing anything needs a reviewer or admin there (or the operator).

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde::Deserialize;
use teikyo_account::profile::{self, ProfileError};
use teikyo_domain::account::{FacilityScope, LoginId, Membership};
use teikyo_domain::{FacilityCode, InsuranceCode};
use teikyo_store::{FacilityId, MailFilter, User, UserId};

use super::account::see_other;
use super::mail::tokyo_time;
use super::{Chrome, render};
use crate::auth::{Csrf, Principal, SignedIn};
use crate::error::WebError;
use crate::state::AppState;

/// 棚卸し: a year without login.
const IDLE_DAYS: i64 = 365;

struct Row {
    id: i64,
    login_id: String,
    name: String,
    email: String,
    facilities: String,
    last_login: String,
    status: &'static str,
}

/// The facilities a user acts for, with their scope.
/// A user's facilities, and whether they hold any other role (prefecture staff, delegate,
/// operator): such accounts are managed at 「職員・代行者の管理」, not by the support tools.
pub(crate) struct Facilities {
    list: Vec<(FacilityScope, String)>,
    other_roles: bool,
}

impl std::ops::Deref for Facilities {
    type Target = [(FacilityScope, String)];
    fn deref(&self) -> &Self::Target {
        &self.list
    }
}

async fn facilities_of(state: &AppState, user: UserId) -> Result<Facilities, WebError> {
    let access = state.store().users().access(user).await?;
    let mut ids = Vec::new();
    let mut other_roles = false;
    for m in access.memberships {
        match m {
            Membership::Facility { facility_id, .. } => ids.push(FacilityId(facility_id)),
            _ => other_roles = true,
        }
    }
    let list = state
        .store()
        .facilities()
        .get_many(&ids)
        .await?
        .into_iter()
        .map(|f| (f.scope(), f.record.names.official))
        .collect();
    Ok(Facilities { list, other_roles })
}

fn sees(who: &Principal, facilities: &[(FacilityScope, String)]) -> bool {
    who.access.is_operator()
        || facilities
            .iter()
            .any(|(s, _)| who.access.sees_facility(s) && who.is_staff())
}

/// May change the user's address, re-issue the setup link, stop the account or remove its
/// second factor: only a facility user (any other role would let facility-level support take
/// over a staff account), and only if every one of their facilities is the actor's to review —
/// a chain clerk with clinics in two prefectures is for the operator.
fn manages(who: &Principal, facilities: &Facilities) -> bool {
    !facilities.other_roles
        && (who.access.is_operator()
            || (!facilities.is_empty()
                && facilities
                    .iter()
                    .all(|(s, _)| who.access.reviews_facility(s))))
}

fn status(u: &User) -> &'static str {
    if u.active {
        "利用中"
    } else {
        "利用停止"
    }
}

async fn row(state: &AppState, who: &Principal, u: User) -> Result<Option<Row>, WebError> {
    let facilities = facilities_of(state, u.id).await?;
    if !sees(who, &facilities) {
        return Ok(None);
    }
    Ok(Some(Row {
        id: u.id.0,
        login_id: u.login_id.as_str().to_owned(),
        name: format!("{} {}", u.family_name, u.given_name),
        email: u.email.clone(),
        facilities: facilities
            .iter()
            .map(|f| f.1.as_str())
            .collect::<Vec<_>>()
            .join("、"),
        last_login: u.last_login_at.map_or("なし".to_owned(), tokyo_time),
        status: status(&u),
    }))
}

#[derive(Template)]
#[template(path = "support_users.html")]
struct UsersPage {
    chrome: Chrome,
    title: &'static str,
    q: String,
    searched: bool,
    operator: bool,
    rows: Vec<Row>,
}

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub(crate) async fn users(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Query(s): Query<SearchQuery>,
) -> Result<Response, WebError> {
    let q: String = s.q.trim().chars().take(254).collect();
    let mut found: Vec<User> = Vec::new();
    if !q.is_empty() {
        let store = state.store();
        if let Ok(id) = LoginId::parse(&q)
            && let Some(u) = store.users().find_by_login_id(&id).await?
        {
            found.push(u);
        }
        if q.contains('@') {
            found.extend(store.users().find_by_email(&q).await?);
        }
        let mut facilities = Vec::new();
        if let Ok(code) = InsuranceCode::parse(&q) {
            facilities.extend(store.facilities().find_by_insurance_code(&code).await?);
        }
        if let Ok(code) = FacilityCode::parse(&q) {
            facilities.extend(store.facilities().find_by_facility_code(&code).await?);
        }
        for f in facilities {
            found.extend(store.users().of_facility(f.id.0).await?);
        }
        found.sort_by_key(|u| u.id);
        found.dedup_by_key(|u| u.id);
    }
    let mut rows = Vec::new();
    for u in found {
        if let Some(r) = row(&state, &who, u).await? {
            rows.push(r);
        }
    }
    Ok(render(&UsersPage {
        chrome: Chrome::new(),
        title: "利用者の検索",
        searched: !q.is_empty(),
        q,
        operator: who.access.is_operator(),
        rows,
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "support_user.html")]
struct UserPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    id: i64,
    login_id: String,
    name: String,
    email: String,
    facilities: String,
    last_login: String,
    password: &'static str,
    status: &'static str,
    active: bool,
    /// When the second factor was set up, if it was.
    mfa: Option<String>,
    mails: Vec<(String, String, &'static str)>,
    can_manage: bool,
    notice: Option<String>,
    error: Option<String>,
    setup_link: Option<String>,
}

/// The user, if the signed-in staff member may see them (others are "not found").
async fn load(state: &AppState, who: &Principal, id: &str) -> Result<(User, Facilities), WebError> {
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    let u = state
        .store()
        .users()
        .get(UserId(id))
        .await?
        .ok_or(WebError::NotFound)?;
    let facilities = facilities_of(state, u.id).await?;
    if !sees(who, &facilities) {
        return Err(WebError::NotFound);
    }
    Ok((u, facilities))
}

/// What the last action says on the user's page.
#[derive(Default)]
struct Said {
    notice: Option<String>,
    error: Option<String>,
    setup_link: Option<String>,
}

async fn user_page(
    state: &AppState,
    who: &Principal,
    csrf: String,
    u: User,
    facilities: Facilities,
    said: Said,
) -> Result<Response, WebError> {
    let Said {
        notice,
        error,
        setup_link,
    } = said;
    let mails = if u.email.is_empty() {
        Vec::new()
    } else {
        state
            .store()
            .mails()
            .list(
                &MailFilter {
                    to: Some(u.email.clone()),
                    ..MailFilter::default()
                },
                10,
                0,
            )
            .await?
            .into_iter()
            .map(|m| (tokyo_time(m.created_at), m.subject, m.status.label()))
            .collect()
    };
    let status_code = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status_code,
        render(&UserPage {
            chrome: Chrome::new(),
            title: format!("利用者 {}", u.login_id.as_str()),
            csrf,
            id: u.id.0,
            login_id: u.login_id.as_str().to_owned(),
            name: format!("{} {}", u.family_name, u.given_name),
            email: if u.email.is_empty() {
                "（なし）".to_owned()
            } else {
                u.email.clone()
            },
            facilities: facilities
                .iter()
                .map(|f| f.1.as_str())
                .collect::<Vec<_>>()
                .join("、"),
            last_login: u.last_login_at.map_or("なし".to_owned(), tokyo_time),
            password: if u.password_hash.is_some() {
                "設定済み"
            } else {
                "未設定（利用案内メールのリンクから設定されていません）"
            },
            status: status(&u),
            active: u.active,
            mfa: u.mfa_enabled_at.map(tokyo_time),
            mails,
            can_manage: manages(who, &facilities),
            notice,
            error,
            setup_link,
        })?,
    )
        .into_response())
}

pub(crate) async fn user(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (u, facilities) = load(&state, &who, &id).await?;
    user_page(&state, &who, csrf, u, facilities, Said::default()).await
}

#[derive(Deserialize)]
pub(crate) struct EmailForm {
    #[serde(default)]
    email: String,
}

pub(crate) async fn change_email(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Form(f): Form<EmailForm>,
) -> Result<Response, WebError> {
    let (u, facilities) = load(&state, &who, &id).await?;
    if !manages(&who, &facilities) {
        return Err(WebError::Forbidden);
    }
    let email: String = f.email.trim().chars().take(254).collect();
    match profile::change_email(
        state.store(),
        state.mail_templates()?,
        u.id,
        &email,
        Some(who.user.id),
        Utc::now(),
    )
    .await
    {
        Ok(()) => {
            let (u, facilities) = load(&state, &who, &id).await?;
            let notice = format!(
                "メールアドレスを {email} に変更しました。変更前のアドレスにも通知しました。"
            );
            let said = Said {
                notice: Some(notice),
                ..Said::default()
            };
            user_page(&state, &who, csrf, u, facilities, said).await
        }
        Err(e @ ProfileError::Email) => {
            let said = Said {
                error: Some(e.to_string()),
                ..Said::default()
            };
            user_page(&state, &who, csrf, u, facilities, said).await
        }
        Err(ProfileError::Store(e)) => Err(e.into()),
        Err(e) => Err(WebError::Internal(e.to_string())),
    }
}

pub(crate) async fn reissue(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (u, facilities) = load(&state, &who, &id).await?;
    if !manages(&who, &facilities) {
        return Err(WebError::Forbidden);
    }
    let facility_name = facilities.first().map(|f| f.1.clone()).unwrap_or_default();
    let link = teikyo_account::support::reissue_setup_link(
        state.store(),
        state.mail_templates()?,
        u.id,
        &facility_name,
        who.user.id,
        facilities.first().map(|f| &f.0),
        Utc::now(),
    )
    .await
    .map_err(|e| WebError::Internal(e.to_string()))?;
    let notice = if link.is_some() {
        "パスワード設定用のリンクを再発行しました。以前のリンクは使えなくなりました。".to_owned()
    } else {
        "パスワード設定のご案内（利用案内メール）を再送信しました。以前のリンクは使えなくなりました。".to_owned()
    };
    let said = Said {
        notice: Some(notice),
        setup_link: link,
        ..Said::default()
    };
    user_page(&state, &who, csrf, u, facilities, said).await
}

#[derive(Deserialize)]
pub(crate) struct ActiveForm {
    #[serde(default)]
    active: String,
}

pub(crate) async fn set_active(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<ActiveForm>,
) -> Result<Response, WebError> {
    let (u, facilities) = load(&state, &who, &id).await?;
    if !manages(&who, &facilities) || u.id == who.user.id {
        return Err(WebError::Forbidden);
    }
    teikyo_account::support::set_active(
        state.store(),
        u.id,
        f.active == "yes",
        who.user.id,
        facilities.first().map(|f| &f.0),
        Utc::now(),
    )
    .await?;
    Ok(see_other(&format!("/support/users/{}", u.id.0), &[]))
}

/// The user lost the phone with the authenticator app and the recovery codes: support removes
/// the second factor after checking who is asking (by phone, as for an address change); the
/// user sets it up again at the next login where it is required.
pub(crate) async fn reset_mfa(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (u, facilities) = load(&state, &who, &id).await?;
    if !manages(&who, &facilities) || u.id == who.user.id {
        return Err(WebError::Forbidden);
    }
    teikyo_account::support::reset_mfa(
        state.store(),
        u.id,
        who.user.id,
        facilities.first().map(|f| &f.0),
        Utc::now(),
    )
    .await?;
    Ok(see_other(&format!("/support/users/{}", u.id.0), &[]))
}

// ---- 棚卸し (operator) ----

struct InventoryRow {
    id: i64,
    login_id: String,
    reason: &'static str,
    last_login: String,
}

#[derive(Template)]
#[template(path = "support_inventory.html")]
struct InventoryPage {
    chrome: Chrome,
    title: &'static str,
    csrf: String,
    idle_days: i64,
    notice: Option<String>,
    rows: Vec<InventoryRow>,
}

#[derive(Deserialize)]
pub(crate) struct InventoryQuery {
    stopped: Option<u64>,
}

pub(crate) async fn inventory(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Query(q): Query<InventoryQuery>,
) -> Result<Response, WebError> {
    let list = state
        .store()
        .users()
        .inventory(Utc::now() - Duration::days(IDLE_DAYS), 500)
        .await?;
    Ok(render(&InventoryPage {
        chrome: Chrome::new(),
        title: "アカウントの棚卸し",
        csrf,
        idle_days: IDLE_DAYS,
        notice: q
            .stopped
            .map(|n| format!("{n} 件のアカウントの利用を停止しました。")),
        rows: list
            .into_iter()
            .map(|(u, reason)| InventoryRow {
                id: u.id.0,
                login_id: u.login_id.as_str().to_owned(),
                reason: reason.label(),
                last_login: u.last_login_at.map_or("なし".to_owned(), tokyo_time),
            })
            .collect(),
    })?
    .into_response())
}

/// Stops every account ticked (`user=<id>` repeated).
pub(crate) async fn inventory_deactivate(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    body: Bytes,
) -> Result<Response, WebError> {
    let ids: Vec<i64> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "user")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let mut n = 0u64;
    for id in ids {
        if id == who.user.id.0 {
            continue;
        }
        teikyo_account::support::set_active(
            state.store(),
            UserId(id),
            false,
            who.user.id,
            None,
            Utc::now(),
        )
        .await?;
        n += 1;
    }
    Ok(see_other(&format!("/support/inventory?stopped={n}"), &[]))
}
