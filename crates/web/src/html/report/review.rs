//! The prefecture's side of a report (DOMAIN §6): the review queue with how long each report has
//! waited since 報告 and bulk 確認完了 of reports that change only low-risk items, and the
//! 報告確認画面 with 差異表示 against the facility's last confirmed report — changed items per
//! section, old and new side by side — with 確認完了 and 差戻し (a comment is required).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use teikyo_domain::forms::{
    Answers, Catalogue, Change, ItemDiff, ItemKind, ItemSet, Value, diff, is_low_risk,
};
use teikyo_domain::report::{ReportStatus, Transition};
use teikyo_mail::report::{StepNotice, notice_job};
use teikyo_store::{Facility, FacilityId, Report, ReportId, TransitionOutcome, TransitionRequest};

use super::workflow::{carried, date_ja, facility_dates, item_set, report_label};
use super::{Context, Right, audit, context, forms, merged};
use crate::auth::{Csrf, Principal, SignedIn};
use crate::error::WebError;
use crate::html::account::see_other;
use crate::html::mail::tokyo_time;
use crate::html::{Chrome, render};
use crate::state::AppState;

/// One changed item as the reviewer reads it.
pub struct DiffRow {
    pub label: String,
    pub kind: &'static str,
    pub old: String,
    pub new: String,
}

pub struct DiffSection {
    pub title: String,
    pub rows: Vec<DiffRow>,
}

/// How a value reads on the review page: code lists by their names, dates in Japanese, a
/// coded list or a group by what is in it.
pub fn describe(catalogue: &Catalogue, set: &ItemSet, item: &str, v: &Value) -> String {
    let codes = set
        .item(item)
        .and_then(|i| match &i.kind {
            ItemKind::Choice { codes } | ItemKind::MultiChoice { codes } => Some(codes.as_str()),
            ItemKind::CodedList { codes, .. } => Some(codes.as_str()),
            _ => None,
        })
        .and_then(|id| catalogue.code_lists.get(id));
    let name = |code: &str| {
        codes
            .and_then(|l| l.get(code))
            .map_or_else(|| code.to_owned(), |c| c.label.clone())
    };
    match v {
        Value::Text(t) => t.clone(),
        Value::Number(n) => format!("{n}"),
        Value::Date(d) => date_ja(*d),
        Value::Choice(c) => match c.as_str() {
            "yes" => "あり".to_owned(),
            "no" => "なし".to_owned(),
            "unknown" => "不明".to_owned(),
            c => name(c),
        },
        Value::Choices(cs) => cs.iter().map(|c| name(c)).collect::<Vec<_>>().join("、"),
        Value::Hours(h) => h.lines().join("\n"),
        Value::Group(rows) if rows.is_empty() => "（なし）".to_owned(),
        Value::Group(rows) => group_rows(catalogue, set, item, rows).join("\n"),
        Value::Coded(m) => {
            let on: Vec<String> = m
                .iter()
                .filter(|(_, a)| a.available)
                .map(|(c, a)| match a.count {
                    Some(n) => format!("{}（{n}件）", name(c)),
                    None => name(c),
                })
                .collect();
            format!("{} 件：{}", on.len(), on.join("、"))
        }
    }
}

/// A group's members in the item set's order (none when `item` is not a group).
fn members<'a>(set: &'a ItemSet, item: &str) -> &'a [teikyo_domain::forms::Item] {
    match set.item(item).map(|i| &i.kind) {
        Some(ItemKind::Group { items, .. }) => items,
        _ => &[],
    }
}

/// A member's value inside a row, which is one line: an hours table's days joined by 「／」.
fn member_text(catalogue: &Catalogue, set: &ItemSet, id: &str, v: &Value) -> String {
    match v {
        Value::Hours(h) => h.lines().join("／"),
        v => describe(catalogue, set, id, v),
    }
}

