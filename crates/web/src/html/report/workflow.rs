//! The reporting workflow on the facility's side (DOMAIN §4.2–§4.5): the 制度ホーム with one card
//! per report, the 調査票入力画面 of one report with the single next step spelt out, and the
//! steps themselves — 報告 (with the seed's 「報告申請します。よろしいですか？」), 引き戻し, 取消
//! (after saying it cannot be undone), 一括入力完了 (the seed's rules), 修正 of a confirmed report
//! (its next 報告 is a 再報告), and starting a 随時報告 or 新規報告. Prefecture staff who review
//! the facility may do the same for it (代理入力, audited as proxy).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use teikyo_domain::forms::{Answers, Catalogue, ItemSet, Value, carry_over};
use teikyo_domain::ndb::InsuranceCodeCheck;
use teikyo_domain::report::{
    ReportKind, ReportStatus, SectionStatus, Transition, fiscal_year_label, fiscal_year_of,
};
use teikyo_store::{
    FacilityDates, NewReport, Report, StoredPeriod, TransitionOutcome, TransitionRequest,
};

use super::{
    Context, Right, audit, context, facility, forms, is_complete, right, today, urlencoding,
};
use crate::auth::{Csrf, Principal, SignedIn};
use crate::error::WebError;
use crate::html::account::see_other;
use crate::html::mail::tokyo_time;
use crate::html::{Chrome, render};
use crate::state::AppState;
use teikyo_mail::report::{StepNotice, notice_job};

pub(crate) use teikyo_domain::text::date_ja;

pub(crate) fn report_label(r: &Report) -> String {
    format!("{} {}", fiscal_year_label(r.fiscal_year), r.kind.label())
}

pub(crate) fn item_set<'c>(catalogue: &'c Catalogue, r: &Report) -> Result<&'c ItemSet, WebError> {
    catalogue
        .item_sets
        .get(&r.item_set)
        .ok_or_else(|| WebError::Internal(format!("item set {} is not loaded", r.item_set)))
}

/// The deadline in force of the report's period, for the page (none for reports without one).
async fn deadline(state: &AppState, r: &Report) -> Result<Option<String>, WebError> {
    let Some(pid) = r.period_id else {
        return Ok(None);
    };
    Ok(state
        .store()
        .periods()
        .get(pid)
        .await?
        .map(|p| date_ja(p.period.deadline())))
}

/// The period a facility can report in today, if one is open for it.
pub(crate) async fn open_period(
    state: &AppState,
    f: &teikyo_store::Facility,
    day: NaiveDate,
) -> Result<Option<StoredPeriod>, WebError> {
    Ok(state
        .store()
        .periods()
        .for_facility(f.record.prefecture, f.record.kind, day)
        .await?
        .into_iter()
        .find(|p| p.period.accepts_on(day)))
}

/// The one sentence that tells the facility what to do next (the words where it gives
/// them).
pub(crate) fn next_step(status: ReportStatus, complete: usize, total: usize) -> String {
    match status {
        ReportStatus::NotReported => {
            "まだ報告を始めていません。「定期報告を始める」から入力を始めてください。".to_owned()
        }
        ReportStatus::InProgress if complete < total => format!(
            "入力完了 {complete} / {total} セクションです。残りのセクションを「入力」から入力し、「入力完了」を押してください。"
        ),
        ReportStatus::InProgress => {
            "すべての項目が入力完了です。「報告」ボタンを押して報告を完了してください。".to_owned()
        }
        ReportStatus::Submitted | ReportStatus::Resubmitted => {
            "報告済です。都道府県等の確認をお待ちください。内容を直す場合は「引き戻し」を押してください。"
                .to_owned()
        }
        ReportStatus::Confirmed => {
            "都道府県等の確認が完了しました。内容に変更があった場合は「修正する」から再報告してください。"
                .to_owned()
        }
    }
}

// ---- 制度ホーム ----

pub(crate) struct Card {
    label: String,
    status: &'static str,
    status_class: &'static str,
    next: String,
    deadline: Option<String>,
    href: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "report_home.html")]
struct HomePage {
    chrome: Chrome,
    title: String,
    csrf: String,
    facility_id: i64,
    notice: Option<String>,
    /// 廃止機関 or 休止中, from the facility record (set at 確認完了 of the report that said so).
    standing: Option<String>,
    period: Option<String>,
    periodic_missing: Option<String>,
    can_start_periodic: bool,
    /// The start needs no 番号確認 (nothing to preprint, or skipped last time): the button
    /// starts the report; otherwise it opens the 番号確認 page.
    periodic_straight: bool,
    /// Skipped last time: the 番号確認 page is still offered, for the preprint.
    periodic_recheck: bool,
    can_start_change: bool,
    can_start_initial: bool,
    cards: Vec<Card>,
    /// Whether residents can find the facility, and if not why (DOMAIN §4.6: the facility is
    /// told why it is hidden).
    publication: Vec<String>,
}

