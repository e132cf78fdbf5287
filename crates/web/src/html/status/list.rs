//! 報告状況一覧 (`GET /prefecture/status`): the counts per status at the top — each a link that
//! applies it as the filter —, the filters (報告期間, 報告区分, 機関区分, 市区町村, 報告状況) kept in
//! the query string, then one row per facility, 未報告 first, 100 a page, with the day of its
//! 報告, how many days it has waited for review, and a link to the review or the report.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use teikyo_domain::FacilityKind;
use teikyo_domain::completeness::{self, days_waiting};
use teikyo_domain::report::{ReportKind, ReportStatus};

use super::{Selection, StatusQuery, YearChoice, day_in_japan, municipality_name, pick, row_link};
use crate::auth::SignedIn;
use crate::error::WebError;
use crate::html::mail::Pager;
use crate::html::report::workflow::date_ja;
use crate::html::{Chrome, render};
use crate::state::AppState;

pub(crate) const PATH: &str = "/prefecture/status";

/// Rows a page: enough to scan, small enough for a phone.
pub(crate) const PAGE_SIZE: u64 = 100;

/// Far beyond any prefecture; keeps the offset arithmetic away from overflow.
const MAX_PAGE: u64 = 100_000;

pub(crate) struct CountLink {
    pub(crate) label: &'static str,
    pub(crate) count: u64,
    pub(crate) href: String,
    pub(crate) current: bool,
}

pub(crate) struct RowView {
    code: String,
    name: String,
    kind: &'static str,
    municipality: String,
    status: &'static str,
    status_id: &'static str,
    reported_on: String,
    waited: String,
    proxy: bool,
    href: String,
    link_text: &'static str,
}

/// (value, label, selected) of a select.
pub(crate) type Choice = (String, String, bool);

