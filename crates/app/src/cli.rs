//! Command-line interface. Help texts are Japanese, the language of the people who run it.

use crate::config::{Config, LogFormat};
use anyhow::Context;
use clap::{Arg, ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use teikyo_store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "teikyo",
    version,
    about = "Teikyo — 医療機能情報提供制度・薬局機能情報提供制度の報告システム",
    long_about = "Teikyo — 医療機能情報提供制度・薬局機能情報提供制度の報告システム。\n\
        設定は 既定値 < 設定ファイル（--config または TEIKYO_CONFIG） < 環境変数 TEIKYO_*\n\
        の順に上書きされます。秘密情報は TEIKYO_DATABASE_URL_FILE のようにファイルからも読めます。",
    disable_help_subcommand = true
)]
pub struct Cli {
    /// 設定ファイル（TOML）のパス
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// データベースURL（sqlite://… または postgres://…）。設定より優先されます
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Webサーバを起動します
    Serve(ServeArgs),
    /// データベースのマイグレーションを適用します
    Migrate,
    /// ジョブ（メール送信など）を処理するワーカーを起動します（serve とは別のプロセスで動かす場合）
    Worker(WorkerArgs),
    /// デモ用の新しいSQLiteデータベースを作り、合成データを入れてサーバを起動します
    Demo(DemoArgs),
    /// 全国規模の合成データ（医療情報ネットのオープンデータ形式のCSV）を書き出します
    Synth(crate::synth::SynthArgs),
    /// ファイルからデータを取り込みます
    #[command(subcommand)]
    Import(ImportCommand),
    /// コードの検査を行います
    #[command(subcommand)]
    Check(CheckCommand),
    /// メールに関する操作を行います
    #[command(subcommand)]
    Mail(crate::mail_cmd::MailCommand),
    /// 報告様式（項目セット）に関する操作を行います
    #[command(subcommand)]
    Forms(crate::forms_cmd::FormsCommand),
    /// 住民向けに公表するデータを作成します
    #[command(subcommand)]
    Publish(crate::publish_cmd::PublishCommand),
    /// 検索用の索引に関する操作を行います
    #[command(subcommand)]
    Index(IndexCommand),
    /// データを書き出します
    #[command(subcommand)]
    Export(ExportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// 公表中の全施設を、医療情報ネットのオープンデータ形式（8ファイル）と manifest.json で書き出します
    Opendata(crate::opendata_cmd::ExportArgs),
}

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// このノードの検索用の索引を、公表データから作り直します
    Rebuild,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// 待ち受けるアドレス（例: 127.0.0.1:8080）。設定より優先されます
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// 待機中のジョブをすべて処理したら終了します
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// 待ち受けるアドレス
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub bind: String,
    /// デモ用データベースのファイル（既存のものは作り直します）
    #[arg(long, default_value = "teikyo-demo.sqlite", value_name = "FILE")]
    pub db: PathBuf,
    /// 合成する施設数
    #[arg(long, default_value_t = 3_000)]
    pub facilities: u32,
    /// 乱数の種（同じ値なら同じデータになります）
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// データを用意したらサーバを起動せずに終了します
    #[arg(long)]
    pub no_serve: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// 施設票CSV（医療情報ネットのオープンデータ形式、5種別）を施設マスタに取り込みます
    Facilities(crate::import::FacilitiesArgs),
    /// 保険医療機関番号確認の照合に使う保険医療機関の一覧（厚生局データ、ある時点のもの）を取り込みます
    InsuranceMaster(crate::ndb_import::InsuranceMasterArgs),
    /// 定期報告でプレプリントする NDB の前年度実施件数（保険医療機関コード・項目コード・件数）を取り込みます
    NdbPreprint(crate::ndb_import::NdbPreprintArgs),
    /// 医療情報ネットのオープンデータ（8ファイル）を施設マスタに取り込み、診療科目・診療時間などを公表します
    Opendata(crate::opendata_cmd::ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// 保険医療機関コードを1行に1つずつ読み、検査結果をCSVで書き出します
    InsuranceCodes(crate::check::InsuranceCodesArgs),
}

/// clap's own texts (headings, the help and version flags) in Japanese too, on every subcommand,
/// so that `--help` reads in one language.
fn localise(cmd: clap::Command, root: bool) -> clap::Command {
    let mut cmd = cmd
        .help_template("{about-with-newline}\n使い方: {usage}\n\n{all-args}{after-help}")
        .subcommand_help_heading("コマンド")
        .disable_help_flag(true)
        .mut_args(|a| {
            let heading = if a.is_positional() {
                "引数"
            } else {
                "オプション"
            };
            a.help_heading(heading)
        })
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("このヘルプを表示します")
                .help_heading("オプション"),
        );
    if root {
        cmd = cmd.disable_version_flag(true).arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("バージョンを表示します")
                .help_heading("オプション"),
        );
    }
    cmd.mut_subcommands(|c| localise(c, false))
}

