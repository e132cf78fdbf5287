//! The search form's parameters, read the same way by the pages and the JSON API. Everything is
//! a GET parameter, so a search is a link residents can bookmark and share, and works without
//! JavaScript.
//!
//! `q` 言葉, `pref` 都道府県 (01–47), `city` 市区町村 (6 digits), `kind` 種別 (1–5), `dept`
//! 診療科目, `treatment` 疾患・治療, `lang` 外国語, `feature` (repeated), `open=1` 現在診療中,
//! `place` 場所 (an address typed in), `lat`+`lon` 現在地, `radius` km, `bbox`
//! south,west,north,east (the map's view), `sort` relevance|distance, `group` 利用者別の入口,
//! `cursor` where the page starts.

use teikyo_domain::feature::Feature;
use teikyo_domain::{FacilityKind, MunicipalityCode, PrefectureCode};
use teikyo_search::{Area, Bounds, Point, SearchQuery, Sort};

use super::texts::{Lang, Texts};

/// Results per page.
pub(crate) const PAGE: usize = 20;
/// Radii offered (km); a typed place or 現在地 without one searches within the default.
pub(crate) const RADII_KM: [f64; 6] = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0];
pub(crate) const DEFAULT_RADIUS_KM: f64 = 2.0;

/// 利用者別の入口: preset filters for a group of residents (issue 7 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    /// 高齢者の方: 在宅医療に対応.
    Elderly,
    /// 小児（子ども）: 小児科.
    Children,
    /// 障害児・者、難病患者の方: バリアフリー.
    Disability,
}

/// 小児科 in the 診療科目 list.
pub(crate) const PEDIATRICS: &str = "03001";

impl Group {
    pub(crate) const ALL: [Group; 3] = [Self::Elderly, Self::Children, Self::Disability];

    pub(crate) fn id(self) -> &'static str {
        match self {
            Self::Elderly => "elderly",
            Self::Children => "children",
            Self::Disability => "disability",
        }
    }

    pub(crate) fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.id() == id)
    }

    pub(crate) fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Elderly, Lang::Ja) => "高齢者の方",
            (Self::Children, Lang::Ja) => "お子さま（小児）",
            (Self::Disability, Lang::Ja) => "障害児・者、難病患者の方",
            (Self::Elderly, Lang::En) => "Older people",
            (Self::Children, Lang::En) => "Children",
            (Self::Disability, Lang::En) => "People with disabilities or intractable diseases",
        }
    }

    /// What the preset applies, said on the page so that nothing is filtered silently.
    pub(crate) fn explanation(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Elderly, Lang::Ja) => {
                "在宅医療（往診・訪問診療など）に対応している施設を表示しています。"
            }
            (Self::Children, Lang::Ja) => "小児科のある施設を表示しています。",
            (Self::Disability, Lang::Ja) => {
                "障害者・車椅子利用者へのサービス（バリアフリー）がある施設を表示しています。"
            }
            (Self::Elderly, Lang::En) => {
                "Showing facilities that offer home care (house calls, home visits)."
            }
            (Self::Children, Lang::En) => "Showing facilities with a pediatrics department.",
            (Self::Disability, Lang::En) => {
                "Showing facilities with services for people with disabilities and wheelchair users."
            }
        }
    }

    fn apply(self, q: &mut Find) {
        match self {
            Self::Elderly => push_feature(&mut q.features, Feature::HomeCare),
            Self::Children => {
                q.department.get_or_insert_with(|| PEDIATRICS.to_owned());
            }
            Self::Disability => push_feature(&mut q.features, Feature::BarrierFree),
        }
    }
}

fn push_feature(features: &mut Vec<Feature>, f: Feature) {
    if !features.contains(&f) {
        features.push(f);
    }
}

