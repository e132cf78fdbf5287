//! 保険医療機関番号確認 (DOMAIN §4.3, S0 Q15–Q16): the step between the 制度ホーム and a new
//! 定期報告. The facility types its 10-digit number (two for 医科 and 歯科); the check digit is
//! checked first, then the number is matched against the insurance-code master as of the end of
//! the previous 年度. A match starts the report with the NDB 前年度実施件数 preprinted into the
//! coded lists that carry counts (2.(1) 疾患・治療) as 一時保存, over what the last confirmed
//! report carries over, so the facility still checks them; no counts for the number gives the
//! seed's 「対応可能な疾患、治療の内容に関する前年度実施件数の情報がありません。」 on the report page.
//! A mismatch is the seed's 「データベースとの照合に失敗しました。」 with why. 「スキップする」
//! starts without a check and is remembered by the report itself (`InsuranceCodeCheck::Skipped`):
//! the next 年度's 「定期報告を始める」 goes straight to the 調査票入力画面; 取消 of that report
//! forgets it, which is the seed's way back to the preprint (S0 Q16). Item sets without counts
//! (薬局, 助産所) need no check.
//!
//! Who: the facility's users with the 制度, its delegates, and reviewers in scope (代理入力);
//! each start is audited with what the check found, each failed match too.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use teikyo_domain::InsuranceCode;
use teikyo_domain::forms::{Answers, Catalogue, ItemSet};
use teikyo_domain::ndb::{self, EntryField, InsuranceCodeCheck, Mismatch};
use teikyo_domain::report::{ReportKind, fiscal_year_label};
use teikyo_store::{Facility, MasterLookup, NewReport, StoredPeriod};

use super::workflow::{self, open_period};
use super::{Right, audit, facility, forms, right, today};
use crate::auth::{Csrf, Principal, SignedIn};
use crate::error::WebError;
use crate::html::account::see_other;
use crate::html::{Chrome, render};
use crate::state::AppState;

/// Everything a start needs, once it is known that one may happen.
pub(crate) struct Start<'c> {
    facility: Facility,
    right: Right,
    period: StoredPeriod,
    set: &'c ItemSet,
    /// The item set has counts to preprint, so the 番号確認 applies.
    checks: bool,
    /// The facility's last 定期報告 was started with 「スキップする」.
    remembered: bool,
}

impl Start<'_> {
    /// 「定期報告を始める」 may start the report at once: nothing to check, or skipped before.
    pub(crate) fn straight(&self) -> bool {
        !self.checks || self.remembered
    }
}

/// Whether the facility may start its 定期報告 now; otherwise where to send the user instead
/// (no period open: the 制度ホーム says so; started already: the report).
pub(crate) async fn prepare<'c>(
    state: &AppState,
    catalogue: &'c Catalogue,
    who: &Principal,
    id: i64,
) -> Result<Result<Start<'c>, Response>, WebError> {
    let f = facility(state, id).await?;
    let right = right(who, &f)?;
    if right == Right::View {
        return Err(WebError::Forbidden);
    }
    if let Some(to) = workflow::abolished(&f) {
        return Ok(Err(to));
    }
    let Some(period) = open_period(state, &f, today()).await? else {
        return Ok(Err(see_other(
            &format!("/facility/{}/report?done=no_period", f.id.0),
            &[],
        )));
    };
    let fiscal_year = period.period.fiscal_year;
    if let Some(r) = state.store().reports().periodic(f.id, fiscal_year).await? {
        return Ok(Err(see_other(&format!("/reports/{}", r.id), &[])));
    }
    let set = catalogue
        .current(f.record.kind, fiscal_year)
        .ok_or(WebError::NotFound)?;
    let (checks, remembered) = asks(state, set, &f, fiscal_year).await?;
    Ok(Ok(Start {
        facility: f,
        right,
        period,
        set,
        checks,
        remembered,
    }))
}

