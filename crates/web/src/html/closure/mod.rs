//! 臨時休診 (issue 7 §4). `/facility/{id}/closures`: a facility declares and withdraws its own
//! (the clerk who hears at 8 a.m. that the doctor is ill); `batch` is the prefecture's
//! 臨時休診一括処理. Either way the closure is stored with the publication job in one transaction
//! and the facilities are published again at once, so residents see it within seconds (the
//! search index polls the sequence every 2 s); the job does it later if that fails.
//!
//! Who: `Access::declares_closures_for` (the facility's users and delegates, the staff who
//! review it). Others who can see the facility are refused; the rest are told it does not exist.

pub(crate) mod batch;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use teikyo_domain::closure::{self, ClosureError, REASON_MAX_CHARS};
use teikyo_domain::opening::Closure;
use teikyo_domain::text::date_ja;
use teikyo_store::{AuditEvent, Facility, FacilityId, NewClosure, Store};

use super::account::see_other;
use crate::auth::{Csrf, Principal, SignedIn};
use crate::error::WebError;
use crate::html::report::today;
use crate::html::scope::seen_facility;
use crate::html::{Chrome, FieldMessage, message_for, render};
use crate::state::AppState;

/// Reasons people give most, offered as suggestions (the field stays free text).
const REASONS: [&str; 7] = [
    "院長不在のため",
    "医師の急病のため",
    "学会出席のため",
    "停電のため",
    "台風のため",
    "大雪のため",
    "設備の故障のため",
];

fn errors_of(errors: Vec<ClosureError>) -> Vec<FieldMessage> {
    errors
        .into_iter()
        .map(|e| (e.field().name(), e.to_string()))
        .collect()
}

/// 2026年11月25日（水）〜11月26日（木）, or one day.
pub(crate) fn period_text(c: &Closure) -> String {
    if c.from == c.to {
        date_ja(c.from)
    } else {
        format!("{} 〜 {}", date_ja(c.from), date_ja(c.to))
    }
}

/// Publishes these facilities now; a failure is logged and left to the queued job.
pub(crate) async fn publish_now(state: &AppState, facilities: &[FacilityId]) {
    let Some(publisher) = state.publisher() else {
        return;
    };
    if let Err(e) = publisher
        .publish(state.store(), facilities, Utc::now())
        .await
    {
        tracing::warn!(error = %e, "臨時休診の即時反映に失敗しました（公表ジョブで反映します）");
    }
}

/// The facility in the path, if the user may declare its closures.
async fn declarable(state: &AppState, who: &Principal, id: &str) -> Result<Facility, WebError> {
    let f = seen_facility(state, who, id).await?;
    if !who.access.declares_closures_for(&f.scope()) {
        return Err(WebError::Forbidden);
    }
    Ok(f)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ClosureForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    reason: String,
}

struct Row {
    id: i64,
    period: String,
    reason: String,
    /// 一括処理 by the prefecture, or the facility's own.
    by_prefecture: bool,
    state: &'static str,
    withdrawable: bool,
}

#[derive(Template)]
#[template(path = "closures.html")]
struct ClosuresPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    facility_id: i64,
    facility_name: String,
    public_href: Option<String>,
    notice: Option<&'static str>,
    errors: Vec<FieldMessage>,
    form: ClosureForm,
    today: String,
    current: Vec<Row>,
    past: Vec<Row>,
    reasons: &'static [&'static str],
    reason_max: usize,
}

impl ClosuresPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }
}

/// Past closures shown.
const PAST_SHOWN: usize = 20;

