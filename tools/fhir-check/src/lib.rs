//! Nothing to link: this package exists for `tests/r4.rs`, which parses every built-in item
//! set's FHIR Questionnaire (`teikyo_domain::forms::fhir`) with fhirbolt in strict R4 mode.
//! See `Cargo.toml` for why it is outside the workspace.
