//! 保険医療機関番号確認 and the NDB preprint (DOMAIN §4.3, S0 Q15–Q16): which day the
//! insurance-code master is matched as of, which 年度's counts a 定期報告 preprints, what the
//! facility typed and what the check found (`InsuranceCodeCheck`, stored on the report), the
//! preprint itself (`prefill`: the counts into the item set's coded lists with a count flag, as
//! answers the facility still checks), and the two import files with their line-numbered errors.
//!
//! The files are CSV in UTF-8 (with or without BOM) with a header row; columns are found by name
//! (Japanese or English, NFKC-folded, in any order; other columns are ignored):
//!
//! | file | column | |
//! |---|---|---|
//! | master | `保険医療機関コード` (`insurance_code`) | 10 digits with a valid check digit; 9 digits are read as a code whose leading 0 a spreadsheet dropped |
//! | master | `名称` (`name`) | required |
//! | master | `所在地` (`address`) | optional |
//! | master | `機関区分` (`kind`) | optional: 1–5 or 病院・診療所・歯科診療所・助産所・薬局 |
//! | preprint | `保険医療機関コード` (`insurance_code`) | as above |
//! | preprint | `項目コード` (`item_code`) | the 疾患・治療 code, up to 5 digits (`7` is `00007`) |
//! | preprint | `件数` (`count`, `前年度実施件数`) | a whole number ≥ 0 (`1,234` and 全角 digits are read) |

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::codes::{CodeError, FacilityKind, FeeSchedule, InsuranceCode, PrefectureCode};
use crate::forms::{Answers, Catalogue, CodedAnswer, Item, ItemKind, ItemSet, Section, Value};
use crate::text::date_ja;
use crate::text::{code_chars, fold_text, nfkc};

/// The seed's message when a number is not in the master (S0 Q15), shown exactly.
pub const MATCH_FAILED: &str = "データベースとの照合に失敗しました。";

/// The seed's message when the master knows the number but NDB has no counts for it (S0 Q15).
pub const NO_PREPRINT: &str =
    "対応可能な疾患、治療の内容に関する前年度実施件数の情報がありません。";

/// The day the master is matched as of for the 定期報告 of `fiscal_year`: 31 March at the start
/// of that 年度, the end of the previous one (S0 Q15: the 令和6年度 cycle asks for the number
/// as of 令和6年3月末).
pub fn master_date(fiscal_year: u16) -> NaiveDate {
    NaiveDate::from_ymd_opt(i32::from(fiscal_year), 3, 31).unwrap_or(NaiveDate::MIN)
}

/// The 年度 whose counts the 定期報告 of `fiscal_year` preprints: the one before (前年度実施件数).
pub fn counts_year(fiscal_year: u16) -> u16 {
    fiscal_year.saturating_sub(1)
}

/// What the 保険医療機関番号確認 of a 定期報告 found, kept on the report (DOMAIN glossary:
/// `InsuranceCodeCheck`). Stored as `skipped` or the matched codes joined by `,`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsuranceCodeCheck {
    /// 「スキップする」: no check, no preprint. The facility's next 定期報告 starts without
    /// asking (S0 Q16), until a report with a check follows.
    Skipped,
    /// The codes matched the master (two for a facility with 医科 and 歯科).
    Matched(Vec<InsuranceCode>),
}

impl InsuranceCodeCheck {
    pub fn stored(&self) -> String {
        match self {
            Self::Skipped => "skipped".to_owned(),
            Self::Matched(codes) => codes
                .iter()
                .map(InsuranceCode::as_str)
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The stored form back; `None` for anything this version did not write.
    pub fn parse_stored(s: &str) -> Option<Self> {
        if s == "skipped" {
            return Some(Self::Skipped);
        }
        let codes: Option<Vec<InsuranceCode>> =
            s.split(',').map(|c| InsuranceCode::parse(c).ok()).collect();
        codes.filter(|c| !c.is_empty()).map(Self::Matched)
    }

    pub fn is_skipped(&self) -> bool {
        matches!(self, Self::Skipped)
    }

    /// `skipped` or `matched`, for audit details.
    pub fn id(&self) -> &'static str {
        match self {
            Self::Skipped => "skipped",
            Self::Matched(_) => "matched",
        }
    }
}

/// Which of the two number fields a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryField {
    /// The number (医科, or 歯科 for a 歯科診療所).
    First,
    /// The other one of a facility with both 医科 and 歯科.
    Second,
}

