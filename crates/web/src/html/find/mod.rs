//! The residents' side (issue 7 §5): the search page and the facility pages, in Japanese
//! (`/search`, `/facilities/{id}`) and English (`/en/…`), and the JSON API behind them
//! (`/api/search`). All read this node's search index and its listings; none needs an account,
//! none writes anything but the error reports, and every page works without JavaScript.

pub(crate) mod detail;
pub(crate) mod params;
pub(crate) mod report_error;
pub(crate) mod texts;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDateTime, Timelike, Utc};
use serde::Serialize;
use teikyo_domain::feature::Feature;
use teikyo_domain::hours::Openness;
use teikyo_domain::opening::{DayHours, OpenNow, japan_time, until_label};
use teikyo_domain::{FacilityKind, PrefectureCode};
use teikyo_search::{Hit, Listing, Sort};

use self::params::{DEFAULT_RADIUS_KM, Find, Group, RADII_KM};
use self::texts::{Lang, Texts};
use crate::api::ApiError;
use crate::error::WebError;
use crate::html::{Chrome, render};
use crate::state::AppState;

/// Open-now as a result line shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Status {
    /// `open`, `closed`, `unknown` or `temporarily_closed`.
    pub(crate) code: &'static str,
    pub(crate) label: String,
    /// 「18時まで」「次は 14:00」, when known.
    pub(crate) detail: String,
}

/// 「9:05」 (written by hand: chrono's format string is parsed on every call).
fn clock(t: NaiveDateTime) -> String {
    format!("{}:{:02}", t.hour(), t.minute())
}

pub(crate) fn status(open: &OpenNow, now: NaiveDateTime, lang: Lang) -> Status {
    let t = Texts::of(lang);
    let today = now.date();
    let next = |at: NaiveDateTime| -> String {
        let day = (at.date() - today).num_days();
        match (lang, day) {
            (Lang::Ja, 0) => format!("次は {} から", clock(at)),
            (Lang::Ja, 1) => format!("次は 明日 {} から", clock(at)),
            (Lang::Ja, _) => format!("次は {} {} から", at.format("%-m月%-d日"), clock(at)),
            (Lang::En, 0) => format!("opens at {}", clock(at)),
            (Lang::En, 1) => format!("opens tomorrow at {}", clock(at)),
            (Lang::En, _) => format!("opens {} at {}", at.format("%-d %b"), clock(at)),
        }
    };
    match (open.openness, &open.closure) {
        (Openness::Open, _) => Status {
            code: "open",
            label: t.open.to_owned(),
            detail: open
                .until
                .map(|u| match lang {
                    Lang::Ja => until_label(today, u),
                    Lang::En => format!("until {}", clock(u)),
                })
                .unwrap_or_default(),
        },
        (_, Some(c)) => Status {
            code: "temporarily_closed",
            label: t.temporarily_closed.to_owned(),
            detail: c.reason.clone(),
        },
        (Openness::Closed, None) => Status {
            code: "closed",
            label: t.closed.to_owned(),
            detail: open.next_open.map(next).unwrap_or_default(),
        },
        (Openness::Unknown, None) => Status {
            code: "unknown",
            label: t.ask.to_owned(),
            detail: String::new(),
        },
    }
}

/// 「800 m」「1.5 km」「12 km」.
pub(crate) fn distance_text(m: f64) -> String {
    if m < 1_000.0 {
        format!("{} m", ((m / 10.0).round() * 10.0) as i64)
    } else if m < 10_000.0 {
        format!("{:.1} km", m / 1_000.0)
    } else {
        format!("{} km", (m / 1_000.0).round() as i64)
    }
}

fn today_text(day: &DayHours, lang: Lang) -> String {
    match lang {
        Lang::Ja => day.describe(),
        Lang::En => day.describe_en(),
    }
}

/// One result line.
pub(crate) struct Row {
    pub(crate) href: String,
    pub(crate) name: String,
    pub(crate) kind: &'static str,
    pub(crate) address: String,
    pub(crate) status: Status,
    pub(crate) today: String,
    pub(crate) distance: Option<String>,
    /// (lat, lon) for the map's marker.
    pub(crate) point: Option<(String, String)>,
}

/// What a page with a map needs: the assets, the tiles and their credit, and a point to centre
/// on (the facility page's; the results page fits its markers).
pub(crate) struct MapView {
    pub(crate) assets: crate::assets::MapAssets,
    pub(crate) tiles: String,
    pub(crate) attribution: String,
    pub(crate) attribution_url: String,
    pub(crate) center: Option<(String, String)>,
}