#[derive(Deserialize)]
pub(crate) struct HomeQuery {
    done: Option<String>,
}

pub(crate) async fn home(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<i64>,
    Query(q): Query<HomeQuery>,
) -> Result<Response, WebError> {
    let catalogue = forms(&state)?;
    let f = facility(&state, id).await?;
    let right = right(&who, &f)?;
    let day = today();
    let period = open_period(&state, &f, day).await?;
    let reports = state.store().reports().of_facility(f.id).await?;
    let mut cards = Vec::new();
    for r in &reports {
        let set = item_set(catalogue, r)?;
        let saved = state.store().reports().sections(r.id).await?;
        let complete = set
            .sections
            .iter()
            .filter(|s| is_complete(&saved, &s.id))
            .count();
        let deadline = deadline(&state, r).await?;
        cards.push(Card {
            label: report_label(r),
            status: r.status.label(),
            status_class: r.status.id(),
            next: next_step(r.status, complete, set.sections.len()),
            deadline,
            href: format!("/reports/{}", r.id),
            updated: tokyo_time(r.updated_at),
        });
    }
    let periodic_started = period.as_ref().is_some_and(|p| {
        reports
            .iter()
            .any(|r| r.kind == ReportKind::Periodic && r.fiscal_year == p.period.fiscal_year)
    });
    // A 廃止機関 reports nothing more; its accounts go to the 棚卸し.
    let abolished = f.record.abolished_on.is_some_and(|d| d <= day);
    let standing = match (f.record.abolished_on, f.record.suspended_on) {
        (Some(d), _) if d <= day => Some(format!(
            "この機関は廃止機関です（廃止日 {}）。報告の受付は終了しています。",
            date_ja(d)
        )),
        (Some(d), _) => Some(format!(
            "この機関は {} に廃止する予定です（確認完了済の報告による）。",
            date_ja(d)
        )),
        (None, Some(d)) if d <= day => Some(format!(
            "この機関は休止中です（休止日 {}）。再開したときは随時報告で報告してください。",
            date_ja(d)
        )),
        _ => None,
    };
    let enters = right != Right::View && !abolished;
    let (checks, remembered) = match &period {
        Some(p) if enters && !periodic_started => {
            match catalogue.current(f.record.kind, p.period.fiscal_year) {
                Some(set) => super::start::asks(&state, set, &f, p.period.fiscal_year).await?,
                None => (false, false),
            }
        }
        _ => (false, false),
    };
    let open_change = reports
        .iter()
        .any(|r| r.kind != ReportKind::Periodic && r.status == ReportStatus::InProgress);
    let publication = publication_lines(&state, &f).await?;
    let notice = match q.done.as_deref() {
        Some("cancelled") => Some("報告を取消しました。入力した内容は削除されました。".to_owned()),
        Some("no_period") => Some(
            "現在、定期報告の受付期間ではありません。都道府県等からの定期報告のご案内をお待ちください。"
                .to_owned(),
        ),
        Some("initial_exists") => {
            Some("この機関はすでに報告しています。変更は随時報告で報告してください。".to_owned())
        }
        _ => None,
    };
    Ok(render(&HomePage {
        chrome: Chrome::new(),
        title: format!("報告（{}）", f.record.names.official),
        csrf,
        facility_id: f.id.0,
        notice,
        standing,
        period: period.as_ref().map(|p| {
            format!(
                "{} 定期報告の受付期間：{} ～ {}（報告基準日 {}）",
                fiscal_year_label(p.period.fiscal_year),
                date_ja(p.period.opens_on),
                date_ja(p.period.deadline()),
                date_ja(p.period.reference_date)
            )
        }),
        periodic_missing: period.as_ref().filter(|_| !periodic_started).map(|p| {
            next_step(ReportStatus::NotReported, 0, 0)
                + &format!("（報告期限 {}）", date_ja(p.period.deadline()))
        }),
        can_start_periodic: enters && period.is_some() && !periodic_started,
        periodic_straight: !checks || remembered,
        periodic_recheck: checks && remembered,
        can_start_change: enters && !reports.is_empty() && !open_change,
        can_start_initial: enters && reports.is_empty(),
        cards,
        publication,
    })?
    .into_response())
}

