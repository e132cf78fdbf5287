//! The MHLW open-data layouts (DOMAIN §8.2–8.3): file names and header rows, written by
//! `synth` and read by `import`. Files are UTF-8 with BOM, CRLF, quoted header. Readers go by
//! header *name*, never by position, so the Teikyo extension columns appended at the end
//! (郵便番号, 保険医療機関コード, 開設日, 休止日, 廃止日: facts the open data leaves out) are
//! optional for them.
//!
//! The column order of 04 助産所 and 05 薬局 is unconfirmed (DOMAIN §11.7); the names below are
//! this project's reading and only the identity columns are read back.

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

/// The identity and location columns of the facility files, in order (13). 薬局 files have no
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

fn identity(kind: FacilityKind) -> Vec<String> {
    IDENTITY_COLUMNS
        .iter()
        .filter(|c| kind != FacilityKind::Pharmacy || !matches!(**c, col::SHORT | col::SHORT_KANA))
        .map(|c| c.to_string())
        .collect()
}

/// 毎週決まった曜日に休診 (7), 定期週 (35), 祝日に休診 + その他の休診日 (2): 44 columns.
/// The flags are *inverted* in the open data: 1 = open, 0 = closed (DOMAIN §8.5).
fn closure_columns() -> Vec<String> {
    let mut v: Vec<String> = WEEKDAYS
        .iter()
        .map(|d| format!("毎週決まった曜日に休診（{d}）"))
        .collect();
    for w in 1..=5 {
        for d in WEEKDAYS {
            v.push(format!("決まった週に休診（定期週）第{w}週（{d}）"));
        }
    }
    v.push("祝日に休診".into());
    v.push("その他の休診日（gw、お盆等）".into());
    v
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

/// `{曜}_{label}{n}_開始時間`, `{曜}_{label}{n}_終了時間` for n in 1..=slots.
fn slot_columns(label: &str, slots: u8) -> Vec<String> {
    let mut v = Vec::new();
    for d in DAY_TYPES {
        for n in 1..=slots {
            v.push(format!("{d}_{label}{n}_開始時間"));
            v.push(format!("{d}_{label}{n}_終了時間"));
        }
    }
    v
}

/// The header of a kind's facility file, MHLW columns only.
pub fn facility_header(kind: FacilityKind) -> Vec<String> {
    let mut h = identity(kind);
    match kind {
        FacilityKind::Hospital => {
            h.extend(closure_columns());
            h.extend(HOSPITAL_BEDS.iter().map(|s| s.to_string()));
        }
        FacilityKind::Clinic => {
            h.extend(closure_columns());
            h.extend(CLINIC_BEDS.iter().map(|s| s.to_string()));
        }
        FacilityKind::DentalClinic => h.extend(closure_columns()),
        FacilityKind::MidwiferyHome => {
            h.extend(closure_columns());
            h.extend(slot_columns("就業時間帯", 3));
            h.extend(slot_columns("外来受付時間帯", 3));
        }
        FacilityKind::Pharmacy => {
            h.extend(DAY_TYPES.iter().map(|d| format!("営業日（{d}）")));
            h.extend(WEEKDAYS.iter().map(|d| format!("定期閉店毎週（{d}）")));
            for w in ["１", "２", "３", "４", "５"] {
                for d in WEEKDAYS {
                    h.push(format!("定期閉店第{w}週（{d}）"));
                }
            }
            h.extend(
                ["祝日", "定期閉店（その他）", "その他の閉店日（GW、お盆等）"]
                    .iter()
                    .map(|s| s.to_string()),
            );
            h.extend(slot_columns("開店時間帯", 4));
        }
    }
    h
}

/// The header of a speciality-hours file (36 columns).
pub fn hours_header() -> Vec<String> {
    let mut h: Vec<String> = ["ID", col::SPECIALTY_CODE, "診療科目名", "診療時間帯"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for d in DAY_TYPES {
        for part in [
            "診療開始時間",
            "診療終了時間",
            "外来受付開始時間",
            "外来受付終了時間",
        ] {
            h.push(format!("{d}_{part}"));
        }
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