/// Why what was typed is not a number to look up. `code()` is stable; `Display` is the message
/// beside the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryError {
    /// Not a valid 10-digit code (format, prefecture, 点数区分, check digit).
    Code(CodeError),
    /// A 薬局 code (点数区分 4): the preprint is of 医科・歯科 claims.
    Pharmacy(String),
    /// Both fields hold codes of the same 点数区分.
    SameFeeSchedule(FeeSchedule),
}

impl EntryError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Code(e) => e.code(),
            Self::Pharmacy(_) => "insurance_check.pharmacy_code",
            Self::SameFeeSchedule(_) => "insurance_check.same_fee_schedule",
        }
    }
}

impl std::fmt::Display for EntryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(e) => e.fmt(f),
            Self::Pharmacy(code) => write!(
                f,
                "{code} は薬局の番号（点数区分番号 4）です。医療機関の番号（医科 1、歯科 3）を入力してください。"
            ),
            Self::SameFeeSchedule(fs) => write!(
                f,
                "2つの番号がどちらも{}の番号です。2つ目の欄は、医科と歯科の両方の番号をお持ちの場合に、もう一方の番号を入力してください。",
                fs.name()
            ),
        }
    }
}

/// The numbers typed on the 番号確認 page: the first is required, the second (the other 点数区分
/// of a facility with 医科 and 歯科) optional. Every problem is returned, each with its field.
pub fn entered(
    first: &str,
    second: &str,
) -> Result<Vec<InsuranceCode>, Vec<(EntryField, EntryError)>> {
    let mut errors = Vec::new();
    let mut codes = Vec::new();
    for (field, typed) in [(EntryField::First, first), (EntryField::Second, second)] {
        if field == EntryField::Second && code_chars(typed).is_empty() {
            continue;
        }
        match InsuranceCode::parse(typed) {
            Ok(c) if c.fee_schedule() == FeeSchedule::Pharmacy => {
                errors.push((field, EntryError::Pharmacy(c.as_str().to_owned())));
            }
            Ok(c) => codes.push(c),
            Err(e) => errors.push((field, EntryError::Code(e))),
        }
    }
    if let [a, b] = codes.as_slice()
        && a.fee_schedule() == b.fee_schedule()
    {
        errors.push((
            EntryField::Second,
            EntryError::SameFeeSchedule(a.fee_schedule()),
        ));
    }
    if errors.is_empty() {
        Ok(codes)
    } else {
        Err(errors)
    }
}

/// Why a well-formed number did not match (the page shows [`MATCH_FAILED`] and this detail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The master as of the day does not list it.
    NotListed { code: String, as_of: NaiveDate },
    /// No master of the code's prefecture is loaded for the day.
    NoMaster {
        prefecture: PrefectureCode,
        as_of: NaiveDate,
    },
    /// A code of another prefecture than the facility's.
    OtherPrefecture {
        code: String,
        prefecture: PrefectureCode,
    },
    /// Teikyo's facility master lists the code for another facility (its counts are not this
    /// facility's to preprint).
    OtherFacility { code: String },
}

impl Mismatch {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotListed { .. } => "insurance_check.not_listed",
            Self::NoMaster { .. } => "insurance_check.no_master",
            Self::OtherPrefecture { .. } => "insurance_check.other_prefecture",
            Self::OtherFacility { .. } => "insurance_check.other_facility",
        }
    }

    /// What the facility can do about it, after the seed's message.
    pub fn detail(&self) -> String {
        match self {
            Self::NotListed { code, as_of } => format!(
                "{code} は{}時点の保険医療機関の一覧にありません。番号をお確かめのうえ、{}時点の保険医療機関番号を入力してください。",
                date_ja(*as_of),
                date_ja(*as_of)
            ),
            Self::NoMaster { prefecture, as_of } => format!(
                "{}の{}時点の照合用データがまだ登録されていません。時間をおいてお試しいただくか、プレプリントなしで始める場合は「スキップする」を押してください。",
                prefecture.name(),
                date_ja(*as_of)
            ),
            Self::OtherPrefecture { code, prefecture } => format!(
                "{code} は{}の番号です（先頭2桁は都道府県番号です）。貴機関の所在地の都道府県の番号を入力してください。",
                prefecture.name()
            ),
            Self::OtherFacility { code } => format!(
                "{code} は別の機関の保険医療機関番号として登録されています。番号をお確かめください。登録が誤っている場合は、都道府県の担当課にお問い合わせください。"
            ),
        }
    }
}

