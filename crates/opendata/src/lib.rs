//! The MHLW open data (issue 8 §1, DOMAIN §8): the eight files' layout, the facility master read
//! from them (`master`), what a published document says in their columns (`schedule`), the
//! export of every published facility with its manifest (`export`), and the import of such files
//! into the master and the publication sequence (`import`).

pub mod columns;
pub mod export;
pub mod import;
pub mod job;
pub mod layout;
pub mod master;
pub mod reference;
pub mod schedule;

/// Why an open-data import could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("オープンデータの取り込み中にデータベースのエラーが発生しました: {0}")]
    Store(#[from] teikyo_store::StoreError),
    #[error(transparent)]
    Publish(#[from] teikyo_search::PublishError),
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(_) => "opendata.import.store",
            Self::Publish(e) => e.code(),
        }
    }
}
