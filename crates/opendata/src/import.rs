//! `teikyo import opendata`: a snapshot of the eight files (MHLW's, or another Teikyo's) into
//! the facility master *and* the publication sequence, so that a new deployment's public search
//! shows the facilities at once. What the files carry (closure flags, hours per 診療科目, other
//! closed days, beds) becomes the 基本情報 answers of a document published as confirmed on the
//! snapshot date; a facility's first real 確認完了 replaces it.
//!
//! All or nothing, as the master import: every file is checked, every bad row reported with its
//! file and line, and nothing is written while one remains.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use teikyo_domain::forms::Catalogue;
use teikyo_domain::publication::PublishedDocument;
use teikyo_domain::report::fiscal_year_of;
use teikyo_domain::{FacilityKind, FacilityRecord};
use teikyo_search::{PublishSummary, Publisher};
use teikyo_store::{FacilityId, Store};

use crate::columns::{FacilityColumns, HoursColumns};
use crate::export::snapshot_of;
use crate::layout::{self, col};
use crate::master::{self, Checked, ParsedRow, RowError};
use crate::reference::Reference;
use crate::schedule::{self, DepartmentPart, FacilityPart, HoursRow};

/// Documents built and published per step (a document holds every section of its item set).
const CHUNK: usize = 5_000;

/// The files of one snapshot, found by their names.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFiles {
    /// (kind, facility file, hours file).
    pub kinds: Vec<(FacilityKind, PathBuf, Option<PathBuf>)>,
    /// The date in the names, when they carry one.
    pub snapshot: Option<NaiveDate>,
}

