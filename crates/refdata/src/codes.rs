//! The hand-made code lists of `data/codes/` (see data/SOURCES.md for origin and credit).

use crate::table::{data_text, fields, number, rows};
use serde::Serialize;
use std::sync::LazyLock;
use teikyo_domain::{FacilityKind, MunicipalityCode, PrefectureCode};

/// 診療科目 (DOMAIN.md §9.5): 127 five-digit codes in nine groups.
#[derive(Debug, Clone, Serialize)]
pub struct Specialty {
    /// 5 characters, leading zero kept: 「01001」.
    pub code: &'static str,
    pub name: &'static str,
    /// The first two digits: 「01」.
    pub category: &'static str,
    /// 「内科系」
    pub category_name: &'static str,
    /// `XX991`/`XX992` 「その他（…系）」: the facility types the name of the specialty.
    pub free_text: bool,
}

/// 指定難病 (DOMAIN.md §9.7). Credit required: [`INTRACTABLE_DISEASES_CREDIT`].
#[derive(Debug, Clone, Serialize)]
pub struct IntractableDisease {
    /// 告示番号 1…348.
    pub no: u16,
    pub name: &'static str,
    /// `|`-separated, see [`IntractableDisease::groups`].
    #[serde(skip)]
    groups: &'static str,
}

impl IntractableDisease {
    /// 疾患群 (「神経・筋疾患」); six diseases belong to more than one.
    pub fn groups(&self) -> impl Iterator<Item = &'static str> + use<> {
        self.groups.split('|').filter(|g| !g.is_empty())
    }
}

/// CC BY 4.0 attribution for the 指定難病 list, to be shown wherever it is shown or redistributed.
pub const INTRACTABLE_DISEASES_CREDIT: &str = "指定難病一覧: 136s/intractable-disease (https://github.com/136s/intractable-disease), CC BY 4.0. 原典: 厚生労働省「指定難病病名一覧表」; 疾患群: 難病情報センター. TSV 化および疾患群の結合は Teikyo による加工.";

/// PDL1.0 attribution for the 診療科目 list.
pub const SPECIALTIES_CREDIT: &str = "「医療情報ネットのオープンデータ」（厚生労働省）（https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/kenkou_iryou/iryou/newpage_43373.html）を加工して作成";

/// 都道府県 with reading and romanisation (DOMAIN.md §9.2).
#[derive(Debug, Clone, Serialize)]
pub struct Prefecture {
    pub code: PrefectureCode,
    pub name: &'static str,
    /// 「イシカワケン」
    pub kana: &'static str,
    /// Hepburn without macrons or suffix: 「Ishikawa」.
    pub romaji: &'static str,
    /// The prefecture's own 6-digit 地方公共団体コード: 「170003」.
    pub lg_code: MunicipalityCode,
}

/// 機関区分 (DOMAIN.md §9.1) as listed in `facility_kinds.tsv`; the domain's [`FacilityKind`]
/// carries the same facts and a test keeps the two in step.
#[derive(Debug, Clone, Serialize)]
pub struct FacilityKindRow {
    pub kind: FacilityKind,
    pub name: &'static str,
    pub id: &'static str,
    pub name_en: &'static str,
    /// `medical` (医療機能情報提供制度) or `pharmacy` (薬局機能情報提供制度).
    pub program: &'static str,
}

static SPECIALTIES: LazyLock<Vec<Specialty>> = LazyLock::new(|| {
    const FILE: &str = "codes/specialties.tsv";
    rows(data_text!("codes/specialties.tsv"))
        .map(|(n, line)| {
            let [code, name, category, category_name, free_text] = fields(FILE, n, line, '\t');
            Specialty {
                code,
                name,
                category,
                category_name,
                free_text: free_text == "1",
            }
        })
        .collect()
});

static DISEASES: LazyLock<Vec<IntractableDisease>> = LazyLock::new(|| {
    const FILE: &str = "codes/designated_intractable_diseases.tsv";
    rows(data_text!("codes/designated_intractable_diseases.tsv"))
        .map(|(n, line)| {
            let [no, name, groups] = fields(FILE, n, line, '\t');
            IntractableDisease {
                no: number(FILE, n, no),
                name,
                groups,
            }
        })
        .collect()
});

static PREFECTURES: LazyLock<Vec<Prefecture>> = LazyLock::new(|| {
    const FILE: &str = "codes/prefectures.tsv";
    rows(data_text!("codes/prefectures.tsv"))
        .map(|(n, line)| {
            let [code, name, kana, romaji, lg_code] = fields(FILE, n, line, '\t');
            Prefecture {
                code: PrefectureCode::parse(code)
                    .unwrap_or_else(|e| panic!("data/{FILE}:{n}: {e}")),
                name,
                kana,
                romaji,
                lg_code: MunicipalityCode::parse(lg_code)
                    .unwrap_or_else(|e| panic!("data/{FILE}:{n}: {e}")),
            }
        })
        .collect()
});

static FACILITY_KINDS: LazyLock<Vec<FacilityKindRow>> = LazyLock::new(|| {
    const FILE: &str = "codes/facility_kinds.tsv";
    rows(data_text!("codes/facility_kinds.tsv"))
        .map(|(n, line)| {
            let [code, name, id, _variant, name_en, program] = fields(FILE, n, line, '\t');
            FacilityKindRow {
                kind: FacilityKind::parse(code).unwrap_or_else(|e| panic!("data/{FILE}:{n}: {e}")),
                name,
                id,
                name_en,
                program,
            }
        })
        .collect()
});

/// The 127 診療科目, by code.
pub fn specialties() -> &'static [Specialty] {
    &SPECIALTIES
}

/// A 診療科目 by its 5-character code (「01001」; a dropped leading zero is not restored here).
pub fn specialty(code: &str) -> Option<&'static Specialty> {
    SPECIALTIES.iter().find(|s| s.code == code)
}

/// The 348 指定難病, by number.
pub fn intractable_diseases() -> &'static [IntractableDisease] {
    &DISEASES
}

pub fn intractable_disease(no: u16) -> Option<&'static IntractableDisease> {
    DISEASES.iter().find(|d| d.no == no)
}

/// The 47 prefectures, by code.
pub fn prefectures() -> &'static [Prefecture] {
    &PREFECTURES
}

pub fn prefecture(code: PrefectureCode) -> Option<&'static Prefecture> {
    PREFECTURES.iter().find(|p| p.code == code)
}

/// 機関区分 1–5.
pub fn facility_kinds() -> &'static [FacilityKindRow] {
    &FACILITY_KINDS
}

pub(crate) fn force() {
    LazyLock::force(&SPECIALTIES);
    LazyLock::force(&DISEASES);
    LazyLock::force(&PREFECTURES);
    LazyLock::force(&FACILITY_KINDS);
}