impl MapView {
    /// `None` when this binary has no Leaflet.
    pub(crate) fn of(state: &AppState, center: Option<(f64, f64)>) -> Option<Self> {
        let map = &state.config().map;
        Some(Self {
            assets: crate::assets::map_assets()?,
            tiles: map.tiles.clone(),
            attribution: map.attribution.clone(),
            attribution_url: map.attribution_url.clone(),
            center: center.map(coordinates),
        })
    }
}

fn coordinates((lat, lon): (f64, f64)) -> (String, String) {
    (format!("{lat:.6}"), format!("{lon:.6}"))
}

/// A page with the map may show the tiles' images: its CSP names their origin (the default
/// policy, which `security_headers` adds, otherwise).
pub(crate) fn allow_map_tiles(mut res: Response, state: &AppState) -> Response {
    let Some(origin) = state.config().map.tiles_origin() else {
        return res;
    };
    let csp = crate::middleware::security_headers::csp_with_images_from(origin);
    if let Ok(v) = axum::http::HeaderValue::from_str(&csp) {
        res.headers_mut()
            .insert(axum::http::header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

fn row(hit: &Hit, department: Option<&str>, now: NaiveDateTime, lang: Lang) -> Row {
    let l = &hit.listing;
    let name = match lang {
        Lang::En => l
            .name_en
            .clone()
            .map_or_else(|| l.name.clone(), |en| format!("{en}（{}）", l.name)),
        Lang::Ja => l.name.clone(),
    };
    Row {
        href: format!("{}/facilities/{}", lang.prefix(), l.facility_id.0),
        name,
        kind: lang.kind(l.kind),
        address: l.address.clone(),
        status: status(&l.open_now(department, now), now, lang),
        today: today_text(&l.day(now.date()), lang),
        distance: hit.distance_m.map(distance_text),
        point: l.point.map(|p| coordinates((p.lat, p.lon))),
    }
}

/// A choice in a select: value, label, selected.
pub(crate) struct Choice {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

fn choices<T>(
    items: impl IntoIterator<Item = T>,
    value: impl Fn(&T) -> String,
    label: impl Fn(&T) -> String,
    selected: Option<&str>,
) -> Vec<Choice> {
    items
        .into_iter()
        .map(|i| {
            let v = value(&i);
            Choice {
                selected: selected == Some(v.as_str()),
                label: label(&i),
                value: v,
            }
        })
        .collect()
}

pub(crate) struct FeatureBox {
    pub(crate) id: &'static str,
    pub(crate) label: &'static str,
    pub(crate) checked: bool,
}

pub(crate) struct GroupLink {
    pub(crate) href: String,
    pub(crate) label: &'static str,
    pub(crate) current: bool,
}

#[derive(Template)]
#[template(path = "find.html")]
struct FindPage {
    chrome: Chrome,
    script_href: &'static str,
    map: Option<MapView>,
    t: &'static Texts,
    lang: &'static str,
    title: String,
    other_lang_href: String,
    find: Find,
    prefectures: Vec<Choice>,
    kinds: Vec<Choice>,
    departments: Vec<Choice>,
    languages: Vec<Choice>,
    radii: Vec<Choice>,
    features: Vec<FeatureBox>,
    groups: Vec<GroupLink>,
    group_note: Option<&'static str>,
    asked: bool,
    rows: Vec<Row>,
    total: usize,
    where_label: String,
    previous_href: Option<String>,
    next_href: Option<String>,
    first_number: usize,
    unavailable: bool,
    sort_distance: bool,
}

/// The 診療科目 list, for the form (code → name).
fn department_choices(selected: Option<&str>) -> Vec<Choice> {
    choices(
        teikyo_refdata::codes::specialties().iter(),
        |s| s.code.to_string(),
        |s| s.name.to_string(),
        selected,
    )
}

fn language_choices(state: &AppState, selected: Option<&str>) -> Vec<Choice> {
    let list = state.forms().and_then(|c| c.code_lists.get("languages"));
    choices(
        list.map(|l| {
            l.codes
                .iter()
                .filter(|c| c.code != "other")
                .collect::<Vec<_>>()
        })
        .unwrap_or_default(),
        |c| c.code.clone(),
        |c| c.label.clone(),
        selected,
    )
}

fn page_href(lang: Lang, query: &str, offset: usize) -> String {
    let mut href = format!("{}/search?{query}", lang.prefix());
    if offset > 0 {
        href.push_str(&format!("&cursor={offset}"));
    }
    href
}

async fn find_page(state: AppState, raw: Option<String>, lang: Lang) -> Result<Response, WebError> {
    let t = Texts::of(lang);
    let find = Find::parse(raw.as_deref(), lang);
    let now = japan_time(Utc::now());
    let mut rows = Vec::new();
    let mut total = 0;
    let mut unavailable = false;
    let asked = find.asked();
    let query = find.query(now);
    if asked && !find.place_unknown() {
        match state.search() {
            Some(index) => match index.search(&query) {
                Ok((hits, n)) => {
                    total = n;
                    rows = hits
                        .iter()
                        .map(|h| row(h, find.department.as_deref(), now, lang))
                        .collect();
                }
                Err(e) => {
                    tracing::warn!(error = %e, code = e.code(), "search failed");
                    unavailable = true;
                }
            },
            None => unavailable = true,
        }
    }
    let query_string = find.query_string();
    let where_label = if find.bounds.is_some() {
        t.in_view.to_owned()
    } else if find.here.is_some() {
        t.near_here.to_owned()
    } else if find.place_point.is_some() {
        match lang {
            Lang::Ja => format!("「{}」{}", find.place, t.near_place),
            Lang::En => format!("{} \"{}\"", t.near_place, find.place),
        }
    } else {
        String::new()
    };
    let previous_href = (find.offset > 0).then(|| {
        page_href(
            lang,
            &query_string,
            find.offset.saturating_sub(params::PAGE),
        )
    });
    let next_href = (find.offset + rows.len() < total && !rows.is_empty())
        .then(|| page_href(lang, &query_string, find.offset + params::PAGE));
    let other = match lang {
        Lang::Ja => Lang::En,
        Lang::En => Lang::Ja,
    };
    let selected_radius = find.radius_km.unwrap_or(DEFAULT_RADIUS_KM).to_string();
    let page = FindPage {
        chrome: Chrome::new(),
        script_href: crate::assets::find_script_href(),
        map: MapView::of(&state, None),
        t,
        lang: lang.code(),
        title: t.search_title.to_owned(),
        other_lang_href: format!("{}/search?{query_string}", other.prefix()),
        prefectures: choices(
            PrefectureCode::all(),
            |p| p.to_string(),
            |p| match lang {
                Lang::Ja => p.name().to_owned(),
                Lang::En => format!("{} {}", p, p.name()),
            },
            find.prefecture.map(|p| p.to_string()).as_deref(),
        ),
        kinds: choices(
            FacilityKind::ALL,
            |k| k.code().to_string(),
            |k| lang.kind(*k).to_owned(),
            find.kind.map(|k| k.code().to_string()).as_deref(),
        ),
        departments: department_choices(find.department.as_deref()),
        languages: language_choices(&state, find.language.as_deref()),
        radii: choices(
            RADII_KM,
            |r| r.to_string(),
            |r| format!("{r} km"),
            Some(selected_radius.as_str()),
        ),
        features: Feature::ALL
            .into_iter()
            .map(|f| FeatureBox {
                id: f.id(),
                label: match lang {
                    Lang::Ja => f.label(),
                    Lang::En => f.label_en(),
                },
                checked: find.features.contains(&f),
            })
            .collect(),
        groups: Group::ALL
            .into_iter()
            .map(|g| GroupLink {
                href: format!("{}/search?group={}", lang.prefix(), g.id()),
                label: g.label(lang),
                current: find.group == Some(g),
            })
            .collect(),
        group_note: find.group.map(|g| g.explanation(lang)),
        asked,
        first_number: find.offset + 1,
        sort_distance: query.sort == Sort::Distance,
        find,
        rows,
        total,
        where_label,
        previous_href,
        next_href,
        unavailable,
    };
    let status = if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    Ok(allow_map_tiles(
        (status, render(&page)?).into_response(),
        &state,
    ))
}

/// `GET /search`
pub(crate) async fn page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    find_page(state, raw, Lang::Ja).await
}

/// `GET /en/search`
pub(crate) async fn page_en(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    find_page(state, raw, Lang::En).await
}

/// One result of the JSON API but its distance, borrowed from its listing.
#[derive(Serialize)]
struct ApiHit<'a> {
    id: i64,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name_en: Option<&'a str>,
    kind: &'static str,
    address: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    open_now: ApiOpen,
    today: DayHours,
    url: FacilityPath,
}

/// `/facilities/{id}`, written as it is serialised.
struct FacilityPath(i64);

impl Serialize for FacilityPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("/facilities/{}", self.0))
    }
}

