//! The municipality master: 47 prefectures, 1,698 municipalities, 20 政令指定都市 with their 171
//! wards and Tokyo's 23 special wards (counts of the current data), from `data/municipalities.tsv`.
//!
//! Built by the converter from the municipalities that have postal codes (KEN_ALL), with the
//! designated cities added and a representative point from the MLIT town points. This is the
//! "current master" against which DOMAIN.md §9.3 says codes must be validated besides their
//! check digit.

use crate::table::{data_text, fields, number, rows};
use crate::text::{name_key, prefix_len};
use serde::Serialize;
use std::sync::LazyLock;
use teikyo_domain::{CoordinateSource, Coordinates, MunicipalityCode, PrefectureCode};

const FILE: &str = "municipalities.tsv";

/// What a row of the master is. Serialised as the ids used in `municipalities.tsv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MunicipalityKind {
    /// 都道府県 itself (`xx000c`).
    Prefecture,
    /// 市・町・村 other than a designated city.
    Municipality,
    /// 政令指定都市: has a code but every address and postal code is in one of its wards.
    DesignatedCity,
    /// 行政区 of a designated city (横浜市港北区).
    Ward,
    /// 東京23区 (特別区), which are municipalities in their own right.
    SpecialWard,
}

impl MunicipalityKind {
    pub fn id(self) -> &'static str {
        match self {
            Self::Prefecture => "prefecture",
            Self::Municipality => "municipality",
            Self::DesignatedCity => "designated_city",
            Self::Ward => "ward",
            Self::SpecialWard => "special_ward",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "prefecture" => Self::Prefecture,
            "municipality" => Self::Municipality,
            "designated_city" => Self::DesignatedCity,
            "ward" => Self::Ward,
            "special_ward" => Self::SpecialWard,
            _ => return None,
        })
    }
}

/// One row of the master.
#[derive(Debug, Clone, Serialize)]
pub struct Municipality {
    pub code: MunicipalityCode,
    pub kind: MunicipalityKind,
    /// The name as Japan Post writes it after the prefecture: 「金沢市」, 「河北郡津幡町」 (with its
    /// 郡), 「横浜市港北区」 (a ward with its city), 「千代田区」. For a prefecture row, the
    /// prefecture's name.
    pub name: &'static str,
    /// Reading of `name` in katakana (KEN_ALL spelling, e.g. 「カナザワシ」).
    pub kana: &'static str,
    /// For a ward, its designated city.
    pub parent: Option<MunicipalityCode>,
    /// Other spellings found at the start of addresses: without the 郡 (「津幡町」), the MLIT
    /// spelling where it differs (「須恵町」 for KEN_ALL's 「須惠町」). `|`-separated.
    #[serde(skip)]
    aliases: &'static str,
    /// The MLIT town point nearest to the mean of the municipality's town points: inside the
    /// municipality and on land, unlike the plain mean.
    #[serde(skip)]
    centroid: Option<(f64, f64)>,
}

impl Municipality {
    pub fn prefecture(&self) -> PrefectureCode {
        self.code.prefecture()
    }

    /// 「石川県」
    pub fn prefecture_name(&self) -> &'static str {
        self.code.prefecture().name()
    }

    /// 「石川県金沢市」; just 「石川県」 for a prefecture row.
    pub fn full_name(&self) -> String {
        match self.kind {
            MunicipalityKind::Prefecture => self.name.to_owned(),
            _ => format!("{}{}", self.prefecture_name(), self.name),
        }
    }

    /// Other spellings of the name at the start of an address (see the field).
    pub fn aliases(&self) -> impl Iterator<Item = &'static str> + use<> {
        self.aliases.split('|').filter(|a| !a.is_empty())
    }

    /// The representative point, recorded as [`CoordinateSource::Municipality`].
    pub fn centroid(&self) -> Option<Coordinates> {
        self.centroid.map(|(lat, lon)| Coordinates {
            lat,
            lon,
            source: CoordinateSource::Municipality,
        })
    }

    pub fn is_prefecture(&self) -> bool {
        self.kind == MunicipalityKind::Prefecture
    }
}

struct Master {
    /// Sorted by code, hence grouped by prefecture with the prefecture row first.
    rows: Vec<Municipality>,
    /// Per prefecture (index = number − 1): every name and alias in [`name_key`] form with its
    /// row, longest first, so the first prefix hit is the longest match.
    names: Vec<Vec<(String, usize)>>,
}

static MASTER: LazyLock<Master> = LazyLock::new(load);

