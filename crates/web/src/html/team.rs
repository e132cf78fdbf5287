//! Managing who may act: a prefecture's staff and delegates (`/staff`, its whole-prefecture
//! admins and the operator) and a facility's users (`/facility/{id}/users`, the facility's
//! admins, and the staff who manage its users). The work is `teikyo_account::team`'s.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use teikyo_account::team::{self, InviteForm, Invited, Invitee, Role, TeamError};
use teikyo_domain::PrefectureCode;
use teikyo_domain::account::{Area, FacilityScope, Membership};
use teikyo_domain::registration::FieldError;
use teikyo_store::{FacilityId, MembershipOf, User, UserId};

use super::account::see_other;
use super::mail::tokyo_time;
use crate::auth::{Csrf, Principal, SignedIn};
use crate::error::WebError;
use crate::html::{Chrome, render};
use crate::state::AppState;

/// One person on a list.
struct Member {
    id: i64,
    login_id: String,
    name: String,
    email: String,
    /// What they may do here, in words.
    role: String,
    last_login: String,
    mfa: bool,
    /// The remove button's `kind` (staff | delegate | facility); `None`: not removable here.
    remove: Option<&'static str>,
}

fn member(u: &User, role: String, remove: Option<&'static str>) -> Member {
    Member {
        id: u.id.0,
        login_id: u.login_id.as_str().to_owned(),
        name: format!("{} {}", u.family_name, u.given_name),
        email: u.email.clone(),
        role,
        last_login: u.last_login_at.map_or("なし".to_owned(), tokyo_time),
        mfa: u.mfa_enabled_at.is_some(),
        remove,
    }
}

fn errors_of(e: &TeamError) -> Vec<(String, String)> {
    match e {
        TeamError::Invalid(list) => list
            .iter()
            .map(|FieldError { field, message }| ((*field).to_owned(), message.clone()))
            .collect(),
        TeamError::ExistingMismatch | TeamError::AlreadyMember => {
            vec![("existing_login_id".to_owned(), e.to_string())]
        }
        other => vec![("email".to_owned(), other.to_string())],
    }
}

fn team_error(e: TeamError) -> WebError {
    match e {
        TeamError::Store(e) => e.into(),
        e => WebError::Internal(e.to_string()),
    }
}

// ---- The prefecture's staff and delegates ----

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    prefecture: String,
    prefecture_name: &'static str,
    /// The operator chooses the prefecture: (code, name, selected).
    choices: Vec<(String, &'static str, bool)>,
    members: Vec<Member>,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    /// The two forms, the one that failed filled in as posted.
    staff_form: InviteForm,
    delegate_form: InviteForm,
}

#[derive(Deserialize)]
pub(crate) struct StaffQuery {
    prefecture: Option<String>,
    invited: Option<String>,
    removed: Option<String>,
}

impl StaffQuery {
    /// What the last invitation or removal did (after its redirect).
    fn notice(&self) -> Option<String> {
        match (&self.invited, &self.removed) {
            (Some(login_id), _) => Some(format!(
                "ユーザ名 {login_id} の方を追加し、利用者追加のお知らせをメールでお送りしました。"
            )),
            (None, Some(_)) => {
                Some("削除しました。その方のログイン中の画面も終了しました。".to_owned())
            }
            _ => None,
        }
    }
}

/// The prefecture the page is about: the asked one if the user manages its staff, else the
/// first they manage; none → not for this user.
fn chosen(who: &Principal, asked: Option<&str>) -> Result<PrefectureCode, WebError> {
    crate::html::scope::chosen(&who.access.staff_managed(), asked)
}

fn role_of(m: &Membership, prefecture: PrefectureCode) -> Option<(String, &'static str)> {
    match m {
        Membership::Prefecture {
            prefecture: p,
            level,
            area,
        } if *p == prefecture => {
            let area = match area {
                Area::Whole => "全域".to_owned(),
                Area::Municipalities(list) => list
                    .iter()
                    .map(|c| {
                        teikyo_refdata::municipalities::get(*c)
                            .map_or_else(|| c.to_string(), |m| m.name.to_owned())
                    })
                    .collect::<Vec<_>>()
                    .join("・"),
            };
            Some((format!("職員（{}・{area}）", level.label()), "staff"))
        }
        Membership::Delegate {
            prefecture: p,
            facility_ids,
        } if *p == prefecture => {
            Some((format!("代行者（{}施設）", facility_ids.len()), "delegate"))
        }
        _ => None,
    }
}