/// Whether the 番号確認 applies to a 定期報告 of `fiscal_year` on `set` (it has counts to
/// preprint), and whether the facility skipped it last time (then 「定期報告を始める」 starts at
/// once).
pub(crate) async fn asks(
    state: &AppState,
    set: &ItemSet,
    f: &Facility,
    fiscal_year: u16,
) -> Result<(bool, bool), WebError> {
    let checks = !ndb::preprint_targets(set).is_empty();
    let remembered = checks
        && state
            .store()
            .insurance()
            .skipped_before(f.id, fiscal_year)
            .await?;
    Ok((checks, remembered))
}

// ---- the page ----

struct Failure {
    message: String,
    /// Each with the field it is about (a link to it), if any.
    details: Vec<(Option<&'static str>, String)>,
}

#[derive(Template)]
#[template(path = "report_start.html")]
struct StartPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    facility_id: i64,
    facility_name: String,
    report_label: String,
    prefecture_name: &'static str,
    prefecture_number: String,
    as_of_month: String,
    section_title: String,
    checks: bool,
    remembered: bool,
    proxy_note: Option<String>,
    first: String,
    second: String,
    first_error: Option<String>,
    second_error: Option<String>,
    failure: Option<Failure>,
}

/// What the form held and what went wrong with it.
#[derive(Default)]
struct Shown {
    first: String,
    second: String,
    first_error: Option<String>,
    second_error: Option<String>,
    failure: Option<Failure>,
}

/// 「令和8年3月末」: how the seed names the day the master is as of.
fn month_end_ja(fiscal_year: u16) -> String {
    match fiscal_year {
        y if y > 2019 => format!("令和{}年3月末", y - 2018),
        y => format!("{y}年3月末"),
    }
}

fn page(
    s: &Start<'_>,
    csrf: String,
    shown: Shown,
    status: StatusCode,
) -> Result<Response, WebError> {
    let fy = s.period.period.fiscal_year;
    let section_title = ndb::preprint_targets(s.set)
        .first()
        .map(|(sec, _)| format!("{} {}", sec.number, sec.title))
        .unwrap_or_default();
    let page = StartPage {
        chrome: Chrome::new(),
        title: "保険医療機関番号確認".to_owned(),
        csrf,
        facility_id: s.facility.id.0,
        facility_name: s.facility.record.names.official.clone(),
        report_label: format!("{} {}", fiscal_year_label(fy), ReportKind::Periodic.label()),
        prefecture_name: s.facility.record.prefecture.name(),
        prefecture_number: s.facility.record.prefecture.to_string(),
        as_of_month: month_end_ja(fy),
        section_title,
        checks: s.checks,
        remembered: s.remembered,
        proxy_note: (s.right == Right::Proxy).then(|| {
            "都道府県等の職員として、この機関に代わって定期報告を始めます（代理入力。操作は記録されます）。"
                .to_owned()
        }),
        first: shown.first,
        second: shown.second,
        first_error: shown.first_error,
        second_error: shown.second_error,
        failure: shown.failure,
    };
    Ok((status, render(&page)?).into_response())
}

/// GET: the 番号確認 page, the number field filled with the facility's registered code(s).
pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let catalogue = forms(&state)?;
    let s = match prepare(&state, catalogue, &who, id).await? {
        Ok(s) => s,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let registered: Vec<&InsuranceCode> = s
        .facility
        .record
        .insurance_codes
        .iter()
        .filter(|c| c.fee_schedule() != teikyo_domain::FeeSchedule::Pharmacy)
        .collect();
    let shown = Shown {
        first: registered
            .first()
            .map(|c| c.to_string())
            .unwrap_or_default(),
        second: registered.get(1).map(|c| c.to_string()).unwrap_or_default(),
        ..Shown::default()
    };
    page(&s, csrf, shown, StatusCode::OK)
}

