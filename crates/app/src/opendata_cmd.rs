//! `teikyo export opendata` and `teikyo import opendata` (issue 8 §1).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::NaiveDate;
use clap::Args;
use teikyo_domain::forms::Catalogue;
use teikyo_domain::opening::japan_date;
use teikyo_opendata::export::{ExportOptions, Manifest};
use teikyo_opendata::import;
use teikyo_opendata::reference::Embedded;
use teikyo_store::Store;

use crate::config::Config;

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// 書き出すフォルダ（既定: 設定の opendata.dir）
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// ファイル名に付ける時点（YYYY-MM-DD。既定: 今日）
    #[arg(long, value_name = "DATE")]
    pub date: Option<NaiveDate>,
    /// 進捗を表示しません
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// オープンデータのファイル、またはそれらを置いたフォルダ（01-1_hospital_facility_info_20261201.csv など）
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// 検査だけを行い、取り込みません（すべての誤りを報告します）
    #[arg(long)]
    pub dry_run: bool,
    /// 進捗を表示しません
    #[arg(long)]
    pub quiet: bool,
}

pub fn print_manifest(m: &Manifest) {
    for f in &m.files {
        println!(
            "  {}  {} 行  {} バイト  SHA-256 {}",
            f.name, f.rows, f.bytes, f.sha256
        );
    }
}

pub async fn export(store: &Store, config: &Config, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let opts = ExportOptions {
        dir: args
            .out
            .clone()
            .unwrap_or_else(|| config.opendata.dir.clone()),
        snapshot: args.date.unwrap_or_else(|| japan_date(chrono::Utc::now())),
        credit: config.opendata.credit.clone(),
        licence: config.opendata.licence.clone(),
    };
    let quiet = args.quiet;
    let mut progress = |done: u64, total: u64| {
        if !quiet {
            eprint!(
                "\rオープンデータを書き出しています: {}%",
                done * 100 / total.max(1)
            );
            let _ = std::io::stderr().flush();
        }
    };
    let manifest = teikyo_opendata::export::export(store, &opts, &mut progress).await?;
    if !quiet {
        eprintln!();
    }
    println!(
        "{} 時点のオープンデータを {} に書き出しました（{} 施設、所要時間 {:.1} 秒）。",
        manifest.snapshot,
        opts.dir.display(),
        manifest.facilities,
        started.elapsed().as_secs_f64()
    );
    print_manifest(&manifest);
    if manifest.omitted_without_code > 0 {
        println!(
            "機関コードのない {} 施設は、オープンデータの ID を作れないため含めていません。",
            manifest.omitted_without_code
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn import(
    store: &Store,
    catalogue: Arc<Catalogue>,
    args: &ImportArgs,
) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let files = match import::find_files(&args.paths) {
        Ok(f) => f,
        Err(errors) => {
            for e in &errors {
                println!("{e}");
            }
            println!("ファイルを確認してから、もう一度実行してください。");
            return Ok(ExitCode::from(1));
        }
    };
    if !args.quiet {
        eprintln!("{} 種別のファイルを検査しています…", files.kinds.len());
    }
    let mut checked = import::check(&files, &Embedded);
    let known = teikyo_opendata::master::already_in_master(
        store,
        checked.facilities.iter().map(|f| &f.row),
    )
    .await?;
    checked.errors.extend(known);
    for e in checked.errors.iter().take(1_000) {
        println!("{e}");
    }
    if checked.errors.len() > 1_000 {
        println!("…ほか {} 件", checked.errors.len() - 1_000);
    }
    for (name, rows) in &checked.rows {
        println!("  {name}: {rows} 行");
    }
    println!(
        "{} 行を検査しました: 施設 {} 件、誤り {} 件。",
        checked.lines_read,
        checked.facilities.len(),
        checked.errors.len()
    );
    if !checked.errors.is_empty() {
        println!(
            "誤りがあるため、何も取り込んでいません。上の行を修正してから、もう一度実行してください。"
        );
        return Ok(ExitCode::from(1));
    }
    if args.dry_run {
        println!("検査のみ（--dry-run）のため、取り込みは行っていません。");
        return Ok(ExitCode::SUCCESS);
    }
    let snapshot = files
        .snapshot
        .unwrap_or_else(|| japan_date(chrono::Utc::now()));
    let quiet = args.quiet;
    let mut progress = |done: usize, total: usize| {
        if !quiet {
            eprint!("\r公表しています: {done} / {total} 施設");
            let _ = std::io::stderr().flush();
        }
    };
    let summary = import::store(
        store,
        catalogue,
        checked.facilities,
        snapshot,
        &mut progress,
    )
    .await?;
    if !quiet {
        eprintln!();
    }
    println!(
        "{} 施設を取り込み、{} 時点の確認済みデータとして {} 施設を公表しました（非公表 {}）。所要時間 {:.1} 秒。",
        summary.facilities,
        snapshot,
        summary.published.published,
        summary.published.withdrawn + summary.published.unchanged + summary.published.skipped,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
