//! お知らせ (DOMAIN §6): the operator posts nationwide notices, a prefecture's whole-prefecture
//! admins post notices for its facilities and staff; everyone signed in sees the ones that apply
//! to them on the home page, for the days they are shown. `/notices` is where they are written
//! and taken down.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use teikyo_domain::PrefectureCode;
use teikyo_domain::account::Membership;
use teikyo_domain::text::date_ja;
use teikyo_store::{AuditEvent, NewNotice, Notice};

use super::account::see_other;
use super::mail::tokyo_time;
use crate::auth::{Csrf, Principal, SignedIn};
use crate::error::WebError;
use crate::html::report::today;
use crate::html::{Chrome, render};
use crate::state::AppState;

const PATH: &str = "/notices";
const TITLE_MAX: usize = 100;
const BODY_MAX: usize = 2_000;
/// Notices on the home page: enough for a busy season, short enough to read.
pub(crate) const HOME_LIMIT: u64 = 5;

/// Whose notices: nationwide (the operator's) or one prefecture's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Nationwide,
    Prefecture(PrefectureCode),
}

impl Scope {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "national" => Some(Self::Nationwide),
            p => PrefectureCode::parse(p).ok().map(Self::Prefecture),
        }
    }

    fn id(self) -> String {
        match self {
            Self::Nationwide => "national".to_owned(),
            Self::Prefecture(p) => p.to_string(),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Nationwide => "全国（運用者）",
            Self::Prefecture(p) => p.name(),
        }
    }

    fn prefecture(self) -> Option<PrefectureCode> {
        match self {
            Self::Nationwide => None,
            Self::Prefecture(p) => Some(p),
        }
    }
}

/// The scopes the user may post in: nationwide for the operator, and each prefecture whose
/// periods and staff they manage (its whole-prefecture admins; the operator: every one).
fn postable(who: &Principal) -> Vec<Scope> {
    let mut out = Vec::new();
    if who.access.is_operator() {
        out.push(Scope::Nationwide);
    }
    out.extend(
        who.access
            .staff_managed()
            .into_iter()
            .map(Scope::Prefecture),
    );
    out
}

/// The notices the user's home shows: nationwide ones and those of the prefectures the user
/// works in or reports to.
pub(crate) async fn for_home(state: &AppState, who: &Principal) -> Result<Vec<Shown>, WebError> {
    let mut prefectures: Vec<PrefectureCode> = who.access.staff_prefectures().unwrap_or_default();
    let facility_ids: Vec<teikyo_store::FacilityId> = who
        .access
        .memberships
        .iter()
        .flat_map(|m| match m {
            Membership::Facility { facility_id, .. } => vec![*facility_id],
            Membership::Delegate { facility_ids, .. } => facility_ids.clone(),
            _ => Vec::new(),
        })
        .map(teikyo_store::FacilityId)
        .collect();
    if !facility_ids.is_empty() {
        for f in state.store().facilities().get_many(&facility_ids).await? {
            prefectures.push(f.record.prefecture);
        }
    }
    prefectures.sort_unstable();
    prefectures.dedup();
    Ok(state
        .store()
        .notices()
        .shown(&prefectures, today(), HOME_LIMIT)
        .await?
        .iter()
        .map(shown)
        .collect())
}

/// A notice as a page shows it.
pub(crate) struct Shown {
    pub id: i64,
    pub from: String,
    pub title: String,
    pub body: String,
    pub source: &'static str,
    pub until: Option<String>,
    pub posted: String,
}

fn shown(n: &Notice) -> Shown {
    Shown {
        id: n.id,
        from: date_ja(n.shown_from),
        title: n.title.clone(),
        body: n.body.clone(),
        source: n.prefecture.map_or("運用者", |p| p.name()),
        until: n.shown_until.map(date_ja),
        posted: tokyo_time(n.posted_at),
    }
}

#[derive(Debug, Default, Clone)]
struct PostForm {
    title: String,
    body: String,
    shown_from: String,
    shown_until: String,
}

#[derive(Template)]
#[template(path = "notices.html")]
struct NoticesPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    scope: String,
    scope_label: &'static str,
    /// (id, label, selected) when the user may post in more than one scope.
    choices: Vec<(String, &'static str, bool)>,
    rows: Vec<Shown>,
    notice: Option<&'static str>,
    errors: Vec<(&'static str, String)>,
    form: PostForm,
    title_max: usize,
    body_max: usize,
}

impl NoticesPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        crate::html::message_for(&self.errors, field)
    }
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    scope: Option<String>,
    done: Option<String>,
}

/// The scope asked for, if the user may post there; else their first.
fn chosen(who: &Principal, asked: Option<&str>) -> Result<Scope, WebError> {
    let all = postable(who);
    if let Some(s) = asked.and_then(Scope::parse) {
        return if all.contains(&s) {
            Ok(s)
        } else {
            Err(WebError::Forbidden)
        };
    }
    all.first().copied().ok_or(WebError::Forbidden)
}