#[derive(Template)]
#[template(path = "status_list.html")]
struct ListPage {
    chrome: Chrome,
    title: String,
    heading: String,
    prefecture: String,
    prefectures: Vec<(String, &'static str, bool)>,
    years: Vec<YearChoice>,
    reports: Vec<Choice>,
    kinds: Vec<Choice>,
    municipalities: Vec<Choice>,
    statuses: Vec<Choice>,
    period_note: String,
    narrowed: Vec<String>,
    counts: Vec<CountLink>,
    all_href: String,
    all_current: bool,
    total: u64,
    reported_share: String,
    confirmed_share: String,
    shown: u64,
    rows: Vec<RowView>,
    pager: Pager,
    csv_utf8: String,
    csv_sjis: String,
    dashboard: String,
    clear_href: String,
}

pub(crate) fn report_choices(sel: &Selection) -> Vec<Choice> {
    ReportKind::ALL
        .iter()
        .map(|k| {
            (
                k.id().to_owned(),
                k.label().to_owned(),
                *k == sel.report_kind,
            )
        })
        .collect()
}

pub(crate) fn kind_choices(sel: &Selection) -> Vec<Choice> {
    std::iter::once((
        String::new(),
        "すべて".to_owned(),
        sel.facility_kind.is_none(),
    ))
    .chain(FacilityKind::ALL.iter().map(|k| {
        (
            k.code().to_string(),
            k.name().to_owned(),
            Some(*k) == sel.facility_kind,
        )
    }))
    .collect()
}

pub(crate) async fn page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Query(q): Query<StatusQuery>,
) -> Result<Response, WebError> {
    let sel = Selection::resolve(&state, &who, &q).await?;
    let page = pick(q.page.as_deref(), "page", |v| {
        v.parse::<u64>().ok().filter(|n| (1..=MAX_PAGE).contains(n))
    })?
    .unwrap_or(1);
    let repo = state.store().report_status();
    // One grouped query for the whole area — the 市区町村 to choose from and, narrowed here to
    // the one chosen, the counts — and the page's rows, side by side (each reads the whole
    // prefecture; on SQLite they run on two pooled connections).
    let (whole, narrowed) = (sel.scope(false), sel.scope(true));
    let (tallies, rows) = tokio::try_join!(
        repo.tally(&whole),
        repo.rows(
            &narrowed,
            sel.status,
            Some(((page - 1) * PAGE_SIZE, PAGE_SIZE)),
        )
    )?;
    let here: Vec<_> = tallies
        .iter()
        .filter(|t| sel.municipality.is_none_or(|m| m == t.municipality))
        .copied()
        .collect();
    let counts = completeness::total(&here);
    let matching = match sel.status {
        Some(s) => counts.get(s),
        None => counts.total(),
    };
    let rows: Vec<RowView> = rows
        .iter()
        .map(|r| {
            let status = r.status();
            let reported_on = r
                .report
                .as_ref()
                .and_then(|x| x.submitted_at)
                .map(day_in_japan);
            let (href, link_text) = row_link(&who, sel.prefecture, r);
            RowView {
                code: r.facility_code.clone().unwrap_or_default(),
                name: r.name.clone(),
                kind: r.kind.name(),
                municipality: municipality_name(r.municipality),
                status: status.label(),
                status_id: status.id(),
                reported_on: reported_on.map(date_ja).unwrap_or_default(),
                waited: reported_on
                    .filter(|_| status.awaits_review())
                    .map(|d| format!("{}日", days_waiting(d, sel.today)))
                    .unwrap_or_default(),
                proxy: r.report.as_ref().is_some_and(|x| x.by_proxy),
                href,
                link_text,
            }
        })
        .collect();
    let shown = rows.len();
    let pager = Pager::sized(page, PAGE_SIZE, shown, matching, |n| {
        sel.href(PATH, &[("page", Some(n.to_string()))])
    });
    let count_links = counts
        .each()
        .filter(|(s, _)| sel.report_kind == ReportKind::Periodic || *s != ReportStatus::NotReported)
        .map(|(s, n)| CountLink {
            label: s.label(),
            count: n,
            href: sel.href(PATH, &[("status", Some(s.id().to_owned())), ("page", None)]),
            current: sel.status == Some(s),
        })
        .collect();
    let statuses = std::iter::once((String::new(), "すべて".to_owned(), sel.status.is_none()))
        .chain(ReportStatus::ALL.iter().map(|s| {
            (
                s.id().to_owned(),
                s.label().to_owned(),
                Some(*s) == sel.status,
            )
        }))
        .collect();
    let municipalities = std::iter::once((
        String::new(),
        "すべて".to_owned(),
        sel.municipality.is_none(),
    ))
    .chain(sel.municipality_choices(&tallies))
    .collect();
    let heading = format!("報告状況一覧（{}）", sel.title());
    Ok(render(&ListPage {
        chrome: Chrome::new(),
        title: heading.clone(),
        heading,
        prefecture: sel.prefecture.to_string(),
        prefectures: sel.prefectures.clone(),
        reports: report_choices(&sel),
        kinds: kind_choices(&sel),
        municipalities,
        statuses,
        period_note: sel.period_note(),
        narrowed: sel.narrowed_by(),
        all_href: sel.href(PATH, &[("status", None), ("page", None)]),
        all_current: sel.status.is_none(),
        counts: count_links,
        total: counts.total(),
        reported_share: counts.reported_share().percent(),
        confirmed_share: counts.confirmed_share().percent(),
        shown: u64::try_from(shown).unwrap_or(0),
        rows,
        pager,
        csv_utf8: sel.href(
            super::export::PATH,
            &[("encoding", Some("utf8".into())), ("page", None)],
        ),
        csv_sjis: sel.href(
            super::export::PATH,
            &[("encoding", Some("sjis".into())), ("page", None)],
        ),
        dashboard: sel.href(
            super::dashboard::PATH,
            &[("status", None), ("municipality", None), ("report", None)],
        ),
        clear_href: format!("{PATH}?prefecture={}", sel.prefecture),
        years: sel.years,
    })?
    .into_response())
}
