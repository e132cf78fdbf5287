use chrono::NaiveDate;
use teikyo_domain::{
    CoordinateSource, Coordinates, FacilityCode, FacilityKind, FacilityNames, FacilityRecord,
    InsuranceCode, MunicipalityCode, PostalCode, PrefectureCode,
};

/// Completes a 9-digit insurance payload with its standard check digit.
pub fn insurance(payload: &str) -> InsuranceCode {
    for d in 0..10 {
        if let Ok(c) = InsuranceCode::parse(&format!("{payload}{d}")) {
            return c;
        }
    }
    panic!("no check digit for {payload}");
}

/// A valid facility of `kind` numbered `n`, in 金沢市 (石川県 17).
pub fn facility(kind: FacilityKind, n: u32) -> FacilityRecord {
    let fee = match kind {
        FacilityKind::DentalClinic => '3',
        FacilityKind::Pharmacy => '4',
        _ => '1',
    };
    FacilityRecord {
        kind,
        prefecture: PrefectureCode::parse("17").unwrap(),
        municipality: MunicipalityCode::parse("172014").unwrap(),
        facility_code: Some(FacilityCode::parse(&format!("{}17{:07}", kind.code(), n)).unwrap()),
        insurance_codes: if kind == FacilityKind::MidwiferyHome {
            vec![]
        } else {
            vec![insurance(&format!("17{fee}01{:04}", n % 10_000))]
        },
        names: FacilityNames {
            official: format!("広坂{}{n}", kind.name()),
            official_kana: "ヒロサカ".into(),
            short: Some("広坂".into()),
            short_kana: Some("ヒロサカ".into()),
            english: Some("Hirosaka".into()),
        },
        postal_code: Some(PostalCode::parse("9200962").unwrap()),
        address: format!("石川県金沢市広坂1丁目{n}番1号"),
        coordinates: Some(Coordinates {
            lat: 36.5613,
            lon: 136.6562,
            source: CoordinateSource::Town,
        }),
        homepage: Some("https://example.jp/".into()),
        opened_on: NaiveDate::from_ymd_opt(1999, 4, 1),
        suspended_on: None,
        abolished_on: None,
    }
}
