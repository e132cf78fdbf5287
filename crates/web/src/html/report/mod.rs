//! 調査票入力画面 and the generated section pages (DOMAIN §4.4). A facility's user opens the
//! 定期報告 of the current 年度 from the home page, sees every section with its 入力状況 and
//! enters each on a page generated from the item set: 一時保存 saves without completeness
//! checks, 入力完了 validates everything; a save against a version someone else has replaced is
//! refused with what they changed, never written over.
//!
//! The reporting workflow (periods, 番号確認, 一括入力完了, 報告, review) builds on these pages.

pub(crate) mod fields;
pub(crate) mod review;
pub(crate) mod start;
pub(crate) mod view;
pub(crate) mod workflow;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use teikyo_domain::Severity;
use teikyo_domain::forms::{Answers, Catalogue, Issue, ItemSet, Mode, Section, Validator};
use teikyo_domain::report::{ReportStatus, SectionStatus, fiscal_year_label};
use teikyo_store::{
    AuditEvent, Facility, FacilityId, Report, ReportId, SaveOutcome, SavedSection, SectionSave,
};

use self::fields::FormFields;
use self::view::{Builder, Control, FieldView, SummaryLine};
use super::account::see_other;
use super::mail::tokyo_time;
use crate::auth::{Csrf, Principal, SignedIn};
use crate::error::WebError;
use crate::html::{Chrome, render};
use crate::state::AppState;

pub(crate) fn forms(state: &AppState) -> Result<&Catalogue, WebError> {
    state
        .forms()
        .ok_or_else(|| WebError::Internal("item sets are not loaded".into()))
}

pub(crate) fn today() -> chrono::NaiveDate {
    teikyo_domain::opening::japan_date(Utc::now())
}

/// What the signed-in user may do with a facility's reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Right {
    /// The facility's users with the 制度, and its delegates.
    Enter,
    /// Prefecture staff who review the facility (and the operator): they may enter and submit
    /// for it (代理入力, audited as proxy) and confirm or return its reports.
    Proxy,
    View,
}

pub(crate) fn right(who: &Principal, f: &Facility) -> Result<Right, WebError> {
    let scope = f.scope();
    if who.access.enters_reports(&scope, f.record.kind.program()) {
        Ok(Right::Enter)
    } else if who.access.reviews_facility(&scope) {
        Ok(Right::Proxy)
    } else if who.access.sees_facility(&scope) {
        Ok(Right::View)
    } else {
        // As for the facility's other pages: outside the scope, the facility does not exist.
        Err(WebError::NotFound)
    }
}

pub(crate) async fn facility(state: &AppState, id: i64) -> Result<Facility, WebError> {
    state
        .store()
        .facilities()
        .get(FacilityId(id))
        .await?
        .ok_or(WebError::NotFound)
}

pub(crate) fn audit(who: &Principal, action: &str, f: &Facility) -> AuditEvent {
    AuditEvent::new(action, Some(who.user.id))
        .in_prefecture(Some(f.record.prefecture))
        .about_facility(Some(f.id.0))
}

// ---- section pages ----

#[derive(Template)]
#[template(path = "report_section.html")]
pub(crate) struct SectionPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    action: String,
    back: String,
    facility_name: String,
    report_label: String,
    status: &'static str,
    version: i64,
    read_only: bool,
    read_only_reason: Option<String>,
    notice: Option<String>,
    conflict: Option<Conflict>,
    not_saved: bool,
    summary: Vec<SummaryLine>,
    errors: usize,
    fields: Vec<FieldView>,
    script_href: &'static str,
}

pub(crate) struct Conflict {
    who: String,
    when: String,
    changes: Vec<String>,
}

/// Everything a section page is about.
pub(crate) struct Context {
    pub(crate) report: Report,
    pub(crate) facility: Facility,
    pub(crate) right: Right,
    pub(crate) saved: Vec<SavedSection>,
}

pub(crate) async fn context(
    state: &AppState,
    who: &Principal,
    id: i64,
) -> Result<Context, WebError> {
    let report = state
        .store()
        .reports()
        .get(ReportId(id))
        .await?
        .ok_or(WebError::NotFound)?;
    let facility = facility(state, report.facility_id.0).await?;
    let right = right(who, &facility)?;
    let saved = state.store().reports().sections(report.id).await?;
    Ok(Context {
        report,
        facility,
        right,
        saved,
    })
}

