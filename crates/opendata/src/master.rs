//! The MHLW 施設票 files (all five kinds) read into facility master records. Every row is
//! checked before anything is written; one bad row rejects the whole import (all or nothing),
//! and every bad row is reported with its file and line so that the person fixing the
//! spreadsheet can fix them all in one pass. Used by `teikyo import facilities` (the master
//! only) and `teikyo import opendata` (the master and what the files publish).

use crate::layout::col;
use crate::reference::Reference;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use teikyo_domain::text::{fold_text, nfkc};
use teikyo_domain::{
    CoordinateSource, Coordinates, FacilityKind, FacilityNames, FacilityRecord, InsuranceCode,
    MunicipalityCode, PostalCode, PrefectureCode, PublicFacilityId,
};

/// One rejected row (or file), with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Line 0: about a whole file (or the whole import), not one of its rows.
        let place = match (self.file.is_empty(), self.line) {
            (true, 0) => String::new(),
            (false, 0) => format!("{}: ", self.file),
            (_, line) => format!("{}:{}行目 ", self.file, line),
        };
        match &self.column {
            Some(c) => write!(f, "{place}[{c}] {}", self.message),
            None => write!(f, "{place}{}", self.message),
        }
    }
}

/// A checked row ready to store.
#[derive(Debug, Clone)]
pub struct ParsedRow {
    pub file: String,
    pub line: u64,
    pub record: FacilityRecord,
}

/// Result of checking a set of files.
#[derive(Debug, Default)]
pub struct Checked {
    pub rows: Vec<ParsedRow>,
    pub errors: Vec<RowError>,
    pub lines_read: u64,
}

/// Column positions by header name.
struct Columns {
    index: HashMap<String, usize>,
    len: usize,
}

impl Columns {
    fn get<'r>(&self, rec: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        self.index
            .get(name)
            .and_then(|i| rec.get(*i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// Every column the importer reads.
fn known_columns() -> impl Iterator<Item = &'static str> {
    crate::layout::IDENTITY_COLUMNS
        .into_iter()
        .chain(crate::layout::EXTENSION_COLUMNS)
}

const REQUIRED: [&str; 7] = [
    col::ID,
    col::NAME,
    col::NAME_KANA,
    col::KIND,
    col::PREFECTURE,
    col::MUNICIPALITY,
    col::ADDRESS,
];

/// Checks one file's bytes. `file` is the name used in messages.
pub fn check_file(file: &str, bytes: &[u8], reference: &dyn Reference, out: &mut Checked) {
    check_file_with(file, bytes, reference, out, &mut |_, _, _| Ok(()));
}

/// What [`check_file_with`] hands each well-formed row to: the header, the row and its line;
/// the hook's cell errors are reported with the row's.
pub type RowHook<'a> = dyn FnMut(
        &csv::StringRecord,
        &csv::StringRecord,
        u64,
    ) -> Result<(), Vec<crate::schedule::CellError>>
    + 'a;

/// [`check_file`], also handing every row with the right number of columns to `hook` (the
/// open-data import reads the hours and closure columns in the same pass).
pub fn check_file_with(
    file: &str,
    bytes: &[u8],
    reference: &dyn Reference,
    out: &mut Checked,
    hook: &mut RowHook<'_>,
) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // The csv crate counts a CRLF line end as two lines when it reports positions; the MHLW files
    // use CRLF, so fold it to LF first and the reported line numbers are the ones editors show.
    let folded = fold_crlf(bytes);
    let bytes = folded.as_deref().unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let file_error = |line, message: String| RowError {
        file: file.to_owned(),
        line,
        column: None,
        message,
    };
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            out.errors.push(file_error(
                1,
                format!("見出し行を読めません: {}", csv_reason(&e)),
            ));
            return;
        }
    };
    // Headers as written, plus their NFKC form mapped to the canonical (full-width) names, so a
    // file re-saved with half-width brackets 「正式名称(フリガナ)」 is read all the same.
    let mut index = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        index.entry(h.trim().to_owned()).or_insert(i);
    }
    for (i, h) in headers.iter().enumerate() {
        let folded = nfkc(h.trim());
        for canonical in known_columns().filter(|c| nfkc(c) == folded) {
            index.entry(canonical.to_owned()).or_insert(i);
        }
        // 薬局 files name four identity columns their own way (名称, フリガナ, …).
        for (_, canonical) in crate::layout::aliases().filter(|(own, _)| nfkc(own) == folded) {
            index.entry(canonical.to_owned()).or_insert(i);
        }
    }
    let columns = Columns {
        index,
        len: headers.len(),
    };
    if columns.index.contains_key(col::SPECIALTY_CODE) {
        out.errors.push(file_error(
            1,
            "診療科・診療時間票です。このコマンドは施設票だけを取り込みます。診療科目と診療時間も取り込むには teikyo import opendata をお使いください。".into(),
        ));
        return;
    }
    let missing: Vec<_> = REQUIRED
        .iter()
        .filter(|c| !columns.index.contains_key(**c))
        .map(|c| format!("「{c}」"))
        .collect();
    if !missing.is_empty() {
        out.errors.push(file_error(
            1,
            format!(
                "施設票に必要な列 {} がありません。医療情報ネットのオープンデータ形式のファイルかご確認ください。",
                missing.join("")
            ),
        ));
        return;
    }
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                out.lines_read += 1;
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != columns.len {
                    out.errors.push(file_error(
                        line,
                        format!(
                            "列の数が {} ではなく {} です。引用符（\"）の閉じ忘れやカンマの過不足がないかご確認ください。",
                            columns.len,
                            record.len()
                        ),
                    ));
                    continue;
                }
                if let Err(errs) = hook(&headers, &record, line) {
                    out.errors.extend(errs.into_iter().map(|e| RowError {
                        file: file.to_owned(),
                        line,
                        column: Some(e.column),
                        message: e.message,
                    }));
                }
                match parse_row(&columns, &record, reference) {
                    Ok(r) => out.rows.push(ParsedRow {
                        file: file.to_owned(),
                        line,
                        record: r,
                    }),
                    Err(errs) => {
                        out.errors
                            .extend(errs.into_iter().map(|(column, message)| RowError {
                                file: file.to_owned(),
                                line,
                                column,
                                message,
                            }))
                    }
                }
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.errors.push(file_error(
                    line,
                    format!("行を読めません: {}", csv_reason(&e)),
                ));
                // A broken row cannot be resynchronised reliably; the reader continues where it
                // can (csv recovers at the next record boundary for most errors).
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
    }
}

