//! Teikyo's domain: pure types and rules. No IO, no async, no database or web types
//! (CI checks the dependency list, see `.ci/check-domain-deps`).

pub mod account;
pub mod codes;
pub mod facility;
pub mod forms;
pub mod registration;
pub mod text;

pub use codes::{
    CheckDigitRule, CodeError, FacilityCode, FacilityKind, FeeSchedule, InsuranceCode,
    MunicipalityCode, PostalCode, PrefectureCode, Program, PublicFacilityId,
};
pub use facility::{
    CoordinateSource, Coordinates, FacilityError, FacilityNames, FacilityRecord, FacilityStatus,
};