/// What the facility reads about its publication: shown since its last 確認完了, being
/// prepared (the job has not run yet), or hidden with every reason.
async fn publication_lines(
    state: &AppState,
    f: &teikyo_store::Facility,
) -> Result<Vec<String>, WebError> {
    let published = state.store().publications().state(f.id).await?;
    let confirmed = state.store().reports().last_confirmation(f.id).await?;
    let pending = confirmed.as_ref().is_some_and(|c| {
        published
            .as_ref()
            .is_none_or(|p| p.document.confirmed_at < c.confirmed_at)
    });
    if pending {
        return Ok(vec![
            "確認が完了した報告を、住民向けの検索に反映しています。数分で反映されます。".into(),
        ]);
    }
    Ok(match published {
        None => vec![teikyo_domain::publication::HiddenReason::NeverConfirmed.message()],
        Some(p) if p.visible() => vec![format!(
            "住民向けの検索に公表されています（最終確認日 {}）。",
            date_ja(teikyo_domain::opening::japan_date(p.document.confirmed_at))
        )],
        Some(p) => p.hidden.iter().map(|r| r.message()).collect(),
    })
}

/// A 廃止機関 starts no report: back to its 制度ホーム, which says why.
pub(crate) fn abolished(f: &teikyo_store::Facility) -> Option<Response> {
    f.record
        .abolished_on
        .filter(|d| *d <= today())
        .map(|_| see_other(&format!("/facility/{}/report", f.id.0), &[]))
}

/// Starts a 随時報告 (one open at a time: an open one is returned).
pub(crate) async fn start_change(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    start_other(state, who, id, ReportKind::Change).await
}

/// Starts the 新規報告 of a newly opened facility (only before any other report).
pub(crate) async fn start_initial(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    start_other(state, who, id, ReportKind::Initial).await
}

async fn start_other(
    state: AppState,
    who: std::sync::Arc<Principal>,
    id: i64,
    kind: ReportKind,
) -> Result<Response, WebError> {
    let catalogue = forms(&state)?;
    let f = facility(&state, id).await?;
    let right = right(&who, &f)?;
    if right == Right::View {
        return Err(WebError::Forbidden);
    }
    if let Some(to) = abolished(&f) {
        return Ok(to);
    }
    let existing = state.store().reports().of_facility(f.id).await?;
    if kind == ReportKind::Initial && !existing.is_empty() {
        return Ok(see_other(
            &format!("/facility/{}/report?done=initial_exists", f.id.0),
            &[],
        ));
    }
    if let Some(open) = existing
        .iter()
        .find(|r| r.kind == kind && r.status == ReportStatus::InProgress)
    {
        return Ok(see_other(&format!("/reports/{}", open.id), &[]));
    }
    let r = begin(
        &state,
        catalogue,
        &who,
        right,
        &f,
        kind,
        fiscal_year_of(today()),
        None,
    )
    .await?;
    Ok(see_other(&format!("/reports/{}", r.id), &[]))
}

#[allow(clippy::too_many_arguments)]
async fn begin(
    state: &AppState,
    catalogue: &Catalogue,
    who: &Principal,
    right: Right,
    f: &teikyo_store::Facility,
    kind: ReportKind,
    fiscal_year: u16,
    period: Option<teikyo_store::PeriodId>,
) -> Result<Report, WebError> {
    let set = catalogue
        .current(f.record.kind, fiscal_year)
        .ok_or(WebError::NotFound)?;
    let new = NewReport {
        facility_id: f.id,
        kind,
        fiscal_year,
        item_set: set.id.clone(),
        by: Some(who.user.id),
        period_id: period,
        insurance_check: None,
        preset: Vec::new(),
    };
    let (r, _) = start_report(state, who, right, f, &new, serde_json::json!({})).await?;
    Ok(r)
}

/// Stores a new report, audited as `report.started` with its kind, whether it was 代理入力 and
/// `detail`'s fields (the 定期報告's 番号確認). `false`: a colleague's start of the same 定期報告
/// came first, and that report is returned.
pub(crate) async fn start_report(
    state: &AppState,
    who: &Principal,
    right: Right,
    f: &teikyo_store::Facility,
    new: &NewReport,
    detail: serde_json::Value,
) -> Result<(Report, bool), WebError> {
    let mut fields = serde_json::json!({
        "kind": new.kind.id(),
        "proxy": right == Right::Proxy,
    });
    if let (Some(all), serde_json::Value::Object(extra)) = (fields.as_object_mut(), detail) {
        all.extend(extra);
    }
    let event = audit(who, "report.started", f).with_detail(fields);
    Ok(state
        .store()
        .reports()
        .start(new, event, Utc::now())
        .await?)
}