/// `bytes` with every CR that precedes an LF removed; `None` when there is none.
pub fn fold_crlf(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.windows(2).any(|w| w == b"\r\n") {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut iter = bytes.iter().peekable();
    while let Some(&b) = iter.next() {
        if b == b'\r' && iter.peek() == Some(&&b'\n') {
            continue;
        }
        out.push(b);
    }
    Some(out)
}

pub fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            "文字コードが UTF-8 ではありません（Shift_JIS の場合は UTF-8 で保存し直してください）。"
                .into()
        }
        _ => e.to_string(),
    }
}

type FieldErrors = Vec<(Option<String>, String)>;

fn parse_row(
    c: &Columns,
    rec: &csv::StringRecord,
    reference: &dyn Reference,
) -> Result<FacilityRecord, FieldErrors> {
    let mut errs: FieldErrors = Vec::new();
    let mut err = |column: &str, message: String| errs.push((Some(column.to_owned()), message));
    let text = |name: &str| {
        c.get(rec, name)
            .map(|s| fold_text(&s.replace("（改行）", "\n")))
    };

    // A required code column: its parsed value, or an error naming the column.
    let required = |name: &str, errs: &mut dyn FnMut(&str, String)| -> Option<String> {
        let v = c.get(rec, name).map(str::to_owned);
        if v.is_none() {
            errs(name, format!("{name}が空欄です。"));
        }
        v
    };
    let id = required(col::ID, &mut err).and_then(|s| {
        PublicFacilityId::parse(&s)
            .map_err(|e| err(col::ID, e.to_string()))
            .ok()
    });
    let kind = required(col::KIND, &mut err).and_then(|s| {
        FacilityKind::parse(&s)
            .map_err(|e| err(col::KIND, e.to_string()))
            .ok()
    });
    let prefecture = required(col::PREFECTURE, &mut err).and_then(|s| {
        PrefectureCode::parse(&s)
            .map_err(|e| err(col::PREFECTURE, e.to_string()))
            .ok()
    });
    if let (Some(id), Some(kind), Some(pref)) = (&id, kind, prefecture)
        && (id.kind != kind || id.prefecture != pref)
    {
        err(
            col::ID,
            format!(
                "ID {id} の都道府県・機関区分（{}・{}）が、都道府県コード・機関区分の列（{}・{}）と一致しません。",
                id.prefecture.name(),
                id.kind.name(),
                pref.name(),
                kind.name()
            ),
        );
    }
    let municipality = match (prefecture, c.get(rec, col::MUNICIPALITY)) {
        (_, None) => {
            err(col::MUNICIPALITY, "市区町村コードが空欄です。".into());
            None
        }
        (Some(p), Some(s)) if teikyo_domain::text::code_chars(s).len() == 3 => {
            match MunicipalityCode::from_prefecture_and_three(p, s) {
                Ok(m) => Some(m),
                Err(e) => {
                    err(col::MUNICIPALITY, e.to_string());
                    None
                }
            }
        }
        (_, Some(s)) => match MunicipalityCode::parse(s) {
            Ok(m) => Some(m),
            Err(e) => {
                err(col::MUNICIPALITY, e.to_string());
                None
            }
        },
    };
    if let Some(m) = municipality
        && !reference.municipality_exists(m)
    {
        err(
            col::MUNICIPALITY,
            format!(
                "市区町村コード {m} は現在の市区町村一覧にありません。合併・再編がないかご確認ください。"
            ),
        );
    }
    let postal_code = match c.get(rec, col::POSTAL).map(PostalCode::parse) {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            err(col::POSTAL, e.to_string());
            None
        }
        None => None,
    };
    let mut insurance_codes = Vec::new();
    if let Some(s) = c.get(rec, col::INSURANCE) {
        for part in s
            .split(['|', ';', ' ', '　', '／', '/'])
            .filter(|p| !p.is_empty())
        {
            match InsuranceCode::parse(part) {
                Ok(code) => insurance_codes.push(code),
                Err(e) => err(col::INSURANCE, e.to_string()),
            }
        }
    }
    let mut date = |name: &str| -> Option<NaiveDate> {
        let s = c.get(rec, name)?;
        let s = nfkc(s);
        match NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(&s, "%Y/%m/%d"))
        {
            Ok(d) => Some(d),
            Err(_) => {
                err(
                    name,
                    format!(
                        "{name}「{s}」を日付として読めません。2024-04-01 の形式で入力してください。"
                    ),
                );
                None
            }
        }
    };
    let opened_on = date(col::OPENED);
    let suspended_on = date(col::SUSPENDED);
    let abolished_on = date(col::ABOLISHED);
    let mut coord = |name: &str| -> Option<f64> {
        let s = c.get(rec, name)?;
        match nfkc(s).parse::<f64>() {
            // 0.0 means "missing" in the open data (DOMAIN §8.5)
            Ok(0.0) => None,
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                err(name, format!("{name}「{s}」を数値として読めません。"));
                None
            }
        }
    };
    let lat = coord(col::LAT);
    let lon = coord(col::LON);

    let (Some(id), Some(kind), Some(prefecture), Some(municipality)) =
        (id, kind, prefecture, municipality)
    else {
        return Err(errs);
    };
    let address = text(col::ADDRESS).unwrap_or_default();
    let coordinates = match (lat, lon) {
        (Some(lat), Some(lon)) => Some(Coordinates {
            lat,
            lon,
            source: CoordinateSource::Reported,
        }),
        _ => reference.geocode(municipality, &address),
    };
    let kana = |name: &str| text(name).map(|s| nfkc(&s));
    let record = FacilityRecord {
        kind,
        prefecture,
        municipality,
        facility_code: Some(id.facility_code),
        insurance_codes,
        names: FacilityNames {
            official: text(col::NAME).unwrap_or_default(),
            official_kana: kana(col::NAME_KANA).unwrap_or_default(),
            short: text(col::SHORT),
            short_kana: kana(col::SHORT_KANA),
            english: text(col::ENGLISH),
        },
        postal_code,
        address,
        coordinates,
        homepage: text(col::HOMEPAGE),
        opened_on,
        suspended_on,
        abolished_on,
    };
    for e in record.validate() {
        let column = match e.field {
            "names.official" => col::NAME,
            "names.official_kana" => col::NAME_KANA,
            "names.short_kana" => col::SHORT_KANA,
            "municipality" => col::MUNICIPALITY,
            "address" => col::ADDRESS,
            "insurance_codes" => col::INSURANCE,
            "coordinates" => col::LAT,
            "homepage" => col::HOMEPAGE,
            "opened_on" => col::OPENED,
            other => other,
        };
        errs.push((Some(column.to_owned()), e.message));
    }
    if let Some(p) = postal_code
        && let Err(detail) = reference.check_address(p, &record.address)
    {
        errs.push((
            Some(col::ADDRESS.to_owned()),
            format!("{}{detail}", teikyo_domain::forms::ADDRESS_MISMATCH),
        ));
    }
    if errs.is_empty() {
        Ok(record)
    } else {
        Err(errs)
    }
}

