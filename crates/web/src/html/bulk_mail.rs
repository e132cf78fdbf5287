//! 一括メール配信 (DOMAIN §6): prefecture staff write one mail to a filtered set of facilities.
//!
//! `/prefecture/bulk-mail` lists a prefecture's sends; `…/new` composes one (機関区分, 市区町村,
//! 報告期間 and 報告状況; 件名 and 本文 with placeholders, checked beside their fields) and saves
//! it as a draft (作成中); `/{id}` of a draft is the preview — the mail exactly as one recipient
//! will get it, the recipients with those who have no address (送信先なし) — with the
//! confirmation that starts it; `/{id}` of a started send shows its progress and every
//! recipient's mail status, with 中止. The mails are created by the worker
//! (`teikyo_mail::bulk_mail`).
//!
//! Who: staff who may look at the prefecture see its sends; its reviewers and admins and the
//! operator (`Access::sends_bulk_mail_in`) compose, send and stop them. Staff limited to a
//! 保健所 area send within their area and see only its recipients.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use teikyo_domain::bulk_mail::{
    BulkMailStatus, ComposeError, ComposeField, MailText, Placeholder, RecipientFilter,
    ReportProgress, compose,
};
use teikyo_domain::report::fiscal_year_label;
use teikyo_domain::{FacilityKind, MunicipalityCode, PrefectureCode, Program};
use teikyo_mail::bulk_mail::{About, Occasion, job, preview};
use teikyo_store::{
    AuditEvent, BulkMail, BulkMailId, MailStatus, NewBulkMail, Recipient, RecipientQuery,
    StoredPeriod,
};

use super::account::see_other;
use super::mail::tokyo_time;
use crate::auth::{Csrf, Principal, SignedIn};
use crate::error::WebError;
use crate::html::FieldMessage;
use crate::html::report::today;
use crate::html::scope::{
    all_of, chosen, municipality_choices, one_of, prefecture_choices, viewable,
};
use crate::html::{Chrome, render};
use crate::state::AppState;

const BASE: &str = "/prefecture/bulk-mail";
/// Recipients per page.
const PAGE_SIZE: usize = 50;
/// Sends on the list.
const LIST_LIMIT: u64 = 100;
/// How often the progress page reloads itself when asked to (never by default: a page that
/// changes under a screen reader's cursor must be the reader's choice, WCAG 2.2.1).
const REFRESH_SECS: u32 = 10;

/// The prefectures where the user may compose and send.
fn sendable(who: &Principal) -> Vec<PrefectureCode> {
    PrefectureCode::all()
        .filter(|p| who.access.sends_bulk_mail_in(*p))
        .collect()
}

/// The send in the path, if the user may look at its prefecture (another prefecture's send
/// does not exist for them).
async fn load(state: &AppState, who: &Principal, id: &str) -> Result<BulkMail, WebError> {
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    let send = state
        .store()
        .bulk_mails()
        .get(BulkMailId(id))
        .await?
        .ok_or(WebError::NotFound)?;
    if !viewable(who).contains(&send.prefecture) {
        return Err(WebError::NotFound);
    }
    Ok(send)
}

/// May edit, start and stop this send: a sender in its prefecture whose area covers all of it.
fn may_change(who: &Principal, send: &BulkMail) -> bool {
    who.access.sends_bulk_mail_in(send.prefecture)
        && send
            .filter
            .within(who.access.area_in(send.prefecture).as_deref())
}