// ---- 調査票入力画面 ----

pub(crate) struct SectionRow {
    number: String,
    title: String,
    status: &'static str,
    status_class: &'static str,
    href: String,
    updated: String,
}

pub(crate) struct Step {
    label: &'static str,
    state: &'static str,
}

#[derive(Template)]
#[template(path = "report_page.html")]
struct ReportPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    id: i64,
    facility_id: i64,
    version: i64,
    status: &'static str,
    steps: Vec<Step>,
    next: String,
    notice: Option<String>,
    returned: Option<(String, String)>,
    deadline: Option<String>,
    proxy_note: Option<String>,
    sections: Vec<SectionRow>,
    can_enter: bool,
    can_submit: bool,
    can_withdraw: bool,
    can_cancel: bool,
    can_reopen: bool,
    can_bulk: bool,
    can_review: bool,
}

#[derive(Deserialize)]
pub(crate) struct PageQuery {
    saved: Option<String>,
    status: Option<String>,
    done: Option<String>,
    skipped: Option<String>,
}

fn progress(status: ReportStatus) -> Vec<Step> {
    let order = [
        ReportStatus::NotReported,
        ReportStatus::InProgress,
        ReportStatus::Submitted,
        ReportStatus::Confirmed,
    ];
    let at = match status {
        ReportStatus::Resubmitted => 2,
        s => order.iter().position(|x| *x == s).unwrap_or(0),
    };
    order
        .iter()
        .enumerate()
        .map(|(i, s)| Step {
            label: if i == 2 && status == ReportStatus::Resubmitted {
                ReportStatus::Resubmitted.label()
            } else {
                s.label()
            },
            state: match i.cmp(&at) {
                std::cmp::Ordering::Less => "done",
                std::cmp::Ordering::Equal => "current",
                std::cmp::Ordering::Greater => "todo",
            },
        })
        .collect()
}

/// Whether 一括入力完了 is offered: 定期報告 only, and only after an earlier confirmed report
/// whose content it can keep (the seed: 「一度も報告を行っていない場合は利用できません」).
async fn bulk_source(
    state: &AppState,
    r: &Report,
) -> Result<Option<teikyo_store::Confirmation>, WebError> {
    if r.kind != ReportKind::Periodic {
        return Ok(None);
    }
    Ok(state
        .store()
        .reports()
        .last_confirmation(r.facility_id)
        .await?
        .filter(|c| c.report_id != r.id))
}

pub(crate) async fn page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    let catalogue = forms(&state)?;
    let ctx = context(&state, &who, id).await?;
    let r = &ctx.report;
    let set = item_set(catalogue, r)?;
    let mut sections = Vec::new();
    let mut complete = 0;
    for s in &set.sections {
        let found = ctx.saved.iter().find(|x| x.section == s.id);
        let status = found.map_or(SectionStatus::Empty, |x| x.status);
        complete += usize::from(status == SectionStatus::Complete);
        sections.push(SectionRow {
            number: s.number.clone(),
            title: s.title.clone(),
            status: status.label(),
            status_class: status.id(),
            href: format!("/reports/{}/sections/{}", r.id, s.id),
            updated: found.map(|x| tokyo_time(x.updated_at)).unwrap_or_default(),
        });
    }
    let total = set.sections.len();
    let enters = ctx.right != Right::View;
    let in_progress = r.status == ReportStatus::InProgress;
    let notice = match (q.saved.as_deref(), q.status.as_deref(), q.done.as_deref()) {
        (Some(title), Some("complete"), _) => Some(format!("「{title}」を入力完了にしました。")),
        (Some(title), _, _) => Some(format!(
            "「{title}」を一時保存しました。入力を終えたら「入力完了」を押してください。"
        )),
        (_, _, Some(d)) => done_message(d, q.skipped.as_deref(), set, r),
        _ => None,
    };
    let deadline = deadline(&state, r).await?;
    let can_bulk =
        enters && in_progress && complete < total && bulk_source(&state, r).await?.is_some();
    Ok(render(&ReportPage {
        chrome: Chrome::new(),
        title: format!("{}（{}）", report_label(r), ctx.facility.record.names.official),
        csrf,
        id: r.id.0,
        facility_id: ctx.facility.id.0,
        version: r.version,
        status: r.status.label(),
        steps: progress(r.status),
        next: next_step(r.status, complete, total),
        notice,
        returned: r
            .return_comment
            .as_ref()
            .filter(|_| in_progress)
            .map(|c| (r.returned_at.map(tokyo_time).unwrap_or_default(), c.clone())),
        deadline,
        proxy_note: (ctx.right == Right::Proxy && enters).then(|| {
            "都道府県等の職員として、この機関に代わって入力・報告できます（代理入力。操作は記録されます）。"
                .to_owned()
        }),
        sections,
        can_enter: enters && in_progress,
        can_submit: enters && in_progress,
        can_withdraw: enters
            && matches!(
                r.status,
                ReportStatus::Submitted | ReportStatus::Resubmitted
            ),
        can_cancel: enters && in_progress && r.submitted_at.is_none() && r.confirmed_at.is_none(),
        can_reopen: enters && r.status == ReportStatus::Confirmed,
        can_bulk,
        can_review: ctx.right == Right::Proxy,
    })?
    .into_response())
}

