//! 報告状況ダッシュボード (`GET /prefecture/dashboard`): the report rate (報告済・再報告済・
//! 確認完了済) and the confirmation rate of a prefecture's 定期報告, by 機関区分, by 市区町村 (the
//! ten with most facilities and the rest in the chart; every one in the sortable table) and day
//! by day over the window. Charts are inline SVG (`chart`), each followed by its table.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use teikyo_domain::completeness::{self, MunicipalityOrder, StatusCounts};
use teikyo_domain::report::{ReportKind, ReportStatus};

use super::chart::{self, BarChart, LineChart};
use super::list::{Choice, kind_choices};
use super::{Selection, StatusQuery, YearChoice, municipality_name, pick};
use crate::auth::SignedIn;
use crate::error::WebError;
use crate::html::report::workflow::date_ja;
use crate::html::{Chrome, render};
use crate::state::AppState;

pub(crate) const PATH: &str = "/prefecture/dashboard";

/// 市区町村 drawn one by one; the others share a bar.
const CHART_MUNICIPALITIES: usize = 10;

/// One line of a table: counts per status in the progress bar's order and both rates.
pub(crate) struct TableRow {
    pub(crate) label: String,
    pub(crate) href: Option<String>,
    pub(crate) total: u64,
    pub(crate) counts: Vec<u64>,
    pub(crate) reported: String,
    pub(crate) confirmed: String,
}

fn table_row(label: String, href: Option<String>, c: &StatusCounts) -> TableRow {
    TableRow {
        label,
        href,
        total: c.total(),
        counts: c.each().map(|(_, n)| n).collect(),
        reported: c.reported_share().percent(),
        confirmed: c.confirmed_share().percent(),
    }
}

pub(crate) struct DayRow {
    day: String,
    reported: u64,
    reported_share: String,
    confirmed: u64,
    confirmed_share: String,
}

pub(crate) struct Window {
    chart: LineChart,
    desc: String,
    rows: Vec<DayRow>,
}

