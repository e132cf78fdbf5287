//! Bulk sends (a prefecture's 定期報告案内 to every facility): render and queue in one
//! transaction, rendering the next batch on another core while the database writes the current
//! one, so the send costs about as long as the writes alone.

use crate::catalogue::MailContent;
use crate::template::{MailTemplates, Outgoing, TemplateError};
use std::sync::Arc;
use teikyo_store::{NewMail, StoreError, Tx};

/// Mails rendered and written per step.
const STEP: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("メールの作成が中断されたため、何も送信していません。もう一度お試しください: {0}")]
    Interrupted(String),
}

impl BulkError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Template(e) => e.code(),
            Self::Store(_) => "mail.bulk.store",
            Self::Interrupted(_) => "mail.bulk.interrupted",
        }
    }
}

fn render_step<C: MailContent>(
    templates: &MailTemplates,
    items: Vec<Outgoing<C>>,
) -> Result<Vec<NewMail>, TemplateError> {
    items
        .iter()
        .map(|o| templates.compose_outgoing(o))
        .collect()
}

/// Renders and queues every item in `tx`; nothing is sent unless the caller commits.
/// `progress` gets the number queued so far.
pub async fn queue_bulk<C: MailContent + Send + 'static>(
    tx: &Tx,
    templates: &Arc<MailTemplates>,
    items: Vec<Outgoing<C>>,
    progress: &mut (dyn FnMut(usize) + Send),
) -> Result<usize, BulkError> {
    let mut steps = Vec::new();
    let mut rest = items.into_iter().peekable();
    while rest.peek().is_some() {
        steps.push(rest.by_ref().take(STEP).collect::<Vec<_>>());
    }
    let spawn = |step: Vec<Outgoing<C>>| {
        let templates = templates.clone();
        tokio::task::spawn_blocking(move || render_step(&templates, step))
    };
    let mut steps = steps.into_iter();
    let mut next = steps.next().map(spawn);
    let mut done = 0;
    while let Some(rendering) = next.take() {
        let mails = rendering
            .await
            .map_err(|e| BulkError::Interrupted(e.to_string()))??;
        next = steps.next().map(spawn);
        done += tx.queue_mails(mails, &mut |_| {}).await?;
        progress(done);
    }
    Ok(done)
}