#[derive(Deserialize)]
pub(crate) struct StartForm {
    action: Option<String>,
    code: Option<String>,
    code2: Option<String>,
}

/// POST: `action` = `check` (match the numbers), `skip` (「スキップする」) or `start` (the
/// 制度ホーム's button when no check applies; when one does, back to the page).
pub(crate) async fn start(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<i64>,
    Form(form): Form<StartForm>,
) -> Result<Response, WebError> {
    let catalogue = forms(&state)?;
    let s = match prepare(&state, catalogue, &who, id).await? {
        Ok(s) => s,
        Err(elsewhere) => return Ok(elsewhere),
    };
    match form.action.as_deref() {
        Some("skip") if s.checks => {
            let detail = serde_json::json!({"insurance_check": "skipped", "remembered": false});
            begin(
                &state,
                &who,
                &s,
                Some(InsuranceCodeCheck::Skipped),
                Vec::new(),
                detail,
                "skipped",
            )
            .await
        }
        Some("skip" | "start") if s.straight() => {
            // Skipped before: recorded again, so the choice carries on to the next 年度.
            let check = s.remembered.then_some(InsuranceCodeCheck::Skipped);
            let detail = serde_json::json!({
                "insurance_check": check.as_ref().map(InsuranceCodeCheck::id),
                "remembered": s.remembered,
            });
            let done = if s.remembered {
                "remembered_skip"
            } else {
                "started"
            };
            begin(&state, &who, &s, check, Vec::new(), detail, done).await
        }
        Some("start") => Ok(see_other(
            &format!("/facility/{}/report/start", s.facility.id.0),
            &[],
        )),
        _ => check(&state, catalogue, &who, csrf, &s, &form).await,
    }
}