#[derive(Template)]
#[template(path = "status_dashboard.html")]
struct DashboardPage {
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
    headers: Vec<&'static str>,
    legend: Vec<(&'static str, &'static str)>,
    overall: TableRow,
    kind_rows: Vec<TableRow>,
    kind_chart: BarChart,
    kind_desc: String,
    place_rows: Vec<TableRow>,
    place_chart: BarChart,
    place_desc: String,
    sorts: Vec<(&'static str, String, bool)>,
    window: Option<Window>,
    window_note: Option<String>,
    list_href: String,
    clear_href: String,
}

fn rates_in_words(groups: &[(String, StatusCounts)]) -> String {
    groups
        .iter()
        .map(|(label, c)| format!("{label} {}", c.reported_share().percent()))
        .collect::<Vec<_>>()
        .join("、")
}

pub(crate) async fn page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Query(q): Query<StatusQuery>,
) -> Result<Response, WebError> {
    let mut sel = Selection::resolve(&state, &who, &q).await?;
    // The dashboard is about the 定期報告 of the whole area (its tables break it down).
    sel.report_kind = ReportKind::Periodic;
    sel.municipality = None;
    sel.status = None;
    let order = pick(q.sort.as_deref(), "sort", MunicipalityOrder::parse)?
        .unwrap_or(MunicipalityOrder::Facilities);
    let repo = state.store().report_status();
    let scope = sel.scope(false);
    let tallies = repo.tally(&scope).await?;
    let overall = completeness::total(&tallies);

    let kinds: Vec<(String, StatusCounts)> = completeness::by_kind(&tallies)
        .into_iter()
        .map(|(k, c)| (k.name().to_owned(), c))
        .collect();
    let ranked = completeness::ranked(&completeness::by_municipality(&tallies), order);
    let (top, rest) = completeness::top_and_rest(&ranked, CHART_MUNICIPALITIES);
    let mut drawn: Vec<(String, StatusCounts)> = top
        .iter()
        .map(|(m, c)| (municipality_name(*m), *c))
        .collect();
    if let Some(rest) = rest {
        drawn.push((format!("ほか{}市区町村", rest.groups), rest.counts));
    }

    let (window, window_note) = match &sel.period {
        None => (
            None,
            Some("この年度の報告期間が登録されていないため、日ごとの推移はありません。".to_owned()),
        ),
        Some(p) if sel.today < p.period.opens_on => (
            None,
            Some(format!(
                "受付開始日（{}）の前のため、日ごとの推移はまだありません。",
                date_ja(p.period.opens_on)
            )),
        ),
        Some(p) => {
            let from = p.period.opens_on;
            let to = sel.today.min(p.period.deadline());
            let daily = repo.daily(&scope).await?;
            let points = completeness::over_window(
                from,
                to,
                overall.total(),
                &daily.reported,
                &daily.confirmed,
            );
            let desc = match points.last() {
                Some(last) => format!(
                    "受付開始日 {} から {} までの、対象 {} 施設に対する累積の報告率と確認完了率。{} 時点で報告率 {}、確認完了率 {}。",
                    date_ja(from),
                    date_ja(to),
                    overall.total(),
                    date_ja(last.day),
                    last.reported.percent(),
                    last.confirmed.percent()
                ),
                None => String::new(),
            };
            let rows = points
                .iter()
                .map(|p| DayRow {
                    day: date_ja(p.day),
                    reported: p.reported.part,
                    reported_share: p.reported.percent(),
                    confirmed: p.confirmed.part,
                    confirmed_share: p.confirmed.percent(),
                })
                .collect();
            let note = (sel.today > p.period.deadline()).then(|| {
                format!(
                    "報告期限（{}）までの推移です。期限後の報告は、上の表の現在の数に含まれます。",
                    date_ja(p.period.deadline())
                )
            });
            (
                Some(Window {
                    chart: chart::cumulative(&points),
                    desc,
                    rows,
                }),
                note,
            )
        }
    };

    let heading = format!("報告状況ダッシュボード（{}）", sel.title());
    let list_href = sel.href(super::list::PATH, &[]);
    let place_rows = ranked
        .iter()
        .map(|(m, c)| {
            table_row(
                municipality_name(*m),
                Some(sel.href(super::list::PATH, &[("municipality", Some(m.to_string()))])),
                c,
            )
        })
        .collect();
    let sorts = MunicipalityOrder::ALL
        .iter()
        .map(|o| {
            (
                o.label(),
                format!(
                    "{}#places-heading",
                    sel.href(PATH, &[("sort", Some(o.id().to_owned()))])
                ),
                *o == order,
            )
        })
        .collect();
    Ok(render(&DashboardPage {
        chrome: Chrome::new(),
        title: heading.clone(),
        heading,
        prefecture: sel.prefecture.to_string(),
        prefectures: sel.prefectures.clone(),
        reports: Vec::new(),
        kinds: kind_choices(&sel),
        municipalities: Vec::new(),
        statuses: Vec::new(),
        period_note: sel.period_note(),
        narrowed: sel.narrowed_by(),
        headers: ReportStatus::ALL.iter().map(|s| s.label()).collect(),
        legend: chart::ORDER.iter().map(|s| (s.id(), s.label())).collect(),
        overall: table_row("合計".to_owned(), None, &overall),
        kind_desc: format!(
            "機関区分ごとの報告状況の割合（左から確認完了済、再報告済、報告済、報告中、未報告）。報告率は {}。",
            rates_in_words(&kinds)
        ),
        kind_chart: chart::stacked_bars(&kinds),
        kind_rows: kinds
            .iter()
            .map(|(label, c)| table_row(label.clone(), None, c))
            .collect(),
        place_desc: format!(
            "市区町村ごとの報告状況の割合（{}に{}件と、その他）。報告率は {}。",
            order.label(),
            top.len(),
            rates_in_words(&drawn)
        ),
        place_chart: chart::stacked_bars(&drawn),
        place_rows,
        sorts,
        window,
        window_note,
        list_href,
        clear_href: format!("{PATH}?prefecture={}", sel.prefecture),
        years: sel.years,
    })?
    .into_response())
}
