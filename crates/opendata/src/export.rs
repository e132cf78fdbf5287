//! The export: every facility residents see now, as the eight MHLW files (issue 8 §1), named
//! with the snapshot date, with a manifest (snapshot, publication sequence, rows, bytes,
//! SHA-256, credit line). Files are written beside the old ones under temporary names and put
//! in place only when all are complete; the manifest is written last, so a reader never sees a
//! half-written snapshot. The previous snapshot is kept for clients part-way through a
//! download; older ones are removed.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use teikyo_domain::forms::Answers;
use teikyo_domain::{FacilityKind, FacilityRecord, PrefectureCode};
use teikyo_store::{Store, StoreError};

use crate::columns::{FacilityColumns, HoursColumns};
use crate::layout;
use crate::schedule;

/// Documents read per query.
const PAGE: u64 = 2_000;

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// The default credit line (PDL1.0 and CC BY 4.0 both ask for one).
pub const DEFAULT_CREDIT: &str = "「医療機能情報提供制度のオープンデータ」（Teikyo）";
/// The default licence named in the manifest.
pub const DEFAULT_LICENCE: &str = "公共データ利用規約（第1.0版）（PDL1.0）";

/// What the export reads of a published document: the master record and the 基本情報 answers.
/// The other sections are skipped unread (a report's 診療・治療 and 実績 sections are most of
/// its size, and none of them is in the open data).
#[derive(Debug, Deserialize)]
struct ExportDocument {
    facility: FacilityRecord,
    sections: Vec<ExportSection>,
}

/// A section: for 基本情報 its answers, for any other nothing.
#[derive(Debug)]
struct ExportSection {
    answers: Option<Answers>,
}

/// The section the open data reads.
const BASIC: &str = "basic";

impl<'de> Deserialize<'de> for ExportSection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(field_identifier, rename_all = "snake_case")]
        enum Key {
            Id,
            Answers,
            #[serde(other)]
            Other,
        }
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ExportSection;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a published section")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ExportSection, A::Error> {
                let mut id: Option<String> = None;
                let mut answers = None;
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Id => id = Some(map.next_value()?),
                        // The id is written first; were it not, the answers are read anyway.
                        Key::Answers if id.as_deref().is_none_or(|i| i == BASIC) => {
                            answers = Some(map.next_value()?);
                        }
                        Key::Answers | Key::Other => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                let id = id.ok_or_else(|| serde::de::Error::missing_field("id"))?;
                Ok(ExportSection {
                    answers: answers.filter(|_| id == BASIC),
                })
            }
        }
        d.deserialize_map(Visitor)
    }
}

impl ExportDocument {
    /// The 基本情報 answers (`empty` when the document has none).
    fn basic<'a>(&'a self, empty: &'a Answers) -> schedule::Basic<'a> {
        schedule::Basic {
            kind: self.facility.kind,
            answers: self
                .sections
                .iter()
                .find_map(|s| s.answers.as_ref())
                .unwrap_or(empty),
        }
    }
}

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    /// Data rows (the header not counted).
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// What a snapshot holds, served at `/opendata/manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// 時点: the date in the file names.
    pub snapshot: NaiveDate,
    pub generated_at: DateTime<Utc>,
    /// The publication sequence number the snapshot starts from (the change feed continues it).
    pub publication_seq: i64,
    /// Facilities in the 施設票 files.
    pub facilities: u64,
    /// Facilities shown to residents but left out: without a 機関コード the open data's `ID`
    /// cannot be formed.
    pub omitted_without_code: u64,
    pub credit: String,
    pub licence: String,
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    /// The manifest in `dir`, if a snapshot was exported there.
    pub fn read(dir: &Path) -> Result<Option<Self>, ExportError> {
        let path = dir.join(MANIFEST);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| ExportError::Manifest(path.display().to_string(), e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ExportError::Io(path.display().to_string(), e)),
        }
    }

    pub fn file(&self, name: &str) -> Option<&ManifestFile> {
        self.files.iter().find(|f| f.name == name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "オープンデータの作成中にデータベースのエラーが発生しました（{0}）。データベースに接続できるかご確認のうえ、もう一度実行してください。"
    )]
    Store(#[from] StoreError),
    #[error("{0} に書き込めません（{1}）。フォルダの書き込み権限と空き容量をご確認ください。")]
    Io(String, std::io::Error),
    #[error("{0} を読み取れません（{1}）。このファイルを削除すると、次の作成で作り直されます。")]
    Manifest(String, String),
}