/// Parses the process arguments with the localised command.
pub fn parse() -> Cli {
    let matches = localise(Cli::command(), true).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: keep the first subscriber.
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub async fn connect(config: &Config) -> anyhow::Result<Store> {
    let opts = teikyo_store::StoreOptions {
        max_connections: config.max_connections,
        ..Default::default()
    };
    let store = Store::connect_with(&config.database_url, &opts).await?;
    Ok(store)
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(url) = cli.database_url {
        config.database_url = url;
    }
    init_logging(&config);
    match cli.command {
        Command::Serve(args) => {
            if let Some(bind) = args.bind {
                config.bind = bind;
            }
            let forms = crate::forms_cmd::check_item_sets(config.forms_dir.as_deref())?;
            let store = connect(&config).await?;
            store.migrate().await?;
            mail_templates(&config)?;
            serve(&config, store, forms, false).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let store = connect(&config).await?;
            store.migrate().await?;
            let applied = store.applied_migrations().await?;
            println!(
                "マイグレーションを適用しました（{}、{} 件）: {}",
                store.backend().name(),
                applied.len(),
                applied.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker(args) => {
            let forms = crate::forms_cmd::check_item_sets(config.forms_dir.as_deref())?;
            let store = connect(&config).await?;
            store.migrate().await?;
            let worker = build_worker(&config, store, forms)?;
            if args.once {
                let n = worker.drain().await?;
                println!("{n} 件のジョブを処理しました。");
            } else {
                println!(
                    "ワーカー {} を起動しました（Ctrl+C で停止します）。",
                    worker.id()
                );
                worker.run(teikyo_web::shutdown_signal()).await;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => demo(config, args).await,
        Command::Synth(args) => crate::synth::run(&args),
        Command::Import(ImportCommand::Facilities(args)) => {
            let store = connect(&config).await?;
            store.migrate().await?;
            crate::import::run_facilities(&store, &args).await
        }
        Command::Import(ImportCommand::InsuranceMaster(args)) => {
            let store = connect(&config).await?;
            store.migrate().await?;
            crate::ndb_import::run_insurance_master(&store, &args).await
        }
        Command::Import(ImportCommand::NdbPreprint(args)) => {
            let forms = crate::forms_cmd::check_item_sets(config.forms_dir.as_deref())?;
            let store = connect(&config).await?;
            store.migrate().await?;
            crate::ndb_import::run_ndb_preprint(&store, &args, &forms).await
        }
        Command::Import(ImportCommand::Opendata(args)) => {
            let forms = crate::forms_cmd::check_item_sets(config.forms_dir.as_deref())?;
            let store = connect(&config).await?;
            store.migrate().await?;
            crate::opendata_cmd::import(&store, forms, &args).await
        }
        Command::Export(ExportCommand::Opendata(args)) => {
            let store = connect(&config).await?;
            store.migrate().await?;
            crate::opendata_cmd::export(&store, &config, &args).await
        }
        Command::Publish(command) => {
            let forms = crate::forms_cmd::check_item_sets(config.forms_dir.as_deref())?;
            let store = connect(&config).await?;
            store.migrate().await?;
            crate::publish_cmd::run(&store, forms, &command).await
        }
        Command::Index(IndexCommand::Rebuild) => {
            let store = connect(&config).await?;
            store.migrate().await?;
            let started = std::time::Instant::now();
            index_dir(&config)?;
            let index = teikyo_search::SearchIndex::open_cleared(&config.search_index_dir)?;
            let rows = index.catch_up(&store).await?;
            index.compact()?;
            let facilities = index.len();
            println!(
                "検索用の索引を作り直しました（{}）: 公表データ {rows} 件を反映し、{facilities} 施設を検索できます。所要時間 {:.1} 秒。",
                config.search_index_dir.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(CheckCommand::InsuranceCodes(args)) => crate::check::insurance_codes(&args),
        Command::Forms(command) => crate::forms_cmd::run(&command, &config.public_url),
        Command::Mail(command) => {
            // Run from an MTA pipe: an unreachable database must make the MTA retry later
            // (EX_TEMPFAIL), not bounce the report.
            let store = match connect(&config).await {
                Ok(store) => store,
                Err(e) => {
                    eprintln!("データベースに接続できません。後でもう一度実行してください: {e:#}");
                    return Ok(ExitCode::from(crate::mail_cmd::EX_TEMPFAIL));
                }
            };
            store.migrate().await?;
            crate::mail_cmd::run(&store, &command).await
        }
    }
}

/// This node's search index, its directory created when missing.
fn open_index(config: &Config) -> anyhow::Result<teikyo_search::SearchIndex> {
    index_dir(config)?;
    Ok(teikyo_search::SearchIndex::open(Some(
        &config.search_index_dir,
    ))?)
}

/// The search index's directory, created when missing.
fn index_dir(config: &Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.search_index_dir).with_context(|| {
        format!(
            "検索用の索引のディレクトリ {} を作成できません",
            config.search_index_dir.display()
        )
    })
}

fn mail_config(config: &Config) -> teikyo_mail::MailConfig {
    teikyo_mail::MailConfig {
        from_address: config.mail.from_address.clone(),
        sender_name: config.mail.sender_name.clone(),
        bounce_domain: config.mail.bounce_domain.clone(),
    }
}

/// The mail templates of this deployment, checked now: a template naming a field its mail does
/// not have stops the start instead of a send weeks later.
pub fn mail_templates(
    config: &Config,
) -> anyhow::Result<std::sync::Arc<teikyo_mail::MailTemplates>> {
    let domain = mail_config(config).domain().to_owned();
    let templates = teikyo_mail::MailTemplates::load(teikyo_mail::TemplateSettings {
        sender_name: config.mail.sender_name.clone(),
        site_url: config.public_url.clone(),
        contact: config.mail.contact.clone(),
        message_id_domain: domain,
        dir: config.mail.templates_dir.clone(),
    })
    .map_err(|e| {
        anyhow::anyhow!(
            "メールテンプレートに誤りがあるため起動できません。{e}（{}）該当のファイルを直すか、設定 mail.templates_dir を外してから起動してください。",
            e.code()
        )
    })?;
    let longest = templates.link("/s/XXXXXXXXXXXX");
    if longest.chars().count() > teikyo_mail::MAX_LINK_CHARS {
        tracing::warn!(
            public_url = %config.public_url,
            "public_url is long: links in mails may wrap in mail clients"
        );
    }
    Ok(std::sync::Arc::new(templates))
}

/// The job worker with every handler this build has: mail delivery, the password and user
/// name recovery requests, the reporting periods' mail steps and the report notices, and the
/// 一括メール配信 sends (which render mails, hence the templates), and publication after
/// 確認完了 (which reads the item sets).
fn build_worker(
    config: &Config,
    store: Store,
    forms: std::sync::Arc<teikyo_domain::forms::Catalogue>,
) -> anyhow::Result<teikyo_worker::Worker> {
    let templates = mail_templates(config)?;
    let transport = teikyo_mail::Transport::from_config(&config.mail.transport)
        .map_err(|e| anyhow::anyhow!("メールの送信設定が正しくありません: {e}"))?;
    let mailer = teikyo_mail::Mailer::new(transport, mail_config(config));
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "teikyo".into());
    let id = format!("{host}-{}", std::process::id());
    let worker_config = teikyo_worker::WorkerConfig {
        lease: chrono::Duration::seconds(i64::try_from(config.worker.lease_secs).unwrap_or(600)),
        concurrency: config.worker.concurrency.max(1),
        ..Default::default()
    };
    let mut worker = teikyo_worker::Worker::new(store, id, worker_config)
        .with_handler(std::sync::Arc::new(mailer))
        .with_handler(std::sync::Arc::new(teikyo_mail::period::PeriodMail::new(
            templates.clone(),
        )))
        .with_handler(std::sync::Arc::new(teikyo_mail::report::ReportNotice::new(
            templates.clone(),
        )))
        .with_handler(std::sync::Arc::new(
            teikyo_mail::bulk_mail::BulkMailSender::new(templates.clone()),
        ))
        .with_handler(std::sync::Arc::new(
            teikyo_search::publish::ProjectHandler::new(teikyo_search::Publisher::new(forms)),
        ))
        .with_handler(std::sync::Arc::new(
            teikyo_opendata::job::ExportHandler::new(
                config.opendata.dir.clone(),
                config.opendata.credit.clone(),
                config.opendata.licence.clone(),
            ),
        ));
    for handler in teikyo_account::recovery::Recovery::new(templates).handlers() {
        worker = worker.with_handler(handler);
    }
    Ok(worker)
}

async fn serve(
    config: &Config,
    store: Store,
    forms: std::sync::Arc<teikyo_domain::forms::Catalogue>,
    demo: bool,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.bind)
        .await
        .with_context(|| format!("{} で待ち受けできません", config.bind))?;
    let addr = listener.local_addr()?;
    let web = teikyo_web::WebConfig {
        body_limit_bytes: config.web.body_limit_bytes,
        request_timeout_secs: config.web.request_timeout_secs,
        demo,
        bounce_token: config.mail.bounce_token.clone(),
        secure_cookies: config.web.secure_cookies,
        session: teikyo_account::SessionPolicy {
            idle: chrono::Duration::minutes(config.web.session_idle_minutes.max(1)),
            absolute: chrono::Duration::hours(config.web.session_absolute_hours.max(1)),
        },
        mfa: teikyo_web::MfaPolicy {
            // The demo's printed logins must work without an authenticator app.
            staff: config.web.mfa_staff && !demo,
            facility: config.web.mfa_facility,
        },
        map: teikyo_web::MapConfig {
            tiles: config.web.map_tiles.clone(),
            attribution: config.web.map_attribution.clone(),
            attribution_url: config.web.map_attribution_url.clone(),
        },
        opendata_dir: Some(config.opendata.dir.clone()),
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = if config.worker.in_process {
        let worker = build_worker(config, store.clone(), forms.clone())?;
        let mut stopped = stopped.clone();
        Some(tokio::spawn(async move {
            worker
                .run(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        }))
    } else {
        None
    };
    let timing = if demo || config.web.issue_immediately {
        teikyo_account::review::IssueTiming::Immediately
    } else {
        teikyo_account::review::IssueTiming::NextBusinessDay
    };
    let registrations = teikyo_account::registration::Registrations::new(
        teikyo_account::registration::Captcha::new(config.web.captcha_key.as_deref()),
        mail_templates(config)?,
    )
    .with_timing(timing);
    // Hourly housekeeping of ended sessions, long-expired tokens and long-finished jobs (every
    // node; idempotent).
    let housekeeping = {
        let store = store.clone();
        let policy = web.session;
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stopped.wait_for(|s| *s) => break,
                }
                match teikyo_account::maintenance::purge(&store, chrono::Utc::now(), policy).await {
                    Ok(p) => tracing::info!(
                        sessions = p.sessions,
                        tokens = p.tokens,
                        jobs = p.jobs,
                        "終了したセッション、古いリンクと終わったジョブを削除しました"
                    ),
                    Err(e) => tracing::warn!(error = %e, "セッションの整理に失敗しました"),
                }
            }
        })
    };
    // The reporting periods' 定期報告案内 and 督促: a look for due steps every ten minutes on
    // every node, run by whichever worker claims it (a step is claimed once, so looks may repeat).
    let period_mail = {
        let store = store.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(teikyo_mail::period::PERIOD_MAIL_EVERY);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stopped.wait_for(|s| *s) => break,
                }
                if let Err(e) = teikyo_mail::period::request(&store, None).await {
                    tracing::warn!(error = %e, "報告期間のメールの確認を予約できませんでした");
                }
            }
        })
    };
    // The day's open-data snapshot: every node looks every ten minutes and queues the export
    // when it is due (a job finding the snapshot made does nothing).
    let opendata = {
        let store = store.clone();
        let dir = config.opendata.dir.clone();
        let hour = config.opendata.daily_hour.filter(|h| *h < 24);
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let Some(hour) = hour else {
                return;
            };
            let mut every = tokio::time::interval(teikyo_opendata::job::LOOK_EVERY);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stopped.wait_for(|s| *s) => break,
                }
                let manifest = teikyo_opendata::export::Manifest::read(&dir).ok().flatten();
                if teikyo_opendata::job::due(manifest.as_ref(), chrono::Utc::now(), hour)
                    && let Err(e) = teikyo_opendata::job::request(&store, false).await
                {
                    tracing::warn!(error = %e, "オープンデータの作成を予約できませんでした");
                }
            }
        })
    };
    // This node's search index follows the publication sequence: caught up before the first
    // request, then every two seconds (one indexed query when nothing is new).
    let index = std::sync::Arc::new(open_index(config)?);
    let applied = index.catch_up(&store).await?;
    tracing::info!(applied, seq = index.seq()?, "検索用の索引を最新にしました");
    let search_feed = {
        let store = store.clone();
        let index = index.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(teikyo_search::index::FOLLOW_EVERY);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stopped.wait_for(|s| *s) => break,
                }
                if let Err(e) = index.catch_up(&store).await {
                    tracing::warn!(error = %e, code = e.code(), "検索用の索引を更新できませんでした");
                }
            }
        })
    };
    // Publication's date rules (開設日, 休止日, 廃止日) and ended 臨時休診: every node looks for
    // facilities due today every ten minutes (applying twice changes nothing).
    let publication = {
        let store = store.clone();
        let publisher = teikyo_search::Publisher::new(forms.clone());
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(teikyo_search::publish::REEVALUATE_EVERY);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stopped.wait_for(|s| *s) => break,
                }
                match teikyo_search::reevaluate_due(&store, &publisher, chrono::Utc::now()).await {
                    Ok(s) if s.published + s.withdrawn > 0 => tracing::info!(
                        published = s.published,
                        withdrawn = s.withdrawn,
                        "日付による公表の変更を反映しました"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, code = e.code(), "公表の見直しに失敗しました")
                    }
                }
            }
        })
    };
    let state = teikyo_web::AppState::new(store, web.clone())
        .with_registrations(registrations)
        .with_forms(forms)
        .with_search(index);
    let app = teikyo_web::router(state);
    println!("Teikyo を http://{addr}/ で起動しました（Ctrl+C で停止します）。");
    teikyo_web::serve(listener, app, async move {
        teikyo_web::shutdown_signal().await;
        let _ = stop.send(true);
    })
    .await?;
    if let Some(w) = worker {
        // the worker finishes the job in hand first
        let _ = w.await;
    }
    let _ = housekeeping.await;
    let _ = period_mail.await;
    let _ = publication.await;
    let _ = opendata.await;
    let _ = search_feed.await;
    println!("停止しました。");
    Ok(())
}