// ---- the preprint ----

/// One count of the NDB file: a code's 前年度実施件数 of one 疾患・治療 item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreprintCount {
    pub code: InsuranceCode,
    /// The 疾患・治療 code, 5 digits (`00007`).
    pub item: String,
    pub count: u32,
}

/// The counts of several codes (医科 and 歯科) per item, added up.
pub fn counts_by_item(rows: &[PreprintCount]) -> BTreeMap<String, u32> {
    let mut out: BTreeMap<String, u32> = BTreeMap::new();
    for r in rows {
        let n = out.entry(r.item.clone()).or_default();
        *n = n.saturating_add(r.count);
    }
    out
}

/// The coded lists of an item set that carry counts (`count_flag`), with their sections: where
/// the preprint goes (2.(1) 疾患・治療). An item set without any has nothing to preprint, so its
/// 定期報告 starts without the 番号確認 (薬局, 助産所).
pub fn preprint_targets(set: &ItemSet) -> Vec<(&Section, &Item)> {
    set.sections
        .iter()
        .flat_map(|s| s.items.iter().map(move |i| (s, i)))
        .filter(|(_, i)| {
            matches!(
                &i.kind,
                ItemKind::CodedList {
                    count_flag: Some(_),
                    ..
                }
            )
        })
        .collect()
}

/// The preprint of one section: its answers with the counts filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct NdbPrefill {
    pub section: String,
    pub answers: Answers,
    /// Codes of the list that got a count (or 対応可能) from NDB.
    pub filled: Vec<String>,
}

/// Fills `counts` into every coded list of `set` with a count flag, starting from `start` (the
/// report's answers so far: the last confirmed report carried over, so nothing else of the
/// section is lost). A code with a count above 0 becomes 対応可能 — it was done last year — with
/// its count where the code carries the flag; a count of 0 only fills the count of a code
/// already answered 対応可能 (NDB cannot say a facility is able to do what it did not do).
/// Codes the list does not have are left out (the import reports them). Sections with nothing
/// filled are not returned.
pub fn prefill(
    catalogue: &Catalogue,
    set: &ItemSet,
    start: &Answers,
    counts: &BTreeMap<String, u32>,
) -> Vec<NdbPrefill> {
    let mut out: Vec<NdbPrefill> = Vec::new();
    for (section, item) in preprint_targets(set) {
        let ItemKind::CodedList {
            codes,
            count_flag: Some(flag),
        } = &item.kind
        else {
            continue;
        };
        let Some(list) = catalogue.code_lists.get(codes) else {
            continue;
        };
        let mut coded = match start.get(item.id.as_str()) {
            Some(Value::Coded(m)) => m.clone(),
            _ => BTreeMap::new(),
        };
        let mut filled = Vec::new();
        for (code, n) in counts {
            let Some(c) = list.get(code) else { continue };
            let counted = c.flags.contains(flag);
            let before = coded.get(code).cloned();
            let available = *n > 0 || before.as_ref().is_some_and(|b| b.available);
            if !available {
                continue;
            }
            coded.insert(
                code.clone(),
                CodedAnswer {
                    available: true,
                    count: if counted {
                        Some(*n)
                    } else {
                        before.and_then(|b| b.count)
                    },
                },
            );
            filled.push(code.clone());
        }
        if filled.is_empty() {
            continue;
        }
        let entry = match out.iter_mut().position(|p| p.section == section.id) {
            Some(i) => &mut out[i],
            None => {
                out.push(NdbPrefill {
                    section: section.id.clone(),
                    answers: start.of_section(section),
                    filled: Vec::new(),
                });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        entry.answers.set(item.id.as_str(), Value::Coded(coded));
        entry.filled.extend(filled);
    }
    out
}

// ---- the import files ----

/// One facility of the insurance-code master (the 厚生局's lists as of a day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterEntry {
    pub code: InsuranceCode,
    pub name: String,
    pub address: Option<String>,
    /// 機関区分 where the file gives it (the lists say 医科・歯科・薬局, which the code's 点数区分
    /// already tells; whether a 医科 code is a 病院 or a 診療所 they say only by its beds).
    pub kind: Option<FacilityKind>,
}

/// What is wrong with a line of an import file. `code()` is stable; `Display` is Japanese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not UTF-8.
    Encoding,
    /// The csv reader could not read the line (an unclosed quote, …).
    Unreadable(String),
    /// Required columns missing from the header.
    MissingColumns(Vec<&'static str>),
    /// A row with another number of fields than the header.
    FieldCount {
        expected: usize,
        found: usize,
    },
    Empty,
    Code(CodeError),
    Kind(CodeError),
    ItemCode(String),
    Count(String),
    /// The same key as an earlier line.
    Duplicate {
        first_line: u64,
    },
    NoRows,
}

impl Problem {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Encoding => "ndb_file.encoding",
            Self::Unreadable(_) => "ndb_file.unreadable",
            Self::MissingColumns(_) => "ndb_file.missing_columns",
            Self::FieldCount { .. } => "ndb_file.field_count",
            Self::Empty => "ndb_file.empty",
            Self::Code(_) => "ndb_file.insurance_code",
            Self::Kind(_) => "ndb_file.kind",
            Self::ItemCode(_) => "ndb_file.item_code",
            Self::Count(_) => "ndb_file.count",
            Self::Duplicate { .. } => "ndb_file.duplicate",
            Self::NoRows => "ndb_file.no_rows",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Encoding => f.write_str(
                "文字コードが UTF-8 ではありません。Shift_JIS などの場合は UTF-8 で保存し直してください。",
            ),
            Self::Unreadable(why) => write!(
                f,
                "行を読めません（{why}）。引用符（\"）の閉じ忘れがないかご確認ください。"
            ),
            Self::MissingColumns(cols) => write!(
                f,
                "見出し行に必要な列 {} がありません。1行目に列名を書いてください。",
                cols.iter()
                    .map(|c| format!("「{c}」"))
                    .collect::<String>()
            ),
            Self::FieldCount { expected, found } => write!(
                f,
                "列の数が {expected} ではなく {found} です。引用符（\"）の閉じ忘れやカンマの過不足がないかご確認ください。"
            ),
            Self::Empty => f.write_str("空欄です。"),
            Self::Code(e) | Self::Kind(e) => e.fmt(f),
            Self::ItemCode(s) => write!(
                f,
                "項目コード「{s}」は5桁までの数字ではありません（例: 00007）。"
            ),
            Self::Count(s) => write!(f, "件数「{s}」は0以上の整数ではありません。"),
            Self::Duplicate { first_line } => {
                write!(f, "{first_line}行目と同じ内容が重複しています。")
            }
            Self::NoRows => f.write_str("データの行がありません。"),
        }
    }
}