async fn page(
    state: &AppState,
    who: &Principal,
    csrf: String,
    scope: Scope,
    notice: Option<&'static str>,
    errors: Vec<(&'static str, String)>,
    form: Option<PostForm>,
) -> Result<Response, WebError> {
    let rows = state
        .store()
        .notices()
        .list(scope.prefecture())
        .await?
        .iter()
        .map(shown)
        .collect();
    let all = postable(who);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = NoticesPage {
        chrome: Chrome::new(),
        title: format!("お知らせの掲載（{}）", scope.label()),
        csrf,
        scope: scope.id(),
        scope_label: scope.label(),
        choices: if all.len() > 1 {
            all.iter()
                .map(|s| (s.id(), s.label(), *s == scope))
                .collect()
        } else {
            Vec::new()
        },
        rows,
        notice,
        errors,
        form: form.unwrap_or_else(|| PostForm {
            shown_from: today().to_string(),
            ..Default::default()
        }),
        title_max: TITLE_MAX,
        body_max: BODY_MAX,
    };
    Ok((status, render(&page)?).into_response())
}

pub(crate) async fn list(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let scope = chosen(&who, q.scope.as_deref())?;
    let notice = match q.done.as_deref() {
        Some("posted") => {
            Some("お知らせを掲載しました。掲載期間中、対象の利用者のホーム画面に表示されます。")
        }
        Some("deleted") => Some("お知らせを削除しました。"),
        _ => None,
    };
    page(&state, &who, csrf, scope, notice, Vec::new(), None).await
}

#[derive(Deserialize)]
pub(crate) struct PostFields {
    scope: Option<String>,
    title: Option<String>,
    body: Option<String>,
    shown_from: Option<String>,
    shown_until: Option<String>,
}

/// A date as typed: the date picker's 2027-01-07, or 2027/1/7 with 全角 digits.
fn parse_day(typed: &str) -> Option<NaiveDate> {
    let folded = teikyo_domain::text::nfkc(typed.trim());
    NaiveDate::parse_from_str(&folded, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&folded, "%Y/%m/%d"))
        .ok()
}

pub(crate) async fn post(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Form(f): Form<PostFields>,
) -> Result<Response, WebError> {
    let Some(first) = postable(&who).first().copied() else {
        return Err(WebError::Forbidden);
    };
    let form = PostForm {
        title: f.title.unwrap_or_default().trim().to_owned(),
        body: f.body.unwrap_or_default().trim().replace("\r\n", "\n"),
        shown_from: f.shown_from.unwrap_or_default(),
        shown_until: f.shown_until.unwrap_or_default(),
    };
    // A state change never falls back to a default scope: the form names the one it showed.
    let Some(scope) = f.scope.as_deref().and_then(Scope::parse) else {
        let message =
            "掲載先が指定されていません。画面を表示し直してから、もう一度お試しください。";
        let errors = vec![("scope", message.to_owned())];
        return page(&state, &who, csrf, first, None, errors, Some(form)).await;
    };
    if !postable(&who).contains(&scope) {
        return Err(WebError::Forbidden);
    }
    let mut errors = Vec::new();
    if form.title.is_empty() {
        errors.push(("title", "件名を入力してください。".to_owned()));
    } else if form.title.chars().count() > TITLE_MAX {
        errors.push((
            "title",
            format!("件名は{TITLE_MAX}文字以内で入力してください。"),
        ));
    }
    if form.body.is_empty() {
        errors.push(("body", "本文を入力してください。".to_owned()));
    } else if form.body.chars().count() > BODY_MAX {
        errors.push((
            "body",
            format!("本文は{BODY_MAX}文字以内で入力してください。"),
        ));
    }
    let from = parse_day(&form.shown_from);
    if from.is_none() {
        errors.push((
            "shown_from",
            "掲載開始日を日付（例: 2027-01-07）で入力してください。".to_owned(),
        ));
    }
    let until = if form.shown_until.trim().is_empty() {
        None
    } else {
        match parse_day(&form.shown_until) {
            Some(d) if from.is_some_and(|f| d < f) => {
                errors.push((
                    "shown_until",
                    "掲載終了日は掲載開始日以降の日付を入力してください。".to_owned(),
                ));
                None
            }
            Some(d) => Some(d),
            None => {
                errors.push((
                    "shown_until",
                    "掲載終了日は日付（例: 2027-03-31）で入力してください。空欄にすると削除するまで表示します。"
                        .to_owned(),
                ));
                None
            }
        }
    };
    let Some(shown_from) = from.filter(|_| errors.is_empty()) else {
        return page(&state, &who, csrf, scope, None, errors, Some(form)).await;
    };
    let audit = AuditEvent::new("notice.posted", Some(who.user.id))
        .in_prefecture(scope.prefecture())
        .with_detail(serde_json::json!({ "title": form.title }));
    state
        .store()
        .notices()
        .post(
            &NewNotice {
                prefecture: scope.prefecture(),
                title: form.title,
                body: form.body,
                shown_from,
                shown_until: until,
                by: Some(who.user.id),
            },
            audit,
            Utc::now(),
        )
        .await?;
    Ok(see_other(
        &format!("{PATH}?scope={}&done=posted", scope.id()),
        &[],
    ))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let Some(n) = state.store().notices().get(id).await? else {
        return Err(WebError::NotFound);
    };
    let scope = n.prefecture.map_or(Scope::Nationwide, Scope::Prefecture);
    if !postable(&who).contains(&scope) {
        return Err(WebError::Forbidden);
    }
    let audit = AuditEvent::new("notice.deleted", Some(who.user.id))
        .in_prefecture(scope.prefecture())
        .with_detail(serde_json::json!({ "title": n.title }));
    state
        .store()
        .notices()
        .delete(id, audit, Utc::now())
        .await?;
    Ok(see_other(
        &format!("{PATH}?scope={}&done=deleted", scope.id()),
        &[],
    ))
}
