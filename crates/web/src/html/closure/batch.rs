//! 臨時休診一括処理 (issue 7 §4): prefecture staff close many facilities at once — after a
//! disaster, a power cut — by area (機関区分 × 市区町村) or by a pasted list of 機関コード.
//!
//! `/prefecture/closures` lists a prefecture's batches; `…/new` takes the target and the
//! closure, shows the facilities it reaches (対象の確認) and declares it once the count is
//! confirmed; `/{id}` shows where the publication got to, the facilities, and 取消. A batch ends
//! by itself after its last day (`reevaluate_due` drops it from the documents).
//!
//! Who: `Access::declares_bulk_closures_in` (reviewers and admins, within their 保健所 area; the
//! operator); staff who may look at the prefecture see its batches.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use teikyo_domain::closure::{self, BatchStatus, ClosureError, ClosureTarget, REASON_MAX_CHARS};
use teikyo_domain::opening::Closure;
use teikyo_domain::{FacilityKind, MunicipalityCode, PrefectureCode};
use teikyo_store::{
    AuditEvent, ClosedFacility, ClosureBatch, ClosureBatchId, FacilityId, JobStatus,
    NewClosureBatch,
};

use super::{REASONS, period_text, publish_now};
use crate::auth::{Csrf, Principal, SignedIn};
use crate::error::WebError;
use crate::html::account::see_other;
use crate::html::mail::tokyo_time;
use crate::html::report::today;
use crate::html::scope::{
    all_of, chosen, municipality_choices, one_of, prefecture_choices, viewable,
};
use crate::html::{Chrome, FieldMessage, message_for, render};
use crate::state::AppState;

const BASE: &str = "/prefecture/closures";
/// Facilities listed on the preview and on a batch's page (the count is always exact).
const SHOWN: usize = 200;
const LIST_LIMIT: u64 = 100;
/// Publishing right away is for small batches; a larger one is left to its job, whose
/// progress the page shows.
const PUBLISH_NOW_MAX: usize = 500;

fn declarable(who: &Principal) -> Vec<PrefectureCode> {
    PrefectureCode::all()
        .filter(|p| who.access.declares_bulk_closures_in(*p))
        .collect()
}

fn municipality_name(code: MunicipalityCode) -> String {
    teikyo_refdata::municipalities::get(code)
        .map(|m| m.name.to_owned())
        .unwrap_or_else(|| code.to_string())
}

fn target_text(t: &ClosureTarget) -> String {
    let kinds = t
        .kinds()
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join("・");
    match t {
        ClosureTarget::Area { municipalities, .. } if municipalities.is_empty() => {
            format!("{kinds}（都道府県全域）")
        }
        ClosureTarget::Area { municipalities, .. } => format!(
            "{kinds}（{}）",
            municipalities
                .iter()
                .map(|m| municipality_name(*m))
                .collect::<Vec<_>>()
                .join("・")
        ),
        ClosureTarget::Codes { codes, .. } => format!("{kinds}（機関コード {} 件）", codes.len()),
    }
}

// ---------------------------------------------------------------------------------------------
// The form

#[derive(Debug, Default, Clone)]
struct BatchForm {
    prefecture: String,
    /// "area" or "codes".
    by: String,
    kinds: Vec<String>,
    municipalities: Vec<String>,
    codes: String,
    from: String,
    to: String,
    reason: String,
}

impl BatchForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        Self {
            prefecture: one_of(pairs, "prefecture"),
            by: one_of(pairs, "by"),
            kinds: all_of(pairs, "kinds"),
            municipalities: all_of(pairs, "municipalities"),
            codes: one_of(pairs, "codes"),
            from: one_of(pairs, "from"),
            to: one_of(pairs, "to"),
            reason: one_of(pairs, "reason"),
        }
    }

    /// The target and closure, or every problem at once. An area-limited member of staff who
    /// names no municipality means their whole area.
    fn checked(
        &self,
        area: Option<&[MunicipalityCode]>,
    ) -> Result<(ClosureTarget, Closure), Vec<FieldMessage>> {
        let mut errors: Vec<FieldMessage> = Vec::new();
        let kinds: Vec<FacilityKind> = FacilityKind::ALL
            .into_iter()
            .filter(|k| self.kinds.contains(&k.code().to_string()))
            .collect();
        if kinds.is_empty() {
            errors.push(("kinds", "機関区分を1つ以上選んでください。".to_owned()));
        }
        let target = if self.by == "codes" {
            match closure::parse_codes(&self.codes) {
                Ok(codes) => Some(ClosureTarget::Codes {
                    kinds: kinds.clone(),
                    codes,
                }),
                Err(e) => {
                    errors.extend(e.into_iter().map(|e| (e.field().name(), e.to_string())));
                    None
                }
            }
        } else {
            let mut municipalities = Vec::new();
            for m in &self.municipalities {
                match MunicipalityCode::parse(m) {
                    Ok(code) if area.is_none_or(|a| a.contains(&code)) => municipalities.push(code),
                    _ => errors.push((
                        "municipalities",
                        format!("市区町村「{m}」は選べません。一覧から選び直してください。"),
                    )),
                }
            }
            if municipalities.is_empty()
                && let Some(area) = area
            {
                municipalities = area.to_vec();
            }
            Some(ClosureTarget::Area {
                kinds: kinds.clone(),
                municipalities,
            })
        };
        let closure = closure::check(&self.from, &self.to, &self.reason, today()).map_err(
            |e: Vec<ClosureError>| {
                errors.extend(e.into_iter().map(|e| (e.field().name(), e.to_string())));
            },
        );
        match (target, closure) {
            (Some(t), Ok(c)) if errors.is_empty() => Ok((t, c)),
            _ => Err(errors),
        }
    }
}