/// A problem with where it is: the line (1 = the header) and the column, if one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub line: u64,
    pub column: Option<&'static str>,
    pub problem: Problem,
}

impl FileError {
    pub fn code(&self) -> &'static str {
        self.problem.code()
    }
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.column {
            Some(c) => write!(f, "{}行目 [{c}] {}", self.line, self.problem),
            None => write!(f, "{}行目 {}", self.line, self.problem),
        }
    }
}

/// A column: its name in messages and the header names it is found by.
struct Column {
    name: &'static str,
    aliases: &'static [&'static str],
    required: bool,
}

const CODE: Column = Column {
    name: "保険医療機関コード",
    aliases: &["保険医療機関コード", "保険医療機関番号", "insurance_code"],
    required: true,
};
const NAME: Column = Column {
    name: "名称",
    aliases: &["名称", "name"],
    required: true,
};
const ADDRESS: Column = Column {
    name: "所在地",
    aliases: &["所在地", "address"],
    required: false,
};
const KIND: Column = Column {
    name: "機関区分",
    aliases: &["機関区分", "kind"],
    required: false,
};
const ITEM: Column = Column {
    name: "項目コード",
    aliases: &["項目コード", "item_code"],
    required: true,
};
const COUNT: Column = Column {
    name: "件数",
    aliases: &["件数", "前年度実施件数", "count"],
    required: true,
};

/// The column names of the master file, in the order `teikyo import --help` lists them.
pub const MASTER_COLUMNS: [&str; 4] = [CODE.name, NAME.name, ADDRESS.name, KIND.name];
/// The column names of the preprint file.
pub const PREPRINT_COLUMNS: [&str; 3] = [CODE.name, ITEM.name, COUNT.name];

/// A file's rows with their line numbers and the position of each wanted column.
struct Table {
    rows: Vec<(u64, csv::StringRecord)>,
    positions: Vec<Option<usize>>,
}