async fn demo(mut config: Config, args: DemoArgs) -> anyhow::Result<ExitCode> {
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", args.db.display()));
        if p.exists() {
            std::fs::remove_file(&p)
                .with_context(|| format!("{} を削除できません", p.display()))?;
        }
    }
    config.database_url = format!("sqlite://{}", args.db.display());
    // The demo's own search index, beside its database and rebuilt with it.
    config.search_index_dir = PathBuf::from(format!("{}-index", args.db.display()));
    if config.search_index_dir.exists() {
        std::fs::remove_dir_all(&config.search_index_dir)
            .with_context(|| format!("{} を削除できません", config.search_index_dir.display()))?;
    }
    config.bind = args.bind.clone();
    // Links in the demo's mails must open from this machine even when it listens everywhere.
    config.public_url = format!(
        "http://{}",
        args.bind
            .replace("0.0.0.0:", "127.0.0.1:")
            .replace("[::]:", "[::1]:")
    );
    config.mail.contact = "Teikyo デモ（架空の問い合わせ先です）".into();
    let forms = crate::forms_cmd::check_item_sets(config.forms_dir.as_deref())?;
    // Mail the demo sends is written next to its database, readable with any mail program.
    let outbox = PathBuf::from("teikyo-demo-mail");
    config.mail.transport = teikyo_mail::TransportConfig::File {
        dir: outbox.clone(),
    };
    let store = connect(&config).await?;
    store.migrate().await?;
    let dir = tempfile::tempdir()?;
    eprintln!("デモデータを作成しています（{} 施設）…", args.facilities);
    let synth = crate::synth::SynthArgs {
        facilities: args.facilities,
        seed: args.seed,
        out: dir.path().to_path_buf(),
    };
    crate::synth::run(&synth)?;
    let files = crate::synth::facility_files(dir.path());
    let import = crate::import::FacilitiesArgs {
        files,
        dry_run: false,
        quiet: true,
    };
    let code = crate::import::run_facilities(&store, &import).await?;
    if code != ExitCode::SUCCESS {
        anyhow::bail!("デモデータの取り込みに失敗しました");
    }
    // The 保険医療機関番号確認 of the period the demo opens (this 年度): the master as of the end
    // of the last 年度 and the counts of that 年度, both written by synth.
    let fiscal_year = teikyo_domain::report::fiscal_year_of(crate::forms_cmd::today_in_japan());
    let master = crate::ndb_import::InsuranceMasterArgs {
        file: dir
            .path()
            .join(format!("{}.csv", crate::synth::MASTER_FILE)),
        as_of: Some(teikyo_domain::ndb::master_date(fiscal_year)),
        dry_run: false,
        quiet: true,
    };
    let preprint = crate::ndb_import::NdbPreprintArgs {
        file: dir
            .path()
            .join(format!("{}.csv", crate::synth::PREPRINT_FILE)),
        fiscal_year: teikyo_domain::ndb::counts_year(fiscal_year),
        dry_run: false,
        quiet: true,
    };
    if crate::ndb_import::run_insurance_master(&store, &master).await? != ExitCode::SUCCESS
        || crate::ndb_import::run_ndb_preprint(&store, &preprint, &forms).await?
            != ExitCode::SUCCESS
    {
        anyhow::bail!("デモの保険医療機関の一覧・NDBデータの取り込みに失敗しました");
    }
    let templates = mail_templates(&config)?;
    let queued = crate::demo_mail::queue(&store, &templates).await?;
    let counts = store.facilities().count_by_kind().await?;
    println!("デモデータベース: {}", args.db.display());
    for (kind, n) in counts {
        println!("  {}: {} 施設", kind.name(), n);
    }
    let logins =
        crate::demo_users::create(&store, teikyo_domain::ndb::counts_year(fiscal_year)).await?;
    // The residents' side needs published facilities before anyone has reported: the demo's
    // facilities are published with synthetic answers (the demo says they are made up).
    let published = crate::publish_cmd::synthetic(&store, forms.clone(), args.seed, true).await?;
    println!(
        "住民向けに {} 施設を公表しました（合成データです）。",
        published.published
    );
    println!(
        "デモ用ログイン（{}/login、パスワードはすべて {}）:",
        config.public_url,
        crate::demo_users::PASSWORD
    );
    for l in &logins {
        println!("  {}: {}（{}）", l.role, l.login_id, l.scope);
        if let Some(h) = &l.hint {
            println!("    {h}");
        }
    }
    println!(
        "デモが送るメールは {}/ に .eml ファイルとして保存され、{}/demo/outbox で読めます（見本として {queued} 通を送信します）。",
        outbox.display(),
        config.public_url
    );
    println!(
        "メールの送信記録（送信完了・不達。運用者か都道府県の審査担当でログインしてご覧ください）: {}/mail/log",
        config.public_url
    );
    println!(
        "二段階認証（確認コード）: 本番では都道府県・運用者の職員に必須（web.mfa_staff）ですが、デモでは任意です。{}/account/mfa から試せます。職員・代行者の管理は運用者で {}/staff から。",
        config.public_url, config.public_url
    );
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    serve(&config, store, forms, true).await?;
    Ok(ExitCode::SUCCESS)
}