fn load() -> Master {
    let text: &'static str = data_text!("municipalities.tsv");
    let mut rows_out = Vec::with_capacity(2_000);
    for (n, line) in rows(text) {
        let [code, kind, parent, _pref, name, kana, aliases, lat, lon] =
            fields(FILE, n, line, '\t');
        let code = parse_code(n, code);
        let kind = MunicipalityKind::parse(kind)
            .unwrap_or_else(|| panic!("data/{FILE}:{n}: unknown kind {kind:?}"));
        let parent = (!parent.is_empty()).then(|| parse_code(n, parent));
        let centroid = (!lat.is_empty()).then(|| (number(FILE, n, lat), number(FILE, n, lon)));
        rows_out.push(Municipality {
            code,
            kind,
            name,
            kana,
            parent,
            aliases,
            centroid,
        });
    }
    rows_out.sort_by_key(|m| m.code);
    let mut names: Vec<Vec<(String, usize)>> = vec![Vec::new(); 47];
    for (i, m) in rows_out.iter().enumerate() {
        if m.is_prefecture() {
            continue;
        }
        let list = &mut names[usize::from(m.prefecture().number() - 1)];
        list.push((name_key(m.name), i));
        list.extend(m.aliases().map(|a| (name_key(a), i)));
    }
    for list in &mut names {
        list.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
    }
    Master {
        rows: rows_out,
        names,
    }
}

fn parse_code(n: usize, s: &str) -> MunicipalityCode {
    MunicipalityCode::parse(s)
        .unwrap_or_else(|e| panic!("data/{FILE}:{n}: bad municipality code {s:?}: {e}"))
}

/// Every row, sorted by code.
pub fn all() -> &'static [Municipality] {
    &MASTER.rows
}

/// The row of a code, or `None` when the code is not in the current master (abolished by a
/// merger, or never existed despite a valid check digit).
pub fn get(code: MunicipalityCode) -> Option<&'static Municipality> {
    let rows = &MASTER.rows;
    rows.binary_search_by_key(&code, |m| m.code)
        .ok()
        .and_then(|i| rows.get(i))
}

/// Looks a row up by the number of its 6-digit code (`172014`), for tables that store codes as
/// numbers and would otherwise re-parse text.
pub(crate) fn get_by_number(n: u32) -> Option<&'static Municipality> {
    let rows = &MASTER.rows;
    rows.binary_search_by_key(&n, |m| m.code.as_u32())
        .ok()
        .and_then(|i| rows.get(i))
}

/// The prefecture's own row (`xx000c`).
pub fn prefecture(pref: PrefectureCode) -> Option<&'static Municipality> {
    in_prefecture_with_self(pref)
        .first()
        .filter(|m| m.is_prefecture())
}

/// The municipalities, designated cities and wards of a prefecture, by code; without the
/// prefecture's own row.
pub fn in_prefecture(pref: PrefectureCode) -> &'static [Municipality] {
    let all = in_prefecture_with_self(pref);
    match all.first() {
        Some(m) if m.is_prefecture() => all.get(1..).unwrap_or_default(),
        _ => all,
    }
}

fn in_prefecture_with_self(pref: PrefectureCode) -> &'static [Municipality] {
    let rows = &MASTER.rows;
    let start = rows.partition_point(|m| m.prefecture() < pref);
    let end = rows.partition_point(|m| m.prefecture() <= pref);
    rows.get(start..end).unwrap_or_default()
}

/// The wards of a designated city.
pub fn wards_of(city: MunicipalityCode) -> impl Iterator<Item = &'static Municipality> {
    in_prefecture(city.prefecture())
        .iter()
        .filter(move |m| m.parent == Some(city))
}

/// The municipality whose name starts `text`, within a prefecture: the longest match among names
/// and aliases, so 「横浜市港北区日吉」 gives the ward 横浜市港北区, not the city 横浜市, and
/// 「河北郡津幡町」 and 「津幡町」 both give 津幡町. Returns the row and the number of bytes of
/// `text` it spans.
///
/// `text` should be NFKC-normalised (`teikyo_domain::text::fold_text`); spaces inside it are
/// skipped and ヶ/ケ/が are not told apart.
pub fn match_prefix(pref: PrefectureCode, text: &str) -> Option<(&'static Municipality, usize)> {
    let master = &*MASTER;
    let list = master
        .names
        .get(usize::from(pref.number()).checked_sub(1)?)?;
    list.iter().find_map(|(key, i)| {
        let len = prefix_len(text, key)?;
        Some((master.rows.get(*i)?, len))
    })
}

pub(crate) fn force() {
    LazyLock::force(&MASTER);
}