/// The `(label, id)` of each answer in a row: members in order, then answers the item set no
/// longer has a member for, by their id (they still show).
fn row_parts<'a>(
    members: &'a [teikyo_domain::forms::Item],
    a: &'a Answers,
    b: &'a Answers,
) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = members
        .iter()
        .map(|m| (m.label.as_str(), m.id.as_str()))
        .collect();
    for id in a.0.keys().chain(b.0.keys()) {
        if !out.iter().any(|(_, known)| *known == id.as_str()) {
            out.push((id.as_str(), id.as_str()));
        }
    }
    out
}

/// A row as one line: 「職種：看護師、総数：12」.
fn row_text(catalogue: &Catalogue, set: &ItemSet, item: &str, row: &Answers) -> String {
    row_parts(members(set, item), row, row)
        .into_iter()
        .filter_map(|(label, id)| {
            let v = row.get(id)?;
            Some(format!("{label}：{}", member_text(catalogue, set, id, v)))
        })
        .collect::<Vec<_>>()
        .join("、")
}

fn group_rows(catalogue: &Catalogue, set: &ItemSet, item: &str, rows: &[Answers]) -> Vec<String> {
    rows.iter()
        .map(|row| row_text(catalogue, set, item, row))
        .collect()
}

/// One changed row as (old, new): named by its first member when that stayed the same
/// (「診療科目：内科」), then only the members that changed — of an hours table only the days.
fn row_change(
    catalogue: &Catalogue,
    set: &ItemSet,
    item: &str,
    a: &Answers,
    b: &Answers,
) -> (String, String) {
    let parts = row_parts(members(set, item), a, b);
    let mut old = Vec::new();
    let mut new = Vec::new();
    let mut name = None;
    for (i, (label, id)) in parts.iter().enumerate() {
        let (x, y) = (a.get(id), b.get(id));
        if x == y {
            if i == 0 {
                name = x.map(|v| format!("{label}：{}", member_text(catalogue, set, id, v)));
            }
            continue;
        }
        let (x, y) = match (x, y) {
            (Some(Value::Hours(x)), Some(Value::Hours(y))) => {
                let (x, y) = (x.lines(), y.lines());
                (only(&x, &y, "／"), only(&y, &x, "／"))
            }
            (x, y) => {
                let text = |v: Option<&Value>| {
                    v.map_or_else(String::new, |v| member_text(catalogue, set, id, v))
                };
                (text(x), text(y))
            }
        };
        old.push(format!("{label}：{x}"));
        new.push(format!("{label}：{y}"));
    }
    let line = |parts: Vec<String>| match &name {
        Some(n) => format!("{n}　{}", parts.join("、")),
        None => parts.join("、"),
    };
    (line(old), line(new))
}

/// The lines of `these` that `other` lacks, joined by `sep`.
fn only(these: &[String], other: &[String], sep: &str) -> String {
    these
        .iter()
        .filter(|l| !other.contains(l))
        .cloned()
        .collect::<Vec<_>>()
        .join(sep)
}

/// An hours table's or a group's change as what only one side has — the days whose hours
/// changed; the rows removed, added or changed (a changed row with only its changed members) —
/// rather than two whole tables to compare by eye.
fn line_change(
    catalogue: &Catalogue,
    set: &ItemSet,
    item: &str,
    old: &Value,
    new: &Value,
) -> Option<(String, String)> {
    let (o, n) = match (old, new) {
        (Value::Hours(a), Value::Hours(b)) => {
            let (a, b) = (a.lines(), b.lines());
            (only(&a, &b, "\n"), only(&b, &a, "\n"))
        }
        (Value::Group(a), Value::Group(b)) => {
            // Rows present on both sides (wherever they stand) are not changes.
            let mut left: Vec<&Answers> = b.iter().collect();
            let mut gone = Vec::new();
            for row in a {
                match left.iter().position(|r| *r == row) {
                    Some(i) => {
                        left.remove(i);
                    }
                    None => gone.push(row),
                }
            }
            // What remains pairs up in order: the first changed row with the first new one.
            let mut o = Vec::new();
            let mut n = Vec::new();
            for i in 0..gone.len().max(left.len()) {
                match (gone.get(i), left.get(i)) {
                    (Some(x), Some(y)) => {
                        let (x, y) = row_change(catalogue, set, item, x, y);
                        o.push(x);
                        n.push(y);
                    }
                    (Some(x), None) => o.push(row_text(catalogue, set, item, x)),
                    (None, Some(y)) => n.push(row_text(catalogue, set, item, y)),
                    (None, None) => {}
                }
            }
            (o.join("\n"), n.join("\n"))
        }
        _ => return None,
    };
    if o.is_empty() && n.is_empty() {
        // The same rows in another order.
        return Some((String::new(), "（行の並び順のみの変更）".to_owned()));
    }
    Some((o, n))
}

