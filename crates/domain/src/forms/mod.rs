//! Report item sets as data (DESIGN §2.1, issue: item sets): the model the engine works on, the
//! loader that reads and checks `forms/`, the answers to an item set, the one validator, the diff
//! and carry-over between answer sets, and the FHIR Questionnaire export ([`fhir`]).

mod answers;
mod diff;
pub mod fhir;
mod load;
mod model;
mod validate;

pub use answers::{Answers, CodedAnswer, Scope, Value};
pub use diff::{
    CarryOver, Change, Dropped, ItemDiff, NotCarried, apply, carry_over, diff, is_low_risk,
};
pub use load::{FormsError, SourceFile, load};
pub use model::{
    Catalogue, Code, CodeList, Condition, Item, ItemId, ItemKind, ItemSet, Rule, Section,
    TextFormat,
};
pub use validate::{
    ADDRESS_MISMATCH, COUNT_NOT_APPLICABLE, Issue, Mode, NoReference, Reference, Validator,
};
