//! The MHLW open-data layouts (DOMAIN §8.2–8.3): file names and header rows, written by
//! `export` and `synth` and read by the importers. Files are UTF-8 with BOM, CRLF, every field
//! quoted except the two coordinates. Readers go by header *name*, never by position, so the
//! Teikyo extension columns appended at the end of `synth`'s files (郵便番号, 保険医療機関コード,
//! 開設日, 休止日, 廃止日: facts the open data leaves out) are optional for them.
//!
//! The names and order follow the 2026-06-01 files as published (read from the 高知県 samples of
//! nyampire/iryo-joho-net-corrected, which keep the source's columns): 薬局 names its identity
//! columns differently (名称, フリガナ, ローマ字, 薬局のホームページアドレス), 助産所 says 休業
//! where the others say 休診, and the time columns run time band first, then day type.

use teikyo_domain::FacilityKind;

pub const WEEKDAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];
/// Day types of the hour tables: the weekdays and 祝.
pub const DAY_TYPES: [&str; 8] = ["月", "火", "水", "木", "金", "土", "日", "祝"];

pub mod col {
    pub const ID: &str = "ID";
    pub const NAME: &str = "正式名称";
    pub const NAME_KANA: &str = "正式名称（フリガナ）";
    pub const SHORT: &str = "略称";
    pub const SHORT_KANA: &str = "略称（フリガナ）";
    pub const ENGLISH: &str = "英語表記（ローマ字表記）";
    pub const KIND: &str = "機関区分";
    pub const PREFECTURE: &str = "都道府県コード";
    pub const MUNICIPALITY: &str = "市区町村コード";
    pub const ADDRESS: &str = "所在地";
    pub const LAT: &str = "所在地座標（緯度）";
    pub const LON: &str = "所在地座標（経度）";
    pub const HOMEPAGE: &str = "案内用ホームページアドレス";
    // Teikyo extensions
    pub const POSTAL: &str = "郵便番号";
    pub const INSURANCE: &str = "保険医療機関コード";
    pub const OPENED: &str = "開設日";
    pub const SUSPENDED: &str = "休止日";
    pub const ABOLISHED: &str = "廃止日";
    // speciality-hours files
    pub const SPECIALTY_CODE: &str = "診療科目コード";
    pub const SPECIALTY_NAME: &str = "診療科目名";
    pub const BAND: &str = "診療時間帯";
}

pub const EXTENSION_COLUMNS: [&str; 5] = [
    col::POSTAL,
    col::INSURANCE,
    col::OPENED,
    col::SUSPENDED,
    col::ABOLISHED,
];

/// Facility-file name (without `.csv`) of a kind, as MHLW names them.
pub fn facility_file(kind: FacilityKind) -> &'static str {
    match kind {
        FacilityKind::Hospital => "01-1_hospital_facility_info",
        FacilityKind::Clinic => "02-1_clinic_facility_info",
        FacilityKind::DentalClinic => "03-1_dental_facility_info",
        FacilityKind::MidwiferyHome => "04_maternity_home",
        FacilityKind::Pharmacy => "05_pharmacy",
    }
}

/// Speciality-hours file of the kinds that have one.
pub fn hours_file(kind: FacilityKind) -> Option<&'static str> {
    match kind {
        FacilityKind::Hospital => Some("01-2_hospital_speciality_hours"),
        FacilityKind::Clinic => Some("02-2_clinic_speciality_hours"),
        FacilityKind::DentalClinic => Some("03-2_dental_speciality_hours"),
        _ => None,
    }
}

/// The identity and location columns of the facility files, in order (13), by their canonical
/// (病院・診療所・歯科・助産所) names; [`column`] gives a kind's own name. 薬局 files have no
/// 略称 columns (11).
pub const IDENTITY_COLUMNS: [&str; 13] = [
    col::ID,
    col::NAME,
    col::NAME_KANA,
    col::SHORT,
    col::SHORT_KANA,
    col::ENGLISH,
    col::KIND,
    col::PREFECTURE,
    col::MUNICIPALITY,
    col::ADDRESS,
    col::LAT,
    col::LON,
    col::HOMEPAGE,
];

