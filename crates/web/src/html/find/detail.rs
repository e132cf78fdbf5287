//! A published facility's page (issue 7 §5): 名称, 種別, 所在地, 現在診療中 with today's hours, the
//! current 臨時休診, every 診療時間 table, then every published section grouped like ナビイ's tabs
//! (基本情報 / アクセス・サービス / 費用 / 診療内容 / 実績) with its 最終確認日.
//!
//! The document is read from the database (what residents see is the published document, never
//! a report); open-now comes from the node's listing when it has one, so the page and the
//! result line agree.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use teikyo_domain::opening::{Schedule, japan_time};
use teikyo_domain::publication::PublishedDocument;
use teikyo_store::FacilityId;

use super::texts::{Lang, Texts};
use super::{Status, status, today_text};
use crate::error::WebError;
use crate::html::report::review::describe;
use crate::html::{Chrome, render};
use crate::state::AppState;
use teikyo_domain::text::date_ja;

/// A tab of the page: sections whose number starts alike (「1.」 管理・運営・サービス等 …).
pub(crate) struct Tab {
    pub(crate) id: String,
    pub(crate) title: &'static str,
    pub(crate) sections: Vec<SectionView>,
}

pub(crate) struct SectionView {
    pub(crate) number: String,
    pub(crate) title: String,
    pub(crate) confirmed_on: String,
    pub(crate) items: Vec<(String, String)>,
}

pub(crate) struct HoursView {
    pub(crate) title: String,
    pub(crate) lines: Vec<String>,
}

/// The ナビイ-like grouping of the sections by their number's first part.
fn tab_title(number: &str, lang: Lang) -> &'static str {
    let major = number.split('.').next().unwrap_or_default();
    match (major, lang) {
        ("1", Lang::Ja) => "基本情報・アクセス・サービス・費用",
        ("2", Lang::Ja) => "診療内容・提供サービス",
        ("3", Lang::Ja) => "医療の実績・結果",
        (_, Lang::Ja) => "その他",
        ("1", Lang::En) => "Basics, access, services and costs",
        ("2", Lang::En) => "Care and services",
        ("3", Lang::En) => "Results",
        (_, Lang::En) => "Other",
    }
}

#[derive(Template)]
#[template(path = "facility.html")]
struct FacilityPage {
    chrome: Chrome,
    t: &'static Texts,
    lang: &'static str,
    title: String,
    other_lang_href: String,
    search_href: String,
    name: String,
    kana: String,
    english: Option<String>,
    kind: &'static str,
    address: String,
    postal: Option<String>,
    homepage: Option<String>,
    status: Status,
    today: String,
    closures: Vec<String>,
    hours: Vec<HoursView>,
    tabs: Vec<Tab>,
    map_href: Option<String>,
    report_error_href: String,
    map: Option<super::MapView>,
}

#[derive(Template)]
#[template(path = "facility_missing.html")]
struct MissingPage {
    chrome: Chrome,
    t: &'static Texts,
    lang: &'static str,
    title: String,
    other_lang_href: String,
    search_href: String,
}

