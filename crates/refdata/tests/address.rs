//! Acceptance criteria of the address services (issue: foundation / refdata).

use teikyo_domain::{CoordinateSource, MunicipalityCode, PostalCode, PrefectureCode};
use teikyo_refdata::address::{self, AddressPart, TownCheck};
use teikyo_refdata::{MISMATCH_MESSAGE, MunicipalityKind, municipalities, postal};

fn pc(s: &str) -> PostalCode {
    PostalCode::parse(s).expect("postal code")
}

fn mc(s: &str) -> MunicipalityCode {
    MunicipalityCode::parse(s).expect("municipality code")
}

#[test]
fn kanazawa_hirosaka_with_prefecture_is_ok() {
    let m = address::check(pc("9200962"), "石川県金沢市広坂1丁目1番1号").expect("ok");
    assert_eq!(m.municipality.code, mc("172014"));
    assert_eq!(m.prefecture.name(), "石川県");
    assert_eq!(m.town, TownCheck::Matched);
    assert_eq!(m.entry.town, "広坂");
    assert_eq!(m.rest, "広坂1丁目1番1号");
}

#[test]
fn width_spaces_and_numerals_do_not_matter() {
    for a in [
        "石川県 金沢市 広坂１丁目１番１号",
        "石川県金沢市広坂一丁目1-1",
        "石川県金沢市広坂1-1-1",
        "　石川県金沢市広坂",
    ] {
        let m = address::check(pc("920-0962"), a).unwrap_or_else(|e| panic!("{a}: {}", e.detail));
        assert_eq!(m.town, TownCheck::Matched, "{a}");
    }
}

#[test]
fn address_without_prefecture_fails_with_the_seed_message() {
    let e = address::check(pc("9200962"), "金沢市広坂1丁目1番1号").expect_err("must fail");
    assert_eq!(e.to_string(), "郵便番号と所在地が不整合です。");
    assert_eq!(e.to_string(), MISMATCH_MESSAGE);
    assert_eq!(e.code(), "address.prefecture_missing");
    assert_eq!(e.part, AddressPart::Prefecture);
    assert_eq!(e.part.label(), "都道府県");
    assert_eq!(
        e.detail,
        "所在地を都道府県名から入力してください。郵便番号 920-0962 は石川県金沢市です。"
    );
}

#[test]
fn kasumigaseki_is_ok() {
    let m = address::check(pc("1000013"), "東京都千代田区霞が関1丁目").expect("ok");
    assert_eq!(m.municipality.code, mc("131016"));
    assert_eq!(m.municipality.kind, MunicipalityKind::SpecialWard);
    assert_eq!(m.town, TownCheck::Matched);
    // the other spellings of 霞が関
    for a in ["東京都千代田区霞ヶ関一丁目", "東京都千代田区霞ケ関1-2-1"] {
        assert!(address::check(pc("1000013"), a).is_ok(), "{a}");
    }
}

#[test]
fn office_postal_code_resolves() {
    let rows = postal::lookup(pc("9208577"));
    assert_eq!(rows.len(), 1);
    let e = &rows[0];
    let office = e.office.as_ref().expect("事業所個別番号");
    assert_eq!(office.name, "金沢市役所");
    assert_eq!(office.banchi, "1丁目1-1");
    assert!(!office.po_box);
    assert_eq!(e.municipality.code, mc("172014"));
    assert_eq!(e.city(), "金沢市");
    assert_eq!(e.town, "広坂");

    let c = address::candidates(pc("9208577"));
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].office_name, Some("金沢市役所"));
    assert_eq!(c[0].prefecture_name, "石川県");
    assert_eq!(c[0].prefecture_kana, "イシカワケン");
    assert_eq!(c[0].city_kana, "カナザワシ");

    let m = address::check(pc("9208577"), "石川県金沢市広坂1丁目1番1号").expect("ok");
    assert!(m.entry.is_office());
}

