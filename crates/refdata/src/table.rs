//! Reading the embedded files.
//!
//! The files under `data/` are build artifacts made by `tools/refdata/build_refdata.py`, checked in
//! and compiled into the binary. A malformed row is therefore a build defect, not bad input: the
//! loaders panic with the file name and line number, and `tests/tables.rs` loads every table so
//! such a defect fails CI rather than a request.

use flate2::read::GzDecoder;
use std::io::Read;

/// Embeds `data/<name>` (relative to the workspace root) as `&'static [u8]`.
macro_rules! data_file {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/", $name))
    };
}

/// Embeds `data/<name>` as `&'static str` (the uncompressed UTF-8 files).
macro_rules! data_text {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/", $name))
    };
}

pub(crate) use {data_file, data_text};

/// Decompresses an embedded `.gz` file into a string that lives for the rest of the process.
///
/// Leaking is deliberate: every table is held in a `static` forever anyway, and a `'static` text
/// lets rows borrow their fields as `&'static str` slices of one allocation instead of owning a
/// `String` each (one allocation per table instead of one per field).
pub(crate) fn gunzip(name: &str, bytes: &[u8]) -> &'static str {
    // The ISIZE trailer (last 4 bytes, little-endian) is the uncompressed length mod 2^32: an
    // exact capacity hint, which saves the reallocations of a growing buffer.
    let hint = bytes
        .len()
        .checked_sub(4)
        .and_then(|i| bytes.get(i..))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u32::from_le_bytes(b) as usize);
    let mut text = String::with_capacity(hint);
    if let Err(e) = GzDecoder::new(bytes).read_to_string(&mut text) {
        panic!("embedded data/{name} is not valid gzip'd UTF-8: {e}");
    }
    text.leak()
}

/// The data rows of a tab-separated file (header skipped), each with its 1-based line number.
pub(crate) fn rows(text: &'static str) -> impl Iterator<Item = (usize, &'static str)> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| (i + 1, l))
}

/// Splits a row into exactly `N` fields, panicking (build defect) otherwise.
pub(crate) fn fields<const N: usize>(
    file: &str,
    line_no: usize,
    line: &'static str,
    sep: char,
) -> [&'static str; N] {
    let mut out = [""; N];
    let mut it = line.split(sep);
    for slot in &mut out {
        match it.next() {
            Some(f) => *slot = f,
            None => panic!("data/{file}:{line_no}: expected {N} fields: {line:?}"),
        }
    }
    if it.next().is_some() {
        panic!("data/{file}:{line_no}: more than {N} fields: {line:?}");
    }
    out
}

/// Parses a number field of an embedded file, panicking (build defect) on failure.
pub(crate) fn number<T: std::str::FromStr>(file: &str, line_no: usize, field: &str) -> T {
    match field.parse() {
        Ok(v) => v,
        Err(_) => panic!("data/{file}:{line_no}: not a number: {field:?}"),
    }
}