impl ExportError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(_) => "opendata.store",
            Self::Io(..) => "opendata.io",
            Self::Manifest(..) => "opendata.manifest",
        }
    }
}

/// What to export where.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub dir: PathBuf,
    pub snapshot: NaiveDate,
    pub credit: String,
    pub licence: String,
}

/// A file's name in a snapshot: `01-1_hospital_facility_info_20261201.csv`.
pub fn file_name(stem: &str, snapshot: NaiveDate) -> String {
    format!("{stem}_{}.csv", snapshot.format("%Y%m%d"))
}

/// The snapshot date a file name carries, if it is one of ours.
pub fn snapshot_of(name: &str) -> Option<NaiveDate> {
    let stem = name.strip_suffix(".csv")?;
    let (_, date) = stem.rsplit_once('_')?;
    if date.len() != 8 {
        return None;
    }
    NaiveDate::parse_from_str(date, "%Y%m%d").ok()
}

/// A file being written: counts bytes and hashes them on the way.
struct Sink {
    out: std::io::BufWriter<std::fs::File>,
    hash: Sha256,
    bytes: u64,
    rows: u64,
    path: PathBuf,
    name: String,
    line: Vec<u8>,
}

impl Sink {
    fn create(dir: &Path, name: String, header: &[String]) -> Result<Self, ExportError> {
        // Unique per process: two nodes sharing the directory may export at once.
        let path = dir.join(format!(".{name}.{}.partial", std::process::id()));
        let file = std::fs::File::create(&path)
            .map_err(|e| ExportError::Io(path.display().to_string(), e))?;
        let mut sink = Self {
            out: std::io::BufWriter::with_capacity(1 << 20, file),
            hash: Sha256::new(),
            bytes: 0,
            rows: 0,
            path,
            name,
            line: Vec::with_capacity(4096),
        };
        sink.write_bytes(b"\xEF\xBB\xBF")?;
        sink.record(header, &[])?;
        sink.rows = 0;
        Ok(sink)
    }

    fn write_bytes(&mut self, b: &[u8]) -> Result<(), ExportError> {
        self.hash.update(b);
        self.bytes += b.len() as u64;
        self.out
            .write_all(b)
            .map_err(|e| ExportError::Io(self.path.display().to_string(), e))
    }

    /// One CSV record. Written here rather than with the csv crate, which quotes all fields or
    /// none: the published files quote every field but the coordinates (DOMAIN §8.3).
    fn record<S: AsRef<str>>(&mut self, fields: &[S], bare: &[usize]) -> Result<(), ExportError> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            let f = f.as_ref();
            if bare.contains(&i) {
                line.extend_from_slice(f.as_bytes());
                continue;
            }
            line.push(b'"');
            encode_field(f, &mut line);
            line.push(b'"');
        }
        line.extend_from_slice(b"\r\n");
        let result = self.write_bytes(&line);
        self.line = line;
        self.rows += 1;
        result
    }

    /// Flushes and closes; the file keeps its temporary name until [`publish`].
    fn finish(mut self) -> Result<(PathBuf, ManifestFile), ExportError> {
        self.out
            .flush()
            .map_err(|e| ExportError::Io(self.path.display().to_string(), e))?;
        let sha256 = self
            .hash
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok((
            self.path,
            ManifestFile {
                name: self.name,
                rows: self.rows,
                bytes: self.bytes,
                sha256,
            },
        ))
    }
}

/// A field's text inside quotes: `"` doubled, line breaks as the literal 「（改行）」.
fn encode_field(f: &str, out: &mut Vec<u8>) {
    let mut rest = f;
    while let Some(i) = rest.find(['"', '\r', '\n']) {
        out.extend_from_slice(&rest.as_bytes()[..i]);
        let c = rest.as_bytes()[i];
        match c {
            b'"' => out.extend_from_slice(b"\"\""),
            b'\r' if rest.as_bytes().get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice("（改行）".as_bytes());
                rest = &rest[i + 2..];
                continue;
            }
            _ => out.extend_from_slice("（改行）".as_bytes()),
        }
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest.as_bytes());
}

fn coordinate_text(v: f64) -> String {
    // Shortest text that reads back as the same number; 0.0 is the files' "no coordinates".
    if v == 0.0 {
        "0.0".into()
    } else {
        format!("{v}")
    }
}

