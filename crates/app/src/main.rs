//! `teikyo`: the single binary. Subcommands run the server, migrations, the demo, the synthetic
//! dataset generator, importers and checkers.

mod check;
mod cli;
mod config;
mod demo_mail;
mod demo_users;
mod forms_cmd;
mod import;
mod mail_cmd;
mod ndb_import;
mod opendata_cmd;
mod publish_cmd;
mod synth;
mod synth_answers;

use std::process::ExitCode;

/// See the workspace manifest: the allocator is chosen for the index rebuild and search.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("起動に失敗しました（非同期ランタイム）: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("エラー: {e:#}");
            ExitCode::FAILURE
        }
    }
}
