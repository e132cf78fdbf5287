//! The residents' side (issue 7, DESIGN §3 `search/`): publication of confirmed reports into the
//! publication sequence, the text folding and tokens (`text`), and the local search index fed by
//! the sequence (`index`).

pub mod index;
pub mod publish;
pub mod text;

pub use index::{Hit, IndexError, SearchIndex, SearchQuery};
pub use publish::{
    PROJECT_JOB, PublishError, PublishSummary, Publisher, project_job, reevaluate_due,
};
