//! The residents' side (issue 7, DESIGN §3 `search/`): publication of confirmed reports into the
//! publication sequence, and (to come) the local search index fed by it.

pub mod publish;

pub use publish::{
    PROJECT_JOB, PublishError, PublishSummary, Publisher, project_job, reevaluate_due,
};