/// A canonical identity column's name in a kind's file (薬局 names four of them differently).
pub fn column(kind: FacilityKind, canonical: &'static str) -> &'static str {
    if kind != FacilityKind::Pharmacy {
        return canonical;
    }
    match canonical {
        col::NAME => "名称",
        col::NAME_KANA => "フリガナ",
        col::ENGLISH => "ローマ字",
        col::HOMEPAGE => "薬局のホームページアドレス",
        other => other,
    }
}

/// Every (kind's name, canonical name) pair that differs, for readers that accept either.
pub fn aliases() -> impl Iterator<Item = (&'static str, &'static str)> {
    IDENTITY_COLUMNS
        .into_iter()
        .map(|c| (column(FacilityKind::Pharmacy, c), c))
        .filter(|(a, c)| a != c)
}

fn identity(kind: FacilityKind) -> Vec<String> {
    IDENTITY_COLUMNS
        .iter()
        .filter(|c| kind != FacilityKind::Pharmacy || !matches!(**c, col::SHORT | col::SHORT_KANA))
        .map(|c| column(kind, c).to_string())
        .collect()
}

/// 休診 (病院・診療所・歯科) or 休業 (助産所): the word the closure columns use.
fn closed_word(kind: FacilityKind) -> &'static str {
    if kind == FacilityKind::MidwiferyHome {
        "休業"
    } else {
        "休診"
    }
}

/// The closure columns of the kinds 1–4. The flags are *inverted* relative to their names:
/// 1 = open, 0 = closed, empty = not said (DOMAIN §8.5).
pub mod closure {
    use super::closed_word;
    use teikyo_domain::FacilityKind;

    /// 毎週決まった曜日に休診（月）.
    pub fn weekly(kind: FacilityKind, day: &str) -> String {
        format!("毎週決まった曜日に{}（{day}）", closed_word(kind))
    }

    /// 決まった週に休診（定期週）第1週（月） (half-width week digit).
    pub fn nth_week(kind: FacilityKind, week: u8, day: &str) -> String {
        format!(
            "決まった週に{}（定期週）第{week}週（{day}）",
            closed_word(kind)
        )
    }

    /// 祝日に休診 (0 = closed on 祝日).
    pub fn holiday(kind: FacilityKind) -> String {
        format!("祝日に{}", closed_word(kind))
    }

    /// その他の休診日（gw、お盆等）: free text.
    pub fn other(kind: FacilityKind) -> String {
        format!("その他の{}日（gw、お盆等）", closed_word(kind))
    }
}

/// 毎週決まった曜日に休診 (7), 定期週 (35), 祝日に休診 + その他の休診日 (2): 44 columns.
fn closure_columns(kind: FacilityKind) -> Vec<String> {
    let mut v: Vec<String> = WEEKDAYS.iter().map(|d| closure::weekly(kind, d)).collect();
    for w in 1..=5 {
        for d in WEEKDAYS {
            v.push(closure::nth_week(kind, w, d));
        }
    }
    v.push(closure::holiday(kind));
    v.push(closure::other(kind));
    v
}

/// The 薬局 file's own flag columns (1 = open, 0 = closed, empty = not said).
pub mod pharmacy {
    /// 営業日（月）…営業日（祝）.
    pub fn business_day(day: &str) -> String {
        format!("営業日（{day}）")
    }

    /// 定期閉店毎週（月）…定期閉店毎週（祝）.
    pub fn weekly(day: &str) -> String {
        format!("定期閉店毎週（{day}）")
    }

    /// 定期閉店第１週（月）: full-width week digits, weekdays only.
    pub fn nth_week(week: u8, day: &str) -> String {
        let w = ["１", "２", "３", "４", "５"][usize::from(week.clamp(1, 5) - 1)];
        format!("定期閉店第{w}週（{day}）")
    }

    /// 祝日 (0 = closed on 祝日).
    pub const HOLIDAY: &str = "祝日";
    /// その他の閉店日（gw、お盆等）: free text.
    pub const OTHER: &str = "その他の閉店日（gw、お盆等）";
}

