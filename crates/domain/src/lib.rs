//! Teikyo's domain: pure types and rules. No IO, no async, no database or web types
//! (CI checks the dependency list, see `.ci/check-domain-deps`).

pub mod account;
pub mod bulk_mail;
pub mod closure;
pub mod codes;
pub mod completeness;
pub mod error_report;
pub mod facility;
pub mod feature;
pub mod forms;
pub mod hours;
pub mod ndb;
pub mod opening;
pub mod period;
pub mod publication;
pub mod registration;
pub mod report;
pub mod text;

/// Whether a problem blocks 入力完了 (validator, hours table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    /// Shown beside the field, never blocking (e.g. an unusual check digit).
    Warning,
}

pub use codes::{
    CheckDigitRule, CodeError, FacilityCode, FacilityKind, FeeSchedule, InsuranceCode,
    MunicipalityCode, PostalCode, PrefectureCode, Program, PublicFacilityId,
};
pub use facility::{
    CoordinateSource, Coordinates, FacilityError, FacilityNames, FacilityRecord, FacilityStatus,
};