/// [`load`], refusing who may only look.
async fn load_changeable(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> Result<BulkMail, WebError> {
    let send = load(state, who, id).await?;
    if !may_change(who, &send) {
        return Err(WebError::Forbidden);
    }
    Ok(send)
}

fn audit(action: &str, who: &Principal, prefecture: PrefectureCode) -> AuditEvent {
    AuditEvent::new(action, Some(who.user.id)).in_prefecture(Some(prefecture))
}

fn filter_detail(f: &RecipientFilter) -> serde_json::Value {
    json!({
        "kinds": f.kinds.iter().map(|k| k.code()).collect::<Vec<_>>(),
        "municipalities": f.municipalities.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "period": f.period,
        "progress": f.progress.iter().map(|p| p.id()).collect::<Vec<_>>(),
    })
}

// ---- the compose form ----

/// The compose form as typed (or its defaults).
#[derive(Debug, Clone, Default)]
struct ComposeForm {
    kinds: Vec<String>,
    municipalities: Vec<String>,
    period: String,
    progress: Vec<String>,
    subject: String,
    body: String,
}

impl ComposeForm {
    /// Every kind, the period in progress if there is one, no text yet.
    fn defaults(periods: &[StoredPeriod], day: NaiveDate) -> Self {
        let running = periods
            .iter()
            .find(|p| !p.period.closed && p.period.opens_on <= day);
        Self {
            kinds: FacilityKind::ALL
                .iter()
                .map(|k| k.code().to_string())
                .collect(),
            period: running.map(|p| p.id.0.to_string()).unwrap_or_default(),
            ..Self::default()
        }
    }

    fn from_pairs(pairs: &[(String, String)]) -> Self {
        Self {
            kinds: all_of(pairs, "kinds"),
            municipalities: all_of(pairs, "municipalities"),
            period: one_of(pairs, "period"),
            progress: all_of(pairs, "progress"),
            subject: one_of(pairs, "subject"),
            body: one_of(pairs, "body"),
        }
    }

    fn of(send: &BulkMail) -> Self {
        let f = &send.filter;
        Self {
            kinds: f.kinds.iter().map(|k| k.code().to_string()).collect(),
            municipalities: f.municipalities.iter().map(ToString::to_string).collect(),
            period: f.period.map(|p| p.to_string()).unwrap_or_default(),
            progress: f.progress.iter().map(|p| p.id().to_owned()).collect(),
            subject: send.subject.clone(),
            body: send.body.clone(),
        }
    }

    /// The filter the form describes within what `who` may reach in `prefecture`, and what is
    /// wrong with it (the filter is then the closest one, for checking the mail against).
    fn filter(
        &self,
        who: &Principal,
        prefecture: PrefectureCode,
        periods: &[StoredPeriod],
    ) -> (RecipientFilter, Vec<FieldMessage>) {
        let mut errors = Vec::new();
        let kinds: Vec<FacilityKind> = FacilityKind::ALL
            .into_iter()
            .filter(|k| self.kinds.contains(&k.code().to_string()))
            .collect();
        let mut municipalities: Vec<MunicipalityCode> = self
            .municipalities
            .iter()
            .filter_map(|m| MunicipalityCode::parse(m).ok())
            .filter(|m| m.prefecture() == prefecture)
            .collect();
        municipalities.sort_unstable();
        municipalities.dedup();
        if let Some(area) = who.access.area_in(prefecture) {
            if municipalities.is_empty() {
                municipalities = area.clone();
            }
            if municipalities.is_empty() || municipalities.iter().any(|m| !area.contains(m)) {
                errors.push((
                    "municipalities",
                    "担当区域の外の市区町村には送信できません。担当区域の市区町村から選んでください。"
                        .to_owned(),
                ));
            }
        }
        let period = match self.period.trim() {
            "" => None,
            text => match text
                .parse::<i64>()
                .ok()
                .filter(|id| periods.iter().any(|p| p.id.0 == *id))
            {
                Some(id) => Some(id),
                None => {
                    errors.push((
                        "period",
                        "報告期間をもう一度選んでください（選んだ期間が見つかりません）。"
                            .to_owned(),
                    ));
                    None
                }
            },
        };
        let progress: Vec<ReportProgress> = ReportProgress::ALL
            .into_iter()
            .filter(|p| self.progress.iter().any(|x| x == p.id()))
            .collect();
        let filter = RecipientFilter {
            kinds,
            municipalities,
            period,
            progress,
        };
        (filter, errors)
    }
}

fn compose_errors(errors: Vec<ComposeError>) -> Vec<FieldMessage> {
    errors
        .into_iter()
        .map(|e| (e.field().id(), e.to_string()))
        .collect()
}

/// The filter's facilities as they are now: its kinds (with a period, those the period is
/// for), municipalities, and statuses in the period.
async fn recipients(
    state: &AppState,
    prefecture: PrefectureCode,
    filter: &RecipientFilter,
    periods: &[StoredPeriod],
) -> Result<Vec<Recipient>, WebError> {
    let period = filter
        .period
        .and_then(|id| periods.iter().find(|p| p.id.0 == id));
    let kinds = filter
        .kinds
        .iter()
        .copied()
        .filter(|k| period.is_none_or(|p| p.period.applies_to(*k)))
        .collect();
    let query = RecipientQuery {
        prefecture,
        kinds,
        municipalities: filter.municipalities.clone(),
        fiscal_year: period.map(|p| p.period.fiscal_year),
        progress: filter.progress.clone(),
        day: today(),
    };
    Ok(state.store().bulk_mails().recipients(&query).await?)
}

/// Facilities, addresses, and facilities without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    facilities: usize,
    addresses: usize,
    unreachable: usize,
}

impl Counts {
    fn of(list: &[Recipient]) -> Self {
        Self {
            facilities: list.len(),
            addresses: list.iter().map(|r| r.emails.len()).sum(),
            unreachable: list.iter().filter(|r| r.emails.is_empty()).count(),
        }
    }
}

fn period_label(p: &StoredPeriod) -> String {
    let state = if p.period.closed { "・締切済" } else { "" };
    format!(
        "{} 定期報告（報告期限 {}{state}）",
        fiscal_year_label(p.period.fiscal_year),
        p.period.deadline()
    )
}

