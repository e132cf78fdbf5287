//! The code systems of DOMAIN.md §9, each as a type that can only hold a valid value.
//!
//! Every `parse` accepts what people actually type (全角 digits, hyphens, spaces; see
//! [`crate::text::code_chars`]) and fails with a [`CodeError`] whose `code()` is stable and whose
//! message is the Japanese text shown to users.

mod error;
mod facility_code;
mod facility_kind;
mod insurance;
mod municipality;
mod postal;
mod prefecture;

pub use error::CodeError;
pub use facility_code::{FacilityCode, PublicFacilityId};
pub use facility_kind::{FacilityKind, Program};
pub use insurance::{CheckDigitRule, FeeSchedule, InsuranceCode};
pub use municipality::MunicipalityCode;
pub use postal::PostalCode;
pub use prefecture::PrefectureCode;

/// `s` is exactly `n` ASCII digits.
fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// Digit values of an all-ASCII-digit string (callers check with `is_digits` first).
fn digits(s: &str) -> impl Iterator<Item = u32> + '_ {
    s.bytes().map(|b| u32::from(b - b'0'))
}