/// A coded list's change as what was added, removed and recounted, not two long lists.
fn coded_change(
    catalogue: &Catalogue,
    set: &ItemSet,
    item: &str,
    old: &Value,
    new: &Value,
) -> Option<(String, String)> {
    let (Value::Coded(a), Value::Coded(b)) = (old, new) else {
        return None;
    };
    let label = |c: &str| describe(catalogue, set, item, &Value::Choice(c.to_owned()));
    let on = |m: &std::collections::BTreeMap<String, teikyo_domain::forms::CodedAnswer>,
              c: &str| { m.get(c).filter(|x| x.available).map(|x| x.count) };
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for code in a.keys().chain(b.keys()) {
        match (on(a, code), on(b, code)) {
            (Some(_), None) if !removed.contains(&label(code)) => removed.push(label(code)),
            (None, Some(_)) if !added.contains(&label(code)) => added.push(label(code)),
            (Some(x), Some(y)) if x != y => {
                let l = format!(
                    "{}（{}→{}件）",
                    label(code),
                    x.map_or("-".to_owned(), |n| n.to_string()),
                    y.map_or("-".to_owned(), |n| n.to_string())
                );
                if !added.contains(&l) {
                    added.push(l);
                }
            }
            _ => {}
        }
    }
    Some((
        if removed.is_empty() {
            String::new()
        } else {
            format!("削除：{}", removed.join("、"))
        },
        if added.is_empty() {
            String::new()
        } else {
            format!("追加・変更：{}", added.join("、"))
        },
    ))
}

/// 差異表示: the changed items grouped by section, in item-set order.
pub fn diff_sections(catalogue: &Catalogue, set: &ItemSet, diffs: &[ItemDiff]) -> Vec<DiffSection> {
    let mut out: Vec<DiffSection> = Vec::new();
    for d in diffs {
        let title = d
            .section
            .clone()
            .unwrap_or_else(|| "（現在の項目にない回答）".to_owned());
        let id = d.item.as_str();
        let (kind, old, new) = match &d.change {
            Change::Added { new } => ("added", String::new(), describe(catalogue, set, id, new)),
            Change::Removed { old } => {
                ("removed", describe(catalogue, set, id, old), String::new())
            }
            Change::Changed { old, new } => {
                let (o, n) = coded_change(catalogue, set, id, old, new)
                    .or_else(|| line_change(catalogue, set, id, old, new))
                    .unwrap_or_else(|| {
                        (
                            describe(catalogue, set, id, old),
                            describe(catalogue, set, id, new),
                        )
                    });
                ("changed", o, n)
            }
        };
        let row = DiffRow {
            label: d.label.clone(),
            kind,
            old,
            new,
        };
        match out.last_mut() {
            Some(s) if s.title == title => s.rows.push(row),
            _ => out.push(DiffSection {
                title,
                rows: vec![row],
            }),
        }
    }
    out
}

