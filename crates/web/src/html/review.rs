//! The prefecture's review of 新規ユーザ登録申請 (DOMAIN §3.4–§3.6): the list in the staff's
//! scope, the detail with hints, 承認 (issuance follows at once) and 却下 with a reason, and
//! 代理申請 for facilities without e-mail. Scope: the application's prefecture (and municipality,
//! for staff of a 保健所 area) must be the signed-in user's; deciding needs a reviewer or admin.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use teikyo_account::review::{Issued, Review, ReviewError};
use teikyo_domain::account::FacilityScope;
use teikyo_domain::registration::{ApplicationForm, ApplicationStatus, FieldError};
use teikyo_domain::{MunicipalityCode, PrefectureCode};
use teikyo_store::{Registration, RegistrationFilter, RegistrationId};

use super::account::see_other;
use super::apply::{PostedForm, fill_address, summary};
use super::mail::tokyo_time;
use super::{Chrome, render};
use crate::auth::{Csrf, Principal, SignedIn};
use crate::error::WebError;
use crate::state::AppState;

const PAGE: u64 = 200;

fn scope_of(reg: &Registration) -> Option<FacilityScope> {
    let prefecture = reg.prefecture?;
    let municipality = MunicipalityCode::parse(&reg.form.municipality)
        .ok()
        .filter(|m| m.prefecture() == prefecture)?;
    Some(FacilityScope {
        id: -1,
        prefecture,
        municipality,
    })
}

fn sees(who: &Principal, reg: &Registration) -> bool {
    scope_of(reg).is_some_and(|s| who.access.sees_facility(&s) && who.is_staff())
}

fn decides(who: &Principal, reg: &Registration) -> bool {
    scope_of(reg).is_some_and(|s| who.access.reviews_facility(&s))
}

fn review_service(state: &AppState) -> Result<&Review, WebError> {
    state
        .registrations()
        .map(|r| &r.review)
        .ok_or_else(|| WebError::Internal("registrations are not configured".into()))
}

// ---- list ----

struct Row {
    id: i64,
    number: String,
    submitted: String,
    facility_name: String,
    prefecture: &'static str,
    status: &'static str,
    proxy: bool,
}

#[derive(Template)]
#[template(path = "review_list.html")]
struct ListPage {
    chrome: Chrome,
    title: &'static str,
    scope: String,
    can_file: bool,
    status: String,
    status_options: Vec<(String, String)>,
    total: u64,
    shown: u64,
    rows: Vec<Row>,
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let prefectures = who.access.staff_prefectures();
    // Default: what is waiting. `all` shows every status.
    let status_id = q.status.unwrap_or_else(|| "submitted".to_owned());
    let status = ApplicationStatus::parse(&status_id);
    let filter = RegistrationFilter {
        prefectures: prefectures.clone(),
        status,
    };
    let regs = state.store().registrations();
    let total = regs.count(&filter).await?;
    let found = regs.list(&filter, PAGE, 0).await?;
    let rows: Vec<Row> = found
        .iter()
        .filter(|r| sees(&who, r))
        .map(|r| Row {
            id: r.id.0,
            number: r.number.map(|n| n.to_string()).unwrap_or_default(),
            submitted: r.submitted_at.map(tokyo_time).unwrap_or_default(),
            facility_name: r.facility_name.clone().unwrap_or_default(),
            prefecture: r.prefecture.map_or("", |p| p.name()),
            status: r.status.label(),
            proxy: r.filed_by.is_some(),
        })
        .collect();
    let scope = match &prefectures {
        None => "全国".to_owned(),
        Some(list) => list.iter().map(|p| p.name()).collect::<Vec<_>>().join("・"),
    };
    let mut status_options = vec![("all".to_owned(), "すべて".to_owned())];
    status_options.extend(
        [
            ApplicationStatus::Submitted,
            ApplicationStatus::Approved,
            ApplicationStatus::Rejected,
        ]
        .into_iter()
        .map(|s| (s.id().to_owned(), s.label().to_owned())),
    );
    Ok(render(&ListPage {
        chrome: Chrome::new(),
        title: "ユーザ登録申請の審査",
        scope,
        can_file: !who.access.reviewing_prefectures().is_empty(),
        status: status_id,
        status_options,
        total,
        shown: u64::try_from(rows.len()).unwrap_or(u64::MAX),
        rows,
    })?
    .into_response())
}

