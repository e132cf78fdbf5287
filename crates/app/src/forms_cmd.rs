//! `teikyo forms …` and the start-up check of the item sets: the built-in ones, or those of
//! `forms_dir` when it is set. Any problem stops the start with the file and line.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use teikyo_domain::forms::{Catalogue, FormsError};

#[derive(Debug, Subcommand)]
pub enum FormsCommand {
    /// 報告様式（forms/）を読み込んで検査し、項目セットの一覧を表示します
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// 検査するディレクトリ（forms/ と同じ構成）。省略時は組み込みの報告様式です
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The built-in item sets as they are, or those of `dir`.
fn load(dir: Option<&Path>) -> Result<Cow<'static, Catalogue>, Cow<'static, [FormsError]>> {
    match dir {
        Some(dir) => teikyo_refdata::forms::load_dir(dir)
            .map(Cow::Owned)
            .map_err(Cow::Owned),
        None => teikyo_refdata::forms::catalogue()
            .map(Cow::Borrowed)
            .map_err(Cow::Borrowed),
    }
}

/// Checks the item sets the server will work with and returns them for the report pages.
pub fn check_item_sets(dir: Option<&Path>) -> anyhow::Result<std::sync::Arc<Catalogue>> {
    let catalogue = load(dir).map_err(|errors| {
        anyhow::anyhow!(
            "報告様式に誤りがあるため起動できません（{} 件）。該当のファイルを直してから起動してください。\n{}",
            errors.len(),
            FormsError::list(&errors)
        )
    })?;
    tracing::info!(
        item_sets = catalogue.item_sets.len(),
        code_lists = catalogue.code_lists.len(),
        source = %dir.map_or("built-in".into(), |d| d.display().to_string()),
        "item sets loaded"
    );
    Ok(std::sync::Arc::new(catalogue.into_owned()))
}

pub fn run(command: &FormsCommand) -> anyhow::Result<ExitCode> {
    match command {
        FormsCommand::Check(args) => match load(args.dir.as_deref()) {
            Ok(c) => {
                for set in c.item_sets.values() {
                    let items: usize = set.sections.iter().map(|s| s.items.len()).sum();
                    println!(
                        "{}  {}年度 {}  {} セクション、{} 項目",
                        set.id,
                        set.fiscal_year,
                        set.kind.name(),
                        set.sections.len(),
                        items
                    );
                }
                let provisional: Vec<&str> = c
                    .code_lists
                    .values()
                    .filter(|l| l.provisional)
                    .map(|l| l.name.as_str())
                    .collect();
                if !provisional.is_empty() {
                    println!("暫定のコード表: {}", provisional.join("、"));
                }
                println!("問題はありません。");
                Ok(ExitCode::SUCCESS)
            }
            Err(errors) => {
                eprintln!(
                    "報告様式に {} 件の誤りがあります。該当のファイルを直してから、もう一度実行してください。\n{}",
                    errors.len(),
                    FormsError::list(&errors)
                );
                Ok(ExitCode::FAILURE)
            }
        },
    }
}