/// What the report is compared with: the facility's newest confirmation (for a reopened
/// report, its own last one), carried over to the report's item set.
async fn baseline(
    state: &AppState,
    catalogue: &Catalogue,
    r: &Report,
    set: &ItemSet,
) -> Result<Option<(Answers, String)>, WebError> {
    let Some(c) = state
        .store()
        .reports()
        .last_confirmation(r.facility_id)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((
        carried(catalogue, &c, set),
        tokyo_time(c.confirmed_at),
    )))
}

#[derive(Template)]
#[template(path = "report_review.html")]
struct ReviewPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    id: i64,
    version: i64,
    status: &'static str,
    facility: String,
    submitted: String,
    proxy: bool,
    baseline: Option<String>,
    sections: Vec<DiffSection>,
    changed: usize,
    low_risk: bool,
    can_decide: bool,
    error: Option<String>,
}

pub(crate) async fn show(
    state: &AppState,
    csrf: String,
    catalogue: &Catalogue,
    ctx: &Context,
    version: i64,
    error: Option<String>,
) -> Result<Response, WebError> {
    let r = &ctx.report;
    let set = item_set(catalogue, r)?;
    let now = merged(&ctx.saved);
    let base = baseline(state, catalogue, r, set).await?;
    let diffs = diff(
        set,
        base.as_ref().map_or(&Answers::default(), |b| &b.0),
        &now,
    );
    let page = ReviewPage {
        chrome: Chrome::new(),
        title: format!("報告確認（{}）", report_label(r)),
        csrf,
        id: r.id.0,
        version,
        status: r.status.label(),
        facility: ctx.facility.record.names.official.clone(),
        submitted: r.submitted_at.map(tokyo_time).unwrap_or_default(),
        proxy: r.submitted_by_proxy,
        baseline: base.as_ref().map(|b| b.1.clone()),
        low_risk: base.is_some() && is_low_risk(set, &diffs),
        changed: diffs.len(),
        sections: diff_sections(catalogue, set, &diffs),
        can_decide: matches!(
            r.status,
            ReportStatus::Submitted | ReportStatus::Resubmitted
        ),
        error,
    };
    let status = if page.error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}

pub(crate) async fn page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, WebError> {
    let catalogue = forms(&state)?;
    let ctx = context(&state, &who, id).await?;
    if ctx.right != Right::Proxy {
        return Err(WebError::Forbidden);
    }
    let version = ctx.report.version;
    show(&state, csrf, catalogue, &ctx, version, None).await
}

// ---- the review queue ----

struct QueueRow {
    id: i64,
    version: i64,
    facility: String,
    label: String,
    status: &'static str,
    submitted: String,
    waited: String,
    proxy: bool,
    changed: usize,
    low_risk: bool,
}

#[derive(Template)]
#[template(path = "report_queue.html")]
struct QueuePage {
    chrome: Chrome,
    title: String,
    csrf: String,
    notice: Option<String>,
    rows: Vec<QueueRow>,
    low_risk: usize,
}

#[derive(Deserialize)]
pub(crate) struct QueueQuery {
    done: Option<String>,
    n: Option<usize>,
}

fn waited(since: Option<chrono::DateTime<Utc>>) -> String {
    let Some(t) = since else {
        return String::new();
    };
    let h = (Utc::now() - t).num_hours().max(0);
    if h < 24 {
        format!("{h}時間")
    } else {
        format!("{}日", h / 24)
    }
}

