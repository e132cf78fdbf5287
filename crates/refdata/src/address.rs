//! Address services over the postal, municipality and town tables: parse an address, check it
//! against its postal code, suggest addresses for a postal code, geocode.
//!
//! # How [`check`] decides
//!
//! G-MIS rejects an address that does not fit its postal code with 「郵便番号と所在地が不整合です。」
//! without saying why (DOMAIN.md §3.13, §4.7); the usual cause is a 所在地 typed without its
//! prefecture. Teikyo keeps that message (the [`AddressMismatch`] `Display`) and adds which part
//! disagrees and what to fix. The comparison is by **codes, not names**: the address text is
//! parsed into a prefecture and a municipality of the master, and that municipality code must be
//! one the postal code maps to. Spelling variants (霞ヶ関/霞が関, 郡 omitted, 袖ヶ浦/袖ケ浦,
//! 全角/半角, spaces) therefore never cause a mismatch.
//!
//! Errors (the address is rejected):
//! - unknown postal code ([`AddressPart::PostalCode`]);
//! - no prefecture at the start of the address, or a different prefecture ([`AddressPart::Prefecture`]);
//! - no municipality of that prefecture after it, a different one, or a designated city without
//!   its ward when the postal code is in one of its wards ([`AddressPart::Municipality`]);
//! - the address names, right after the municipality, a 町域 that Japan Post lists in that
//!   municipality under another postal code, and none of the postal code's own 町域 fits better
//!   ([`AddressPart::Town`]).
//!
//! Accepted, with [`TownCheck`] saying how sure the town part is:
//! - the postal code's 町域 starts the rest of the address, or (when nothing else does) appears
//!   inside it: Kyoto addresses put street directions first (「寺町通御池上る上本能寺前町」).
//!   大字/字 prefixes, 丁目 numerals (一/1/１), ケ/ヶ/が and a 丁目 number that Japan Post does not
//!   split on are ignored ([`TownCheck::Matched`]);
//! - the postal code is a 「以下に掲載がない場合」 code covering every unlisted 町域, whatever town
//!   follows ([`TownCheck::CoversAnyTown`]). Strictly a listed town should use its own code, but
//!   that is harmless and common, so it is not an error;
//! - no 町域 Japan Post knows is recognised at all (new 住居表示, 小字, typos):
//!   [`TownCheck::Unrecognised`]. The prefecture and municipality were verified; rejecting on
//!   the town alone would block correct addresses that Japan Post spells differently.

use crate::municipalities::{self, Municipality, MunicipalityKind};
use crate::postal::{self, PostalEntry};
use crate::text::{TownFit, key, name_key, prefix_len, strip_aza, town_fit};
use crate::towns;
use serde::Serialize;
use teikyo_domain::text::fold_text;
use teikyo_domain::{Coordinates, MunicipalityCode, PostalCode, PrefectureCode};
use thiserror::Error;

/// The message G-MIS shows for any postal code / address disagreement (seeds, S0 Q9).
pub const MISMATCH_MESSAGE: &str = teikyo_domain::forms::ADDRESS_MISMATCH;

/// The part of an address that disagrees with the postal code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressPart {
    /// The postal code itself is unknown.
    PostalCode,
    Prefecture,
    Municipality,
    Town,
}

impl AddressPart {
    /// 「郵便番号」「都道府県」「市区町村」「町域」
    pub fn label(self) -> &'static str {
        match self {
            Self::PostalCode => "郵便番号",
            Self::Prefecture => "都道府県",
            Self::Municipality => "市区町村",
            Self::Town => "町域",
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Self::PostalCode => "postal_code",
            Self::Prefecture => "prefecture",
            Self::Municipality => "municipality",
            Self::Town => "town",
        }
    }
}

/// Why an address does not fit its postal code. `Display` is always [`MISMATCH_MESSAGE`], the
/// seeds' wording; `detail` says what disagrees and what to do, in polite Japanese.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[error("郵便番号と所在地が不整合です。")]
pub struct AddressMismatch {
    /// Stable machine-readable code, e.g. `address.prefecture_missing`.
    pub code: &'static str,
    pub part: AddressPart,
    /// 「所在地を都道府県名から入力してください。郵便番号 920-0962 は石川県金沢市です。」
    pub detail: String,
}