impl Table {
    fn get<'r>(&self, rec: &'r csv::StringRecord, col: usize) -> Option<&'r str> {
        self.positions[col]
            .and_then(|i| rec.get(i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// Reads the header and every row; everything unreadable is reported with its line.
fn read(bytes: &[u8], columns: &[Column]) -> Result<Table, Vec<FileError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        return Err(vec![FileError {
            line: u64::try_from(line).unwrap_or(u64::MAX),
            column: None,
            problem: Problem::Encoding,
        }]);
    }
    // csv counts a CRLF as two line ends in its positions; Excel writes CRLF, so fold it first
    // and the line numbers are the ones an editor shows.
    let folded: Vec<u8>;
    let bytes = if bytes.windows(2).any(|w| w == b"\r\n") {
        folded = fold_crlf(bytes);
        &folded[..]
    } else {
        bytes
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = reader.headers().map_err(|e| {
        vec![FileError {
            line: 1,
            column: None,
            problem: Problem::Unreadable(e.to_string()),
        }]
    })?;
    let names: Vec<String> = header.iter().map(|h| nfkc(h.trim())).collect();
    let positions: Vec<Option<usize>> = columns
        .iter()
        .map(|c| {
            names
                .iter()
                .position(|n| c.aliases.iter().any(|a| nfkc(a) == *n))
        })
        .collect();
    let missing: Vec<&'static str> = columns
        .iter()
        .zip(&positions)
        .filter(|(c, p)| c.required && p.is_none())
        .map(|(c, _)| c.name)
        .collect();
    if !missing.is_empty() {
        return Err(vec![FileError {
            line: 1,
            column: None,
            problem: Problem::MissingColumns(missing),
        }]);
    }
    let width = names.len();
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        match record {
            Ok(rec) => {
                let line = rec.position().map_or(0, csv::Position::line);
                if rec.iter().all(|f| f.trim().is_empty()) {
                    continue; // the blank rows a spreadsheet leaves at the end
                }
                if rec.len() != width {
                    errors.push(FileError {
                        line,
                        column: None,
                        problem: Problem::FieldCount {
                            expected: width,
                            found: rec.len(),
                        },
                    });
                    continue;
                }
                rows.push((line, rec));
            }
            Err(e) => errors.push(FileError {
                line: e.position().map_or(0, csv::Position::line),
                column: None,
                problem: Problem::Unreadable(e.to_string()),
            }),
        }
    }
    if errors.is_empty() && rows.is_empty() {
        errors.push(FileError {
            line: 2,
            column: None,
            problem: Problem::NoRows,
        });
    }
    if errors.is_empty() {
        Ok(Table { rows, positions })
    } else {
        Err(errors)
    }
}

fn fold_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(*b);
    }
    out
}

/// A code from a file: 10 digits, or 9 when a spreadsheet dropped the leading 0 of 01–09.
fn file_code(s: &str) -> Result<InsuranceCode, CodeError> {
    let digits = code_chars(s);
    if digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
        InsuranceCode::parse(&format!("0{digits}"))
    } else {
        InsuranceCode::parse(s)
    }
}

