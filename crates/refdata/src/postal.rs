//! Postal codes: Japan Post's KEN_ALL (area codes) and 事業所個別番号 (codes of single large
//! offices and PO boxes), from `data/postal.tsv.gz` and `data/postal_office.tsv.gz`.
//!
//! Prefecture and city are not stored per row: each row points at its [`Municipality`], which
//! holds names and kana once (the files join on the 6-digit municipality code).

use crate::municipalities::{self, Municipality};
use crate::table::{data_file, fields, gunzip, number, rows};
use crate::text::KeyArena;
use std::sync::LazyLock;
use teikyo_domain::{MunicipalityCode, PostalCode, PrefectureCode};

/// One row: an area (町域) of KEN_ALL, or an office with its own 事業所個別番号.
#[derive(Debug, Clone)]
pub struct PostalEntry {
    /// Kept as a number: building a [`PostalCode`] through its parser for each of ~150,000 rows
    /// would cost more than the rest of loading.
    code: u32,
    /// Position in the table (fits beside `code` in what would be padding).
    index: u32,
    pub municipality: &'static Municipality,
    /// 町域 as Japan Post writes it (「広坂」, 「霞が関」). Empty for 「以下に掲載がない場合」
    /// rows, which cover every place of the municipality not listed under its own code.
    pub town: &'static str,
    pub town_kana: &'static str,
    /// KEN_ALL's parenthesised remark: 「1〜4丁目」, 「次のビルを除く」, 「以下に掲載がない場合」, or
    /// a building and floor (「霞が関ビル 1階」) for codes of single floors.
    pub note: &'static str,
    /// Set for a 事業所個別番号.
    pub office: Option<Office>,
}

/// The office behind a 事業所個別番号.
#[derive(Debug, Clone)]
pub struct Office {
    /// 「金沢市役所」
    pub name: &'static str,
    /// As Japan Post writes it: without small kana (「カナザワシヤクシヨ」).
    pub name_kana: &'static str,
    /// The rest of the address after the town: 「1丁目1-1」.
    pub banchi: &'static str,
    /// 私書箱 rather than an office.
    pub po_box: bool,
}

impl PostalEntry {
    pub fn postal_code(&self) -> PostalCode {
        // The converter writes 7 ASCII digits and `tests/tables.rs` parses them all, so this
        // cannot fail; the panic names the row if a bad file were ever embedded.
        PostalCode::from_number(self.code)
            .unwrap_or_else(|| panic!("embedded postal code {} has more than 7 digits", self.code))
    }

    pub fn municipality_code(&self) -> MunicipalityCode {
        self.municipality.code
    }

    pub fn prefecture(&self) -> PrefectureCode {
        self.municipality.prefecture()
    }

    /// 「石川県」
    pub fn prefecture_name(&self) -> &'static str {
        self.municipality.prefecture_name()
    }

    /// 「イシカワケン」
    pub fn prefecture_kana(&self) -> &'static str {
        municipalities::prefecture(self.prefecture()).map_or("", |p| p.kana)
    }

    /// 「金沢市」, 「横浜市港北区」, 「河北郡津幡町」.
    pub fn city(&self) -> &'static str {
        self.municipality.name
    }

    pub fn city_kana(&self) -> &'static str {
        self.municipality.kana
    }

    pub fn is_office(&self) -> bool {
        self.office.is_some()
    }

    /// A KEN_ALL row that covers every town of its municipality not listed elsewhere.
    pub fn covers_unlisted_towns(&self) -> bool {
        self.office.is_none() && self.town.is_empty()
    }
}

struct Table {
    /// Sorted by code; KEN_ALL rows before office rows of the same code (there are none today).
    rows: Vec<PostalEntry>,
    /// Indices of the KEN_ALL rows, sorted by municipality code.
    by_municipality: Vec<u32>,
}

static TABLE: LazyLock<Table> = LazyLock::new(load);