// ---- detail and decisions ----

#[derive(Template)]
#[template(path = "review_detail.html")]
struct DetailPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    id: i64,
    number: String,
    status: &'static str,
    outcome: Option<&'static str>,
    reject_reason: Option<String>,
    submitted: String,
    proxy: bool,
    email: String,
    rows: Vec<(&'static str, String)>,
    facility: Option<String>,
    matched_by: &'static str,
    users: Vec<(String, &'static str)>,
    can_decide: bool,
    error: Option<String>,
    reason: String,
    notice: Option<String>,
    setup_link: Option<String>,
}

async fn load(state: &AppState, who: &Principal, id: &str) -> Result<Registration, WebError> {
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    let reg = state
        .store()
        .registrations()
        .get(RegistrationId(id))
        .await?
        .filter(|r| r.submitted_at.is_some())
        .ok_or(WebError::NotFound)?;
    // Another prefecture's application is "not found": its existence is not ours to tell.
    if !sees(who, &reg) {
        return Err(WebError::NotFound);
    }
    Ok(reg)
}

async fn detail_page(
    state: &AppState,
    who: &Principal,
    csrf: String,
    reg: Registration,
    error: Option<String>,
    reason: String,
    issued: Option<Issued>,
) -> Result<Response, WebError> {
    let hints = Review::hints(state.store(), &reg).await?;
    let notice = issued.as_ref().map(|i| {
        let mut text = i.outcome.label().to_owned();
        if let Some(l) = &i.login_id {
            text.push_str(&format!("　ログインID：{}", l.as_str()));
        }
        if let Some(at) = i.account_mail_at {
            text.push_str(&format!("　利用案内メールの送信予定：{}", tokyo_time(at)));
        }
        text
    });
    let status = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        render(&DetailPage {
            chrome: Chrome::new(),
            title: format!(
                "申請 {}",
                reg.number.map(|n| n.to_string()).unwrap_or_default()
            ),
            csrf,
            id: reg.id.0,
            number: reg.number.map(|n| n.to_string()).unwrap_or_default(),
            status: reg.status.label(),
            outcome: reg.outcome.map(|o| o.label()),
            reject_reason: reg.reject_reason.clone(),
            submitted: reg.submitted_at.map(tokyo_time).unwrap_or_default(),
            proxy: reg.filed_by.is_some(),
            email: reg.email.clone(),
            rows: summary(&reg.form),
            facility: hints
                .facility
                .as_ref()
                .map(|f| format!("{}（{}）", f.record.names.official, f.record.address)),
            matched_by: hints.matched_by.unwrap_or(""),
            users: hints
                .users
                .iter()
                .map(|(u, has)| {
                    (
                        u.login_id.as_str().to_owned(),
                        if *has {
                            "この制度の権限あり"
                        } else {
                            "この制度の権限なし"
                        },
                    )
                })
                .collect(),
            can_decide: reg.status == ApplicationStatus::Submitted && decides(who, &reg),
            error,
            reason,
            notice,
            setup_link: issued.and_then(|i| i.setup_link),
        })?,
    )
        .into_response())
}

pub(crate) async fn detail(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let reg = load(&state, &who, &id).await?;
    detail_page(&state, &who, csrf, reg, None, String::new(), None).await
}

pub(crate) async fn approve(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let reg = load(&state, &who, &id).await?;
    if !decides(&who, &reg) {
        return Err(WebError::Forbidden);
    }
    let review = review_service(&state)?;
    match review
        .approve(state.store(), &reg, who.user.id, Utc::now())
        .await
    {
        Ok(issued) => {
            let reg = load(&state, &who, &id).await?;
            detail_page(&state, &who, csrf, reg, None, String::new(), Some(issued)).await
        }
        Err(e @ (ReviewError::AlreadyDecided | ReviewError::Invalid)) => {
            detail_page(
                &state,
                &who,
                csrf,
                reg,
                Some(e.to_string()),
                String::new(),
                None,
            )
            .await
        }
        Err(ReviewError::Store(e)) => Err(e.into()),
        Err(e) => Err(WebError::Internal(e.to_string())),
    }
}