impl AddressMismatch {
    fn new(code: &'static str, part: AddressPart, detail: String) -> Self {
        Self { code, part, detail }
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// [`MISMATCH_MESSAGE`]
    pub fn message(&self) -> &'static str {
        MISMATCH_MESSAGE
    }
}

/// How far [`check`] could verify the 町域 (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TownCheck {
    /// One of the postal code's 町域 is in the address.
    Matched,
    /// The postal code covers every 町域 of the municipality not listed under a code of its own.
    CoversAnyTown,
    /// No 町域 known to Japan Post was recognised; prefecture and municipality were verified.
    Unrecognised,
}

/// An address that fits its postal code.
#[derive(Debug, Clone)]
pub struct AddressMatch {
    pub prefecture: PrefectureCode,
    /// The municipality parsed from the address, one of the postal code's.
    pub municipality: &'static Municipality,
    /// The postal row the address fits (its 町域 when matched, else the first of the
    /// municipality).
    pub entry: &'static PostalEntry,
    pub town: TownCheck,
    /// The address after the municipality name, NFKC-normalised: 「広坂1丁目1番1号」.
    pub rest: String,
}

/// An address split at its prefecture and municipality.
#[derive(Debug, Clone)]
pub struct ParsedAddress {
    /// NFKC-normalised, hyphens unified, trimmed (`teikyo_domain::text::fold_text`).
    pub normalized: String,
    pub prefecture: Option<PrefectureCode>,
    pub municipality: Option<&'static Municipality>,
    rest_start: usize,
}

impl ParsedAddress {
    /// What follows the last part recognised (the whole text when no prefecture was found).
    pub fn rest(&self) -> &str {
        self.normalized
            .get(self.rest_start..)
            .unwrap_or_default()
            .trim_start()
    }
}

/// Splits an address into prefecture, municipality and rest. Only an address that starts with
/// its prefecture's name gets a municipality: without the prefecture the same city name may
/// exist in several prefectures (府中市, 伊達市), and G-MIS requires the prefecture anyway.
pub fn parse(address: &str) -> ParsedAddress {
    let normalized = fold_text(address);
    let mut parsed = ParsedAddress {
        normalized,
        prefecture: None,
        municipality: None,
        rest_start: 0,
    };
    // Prefecture names hold no character that `name_key` folds, so they serve as keys as is.
    let Some((pref, len)) = PrefectureCode::all()
        .find_map(|p| prefix_len(&parsed.normalized, p.name()).map(|len| (p, len)))
    else {
        return parsed;
    };
    parsed.prefecture = Some(pref);
    parsed.rest_start = len;
    let after = parsed.normalized.get(len..).unwrap_or_default();
    if let Some((m, mlen)) = municipalities::match_prefix(pref, after) {
        parsed.municipality = Some(m);
        parsed.rest_start = len + mlen;
    }
    parsed
}