/// `text::key`s of the 町域, aligned with `TABLE.rows`; built on the first address check.
static TOWN_KEYS: LazyLock<KeyArena> =
    LazyLock::new(|| KeyArena::build(TABLE.rows.iter().map(|e| e.town)));

fn municipality(file: &str, n: usize, lg: &str) -> &'static Municipality {
    municipalities::get_by_number(number(file, n, lg)).unwrap_or_else(|| {
        panic!("data/{file}:{n}: municipality {lg} is not in municipalities.tsv")
    })
}

fn load() -> Table {
    const AREA: &str = "postal.tsv.gz";
    const OFFICE: &str = "postal_office.tsv.gz";
    let area = gunzip(AREA, data_file!("postal.tsv.gz"));
    let office = gunzip(OFFICE, data_file!("postal_office.tsv.gz"));
    let mut out = Vec::with_capacity(150_000);
    for (n, line) in rows(area) {
        let [code, lg, town, town_kana, note] = fields(AREA, n, line, '\t');
        out.push(PostalEntry {
            code: number(AREA, n, code),
            index: 0,
            municipality: municipality(AREA, n, lg),
            town,
            town_kana,
            note,
            office: None,
        });
    }
    for (n, line) in rows(office) {
        let [code, lg, name, name_kana, town, banchi, po_box] = fields(OFFICE, n, line, '\t');
        out.push(PostalEntry {
            code: number(OFFICE, n, code),
            index: 0,
            municipality: municipality(OFFICE, n, lg),
            town,
            town_kana: "",
            note: "",
            office: Some(Office {
                name,
                name_kana,
                banchi,
                po_box: po_box == "1",
            }),
        });
    }
    // Stable: keeps the files' order within a code (KEN_ALL's order of 町域).
    out.sort_by_key(|e| e.code);
    for (i, e) in out.iter_mut().enumerate() {
        e.index = i as u32;
    }
    let mut by_municipality: Vec<u32> = (0..out.len() as u32)
        .filter(|&i| out.get(i as usize).is_some_and(|e| e.office.is_none()))
        .collect();
    by_municipality.sort_by_key(|&i| out.get(i as usize).map(|e| e.municipality.code));
    Table {
        rows: out,
        by_municipality,
    }
}

/// Every row for a postal code: usually one, several where one code covers several 町域 (or a
/// few straddle a municipal border), none for an unknown code.
pub fn lookup(code: PostalCode) -> &'static [PostalEntry] {
    let rows = &TABLE.rows;
    let n = code.as_u32();
    let start = rows.partition_point(|e| e.code < n);
    let end = rows.partition_point(|e| e.code <= n);
    rows.get(start..end).unwrap_or_default()
}

/// Every row, sorted by postal code.
pub fn all() -> &'static [PostalEntry] {
    &TABLE.rows
}

/// The KEN_ALL rows (not offices) of a municipality: its 町域 as Japan Post lists them.
pub fn areas_in(municipality: MunicipalityCode) -> impl Iterator<Item = &'static PostalEntry> {
    areas_with_keys(municipality).map(|(e, _)| e)
}

/// [`areas_in`] with the `text::key` of each 町域.
pub(crate) fn areas_with_keys(
    municipality: MunicipalityCode,
) -> impl Iterator<Item = (&'static PostalEntry, &'static str)> {
    let table = &*TABLE;
    let keys = &*TOWN_KEYS;
    let index = &table.by_municipality;
    let code_of = move |i: &u32| table.rows.get(*i as usize).map(|e| e.municipality.code);
    let start = index.partition_point(|i| code_of(i) < Some(municipality));
    let end = index.partition_point(|i| code_of(i) <= Some(municipality));
    index
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .filter_map(move |&i| Some((table.rows.get(i as usize)?, keys.get(i as usize))))
}

/// The `text::key` of an entry's 町域 (the entry must come from this table).
pub(crate) fn town_key(entry: &PostalEntry) -> &'static str {
    TOWN_KEYS.get(entry.index as usize)
}

pub(crate) fn force() {
    LazyLock::force(&TABLE);
    LazyLock::force(&TOWN_KEYS);
}