#[derive(Serialize)]
struct ApiOpen {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_open: Option<NaiveDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    closure_reason: Option<String>,
    label: String,
}

/// A result's JSON without its distance and closing brace: `{"id":…,…,"url":"…"`.
fn api_line(l: &Listing, open: &OpenNow, now: NaiveDateTime) -> String {
    let Status {
        code,
        mut label,
        detail,
    } = status(open, now, Lang::Ja);
    if !detail.is_empty() {
        label.push(' ');
        label.push_str(&detail);
    }
    let hit = ApiHit {
        id: l.facility_id.0,
        name: &l.name,
        name_en: l.name_en.as_deref(),
        kind: l.kind.id(),
        address: &l.address,
        lat: l.point.map(|p| p.lat),
        lon: l.point.map(|p| p.lon),
        open_now: ApiOpen {
            status: code,
            until: open.until,
            next_open: open.next_open,
            closure_reason: open.closure.as_ref().map(|c| c.reason.clone()),
            label,
        },
        today: l.day(now.date()),
        url: FacilityPath(l.facility_id.0),
    };
    // Plain data: serialising it cannot fail; were it to, the result keeps only its id rather
    // than break the page's JSON.
    let mut line = serde_json::to_string(&hit).unwrap_or_else(|e| {
        tracing::error!(error = %e, id = l.facility_id.0, "検索結果の行を JSON にできません");
        format!("{{\"id\":{}}}", l.facility_id.0)
    });
    line.pop();
    line
}

