//! 「情報の誤りを報告」 (issue 7 §5), the residents' side: `/facilities/{id}/report-error` and its
//! English twin. A short form (which part, what is wrong, an optional address); the report is
//! stored for the facility and its prefecture (`html::error_report` lists it for them). Public,
//! CSRF-checked like every form, and under the per-IP limit of forms that send something.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use teikyo_domain::error_report::{BODY_MAX_CHARS, check};
use teikyo_domain::publication::PublishedDocument;
use teikyo_store::{AuditEvent, FacilityId, NewErrorReport};

use super::texts::{Lang, Texts};
use crate::auth::Csrf;
use crate::error::WebError;
use crate::html::account::see_other;
use crate::html::{Chrome, FieldMessage, message_for, render};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReportForm {
    #[serde(default)]
    part: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    contact: String,
}

#[derive(Template)]
#[template(path = "facility_report_error.html")]
struct ReportPage {
    chrome: Chrome,
    t: &'static Texts,
    lang: &'static str,
    title: String,
    other_lang_href: String,
    facility_href: String,
    action: String,
    csrf: String,
    name: String,
    /// (section id, 「1.(2) アクセス」)
    parts: Vec<(String, String)>,
    form: ReportForm,
    errors: Vec<FieldMessage>,
    sent: bool,
    body_max: usize,
}

impl ReportPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }
}

async fn published(state: &AppState, id: i64) -> Result<PublishedDocument, WebError> {
    state
        .store()
        .publications()
        .published(FacilityId(id))
        .await?
        .ok_or(WebError::NotFound)
}

fn page(
    d: &PublishedDocument,
    id: i64,
    lang: Lang,
    csrf: String,
    form: ReportForm,
    errors: Vec<FieldMessage>,
    sent: bool,
) -> Result<Response, WebError> {
    let t = Texts::of(lang);
    let other = match lang {
        Lang::Ja => Lang::En,
        Lang::En => Lang::Ja,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ReportPage {
        chrome: Chrome::new(),
        t,
        lang: lang.code(),
        title: format!("{}（{}）", t.report_error, d.facility.names.official),
        other_lang_href: format!("{}/facilities/{id}/report-error", other.prefix()),
        facility_href: format!("{}/facilities/{id}", lang.prefix()),
        action: format!("{}/facilities/{id}/report-error", lang.prefix()),
        csrf,
        name: d.facility.names.official.clone(),
        parts: d
            .sections
            .iter()
            .map(|s| (s.id.clone(), format!("{} {}", s.number, s.title)))
            .collect(),
        form,
        errors,
        sent,
        body_max: BODY_MAX_CHARS,
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SentQuery {
    #[serde(default)]
    sent: Option<String>,
}

async fn form(
    state: AppState,
    id: i64,
    lang: Lang,
    csrf: String,
    sent: bool,
) -> Result<Response, WebError> {
    let d = published(&state, id).await?;
    page(&d, id, lang, csrf, ReportForm::default(), Vec::new(), sent)
}

async fn submit(
    state: AppState,
    id: i64,
    lang: Lang,
    csrf: String,
    f: ReportForm,
) -> Result<Response, WebError> {
    let d = published(&state, id).await?;
    let text = match check(&f.body, &f.contact) {
        Ok(text) => text,
        Err(errors) => {
            let errors = errors
                .iter()
                .map(|e| {
                    let message = match lang {
                        Lang::Ja => e.to_string(),
                        Lang::En => e.message_en(),
                    };
                    (e.field(), message)
                })
                .collect();
            return page(&d, id, lang, csrf, f, errors, false);
        }
    };
    // Only a part the page offered; anything else (「その他」 is `other`) is その他.
    let section = d
        .sections
        .iter()
        .find(|s| s.id == f.part)
        .map(|s| s.id.clone());
    let audit = AuditEvent::new("error_report.received", None)
        .in_prefecture(Some(d.facility.prefecture))
        .about_facility(Some(id));
    state
        .store()
        .error_reports()
        .create(
            &NewErrorReport {
                facility_id: FacilityId(id),
                section,
                body: text.body,
                contact: text.contact,
                lang: lang.code().to_owned(),
            },
            &audit,
            Utc::now(),
        )
        .await?;
    Ok(see_other(
        &format!("{}/facilities/{id}/report-error?sent=1", lang.prefix()),
        &[],
    ))
}

pub(crate) async fn page_ja(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Path(id): Path<i64>,
    Query(q): Query<SentQuery>,
) -> Result<Response, WebError> {
    form(state, id, Lang::Ja, csrf, q.sent.is_some()).await
}

pub(crate) async fn page_en(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Path(id): Path<i64>,
    Query(q): Query<SentQuery>,
) -> Result<Response, WebError> {
    form(state, id, Lang::En, csrf, q.sent.is_some()).await
}

pub(crate) async fn submit_ja(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Path(id): Path<i64>,
    Form(f): Form<ReportForm>,
) -> Result<Response, WebError> {
    submit(state, id, Lang::Ja, csrf, f).await
}

pub(crate) async fn submit_en(
    State(state): State<AppState>,
    Csrf(csrf): Csrf,
    Path(id): Path<i64>,
    Form(f): Form<ReportForm>,
) -> Result<Response, WebError> {
    submit(state, id, Lang::En, csrf, f).await
}