fn done_message(done: &str, skipped: Option<&str>, set: &ItemSet, r: &Report) -> Option<String> {
    // The section the NDB preprint goes to (2.(1)), for the 定期報告 start's messages.
    let counted = || {
        teikyo_domain::ndb::preprint_targets(set)
            .first()
            .map(|(s, _)| format!("「{} {}」", s.number, s.title))
            .unwrap_or_default()
    };
    let codes = || match &r.insurance_check {
        Some(InsuranceCodeCheck::Matched(codes)) => codes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("、"),
        _ => String::new(),
    };
    Some(match done {
        "preprinted" => format!(
            "保険医療機関番号（{}）をデータベースと照合し、前年度実施件数をプレプリントしました。{}は一時保存の状態です。内容をご確認のうえ、「入力完了」にしてください。",
            codes(),
            counted()
        ),
        "no_preprint" => format!(
            "保険医療機関番号（{}）をデータベースと照合しました。{} 前年度実施件数は{}で入力してください。",
            codes(),
            teikyo_domain::ndb::NO_PREPRINT,
            counted()
        ),
        "skipped" => "保険医療機関番号確認をスキップして定期報告を始めました。次回以降の定期報告も、この確認を行わずに調査票入力画面から始まります。前年度実施件数のプレプリントを使う場合は、この報告を「取消」してから、もう一度「定期報告を始める」を押してください（入力した内容は削除されます）。".to_owned(),
        "remembered_skip" => "前回の定期報告で保険医療機関番号確認をスキップしたため、確認を行わずに定期報告を始めました。".to_owned(),
        "started" => "定期報告を始めました。各セクションの「入力」から入力してください。".to_owned(),
        "submitted" => "報告しました。都道府県等の確認をお待ちください。".to_owned(),
        "resubmitted" => "再報告しました。都道府県等の確認をお待ちください。".to_owned(),
        "withdrawn" => {
            "報告を引き戻しました。内容を直してから、もう一度「報告」を押してください。".to_owned()
        }
        "reopened" => {
            "修正のため報告中に戻しました。内容を直してから「報告」を押すと再報告になります。"
                .to_owned()
        }
        "bulk" => {
            let names: Vec<String> = skipped
                .unwrap_or_default()
                .split(',')
                .filter_map(|id| set.sections.iter().find(|s| s.id == id))
                .map(|s| format!("{} {}", s.number, s.title))
                .collect();
            if names.is_empty() {
                "一括入力完了しました。".to_owned()
            } else {
                format!(
                    "一括入力完了しました。次のセクションは更新されていません。「入力」ボタンより登録してください：{}",
                    names.join("、")
                )
            }
        }
        _ => return None,
    })
}

// ---- confirmation steps ----

#[derive(Template)]
#[template(path = "report_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    back: String,
    message: String,
    details: Vec<String>,
    action: Option<String>,
    ok_label: &'static str,
    version: i64,
}

/// What a step asks before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ask {
    Submit,
    Cancel,
    Bulk,
}

fn missing_sections(set: &ItemSet, ctx: &Context) -> Vec<String> {
    set.sections
        .iter()
        .filter(|s| !is_complete(&ctx.saved, &s.id))
        .map(|s| format!("{} {}", s.number, s.title))
        .collect()
}