/// Reads and checks the insurance-code master file: all rows, or every problem.
pub fn parse_master(bytes: &[u8]) -> Result<Vec<MasterEntry>, Vec<FileError>> {
    const C: usize = 0;
    const N: usize = 1;
    const A: usize = 2;
    const K: usize = 3;
    let table = read(bytes, &[CODE, NAME, ADDRESS, KIND])?;
    let mut out = Vec::with_capacity(table.rows.len());
    let mut errors = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::with_capacity(table.rows.len());
    for (line, rec) in &table.rows {
        let line = *line;
        let mut err = |column: &'static str, problem| {
            errors.push(FileError {
                line,
                column: Some(column),
                problem,
            })
        };
        let code = match table.get(rec, C).map(file_code) {
            None => {
                err(CODE.name, Problem::Empty);
                None
            }
            Some(Err(e)) => {
                err(CODE.name, Problem::Code(e));
                None
            }
            Some(Ok(c)) => Some(c),
        };
        let name = table.get(rec, N).map(fold_text);
        if name.is_none() {
            err(NAME.name, Problem::Empty);
        }
        let kind = match table.get(rec, K).map(FacilityKind::parse) {
            Some(Err(e)) => {
                err(KIND.name, Problem::Kind(e));
                None
            }
            Some(Ok(k)) => Some(k),
            None => None,
        };
        if let Some(c) = &code {
            if let Some(first) = seen.get(c.as_str()) {
                err(CODE.name, Problem::Duplicate { first_line: *first });
                continue;
            }
            seen.insert(c.as_str().to_owned(), line);
        }
        if let (Some(code), Some(name)) = (code, name) {
            out.push(MasterEntry {
                code,
                name,
                address: table.get(rec, A).map(fold_text),
                kind,
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Reads and checks the NDB preprint file: all rows, or every problem.
pub fn parse_preprint(bytes: &[u8]) -> Result<Vec<PreprintCount>, Vec<FileError>> {
    const C: usize = 0;
    const I: usize = 1;
    const N: usize = 2;
    let table = read(bytes, &[CODE, ITEM, COUNT])?;
    let mut out = Vec::with_capacity(table.rows.len());
    let mut errors = Vec::new();
    let mut seen: HashMap<(String, String), u64> = HashMap::with_capacity(table.rows.len());
    for (line, rec) in &table.rows {
        let line = *line;
        let mut err = |column: &'static str, problem| {
            errors.push(FileError {
                line,
                column: Some(column),
                problem,
            })
        };
        let code = match table.get(rec, C).map(file_code) {
            None => {
                err(CODE.name, Problem::Empty);
                None
            }
            Some(Err(e)) => {
                err(CODE.name, Problem::Code(e));
                None
            }
            Some(Ok(c)) => Some(c),
        };
        let item = match table.get(rec, I) {
            None => {
                err(ITEM.name, Problem::Empty);
                None
            }
            Some(s) => {
                let digits = code_chars(s);
                if (1..=5).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
                    Some(format!("{digits:0>5}"))
                } else {
                    err(ITEM.name, Problem::ItemCode(s.to_owned()));
                    None
                }
            }
        };
        let count = match table.get(rec, N) {
            None => {
                err(COUNT.name, Problem::Empty);
                None
            }
            // Not `code_chars`: it drops hyphens, and a minus sign must not vanish.
            Some(s) => match nfkc(s).trim().replace(',', "").parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    err(COUNT.name, Problem::Count(s.to_owned()));
                    None
                }
            },
        };
        let (Some(code), Some(item), Some(count)) = (code, item, count) else {
            continue;
        };
        let key = (code.as_str().to_owned(), item.clone());
        if let Some(first) = seen.get(&key) {
            err(ITEM.name, Problem::Duplicate { first_line: *first });
            continue;
        }
        seen.insert(key, line);
        out.push(PreprintCount { code, item, count });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> InsuranceCode {
        InsuranceCode::parse(s).unwrap()
    }

    #[test]
    fn dates_follow_the_seed() {
        // S0 Q15, written for the 令和6年度 cycle: 「令和6年3月末時点の保険医療機関番号」.
        assert_eq!(
            master_date(2024),
            NaiveDate::from_ymd_opt(2024, 3, 31).unwrap()
        );
        // The 令和7年度 定期報告 preprints 令和6年度's counts (DOMAIN §4.1).
        assert_eq!(counts_year(2025), 2024);
    }

    #[test]
    fn the_check_round_trips_through_its_stored_form() {
        let both = InsuranceCodeCheck::Matched(vec![code("0110113719"), code("1310110049")]);
        assert_eq!(both.stored(), "0110113719,1310110049");
        assert_eq!(
            InsuranceCodeCheck::parse_stored(&both.stored()),
            Some(both.clone())
        );
        assert_eq!(
            InsuranceCodeCheck::parse_stored("skipped"),
            Some(InsuranceCodeCheck::Skipped)
        );
        assert_eq!(InsuranceCodeCheck::parse_stored(""), None);
        assert_eq!(InsuranceCodeCheck::parse_stored("0110113718"), None);
    }

    #[test]
    fn entered_numbers_are_checked_before_the_master() {
        assert_eq!(
            entered("０１１０１１３７１９", "").unwrap(),
            vec![code("0110113719")]
        );
        let errs = entered("0110113718", "").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, EntryField::First);
        assert_eq!(errs[0].1.code(), "insurance_code.check_digit");
        assert!(errs[0].1.to_string().contains("検証番号"), "{}", errs[0].1);
        // 医科 and 歯科 together; two 医科 codes are refused on the second field.
        let medical = "0110113719";
        let dental = format!("013011338{}", luhn_digit("013011338"));
        let ok = entered(medical, &dental);
        assert!(ok.is_ok(), "{ok:?}");
        let errs = entered(medical, "0110113420").unwrap_err();
        assert_eq!(errs[0].1.code(), "insurance_check.same_fee_schedule");
        let pharmacy = format!("014011337{}", luhn_digit("014011337"));
        let errs = entered(&pharmacy, "").unwrap_err();
        assert_eq!(errs[0].1.code(), "insurance_check.pharmacy_code");
        assert_eq!(entered("", "").unwrap_err()[0].1.code(), "code.empty");
    }

    /// The standard check digit of a 9-digit payload (the test's own, to build codes).
    fn luhn_digit(payload: &str) -> u32 {
        let sum: u32 = payload
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                let p = if i % 2 == 0 { d * 2 } else { d };
                p / 10 + p % 10
            })
            .sum();
        (10 - sum % 10) % 10
    }

    #[test]
    fn master_file_is_read_by_header_names() {
        let file = "\u{FEFF}名称,保険医療機関コード,所在地,機関区分,備考\r\n\
                    金沢中央病院,0110113719,石川県金沢市広坂１－１,病院,x\r\n\
                    \"小松歯科\",110113420,,,\r\n\
                    ,,,,\r\n";
        let rows = parse_master(file.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].code.as_str(), "0110113719");
        assert_eq!(rows[0].address.as_deref(), Some("石川県金沢市広坂1-1"));
        assert_eq!(rows[0].kind, Some(FacilityKind::Hospital));
        // A spreadsheet dropped the leading 0.
        assert_eq!(rows[1].code.as_str(), "0110113420");
        assert_eq!(rows[1].address, None);
        // English headers, no BOM, LF.
        let rows = parse_master(b"insurance_code,name\n0110113719,A\n").unwrap();
        assert_eq!(rows[0].name, "A");
    }

    #[test]
    fn master_file_errors_name_line_and_column() {
        let file = "保険医療機関コード,名称,機関区分\r\n\
                    0110113719,A,1\r\n\
                    0110113718,B,1\r\n\
                    0110113719,C,9\r\n\
                    0110113420,,2\r\n";
        let errs = parse_master(file.as_bytes()).unwrap_err();
        let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 4, "{shown:#?}");
        assert_eq!(
            (errs[0].line, errs[0].code()),
            (3, "ndb_file.insurance_code")
        );
        assert_eq!((errs[1].line, errs[1].code()), (4, "ndb_file.kind"));
        assert_eq!((errs[2].line, errs[2].code()), (4, "ndb_file.duplicate"));
        assert!(shown[2].contains("2行目と同じ"), "{}", shown[2]);
        assert_eq!((errs[3].line, errs[3].code()), (5, "ndb_file.empty"));
        assert!(shown[3].starts_with("5行目 [名称]"), "{}", shown[3]);
        let missing = parse_master("名称\nA\n".as_bytes()).unwrap_err();
        assert_eq!(missing[0].code(), "ndb_file.missing_columns");
        assert!(missing[0].to_string().contains("「保険医療機関コード」"));
        let sjis = b"\x95\xdb\x8c\xaf,name\n";
        assert_eq!(
            parse_master(sjis).unwrap_err()[0].code(),
            "ndb_file.encoding"
        );
        let none = parse_master("保険医療機関コード,名称\r\n".as_bytes()).unwrap_err();
        assert_eq!(none[0].code(), "ndb_file.no_rows");
        let ragged = parse_master("保険医療機関コード,名称\n0110113719,A,x\n".as_bytes());
        assert_eq!(ragged.unwrap_err()[0].code(), "ndb_file.field_count");
    }

    #[test]
    fn preprint_file_pads_item_codes_and_refuses_duplicates() {
        let file = "保険医療機関コード,項目コード,件数\n\
                    0110113719,7,\"1,234\"\n\
                    0110113719,00009,０\n\
                    0110113719,00007,3\n\
                    0110113719,123456,1\n\
                    0110113719,00008,-1\n";
        let errs = parse_preprint(file.as_bytes()).unwrap_err();
        let lines: Vec<(u64, &str)> = errs.iter().map(|e| (e.line, e.code())).collect();
        assert_eq!(
            lines,
            vec![
                (4, "ndb_file.duplicate"),
                (5, "ndb_file.item_code"),
                (6, "ndb_file.count")
            ]
        );
        let ok =
            parse_preprint(b"insurance_code,item_code,count\n0110113719,7,\"1,234\"\n").unwrap();
        assert_eq!(
            ok,
            vec![PreprintCount {
                code: code("0110113719"),
                item: "00007".into(),
                count: 1234
            }]
        );
    }

    fn catalogue() -> Catalogue {
        use crate::forms::{Code, CodeList};
        let item = |id: &str, flag: Option<&str>| Item {
            id: crate::forms::ItemId(id.into()),
            label: id.into(),
            help: None,
            kind: ItemKind::CodedList {
                codes: "treatments".into(),
                count_flag: flag.map(str::to_owned),
            },
            required: false,
            visible_if: None,
        };
        let section = Section {
            id: "services".into(),
            number: "2.(1)".into(),
            title: "診療内容".into(),
            bulk_complete: false,
            low_risk: vec![],
            items: vec![item("services.treatments", Some("prior_fy_count"))],
            rules: vec![],
        };
        let set = ItemSet {
            id: "2025-clinic".into(),
            fiscal_year: 2025,
            kind: FacilityKind::Clinic,
            sections: vec![section],
        };
        let list = CodeList {
            id: "treatments".into(),
            name: "疾患・治療".into(),
            provisional: true,
            source: "test".into(),
            codes: vec![
                Code {
                    code: "00007".into(),
                    label: "頸部動脈血栓内膜剥離術".into(),
                    flags: vec!["prior_fy_count".into()],
                },
                Code {
                    code: "00009".into(),
                    label: "皮膚悪性腫瘍化学療法".into(),
                    flags: vec![],
                },
                Code {
                    code: "00010".into(),
                    label: "その他".into(),
                    flags: vec!["prior_fy_count".into()],
                },
            ],
        };
        Catalogue {
            item_sets: [(set.id.clone(), set)].into(),
            code_lists: [(list.id.clone(), list)].into(),
        }
    }

    #[test]
    fn prefill_fills_counts_over_what_was_carried() {
        let cat = catalogue();
        let set = &cat.item_sets["2025-clinic"];
        assert_eq!(preprint_targets(set).len(), 1);
        let rows = vec![
            PreprintCount {
                code: code("0110113719"),
                item: "00007".into(),
                count: 12,
            },
            PreprintCount {
                code: code("0110113420"),
                item: "00007".into(),
                count: 3,
            },
            PreprintCount {
                code: code("0110113719"),
                item: "00009".into(),
                count: 4,
            },
            PreprintCount {
                code: code("0110113719"),
                item: "00010".into(),
                count: 0,
            },
            PreprintCount {
                code: code("0110113719"),
                item: "99999".into(),
                count: 8,
            },
        ];
        let counts = counts_by_item(&rows);
        assert_eq!(counts["00007"], 15);
        // Nothing carried: 00010 with 0 is not made 対応可能, 99999 is not in the list.
        let out = prefill(&cat, set, &Answers::default(), &counts);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].section, "services");
        assert_eq!(out[0].filled, vec!["00007", "00009"]);
        let Some(Value::Coded(m)) = out[0].answers.get("services.treatments") else {
            panic!("coded answers");
        };
        assert_eq!(
            m["00007"],
            CodedAnswer {
                available: true,
                count: Some(15)
            }
        );
        // No count for a code without the flag (the validator would refuse it).
        assert_eq!(
            m["00009"],
            CodedAnswer {
                available: true,
                count: None
            }
        );
        assert!(!m.contains_key("00010"));
        // Carried over: last year's 対応可能 00010 gets this year's 0.
        let mut start = Answers::default();
        start.set(
            "services.treatments",
            Value::Coded(
                [(
                    "00010".to_owned(),
                    CodedAnswer {
                        available: true,
                        count: Some(5),
                    },
                )]
                .into(),
            ),
        );
        start.set("basic.name", Value::Text("他の節".into()));
        let out = prefill(&cat, set, &start, &counts);
        let Some(Value::Coded(m)) = out[0].answers.get("services.treatments") else {
            panic!("coded answers");
        };
        assert_eq!(m["00010"].count, Some(0));
        assert!(
            out[0].answers.get("basic.name").is_none(),
            "only the section"
        );
        // No counts: nothing to preprint.
        assert!(prefill(&cat, set, &start, &BTreeMap::new()).is_empty());
    }

    #[test]
    fn mismatch_details_say_what_to_do() {
        let as_of = master_date(2025);
        let m = Mismatch::NotListed {
            code: "0110113719".into(),
            as_of,
        };
        assert_eq!(m.code(), "insurance_check.not_listed");
        assert!(m.detail().contains("2025年3月31日時点"), "{}", m.detail());
        let m = Mismatch::OtherPrefecture {
            code: "0110113719".into(),
            prefecture: PrefectureCode::new(1).unwrap(),
        };
        assert!(m.detail().contains("北海道の番号"), "{}", m.detail());
    }
}
