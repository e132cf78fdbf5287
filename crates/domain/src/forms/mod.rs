//! Report item sets as data (DESIGN §2.1, issue: item sets): the model the engine works on and
//! the loader that reads and checks `forms/`. The validator, diff, carry-over and generated
//! pages build on this model.

mod load;
mod model;

pub use load::{FormsError, SourceFile, load};
pub use model::{Catalogue, Code, CodeList, Condition, Item, ItemId, ItemKind, ItemSet, Section};
