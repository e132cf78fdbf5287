//! What the importer and the generator need from the reference data, as a trait so that the
//! importer's tests can also run against a small in-memory table.

use teikyo_domain::{Coordinates, MunicipalityCode, PostalCode};

/// The postal ↔ address check is the validator's own (`teikyo_domain::forms::Reference`), so
/// the importer and the report pages judge an address the same way.
pub trait Reference: teikyo_domain::forms::Reference + Sync {
    /// The municipality is in the current master.
    fn municipality_exists(&self, code: MunicipalityCode) -> bool;
    /// Coordinates from the town point, else the municipality centroid.
    fn geocode(&self, municipality: MunicipalityCode, address: &str) -> Option<Coordinates>;
}

/// The embedded reference data.
pub struct Embedded;

impl teikyo_domain::forms::Reference for Embedded {
    fn check_address(&self, postal: PostalCode, address: &str) -> Result<(), String> {
        teikyo_refdata::forms::PostalMaster.check_address(postal, address)
    }
}

impl Reference for Embedded {
    fn municipality_exists(&self, code: MunicipalityCode) -> bool {
        teikyo_refdata::municipalities::get(code).is_some()
    }

    fn geocode(&self, municipality: MunicipalityCode, address: &str) -> Option<Coordinates> {
        // Read the town from the text after the municipality name; when the address names another
        // municipality (the row is rejected elsewhere) fall back to this one's centroid.
        let parsed = teikyo_refdata::address::parse(address);
        match parsed.municipality {
            Some(m) if m.code == municipality => {
                teikyo_refdata::address::geocode(municipality, parsed.rest())
            }
            _ => teikyo_refdata::address::geocode(municipality, ""),
        }
    }
}
