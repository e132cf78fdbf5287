//! The residents' side (issue 7, DESIGN §3 `search/`): publication of confirmed reports into the
//! publication sequence, the text folding and tokens the index will use (`text`), and (to come)
//! the local search index fed by the sequence.

pub mod publish;
pub mod text;

pub use publish::{
    PROJECT_JOB, PublishError, PublishSummary, Publisher, project_job, reevaluate_due,
};