fn find<'c>(
    catalogue: &'c Catalogue,
    report: &Report,
    section: &str,
) -> Result<(&'c ItemSet, &'c Section), WebError> {
    let set = workflow::item_set(catalogue, report)?;
    let s = set
        .sections
        .iter()
        .find(|s| s.id == section)
        .ok_or(WebError::NotFound)?;
    Ok((set, s))
}

/// All saved sections' answers as one (the report as a whole: 差異表示, the review queue).
pub(crate) fn merged(saved: &[SavedSection]) -> Answers {
    let mut all = Answers::default();
    for s in saved {
        all.merge(s.answers.clone());
    }
    all
}

/// Whether `section` is saved as 入力完了.
pub(crate) fn is_complete(saved: &[SavedSection], section: &str) -> bool {
    saved
        .iter()
        .any(|x| x.section == section && x.status == SectionStatus::Complete)
}

/// The report's answers with this section's replaced by `own` (conditions and rules may look
/// across sections).
fn whole(saved: &[SavedSection], section: &str, own: &Answers) -> Answers {
    let mut all = Answers::default();
    for s in saved.iter().filter(|s| s.section != section) {
        all.merge(s.answers.clone());
    }
    all.merge(own.clone());
    all
}

struct Shown<'a> {
    ctx: &'a Context,
    set: &'a ItemSet,
    section: &'a Section,
    fields: FormFields,
    answers: Answers,
    version: i64,
    issues: Vec<Issue>,
    notice: Option<String>,
    conflict: Option<Conflict>,
    not_saved: bool,
}

impl<'a> Shown<'a> {
    /// The page with these fields and nothing to report.
    fn new(
        ctx: &'a Context,
        set: &'a ItemSet,
        section: &'a Section,
        fields: FormFields,
        answers: Answers,
        version: i64,
    ) -> Self {
        Self {
            ctx,
            set,
            section,
            fields,
            answers,
            version,
            issues: Vec::new(),
            notice: None,
            conflict: None,
            not_saved: false,
        }
    }
}

fn show(catalogue: &Catalogue, csrf: String, s: Shown<'_>) -> Result<Response, WebError> {
    let ctx = s.ctx;
    let stored = ctx.saved.iter().find(|x| x.section == s.section.id);
    let read_only = ctx.right == Right::View || !ctx.report.status.takes_input();
    let read_only_reason = if ctx.right == Right::View {
        Some("この報告を入力する権限がないため、内容の確認のみできます。".to_owned())
    } else if !ctx.report.status.takes_input() {
        Some(format!(
            "この報告は「{}」のため、変更できません。",
            ctx.report.status.label()
        ))
    } else {
        None
    };
    let all = whole(&ctx.saved, &s.section.id, &s.answers);
    let mut views = Builder {
        catalogue,
        set: s.set,
        section: s.section,
        fields: &s.fields,
        answers: &all,
        read_only,
    }
    .build();
    let summary = view::place(&mut views, &s.issues);
    let errors = s
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    let status = if errors > 0 || s.conflict.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = SectionPage {
        chrome: Chrome::new(),
        title: format!("{} {}", s.section.number, s.section.title),
        csrf,
        action: format!("/reports/{}/sections/{}", ctx.report.id, s.section.id),
        back: format!("/reports/{}", ctx.report.id),
        facility_name: ctx.facility.record.names.official.clone(),
        report_label: format!(
            "{} {}",
            fiscal_year_label(ctx.report.fiscal_year),
            ctx.report.kind.label()
        ),
        status: stored.map_or(SectionStatus::Empty, |x| x.status).label(),
        version: s.version,
        read_only,
        read_only_reason,
        notice: s.notice,
        conflict: s.conflict,
        not_saved: s.not_saved,
        summary,
        errors,
        fields: views,
        script_href: crate::assets::report_script_href(),
    };
    Ok((status, render(&page)?).into_response())
}

