//! Every embedded table parses, and its contents hold the invariants the code relies on.
//! (The loaders panic on a malformed row; these tests make such a build defect fail CI.)

use std::collections::HashSet;
use teikyo_domain::{FacilityKind, MunicipalityCode, PostalCode, PrefectureCode};
use teikyo_refdata::{MunicipalityKind, codes, holidays, municipalities, postal, towns};

#[test]
fn load_all_loads_everything() {
    teikyo_refdata::load_all();
    assert!(postal::all().len() > 140_000, "{}", postal::all().len());
    assert!(towns::all().len() > 190_000, "{}", towns::all().len());
}

#[test]
fn every_municipality_code_has_a_valid_check_digit() {
    let all = municipalities::all();
    assert!(all.len() > 1_700, "{}", all.len());
    for m in all {
        let text = m.code.to_string();
        assert_eq!(text.len(), 6, "{text}");
        let reparsed = MunicipalityCode::parse(&text).expect("check digit");
        assert_eq!(reparsed, m.code);
        assert_eq!(
            m.code.is_prefecture(),
            m.kind == MunicipalityKind::Prefecture,
            "{text}"
        );
        assert!(
            !m.name.is_empty() && !m.kana.is_empty(),
            "{text} {}",
            m.name
        );
        assert!(m.centroid().is_some(), "{text} {} has no point", m.name);
    }
    let codes: HashSet<_> = all.iter().map(|m| m.code).collect();
    assert_eq!(codes.len(), all.len(), "duplicate codes");
}

#[test]
fn master_counts_by_kind() {
    let count = |k| municipalities::all().iter().filter(|m| m.kind == k).count();
    assert_eq!(count(MunicipalityKind::Prefecture), 47);
    assert_eq!(count(MunicipalityKind::DesignatedCity), 20);
    assert_eq!(count(MunicipalityKind::SpecialWard), 23);
    assert!(count(MunicipalityKind::Ward) >= 170);
    // 市町村 excluding designated cities, 2026: 1,718 − 20.
    assert!(count(MunicipalityKind::Municipality) > 1_650);
    for m in municipalities::all() {
        match m.kind {
            MunicipalityKind::Ward => {
                let parent = m.parent.and_then(municipalities::get).expect("ward parent");
                assert_eq!(parent.kind, MunicipalityKind::DesignatedCity);
                assert!(m.name.starts_with(parent.name), "{}", m.name);
            }
            _ => assert!(m.parent.is_none(), "{}", m.name),
        }
    }
    let yokohama = MunicipalityCode::parse("141003").expect("code");
    assert_eq!(municipalities::wards_of(yokohama).count(), 18);
}

#[test]
fn prefecture_names_need_no_folding() {
    // address::parse compares prefecture names unfolded.
    for p in PrefectureCode::all() {
        let parsed = teikyo_refdata::address::parse(p.name());
        assert_eq!(parsed.prefecture, Some(p), "{}", p.name());
    }
    let parsed = teikyo_refdata::address::parse(" 東京 都千代田区");
    assert_eq!(parsed.prefecture.map(|p| p.number()), Some(13));
}

#[test]
fn prefectures_agree_with_domain_and_master() {
    let list = codes::prefectures();
    assert_eq!(list.len(), 47);
    for p in list {
        assert_eq!(p.name, p.code.name());
        let row = municipalities::prefecture(p.code).expect("prefecture row");
        assert_eq!(row.code, p.lg_code);
        assert_eq!(row.name, p.name);
        assert_eq!(row.kana, p.kana);
        assert!(!municipalities::in_prefecture(p.code).is_empty());
        assert!(
            municipalities::in_prefecture(p.code)
                .iter()
                .all(|m| m.prefecture() == p.code && !m.is_prefecture())
        );
    }
}

#[test]
fn postal_rows_resolve() {
    let all = postal::all();
    assert!(
        all.windows(2)
            .all(|w| w[0].postal_code() <= w[1].postal_code())
    );
    let offices = all.iter().filter(|e| e.is_office()).count();
    assert!(offices > 20_000, "{offices}");
    for e in all.iter().step_by(97) {
        let code = e.postal_code();
        assert_eq!(code.digits().len(), 7);
        assert!(postal::lookup(code).iter().any(|x| std::ptr::eq(x, e)));
        assert!(!e.municipality.is_prefecture());
        assert_ne!(e.municipality.kind, MunicipalityKind::DesignatedCity);
    }
    // Every municipality of the master that is not a prefecture or designated city has
    // postal codes and town points.
    for m in municipalities::all() {
        if matches!(
            m.kind,
            MunicipalityKind::Prefecture | MunicipalityKind::DesignatedCity
        ) {
            assert!(towns::in_municipality(m.code).is_empty(), "{}", m.name);
            continue;
        }
        assert!(postal::areas_in(m.code).next().is_some(), "{}", m.name);
        assert!(!towns::in_municipality(m.code).is_empty(), "{}", m.name);
    }
}

#[test]
fn town_points_are_in_japan() {
    for t in towns::all() {
        let c = t.coordinates();
        assert!(
            teikyo_domain::Coordinates::is_in_japan(c.lat, c.lon),
            "{} {} {c:?}",
            t.municipality,
            t.name
        );
    }
}

#[test]
fn holidays() {
    let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).expect("date");
    assert_eq!(holidays::name_on(d(2026, 1, 1)), Some("元日"));
    assert_eq!(holidays::name_on(d(2026, 1, 2)), None);
    assert_eq!(
        holidays::name_on(d(2025, 5, 6)),
        Some("こどもの日 振替休日")
    );
    assert_eq!(holidays::covered_years(), Some(1970..=2050));
    assert_eq!(holidays::between(d(2026, 5, 1), d(2026, 5, 31)).len(), 4);
}

#[test]
fn code_lists() {
    assert_eq!(codes::specialties().len(), 127);
    assert_eq!(codes::specialty("01001").map(|s| s.name), Some("内科"));
    assert!(
        codes::specialties()
            .iter()
            .all(|s| s.code.len() == 5 && s.code.starts_with(s.category))
    );
    let diseases = codes::intractable_diseases();
    assert_eq!(diseases.len(), 348);
    assert_eq!(
        codes::intractable_disease(1).map(|d| d.name),
        Some("球脊髄性筋萎縮症")
    );
    assert_eq!(
        diseases.iter().filter(|d| d.groups().count() > 1).count(),
        6
    );
    let kinds = codes::facility_kinds();
    assert_eq!(kinds.len(), 5);
    for k in kinds {
        assert_eq!(k.name, k.kind.name());
        assert_eq!(k.id, k.kind.id());
    }
    assert_eq!(kinds[4].kind, FacilityKind::Pharmacy);
    assert_eq!(
        codes::prefecture(PrefectureCode::parse("17").expect("17")).map(|p| p.romaji),
        Some("Ishikawa")
    );
}

#[test]
fn unknown_postal_code_has_no_rows() {
    assert!(postal::lookup(PostalCode::parse("0000000").expect("code")).is_empty());
}