/// The identity columns of a facility row.
fn write_identity(f: &FacilityRecord, id: &str, c: &FacilityColumns, row: &mut [String]) {
    let mut put = |pos: Option<usize>, v: &str| {
        if let Some(cell) = pos.and_then(|i| row.get_mut(i)) {
            v.clone_into(cell);
        }
    };
    let i = &c.identity;
    put(i.id, id);
    put(i.name, &f.names.official);
    put(i.name_kana, &f.names.official_kana);
    put(i.short, f.names.short.as_deref().unwrap_or_default());
    put(
        i.short_kana,
        f.names.short_kana.as_deref().unwrap_or_default(),
    );
    put(i.english, f.names.english.as_deref().unwrap_or_default());
    put(i.kind, &f.kind.code().to_string());
    put(i.prefecture, &f.prefecture.to_string());
    put(i.municipality, &f.municipality.three());
    put(i.address, &f.address);
    // Only a reported point: a town or municipality centroid would pass for the facility's.
    let (lat, lon) = match f.coordinates {
        Some(c) if c.source == teikyo_domain::CoordinateSource::Reported => (c.lat, c.lon),
        _ => (0.0, 0.0),
    };
    put(i.lat, &coordinate_text(lat));
    put(i.lon, &coordinate_text(lon));
    put(i.homepage, f.homepage.as_deref().unwrap_or_default());
}

/// What the reading task hands over.
enum Read {
    Page(Vec<ExportDocument>),
    /// A (kind, prefecture) is read through.
    UnitDone,
    Failed(StoreError),
}