pub(crate) async fn section(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path((id, section)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let catalogue = forms(&state)?;
    let ctx = context(&state, &who, id).await?;
    let (set, sec) = find(catalogue, &ctx.report, &section)?;
    let stored = ctx.saved.iter().find(|x| x.section == sec.id);
    // A 未入力 section starts from the last confirmed report (「「未入力」の報告項目に前回報告の
    // 内容が保持されます」), carried over to this year's item set.
    let answers = match stored {
        Some(x) => x.answers.clone(),
        None => match state
            .store()
            .reports()
            .last_confirmation(ctx.report.facility_id)
            .await?
        {
            Some(c) => workflow::carried(catalogue, &c, set).of_section(sec),
            None => Answers::default(),
        },
    };
    let fields = fields::encode(sec, &answers);
    show(
        catalogue,
        csrf,
        Shown {
            ctx: &ctx,
            set,
            section: sec,
            fields,
            answers,
            version: stored.map_or(0, |x| x.version),
            issues: Vec::new(),
            notice: None,
            conflict: None,
            not_saved: false,
        },
    )
}

pub(crate) async fn save(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path((id, section)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let catalogue = forms(&state)?;
    let ctx = context(&state, &who, id).await?;
    let (set, sec) = find(catalogue, &ctx.report, &section)?;
    if ctx.right == Right::View {
        return Err(WebError::Forbidden);
    }
    let action = pairs
        .iter()
        .find(|(k, _)| k == "action")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let version: i64 = pairs
        .iter()
        .find(|(k, _)| k == "version")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut fields = FormFields::from_pairs(pairs);
    // 「行を追加」: one more blank row, nothing saved.
    if let Some(group) = action.strip_prefix("add:") {
        if sec.items.iter().any(|i| i.id.as_str() == group) {
            fields.add_row(&fields::rows_key(group));
        }
        let (answers, _) = fields::decode(catalogue, sec, &fields);
        let page = Shown::new(&ctx, set, sec, fields, answers, version);
        return show(catalogue, csrf, page);
    }
    fields::normalise(sec, &mut fields);
    // 「郵便番号から所在地を入力」: fills the address, nothing saved.
    if action == "postal" {
        let notice = fill_address(sec, &mut fields);
        let (answers, issues) = fields::decode(catalogue, sec, &fields);
        let page = Shown {
            issues,
            notice: Some(notice),
            ..Shown::new(&ctx, set, sec, fields, answers, version)
        };
        return show(catalogue, csrf, page);
    }
    if !ctx.report.status.takes_input() {
        let (answers, _) = fields::decode(catalogue, sec, &fields);
        let page = Shown {
            not_saved: true,
            ..Shown::new(&ctx, set, sec, fields, answers, version)
        };
        return show(catalogue, csrf, page);
    }
    let complete = action == "complete";
    let (answers, input_issues) = fields::decode(catalogue, sec, &fields);
    let all = whole(&ctx.saved, &sec.id, &answers);
    let (status, issues) = judge(catalogue, set, &sec.id, &all, input_issues, complete);
    let Some(status) = status else {
        let page = Shown {
            issues,
            not_saved: true,
            ..Shown::new(&ctx, set, sec, fields, answers, version)
        };
        return show(catalogue, csrf, page);
    };
    let save = SectionSave {
        report: ctx.report.id,
        section: &sec.id,
        expected_version: version,
        status,
        answers: &answers,
        by: Some(who.user.id),
    };
    let event = audit(&who, "report.section_saved", &ctx.facility)
        .on("report", ctx.report.id)
        .with_detail(serde_json::json!({
            "section": sec.id,
            "status": status.id(),
            "version": version + 1,
            "proxy": ctx.right == Right::Proxy,
        }));
    let now = Utc::now();
    match state
        .store()
        .reports()
        .save_section(&save, &event, now)
        .await?
    {
        SaveOutcome::Saved { version } => {
            if status == SectionStatus::Complete || (issues.is_empty() && !complete) {
                let title = format!("{} {}", sec.number, sec.title);
                let to = format!(
                    "/reports/{}?saved={}&status={}",
                    ctx.report.id,
                    urlencoding(&title),
                    status.id()
                );
                return Ok(see_other(&to, &[]));
            }
            let notice = if complete {
                "入力内容を一時保存しました。次の項目を直してから、もう一度「入力完了」を押してください。"
            } else {
                "一時保存しました。次の点をご確認ください（「入力完了」の前に直してください）。"
            };
            // The page shows the section as it is now stored.
            let mut ctx = ctx;
            ctx.saved.retain(|s| s.section != sec.id);
            ctx.saved.push(SavedSection {
                section: sec.id.clone(),
                status,
                answers: answers.clone(),
                version,
                updated_by: Some(who.user.id),
                updated_at: now,
            });
            let page = Shown {
                issues,
                notice: Some(notice.to_owned()),
                ..Shown::new(&ctx, set, sec, fields, answers, version)
            };
            show(catalogue, csrf, page)
        }
        SaveOutcome::Stale { current } => {
            let conflict = conflict(&state, set, sec, &answers, current.as_ref()).await?;
            let version = current.as_ref().map_or(0, |c| c.version);
            let page = Shown {
                issues,
                conflict: Some(conflict),
                not_saved: true,
                ..Shown::new(&ctx, set, sec, fields, answers, version)
            };
            show(catalogue, csrf, page)
        }
        SaveOutcome::Closed { status } => {
            let mut issues = issues;
            issues.insert(
                0,
                Issue {
                    code: "report.closed",
                    severity: Severity::Error,
                    path: sec.id.clone(),
                    item: teikyo_domain::forms::ItemId(sec.id.clone()),
                    message: closed_message(status),
                },
            );
            let page = Shown {
                issues,
                not_saved: true,
                ..Shown::new(&ctx, set, sec, fields, answers, version)
            };
            show(catalogue, csrf, page)
        }
        SaveOutcome::Missing => Err(WebError::NotFound),
    }
}

/// The validator's verdict on a save: the status to store (`None`: nothing can be stored) and
/// the issues to show. A failed 入力完了 still keeps the work as 一時保存 when it can be stored.
fn judge(
    catalogue: &Catalogue,
    set: &ItemSet,
    section: &str,
    all: &Answers,
    input_issues: Vec<Issue>,
    complete: bool,
) -> (Option<SectionStatus>, Vec<Issue>) {
    let reference = teikyo_refdata::forms::PostalMaster;
    let validator = Validator::new(catalogue, &reference);
    let check = |mode| {
        let mut issues = input_issues.clone();
        issues.extend(
            validator
                .validate_section(set, section, all, mode)
                .unwrap_or_default(),
        );
        issues
    };
    let blocked = |issues: &[Issue]| issues.iter().any(|i| i.severity == Severity::Error);
    let (mode, status) = if complete {
        (Mode::Complete, SectionStatus::Complete)
    } else {
        (Mode::Draft, SectionStatus::Draft)
    };
    let issues = check(mode);
    if !blocked(&issues) {
        return (Some(status), issues);
    }
    // The draft checks run again only for a failed 入力完了, to know whether it can be kept.
    let keep = complete && !blocked(&check(Mode::Draft));
    (keep.then_some(SectionStatus::Draft), issues)
}

fn closed_message(status: ReportStatus) -> String {
    format!(
        "この報告は保存の直前に「{}」になったため、保存していません。入力内容はこの画面に残っています。",
        status.label()
    )
}

/// Who replaced the section and what differs between their version and this page's input.
async fn conflict(
    state: &AppState,
    set: &ItemSet,
    section: &Section,
    mine: &Answers,
    current: Option<&SavedSection>,
) -> Result<Conflict, WebError> {
    let empty = Answers::default();
    let theirs = current.map_or(&empty, |c| &c.answers);
    let who = match current.and_then(|c| c.updated_by) {
        Some(u) => state.store().users().get(u).await?.map_or_else(
            || "他の利用者".to_owned(),
            |u| format!("{} {}", u.family_name, u.given_name),
        ),
        None => "他の利用者".to_owned(),
    };
    let changes = teikyo_domain::forms::diff(set, theirs, mine)
        .into_iter()
        .filter(|d| section.items.iter().any(|i| i.id == d.item))
        .map(|d| d.label)
        .collect();
    Ok(Conflict {
        who,
        when: current
            .map(|c| tokyo_time(c.updated_at))
            .unwrap_or_default(),
        changes,
    })
}

fn fill_address(section: &Section, fields: &mut FormFields) -> String {
    for rule in &section.rules {
        let teikyo_domain::forms::Rule::PostalAddress { postal, address } = rule else {
            continue;
        };
        let typed = fields.one(postal.as_str()).to_owned();
        let Ok(code) = teikyo_domain::PostalCode::parse(&typed) else {
            return "郵便番号を7桁の数字で入力してから、もう一度押してください。".to_owned();
        };
        let Some(area) = teikyo_refdata::address::postal_area(code) else {
            return super::apply::unknown_postal_code(code);
        };
        let head = format!(
            "{}{}{}",
            area.first.prefecture_name, area.first.city, area.town
        );
        let now = fields.one(address.as_str()).trim().to_owned();
        if !now.starts_with(&head) {
            fields.set(address.as_str(), format!("{head}{now}"));
        }
        fields.set(postal.as_str(), code.to_string());
        return "所在地に郵便番号の住所を入力しました。番地などを続けて入力し、保存してください（まだ保存していません）。"
            .to_owned();
    }
    "この画面には郵便番号から入力できる所在地がありません。".to_owned()
}

pub(crate) fn urlencoding(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
