//! Town points: the representative point of every 大字・町丁目 in MLIT's 位置参照情報
//! (about 191,000), from `data/towns.tsv.gz`. Used to geocode an address to its 町丁目 when a
//! facility reports no coordinates (DOMAIN.md §10: 16,243 published facilities sit at 0,0).
//!
//! Credit required wherever these points are shown: 「出典：国土交通省「位置参照情報」を加工して作成」
//! ([`CREDIT`]).

use crate::municipalities::{self, Municipality};
use crate::table::{data_file, fields, gunzip, number, rows};
use crate::text::{KeyArena, TownFit, key, strip_aza, town_fit};
use std::sync::LazyLock;
use teikyo_domain::{CoordinateSource, Coordinates, MunicipalityCode};

/// The attribution MLIT's terms require wherever data derived from 位置参照情報 is shown.
pub const CREDIT: &str = "出典：国土交通省「位置参照情報」を加工して作成";

const FILE: &str = "towns.tsv.gz";

/// One 大字・町丁目 point. Coordinates are kept as `f32` (about 1 m at Japan's longitudes, finer
/// than a representative point means) to halve the table.
#[derive(Debug, Clone)]
pub struct TownPoint {
    pub municipality: MunicipalityCode,
    /// As MLIT writes it: 「広坂一丁目」, 「大字山田」.
    pub name: &'static str,
    lat: f32,
    lon: f32,
}

impl TownPoint {
    /// The point, recorded as [`CoordinateSource::Town`].
    pub fn coordinates(&self) -> Coordinates {
        // Round back to the file's 5 decimals so that 36.56075 does not come out as 36.560749.
        let round = |x: f32| (f64::from(x) * 1e5).round() / 1e5;
        Coordinates {
            lat: round(self.lat),
            lon: round(self.lon),
            source: CoordinateSource::Town,
        }
    }
}

/// Sorted by municipality, then by MLIT's 大字・町丁目 code.
static TOWNS: LazyLock<Vec<TownPoint>> = LazyLock::new(load);

/// [`key`]s of the names, aligned with `TOWNS`; built on the first geocode.
static KEYS: LazyLock<KeyArena> = LazyLock::new(|| KeyArena::build(TOWNS.iter().map(|t| t.name)));

fn load() -> Vec<TownPoint> {
    let text = gunzip(FILE, data_file!("towns.tsv.gz"));
    let mut out = Vec::with_capacity(200_000);
    let mut last: Option<&'static Municipality> = None;
    for (n, line) in rows(text) {
        let [lg, name, lat, lon] = fields(FILE, n, line, '\t');
        let lg: u32 = number(FILE, n, lg);
        // Rows come grouped by municipality: look each one up once.
        let m = match last {
            Some(m) if m.code.as_u32() == lg => m,
            _ => municipalities::get_by_number(lg).unwrap_or_else(|| {
                panic!("data/{FILE}:{n}: municipality {lg} is not in municipalities.tsv")
            }),
        };
        last = Some(m);
        out.push(TownPoint {
            municipality: m.code,
            name,
            lat: number(FILE, n, lat),
            lon: number(FILE, n, lon),
        });
    }
    // Already in this order; a stable sort of sorted input is linear and guards the invariant.
    out.sort_by_key(|t| t.municipality);
    out
}

/// Every point, by municipality.
pub fn all() -> &'static [TownPoint] {
    &TOWNS
}

/// The points of one municipality. Empty for a designated city or a prefecture: their points
/// belong to the wards and municipalities.
pub fn in_municipality(code: MunicipalityCode) -> &'static [TownPoint] {
    let towns = &*TOWNS;
    towns.get(range_of(code)).unwrap_or_default()
}

fn range_of(code: MunicipalityCode) -> std::ops::Range<usize> {
    let towns = &*TOWNS;
    towns.partition_point(|t| t.municipality < code)
        ..towns.partition_point(|t| t.municipality <= code)
}

/// The town whose name best matches the start of `rest` (the address after the municipality
/// name): the longest match, a whole 「N丁目」 preferred over its base name. 大字/字 prefixes,
/// 丁目 numerals (一/1/１) and ケ/ヶ/が are not told apart. When no name starts `rest`, the
/// longest name found inside it is taken (Kyoto writes streets first: 「寺町通御池上る上本能寺前町」).
pub fn best_match(municipality: MunicipalityCode, rest: &str) -> Option<&'static TownPoint> {
    let rest_key = key(rest);
    let rest_key = strip_aza(&rest_key);
    if rest_key.is_empty() {
        return None;
    }
    let keys = &*KEYS;
    let mut best: Option<(TownFit, &'static TownPoint)> = None;
    let mut inside: Option<(usize, &'static TownPoint)> = None;
    for i in range_of(municipality) {
        let Some(t) = TOWNS.get(i) else { continue };
        let k = strip_aza(keys.get(i));
        if let Some(fit) = town_fit(rest_key, k) {
            // Strictly better only: among equals the first (lowest 町丁目 code, e.g. 一丁目) stays.
            if best.is_none_or(|(b, _)| fit > b) {
                best = Some((fit, t));
            }
        } else if best.is_none()
            && k.chars().count() >= 2
            && rest_key.contains(k)
            && inside.is_none_or(|(len, _)| k.len() > len)
        {
            inside = Some((k.len(), t));
        }
    }
    best.map(|(_, t)| t).or(inside.map(|(_, t)| t))
}

pub(crate) fn force() {
    LazyLock::force(&TOWNS);
    LazyLock::force(&KEYS);
}