async fn ask(
    state: AppState,
    who: std::sync::Arc<Principal>,
    csrf: String,
    id: i64,
    step: Ask,
) -> Result<Response, WebError> {
    let catalogue = forms(&state)?;
    let ctx = context(&state, &who, id).await?;
    if ctx.right == Right::View {
        return Err(WebError::Forbidden);
    }
    let r = &ctx.report;
    let set = item_set(catalogue, r)?;
    let back = format!("/reports/{}", r.id);
    let (title, message, details, ok, ok_label) = match step {
        Ask::Submit => {
            let missing = missing_sections(set, &ctx);
            if missing.is_empty() && r.status == ReportStatus::InProgress {
                (
                    "報告",
                    "報告申請します。よろしいですか？".to_owned(),
                    Vec::new(),
                    true,
                    "OK",
                )
            } else if r.status != ReportStatus::InProgress {
                (
                    "報告",
                    format!("この報告は「{}」のため、報告できません。", r.status.label()),
                    Vec::new(),
                    false,
                    "OK",
                )
            } else {
                (
                    "報告",
                    "まだ報告できません。次のセクションを「入力完了」にしてから、もう一度「報告」を押してください。"
                        .to_owned(),
                    missing,
                    false,
                    "OK",
                )
            }
        }
        Ask::Cancel => (
            "取消",
            "この報告を取消します。取消した場合、入力途中の報告の内容は削除され、復元することができません。よろしいですか？"
                .to_owned(),
            Vec::new(),
            r.submitted_at.is_none() && r.status == ReportStatus::InProgress,
            "取消する",
        ),
        Ask::Bulk => {
            let offered = bulk_source(&state, r).await?.is_some();
            if offered {
                (
                    "一括入力完了",
                    "「一括入力完了」ボタンを使用すると、一部報告項目を除く、全ての入力状況が「入力完了」に更新されます。既に一時保存の項目は「入力完了」に更新されません。「未入力」の報告項目に前回報告の内容が保持されます。実行してよろしいですか？"
                        .to_owned(),
                    set.sections
                        .iter()
                        .filter(|s| !s.bulk_complete)
                        .map(|s| format!("{} {}（一括入力完了の対象外です）", s.number, s.title))
                        .collect(),
                    r.status == ReportStatus::InProgress,
                    "OK",
                )
            } else {
                (
                    "一括入力完了",
                    "一括入力完了は定期報告専用です。また、一度も報告を行っていない場合は利用できません。"
                        .to_owned(),
                    Vec::new(),
                    false,
                    "OK",
                )
            }
        }
    };
    let path = match step {
        Ask::Submit => "submit",
        Ask::Cancel => "cancel",
        Ask::Bulk => "bulk-complete",
    };
    Ok(render(&ConfirmPage {
        chrome: Chrome::new(),
        title: format!("{title}（{}）", report_label(r)),
        csrf,
        back,
        message,
        details,
        action: ok.then(|| format!("/reports/{}/{path}", r.id)),
        ok_label,
        version: r.version,
    })?
    .into_response())
}

macro_rules! ask_handler {
    ($name:ident, $step:expr) => {
        pub(crate) async fn $name(
            State(state): State<AppState>,
            SignedIn(who): SignedIn,
            Csrf(csrf): Csrf,
            Path(id): Path<i64>,
        ) -> Result<Response, WebError> {
            ask(state, who, csrf, id, $step).await
        }
    };
}

ask_handler!(ask_submit, Ask::Submit);
ask_handler!(ask_cancel, Ask::Cancel);
ask_handler!(ask_bulk, Ask::Bulk);

// ---- the steps ----

#[derive(Deserialize)]
pub(crate) struct StepForm {
    version: Option<String>,
    comment: Option<String>,
}

/// A page that says why a step did not happen (someone else acted first, the page was old).
#[derive(Template)]
#[template(path = "report_refused.html")]
struct RefusedPage {
    chrome: Chrome,
    title: String,
    message: String,
    details: Vec<String>,
    back: String,
}

fn refused(
    r: &Report,
    message: String,
    details: Vec<String>,
    back: String,
) -> Result<Response, WebError> {
    Ok((
        StatusCode::CONFLICT,
        render(&RefusedPage {
            chrome: Chrome::new(),
            title: report_label(r),
            message,
            details,
            back,
        })?,
    )
        .into_response())
}

fn stale_form(r: &Report, back: String) -> Result<Response, WebError> {
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        render(&RefusedPage {
            chrome: Chrome::new(),
            title: report_label(r),
            message: "画面の情報が古いか、送信内容が足りません。画面を開き直してから、もう一度操作してください。"
                .to_owned(),
            details: Vec::new(),
            back,
        })?,
    )
        .into_response())
}