#[test]
fn candidates_for_auto_fill() {
    let c = address::candidates(pc("9200962"));
    assert_eq!(c.len(), 1);
    let c = &c[0];
    assert_eq!(c.prefecture, PrefectureCode::parse("17").expect("17"));
    assert_eq!(
        (c.city, c.town, c.town_kana),
        ("金沢市", "広坂", "ヒロサカ")
    );
    assert_eq!(c.municipality, mc("172014"));
    assert_eq!(c.office_name, None);
    let json = serde_json::to_value(c).expect("json");
    assert_eq!(json["municipality"], "172014");
    assert_eq!(json["postal_code"], "9200962");
    assert!(address::candidates(pc("0000000")).is_empty());
}

#[test]
fn another_prefecture_fails_naming_the_prefecture() {
    let e = address::check(pc("9200962"), "東京都千代田区霞が関1丁目").expect_err("must fail");
    assert_eq!(e.to_string(), MISMATCH_MESSAGE);
    assert_eq!(e.part, AddressPart::Prefecture);
    assert_eq!(e.code(), "address.prefecture_mismatch");
    assert!(e.detail.contains("石川県金沢市"), "{}", e.detail);
    assert!(e.detail.contains("東京都"), "{}", e.detail);
}

#[test]
fn another_city_of_the_same_prefecture_fails_naming_the_municipality() {
    let e = address::check(pc("9200962"), "石川県白山市倉光二丁目1番地").expect_err("must fail");
    assert_eq!(e.to_string(), MISMATCH_MESSAGE);
    assert_eq!(e.part, AddressPart::Municipality);
    assert_eq!(e.code(), "address.municipality_mismatch");
    assert_eq!(
        e.detail,
        "郵便番号 920-0962 は石川県金沢市です。所在地の市区町村（石川県白山市）と一致しません。郵便番号か所在地をご確認ください。"
    );
}

#[test]
fn another_town_of_the_same_city_fails_naming_the_town() {
    // 920-0962 is 広坂; 本町 has its own codes in 金沢市.
    let e = address::check(pc("9200962"), "石川県金沢市本町2丁目15番1号").expect_err("must fail");
    assert_eq!(e.part, AddressPart::Town);
    assert_eq!(e.code(), "address.town_mismatch");
    assert!(e.detail.contains("広坂"), "{}", e.detail);
    assert!(e.detail.contains("本町"), "{}", e.detail);
}

#[test]
fn unknown_town_is_accepted_but_marked() {
    let m = address::check(pc("9200962"), "石川県金沢市 1番地").expect("accepted");
    assert_eq!(m.town, TownCheck::Unrecognised);
}

#[test]
fn catch_all_code_accepts_any_town() {
    // 920-0000: 金沢市 「以下に掲載がない場合」
    let rows = postal::lookup(pc("9200000"));
    assert!(rows.iter().any(|e| e.covers_unlisted_towns()));
    let m = address::check(pc("9200000"), "石川県金沢市どこか町1").expect("accepted");
    assert_eq!(m.town, TownCheck::CoversAnyTown);
}

#[test]
fn unknown_postal_code_fails() {
    let e = address::check(pc("0000000"), "石川県金沢市広坂").expect_err("must fail");
    assert_eq!(e.part, AddressPart::PostalCode);
    assert_eq!(e.to_string(), MISMATCH_MESSAGE);
}

#[test]
fn designated_city_wards() {
    let rows = postal::lookup(pc("2230061"));
    assert!(!rows.is_empty());
    let ward = rows[0].municipality;
    assert_eq!(ward.name, "横浜市港北区");
    let m = address::check(pc("2230061"), "神奈川県横浜市港北区日吉4丁目1-1").expect("ok");
    assert_eq!(m.municipality.code, ward.code);
    let e = address::check(pc("2230061"), "神奈川県横浜市日吉4丁目1-1").expect_err("ward missing");
    assert_eq!(e.code(), "address.ward_missing");
    assert_eq!(e.part, AddressPart::Municipality);
    assert!(
        e.detail.starts_with("横浜市の後に区名を入力してください。"),
        "{}",
        e.detail
    );
}