/// Checks that `address` (a full 所在地 starting with the prefecture) is where `postal` points:
/// same prefecture, same municipality (by code), and no other 町域 named. See the module
/// documentation for what is an error and what is accepted.
pub fn check(postal: PostalCode, address: &str) -> Result<AddressMatch, AddressMismatch> {
    use AddressPart as P;
    let entries = postal::lookup(postal);
    if entries.is_empty() {
        return Err(AddressMismatch::new(
            "address.postal_unknown",
            P::PostalCode,
            format!(
                "郵便番号 {postal} は日本郵便の郵便番号データにありません。郵便番号をご確認ください。"
            ),
        ));
    }
    let places = describe_places(entries);
    let parsed = parse(address);
    let Some(pref) = parsed.prefecture else {
        return Err(AddressMismatch::new(
            "address.prefecture_missing",
            P::Prefecture,
            format!("所在地を都道府県名から入力してください。郵便番号 {postal} は{places}です。"),
        ));
    };
    if !entries.iter().any(|e| e.prefecture() == pref) {
        return Err(AddressMismatch::new(
            "address.prefecture_mismatch",
            P::Prefecture,
            format!(
                "郵便番号 {postal} は{places}です。所在地の都道府県（{}）と一致しません。郵便番号か所在地をご確認ください。",
                pref.name()
            ),
        ));
    }
    let Some(m) = parsed.municipality else {
        return Err(AddressMismatch::new(
            "address.municipality_unknown",
            P::Municipality,
            format!(
                "{}に続く市区町村名を読み取れません。郵便番号 {postal} は{places}です。市区町村名を正しく入力してください。",
                pref.name()
            ),
        ));
    };
    let rows: Vec<&'static PostalEntry> = entries
        .iter()
        .filter(|e| e.municipality.code == m.code)
        .collect();
    let Some(&first) = rows.first() else {
        if m.kind == MunicipalityKind::DesignatedCity
            && entries
                .iter()
                .any(|e| e.municipality.parent == Some(m.code))
        {
            return Err(AddressMismatch::new(
                "address.ward_missing",
                P::Municipality,
                format!(
                    "{}の後に区名を入力してください。郵便番号 {postal} は{places}です。",
                    m.name
                ),
            ));
        }
        return Err(AddressMismatch::new(
            "address.municipality_mismatch",
            P::Municipality,
            format!(
                "郵便番号 {postal} は{places}です。所在地の市区町村（{}）と一致しません。郵便番号か所在地をご確認ください。",
                m.full_name()
            ),
        ));
    };
    let rest = parsed.rest().to_owned();
    let (town, entry) = match check_town(&rows, m.code, &rest) {
        Ok(found) => found,
        Err(other) => {
            let towns = describe_towns(&rows);
            return Err(AddressMismatch::new(
                "address.town_mismatch",
                P::Town,
                format!(
                    "郵便番号 {postal} の町域は{towns}です。所在地の町域（{other}）と一致しません。郵便番号か所在地をご確認ください。"
                ),
            ));
        }
    };
    Ok(AddressMatch {
        prefecture: pref,
        municipality: m,
        entry: entry.unwrap_or(first),
        town,
        rest,
    })
}