/// 休止日・廃止日 of the report's 基本情報, written to the facility on 確認完了.
pub(crate) fn facility_dates(ctx: &Context) -> FacilityDates {
    let date = |id: &str| {
        ctx.saved
            .iter()
            .find_map(|s| s.answers.get(id))
            .and_then(|v| match v {
                Value::Date(d) => Some(*d),
                _ => None,
            })
    };
    FacilityDates {
        suspended_on: date("basic.suspended_on"),
        abolished_on: date("basic.abolished_on"),
    }
}

/// Runs a transition for the signed-in user; facility steps need the facility's rights (or
/// 代理入力), 確認完了 and 差戻し the reviewer's.
pub(crate) async fn run(
    state: &AppState,
    who: &Principal,
    csrf: String,
    id: i64,
    transition: Transition,
    form: &StepForm,
) -> Result<Response, WebError> {
    let catalogue = forms(state)?;
    let ctx = context(state, who, id).await?;
    let reviewer = matches!(transition, Transition::Confirm | Transition::Return);
    let allowed = if reviewer {
        ctx.right == Right::Proxy
    } else {
        ctx.right != Right::View
    };
    if !allowed {
        return Err(WebError::Forbidden);
    }
    let r = &ctx.report;
    let back = if reviewer {
        format!("/reports/{}/review", r.id)
    } else {
        format!("/reports/{}", r.id)
    };
    let Some(version) = form.version.as_deref().and_then(|v| v.trim().parse().ok()) else {
        return stale_form(r, back);
    };
    let comment = form
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if transition == Transition::Return && comment.is_none() {
        return super::review::show(
            state,
            csrf,
            catalogue,
            &ctx,
            version,
            Some(
                "差戻しの理由を入力してください。医療機関等に通知され、報告画面に表示されます。"
                    .to_owned(),
            ),
        )
        .await;
    }
    let set = item_set(catalogue, r)?;
    let required: Vec<String> = set.sections.iter().map(|s| s.id.clone()).collect();
    let proxy = ctx.right == Right::Proxy && !reviewer;
    let now = Utc::now();
    let dates = facility_dates(&ctx);
    let follow_up = notice_job(&StepNotice {
        report: r.id,
        transition,
        at: now,
        proxy,
        resubmitted: r.confirmed_at.is_some(),
        comment: comment.map(str::to_owned),
        abolished_on: dates.abolished_on,
    });
    let req = TransitionRequest {
        report: r.id,
        expected_version: version,
        transition,
        by: Some(who.user.id),
        proxy,
        comment,
        required_sections: &required,
        facility_dates: (transition == Transition::Confirm).then_some(dates),
        follow_up: follow_ups(follow_up, transition, ctx.facility.id),
    };
    let event = audit(who, &format!("report.{}", transition.id()), &ctx.facility)
        .on("report", r.id)
        .with_detail(serde_json::json!({
            "proxy": proxy,
            "from": r.status.id(),
            "comment": comment,
        }));
    let outcome = state
        .store()
        .reports()
        .transition(&req, &event, now)
        .await?;
    match outcome {
        TransitionOutcome::Done { report: None } => Ok(see_other(
            &format!("/facility/{}/report?done=cancelled", ctx.facility.id.0),
            &[],
        )),
        TransitionOutcome::Done { report: Some(now) } => {
            let to = match transition {
                Transition::Submit if now.status == ReportStatus::Resubmitted => {
                    format!("/reports/{}?done=resubmitted", now.id)
                }
                Transition::Submit => format!("/reports/{}?done=submitted", now.id),
                Transition::Withdraw => format!("/reports/{}?done=withdrawn", now.id),
                Transition::Reopen => format!("/reports/{}?done=reopened", now.id),
                Transition::Confirm => format!("/prefecture/reports?done=confirmed&report={}", now.id),
                Transition::Return => format!("/prefecture/reports?done=returned&report={}", now.id),
                Transition::Cancel => format!("/reports/{}", now.id),
            };
            Ok(see_other(&to, &[]))
        }
        TransitionOutcome::Refused { current, error } => refused(
            &current,
            error.to_string(),
            vec![format!("現在の報告状況：{}", current.status.label())],
            back,
        ),
        TransitionOutcome::Stale { current } => refused(
            &current,
            "この報告は、画面を開いた後に他の方が更新しました。画面を開き直して内容をご確認ください。"
                .to_owned(),
            vec![format!("現在の報告状況：{}", current.status.label())],
            back,
        ),
        TransitionOutcome::Incomplete { sections } => refused(
            r,
            "まだ報告できません。次のセクションを「入力完了」にしてから、もう一度「報告」を押してください。"
                .to_owned(),
            sections
                .iter()
                .filter_map(|id| set.sections.iter().find(|s| &s.id == id))
                .map(|s| format!("{} {}", s.number, s.title))
                .collect(),
            back,
        ),
        TransitionOutcome::Missing => Err(WebError::NotFound),
    }
}

