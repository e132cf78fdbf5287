//! `teikyo mail …`: operations on mail records. `mail bounce` reads bounce reports (DSNs) from
//! standard input or a Maildir and marks the mails they name 不達.

use clap::{Args, Subcommand};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use teikyo_mail::bounce::{self, BounceError, BounceOutcome};
use teikyo_store::Store;

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// 不達通知（DSN）を読み、対応するメールを「不達」にします（--maildir がなければ標準入力から1通読みます）
    Bounce(BounceArgs),
}

#[derive(Debug, Args)]
pub struct BounceArgs {
    /// Maildir のフォルダ。new/ と cur/ の未処理のメールを処理し、既読（S）にして cur/ に置きます
    #[arg(long, value_name = "DIR")]
    pub maildir: Option<PathBuf>,
}

pub async fn run(store: &Store, command: &MailCommand) -> anyhow::Result<ExitCode> {
    match command {
        MailCommand::Bounce(args) => bounce_command(store, args).await,
    }
}

/// Counts for the closing summary line.
#[derive(Debug, Default)]
struct Tally {
    messages: usize,
    bounced: usize,
    already: usize,
    ignored: usize,
    unmatched: usize,
    unreadable: usize,
    /// Files processed but not moved to cur/ (they will be read again next time; harmless).
    not_moved: usize,
}

impl Tally {
    fn count(&mut self, outcome: &BounceOutcome) {
        match outcome {
            BounceOutcome::Bounced { .. } => self.bounced += 1,
            BounceOutcome::AlreadyBounced { .. } => self.already += 1,
            BounceOutcome::Ignored { .. } => self.ignored += 1,
            BounceOutcome::Unmatched { .. } => self.unmatched += 1,
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} 通を処理しました（不達にしたもの {} 件、既に不達 {} 件、状態を変えなかったもの {} 件、\
             対応するメールがないもの {} 件、読み取れなかったもの {} 通）。",
            self.messages,
            self.bounced,
            self.already,
            self.ignored,
            self.unmatched,
            self.unreadable
        )
    }

    /// 0 when every message was read (ignored and unmatched reports included), else 1.
    fn exit_code(&self) -> ExitCode {
        if self.unreadable == 0 && self.not_moved == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// sysexits.h EX_TEMPFAIL: an MTA piping a message to us keeps it and tries again later.
pub const EX_TEMPFAIL: u8 = 75;

async fn bounce_command(store: &Store, args: &BounceArgs) -> anyhow::Result<ExitCode> {
    let mut tally = Tally::default();
    let result = match &args.maildir {
        None => {
            let mut raw = Vec::new();
            std::io::stdin()
                .read_to_end(&mut raw)
                .map_err(|e| anyhow::anyhow!("標準入力を読み取れません: {e}"))?;
            process_one(store, "標準入力", &raw, "", &mut tally)
                .await
                .map(|_| ())
        }
        Some(dir) => process_maildir(store, dir, &mut tally).await,
    };
    if let Err(e) = result {
        // The database is unavailable: not the message's fault, so ask the MTA to retry rather
        // than lose the report (or bounce it).
        eprintln!(
            "記録を更新できなかったため、処理を中断しました。後でもう一度実行してください: {e:#}"
        );
        return Ok(ExitCode::from(EX_TEMPFAIL));
    }
    println!("{}", tally.summary());
    if args.maildir.is_none() {
        // On a pipe, a non-zero exit makes the MTA bounce the message back to its sender:
        // auto-replies and other non-reports are reported above and accepted.
        return Ok(ExitCode::SUCCESS);
    }
    Ok(tally.exit_code())
}

/// Applies one message and prints a line per outcome (prefixed with `prefix`). Returns whether
/// the message was read; store failures abort the command.
async fn process_one(
    store: &Store,
    source: &str,
    raw: &[u8],
    prefix: &str,
    tally: &mut Tally,
) -> anyhow::Result<bool> {
    tally.messages += 1;
    match bounce::process(store, raw).await {
        Ok(outcomes) => {
            for outcome in &outcomes {
                tally.count(outcome);
                println!("{prefix}{outcome}");
            }
            Ok(true)
        }
        // The database failing is not the message's fault: stop rather than report every
        // remaining message as unreadable.
        Err(BounceError::Store(e)) => Err(e.into()),
        Err(e) => {
            tally.unreadable += 1;
            eprintln!("読み取れませんでした: {source}: {e}（{}）", e.code());
            Ok(false)
        }
    }
}

async fn process_maildir(store: &Store, dir: &Path, tally: &mut Tally) -> anyhow::Result<()> {
    let new = dir.join("new");
    let cur = dir.join("cur");
    if !new.is_dir() || !cur.is_dir() {
        anyhow::bail!(
            "{} は Maildir ではありません（new/ と cur/ のフォルダが必要です）。",
            dir.display()
        );
    }
    // Both listings are taken before anything moves, so that a message moved from new/ to cur/
    // is not read a second time in the same run. Messages already marked seen (S) were handled
    // by an earlier run: reading them again would only repeat old lines.
    let unseen: Vec<PathBuf> = message_files(&cur)?
        .into_iter()
        .filter(|p| !is_seen(p))
        .collect();
    let listings = [(&new, message_files(&new)?), (&cur, unseen)];
    for (folder, paths) in listings {
        for path in paths {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            let label = format!("{}/{name}", folder_name(folder));
            let raw = match std::fs::read(&path) {
                Ok(raw) => raw,
                Err(e) => {
                    tally.messages += 1;
                    tally.unreadable += 1;
                    eprintln!("読み取れませんでした: {label}: {e}");
                    continue;
                }
            };
            let read = process_one(store, &label, &raw, &format!("{label}: "), tally).await?;
            if read {
                let target = cur.join(seen_name(&name));
                if let Err(e) = std::fs::rename(&path, &target) {
                    tally.not_moved += 1;
                    eprintln!("cur/ へ移せませんでした: {label}: {e}");
                }
            }
        }
    }
    Ok(())
}

/// The regular files of a Maildir folder, in name order (names start with the delivery time);
/// dot files are not messages.
fn message_files(folder: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| anyhow::anyhow!("{} を読み取れません: {e}", folder.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && !entry.file_name().to_string_lossy().starts_with('.') {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

fn is_seen(path: &Path) -> bool {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .and_then(|n| n.split_once(":2,").map(|(_, flags)| flags.contains('S')))
        .unwrap_or(false)
}

fn folder_name(folder: &Path) -> String {
    folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The name a message gets in cur/ once read: the Maildir info `:2,` with the S (seen) flag
/// added, flags kept in ASCII order as the Maildir convention asks.
fn seen_name(name: &str) -> String {
    match name.split_once(":2,") {
        Some((base, flags)) if flags.contains('S') => format!("{base}:2,{flags}"),
        Some((base, flags)) => {
            let mut flags: Vec<char> = flags.chars().chain(['S']).collect();
            flags.sort_unstable();
            format!("{base}:2,{}", flags.into_iter().collect::<String>())
        }
        None => format!("{name}:2,S"),
    }
}

#[cfg(test)]
mod tests {
    use super::seen_name;

    #[test]
    fn seen_names_follow_the_maildir_convention() {
        assert_eq!(seen_name("1715649667.M1P2.mx"), "1715649667.M1P2.mx:2,S");
        assert_eq!(seen_name("1.M1.mx:2,F"), "1.M1.mx:2,FS");
        assert_eq!(seen_name("1.M1.mx:2,T"), "1.M1.mx:2,ST");
        assert_eq!(seen_name("1.M1.mx:2,RS"), "1.M1.mx:2,RS");
    }
}