#[derive(Template)]
#[template(path = "bulk_mail_compose.html")]
struct ComposePage {
    chrome: Chrome,
    title: String,
    csrf: String,
    action: String,
    prefecture: String,
    prefecture_name: &'static str,
    /// (code, name, selected) when the user sends in several prefectures (new sends only).
    choices: Vec<(String, &'static str, bool)>,
    /// The 制度 with their kinds: (制度, [(code, name)]).
    programs: Vec<(&'static str, Vec<(String, &'static str)>)>,
    /// (code, name) of the municipalities the user may choose.
    municipalities: Vec<(String, String)>,
    /// Staff of a 保健所 area: the choice is within it, none chosen means all of it.
    area_limited: bool,
    /// (id, label).
    periods: Vec<(String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    /// ({名前}, what it becomes, needs a period, used in the form).
    placeholders: Vec<(String, &'static str, bool, bool)>,
    form: ComposeForm,
    errors: Vec<FieldMessage>,
    counts: Option<Counts>,
    editing: bool,
}

impl ComposePage {
    fn error_for(&self, field: &str) -> Option<&str> {
        crate::html::message_for(&self.errors, field)
    }

    fn errors_for(&self, field: &str) -> Vec<&str> {
        self.errors
            .iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
            .collect()
    }

    fn kind_checked(&self, code: &str) -> bool {
        self.form.kinds.iter().any(|k| k == code)
    }

    fn municipality_checked(&self, code: &str) -> bool {
        self.form.municipalities.iter().any(|m| m == code)
    }

    fn status_checked(&self, id: &str) -> bool {
        self.form.progress.iter().any(|p| p == id)
    }
}

struct ComposeShown {
    form: ComposeForm,
    errors: Vec<FieldMessage>,
    counts: Option<Counts>,
    /// The draft being edited.
    editing: Option<BulkMailId>,
}

async fn compose_page(
    who: &Principal,
    csrf: String,
    prefecture: PrefectureCode,
    periods: &[StoredPeriod],
    shown: ComposeShown,
) -> Result<Response, WebError> {
    let status = if shown.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let programs = Program::ALL
        .iter()
        .map(|p| {
            (
                p.name(),
                FacilityKind::ALL
                    .iter()
                    .filter(|k| k.program() == *p)
                    .map(|k| (k.code().to_string(), k.name()))
                    .collect(),
            )
        })
        .collect();
    let used: Vec<Placeholder> = [&shown.form.subject, &shown.form.body]
        .iter()
        .filter_map(|t| MailText::parse(t).ok())
        .flat_map(|t| t.placeholders())
        .collect();
    let page = ComposePage {
        chrome: Chrome::new(),
        title: format!("一括メール配信の作成（{}）", prefecture.name()),
        csrf,
        action: match shown.editing {
            Some(id) => format!("{BASE}/{id}/edit"),
            None => format!("{BASE}/new"),
        },
        prefecture: prefecture.to_string(),
        prefecture_name: prefecture.name(),
        choices: if shown.editing.is_some() {
            Vec::new()
        } else {
            prefecture_choices(&sendable(who), prefecture)
        },
        programs,
        municipalities: municipality_choices(who, prefecture),
        area_limited: who.access.area_in(prefecture).is_some(),
        periods: periods
            .iter()
            .map(|p| (p.id.0.to_string(), period_label(p)))
            .collect(),
        statuses: ReportProgress::ALL
            .iter()
            .map(|p| (p.id(), p.label()))
            .collect(),
        placeholders: Placeholder::ALL
            .iter()
            .map(|p| {
                (
                    p.written(),
                    p.description(),
                    p.needs_period(),
                    used.contains(p),
                )
            })
            .collect(),
        form: shown.form,
        errors: shown.errors,
        counts: shown.counts,
        editing: shown.editing.is_some(),
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize)]
pub(crate) struct PrefectureQuery {
    prefecture: Option<String>,
    done: Option<String>,
}

pub(crate) async fn new_form(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Query(q): Query<PrefectureQuery>,
) -> Result<Response, WebError> {
    let prefecture = chosen(&sendable(&who), q.prefecture.as_deref())?;
    let periods = state.store().periods().list(Some(prefecture)).await?;
    let shown = ComposeShown {
        form: ComposeForm::defaults(&periods, today()),
        errors: Vec::new(),
        counts: None,
        editing: None,
    };
    compose_page(&who, csrf, prefecture, &periods, shown).await
}

/// What the compose form's buttons ask for.
enum Asked {
    /// 「送信先の件数を確認する」: the form again with the counts.
    Count,
    /// 「プレビューへ進む」: save the draft and show the preview.
    Preview,
}

/// Checks a posted compose form: the filter and the mail, every mistake at once. With
/// `Asked::Count`, only the filter must be right.
async fn checked(
    state: &AppState,
    who: &Principal,
    prefecture: PrefectureCode,
    periods: &[StoredPeriod],
    form: &ComposeForm,
    asked: &Asked,
) -> Result<(RecipientFilter, Counts), Vec<FieldMessage>> {
    let (filter, mut errors) = form.filter(who, prefecture, periods);
    if let Err(e) = compose(&form.subject, &form.body, &filter) {
        let only_filter = matches!(asked, Asked::Count);
        errors.extend(compose_errors(e).into_iter().filter(|(f, _)| {
            !only_filter || *f == ComposeField::Kinds.id() || *f == ComposeField::Progress.id()
        }));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let list = recipients(state, prefecture, &filter, periods)
        .await
        .map_err(|e| {
            vec![(
                "form",
                format!("送信先を調べられませんでした（{}）。", e.code()),
            )]
        })?;
    Ok((filter, Counts::of(&list)))
}

pub(crate) async fn new_submit(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let senders = sendable(&who);
    let Some(first) = senders.first().copied() else {
        return Err(WebError::Forbidden);
    };
    let form = ComposeForm::from_pairs(&pairs);
    // A state change never falls back to a default prefecture: the form names its own.
    let Some(prefecture) = PrefectureCode::parse(&one_of(&pairs, "prefecture")).ok() else {
        let periods = state.store().periods().list(Some(first)).await?;
        let shown = ComposeShown {
            form,
            errors: vec![(
                "prefecture",
                "都道府県が指定されていません。画面を表示し直してから、もう一度お試しください。"
                    .to_owned(),
            )],
            counts: None,
            editing: None,
        };
        return compose_page(&who, csrf, first, &periods, shown).await;
    };
    if !who.access.sends_bulk_mail_in(prefecture) {
        return Err(WebError::Forbidden);
    }
    submit(&state, &who, csrf, prefecture, form, &pairs, None).await
}

pub(crate) async fn edit_form(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let send = load_changeable(&state, &who, &id).await?;
    if send.status != BulkMailStatus::Draft {
        return Ok(see_other(&format!("{BASE}/{}", send.id), &[]));
    }
    let periods = state.store().periods().list(Some(send.prefecture)).await?;
    let shown = ComposeShown {
        form: ComposeForm::of(&send),
        errors: Vec::new(),
        counts: None,
        editing: Some(send.id),
    };
    compose_page(&who, csrf, send.prefecture, &periods, shown).await
}

pub(crate) async fn edit_submit(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let send = load_changeable(&state, &who, &id).await?;
    if send.status != BulkMailStatus::Draft {
        return Ok(see_other(&format!("{BASE}/{}", send.id), &[]));
    }
    let form = ComposeForm::from_pairs(&pairs);
    submit(
        &state,
        &who,
        csrf,
        send.prefecture,
        form,
        &pairs,
        Some(send.id),
    )
    .await
}

/// The compose form's POST, new or edited: counts, or the draft saved and its preview.
async fn submit(
    state: &AppState,
    who: &Principal,
    csrf: String,
    prefecture: PrefectureCode,
    form: ComposeForm,
    pairs: &[(String, String)],
    editing: Option<BulkMailId>,
) -> Result<Response, WebError> {
    let periods = state.store().periods().list(Some(prefecture)).await?;
    let asked = if one_of(pairs, "action") == "count" {
        Asked::Count
    } else {
        Asked::Preview
    };
    let (filter, counts) = match checked(state, who, prefecture, &periods, &form, &asked).await {
        Ok(x) => x,
        Err(errors) => {
            let shown = ComposeShown {
                form,
                errors,
                counts: None,
                editing,
            };
            return compose_page(who, csrf, prefecture, &periods, shown).await;
        }
    };
    if let Asked::Count = asked {
        let shown = ComposeShown {
            form,
            errors: Vec::new(),
            counts: Some(counts),
            editing,
        };
        return compose_page(who, csrf, prefecture, &periods, shown).await;
    }
    let new = NewBulkMail {
        prefecture,
        subject: form.subject.trim().to_owned(),
        body: form.body.clone(),
        filter,
    };
    let detail = json!({ "subject": new.subject, "filter": filter_detail(&new.filter) });
    let repo = state.store().bulk_mails();
    let id = match editing {
        Some(id) => {
            let event = audit("bulk_mail.edited", who, prefecture).with_detail(detail);
            // Started or stopped meanwhile: its page says so.
            repo.update_draft(id, &new, event, Utc::now()).await?;
            id
        }
        None => {
            let event = audit("bulk_mail.drafted", who, prefecture).with_detail(detail);
            repo.create(&new, Some(who.user.id), event, Utc::now())
                .await?
        }
    };
    Ok(see_other(&format!("{BASE}/{id}"), &[]))
}

// ---- the list ----

struct ListRow {
    id: i64,
    subject: String,
    status_id: &'static str,
    status: &'static str,
    created: String,
    started: Option<String>,
    facilities: u32,
    addresses: u32,
}

#[derive(Template)]
#[template(path = "bulk_mail_list.html")]
struct ListPage {
    chrome: Chrome,
    title: String,
    prefecture: String,
    prefecture_name: &'static str,
    choices: Vec<(String, &'static str, bool)>,
    may_send: bool,
    rows: Vec<ListRow>,
    notice: Option<&'static str>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Query(q): Query<PrefectureQuery>,
) -> Result<Response, WebError> {
    let allowed = viewable(&who);
    let prefecture = chosen(&allowed, q.prefecture.as_deref())?;
    let rows = state
        .store()
        .bulk_mails()
        .list(prefecture, LIST_LIMIT)
        .await?
        .into_iter()
        .map(|s| ListRow {
            id: s.id.0,
            subject: s.subject,
            status_id: s.status.id(),
            status: s.status.label(),
            created: tokyo_time(s.created_at),
            started: s.started_at.map(tokyo_time),
            facilities: s.facilities,
            addresses: s.addresses,
        })
        .collect();
    let page = ListPage {
        chrome: Chrome::new(),
        title: format!("一括メール配信（{}）", prefecture.name()),
        prefecture: prefecture.to_string(),
        prefecture_name: prefecture.name(),
        choices: prefecture_choices(&allowed, prefecture),
        may_send: who.access.sends_bulk_mail_in(prefecture),
        rows,
        notice: match q.done.as_deref() {
            Some("discarded") => Some("作成中の一括メールを破棄しました。"),
            _ => None,
        },
    };
    Ok(render(&page)?.into_response())
}

// ---- one send: preview (作成中) or progress ----

#[derive(Deserialize, Default)]
pub(crate) struct ShowQuery {
    facility: Option<String>,
    page: Option<String>,
    done: Option<String>,
    refresh: Option<String>,
}

/// The filter in words, for the preview and the progress page.
fn filter_lines(send: &BulkMail, periods: &[StoredPeriod]) -> Vec<(&'static str, String)> {
    let f = &send.filter;
    let kinds = f
        .kinds
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join("・");
    let municipalities = if f.municipalities.is_empty() {
        format!("{}全域", send.prefecture.name())
    } else {
        f.municipalities
            .iter()
            .map(|m| {
                teikyo_refdata::municipalities::get(*m)
                    .map_or_else(|| m.to_string(), |x| x.name.to_owned())
            })
            .collect::<Vec<_>>()
            .join("、")
    };
    let period = f
        .period
        .and_then(|id| periods.iter().find(|p| p.id.0 == id))
        .map_or_else(|| "指定なし".to_owned(), period_label);
    let progress = if f.progress.is_empty() {
        "すべて".to_owned()
    } else {
        f.progress
            .iter()
            .map(|p| p.label())
            .collect::<Vec<_>>()
            .join("・")
    };
    let mut out = vec![
        ("機関区分", kinds),
        ("市区町村", municipalities),
        ("報告期間", period),
    ];
    if f.period.is_some() {
        out.push(("報告状況", progress));
    }
    out
}

/// One recipient on the preview's table.
struct PreviewRow {
    facility_id: i64,
    name: String,
    code: String,
    progress: &'static str,
    addresses: usize,
    chosen: bool,
}

/// The rendered mail for one recipient.
struct PreviewMail {
    facility: String,
    to: String,
    subject: String,
    body: String,
}

/// Page links for tables paged in memory or in the store.
struct Paging {
    page: usize,
    pages: usize,
    first: usize,
    last: usize,
    total: usize,
    prev: Option<String>,
    next: Option<String>,
}

impl Paging {
    fn new(page: usize, total: usize, href: impl Fn(usize) -> String) -> Self {
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = page.clamp(1, pages);
        let first = (page - 1) * PAGE_SIZE;
        let last = (first + PAGE_SIZE).min(total);
        Self {
            page,
            pages,
            first: if total == 0 { 0 } else { first + 1 },
            last,
            total,
            prev: (page > 1).then(|| href(page - 1)),
            next: (page < pages).then(|| href(page + 1)),
        }
    }

    fn offset(&self) -> usize {
        self.first.saturating_sub(1)
    }

    fn is_needed(&self) -> bool {
        self.pages > 1
    }
}

fn page_number(text: Option<&str>) -> usize {
    text.and_then(|t| t.parse::<usize>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

#[derive(Template)]
#[template(path = "bulk_mail_preview.html")]
struct PreviewPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    id: i64,
    prefecture: String,
    prefecture_name: &'static str,
    filter: Vec<(&'static str, String)>,
    subject: String,
    body: String,
    counts: Counts,
    mail: Option<PreviewMail>,
    rows: Vec<PreviewRow>,
    paging: Paging,
    unreachable: Vec<String>,
    may_change: bool,
    errors: Vec<FieldMessage>,
    /// The mail no longer passes the checks (a period removed from the filter's reach…).
    compose_errors: Vec<String>,
}

impl PreviewPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        crate::html::message_for(&self.errors, field)
    }
}

/// The draft's page: what the mail says for one recipient, exactly as it will be sent, the
/// recipients as they are now, and the confirmation that starts the send.
async fn preview_page(
    state: &AppState,
    who: &Principal,
    csrf: String,
    send: &BulkMail,
    q: &ShowQuery,
    errors: Vec<FieldMessage>,
) -> Result<Response, WebError> {
    let periods = state.store().periods().list(Some(send.prefecture)).await?;
    let list = recipients(state, send.prefecture, &send.filter, &periods).await?;
    let counts = Counts::of(&list);
    let asked: Option<i64> = q.facility.as_deref().and_then(|f| f.parse().ok());
    let pick = list
        .iter()
        .filter(|r| !r.emails.is_empty())
        .find(|r| asked.is_none_or(|a| r.facility_id.0 == a))
        .or_else(|| list.iter().find(|r| !r.emails.is_empty()));
    let (mail, compose_errors) = match compose(&send.subject, &send.body, &send.filter) {
        Ok(composed) => {
            let mail = match pick {
                Some(r) => {
                    let occasion =
                        Occasion::of(state.store(), send.prefecture, send.filter.period).await?;
                    let about = About {
                        facility_id: r.facility_id.0,
                        facility_name: &r.facility_name,
                        facility_code: r.facility_code.as_deref(),
                        progress: r.progress,
                    };
                    let to = r.emails.first().cloned().unwrap_or_default();
                    let rendered = preview(
                        state.mail_templates()?,
                        &composed,
                        &occasion,
                        &about,
                        &to,
                        send.id,
                    )
                    .map_err(|e| WebError::Internal(e.to_string()))?;
                    Some(PreviewMail {
                        facility: r.facility_name.clone(),
                        to,
                        subject: rendered.subject,
                        body: rendered.body_text,
                    })
                }
                None => None,
            };
            (mail, Vec::new())
        }
        Err(e) => (None, e.iter().map(ToString::to_string).collect()),
    };
    let chosen_id = pick.map(|r| r.facility_id.0);
    let id = send.id.0;
    let paging = Paging::new(page_number(q.page.as_deref()), list.len(), |n| {
        format!("{BASE}/{id}?page={n}#recipients")
    });
    let rows = list
        .iter()
        .skip(paging.offset())
        .take(PAGE_SIZE)
        .map(|r| PreviewRow {
            facility_id: r.facility_id.0,
            name: r.facility_name.clone(),
            code: r.facility_code.clone().unwrap_or_default(),
            progress: r.progress.map_or("", |p| p.label()),
            addresses: r.emails.len(),
            chosen: Some(r.facility_id.0) == chosen_id,
        })
        .collect();
    let unreachable = list
        .iter()
        .filter(|r| r.emails.is_empty())
        .map(|r| match &r.facility_code {
            Some(c) => format!("{}（{c}）", r.facility_name),
            None => r.facility_name.clone(),
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = PreviewPage {
        chrome: Chrome::new(),
        title: format!("一括メールのプレビュー（{}）", send.prefecture.name()),
        csrf,
        id,
        prefecture: send.prefecture.to_string(),
        prefecture_name: send.prefecture.name(),
        filter: filter_lines(send, &periods),
        subject: send.subject.clone(),
        body: send.body.clone(),
        counts,
        mail,
        rows,
        paging,
        unreachable,
        may_change: may_change(who, send),
        errors,
        compose_errors,
    };
    Ok((status, render(&page)?).into_response())
}

/// One recipient row of a started send.
struct SentRow {
    name: String,
    code: String,
    progress: &'static str,
    to: String,
    status_id: &'static str,
    status: &'static str,
    mail_href: Option<String>,
}

#[derive(Template)]
#[template(path = "bulk_mail_progress.html")]
struct ProgressPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    id: i64,
    prefecture: String,
    prefecture_name: &'static str,
    status_id: &'static str,
    status: &'static str,
    running: bool,
    refresh: Option<u32>,
    filter: Vec<(&'static str, String)>,
    subject: String,
    body: String,
    started: String,
    finished: Option<String>,
    cancelled: Option<String>,
    facilities: u32,
    addresses: u32,
    unreachable: u32,
    created: u32,
    /// Mails whose outcome is settled (送信完了, 不達, 中止).
    settled: u64,
    /// (status id, label, count) of the mails, and 作成待ち.
    counts: Vec<(&'static str, &'static str, u64)>,
    rows: Vec<SentRow>,
    paging: Paging,
    area_note: bool,
    may_cancel: bool,
    notice: Option<String>,
    errors: Vec<FieldMessage>,
}

impl ProgressPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        crate::html::message_for(&self.errors, field)
    }
}

async fn progress_page(
    state: &AppState,
    who: &Principal,
    csrf: String,
    send: &BulkMail,
    q: &ShowQuery,
    errors: Vec<FieldMessage>,
) -> Result<Response, WebError> {
    let repo = state.store().bulk_mails();
    let periods = state.store().periods().list(Some(send.prefecture)).await?;
    let mails = repo.mail_counts(send.id).await?;
    let n = |s: MailStatus| mails.get(&s).copied().unwrap_or(0);
    let settled = n(MailStatus::Delivered) + n(MailStatus::Bounced) + n(MailStatus::Cancelled);
    let waiting = u64::from(send.addresses.saturating_sub(send.created_mails));
    let running = send.status == BulkMailStatus::Sending
        || MailStatus::ALL
            .iter()
            .any(|s| !s.is_final() && mails.get(s).is_some_and(|c| *c > 0));
    let mut counts = vec![(
        "waiting",
        if send.status == BulkMailStatus::Cancelled {
            "未作成（中止）"
        } else {
            "作成待ち"
        },
        waiting,
    )];
    counts.extend(MailStatus::ALL.iter().map(|s| (s.id(), s.label(), n(*s))));
    let area = who.access.area_in(send.prefecture);
    let total = repo.count_sent_to(send.id, area.as_deref()).await?;
    let id = send.id.0;
    let refresh = (running && q.refresh.as_deref() == Some("on")).then_some(REFRESH_SECS);
    let keep = if refresh.is_some() { "&refresh=on" } else { "" };
    let paging = Paging::new(
        page_number(q.page.as_deref()),
        usize::try_from(total).unwrap_or(usize::MAX),
        |p| format!("{BASE}/{id}?page={p}{keep}#recipients"),
    );
    let rows = repo
        .sent_to(
            send.id,
            area.as_deref(),
            u64::try_from(PAGE_SIZE).unwrap_or(50),
            u64::try_from(paging.offset()).unwrap_or(0),
        )
        .await?
        .into_iter()
        .map(|r| {
            let (status_id, status) = match (&r.to, r.mail) {
                (None, _) => ("none", "送信先なし"),
                (Some(_), Some((_, s))) => (s.id(), s.label()),
                (Some(_), None) if send.status == BulkMailStatus::Cancelled => {
                    ("not_created", "未作成（中止）")
                }
                (Some(_), None) => ("waiting", "作成待ち"),
            };
            SentRow {
                name: r.facility_name,
                code: r.facility_code.unwrap_or_default(),
                progress: r.progress.map_or("", |p| p.label()),
                to: r.to.unwrap_or_default(),
                status_id,
                status,
                mail_href: r.mail.map(|(m, _)| format!("/mail/log/{m}")),
            }
        })
        .collect();
    let notice = match q.done.as_deref() {
        Some("started") => Some(format!(
            "送信を開始しました。{} 件のメールを順に作成して送信します。この画面で進み具合を確認できます。",
            send.addresses
        )),
        Some("cancelled") => Some(
            "送信を中止しました。メールサーバへ渡していないメールは送信しません（送信済みのメールはそのままです）。"
                .to_owned(),
        ),
        _ => None,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ProgressPage {
        chrome: Chrome::new(),
        title: format!("一括メールの送信状況（{}）", send.prefecture.name()),
        csrf,
        id,
        prefecture: send.prefecture.to_string(),
        prefecture_name: send.prefecture.name(),
        status_id: send.status.id(),
        status: send.status.label(),
        running,
        refresh,
        filter: filter_lines(send, &periods),
        subject: send.subject.clone(),
        body: send.body.clone(),
        started: send.started_at.map(tokyo_time).unwrap_or_default(),
        finished: send.finished_at.map(tokyo_time),
        cancelled: send.cancelled_at.map(tokyo_time),
        facilities: send.facilities,
        addresses: send.addresses,
        unreachable: send.unreachable,
        created: send.created_mails,
        settled,
        counts,
        rows,
        paging,
        area_note: area.is_some(),
        may_cancel: send.status == BulkMailStatus::Sending && may_change(who, send),
        notice,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, WebError> {
    let send = load(&state, &who, &id).await?;
    show_send(&state, &who, csrf, &send, &q, Vec::new()).await
}

async fn show_send(
    state: &AppState,
    who: &Principal,
    csrf: String,
    send: &BulkMail,
    q: &ShowQuery,
    errors: Vec<FieldMessage>,
) -> Result<Response, WebError> {
    match send.status {
        BulkMailStatus::Draft => preview_page(state, who, csrf, send, q, errors).await,
        _ => progress_page(state, who, csrf, send, q, errors).await,
    }
}

#[derive(Deserialize)]
pub(crate) struct SendForm {
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    facilities: String,
    #[serde(default)]
    addresses: String,
}

/// 送信する: only from the preview, with its confirmation box ticked and the counts it showed.
pub(crate) async fn start(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Form(f): Form<SendForm>,
) -> Result<Response, WebError> {
    let send = load_changeable(&state, &who, &id).await?;
    let here = format!("{BASE}/{}", send.id);
    if send.status != BulkMailStatus::Draft {
        // A second click, or a send stopped meanwhile: its page says where it is.
        return Ok(see_other(&here, &[]));
    }
    let refusal = |message: String| vec![("confirm", message)];
    let q = ShowQuery::default();
    if f.confirm != "1" {
        let e = refusal(
            "送信する場合は「この内容で送信します」にチェックを入れてください。".to_owned(),
        );
        return show_send(&state, &who, csrf, &send, &q, e).await;
    }
    if compose(&send.subject, &send.body, &send.filter).is_err() {
        let e = refusal(
            "件名・本文に誤りがあるため送信できません。「修正する」から直してください。".to_owned(),
        );
        return show_send(&state, &who, csrf, &send, &q, e).await;
    }
    let periods = state.store().periods().list(Some(send.prefecture)).await?;
    let list = recipients(&state, send.prefecture, &send.filter, &periods).await?;
    let counts = Counts::of(&list);
    if counts.addresses == 0 {
        let e = refusal(
            "送信できるメールアドレスがありません。送信先の条件を見直してください。".to_owned(),
        );
        return show_send(&state, &who, csrf, &send, &q, e).await;
    }
    // The recipients may have changed since the preview (a facility reported meanwhile):
    // the send goes to the ones confirmed, or is confirmed again.
    if f.facilities.trim() != counts.facilities.to_string()
        || f.addresses.trim() != counts.addresses.to_string()
    {
        let e = refusal(format!(
            "プレビューの後で送信先が変わりました（現在 {} 施設・メールアドレス {} 件）。内容をご確認のうえ、もう一度送信してください。",
            counts.facilities, counts.addresses
        ));
        return show_send(&state, &who, csrf, &send, &q, e).await;
    }
    let event = audit("bulk_mail.started", &who, send.prefecture).with_detail(json!({
        "subject": send.subject,
        "filter": filter_detail(&send.filter),
        "facilities": counts.facilities,
        "addresses": counts.addresses,
        "unreachable": counts.unreachable,
    }));
    let started = state
        .store()
        .bulk_mails()
        .start(
            send.id,
            &list,
            Some(who.user.id),
            &job(send.id),
            event,
            Utc::now(),
        )
        .await?;
    if started {
        Ok(see_other(&format!("{here}?done=started"), &[]))
    } else {
        Ok(see_other(&here, &[]))
    }
}

#[derive(Deserialize)]
pub(crate) struct CancelForm {
    #[serde(default)]
    confirm: String,
}

/// 中止 (of a send) or 破棄 (of a draft), with its confirmation box ticked.
pub(crate) async fn cancel(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Form(f): Form<CancelForm>,
) -> Result<Response, WebError> {
    let send = load_changeable(&state, &who, &id).await?;
    let q = ShowQuery::default();
    if f.confirm != "1" {
        let message = if send.status == BulkMailStatus::Draft {
            "破棄する場合は「この一括メールを破棄します」にチェックを入れてください。"
        } else {
            "中止する場合は「送信を中止します」にチェックを入れてください。"
        };
        return show_send(
            &state,
            &who,
            csrf,
            &send,
            &q,
            vec![("cancel", message.to_owned())],
        )
        .await;
    }
    let event = audit("bulk_mail.cancelled", &who, send.prefecture).with_detail(json!({
        "status_before": send.status.id(),
        "created_mails": send.created_mails,
        "addresses": send.addresses,
    }));
    match state
        .store()
        .bulk_mails()
        .cancel(send.id, Some(who.user.id), event, Utc::now())
        .await?
    {
        Some(_) if send.status == BulkMailStatus::Draft => Ok(see_other(
            &format!("{BASE}?prefecture={}&done=discarded", send.prefecture),
            &[],
        )),
        Some(_) => Ok(see_other(
            &format!("{BASE}/{}?done=cancelled", send.id),
            &[],
        )),
        None => {
            // Finished or stopped by someone else since the page was shown.
            let now = load(&state, &who, &id).await?;
            let message = match now.status {
                BulkMailStatus::Cancelled => "この一括メールは既に中止されています。",
                _ => "この一括メールはすべてのメールの作成を終えているため、中止できません。",
            };
            show_send(
                &state,
                &who,
                csrf,
                &now,
                &q,
                vec![("cancel", message.to_owned())],
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_counts_rows_and_links_neighbours() {
        let p = Paging::new(2, 120, |n| format!("?page={n}"));
        assert_eq!((p.pages, p.first, p.last, p.offset()), (3, 51, 100, 50));
        assert_eq!(p.prev.as_deref(), Some("?page=1"));
        assert_eq!(p.next.as_deref(), Some("?page=3"));
        let past = Paging::new(9, 10, |n| format!("?page={n}"));
        assert_eq!((past.page, past.first, past.last), (1, 1, 10));
        assert!(!past.is_needed());
        let none = Paging::new(1, 0, |n| format!("?page={n}"));
        assert_eq!((none.first, none.last, none.total), (0, 0, 0));
    }
}
