//! `teikyo import insurance-master FILE [--as-of DAY]` and `teikyo import ndb-preprint FILE
//! --fiscal-year N`: the reference data of the 保険医療機関番号確認 (DOMAIN §4.3). The file is
//! checked whole first (`teikyo_domain::ndb`); any bad line rejects it with every problem and
//! its line, and nothing is written. A good file goes in as one transaction, replacing the same
//! snapshot (master: that day's rows of the prefectures the file covers; preprint: that 年度).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::forms_cmd::today_in_japan;
use chrono::{Datelike, NaiveDate, Utc};
use clap::Args;
use teikyo_domain::forms::{Catalogue, ItemKind};
use teikyo_domain::ndb::{self, FileError};
use teikyo_domain::report::fiscal_year_label;
use teikyo_domain::text::date_ja;
use teikyo_store::{AuditEvent, Store};

const MASTER_HELP: &str = concat!(
    "ファイルの形式: CSV（UTF-8、BOM の有無は問いません）。1行目は見出し行で、",
    "列は名前で探します（順序は自由、ほかの列は無視します）。\n",
    "  保険医療機関コード（insurance_code）  必須。10桁、検証番号を確認します（先頭の0が落ちた9桁も読みます）\n",
    "  名称（name）                          必須\n",
    "  所在地（address）                     任意\n",
    "  機関区分（kind）                      任意。1〜5 または 病院・診療所・歯科診療所・助産所・薬局\n",
    "誤りが1行でもあれば何も取り込みません。同じ時点（--as-of）の一覧をもう一度取り込むと、",
    "ファイルに含まれる都道府県の分を置き換えます。\n",
    "定期報告（N年度）の番号確認は、N年3月31日（前年度末）以前で最も新しい時点の一覧と照合します。",
);

const PREPRINT_HELP: &str = concat!(
    "ファイルの形式: CSV（UTF-8、BOM の有無は問いません）。1行目は見出し行で、",
    "列は名前で探します（順序は自由、ほかの列は無視します）。\n",
    "  保険医療機関コード（insurance_code）  必須。10桁\n",
    "  項目コード（item_code）               必須。疾患・治療のコード（5桁まで。7 は 00007 と読みます）\n",
    "  件数（count、前年度実施件数）         必須。0以上の整数\n",
    "誤りが1行でもあれば何も取り込みません。同じ年度をもう一度取り込むと、その年度の件数をすべて置き換えます。\n",
    "--fiscal-year には件数の年度を指定します。N年度の件数は N+1年度の定期報告でプレプリントされます。",
);

#[derive(Debug, Clone, Args)]
#[command(after_help = MASTER_HELP)]
pub struct InsuranceMasterArgs {
    /// 保険医療機関の一覧（CSV）
    pub file: PathBuf,
    /// 一覧の時点（YYYY-MM-DD）。省略時は直近の3月31日（前年度末）です
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
    /// 検査だけを行い、取り込みません（すべての誤りを報告します）
    #[arg(long)]
    pub dry_run: bool,
    /// 進捗を表示しません
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = PREPRINT_HELP)]
pub struct NdbPreprintArgs {
    /// NDB の前年度実施件数（CSV）
    pub file: PathBuf,
    /// 件数の年度（西暦。例: 2024 は令和6年度の実施件数で、令和7年度の定期報告で使われます）
    #[arg(long, value_name = "N")]
    pub fiscal_year: u16,
    /// 検査だけを行い、取り込みません（すべての誤りを報告します）
    #[arg(long)]
    pub dry_run: bool,
    /// 進捗を表示しません
    #[arg(long)]
    pub quiet: bool,
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The latest 31 March on or before `today`: the end of the last 年度 that has ended.
pub fn last_fiscal_year_end(today: NaiveDate) -> NaiveDate {
    let this_year = ndb::master_date(u16::try_from(today.year()).unwrap_or(0));
    if this_year <= today {
        this_year
    } else {
        ndb::master_date(u16::try_from(today.year() - 1).unwrap_or(0))
    }
}

/// The first 年度 whose 定期報告 matches against a snapshot of `as_of`.
fn first_report_year(as_of: NaiveDate) -> u16 {
    let y = u16::try_from(as_of.year()).unwrap_or(0);
    if as_of <= ndb::master_date(y) {
        y
    } else {
        y.saturating_add(1)
    }
}

/// Reads the file; `None` (after printing why) when it cannot be read or has errors.
/// One of the domain's file parsers.
type Parse<T> = fn(&[u8]) -> Result<Vec<T>, Vec<FileError>>;

fn checked<T>(path: &Path, parse: Parse<T>) -> Option<Vec<T>> {
    let name = display_name(path);
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            println!("{name}: ファイルを開けません: {e}");
            return None;
        }
    };
    match parse(&bytes) {
        Ok(rows) => {
            println!(
                "{name}: {} 行を検査しました。誤りはありません。",
                rows.len()
            );
            Some(rows)
        }
        Err(errors) => {
            for e in &errors {
                println!("{name}:{e}");
            }
            let lines: BTreeSet<u64> = errors.iter().map(|e| e.line).collect();
            println!(
                "{name}: 誤りのある行 {} 行（誤り {} 件）。誤りがあるため、何も取り込んでいません。上の行を修正してから、もう一度実行してください。",
                lines.len(),
                errors.len()
            );
            None
        }
    }
}