#[test]
fn county_may_be_omitted() {
    // 津幡町 is in 河北郡; addresses are written both ways.
    let code = postal::all()
        .iter()
        .find(|e| e.city() == "河北郡津幡町" && !e.town.is_empty() && !e.is_office())
        .expect("a 津幡町 code");
    for a in [
        format!("石川県河北郡津幡町{}1", code.town),
        format!("石川県津幡町{}1", code.town),
    ] {
        let m =
            address::check(code.postal_code(), &a).unwrap_or_else(|e| panic!("{a}: {}", e.detail));
        assert_eq!(m.municipality.code, code.municipality.code);
    }
}

#[test]
fn longest_prefix_municipality_match() {
    let kanagawa = PrefectureCode::parse("14").expect("14");
    let (m, len) = municipalities::match_prefix(kanagawa, "横浜市港北区日吉").expect("match");
    assert_eq!(m.name, "横浜市港北区");
    assert_eq!(&"横浜市港北区日吉"[len..], "日吉");
    let (m, _) = municipalities::match_prefix(kanagawa, "横浜市日吉").expect("match");
    assert_eq!(m.kind, MunicipalityKind::DesignatedCity);
    let chiba = PrefectureCode::parse("12").expect("12");
    let (m, _) = municipalities::match_prefix(chiba, "袖ヶ浦市坂戸市場1").expect("match");
    assert_eq!(m.code, mc("122297"));
    let ishikawa = PrefectureCode::parse("17").expect("17");
    assert!(municipalities::match_prefix(ishikawa, "横浜市").is_none());
}

#[test]
fn geocode_hirosaka_gives_its_town_point() {
    let c = address::geocode(mc("172014"), "広坂1丁目1番1号").expect("point");
    assert_eq!(c.source, CoordinateSource::Town);
    assert!(
        (c.lat - 36.56).abs() < 0.01 && (c.lon - 136.65).abs() < 0.02,
        "{c:?}"
    );
    let full = address::geocode_address("石川県金沢市広坂1-1-1").expect("point");
    assert_eq!(full, c);
    // 広坂二丁目 is a different point
    let two = address::geocode(mc("172014"), "広坂二丁目").expect("point");
    assert_eq!(two.source, CoordinateSource::Town);
    assert_ne!(two, c);
}

#[test]
fn geocode_unknown_town_falls_back_to_the_municipality() {
    let c = address::geocode(mc("172014"), "存在しない町99番地").expect("point");
    assert_eq!(c.source, CoordinateSource::Municipality);
    let kanazawa = municipalities::get(mc("172014")).expect("金沢市");
    assert_eq!(Some(c), kanazawa.centroid());
    assert!(
        (c.lat - 36.56).abs() < 0.1 && (c.lon - 136.65).abs() < 0.1,
        "{c:?}"
    );
    // a valid check digit but not in the master
    let unknown = MunicipalityCode::from_five("17999").expect("code");
    assert!(municipalities::get(unknown).is_none());
    assert!(address::geocode(unknown, "").is_none());
    assert!(
        address::geocode_address("金沢市広坂").is_none(),
        "needs the prefecture"
    );
}

#[test]
fn geocode_reads_the_ward_of_a_designated_city() {
    let c = address::geocode(mc("141003"), "港北区日吉4丁目").expect("point");
    assert_eq!(c.source, CoordinateSource::Town);
    let sapporo = address::geocode_address("北海道札幌市中央区北1条西2丁目").expect("point");
    assert_eq!(sapporo.source, CoordinateSource::Town);
    assert!((sapporo.lat - 43.06).abs() < 0.01, "{sapporo:?}");
}