/// Writes the snapshot into `opts.dir` and returns its manifest. `progress(done, total)` is
/// called after each prefecture of each kind (235 steps).
pub async fn export(
    store: &Store,
    opts: &ExportOptions,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Manifest, ExportError> {
    let dir = &opts.dir;
    std::fs::create_dir_all(dir).map_err(|e| ExportError::Io(dir.display().to_string(), e))?;
    let generated_at = Utc::now();
    let publication_seq = store.publications().head().await?;
    let omitted_without_code = store.publications().shown_without_code().await?;
    let prefectures: Vec<PrefectureCode> = PrefectureCode::all().collect();
    // Reading (the database, then JSON) runs in two tasks, each a (kind, prefecture) ahead of
    // the writing here, taking turns: parsing is most of the work, and on two cores the reading
    // and the writing overlap.
    let units: Vec<(FacilityKind, PrefectureCode)> = FacilityKind::ALL
        .iter()
        .flat_map(|k| prefectures.iter().map(move |p| (*k, *p)))
        .collect();
    const READERS: usize = 2;
    let mut channels = Vec::new();
    let mut readers = Vec::new();
    for first in 0..READERS {
        let (tx, rx) = tokio::sync::mpsc::channel::<Read>(2);
        channels.push(rx);
        let store = store.clone();
        let mine: Vec<(FacilityKind, PrefectureCode)> =
            units.iter().skip(first).step_by(READERS).copied().collect();
        readers.push(tokio::spawn(async move {
            for (kind, pref) in mine {
                let mut after = String::new();
                loop {
                    let page = store
                        .publications()
                        .shown_by_code::<ExportDocument>(pref, kind, &after, PAGE)
                        .await;
                    let page = match page {
                        Ok(p) => p,
                        Err(e) => {
                            let _ = tx.send(Read::Failed(e)).await;
                            return;
                        }
                    };
                    let full = page.len() as u64 == PAGE;
                    if let Some(last) = page.last() {
                        after = last
                            .facility
                            .facility_code
                            .as_ref()
                            .map(|c| c.as_str().to_owned())
                            .unwrap_or_default();
                    }
                    if !page.is_empty() && tx.send(Read::Page(page)).await.is_err() {
                        return;
                    }
                    if !full {
                        break;
                    }
                }
                if tx.send(Read::UnitDone).await.is_err() {
                    return;
                }
            }
        }));
    }
    let total = units.len() as u64;
    let mut done = 0;
    let mut written: Vec<(PathBuf, ManifestFile)> = Vec::new();
    let mut facilities = 0;
    let hours_header = layout::hours_header();
    let hours_columns = HoursColumns::find(&hours_header);
    let mut hours_rows = Vec::new();
    let empty = Answers::default();
    for kind in FacilityKind::ALL {
        let header = layout::facility_header(kind);
        let columns = FacilityColumns::find(kind, &header);
        let bare: Vec<usize> = [columns.identity.lat, columns.identity.lon]
            .into_iter()
            .flatten()
            .collect();
        let mut facility_file = Sink::create(
            dir,
            file_name(layout::facility_file(kind), opts.snapshot),
            &header,
        )?;
        let mut hours_file = match layout::hours_file(kind) {
            Some(stem) => Some(Sink::create(
                dir,
                file_name(stem, opts.snapshot),
                &hours_header,
            )?),
            None => None,
        };
        for _ in 0..prefectures.len() {
            let rx = &mut channels[(done as usize) % READERS];
            loop {
                let page = match rx.recv().await {
                    Some(Read::Page(page)) => page,
                    Some(Read::UnitDone) | None => break,
                    Some(Read::Failed(e)) => return Err(e.into()),
                };
                for doc in page {
                    let Some(id) = doc.facility.public_id().map(|i| i.to_string()) else {
                        continue;
                    };
                    let basic = doc.basic(&empty);
                    let mut row = vec![String::new(); columns.len];
                    write_identity(&doc.facility, &id, &columns, &mut row);
                    schedule::write_facility(basic, &columns, &mut row);
                    facility_file.record(&row, &bare)?;
                    facilities += 1;
                    if let Some(hours) = hours_file.as_mut() {
                        hours_rows.clear();
                        schedule::write_hours(basic, &id, &hours_columns, &mut hours_rows);
                        for r in &hours_rows {
                            hours.record(r, &[])?;
                        }
                    }
                }
            }
            done += 1;
            progress(done, total);
        }
        written.push(facility_file.finish()?);
        if let Some(h) = hours_file {
            written.push(h.finish()?);
        }
    }
    for reader in readers {
        if let Err(e) = reader.await {
            tracing::warn!(error = %e, "オープンデータの読み込みが途中で終わりました");
        }
    }
    // Files in MHLW's order: 01-1, 01-2, 02-1, … 05.
    written.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    let previous = Manifest::read(dir).ok().flatten();
    for (partial, file) in &written {
        let target = dir.join(&file.name);
        std::fs::rename(partial, &target)
            .map_err(|e| ExportError::Io(target.display().to_string(), e))?;
    }
    let manifest = Manifest {
        snapshot: opts.snapshot,
        generated_at,
        publication_seq,
        facilities,
        omitted_without_code,
        credit: opts.credit.clone(),
        licence: opts.licence.clone(),
        files: written.into_iter().map(|(_, f)| f).collect(),
    };
    write_manifest(dir, &manifest)?;
    remove_old(dir, &manifest, previous.as_ref());
    Ok(manifest)
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), ExportError> {
    let path = dir.join(MANIFEST);
    let partial = dir.join(format!(".{MANIFEST}.{}.partial", std::process::id()));
    let json = serde_json::to_vec_pretty(manifest)
        .map_err(|e| ExportError::Manifest(path.display().to_string(), e.to_string()))?;
    std::fs::write(&partial, json)
        .map_err(|e| ExportError::Io(partial.display().to_string(), e))?;
    std::fs::rename(&partial, &path).map_err(|e| ExportError::Io(path.display().to_string(), e))
}

/// Removes the snapshot files neither this manifest nor the previous one names.
fn remove_old(dir: &Path, current: &Manifest, previous: Option<&Manifest>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let keep = |name: &str| {
        current.file(name).is_some() || previous.is_some_and(|p| p.file(name).is_some())
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if snapshot_of(&name).is_some()
            && !keep(&name)
            && let Err(e) = std::fs::remove_file(entry.path())
        {
            tracing::warn!(file = %name, error = %e, "古いオープンデータを削除できませんでした");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_with_line_breaks_spelled_out() {
        let mut out = Vec::new();
        encode_field("A\"B\r\nC\nD", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "A\"\"B（改行）C（改行）D");
    }

    #[test]
    fn file_names_carry_the_snapshot() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let name = file_name("01-1_hospital_facility_info", d);
        assert_eq!(name, "01-1_hospital_facility_info_20261201.csv");
        assert_eq!(snapshot_of(&name), Some(d));
        assert_eq!(snapshot_of("manifest.json"), None);
    }
}