/// Writes one page of `/api/search`:
/// `{"total":…,"next_cursor":…,"at":…,"problems":[…],"results":[…]}`. Each result is its
/// listing's line ([`Listing::line`], shared until its open-now answer — for the 診療科目
/// asked, when it keeps hours of its own — changes) and its distance.
fn api_page(
    hits: &[Hit],
    total: usize,
    next_cursor: Option<usize>,
    find: &Find,
    now: NaiveDateTime,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut body = Vec::with_capacity(256 + API_HIT_BYTES * hits.len());
    body.extend_from_slice(b"{\"total\":");
    serde_json::to_writer(&mut body, &total)?;
    if let Some(next) = next_cursor {
        body.extend_from_slice(b",\"next_cursor\":");
        serde_json::to_writer(&mut body, &next.to_string())?;
    }
    body.extend_from_slice(b",\"at\":");
    serde_json::to_writer(&mut body, &now)?;
    body.extend_from_slice(b",\"problems\":");
    serde_json::to_writer(&mut body, &find.problems)?;
    body.extend_from_slice(b",\"results\":[");
    let department = find.department.as_deref();
    for (i, hit) in hits.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        let l: &Listing = &hit.listing;
        let line = l.line(department, now, |open| api_line(l, open, now));
        body.extend_from_slice(line.as_bytes());
        if let Some(m) = hit.distance_m {
            body.extend_from_slice(b",\"distance_m\":");
            serde_json::to_writer(&mut body, &m.round())?;
        }
        body.push(b'}');
    }
    body.extend_from_slice(b"]}");
    Ok(body)
}

/// Room for a page's JSON: written once into a buffer of about its size.
const API_HIT_BYTES: usize = 400;

/// `GET /api/search`: the same parameters as the page, JSON out.
pub(crate) async fn api(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let find = Find::parse(raw.as_deref(), Lang::Ja);
    let now = japan_time(Utc::now());
    let index = state.search().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "search.unavailable",
            Texts::of(Lang::Ja).unavailable,
        )
    })?;
    if find.place_unknown() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "search.place",
            find.problems.join(" "),
        ));
    }
    let (hits, total) = index.search(&find.query(now)).map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            e.code(),
            Texts::of(Lang::Ja).unavailable,
        )
    })?;
    let next = find.offset + hits.len();
    let next_cursor = (next < total && !hits.is_empty()).then_some(next);
    let body = api_page(&hits, total, next_cursor, &find, now).map_err(|e| {
        tracing::error!(error = %e, "検索結果を JSON にできません");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "search.encode",
            Texts::of(Lang::Ja).unavailable,
        )
    })?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_read_naturally() {
        assert_eq!(distance_text(84.0), "80 m");
        assert_eq!(distance_text(995.0), "1000 m");
        assert_eq!(distance_text(1_540.0), "1.5 km");
        assert_eq!(distance_text(12_600.0), "13 km");
    }
}