fn progress(quiet: bool, total: usize) -> impl FnMut(usize) + Send {
    let mut last_shown = 0;
    move |done: usize| {
        if !quiet && total > 0 && (done - last_shown >= total / 10 || done == total) {
            eprintln!("取り込み中… {done} / {total} 件（{}%）", done * 100 / total);
            last_shown = done;
        }
    }
}

pub async fn run_insurance_master(
    store: &Store,
    args: &InsuranceMasterArgs,
) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let Some(rows) = checked(&args.file, ndb::parse_master) else {
        return Ok(ExitCode::from(1));
    };
    let as_of = args
        .as_of
        .unwrap_or_else(|| last_fiscal_year_end(today_in_japan()));
    if args.dry_run {
        println!("検査のみ（--dry-run）のため、取り込みは行っていません。");
        return Ok(ExitCode::SUCCESS);
    }
    let audit = AuditEvent::new("insurance_master.imported", None).with_detail(serde_json::json!({
        "file": display_name(&args.file),
        "as_of": as_of.to_string(),
        "rows": rows.len(),
    }));
    let mut shown = progress(args.quiet, rows.len());
    let out = store
        .insurance()
        .import_master(as_of, &rows, audit, Utc::now(), &mut shown)
        .await?;
    let prefectures = match out.prefectures.as_slice() {
        few @ ([_] | [_, _] | [_, _, _]) => {
            few.iter().map(|p| p.name()).collect::<Vec<_>>().join("、")
        }
        many => format!("{} 都道府県", many.len()),
    };
    println!(
        "保険医療機関 {} 件を {}時点の一覧として取り込みました（{}）。同じ時点の {} 件を置き換えました。所要時間 {:.1} 秒。",
        out.inserted,
        date_ja(as_of),
        prefectures,
        out.replaced,
        started.elapsed().as_secs_f64()
    );
    let fy = first_report_year(as_of);
    println!(
        "この一覧は、{}（{fy}年度）以降の定期報告の保険医療機関番号確認に使われます（より新しい時点の一覧を取り込むまで）。",
        fiscal_year_label(fy)
    );
    Ok(ExitCode::SUCCESS)
}

/// The 疾患・治療 codes that a preprint can fill: those of coded lists with a count flag in any
/// item set (what is not among them is imported but never shown).
fn preprintable_codes(catalogue: &Catalogue) -> BTreeSet<&str> {
    catalogue
        .item_sets
        .values()
        .flat_map(ndb::preprint_targets)
        .filter_map(|(_, item)| match &item.kind {
            ItemKind::CodedList { codes, .. } => catalogue.code_lists.get(codes),
            _ => None,
        })
        .flat_map(|list| list.codes.iter().map(|c| c.code.as_str()))
        .collect()
}

pub async fn run_ndb_preprint(
    store: &Store,
    args: &NdbPreprintArgs,
    catalogue: &Catalogue,
) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    if !(2000..=2200).contains(&args.fiscal_year) {
        println!(
            "--fiscal-year には件数の年度を西暦で指定してください（例: 2024）。指定値: {}",
            args.fiscal_year
        );
        return Ok(ExitCode::from(2));
    }
    let Some(rows) = checked(&args.file, ndb::parse_preprint) else {
        return Ok(ExitCode::from(1));
    };
    let known = preprintable_codes(catalogue);
    let unknown: BTreeSet<&str> = rows
        .iter()
        .map(|r| r.item.as_str())
        .filter(|i| !known.contains(i))
        .collect();
    if !unknown.is_empty() {
        let shown: Vec<&str> = unknown.iter().take(10).copied().collect();
        println!(
            "注意: 項目コード {} 種類（{}{}）は、どの報告様式の疾患・治療の一覧にもありません。取り込みますが、プレプリントには使われません。",
            unknown.len(),
            shown.join("、"),
            if unknown.len() > shown.len() {
                "、…"
            } else {
                ""
            }
        );
    }
    if args.dry_run {
        println!("検査のみ（--dry-run）のため、取り込みは行っていません。");
        return Ok(ExitCode::SUCCESS);
    }
    let audit = AuditEvent::new("ndb_preprint.imported", None).with_detail(serde_json::json!({
        "file": display_name(&args.file),
        "fiscal_year": args.fiscal_year,
        "rows": rows.len(),
    }));
    let mut shown = progress(args.quiet, rows.len());
    let out = store
        .insurance()
        .import_preprint(args.fiscal_year, &rows, audit, Utc::now(), &mut shown)
        .await?;
    let codes: BTreeSet<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    let report_year = args.fiscal_year + 1;
    println!(
        "{}（{}年度）の実施件数 {} 件（保険医療機関 {} 件）を取り込みました。同じ年度の {} 件を置き換えました。所要時間 {:.1} 秒。",
        fiscal_year_label(args.fiscal_year),
        args.fiscal_year,
        out.inserted,
        codes.len(),
        out.replaced,
        started.elapsed().as_secs_f64()
    );
    println!(
        "これらの件数は、{}（{report_year}年度）の定期報告でプレプリントされます。",
        fiscal_year_label(report_year)
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_day_is_the_last_fiscal_year_end() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(last_fiscal_year_end(d(2026, 11, 21)), d(2026, 3, 31));
        assert_eq!(last_fiscal_year_end(d(2026, 3, 31)), d(2026, 3, 31));
        assert_eq!(last_fiscal_year_end(d(2026, 3, 30)), d(2025, 3, 31));
        assert_eq!(first_report_year(d(2025, 3, 31)), 2025);
        assert_eq!(first_report_year(d(2025, 8, 1)), 2026);
    }
}
