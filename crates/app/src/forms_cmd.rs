//! `teikyo forms …` and the start-up check of the item sets: the built-in ones, or those of
//! `forms_dir` when it is set. Any problem stops the start with the file and line.
//! `teikyo forms export-fhir` writes each item set as a FHIR R4 Questionnaire
//! (`teikyo_domain::forms::fhir`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};
use teikyo_domain::forms::fhir::{self, ExportOptions};
use teikyo_domain::forms::{Catalogue, FormsError, ItemSet};

#[derive(Debug, Subcommand)]
pub enum FormsCommand {
    /// 報告様式（forms/）を読み込んで検査し、項目セットの一覧を表示します
    Check(CheckArgs),
    /// 項目セットを FHIR R4 の Questionnaire（JSON）として書き出します
    ExportFhir(ExportFhirArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// 検査するディレクトリ（forms/ と同じ構成）。省略時は組み込みの報告様式です
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportFhirArgs {
    /// 読み込むディレクトリ（forms/ と同じ構成）。省略時は組み込みの報告様式です
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// 書き出し先のディレクトリ（項目セットごとに <項目セットID>.json）。--item-set で1つに絞った場合は省略でき、標準出力に書き出します
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// 書き出す項目セットのID（例: 2025-hospital）。省略時はすべてです
    #[arg(long, value_name = "ID")]
    pub item_set: Option<String>,
    /// Questionnaire とコード表の URL の基底（例: https://iryo.pref.example.lg.jp/fhir）。省略時は設定 public_url の /fhir です
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Questionnaire の日付（YYYY-MM-DD）。省略時は今日（日本時間）です
    #[arg(long, value_name = "DATE")]
    pub date: Option<NaiveDate>,
}

/// The built-in item sets (shared, not copied), or those of `dir`.
fn load(dir: Option<&Path>) -> Result<Arc<Catalogue>, Cow<'static, [FormsError]>> {
    match dir {
        Some(dir) => teikyo_refdata::forms::load_dir(dir)
            .map(Arc::new)
            .map_err(Cow::Owned),
        None => teikyo_refdata::forms::shared_catalogue().map_err(Cow::Borrowed),
    }
}

/// Checks the item sets the server will work with and returns them for the report pages.
pub fn check_item_sets(dir: Option<&Path>) -> anyhow::Result<Arc<Catalogue>> {
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
    Ok(catalogue)
}

/// `public_url` is the deployment's (config), the default base of the canonical URLs.
pub fn run(command: &FormsCommand, public_url: &str) -> anyhow::Result<ExitCode> {
    match command {
        FormsCommand::Check(args) => check(args),
        FormsCommand::ExportFhir(args) => export_fhir(args, public_url),
    }
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    match load(args.dir.as_deref()) {
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
            report_load_errors(&errors);
            Ok(ExitCode::FAILURE)
        }
    }
}

fn report_load_errors(errors: &[FormsError]) {
    eprintln!(
        "報告様式に {} 件の誤りがあります。該当のファイルを直してから、もう一度実行してください。\n{}",
        errors.len(),
        FormsError::list(errors)
    );
}

/// The file an item set is written to: its id, with `/` (not allowed in a file name) as `_`.
fn fhir_file_name(set: &ItemSet) -> String {
    format!("{}.json", set.id.replace(['/', '\\'], "_"))
}

fn export_fhir(args: &ExportFhirArgs, public_url: &str) -> anyhow::Result<ExitCode> {
    // Several files on standard output would not be one JSON document: a directory is needed
    // unless one item set is asked for.
    if args.out.is_none() && args.item_set.is_none() {
        eprintln!(
            "書き出し先のディレクトリを --out で指定してください（--item-set で項目セットを1つに絞ると標準出力に書き出します）。"
        );
        return Ok(ExitCode::from(2));
    }
    let catalogue = match load(args.dir.as_deref()) {
        Ok(c) => c,
        Err(errors) => {
            report_load_errors(&errors);
            return Ok(ExitCode::FAILURE);
        }
    };
    let sets: Vec<&ItemSet> = match &args.item_set {
        Some(id) => match catalogue.item_sets.get(id) {
            Some(set) => vec![set],
            None => {
                let known: Vec<&str> = catalogue.item_sets.keys().map(String::as_str).collect();
                eprintln!(
                    "項目セット「{id}」はありません。次のいずれかを指定してください: {}",
                    known.join(", ")
                );
                return Ok(ExitCode::FAILURE);
            }
        },
        None => catalogue.item_sets.values().collect(),
    };
    let options = ExportOptions {
        base_url: args
            .base_url
            .clone()
            .unwrap_or_else(|| format!("{}/fhir", public_url.trim_end_matches('/'))),
        date: Some(args.date.unwrap_or_else(today_in_japan)),
    };
    // Every set is converted before anything is written, so a problem leaves no partial export.
    let mut documents = Vec::with_capacity(sets.len());
    let mut problems = Vec::new();
    for set in sets {
        match fhir::questionnaire(&catalogue, set, &options) {
            Ok(q) => documents.push((set, q)),
            Err(errors) => problems.extend(errors),
        }
    }
    if !problems.is_empty() {
        eprintln!(
            "FHIR Questionnaire に変換できない箇所が {} 件あります。報告様式を直してから、もう一度実行してください。",
            problems.len()
        );
        for p in &problems {
            eprintln!("  {p}");
        }
        return Ok(ExitCode::FAILURE);
    }
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out)
            .with_context(|| format!("{} を作成できません", out.display()))?;
    }
    for (set, q) in &documents {
        let mut json = serde_json::to_string_pretty(q)?;
        json.push('\n');
        let summary = format!(
            "{}（{} セクション、{} 設問、コード表 {} 件）",
            q.title,
            q.item.len(),
            q.question_count(),
            q.contained.len()
        );
        match &args.out {
            Some(out) => {
                let path = out.join(fhir_file_name(set));
                std::fs::write(&path, json)
                    .with_context(|| format!("{} に書き込めません", path.display()))?;
                println!("{} を書き出しました: {summary}", path.display());
            }
            None => {
                // The document is the standard output; the summary goes beside it.
                print!("{json}");
                eprintln!("{} を書き出しました: {summary}", set.id);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The date in Japan (DESIGN: times in Asia/Tokyo, a fixed +09:00); the 年度 turns at
/// midnight there.
pub(crate) fn today_in_japan() -> NaiveDate {
    teikyo_domain::opening::japan_date(Utc::now())
}
