//! 「情報の誤りを報告」 as it reaches the facility and its prefecture (issue 7 §5):
//! `/facility/{id}/error-reports` lists a facility's reports for everyone who sees the facility,
//! and those who keep its data (`Access::declares_closures_for`: its users and delegates, its
//! reviewers) mark them 対応済; `/prefecture/error-reports` lists a prefecture's open (or all)
//! reports for its staff, within a 保健所 area. The home screen counts the open ones.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use teikyo_store::{AuditEvent, ErrorReport};

use super::account::see_other;
use super::mail::tokyo_time;
use crate::auth::{Csrf, SignedIn};
use crate::error::WebError;
use crate::html::scope::{chosen, prefecture_choices, seen_facility, viewable};
use crate::html::{Chrome, render};
use crate::state::AppState;

/// Reports on one page.
const LIMIT: u64 = 200;

struct Row {
    id: i64,
    facility: String,
    facility_href: String,
    received: String,
    part: String,
    body: String,
    contact: Option<String>,
    english: bool,
    handled: Option<String>,
}

fn row(r: &ErrorReport, part: String) -> Row {
    Row {
        id: r.id,
        facility: r.facility_name.clone(),
        facility_href: format!("/facility/{}/error-reports", r.facility_id.0),
        received: tokyo_time(r.created_at),
        part,
        body: r.body.clone(),
        contact: r.contact.clone(),
        english: r.lang == "en",
        handled: r.handled_at.map(tokyo_time),
    }
}

/// 「1.(2) アクセス」 for a section id of the facility's published document, else その他.
fn part_label(sections: &[(String, String)], id: Option<&str>) -> String {
    id.and_then(|id| sections.iter().find(|(s, _)| s == id))
        .map_or_else(|| "その他".to_owned(), |(_, label)| label.clone())
}

#[derive(Template)]
#[template(path = "error_reports.html")]
struct FacilityReportsPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    facility_id: i64,
    facility_name: String,
    public_href: String,
    may_handle: bool,
    rows: Vec<Row>,
}

pub(crate) async fn facility_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let f = seen_facility(&state, &who, &id).await?;
    let sections: Vec<(String, String)> = state
        .store()
        .publications()
        .published(f.id)
        .await?
        .map(|d| {
            d.sections
                .iter()
                .map(|s| (s.id.clone(), format!("{} {}", s.number, s.title)))
                .collect()
        })
        .unwrap_or_default();
    let rows = state
        .store()
        .error_reports()
        .of_facility(f.id, LIMIT)
        .await?
        .iter()
        .map(|r| row(r, part_label(&sections, r.section.as_deref())))
        .collect();
    let page = FacilityReportsPage {
        chrome: Chrome::new(),
        title: format!("住民からの情報の誤りの報告（{}）", f.record.names.official),
        csrf,
        facility_id: f.id.0,
        facility_name: f.record.names.official.clone(),
        public_href: format!("/facilities/{}", f.id.0),
        may_handle: who.access.declares_closures_for(&f.scope()),
        rows,
    };
    Ok(render(&page)?.into_response())
}

/// 対応済にする.
pub(crate) async fn handle(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path((id, report)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let f = seen_facility(&state, &who, &id).await?;
    if !who.access.declares_closures_for(&f.scope()) {
        return Err(WebError::Forbidden);
    }
    let report: i64 = report.parse().map_err(|_| WebError::NotFound)?;
    let r = state
        .store()
        .error_reports()
        .get(report)
        .await?
        .filter(|r| r.facility_id == f.id)
        .ok_or(WebError::NotFound)?;
    let audit = AuditEvent::new("error_report.handled", Some(who.user.id))
        .in_prefecture(Some(f.record.prefecture))
        .about_facility(Some(f.id.0));
    state
        .store()
        .error_reports()
        .mark_handled(r.id, Some(who.user.id), &audit, Utc::now())
        .await?;
    Ok(see_other(
        &format!("/facility/{}/error-reports", f.id.0),
        &[],
    ))
}

#[derive(Template)]
#[template(path = "prefecture_error_reports.html")]
struct PrefectureReportsPage {
    chrome: Chrome,
    title: String,
    prefecture: String,
    prefecture_name: &'static str,
    choices: Vec<(String, &'static str, bool)>,
    all: bool,
    open: u64,
    rows: Vec<Row>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PrefectureQuery {
    #[serde(default)]
    prefecture: Option<String>,
    #[serde(default)]
    all: Option<String>,
}

pub(crate) async fn prefecture_page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Query(q): Query<PrefectureQuery>,
) -> Result<Response, WebError> {
    let allowed = viewable(&who);
    let prefecture = chosen(&allowed, q.prefecture.as_deref())?;
    let area = who.access.area_in(prefecture);
    let all = q.all.is_some();
    let (reports, open) = state
        .store()
        .error_reports()
        .in_prefecture(prefecture, area.as_deref(), !all, LIMIT)
        .await?;
    let page = PrefectureReportsPage {
        chrome: Chrome::new(),
        title: format!("住民からの情報の誤りの報告（{}）", prefecture.name()),
        prefecture: prefecture.to_string(),
        prefecture_name: prefecture.name(),
        choices: prefecture_choices(&allowed, prefecture),
        all,
        open,
        rows: reports
            .iter()
            // Which part is on the facility's page, which reads its document.
            .map(|r| row(r, String::new()))
            .collect(),
    };
    Ok(render(&page)?.into_response())
}
