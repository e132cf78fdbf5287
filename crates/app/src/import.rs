//! `teikyo import facilities FILE…`: the MHLW 施設票 files (all five kinds) into the facility
//! master. Every row is checked before anything is written; one bad row rejects the whole import
//! (all or nothing), and every bad row is reported with its file and line so that the person
//! fixing the spreadsheet can fix them all in one pass.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use teikyo_domain::{FacilityKind, FacilityRecord};
use teikyo_opendata::master::{already_in_master, check_files};
use teikyo_opendata::reference::Embedded;
use teikyo_store::Store;

#[derive(Debug, Clone, Args)]
pub struct FacilitiesArgs {
    /// 施設票CSVファイル（01-1_hospital_facility_info.csv など。複数指定できます）
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// 検査だけを行い、取り込みません（すべての誤りを報告します）
    #[arg(long)]
    pub dry_run: bool,
    /// 進捗を表示しません
    #[arg(long)]
    pub quiet: bool,
}

/// Checks, and unless `dry_run`, stores. Returns the process exit code.
pub async fn run_facilities(store: &Store, args: &FacilitiesArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    if !args.quiet {
        eprintln!("{} 個のファイルを検査しています…", args.files.len());
    }
    let mut checked = check_files(&args.files, &Embedded);
    let known = already_in_master(store, &checked.rows).await?;
    checked.errors.extend(known);
    checked
        .errors
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    for e in &checked.errors {
        println!("{e}");
    }
    let bad_lines = {
        let mut v: Vec<_> = checked.errors.iter().map(|e| (&e.file, e.line)).collect();
        v.dedup();
        v.len()
    };
    println!(
        "{} 行を検査しました（ファイル {} 個）: 正常 {} 行、誤りのある行 {} 行（誤り {} 件）。",
        checked.lines_read,
        args.files.len(),
        checked.rows.len(),
        bad_lines,
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
    let records: Vec<FacilityRecord> = checked.rows.into_iter().map(|r| r.record).collect();
    let total = records.len();
    let quiet = args.quiet;
    let mut last_shown = 0;
    let mut progress = |done: usize| {
        if !quiet && (done - last_shown >= total / 10 || done == total) && total > 0 {
            eprintln!("取り込み中… {done} / {total} 件（{}%）", done * 100 / total);
            last_shown = done;
        }
    };
    store.facilities().import(&records, &mut progress).await?;
    let mut by_kind: Vec<(FacilityKind, usize)> =
        FacilityKind::ALL.iter().map(|k| (*k, 0)).collect();
    for r in &records {
        if let Some(e) = by_kind.iter_mut().find(|(k, _)| *k == r.kind) {
            e.1 += 1;
        }
    }
    let summary: Vec<String> = by_kind
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{} {n}", k.name()))
        .collect();
    println!(
        "{total} 施設を取り込みました（{}）。所要時間 {:.1} 秒。",
        summary.join("、"),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