async fn staff_page(
    state: &AppState,
    who: &Principal,
    csrf: String,
    prefecture: PrefectureCode,
    notice: Option<String>,
    failed: Option<(String, TeamError, InviteForm)>,
) -> Result<Response, WebError> {
    let mut members = Vec::new();
    for (u, memberships) in state.store().users().staff_of(prefecture).await? {
        for m in &memberships {
            if let Some((role, kind)) = role_of(m, prefecture) {
                let removable = (u.id != who.user.id).then_some(kind);
                members.push(member(&u, role, removable));
            }
        }
    }
    let managed = who.access.staff_managed();
    let (errors, staff_form, delegate_form) = match failed {
        Some((kind, e, form)) if kind == "delegate" => (errors_of(&e), InviteForm::default(), form),
        Some((_, e, form)) => (errors_of(&e), form, InviteForm::default()),
        None => (Vec::new(), InviteForm::default(), InviteForm::default()),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        render(&StaffPage {
            chrome: Chrome::new(),
            title: format!("職員・代行者の管理（{}）", prefecture.name()),
            csrf,
            prefecture: prefecture.to_string(),
            prefecture_name: prefecture.name(),
            choices: if managed.len() > 1 {
                managed
                    .iter()
                    .map(|p| (p.to_string(), p.name(), *p == prefecture))
                    .collect()
            } else {
                Vec::new()
            },
            members,
            notice,
            errors,
            staff_form,
            delegate_form,
        })?,
    )
        .into_response())
}

pub(crate) async fn staff(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Query(q): Query<StaffQuery>,
) -> Result<Response, WebError> {
    let prefecture = chosen(&who, q.prefecture.as_deref())?;
    let notice = q.notice();
    staff_page(&state, &who, csrf, prefecture, notice, None).await
}

#[derive(Deserialize)]
pub(crate) struct StaffInvite {
    #[serde(default)]
    prefecture: String,
    /// staff | delegate
    #[serde(default)]
    kind: String,
    #[serde(flatten)]
    form: InviteForm,
}

/// Sends the invitation a checked form describes, naming the grant in the mail by `role`. The
/// mail templates are asked for only once the form is valid, so a wrong form never becomes a
/// server error where no templates are configured.
async fn send_invite(
    state: &AppState,
    who: &Principal,
    checked: Result<(Invitee, Membership), TeamError>,
    role: impl FnOnce(&Membership) -> Role,
) -> Result<Result<Invited, TeamError>, WebError> {
    let (invitee, membership) = match checked {
        Ok(ok) => ok,
        Err(e) => return Ok(Err(e)),
    };
    let role = role(&membership);
    Ok(team::invite(
        state.store(),
        state.mail_templates()?,
        &who.user,
        &invitee,
        &membership,
        &role,
        Utc::now(),
    )
    .await)
}

/// The invitation problems the form shows beside its fields; the rest are errors.
fn shown_on_form(e: &TeamError) -> bool {
    matches!(
        e,
        TeamError::Invalid(_) | TeamError::ExistingMismatch | TeamError::AlreadyMember
    )
}

pub(crate) async fn staff_invite(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Form(f): Form<StaffInvite>,
) -> Result<Response, WebError> {
    let prefecture = chosen(&who, Some(&f.prefecture))?;
    let store = state.store();
    let (kind, checked) = if f.kind == "delegate" {
        ("delegate", f.form.delegate(store, prefecture).await)
    } else {
        ("staff", f.form.prefecture_staff(prefecture))
    };
    let result = send_invite(&state, &who, checked, |membership| Role {
        organisation: prefecture.name().to_owned(),
        label: match membership {
            Membership::Prefecture { level, .. } => {
                format!("{}の職員（{}）", prefecture.name(), level.label())
            }
            _ => "医療機関・薬局の報告の代行者".to_owned(),
        },
        prefecture: Some(prefecture),
        facility: None,
    })
    .await?;
    match result {
        Ok(invited) => Ok(see_other(
            &format!(
                "/staff?prefecture={prefecture}&invited={}",
                invited.login_id.as_str()
            ),
            &[],
        )),
        Err(e) if shown_on_form(&e) => {
            staff_page(
                &state,
                &who,
                csrf,
                prefecture,
                None,
                Some((kind.to_owned(), e, f.form)),
            )
            .await
        }
        Err(e) => Err(team_error(e)),
    }
}

#[derive(Deserialize)]
pub(crate) struct StaffRemove {
    #[serde(default)]
    prefecture: String,
    #[serde(default)]
    kind: String,
}

pub(crate) async fn staff_remove(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<StaffRemove>,
) -> Result<Response, WebError> {
    let prefecture = chosen(&who, Some(&f.prefecture))?;
    let user: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    if user == who.user.id.0 {
        return Err(WebError::Forbidden);
    }
    let which = match f.kind.as_str() {
        "delegate" => MembershipOf::Delegate(prefecture),
        _ => MembershipOf::PrefectureStaff(prefecture),
    };
    let removed = team::remove(
        state.store(),
        who.user.id,
        UserId(user),
        which,
        None,
        Utc::now(),
    )
    .await?;
    if !removed {
        return Err(WebError::NotFound);
    }
    Ok(see_other(
        &format!("/staff?prefecture={prefecture}&removed=1"),
        &[],
    ))
}