/// Matches the typed numbers; on success starts the report with the preprint.
async fn check(
    state: &AppState,
    catalogue: &Catalogue,
    who: &Principal,
    csrf: String,
    s: &Start<'_>,
    form: &StartForm,
) -> Result<Response, WebError> {
    let first = form.code.clone().unwrap_or_default();
    let second = form.code2.clone().unwrap_or_default();
    let mut shown = Shown {
        first: first.trim().to_owned(),
        second: second.trim().to_owned(),
        ..Shown::default()
    };
    let codes = match ndb::entered(&first, &second) {
        Ok(codes) => codes,
        Err(errors) => {
            let mut details = Vec::new();
            for (field, e) in errors {
                let (slot, anchor) = match field {
                    EntryField::First => (&mut shown.first_error, "code"),
                    EntryField::Second => (&mut shown.second_error, "code2"),
                };
                details.push((Some(anchor), e.to_string()));
                slot.get_or_insert_with(|| e.to_string());
            }
            shown.failure = Some(Failure {
                message: "保険医療機関番号をご確認ください".to_owned(),
                details,
            });
            return page(s, csrf, shown, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let fiscal_year = s.period.period.fiscal_year;
    let mismatches = mismatches(state, s, &codes, ndb::master_date(fiscal_year)).await?;
    if !mismatches.is_empty() {
        let event = audit(who, "report.insurance_check_failed", &s.facility).with_detail(
            serde_json::json!({
                "codes": codes.iter().map(InsuranceCode::as_str).collect::<Vec<_>>(),
                "reasons": mismatches.iter().map(Mismatch::code).collect::<Vec<_>>(),
                "proxy": s.right == Right::Proxy,
            }),
        );
        state
            .store()
            .audit()
            .record(&event, chrono::Utc::now())
            .await?;
        shown.failure = Some(Failure {
            message: ndb::MATCH_FAILED.to_owned(),
            details: mismatches.iter().map(|m| (None, m.detail())).collect(),
        });
        return page(s, csrf, shown, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let rows = state
        .store()
        .insurance()
        .preprint(ndb::counts_year(fiscal_year), &codes)
        .await?;
    let counts = ndb::counts_by_item(&rows);
    let preset = if counts.is_empty() {
        Vec::new()
    } else {
        prefill(state, catalogue, s, &counts).await?
    };
    let filled: usize = preset.iter().map(|p| p.filled.len()).sum();
    let detail = serde_json::json!({
        "insurance_check": "matched",
        "codes": codes.iter().map(InsuranceCode::as_str).collect::<Vec<_>>(),
        "preprinted": filled,
    });
    let done = if preset.is_empty() {
        "no_preprint"
    } else {
        "preprinted"
    };
    let preset = preset.into_iter().map(|p| (p.section, p.answers)).collect();
    begin(
        state,
        who,
        s,
        Some(InsuranceCodeCheck::Matched(codes)),
        preset,
        detail,
        done,
    )
    .await
}

/// Why each code does not match, in the order typed (empty: all match). A code must be of the
/// facility's prefecture, listed in the master in force on `as_of`, and not registered to
/// another facility in Teikyo's master (its counts would be someone else's).
async fn mismatches(
    state: &AppState,
    s: &Start<'_>,
    codes: &[InsuranceCode],
    as_of: chrono::NaiveDate,
) -> Result<Vec<Mismatch>, WebError> {
    let mut out = Vec::new();
    for code in codes {
        if code.prefecture() != s.facility.record.prefecture {
            out.push(Mismatch::OtherPrefecture {
                code: code.to_string(),
                prefecture: code.prefecture(),
            });
            continue;
        }
        match state.store().insurance().lookup(code, as_of).await? {
            MasterLookup::Listed(_) => {}
            MasterLookup::NotListed { .. } => {
                out.push(Mismatch::NotListed {
                    code: code.to_string(),
                    as_of,
                });
                continue;
            }
            MasterLookup::NoMaster => {
                out.push(Mismatch::NoMaster {
                    prefecture: code.prefecture(),
                    as_of,
                });
                continue;
            }
        }
        let holders = state
            .store()
            .facilities()
            .find_by_insurance_code(code)
            .await?;
        if !holders.is_empty() && !holders.iter().any(|h| h.id == s.facility.id) {
            out.push(Mismatch::OtherFacility {
                code: code.to_string(),
            });
        }
    }
    Ok(out)
}

/// The preprinted sections: the counts over what the last confirmed report carries over to
/// this item set (what the section page would start from), so nothing else of them is lost.
async fn prefill(
    state: &AppState,
    catalogue: &Catalogue,
    s: &Start<'_>,
    counts: &BTreeMap<String, u32>,
) -> Result<Vec<ndb::NdbPrefill>, WebError> {
    let start = match state
        .store()
        .reports()
        .last_confirmation(s.facility.id)
        .await?
    {
        Some(c) => workflow::carried(catalogue, &c, s.set),
        None => Answers::default(),
    };
    Ok(ndb::prefill(catalogue, s.set, &start, counts))
}

/// Starts the 定期報告 and opens it with `done` saying what the start did.
async fn begin(
    state: &AppState,
    who: &Principal,
    s: &Start<'_>,
    check: Option<InsuranceCodeCheck>,
    preset: Vec<(String, Answers)>,
    detail: serde_json::Value,
    done: &str,
) -> Result<Response, WebError> {
    let new = NewReport {
        facility_id: s.facility.id,
        kind: ReportKind::Periodic,
        fiscal_year: s.period.period.fiscal_year,
        item_set: s.set.id.clone(),
        by: Some(who.user.id),
        period_id: Some(s.period.id),
        insurance_check: check,
        preset,
    };
    let (r, created) =
        workflow::start_report(state, who, s.right, &s.facility, &new, detail).await?;
    // A colleague started it a moment earlier: theirs is the report, without this start's
    // preprint; the page says nothing about a check that did not happen.
    let to = if created {
        format!("/reports/{}?done={done}", r.id)
    } else {
        format!("/reports/{}", r.id)
    };
    Ok(see_other(&to, &[]))
}
