//! The facility master record (DOMAIN §2.1, DESIGN §5 `facility`): who a facility is and where,
//! independent of any report. Importers, the synthetic generator and (later) 基本情報 reports all
//! build a [`FacilityRecord`] and call [`FacilityRecord::validate`], so every entry path applies
//! the same rules.

use crate::codes::{
    FacilityCode, FacilityKind, FeeSchedule, InsuranceCode, MunicipalityCode, PostalCode,
    PrefectureCode,
};
use crate::text::is_katakana_reading;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// 正式名称／略称／フリガナ／英語表記.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacilityNames {
    pub official: String,
    pub official_kana: String,
    pub short: Option<String>,
    pub short_kana: Option<String>,
    pub english: Option<String>,
}

/// Where a facility's coordinates came from. Reported points are trusted over derived ones;
/// derived ones say how coarse they are (DOMAIN §10: 16,243 facilities published at 0,0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoordinateSource {
    /// Given by the facility or its file.
    Reported,
    /// The 位置参照情報 point of its 町丁目.
    Town,
    /// The centroid of its municipality's town points.
    Municipality,
}

impl CoordinateSource {
    pub fn id(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::Town => "town",
            Self::Municipality => "municipality",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reported" => Some(Self::Reported),
            "town" => Some(Self::Town),
            "municipality" => Some(Self::Municipality),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coordinates {
    pub lat: f64,
    pub lon: f64,
    pub source: CoordinateSource,
}

impl Coordinates {
    /// Japan's bounding box, generously (沖ノ鳥島 … 択捉島, 与那国島 … 南鳥島).
    pub fn is_in_japan(lat: f64, lon: f64) -> bool {
        (20.0..=46.0).contains(&lat) && (122.0..=154.0).contains(&lon)
    }
}

/// 開設／休止／廃止, derived from the dates against a day (DOMAIN §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityStatus {
    NotYetOpen,
    Open,
    Suspended,
    Abolished,
}

impl FacilityStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::NotYetOpen => "開設前",
            Self::Open => "開設中",
            Self::Suspended => "休止",
            Self::Abolished => "廃止",
        }
    }
}

/// One facility of the master, as every entry path builds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FacilityRecord {
    pub kind: FacilityKind,
    pub prefecture: PrefectureCode,
    pub municipality: MunicipalityCode,
    /// 機関コード; `None` for facilities opened after the move to G-MIS (DOMAIN §3.3).
    pub facility_code: Option<FacilityCode>,
    pub insurance_codes: Vec<InsuranceCode>,
    pub names: FacilityNames,
    pub postal_code: Option<PostalCode>,
    /// 所在地 as written, starting with the prefecture name.
    pub address: String,
    pub coordinates: Option<Coordinates>,
    pub homepage: Option<String>,
    pub opened_on: Option<NaiveDate>,
    pub suspended_on: Option<NaiveDate>,
    pub abolished_on: Option<NaiveDate>,
}

/// A rule a [`FacilityRecord`] broke: stable code, the field it concerns, Japanese message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct FacilityError {
    pub code: &'static str,
    pub field: &'static str,
    pub message: String,
}

impl FacilityError {
    fn new(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            field,
            message: message.into(),
        }
    }
}

impl FacilityRecord {
    /// The open data's 13-digit `ID`; `None` without a 機関コード.
    pub fn public_id(&self) -> Option<crate::codes::PublicFacilityId> {
        Some(crate::codes::PublicFacilityId {
            prefecture: self.prefecture,
            kind: self.kind,
            facility_code: self.facility_code.clone()?,
        })
    }