async fn facility_page(state: AppState, id: i64, lang: Lang) -> Result<Response, WebError> {
    let t = Texts::of(lang);
    let other = match lang {
        Lang::Ja => Lang::En,
        Lang::En => Lang::Ja,
    };
    let document = state
        .store()
        .publications()
        .published(FacilityId(id))
        .await
        .map_err(WebError::Store)?;
    let Some(d) = document else {
        let page = MissingPage {
            chrome: Chrome::new(),
            t,
            lang: lang.code(),
            title: t.search_title.to_owned(),
            other_lang_href: format!("{}/facilities/{id}", other.prefix()),
            search_href: format!("{}/search", lang.prefix()),
        };
        return Ok((StatusCode::NOT_FOUND, render(&page)?).into_response());
    };
    let now = japan_time(Utc::now());
    let (open, today) = match state.search().and_then(|i| i.listing(FacilityId(id))) {
        Some(l) => (l.open_now(None, now), l.day(now.date())),
        None => {
            let tables = d.hours_tables();
            let schedule = Schedule {
                tables: &tables,
                closures: &d.closures,
                is_holiday: &teikyo_refdata::holidays::is_holiday,
            };
            (schedule.at(now), schedule.day(now.date()))
        }
    };
    let r = &d.facility;
    let page = FacilityPage {
        chrome: Chrome::new(),
        t,
        lang: lang.code(),
        title: r.names.official.clone(),
        other_lang_href: format!("{}/facilities/{id}", other.prefix()),
        search_href: format!("{}/search", lang.prefix()),
        name: r.names.official.clone(),
        kana: r.names.official_kana.clone(),
        english: r.names.english.clone(),
        kind: lang.kind(r.kind),
        address: r.address.clone(),
        postal: r.postal_code.map(|p| p.to_string()),
        homepage: r
            .homepage
            .clone()
            .filter(|h| h.starts_with("https://") || h.starts_with("http://")),
        status: status(&open, now, lang),
        today: today_text(&today, lang),
        closures: d
            .closures
            .iter()
            .filter(|c| !c.expired(now.date()))
            .map(|c| {
                if c.from == c.to {
                    format!("{}　{}", date_ja(c.from), c.reason)
                } else {
                    format!("{} ～ {}　{}", date_ja(c.from), date_ja(c.to), c.reason)
                }
            })
            .collect(),
        hours: hours(&d),
        tabs: tabs(&state, &d, lang),
        map_href: r
            .coordinates
            .as_ref()
            .map(|c| format!("https://maps.gsi.go.jp/#17/{:.6}/{:.6}/", c.lat, c.lon)),
        report_error_href: format!("{}/facilities/{id}/report-error", lang.prefix()),
        map: r
            .coordinates
            .as_ref()
            .and_then(|c| super::MapView::of(&state, Some((c.lat, c.lon)))),
    };
    Ok(super::allow_map_tiles(
        render(&page)?.into_response(),
        &state,
    ))
}

/// Each hours table, titled by its 診療科目 when it belongs to one.
fn hours(d: &PublishedDocument) -> Vec<HoursView> {
    d.tables_by_department()
        .into_iter()
        .map(|(department, table)| HoursView {
            title: department
                .map(|code| {
                    teikyo_refdata::codes::specialty(code)
                        .map_or_else(|| code.to_owned(), |s| s.name.to_owned())
                })
                .unwrap_or_default(),
            lines: table.lines(),
        })
        .filter(|h| !h.lines.is_empty())
        .collect()
}

fn tabs(state: &AppState, d: &PublishedDocument, lang: Lang) -> Vec<Tab> {
    let catalogue = state.forms();
    let set = catalogue.and_then(|c| c.item_sets.get(&d.item_set));
    let mut tabs: Vec<Tab> = Vec::new();
    for s in &d.sections {
        if s.answers.0.is_empty() {
            continue;
        }
        let title = tab_title(&s.number, lang);
        let items = s
            .answers
            .0
            .iter()
            .filter(|(_, v)| !matches!(v, teikyo_domain::forms::Value::Hours(_)))
            .map(|(id, v)| {
                let label = set
                    .and_then(|set| set.item(id.as_str()))
                    .map_or_else(|| id.as_str().to_owned(), |i| i.label.clone());
                let text = match (catalogue, set) {
                    (Some(c), Some(set)) => describe(c, set, id.as_str(), v),
                    _ => String::new(),
                };
                (label, text)
            })
            .filter(|(_, text)| !text.is_empty())
            .collect();
        let view = SectionView {
            number: s.number.clone(),
            title: s.title.clone(),
            confirmed_on: date_ja(s.confirmed_on),
            items,
        };
        match tabs.iter_mut().find(|t| t.title == title) {
            Some(tab) => tab.sections.push(view),
            None => tabs.push(Tab {
                id: format!("tab-{}", tabs.len() + 1),
                title,
                sections: vec![view],
            }),
        }
    }
    tabs
}

/// `GET /facilities/{id}`
pub(crate) async fn page(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    facility_page(state, id, Lang::Ja).await
}

/// `GET /en/facilities/{id}`
pub(crate) async fn page_en(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    facility_page(state, id, Lang::En).await
}