async fn closures_page(
    store: &Store,
    csrf: String,
    f: &Facility,
    notice: Option<&'static str>,
    errors: Vec<FieldMessage>,
    form: ClosureForm,
) -> Result<Response, WebError> {
    let day = today();
    let mut current = Vec::new();
    let mut past = Vec::new();
    for c in store.publications().closures_of(f.id).await? {
        let ended = c.closure.expired(day);
        let withdrawn = c.withdrawn_at.is_some();
        let row = Row {
            id: c.id,
            period: period_text(&c.closure),
            reason: c.closure.reason.clone(),
            by_prefecture: c.batch_id.is_some(),
            state: if withdrawn {
                "取消済"
            } else if ended {
                "終了"
            } else if c.closure.from > day {
                "予定"
            } else {
                "休診中"
            },
            withdrawable: !withdrawn && !ended,
        };
        if row.withdrawable {
            current.push(row);
        } else if past.len() < PAST_SHOWN {
            past.push(row);
        }
    }
    // Soonest first for what is ahead.
    current.reverse();
    let public_href = store
        .publications()
        .state(f.id)
        .await?
        .filter(|s| s.visible())
        .map(|_| format!("/facilities/{}", f.id.0));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        render(&ClosuresPage {
            chrome: Chrome::new(),
            title: format!("臨時休診（{}）", f.record.names.official),
            csrf,
            facility_id: f.id.0,
            facility_name: f.record.names.official.clone(),
            public_href,
            notice,
            errors,
            form,
            today: day.format("%Y-%m-%d").to_string(),
            current,
            past,
            reasons: &REASONS,
            reason_max: REASON_MAX_CHARS,
        })?,
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    done: Option<String>,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    let f = declarable(&state, &who, &id).await?;
    let notice = match q.done.as_deref() {
        Some("declared") => Some(
            "臨時休診を登録しました。住民向けの検索と施設の詳細ページには、数秒で反映されます。",
        ),
        Some("withdrawn") => {
            Some("臨時休診を取り消しました。数秒で通常の診療時間の表示に戻ります。")
        }
        _ => None,
    };
    let form = ClosureForm {
        from: today().format("%Y-%m-%d").to_string(),
        ..ClosureForm::default()
    };
    closures_page(state.store(), csrf, &f, notice, Vec::new(), form).await
}

fn audit(action: &str, who: &Principal, f: &Facility) -> AuditEvent {
    AuditEvent::new(action, Some(who.user.id))
        .in_prefecture(Some(f.record.prefecture))
        .about_facility(Some(f.id.0))
}

pub(crate) async fn declare(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Form(form): Form<ClosureForm>,
) -> Result<Response, WebError> {
    let f = declarable(&state, &who, &id).await?;
    let c = match closure::check(&form.from, &form.to, &form.reason, today()) {
        Ok(c) => c,
        Err(errors) => {
            return closures_page(state.store(), csrf, &f, None, errors_of(errors), form).await;
        }
    };
    let event = audit("closure.declared", &who, &f).with_detail(json!({
        "from": c.from, "to": c.to, "reason": c.reason,
    }));
    state
        .store()
        .publications()
        .declare_closures(
            &[NewClosure {
                facility_id: f.id,
                closure: c,
                batch_id: None,
                by: Some(who.user.id),
            }],
            &[teikyo_search::project_job(&[f.id])],
            &event,
            Utc::now(),
        )
        .await?;
    publish_now(&state, &[f.id]).await;
    Ok(see_other(
        &format!("/facility/{}/closures?done=declared", f.id.0),
        &[],
    ))
}

pub(crate) async fn withdraw(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path((id, closure_id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let f = declarable(&state, &who, &id).await?;
    let closure_id: i64 = closure_id.parse().map_err(|_| WebError::NotFound)?;
    // Only this facility's closures: another facility's id is not found here.
    let Some(c) = state
        .store()
        .publications()
        .closures_of(f.id)
        .await?
        .into_iter()
        .find(|c| c.id == closure_id)
    else {
        return Err(WebError::NotFound);
    };
    if c.withdrawn_at.is_some() {
        // A second click: nothing to do.
        return Ok(see_other(
            &format!("/facility/{}/closures?done=withdrawn", f.id.0),
            &[],
        ));
    }
    let event = audit("closure.withdrawn", &who, &f).with_detail(json!({
        "closure": c.id, "from": c.closure.from, "to": c.closure.to, "batch": c.batch_id,
    }));
    let affected = state
        .store()
        .publications()
        .withdraw_closures(
            &[c.id],
            &[teikyo_search::project_job(&[f.id])],
            Some(who.user.id),
            &event,
            Utc::now(),
        )
        .await?;
    if !affected.is_empty() {
        publish_now(&state, &affected).await;
    }
    Ok(see_other(
        &format!("/facility/{}/closures?done=withdrawn", f.id.0),
        &[],
    ))
}