async fn queue_rows(
    state: &AppState,
    who: &Principal,
    catalogue: &Catalogue,
) -> Result<Vec<(QueueRow, Facility)>, WebError> {
    let prefectures = match who.access.staff_prefectures() {
        Some(p) => p,
        None => teikyo_domain::PrefectureCode::all().collect(),
    };
    let reports = state
        .store()
        .reports()
        .awaiting_review(&prefectures)
        .await?;
    let ids: Vec<FacilityId> = reports.iter().map(|r| r.facility_id).collect();
    let facilities = state.store().facilities().get_many(&ids).await?;
    let mut rows = Vec::new();
    for r in reports {
        let Some(f) = facilities.iter().find(|f| f.id == r.facility_id).cloned() else {
            continue;
        };
        if !who.access.reviews_facility(&f.scope()) {
            continue;
        }
        let Some(set) = catalogue.item_sets.get(&r.item_set) else {
            continue;
        };
        let now = merged(&state.store().reports().sections(r.id).await?);
        let base = baseline(state, catalogue, &r, set).await?;
        let diffs = diff(
            set,
            base.as_ref().map_or(&Answers::default(), |b| &b.0),
            &now,
        );
        rows.push((
            QueueRow {
                id: r.id.0,
                version: r.version,
                facility: f.record.names.official.clone(),
                label: report_label(&r),
                status: r.status.label(),
                submitted: r.submitted_at.map(tokyo_time).unwrap_or_default(),
                waited: waited(r.submitted_at),
                proxy: r.submitted_by_proxy,
                changed: diffs.len(),
                low_risk: base.is_some() && is_low_risk(set, &diffs),
            },
            f,
        ));
    }
    Ok(rows)
}

pub(crate) async fn queue(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Query(q): Query<QueueQuery>,
) -> Result<Response, WebError> {
    let catalogue = forms(&state)?;
    let rows: Vec<QueueRow> = queue_rows(&state, &who, catalogue)
        .await?
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    let notice = match q.done.as_deref() {
        Some("confirmed") => Some("確認完了にしました。".to_owned()),
        Some("returned") => Some("差し戻しました。医療機関等に通知しました。".to_owned()),
        Some("bulk") => Some(format!("{} 件を確認完了にしました。", q.n.unwrap_or(0))),
        _ => None,
    };
    Ok(render(&QueuePage {
        chrome: Chrome::new(),
        title: "報告確認待ち一覧".to_owned(),
        csrf,
        notice,
        low_risk: rows.iter().filter(|r| r.low_risk).count(),
        rows,
    })?
    .into_response())
}

/// Bulk 確認完了 of the selected reports; a report is confirmed only if it is (still) low-risk,
/// in scope, and at the version the list showed — anything else is left for a look of its own.
pub(crate) async fn bulk_confirm(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let catalogue = forms(&state)?;
    let chosen: Vec<(i64, i64)> = pairs
        .iter()
        .filter(|(k, _)| k == "report")
        .filter_map(|(_, v)| {
            let (id, version) = v.split_once(':')?;
            Some((id.parse().ok()?, version.parse().ok()?))
        })
        .collect();
    let rows = queue_rows(&state, &who, catalogue).await?;
    let mut confirmed = 0;
    for (id, version) in chosen {
        let Some((row, _)) = rows
            .iter()
            .find(|(r, _)| r.id == id && r.version == version && r.low_risk)
        else {
            continue;
        };
        let ctx = context(&state, &who, row.id).await?;
        let now = Utc::now();
        let dates = facility_dates(&ctx);
        let follow_up = notice_job(&StepNotice {
            report: ReportId(id),
            transition: Transition::Confirm,
            at: now,
            proxy: false,
            resubmitted: false,
            comment: None,
            abolished_on: dates.abolished_on,
        });
        let req = TransitionRequest {
            report: ReportId(id),
            expected_version: version,
            transition: Transition::Confirm,
            by: Some(who.user.id),
            proxy: false,
            comment: None,
            required_sections: &[],
            facility_dates: Some(dates),
            follow_up: super::workflow::follow_ups(follow_up, Transition::Confirm, ctx.facility.id),
        };
        let event = audit(&who, "report.confirm", &ctx.facility)
            .on("report", id)
            .with_detail(serde_json::json!({ "bulk": true, "from": ctx.report.status.id() }));
        if let TransitionOutcome::Done { .. } = state
            .store()
            .reports()
            .transition(&req, &event, now)
            .await?
        {
            confirmed += 1;
        }
    }
    Ok(see_other(
        &format!("/prefecture/reports?done=bulk&n={confirmed}"),
        &[],
    ))
}