struct Preview {
    total: usize,
    rows: Vec<ShownFacility>,
    /// 機関コード that matched no facility.
    unmatched: Vec<String>,
    period: String,
    reason: String,
    target: String,
}

struct ShownFacility {
    name: String,
    code: String,
    kind: &'static str,
    municipality: String,
    withdrawn: bool,
    href: String,
}

fn shown(f: &ClosedFacility) -> ShownFacility {
    ShownFacility {
        name: f.name.clone(),
        code: f.code.clone().unwrap_or_default(),
        kind: f.kind.name(),
        municipality: municipality_name(f.municipality),
        withdrawn: f.withdrawn,
        href: format!("/facilities/{}", f.id.0),
    }
}

#[derive(Template)]
#[template(path = "closure_batch_new.html")]
struct NewPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    prefecture: String,
    prefecture_name: &'static str,
    choices: Vec<(String, &'static str, bool)>,
    area_limited: bool,
    kinds: Vec<(String, &'static str)>,
    municipalities: Vec<(String, String)>,
    form: BatchForm,
    errors: Vec<FieldMessage>,
    preview: Option<Preview>,
    today: String,
    reasons: &'static [&'static str],
    reason_max: usize,
}

impl NewPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }

    fn kind_checked(&self, code: &str) -> bool {
        self.form.kinds.iter().any(|k| k == code)
    }

    fn municipality_checked(&self, code: &str) -> bool {
        self.form.municipalities.iter().any(|m| m == code)
    }
}

