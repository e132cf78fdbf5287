//! `teikyo publish …`: publication by hand (issue 7 §1). `all` evaluates every facility again
//! (after an import of the master, or to repair); `synthetic` publishes made-up answers for
//! facilities without a report, for development, the demo and the benchmarks only.

use clap::{Args, Subcommand};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use teikyo_domain::forms::Catalogue;
use teikyo_domain::opening::japan_date;
use teikyo_domain::publication::PublishedDocument;
use teikyo_domain::report::fiscal_year_of;
use teikyo_search::{PublishSummary, Publisher};
use teikyo_store::{FacilityFilter, FacilityId, Store};

#[derive(Debug, Subcommand)]
pub enum PublishCommand {
    /// すべての施設の公表データを、確認完了済みの報告と施設マスタから見直します（日付による公開・非公開も反映します）
    All(PublishArgs),
    /// 開発・デモ用: 報告も公表データもない施設に合成の回答を作り、公表します（本番のデータベースでは使わないでください）
    Synthetic(SyntheticArgs),
}

#[derive(Debug, Clone, Args)]
pub struct PublishArgs {
    /// 進捗を表示しません
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SyntheticArgs {
    /// 乱数の種（同じ値なら同じ回答になります）
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// 進捗を表示しません
    #[arg(long)]
    pub quiet: bool,
}

/// Facilities read per page.
const PAGE: u64 = 2_000;

fn progress(quiet: bool, done: u64, total: u64) {
    if !quiet {
        eprint!("\r公表データを作成しています: {done} / {total} 施設");
        let _ = std::io::stderr().flush();
    }
}

/// Every facility of the master, a page at a time, with progress on stderr.
struct Pages<'a> {
    store: &'a Store,
    quiet: bool,
    offset: u64,
    total: u64,
}

impl<'a> Pages<'a> {
    async fn new(store: &'a Store, quiet: bool) -> anyhow::Result<Self> {
        Ok(Self {
            store,
            quiet,
            offset: 0,
            total: store.facilities().count().await?,
        })
    }

    /// The next page, or `None` after the last (ending the progress line).
    async fn next(&mut self) -> anyhow::Result<Option<Vec<teikyo_store::Facility>>> {
        if self.offset > 0 {
            progress(self.quiet, self.offset, self.total);
        }
        let page = self
            .store
            .facilities()
            .list(&FacilityFilter::default(), PAGE, self.offset)
            .await?;
        if page.is_empty() {
            if !self.quiet {
                eprintln!();
            }
            return Ok(None);
        }
        self.offset += page.len() as u64;
        Ok(Some(page))
    }
}

fn report(summary: &PublishSummary) {
    println!(
        "公表 {} 件、公表の取り下げ {} 件、変更なし {} 件、対象外 {} 件。",
        summary.published, summary.withdrawn, summary.unchanged, summary.skipped
    );
}

fn add(total: &mut PublishSummary, s: PublishSummary) {
    total.published += s.published;
    total.withdrawn += s.withdrawn;
    total.unchanged += s.unchanged;
    total.skipped += s.skipped;
}

pub async fn run(
    store: &Store,
    catalogue: Arc<Catalogue>,
    command: &PublishCommand,
) -> anyhow::Result<ExitCode> {
    let summary = match command {
        PublishCommand::All(args) => all(store, catalogue, args.quiet).await?,
        PublishCommand::Synthetic(args) => {
            synthetic(store, catalogue, args.seed, args.quiet).await?
        }
    };
    report(&summary);
    Ok(ExitCode::SUCCESS)
}

async fn all(
    store: &Store,
    catalogue: Arc<Catalogue>,
    quiet: bool,
) -> anyhow::Result<PublishSummary> {
    let publisher = Publisher::new(catalogue);
    let mut summary = PublishSummary::default();
    let mut pages = Pages::new(store, quiet).await?;
    while let Some(page) = pages.next().await? {
        let ids: Vec<FacilityId> = page.iter().map(|f| f.id).collect();
        add(
            &mut summary,
            publisher.publish(store, &ids, chrono::Utc::now()).await?,
        );
    }
    Ok(summary)
}

/// Publishes synthetic answers for every facility with neither a publication nor a report (and
/// the confirmed reports of those that have one).
pub async fn synthetic(
    store: &Store,
    catalogue: Arc<Catalogue>,
    seed: u64,
    quiet: bool,
) -> anyhow::Result<PublishSummary> {
    let publisher = Publisher::new(catalogue.clone());
    let now = chrono::Utc::now();
    let today = japan_date(now);
    let mut summary = PublishSummary::default();
    let mut pages = Pages::new(store, quiet).await?;
    while let Some(page) = pages.next().await? {
        let ids: Vec<FacilityId> = page.iter().map(|f| f.id).collect();
        let states = store.publications().states(&ids).await?;
        let confirmed = store.reports().last_confirmations(&ids).await?;
        let mut documents = Vec::new();
        let mut reported = Vec::new();
        for f in &page {
            if states.contains_key(&f.id) {
                summary.skipped += 1;
                continue;
            }
            // A real 確認完了 is published as it is.
            if confirmed.contains_key(&f.id) {
                reported.push(f.id);
                continue;
            }
            let Some(set) = catalogue.current(f.record.kind, fiscal_year_of(today)) else {
                summary.skipped += 1;
                continue;
            };
            let answers = crate::synth_answers::answers(&catalogue, set, &f.record, f.id.0, seed);
            documents.push((
                f.id,
                PublishedDocument::build(&f.record, set, &answers, now, today, None),
            ));
        }
        add(
            &mut summary,
            publisher.publish_documents(store, documents, now).await?,
        );
        add(
            &mut summary,
            publisher.publish(store, &reported, now).await?,
        );
    }
    Ok(summary)
}