/// Rows whose public key (ID) appears twice in the input.
pub fn duplicate_errors(rows: &[ParsedRow]) -> Vec<RowError> {
    let mut first: HashMap<(PrefectureCode, FacilityKind, String), (&str, u64)> = HashMap::new();
    let mut errors = Vec::new();
    for r in rows {
        let Some(code) = &r.record.facility_code else {
            continue;
        };
        let key = (r.record.prefecture, r.record.kind, code.as_str().to_owned());
        if let Some((f, l)) = first.get(&key) {
            errors.push(RowError {
                file: r.file.clone(),
                line: r.line,
                column: Some(col::ID.into()),
                message: format!("同じIDの施設が {f}:{l}行目 にもあります。"),
            });
        } else {
            first.insert(key, (&r.file, r.line));
        }
    }
    errors
}

/// Rows whose facility the master already has: an import adds facilities, it never replaces
/// one (changes come through reports).
pub async fn already_in_master<'a>(
    store: &teikyo_store::Store,
    rows: impl IntoIterator<Item = &'a ParsedRow>,
) -> Result<Vec<RowError>, teikyo_store::StoreError> {
    let existing = store.facilities().existing_keys().await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            r.record.facility_code.as_ref().is_some_and(|code| {
                existing.contains(&(r.record.prefecture, r.record.kind, code.clone()))
            })
        })
        .map(|r| RowError {
            file: r.file.clone(),
            line: r.line,
            column: Some(col::ID.into()),
            message: "この施設は既に施設マスタに登録されています。".into(),
        })
        .collect())
}