pub const HOSPITAL_BEDS: [&str; 8] = [
    "一般病床",
    "療養病床",
    "療養病床のうち医療保険適用",
    "療養病床のうち介護保険適用",
    "精神病床",
    "結核病床",
    "感染症病床",
    "合計病床数",
];
pub const CLINIC_BEDS: [&str; 5] = [
    "一般病床",
    "療養病床",
    "療養病床のうち医療保険適用",
    "療養病床のうち介護保険適用",
    "合計病床数",
];

/// `{曜}_{label}{n}_開始時間` or `_終了時間`.
pub fn slot_column(day: &str, label: &str, n: u8, end: bool) -> String {
    let part = if end { "終了時間" } else { "開始時間" };
    format!("{day}_{label}{n}_{part}")
}

/// The time columns of a facility file: time band first, then day type (月_1, 火_1 … 祝_1,
/// 月_2 …), start and end of each.
fn slot_columns(label: &str, slots: u8) -> Vec<String> {
    let mut v = Vec::new();
    for n in 1..=slots {
        for d in DAY_TYPES {
            v.push(slot_column(d, label, n, false));
            v.push(slot_column(d, label, n, true));
        }
    }
    v
}

/// 就業時間帯 (助産所), 外来受付時間帯 (助産所), 開店時間帯 (薬局).
pub const WORKING: &str = "就業時間帯";
pub const RECEPTION: &str = "外来受付時間帯";
pub const OPENING: &str = "開店時間帯";

/// The header of a kind's facility file, MHLW columns only.
pub fn facility_header(kind: FacilityKind) -> Vec<String> {
    let mut h = identity(kind);
    match kind {
        FacilityKind::Hospital => {
            h.extend(closure_columns(kind));
            h.extend(HOSPITAL_BEDS.iter().map(|s| s.to_string()));
        }
        FacilityKind::Clinic => {
            h.extend(closure_columns(kind));
            h.extend(CLINIC_BEDS.iter().map(|s| s.to_string()));
        }
        FacilityKind::DentalClinic => h.extend(closure_columns(kind)),
        FacilityKind::MidwiferyHome => {
            h.extend(closure_columns(kind));
            h.extend(slot_columns(WORKING, 3));
            h.extend(slot_columns(RECEPTION, 3));
        }
        FacilityKind::Pharmacy => {
            h.extend(DAY_TYPES.iter().map(|d| pharmacy::business_day(d)));
            h.extend(DAY_TYPES.iter().map(|d| pharmacy::weekly(d)));
            for w in 1..=5 {
                for d in WEEKDAYS {
                    h.push(pharmacy::nth_week(w, d));
                }
            }
            h.push(pharmacy::HOLIDAY.into());
            h.push(pharmacy::OTHER.into());
            h.extend(slot_columns(OPENING, 4));
        }
    }
    h
}

/// The speciality-hours columns of a day type.
pub mod hours {
    pub fn start(day: &str) -> String {
        format!("{day}_診療開始時間")
    }
    pub fn end(day: &str) -> String {
        format!("{day}_診療終了時間")
    }
    pub fn reception_start(day: &str) -> String {
        format!("{day}_外来受付開始時間")
    }
    pub fn reception_end(day: &str) -> String {
        format!("{day}_外来受付終了時間")
    }
}

/// The header of a speciality-hours file (36 columns): the 診療 pairs of every day type, then
/// the 外来受付 pairs.
pub fn hours_header() -> Vec<String> {
    let mut h: Vec<String> = [col::ID, col::SPECIALTY_CODE, col::SPECIALTY_NAME, col::BAND]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for d in DAY_TYPES {
        h.push(hours::start(d));
        h.push(hours::end(d));
    }
    for d in DAY_TYPES {
        h.push(hours::reception_start(d));
        h.push(hours::reception_end(d));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Column counts of DOMAIN §8.2.
    #[test]
    fn column_counts_match_the_published_files() {
        let n = |k| facility_header(k).len();
        assert_eq!(n(FacilityKind::Hospital), 65);
        assert_eq!(n(FacilityKind::Clinic), 62);
        assert_eq!(n(FacilityKind::DentalClinic), 57);
        assert_eq!(n(FacilityKind::MidwiferyHome), 153);
        assert_eq!(n(FacilityKind::Pharmacy), 128);
        assert_eq!(hours_header().len(), 36);
    }
}
