//! `teikyo check insurance-codes FILE`: one code per line in, CSV
//! `input,normalised,valid,rule,message` out — for prefecture staff cleaning a spreadsheet column.

use clap::Args;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use teikyo_domain::{InsuranceCode, text::code_chars};

#[derive(Debug, Args)]
pub struct InsuranceCodesArgs {
    /// 1行に1つのコードを書いたファイル（UTF-8、- で標準入力）
    pub file: PathBuf,
    /// 結果のCSVを書き出すファイル（省略時は標準出力）
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// One output row per non-blank input line.
pub fn check_lines(input: impl BufRead, out: impl Write) -> anyhow::Result<(usize, usize)> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["input", "normalised", "valid", "rule", "message"])?;
    let (mut total, mut valid) = (0, 0);
    for line in input.lines() {
        let line = line?;
        let raw = line.trim_start_matches('\u{feff}').trim();
        if raw.is_empty() {
            continue;
        }
        total += 1;
        match InsuranceCode::parse(raw) {
            Ok(c) => {
                valid += 1;
                w.write_record([raw, c.as_str(), "true", c.rule().id(), ""])?;
            }
            Err(e) => {
                let normalised = code_chars(raw);
                w.write_record([raw, normalised.as_str(), "false", "", &e.to_string()])?;
            }
        }
    }
    w.flush()?;
    Ok((total, valid))
}

pub fn insurance_codes(args: &InsuranceCodesArgs) -> anyhow::Result<ExitCode> {
    let input: Box<dyn BufRead> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(&args.file)
            .map_err(|e| anyhow::anyhow!("{} を開けません: {e}", args.file.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let (total, valid) = match &args.out {
        Some(path) => check_lines(input, std::fs::File::create(path)?)?,
        None => check_lines(input, std::io::stdout().lock())?,
    };
    eprintln!(
        "{total} 件を検査しました: 有効 {valid} 件、無効 {} 件。",
        total - valid
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_row_per_code() {
        let input = "\u{feff}０１１０１１３７１９\n1310110049\n\n0110113718\nabc\n";
        let mut out = Vec::new();
        let (total, valid) = check_lines(input.as_bytes(), &mut out).unwrap();
        assert_eq!((total, valid), (4, 2));
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[0], "input,normalised,valid,rule,message");
        assert_eq!(lines[1], "０１１０１１３７１９,0110113719,true,standard,");
        assert_eq!(lines[2], "1310110049,1310110049,true,seven_digit,");
        assert!(
            lines[3].starts_with("0110113718,0110113718,false,,"),
            "{}",
            lines[3]
        );
        assert!(lines[3].contains("標準の計算では 9"), "{}", lines[3]);
        assert!(lines[4].starts_with("abc,abc,false,,"), "{}", lines[4]);
    }
}