pub fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Checks every file; reads them one at a time.
pub fn check_files(files: &[PathBuf], reference: &dyn Reference) -> Checked {
    let mut out = Checked::default();
    for path in files {
        let name = display_name(path);
        match std::fs::read(path) {
            Ok(bytes) => check_file(&name, &bytes, reference, &mut out),
            Err(e) => out.errors.push(RowError {
                file: name,
                line: 0,
                column: None,
                message: format!("ファイルを開けません: {e}"),
            }),
        }
    }
    let dups = duplicate_errors(&out.rows);
    out.errors.extend(dups);
    out
}

#[cfg(test)]
mod tests {
    use super::RowError;

    fn error(file: &str, line: u64, column: Option<&str>) -> String {
        RowError {
            file: file.into(),
            line,
            column: column.map(str::to_owned),
            message: "メッセージ".into(),
        }
        .to_string()
    }

    #[test]
    fn errors_say_where_without_a_line_zero() {
        assert_eq!(error("a.csv", 3, Some("ID")), "a.csv:3行目 [ID] メッセージ");
        assert_eq!(error("a.csv", 3, None), "a.csv:3行目 メッセージ");
        assert_eq!(error("a.csv", 0, None), "a.csv: メッセージ");
        assert_eq!(error("", 0, Some("ID")), "[ID] メッセージ");
        assert_eq!(error("", 0, None), "メッセージ");
    }
}