/// Finds the files of a snapshot among `paths` (files, or directories whose files are read):
/// each kind's 施設票 and 診療科・診療時間票 by the MHLW name, with or without the date.
pub fn find_files(paths: &[PathBuf]) -> Result<SnapshotFiles, Vec<RowError>> {
    let mut all: Vec<PathBuf> = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(entries) => {
                    let mut files: Vec<PathBuf> = entries
                        .flatten()
                        .map(|e| e.path())
                        .filter(|f| f.extension().is_some_and(|x| x == "csv"))
                        .collect();
                    files.sort();
                    all.extend(files);
                }
                Err(e) => errors.push(file_error(p, format!("フォルダを開けません: {e}"))),
            }
        } else {
            all.push(p.clone());
        }
    }
    let stem_of = |path: &Path| {
        let name = master::display_name(path);
        let stem = name.strip_suffix(".csv").unwrap_or(&name).to_owned();
        match snapshot_of(&name) {
            Some(d) => (
                stem.rsplit_once('_')
                    .map_or(stem.clone(), |(s, _)| s.to_owned()),
                Some(d),
            ),
            None => (stem, None),
        }
    };
    let mut out = SnapshotFiles::default();
    let mut dates: Vec<NaiveDate> = Vec::new();
    let mut used = vec![false; all.len()];
    for kind in FacilityKind::ALL {
        let pick = |wanted: &str, used: &mut Vec<bool>, errors: &mut Vec<RowError>| {
            let found: Vec<usize> = all
                .iter()
                .enumerate()
                .filter(|(_, p)| stem_of(p).0 == wanted)
                .map(|(i, _)| i)
                .collect();
            if found.len() > 1 {
                errors.push(file_error(
                    &all[found[1]],
                    format!(
                        "「{wanted}」のファイルが複数あります（{}）。取り込む時点のファイルだけを指定してください。",
                        found
                            .iter()
                            .map(|i| master::display_name(&all[*i]))
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                ));
            }
            found.first().map(|i| {
                used[*i] = true;
                all[*i].clone()
            })
        };
        let facility = pick(layout::facility_file(kind), &mut used, &mut errors);
        let hours = layout::hours_file(kind).and_then(|h| pick(h, &mut used, &mut errors));
        match (facility, hours) {
            (Some(f), h) => {
                dates.extend(stem_of(&f).1);
                if let Some(h) = &h {
                    dates.extend(stem_of(h).1);
                }
                out.kinds.push((kind, f, h));
            }
            (None, Some(h)) => errors.push(file_error(
                &h,
                format!(
                    "この診療科・診療時間票に対応する施設票（{}）がありません。",
                    layout::facility_file(kind)
                ),
            )),
            (None, None) => {}
        }
    }
    for (i, p) in all.iter().enumerate() {
        if !used[i] {
            errors.push(file_error(
                p,
                "医療情報ネットのオープンデータのファイル名（01-1_hospital_facility_info_20261201.csv など）ではありません。".into(),
            ));
        }
    }
    dates.sort();
    dates.dedup();
    if dates.len() > 1 {
        errors.push(RowError {
            file: String::new(),
            line: 0,
            column: None,
            message: format!(
                "時点の異なるファイルが混ざっています（{}）。同じ時点のファイルだけを指定してください。",
                dates
                    .iter()
                    .map(|d| d.format("%Y%m%d").to_string())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        });
    }
    out.snapshot = dates.first().copied();
    if out.kinds.is_empty() && errors.is_empty() {
        errors.push(RowError {
            file: String::new(),
            line: 0,
            column: None,
            message: "取り込む施設票が見つかりません。".into(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn file_error(path: &Path, message: String) -> RowError {
    RowError {
        file: master::display_name(path),
        line: 0,
        column: None,
        message,
    }
}

/// A checked facility with what its rows say beyond the master.
#[derive(Debug, Clone)]
pub struct CheckedFacility {
    /// The master record, with the file and line it came from.
    pub row: ParsedRow,
    pub part: FacilityPart,
    pub departments: Vec<DepartmentPart>,
}

/// Everything checked: the facilities, or every error.
#[derive(Debug, Default)]
pub struct CheckedSnapshot {
    pub facilities: Vec<CheckedFacility>,
    pub errors: Vec<RowError>,
    pub lines_read: u64,
    /// Data rows per file name.
    pub rows: Vec<(String, u64)>,
}

/// Reads and checks the files (no database needed).
pub fn check(files: &SnapshotFiles, reference: &dyn Reference) -> CheckedSnapshot {
    let mut out = CheckedSnapshot::default();
    let mut checked = Checked::default();
    let mut parts: HashMap<(String, u64), FacilityPart> = HashMap::new();
    let mut hours: HashMap<String, Vec<HoursRow>> = HashMap::new();
    for (kind, facility_path, hours_path) in &files.kinds {
        let name = master::display_name(facility_path);
        let before = checked.lines_read;
        match std::fs::read(facility_path) {
            Ok(bytes) => {
                let mut columns: Option<FacilityColumns> = None;
                let mut hook = |header: &csv::StringRecord, rec: &csv::StringRecord, line| {
                    let c = columns.get_or_insert_with(|| {
                        let names: Vec<&str> = header.iter().collect();
                        FacilityColumns::find(*kind, &names)
                    });
                    let part = schedule::read_facility(c, header, rec)?;
                    parts.insert((name.clone(), line), part);
                    Ok(())
                };
                master::check_file_with(&name, &bytes, reference, &mut checked, &mut hook);
            }
            Err(e) => checked.errors.push(file_error(
                facility_path,
                format!("ファイルを開けません: {e}"),
            )),
        }
        out.rows.push((name, checked.lines_read - before));
        if let Some(path) = hours_path {
            let rows = read_hours(path, &mut hours, &mut out.errors);
            out.rows.push((master::display_name(path), rows));
            out.lines_read += rows;
        }
    }
    out.lines_read += checked.lines_read;
    out.errors.extend(master::duplicate_errors(&checked.rows));
    out.errors.append(&mut checked.errors);
    let mut seen: HashSet<String> = HashSet::new();
    for row in checked.rows {
        let id = row.record.public_id().map(|i| i.to_string());
        let part = parts
            .remove(&(row.file.clone(), row.line))
            .unwrap_or_default();
        let rows = id
            .as_ref()
            .and_then(|i| hours.remove(i))
            .unwrap_or_default();
        if let Some(i) = id {
            seen.insert(i);
        }
        let departments = schedule::group_departments(&rows);
        for d in &departments {
            if teikyo_refdata::codes::specialty(&d.code).is_none() {
                out.errors.push(RowError {
                    file: row.file.clone(),
                    line: row.line,
                    column: Some(col::SPECIALTY_CODE.into()),
                    message: format!(
                        "診療科目コード「{}」は診療科目の一覧にありません（診療科・診療時間票）。",
                        d.code
                    ),
                });
            }
        }
        out.facilities.push(CheckedFacility {
            row,
            part,
            departments,
        });
    }
    // Hours rows of facilities the 施設票 does not list (or lists with errors).
    let mut orphans: Vec<&String> = hours.keys().filter(|k| !seen.contains(*k)).collect();
    orphans.sort();
    for id in orphans.into_iter().take(100) {
        out.errors.push(RowError {
            file: String::new(),
            line: 0,
            column: Some(col::ID.into()),
            message: format!(
                "診療科・診療時間票の ID {id} が施設票にありません。施設票にその施設の行を加えるか、診療科・診療時間票からその行を除いてください。"
            ),
        });
    }
    out.errors
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    out
}

/// Reads a 診療科・診療時間票 into rows per ID; returns the data rows read.
fn read_hours(
    path: &Path,
    out: &mut HashMap<String, Vec<HoursRow>>,
    errors: &mut Vec<RowError>,
) -> u64 {
    let name = master::display_name(path);
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            errors.push(file_error(path, format!("ファイルを開けません: {e}")));
            return 0;
        }
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let folded = master::fold_crlf(bytes);
    let bytes = folded.as_deref().unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            errors.push(file_error(
                path,
                format!("見出し行を読めません: {}", master::csv_reason(&e)),
            ));
            return 0;
        }
    };
    let names: Vec<&str> = header.iter().collect();
    let columns = HoursColumns::find(&names);
    if columns.id.is_none() || columns.code.is_none() {
        errors.push(file_error(
            path,
            "診療科・診療時間票に必要な列「ID」「診療科目コード」がありません。".into(),
        ));
        return 0;
    }
    let mut rows = 0;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                rows += 1;
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != columns.len {
                    errors.push(RowError {
                        file: name.clone(),
                        line,
                        column: None,
                        message: format!(
                            "列の数が {} ではなく {} です。",
                            columns.len,
                            record.len()
                        ),
                    });
                    continue;
                }
                match schedule::read_hours_row(&columns, &header, &record) {
                    Ok(r) => out.entry(r.id.clone()).or_default().push(r),
                    Err(errs) => errors.extend(errs.into_iter().map(|e| RowError {
                        file: name.clone(),
                        line,
                        column: Some(e.column),
                        message: e.message,
                    })),
                }
            }
            Err(e) => {
                errors.push(RowError {
                    file: name.clone(),
                    line: e.position().map_or(0, |p| p.line()),
                    column: None,
                    message: format!("行を読めません: {}", master::csv_reason(&e)),
                });
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
    }
    rows
}

/// The moment an imported snapshot counts as confirmed: the start of its date in Japan.
pub fn confirmed_at(snapshot: NaiveDate) -> DateTime<Utc> {
    teikyo_domain::opening::JAPAN
        .from_local_datetime(&snapshot.and_time(chrono::NaiveTime::MIN))
        .single()
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

/// What an import wrote.
#[derive(Debug, Default, Clone)]
pub struct ImportSummary {
    pub facilities: usize,
    pub published: PublishSummary,
}

/// Writes checked facilities: the master in one transaction, then their documents, a chunk at
/// a time. `progress(done, total)` after each chunk.
pub async fn store(
    store: &Store,
    catalogue: Arc<Catalogue>,
    facilities: Vec<CheckedFacility>,
    snapshot: NaiveDate,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<ImportSummary, crate::ImportError> {
    let records: Vec<FacilityRecord> = facilities.iter().map(|f| f.row.record.clone()).collect();
    let total = records.len();
    let ids: Vec<FacilityId> = store.facilities().import(&records, &mut |_| {}).await?;
    drop(records);
    let publisher = Publisher::new(catalogue.clone());
    let at = confirmed_at(snapshot);
    let now = Utc::now();
    let fiscal_year = fiscal_year_of(snapshot);
    let mut summary = ImportSummary {
        facilities: total,
        ..Default::default()
    };
    let mut done = 0;
    for (chunk, chunk_ids) in facilities.chunks(CHUNK).zip(ids.chunks(CHUNK)) {
        let documents: Vec<(FacilityId, PublishedDocument)> = chunk
            .iter()
            .zip(chunk_ids)
            .filter_map(|(f, id)| {
                let record = &f.row.record;
                let set = catalogue.current(record.kind, fiscal_year)?;
                let answers = schedule::answers(record.kind, &f.part, &f.departments);
                Some((
                    *id,
                    PublishedDocument::build(record, set, &answers, at, snapshot, None),
                ))
            })
            .collect();
        summary.published.skipped += chunk.len() - documents.len();
        let s = publisher.publish_documents(store, documents, now).await?;
        summary.published.published += s.published;
        summary.published.withdrawn += s.withdrawn;
        summary.published.unchanged += s.unchanged;
        summary.published.skipped += s.skipped;
        done += chunk.len();
        progress(done, total);
    }
    Ok(summary)
}