/// The town verdict for the rows of the postal code in the address's municipality; `Err` carries
/// the name of the other 町域 the address names.
fn check_town(
    rows: &[&'static PostalEntry],
    municipality: MunicipalityCode,
    rest: &str,
) -> Result<(TownCheck, Option<&'static PostalEntry>), &'static str> {
    let rest_key = key(rest);
    let rest_key = strip_aza(&rest_key);
    let mut covers_any = false;
    let mut own: Option<(TownFit, &'static PostalEntry)> = None;
    let mut own_keys: Vec<&'static str> = Vec::new();
    for &e in rows {
        if e.covers_unlisted_towns() {
            covers_any = true;
            continue;
        }
        // 「井道、奥井道、内井道」: one row for several 町域.
        for k in postal::town_key(e).split('、').map(strip_aza) {
            if let Some(fit) = town_fit(rest_key, k)
                && own.is_none_or(|(b, _)| fit > b)
            {
                own = Some((fit, e));
            }
            own_keys.push(k);
        }
    }
    // The best-fitting 町域 Japan Post lists in the municipality under other codes.
    let mut other: Option<(TownFit, &'static str, &'static str)> = None;
    for (e, keys) in postal::areas_with_keys(municipality) {
        if e.town.is_empty() {
            continue;
        }
        for (name, k) in e.town.split('、').zip(keys.split('、').map(strip_aza)) {
            if own_keys.contains(&k) {
                continue;
            }
            if let Some(fit) = town_fit(rest_key, k)
                && other.is_none_or(|(b, _, _)| fit > b)
            {
                other = Some((fit, name, k));
            }
        }
    }
    match (own, other) {
        // Overruling a 町域 of the postal code needs the other name written out in full:
        // 「保原町1」 fits 保原町 (番地 1) as well as 保原町一丁目 (1-…), and must not fail.
        (Some((o, _)), Some((x, name, k))) if x > o && !covers_any && rest_key.starts_with(k) => {
            Err(name)
        }
        (Some((_, e)), _) => Ok((TownCheck::Matched, Some(e))),
        (None, _) if covers_any => Ok((TownCheck::CoversAnyTown, None)),
        (None, other) => {
            let inside = own_keys
                .iter()
                .filter(|k| k.chars().count() >= 2)
                .any(|k| rest_key.contains(k));
            match other {
                _ if inside => Ok((TownCheck::Matched, None)),
                Some((_, name, _)) => Err(name),
                None => Ok((TownCheck::Unrecognised, None)),
            }
        }
    }
}

/// 「石川県金沢市」, several joined with 「、」.
fn describe_places(entries: &[PostalEntry]) -> String {
    let mut names: Vec<String> = Vec::new();
    for e in entries {
        let n = e.municipality.full_name();
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names.join("、")
}

/// 「広坂」, several joined with 「、」.
fn describe_towns(rows: &[&'static PostalEntry]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for e in rows {
        if !e.town.is_empty() && !names.contains(&e.town) {
            names.push(e.town);
        }
    }
    names.join("、")
}

/// An address suggested for a postal code (auto-fill of the 所在地 fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddressCandidate {
    pub postal_code: PostalCode,
    pub prefecture: PrefectureCode,
    pub prefecture_name: &'static str,
    pub prefecture_kana: &'static str,
    pub municipality: MunicipalityCode,
    /// 「金沢市」, 「横浜市港北区」, 「河北郡津幡町」.
    pub city: &'static str,
    pub city_kana: &'static str,
    /// Empty when the code covers every unlisted 町域 of the municipality: the user types it.
    pub town: &'static str,
    pub town_kana: &'static str,
    /// KEN_ALL's remark (「1〜4丁目」, 「次のビルを除く」, 「霞が関ビル 1階」).
    pub note: &'static str,
    /// For a 事業所個別番号: the office (「金沢市役所」).
    pub office_name: Option<&'static str>,
    pub office_name_kana: Option<&'static str>,
    /// For a 事業所個別番号: the rest of the office's address (「1丁目1-1」).
    pub banchi: Option<&'static str>,
}

/// What 「郵便番号から住所を自動入力」 fills in: the area of a postal code's first candidate,
/// with the 町域 only when every candidate shares it.
#[derive(Debug, Clone)]
pub struct PostalArea {
    pub first: AddressCandidate,
    /// Empty when the candidates differ in 町域 or name none: the user types it.
    pub town: &'static str,
}

/// The area to fill in for `postal`; `None` for a code the postal master does not have.
pub fn postal_area(postal: PostalCode) -> Option<PostalArea> {
    let candidates = candidates(postal);
    let first = candidates.first()?.clone();
    let town = if candidates.iter().all(|c| c.town == first.town) {
        first.town
    } else {
        ""
    };
    Some(PostalArea { first, town })
}

/// The addresses a postal code stands for, in Japan Post's order; empty for an unknown code.
pub fn candidates(postal: PostalCode) -> Vec<AddressCandidate> {
    postal::lookup(postal)
        .iter()
        .map(|e| AddressCandidate {
            postal_code: postal,
            prefecture: e.prefecture(),
            prefecture_name: e.prefecture_name(),
            prefecture_kana: e.prefecture_kana(),
            municipality: e.municipality.code,
            city: e.city(),
            city_kana: e.city_kana(),
            town: e.town,
            town_kana: e.town_kana,
            note: e.note,
            office_name: e.office.as_ref().map(|o| o.name),
            office_name_kana: e.office.as_ref().map(|o| o.name_kana),
            banchi: e.office.as_ref().map(|o| o.banchi),
        })
        .collect()
}

/// Coordinates for an address given as its municipality and the text after the municipality
/// name: the point of the best-matching 町丁目 ([`towns::best_match`], recorded as
/// `CoordinateSource::Town`), else the municipality's representative point
/// (`CoordinateSource::Municipality`). For a designated city the ward is read from the start of
/// `rest` (「港北区日吉…」). `None` only for a code not in the master.
pub fn geocode(municipality: MunicipalityCode, rest: &str) -> Option<Coordinates> {
    let m = municipalities::get(municipality)?;
    let rest = fold_text(rest);
    if m.kind == MunicipalityKind::DesignatedCity {
        for ward in municipalities::wards_of(m.code) {
            let short = ward.name.strip_prefix(m.name).unwrap_or(ward.name);
            if let Some(len) = prefix_len(&rest, &name_key(short)) {
                return geocode(ward.code, rest.get(len..).unwrap_or_default());
            }
        }
    }
    towns::best_match(m.code, &rest)
        .map(towns::TownPoint::coordinates)
        .or_else(|| m.centroid())
}

/// [`geocode`] of a full address (starting with its prefecture); `None` when no municipality can
/// be read from it.
pub fn geocode_address(address: &str) -> Option<Coordinates> {
    let parsed = parse(address);
    geocode(parsed.municipality?.code, parsed.rest())
}