macro_rules! step_handler {
    ($name:ident, $t:expr) => {
        pub(crate) async fn $name(
            State(state): State<AppState>,
            SignedIn(who): SignedIn,
            Csrf(csrf): Csrf,
            Path(id): Path<i64>,
            Form(form): Form<StepForm>,
        ) -> Result<Response, WebError> {
            run(&state, &who, csrf, id, $t, &form).await
        }
    };
}

step_handler!(submit, Transition::Submit);
step_handler!(withdraw, Transition::Withdraw);
step_handler!(cancel, Transition::Cancel);
step_handler!(reopen, Transition::Reopen);
step_handler!(confirm, Transition::Confirm);
step_handler!(send_back, Transition::Return);

/// 一括入力完了 (S0 Q17): every 未入力 section the item set allows becomes 入力完了 with the
/// previous confirmed report's content (carried over to this year's item set); 一時保存 ones
/// stay; afterwards the page lists the sections still to do.
pub(crate) async fn bulk_complete(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<StepForm>,
) -> Result<Response, WebError> {
    let catalogue = forms(&state)?;
    let ctx = context(&state, &who, id).await?;
    if ctx.right == Right::View {
        return Err(WebError::Forbidden);
    }
    let r = &ctx.report;
    let back = format!("/reports/{}", r.id);
    if form.version.is_none() {
        return stale_form(r, back);
    }
    let Some(source) = bulk_source(&state, r).await? else {
        return refused(
            r,
            "一括入力完了は定期報告専用です。また、一度も報告を行っていない場合は利用できません。"
                .to_owned(),
            Vec::new(),
            back,
        );
    };
    let set = item_set(catalogue, r)?;
    let previous = carried(catalogue, &source, set);
    let fills: Vec<(String, Answers)> = set
        .sections
        .iter()
        .filter(|s| s.bulk_complete && !ctx.saved.iter().any(|x| x.section == s.id))
        .map(|s| (s.id.clone(), previous.of_section(s)))
        .collect();
    let event = audit(&who, "report.bulk_completed", &ctx.facility).on("report", r.id);
    let Some(done) = state
        .store()
        .reports()
        .bulk_complete(r.id, &fills, Some(who.user.id), &event, Utc::now())
        .await?
    else {
        let current = state
            .store()
            .reports()
            .get(r.id)
            .await?
            .ok_or(WebError::NotFound)?;
        return refused(
            &current,
            format!(
                "この報告は「{}」のため、一括入力完了できません。",
                current.status.label()
            ),
            Vec::new(),
            back,
        );
    };
    // What is still not 入力完了 afterwards: 一時保存 sections, the excluded ones, and any a
    // colleague saved meanwhile.
    let still: Vec<&str> = set
        .sections
        .iter()
        .filter(|s| !done.contains(&s.id) && !is_complete(&ctx.saved, &s.id))
        .map(|s| s.id.as_str())
        .collect();
    Ok(see_other(
        &format!(
            "/reports/{}?done=bulk&skipped={}",
            r.id,
            urlencoding(&still.join(","))
        ),
        &[],
    ))
}

/// The last confirmed answers as answers to `set` (the carry-over reports what it drops; the
/// facility sees the items on the section pages).
pub(crate) fn carried(
    catalogue: &Catalogue,
    source: &teikyo_store::Confirmation,
    set: &ItemSet,
) -> Answers {
    match catalogue.item_sets.get(&source.item_set) {
        Some(from) if from.id != set.id => {
            carry_over(catalogue, from, &source.answers, set).answers
        }
        _ => source.answers.clone(),
    }
}

/// The jobs a step causes in its own transaction: the facility's notice mail, and at 確認完了
/// the publication of the confirmed report.
pub(super) fn follow_ups(
    notice: Option<teikyo_store::NewJob>,
    transition: Transition,
    facility: teikyo_store::FacilityId,
) -> Vec<teikyo_store::NewJob> {
    let mut jobs: Vec<teikyo_store::NewJob> = notice.into_iter().collect();
    if transition == Transition::Confirm {
        jobs.push(teikyo_search::project_job(&[facility]));
    }
    jobs
}