fn new_page(
    who: &Principal,
    csrf: String,
    prefecture: PrefectureCode,
    form: BatchForm,
    errors: Vec<FieldMessage>,
    preview: Option<Preview>,
) -> Result<Response, WebError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = NewPage {
        chrome: Chrome::new(),
        title: format!("臨時休診一括処理（{}）", prefecture.name()),
        csrf,
        prefecture: prefecture.to_string(),
        prefecture_name: prefecture.name(),
        choices: prefecture_choices(&declarable(who), prefecture),
        area_limited: who.access.area_in(prefecture).is_some(),
        kinds: FacilityKind::ALL
            .into_iter()
            .map(|k| (k.code().to_string(), k.name()))
            .collect(),
        municipalities: municipality_choices(who, prefecture),
        form,
        errors,
        preview,
        today: today().format("%Y-%m-%d").to_string(),
        reasons: &REASONS,
        reason_max: REASON_MAX_CHARS,
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PrefectureQuery {
    #[serde(default)]
    prefecture: Option<String>,
}

pub(crate) async fn new_form(
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Query(q): Query<PrefectureQuery>,
) -> Result<Response, WebError> {
    let prefecture = chosen(&declarable(&who), q.prefecture.as_deref())?;
    let form = BatchForm {
        prefecture: prefecture.to_string(),
        by: "area".into(),
        // A disaster closes every kind; staff untick what stays open.
        kinds: FacilityKind::ALL
            .into_iter()
            .map(|k| k.code().to_string())
            .collect(),
        from: today().format("%Y-%m-%d").to_string(),
        ..BatchForm::default()
    };
    new_page(&who, csrf, prefecture, form, Vec::new(), None)
}

/// 対象を確認する (step=preview) and 登録する (step=declare, with the count the preview showed
/// and its confirmation box).
pub(crate) async fn new_submit(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = BatchForm::from_pairs(&pairs);
    let prefecture = chosen(&declarable(&who), Some(form.prefecture.as_str()))?;
    let area = who.access.area_in(prefecture);
    let (target, closure) = match form.checked(area.as_deref()) {
        Ok(ok) => ok,
        Err(errors) => return new_page(&who, csrf, prefecture, form, errors, None),
    };
    let found = state
        .store()
        .closure_batches()
        .targets(prefecture, &target, area.as_deref(), today())
        .await?;
    let unmatched = match &target {
        ClosureTarget::Codes { codes, .. } => codes
            .iter()
            .filter(|c| !found.iter().any(|f| f.code.as_deref() == Some(c.as_str())))
            .map(|c| c.to_string())
            .collect(),
        ClosureTarget::Area { .. } => Vec::new(),
    };
    let preview = Preview {
        total: found.len(),
        rows: found.iter().take(SHOWN).map(shown).collect(),
        unmatched,
        period: period_text(&closure),
        reason: closure.reason.clone(),
        target: target_text(&target),
    };
    if found.is_empty() {
        let errors = vec![(
            "target",
            "条件に当てはまる医療機関・薬局がありません。機関区分・市区町村・機関コードを見直してください。"
                .to_owned(),
        )];
        return new_page(&who, csrf, prefecture, form, errors, Some(preview));
    }
    if one_of(&pairs, "step") != "declare" {
        return new_page(&who, csrf, prefecture, form, Vec::new(), Some(preview));
    }
    if one_of(&pairs, "confirm") != "1" {
        let errors = vec![(
            "confirm",
            "登録する場合は「この内容で臨時休診を登録します」にチェックを入れてください。"
                .to_owned(),
        )];
        return new_page(&who, csrf, prefecture, form, errors, Some(preview));
    }
    if one_of(&pairs, "expect").trim() != found.len().to_string() {
        let errors = vec![(
            "confirm",
            format!(
                "確認の後で対象が変わりました（現在 {} 施設）。内容をご確認のうえ、もう一度登録してください。",
                found.len()
            ),
        )];
        return new_page(&who, csrf, prefecture, form, errors, Some(preview));
    }
    let ids: Vec<FacilityId> = found.iter().map(|f| f.id).collect();
    let event = AuditEvent::new("closure.batch_declared", Some(who.user.id))
        .in_prefecture(Some(prefecture))
        .with_detail(json!({
            "from": closure.from, "to": closure.to, "reason": closure.reason,
            "target": target, "facilities": ids.len(),
        }));
    let id = state
        .store()
        .closure_batches()
        .declare(
            &NewClosureBatch {
                prefecture,
                closure,
                target,
                by: Some(who.user.id),
            },
            &ids,
            &teikyo_search::project_job(&ids),
            &event,
            Utc::now(),
        )
        .await?;
    if ids.len() <= PUBLISH_NOW_MAX {
        publish_now(&state, &ids).await;
    }
    Ok(see_other(&format!("{BASE}/{id}?done=declared"), &[]))
}

// ---------------------------------------------------------------------------------------------
// The list and a batch

struct ListRow {
    href: String,
    period: String,
    reason: String,
    target: String,
    facilities: u32,
    status: &'static str,
    created: String,
}

#[derive(Template)]
#[template(path = "closure_batches.html")]
struct ListPage {
    chrome: Chrome,
    title: String,
    prefecture: String,
    prefecture_name: &'static str,
    choices: Vec<(String, &'static str, bool)>,
    may_declare: bool,
    rows: Vec<ListRow>,
}

/// Whether the batch's publication job has finished (or there is none to wait for).
async fn published(
    state: &AppState,
    b: &ClosureBatch,
) -> Result<(bool, Option<(u64, u64)>), WebError> {
    let Some(job) = b.job_id else {
        return Ok((true, None));
    };
    let Some(job) = state.store().jobs().get(job).await? else {
        return Ok((true, None));
    };
    let total = u64::from(b.facilities);
    Ok(match job.status {
        JobStatus::Done => (true, Some((total, total))),
        _ => (false, Some(job.progress.unwrap_or((0, total)))),
    })
}

pub(crate) async fn list(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Query(q): Query<PrefectureQuery>,
) -> Result<Response, WebError> {
    let allowed = viewable(&who);
    let prefecture = chosen(&allowed, q.prefecture.as_deref())?;
    let day = today();
    let mut rows = Vec::new();
    for b in state
        .store()
        .closure_batches()
        .list(&[prefecture], LIST_LIMIT)
        .await?
    {
        let (done, _) = published(&state, &b).await?;
        rows.push(ListRow {
            href: format!("{BASE}/{}", b.id),
            period: period_text(&b.closure),
            reason: b.closure.reason.clone(),
            target: target_text(&b.target),
            facilities: b.facilities,
            status: BatchStatus::of(&b.closure, b.withdrawn_at.is_some(), done, day).label(),
            created: tokyo_time(b.created_at),
        });
    }
    let page = ListPage {
        chrome: Chrome::new(),
        title: format!("臨時休診一括処理（{}）", prefecture.name()),
        prefecture: prefecture.to_string(),
        prefecture_name: prefecture.name(),
        choices: prefecture_choices(&allowed, prefecture),
        may_declare: who.access.declares_bulk_closures_in(prefecture),
        rows,
    };
    Ok(render(&page)?.into_response())
}

async fn load(state: &AppState, who: &Principal, id: &str) -> Result<ClosureBatch, WebError> {
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    let b = state
        .store()
        .closure_batches()
        .get(ClosureBatchId(id))
        .await?
        .ok_or(WebError::NotFound)?;
    if !viewable(who).contains(&b.prefecture) {
        return Err(WebError::NotFound);
    }
    Ok(b)
}

/// May withdraw it: a declarer in its prefecture whose area covers all of it.
fn may_withdraw(who: &Principal, b: &ClosureBatch) -> bool {
    who.access.declares_bulk_closures_in(b.prefecture)
        && b.target.within(who.access.area_in(b.prefecture).as_deref())
}

#[derive(Template)]
#[template(path = "closure_batch.html")]
struct ShowPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    id: i64,
    prefecture: String,
    notice: Option<&'static str>,
    error: Option<String>,
    status: &'static str,
    period: String,
    reason: String,
    target: String,
    facilities: u32,
    progress: Option<(u64, u64)>,
    applying: bool,
    refresh: Option<u32>,
    created: String,
    withdrawn: Option<String>,
    may_withdraw: bool,
    rows: Vec<ShownFacility>,
    more: usize,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ShowQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    refresh: Option<String>,
}

/// How often the page reloads when asked to (never by default, WCAG 2.2.1).
const REFRESH_SECS: u32 = 5;

async fn show_page(
    state: &AppState,
    who: &Principal,
    csrf: String,
    b: &ClosureBatch,
    q: &ShowQuery,
    error: Option<String>,
) -> Result<Response, WebError> {
    let (done, progress) = published(state, b).await?;
    let area = who.access.area_in(b.prefecture);
    let list = state
        .store()
        .closure_batches()
        .facilities_of(b.id, area.as_deref())
        .await?;
    let notice = match q.done.as_deref() {
        Some("declared") => {
            Some("臨時休診を登録しました。対象の施設を順に住民向けの表示へ反映しています。")
        }
        Some("withdrawn") => {
            Some("臨時休診を取り消しました。対象の施設を順に通常の表示へ戻しています。")
        }
        _ => None,
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ShowPage {
        chrome: Chrome::new(),
        title: format!("臨時休診一括処理 {}", b.id),
        csrf,
        id: b.id.0,
        prefecture: b.prefecture.to_string(),
        notice,
        error,
        status: BatchStatus::of(&b.closure, b.withdrawn_at.is_some(), done, today()).label(),
        period: period_text(&b.closure),
        reason: b.closure.reason.clone(),
        target: target_text(&b.target),
        facilities: b.facilities,
        progress,
        applying: !done,
        refresh: (!done && q.refresh.is_some()).then_some(REFRESH_SECS),
        created: tokyo_time(b.created_at),
        withdrawn: b.withdrawn_at.map(tokyo_time),
        may_withdraw: b.withdrawn_at.is_none()
            && !b.closure.expired(today())
            && may_withdraw(who, b),
        more: list.len().saturating_sub(SHOWN),
        rows: list.iter().take(SHOWN).map(shown).collect(),
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
    let b = load(&state, &who, &id).await?;
    show_page(&state, &who, csrf, &b, &q, None).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct WithdrawForm {
    #[serde(default)]
    confirm: String,
}

pub(crate) async fn withdraw(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Form(f): Form<WithdrawForm>,
) -> Result<Response, WebError> {
    let b = load(&state, &who, &id).await?;
    if !may_withdraw(&who, &b) {
        return Err(WebError::Forbidden);
    }
    let here = format!("{BASE}/{}", b.id);
    if f.confirm != "1" {
        let e = "取り消す場合は「この臨時休診一括処理を取り消します」にチェックを入れてください。";
        return show_page(
            &state,
            &who,
            csrf,
            &b,
            &ShowQuery::default(),
            Some(e.to_owned()),
        )
        .await;
    }
    let event = AuditEvent::new("closure.batch_withdrawn", Some(who.user.id))
        .in_prefecture(Some(b.prefecture))
        .with_detail(json!({ "facilities": b.facilities }));
    let mut affected = Vec::new();
    let withdrawn = state
        .store()
        .closure_batches()
        .withdraw(
            b.id,
            |ids| {
                affected = ids.to_vec();
                teikyo_search::project_job(ids)
            },
            Some(who.user.id),
            &event,
            Utc::now(),
        )
        .await?;
    if withdrawn.is_none() {
        // A second click: the page says where it is.
        return Ok(see_other(&here, &[]));
    }
    if affected.len() <= PUBLISH_NOW_MAX {
        publish_now(&state, &affected).await;
    }
    Ok(see_other(&format!("{here}?done=withdrawn"), &[]))
}