// ---- A facility's users ----

#[derive(Template)]
#[template(path = "facility_users.html")]
struct FacilityUsersPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    facility_id: i64,
    /// `/facility/{id}/users`, the remove buttons' prefix.
    users_path: String,
    facility_name: String,
    members: Vec<Member>,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    form: InviteForm,
}

/// The facility, if the signed-in user may manage its users: others who can see it are
/// refused, the rest are told it does not exist.
async fn managed_facility(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> Result<(FacilityScope, String, Vec<teikyo_domain::Program>), WebError> {
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    let f = state
        .store()
        .facilities()
        .get(FacilityId(id))
        .await?
        .ok_or(WebError::NotFound)?;
    let scope = f.scope();
    if !who.access.sees_facility(&scope) {
        return Err(WebError::NotFound);
    }
    if !who.access.manages_facility_users(&scope) {
        return Err(WebError::Forbidden);
    }
    Ok((
        scope,
        f.record.names.official.clone(),
        vec![f.record.kind.program()],
    ))
}

async fn facility_page(
    state: &AppState,
    who: &Principal,
    csrf: String,
    scope: &FacilityScope,
    facility_name: String,
    notice: Option<String>,
    failed: Option<(TeamError, InviteForm)>,
) -> Result<Response, WebError> {
    let users = state.store().users().of_facility(scope.id).await?;
    let memberships = state
        .store()
        .users()
        .memberships_of(&users.iter().map(|u| u.id).collect::<Vec<_>>())
        .await?;
    let mut members = Vec::new();
    for u in users {
        let admin = memberships.get(&u.id).into_iter().flatten().any(|m| {
            matches!(m, Membership::Facility { facility_id, admin: true, .. } if *facility_id == scope.id)
        });
        let role = if admin { "管理者" } else { "利用者" }.to_owned();
        let removable = (u.id != who.user.id).then_some("facility");
        members.push(member(&u, role, removable));
    }
    let (errors, form) = match failed {
        Some((e, form)) => (errors_of(&e), form),
        None => (Vec::new(), InviteForm::default()),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        render(&FacilityUsersPage {
            chrome: Chrome::new(),
            title: format!("利用者の管理（{facility_name}）"),
            csrf,
            facility_id: scope.id,
            users_path: format!("/facility/{}/users", scope.id),
            facility_name,
            members,
            notice,
            errors,
            form,
        })?,
    )
        .into_response())
}

pub(crate) async fn facility_users(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Query(q): Query<StaffQuery>,
) -> Result<Response, WebError> {
    let (scope, name, _) = managed_facility(&state, &who, &id).await?;
    let notice = q.notice();
    facility_page(&state, &who, csrf, &scope, name, notice, None).await
}

pub(crate) async fn facility_invite(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Form(form): Form<InviteForm>,
) -> Result<Response, WebError> {
    let (scope, name, programs) = managed_facility(&state, &who, &id).await?;
    let checked = form.facility_member(scope.id, programs);
    let result = send_invite(&state, &who, checked, |membership| Role {
        organisation: name.clone(),
        label: format!(
            "医療機関・薬局の利用者（{}）",
            if matches!(membership, Membership::Facility { admin: true, .. }) {
                "管理者"
            } else {
                "利用者"
            }
        ),
        prefecture: Some(scope.prefecture),
        facility: Some(scope.id),
    })
    .await?;
    match result {
        Ok(invited) => Ok(see_other(
            &format!(
                "/facility/{}/users?invited={}",
                scope.id,
                invited.login_id.as_str()
            ),
            &[],
        )),
        Err(e) if shown_on_form(&e) => {
            facility_page(&state, &who, csrf, &scope, name, None, Some((e, form))).await
        }
        Err(e) => Err(team_error(e)),
    }
}

pub(crate) async fn facility_remove(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path((id, user)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (scope, _, _) = managed_facility(&state, &who, &id).await?;
    let user: i64 = user.parse().map_err(|_| WebError::NotFound)?;
    if user == who.user.id.0 {
        // Removing oneself would lock the last admin out; another admin or the prefecture can.
        return Err(WebError::Forbidden);
    }
    let removed = team::remove(
        state.store(),
        who.user.id,
        UserId(user),
        MembershipOf::Facility(scope.id),
        Some(&scope),
        Utc::now(),
    )
    .await?;
    if !removed {
        return Err(WebError::NotFound);
    }
    Ok(see_other(
        &format!("/facility/{}/users?removed=1", scope.id),
        &[],
    ))
}
