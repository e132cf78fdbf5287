//! The residents' side (issue 7, DESIGN §3 `search/`): publication of confirmed reports into the
//! publication sequence, the text folding and tokens (`text`), and the local search index fed by
//! the sequence (`index`).

mod facets;
pub mod geo;
pub mod index;
pub mod listing;
pub mod publish;
pub mod text;

pub use geo::{Area, Bounds, Point};
pub use index::{Hit, IndexError, SearchIndex, SearchQuery, Sort};
pub use listing::Listing;
pub use publish::{
    PROJECT_JOB, PublishError, PublishSummary, Publisher, project_job, reevaluate_due,
};