#[derive(Deserialize)]
pub(crate) struct RejectForm {
    #[serde(default)]
    reason: String,
}

pub(crate) async fn reject(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Form(f): Form<RejectForm>,
) -> Result<Response, WebError> {
    let reg = load(&state, &who, &id).await?;
    if !decides(&who, &reg) {
        return Err(WebError::Forbidden);
    }
    let review = review_service(&state)?;
    match review
        .reject(state.store(), &reg, who.user.id, &f.reason, Utc::now())
        .await
    {
        Ok(()) => Ok(see_other(
            &format!("/review/applications/{}", reg.id.0),
            &[],
        )),
        Err(
            e @ (ReviewError::AlreadyDecided
            | ReviewError::ReasonMissing
            | ReviewError::ReasonTooLong),
        ) => {
            let reason: String = f.reason.chars().take(2000).collect();
            detail_page(&state, &who, csrf, reg, Some(e.to_string()), reason, None).await
        }
        Err(ReviewError::Store(e)) => Err(e.into()),
        Err(e) => Err(WebError::Internal(e.to_string())),
    }
}

// ---- 代理申請 ----

fn proxy_page(
    csrf: String,
    email: &str,
    form: &ApplicationForm,
    errors: Vec<FieldError>,
) -> Result<Response, WebError> {
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        render(&super::apply::FormPage::proxy(csrf, email, form, errors))?,
    )
        .into_response())
}

pub(crate) async fn proxy_form(
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
) -> Result<Response, WebError> {
    let mine = who.access.reviewing_prefectures();
    if mine.is_empty() {
        return Err(WebError::Forbidden);
    }
    let form = ApplicationForm {
        prefecture: if mine.len() == 1 {
            mine[0].as_str()
        } else {
            String::new()
        },
        ..ApplicationForm::default()
    };
    proxy_page(csrf, "", &form, Vec::new())
}

#[derive(Deserialize)]
pub(crate) struct ProxyPosted {
    #[serde(flatten)]
    posted: PostedForm,
    #[serde(default)]
    email: String,
}

pub(crate) async fn proxy_submit(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Form(p): Form<ProxyPosted>,
) -> Result<Response, WebError> {
    let mine = who.access.reviewing_prefectures();
    if mine.is_empty() {
        return Err(WebError::Forbidden);
    }
    let email: String = p.email.trim().chars().take(254).collect();
    let mut form = p.posted.form;
    if p.posted.action == "postal" {
        let errors = fill_address(&mut form).err().into_iter().collect();
        return proxy_page(csrf, &email, &form, errors);
    }
    let mut errors = match teikyo_account::registration::check_form(&form) {
        Ok(_) => Vec::new(),
        Err(e) => e,
    };
    if !email.is_empty() && !teikyo_domain::text::is_email(&email) {
        errors.push(FieldError::new(
            "email",
            "メールアドレスの形式が正しくありません。メールをお使いでない場合は空欄にしてください。",
        ));
    }
    let prefecture = PrefectureCode::parse(&form.prefecture).ok();
    if prefecture.is_some_and(|p| !mine.contains(&p)) {
        errors.push(FieldError::new(
            "prefecture",
            "ご自身が審査を担当する都道府県の医療機関・薬局についてのみ代理申請できます。",
        ));
    }
    let Some(prefecture) = prefecture.filter(|_| errors.is_empty()) else {
        return proxy_page(csrf, &email, &form, errors);
    };
    let id = Review::file_on_behalf(
        state.store(),
        who.user.id,
        &email,
        &form,
        prefecture,
        Utc::now(),
    )
    .await?;
    Ok(see_other(&format!("/review/applications/{}", id.0), &[]))
}