    /// Every rule the record breaks (empty when valid). Rules needing reference data (does the
    /// municipality exist, does the postal code fit the address) live in `teikyo_refdata`.
    pub fn validate(&self) -> Vec<FacilityError> {
        let mut errors = Vec::new();
        let n = &self.names;
        if n.official.trim().is_empty() {
            errors.push(FacilityError::new(
                "facility.name.empty",
                "names.official",
                "正式名称を入力してください。",
            ));
        }
        if n.official_kana.trim().is_empty() {
            errors.push(FacilityError::new(
                "facility.kana.empty",
                "names.official_kana",
                "正式名称（フリガナ）を入力してください。",
            ));
        } else if !is_katakana_reading(&n.official_kana) {
            errors.push(FacilityError::new(
                "facility.kana.not_katakana",
                "names.official_kana",
                format!(
                    "正式名称（フリガナ）はカタカナで入力してください（入力値: {}）。",
                    n.official_kana
                ),
            ));
        }
        if let Some(k) = n.short_kana.as_deref().filter(|k| !is_katakana_reading(k)) {
            errors.push(FacilityError::new(
                "facility.kana.not_katakana",
                "names.short_kana",
                format!("略称（フリガナ）はカタカナで入力してください（入力値: {k}）。"),
            ));
        }
        if self.municipality.prefecture() != self.prefecture || self.municipality.is_prefecture() {
            errors.push(FacilityError::new(
                "facility.municipality.prefecture",
                "municipality",
                format!(
                    "市区町村コード {} は{}の市区町村ではありません。",
                    self.municipality,
                    self.prefecture.name()
                ),
            ));
        }
        if !self.address.starts_with(self.prefecture.name()) {
            errors.push(FacilityError::new(
                "facility.address.prefecture",
                "address",
                format!(
                    "所在地は都道府県名（{}）から入力してください。",
                    self.prefecture.name()
                ),
            ));
        }
        for code in &self.insurance_codes {
            let expected = match self.kind {
                FacilityKind::Pharmacy => &[FeeSchedule::Pharmacy][..],
                FacilityKind::DentalClinic => &[FeeSchedule::Dental][..],
                FacilityKind::Hospital | FacilityKind::Clinic => {
                    &[FeeSchedule::Medical, FeeSchedule::Dental][..]
                }
                FacilityKind::MidwiferyHome => &[FeeSchedule::Medical][..],
            };
            if !expected.contains(&code.fee_schedule()) {
                errors.push(FacilityError::new(
                    "facility.insurance_code.fee_schedule",
                    "insurance_codes",
                    format!(
                        "保険医療機関コード {} は{}のコードです。{}のコードを入力してください。",
                        code,
                        code.fee_schedule().name(),
                        self.kind.name()
                    ),
                ));
            }
            if code.prefecture() != self.prefecture {
                errors.push(FacilityError::new(
                    "facility.insurance_code.prefecture",
                    "insurance_codes",
                    format!(
                        "保険医療機関コード {} は{}のコードです（所在地は{}）。",
                        code,
                        code.prefecture().name(),
                        self.prefecture.name()
                    ),
                ));
            }
        }
        if let Some(c) = self.coordinates
            && !Coordinates::is_in_japan(c.lat, c.lon)
        {
            errors.push(FacilityError::new(
                "facility.coordinates.outside_japan",
                "coordinates",
                format!("所在地座標（{}, {}）が日本国内にありません。", c.lat, c.lon),
            ));
        }
        if let Some(url) = &self.homepage
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            errors.push(FacilityError::new(
                "facility.homepage.scheme",
                "homepage",
                format!(
                    "ホームページアドレスは http:// または https:// から入力してください（入力値: {url}）。"
                ),
            ));
        }
        let dated = [("休止日", self.suspended_on), ("廃止日", self.abolished_on)];
        if let Some(opened) = self.opened_on {
            for (label, d) in dated {
                if let Some(d) = d.filter(|d| *d < opened) {
                    errors.push(FacilityError::new(
                        "facility.dates.order",
                        "opened_on",
                        format!("{label}（{d}）が開設日（{opened}）より前になっています。"),
                    ));
                }
            }
        }
        errors
    }

    /// Status on `day`: 廃止 wins over 休止, and both over a future 開設日.
    pub fn status_on(&self, day: NaiveDate) -> FacilityStatus {
        if self.abolished_on.is_some_and(|d| d <= day) {
            FacilityStatus::Abolished
        } else if self.suspended_on.is_some_and(|d| d <= day) {
            FacilityStatus::Suspended
        } else if self.opened_on.is_some_and(|d| d > day) {
            FacilityStatus::NotYetOpen
        } else {
            FacilityStatus::Open
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid 診療所 in 金沢市, for tests across the crate.
    pub(crate) fn record() -> FacilityRecord {
        FacilityRecord {
            kind: FacilityKind::Clinic,
            prefecture: PrefectureCode::parse("17").unwrap(),
            municipality: MunicipalityCode::parse("172014").unwrap(),
            facility_code: Some(FacilityCode::parse("2171000001").unwrap()),
            insurance_codes: vec![],
            names: FacilityNames {
                official: "広坂クリニック".into(),
                official_kana: "ヒロサカクリニック".into(),
                ..Default::default()
            },
            postal_code: Some(PostalCode::parse("9200962").unwrap()),
            address: "石川県金沢市広坂1丁目1番1号".into(),
            coordinates: Some(Coordinates {
                lat: 36.56,
                lon: 136.65,
                source: CoordinateSource::Town,
            }),
            homepage: None,
            opened_on: NaiveDate::from_ymd_opt(2001, 4, 1),
            suspended_on: None,
            abolished_on: None,
        }
    }

    #[test]
    fn valid_record_has_no_errors() {
        assert_eq!(record().validate(), vec![]);
    }

    #[test]
    fn each_rule_reports_its_field() {
        let mut r = record();
        r.names.official = " ".into();
        r.names.official_kana = "ひろさか".into();
        r.address = "金沢市広坂1丁目1番1号".into();
        r.municipality = MunicipalityCode::parse("131016").unwrap();
        r.coordinates = Some(Coordinates {
            lat: 0.0,
            lon: 0.0,
            source: CoordinateSource::Reported,
        });
        r.homepage = Some("www.example.jp".into());
        r.insurance_codes = vec![InsuranceCode::parse("1310110049").unwrap()];
        let codes: Vec<_> = r.validate().iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            [
                "facility.name.empty",
                "facility.kana.not_katakana",
                "facility.municipality.prefecture",
                "facility.address.prefecture",
                "facility.insurance_code.prefecture",
                "facility.coordinates.outside_japan",
                "facility.homepage.scheme",
            ]
        );
    }

    #[test]
    fn status_follows_dates() {
        let mut r = record();
        let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        assert_eq!(r.status_on(day), FacilityStatus::Open);
        r.suspended_on = NaiveDate::from_ymd_opt(2026, 1, 1);
        assert_eq!(r.status_on(day), FacilityStatus::Suspended);
        r.abolished_on = NaiveDate::from_ymd_opt(2026, 6, 1);
        assert_eq!(r.status_on(day), FacilityStatus::Abolished);
        r.opened_on = NaiveDate::from_ymd_opt(2126, 1, 1);
        r.suspended_on = None;
        r.abolished_on = None;
        assert_eq!(r.status_on(day), FacilityStatus::NotYetOpen);
    }
}