/// A search as the form states it, checked. `problems` are shown above the results; a
/// parameter that cannot be read is left out of the search rather than failing it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Find {
    pub(crate) keyword: String,
    pub(crate) prefecture: Option<PrefectureCode>,
    pub(crate) municipality: Option<MunicipalityCode>,
    pub(crate) kind: Option<FacilityKind>,
    pub(crate) department: Option<String>,
    pub(crate) treatment: Option<String>,
    pub(crate) language: Option<String>,
    pub(crate) features: Vec<Feature>,
    pub(crate) open_now: bool,
    pub(crate) place: String,
    pub(crate) here: Option<Point>,
    pub(crate) radius_km: Option<f64>,
    pub(crate) bounds: Option<Bounds>,
    pub(crate) sort: Option<Sort>,
    pub(crate) group: Option<Group>,
    pub(crate) offset: usize,
    pub(crate) problems: Vec<String>,
    /// Where the typed place was found (its point), for the page to say so.
    pub(crate) place_point: Option<Point>,
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

impl Find {
    /// Reads the query string. Any parameter given means the resident searched.
    pub(crate) fn parse(raw: Option<&str>, lang: Lang) -> Self {
        let t = Texts::of(lang);
        let mut f = Find::default();
        let (mut lat, mut lon) = (None, None);
        for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match k.as_ref() {
                "q" => f.keyword = v.chars().take(200).collect(),
                "pref" => match PrefectureCode::parse(v) {
                    Ok(p) => f.prefecture = Some(p),
                    Err(_) => f.problems.push(t.bad_prefecture.to_owned()),
                },
                "city" => match MunicipalityCode::parse(v) {
                    Ok(m) => f.municipality = Some(m),
                    Err(_) => f.problems.push(t.bad_city.to_owned()),
                },
                "kind" => match FacilityKind::parse(v) {
                    Ok(k) => f.kind = Some(k),
                    Err(_) => f.problems.push(t.bad_kind.to_owned()),
                },
                "dept" => f.department = Some(code(v)),
                "treatment" => f.treatment = Some(code(v)),
                "lang" => f.language = Some(code(v)),
                "feature" => match Feature::parse(v) {
                    Some(feature) => push_feature(&mut f.features, feature),
                    None => f.problems.push(t.bad_feature.to_owned()),
                },
                "open" => f.open_now = v == "1",
                "place" => f.place = v.chars().take(100).collect(),
                "lat" => lat = number(v),
                "lon" => lon = number(v),
                "radius" => match number(v).filter(|r| *r > 0.0) {
                    Some(r) => {
                        f.radius_km = Some(r.min(teikyo_search::geo::MAX_RADIUS_M / 1000.0));
                    }
                    None => f.problems.push(t.bad_radius.to_owned()),
                },
                "bbox" => {
                    let n: Vec<f64> = v.split(',').filter_map(number).collect();
                    match n.as_slice() {
                        [s, w, no, e] if s <= no && w <= e => {
                            f.bounds = Some(Bounds {
                                south: *s,
                                west: *w,
                                north: *no,
                                east: *e,
                            });
                        }
                        _ => f.problems.push(t.bad_bbox.to_owned()),
                    }
                }
                "sort" => {
                    f.sort = match v {
                        "distance" => Some(Sort::Distance),
                        "relevance" => Some(Sort::Relevance),
                        _ => None,
                    }
                }
                "group" => {
                    f.group = Group::parse(v);
                }
                "cursor" => f.offset = v.parse().unwrap_or(0),
                _ => {}
            }
        }
        if let (Some(lat), Some(lon)) = (lat, lon) {
            match Point::in_japan(lat, lon) {
                Some(p) => f.here = Some(p),
                None => f.problems.push(t.outside_japan.to_owned()),
            }
        }
        if f.here.is_none() && !f.place.is_empty() {
            f.place_point = place_point(&f.place, f.prefecture);
            if f.place_point.is_none() {
                f.problems
                    .push(t.place_not_found.replace("{place}", &f.place));
            }
        }
        if let Some(g) = f.group {
            g.apply(&mut f);
        }
        f
    }

    /// Whether anything was asked (otherwise the page shows only the form).
    pub(crate) fn asked(&self) -> bool {
        !self.keyword.is_empty()
            || self.prefecture.is_some()
            || self.municipality.is_some()
            || self.kind.is_some()
            || self.department.is_some()
            || self.treatment.is_some()
            || self.language.is_some()
            || !self.features.is_empty()
            || self.open_now
            || self.origin().is_some()
            || !self.place.is_empty()
            || self.bounds.is_some()
    }

    /// A place was typed but not found: searching all of Japan instead would mislead.
    pub(crate) fn place_unknown(&self) -> bool {
        !self.place.is_empty() && self.origin().is_none() && self.bounds.is_none()
    }

    /// 現在地, else the typed place.
    pub(crate) fn origin(&self) -> Option<Point> {
        self.here.or(self.place_point)
    }

    pub(crate) fn area(&self) -> Option<Area> {
        if let Some(b) = self.bounds {
            return Some(Area::Bounds(b));
        }
        self.origin().map(|center| Area::Radius {
            center,
            meters: self.radius_km.unwrap_or(DEFAULT_RADIUS_KM) * 1000.0,
        })
    }

    pub(crate) fn query(&self, now: chrono::NaiveDateTime) -> SearchQuery {
        SearchQuery {
            keyword: self.keyword.clone(),
            prefecture: self.prefecture,
            municipality: self.municipality.map(|m| m.to_string()),
            kind: self.kind,
            department: self.department.clone(),
            treatment: self.treatment.clone(),
            language: self.language.clone(),
            features: self.features.clone(),
            open_at: self.open_now.then_some(now),
            area: self.area(),
            from: self.origin(),
            // A place given: nearest first, unless relevance was asked for.
            sort: self.sort.unwrap_or(if self.origin().is_some() {
                Sort::Distance
            } else {
                Sort::Relevance
            }),
            limit: PAGE,
            offset: self.offset,
        }
    }

    /// The query string of this search (without the cursor), for links to other pages of it.
    pub(crate) fn query_string(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        let mut add = |k: &str, v: &str| {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        };
        add("q", &self.keyword);
        add(
            "pref",
            &self.prefecture.map(|p| p.to_string()).unwrap_or_default(),
        );
        add(
            "city",
            &self.municipality.map(|m| m.to_string()).unwrap_or_default(),
        );
        add(
            "kind",
            &self.kind.map(|k| k.code().to_string()).unwrap_or_default(),
        );
        if let Some(g) = self.group {
            add("group", g.id());
        }
        let dept_from_group =
            self.group == Some(Group::Children) && self.department.as_deref() == Some(PEDIATRICS);
        if !dept_from_group {
            add("dept", self.department.as_deref().unwrap_or_default());
        }
        add("treatment", self.treatment.as_deref().unwrap_or_default());
        add("lang", self.language.as_deref().unwrap_or_default());
        for f in &self.features {
            add("feature", f.id());
        }
        if self.open_now {
            add("open", "1");
        }
        add("place", &self.place);
        if let Some(p) = self.here {
            add("lat", &format!("{:.5}", p.lat));
            add("lon", &format!("{:.5}", p.lon));
        }
        if let Some(r) = self.radius_km {
            add("radius", &r.to_string());
        }
        if let Some(b) = self.bounds {
            add(
                "bbox",
                &format!("{:.5},{:.5},{:.5},{:.5}", b.south, b.west, b.north, b.east),
            );
        }
        match self.sort {
            Some(Sort::Distance) => add("sort", "distance"),
            Some(Sort::Relevance) => add("sort", "relevance"),
            None => {}
        }
        s.finish()
    }
}

/// Codes are short ASCII; anything else cannot match and is cut to keep the index query small.
fn code(v: &str) -> String {
    v.chars().take(20).collect()
}

/// Where a typed place is: an address with or without its prefecture (「金沢市広坂」 is found in
/// 石川県; one that names a municipality in several prefectures needs the prefecture).
pub(crate) fn place_point(place: &str, prefecture: Option<PrefectureCode>) -> Option<Point> {
    let point = |c: teikyo_domain::Coordinates| Point::in_japan(c.lat, c.lon);
    if let Some(c) = teikyo_refdata::address::geocode_address(place) {
        return point(c);
    }
    if let Some(p) = prefecture {
        return teikyo_refdata::address::geocode_address(&format!("{}{place}", p.name()))
            .and_then(point);
    }
    let mut found = PrefectureCode::all()
        .filter_map(|p| teikyo_refdata::address::geocode_address(&format!("{}{place}", p.name())));
    match (found.next(), found.next()) {
        (Some(c), None) => point(c),
        _ => None,
    }
}
