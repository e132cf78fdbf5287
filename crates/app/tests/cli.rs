//! The `teikyo` binary as people use it: synth → import, malformed files, code checks.

mod common;

use std::path::Path;
use std::process::Command;

use common::{facility_files, teikyo, text};

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("t.sqlite").display())
}

fn synth(dir: &Path, n: &str, seed: &str) {
    let out = dir.to_string_lossy();
    let o = teikyo(&["synth", "--facilities", n, "--seed", seed, "--out", &out]);
    assert!(o.status.success(), "{}", text(&o));
}

/// Data rows of a CSV file written by synth (one record per CRLF line).
fn rows(path: &str) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count() - 1
}

#[test]
fn synth_is_deterministic_and_imports_back_with_identical_counts() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    synth(a.path(), "600", "7");
    synth(b.path(), "600", "7");
    let files = facility_files(a.path());
    for (fa, fb) in files.iter().zip(facility_files(b.path())) {
        assert_eq!(
            std::fs::read(fa).unwrap(),
            std::fs::read(&fb).unwrap(),
            "{fa}"
        );
    }
    let bytes = std::fs::read(&files[0]).unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF\"ID\",\"\xE6\xAD\xA3"),
        "BOM + quoted header"
    );
    assert!(bytes.windows(2).any(|w| w == b"\r\n"), "CRLF line ends");
    // The 保険医療機関番号確認's reference data, just as deterministic.
    for name in ["insurance_master.csv", "ndb_preprint.csv"] {
        assert_eq!(
            std::fs::read(a.path().join(name)).unwrap(),
            std::fs::read(b.path().join(name)).unwrap(),
            "{name}"
        );
    }
    let counts: Vec<usize> = files.iter().map(|f| rows(f)).collect();
    assert_eq!(counts.iter().sum::<usize>(), 600);
    assert!(
        counts[1] > counts[0],
        "more clinics than hospitals: {counts:?}"
    );

    let url = db_url(a.path());
    let mut args = vec!["--database-url", &url, "import", "facilities"];
    args.extend(files.iter().map(String::as_str));
    let o = teikyo(&args);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("600 施設を取り込みました"), "{out}");
    // Every code in the facility files is in the master once; the counts import too.
    let master = a.path().join("insurance_master.csv");
    let master = master.to_string_lossy();
    let o = teikyo(&[
        "--database-url",
        &url,
        "import",
        "insurance-master",
        &master,
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&format!("保険医療機関 {} 件を", rows(&master))),
        "{out}"
    );
    let ndb = a.path().join("ndb_preprint.csv");
    let ndb = ndb.to_string_lossy();
    assert!(rows(&ndb) > 0);
    let o = teikyo(&[
        "--database-url",
        &url,
        "import",
        "ndb-preprint",
        &ndb,
        "--fiscal-year",
        "2024",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !text(&o).contains("注意"),
        "every item code is in the item sets"
    );
    // Development publication: synthetic answers for every facility, once; about 1 in 100 is
    // an in-house clinic (外来区分 9) and stays hidden. A second run and `publish all` change
    // nothing.
    let o = teikyo(&["--database-url", &url, "publish", "synthetic", "--quiet"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let published: usize = out
        .split("公表 ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count: {out}"));
    assert!((560..600).contains(&published), "{out}");
    let o = teikyo(&["--database-url", &url, "publish", "synthetic", "--quiet"]);
    assert!(text(&o).contains("公表 0 件"), "{}", text(&o));
    let o = teikyo(&["--database-url", &url, "publish", "all", "--quiet"]);
    assert!(
        text(&o).contains("公表 0 件、公表の取り下げ 0 件、変更なし 600 件"),
        "{}",
        text(&o)
    );
    // The node's search index is rebuilt from the sequence: every published facility.
    let index_dir = a.path().join("index");
    let o = Command::new(env!("CARGO_BIN_EXE_teikyo"))
        .args(["--database-url", &url, "index", "rebuild"])
        .env_remove("TEIKYO_CONFIG")
        .env("TEIKYO_SEARCH_INDEX_DIR", &index_dir)
        .output()
        .expect("run teikyo");
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&format!("{published} 施設を検索できます")),
        "{out}"
    );
    // a second import of the same files is refused row by row, and changes nothing
    let o = teikyo(&args);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("既に施設マスタに登録されています"), "{out}");
    assert!(out.contains("誤りのある行 600 行"), "{out}");
}

#[test]
fn malformed_rows_reject_the_whole_file_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), "300", "3");
    let clinic = &facility_files(dir.path())[1];
    let original = std::fs::read_to_string(clinic).unwrap();
    let mut lines: Vec<String> = original.split("\r\n").map(str::to_owned).collect();
    assert!(lines.len() > 8, "need rows to break");
    // line numbers are 1-based with the header on line 1
    lines[2] = lines[2].replacen(",\"2\",", ",\"9\",", 1); // line 3: 機関区分 9
    let name_start = lines[4].find("\",\"").unwrap() + 3; // line 5: empty 正式名称
    let name_end = name_start + lines[4][name_start..].find('"').unwrap();
    lines[4].replace_range(name_start..name_end, "");
    // line 7: an unterminated quote; it is the last data row, so it swallows nothing else
    let last = lines.iter().rposition(|l| !l.is_empty()).unwrap();
    lines.truncate(7);
    lines[6] = lines[6].replacen("\",\"", ",\"", 1);
    let _ = last;
    std::fs::write(clinic, lines.join("\r\n") + "\r\n").unwrap();

    let url = db_url(dir.path());
    for dry_run in [false, true] {
        let mut args = vec!["--database-url", &url, "import", "facilities", clinic];
        if dry_run {
            args.push("--dry-run");
        }
        let o = teikyo(&args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        for line in ["3行目", "5行目", "7行目"] {
            assert!(
                out.contains(&format!("02-1_clinic_facility_info.csv:{line}")),
                "{line}: {out}"
            );
        }
        assert!(out.contains("機関区分は 1（病院）から 5（薬局）"), "{out}");
        assert!(out.contains("正式名称を入力してください。"), "{out}");
        assert!(out.contains("列の数が"), "{out}");
        assert!(out.contains("何も取り込んでいません"), "{out}");
        assert!(
            !out.contains("4行目") && !out.contains("6行目"),
            "good rows flagged: {out}"
        );
    }
    // nothing was imported: importing the untouched rows now works in full
    let o = teikyo(&[
        "--database-url",
        &url,
        "import",
        "facilities",
        "--dry-run",
        &facility_files(dir.path())[0],
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn check_insurance_codes_writes_csv() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("codes.txt");
    std::fs::write(&input, "０１１０１１３７１９\n1310110049\n0110113718\n").unwrap();
    let o = teikyo(&["check", "insurance-codes", &input.to_string_lossy()]);
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<_> = csv.lines().collect();
    assert_eq!(lines[0], "input,normalised,valid,rule,message");
    assert_eq!(lines[1], "０１１０１１３７１９,0110113719,true,standard,");
    assert_eq!(lines[2], "1310110049,1310110049,true,seven_digit,");
    assert!(
        lines[3].starts_with("0110113718,0110113718,false,,"),
        "{csv}"
    );
}

#[test]
fn help_is_japanese() {
    let o = teikyo(&["--help"]);
    let out = text(&o);
    assert!(o.status.success());
    for s in [
        "serve",
        "migrate",
        "demo",
        "synth",
        "import",
        "check",
        "デモ用",
    ] {
        assert!(out.contains(s), "{s}: {out}");
    }
}

/// `teikyo worker --once` delivers queued mail through the configured transport (here the
/// `.eml` folder) and records it as 送信完了.
#[test]
fn worker_once_delivers_queued_mail() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let outbox = dir.path().join("outbox");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let id = rt.block_on(async {
        let store = teikyo_store::Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let tx = store.begin().await.unwrap();
        let id = tx
            .queue_mail(&teikyo_store::NewMail {
                template: "test".into(),
                to: "tanto@clinic.test".into(),
                subject: "【Teikyo】テスト".into(),
                body_text: "テストです。\n".into(),
                message_id: "<cli-test@teikyo.test>".into(),
                related: None,
                facility_id: None,
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        store.close().await.unwrap();
        id
    });
    let o = Command::new(env!("CARGO_BIN_EXE_teikyo"))
        .args(["--database-url", &url, "worker", "--once"])
        .env("TEIKYO_MAIL__TRANSPORT__KIND", "file")
        .env("TEIKYO_MAIL__TRANSPORT__DIR", &outbox)
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("1 件のジョブを処理しました。"), "{out}");
    assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), 1);
    let status = rt.block_on(async {
        let store = teikyo_store::Store::connect(&url).await.unwrap();
        store.mails().get(id).await.unwrap().map(|m| m.status)
    });
    assert_eq!(status, Some(teikyo_store::MailStatus::Delivered));
}

/// A Postfix DSN (user unknown) from the mail crate's fixtures, about mail `id` / `message_id`.
fn postfix_dsn(id: i64, message_id: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mail/tests/fixtures/dsn/postfix-user-unknown.eml"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .replace("__MAIL_ID__", &id.to_string())
        .replace("__MESSAGE_ID__", message_id)
}

/// Queues a mail in the database at `url` and delivers it with `teikyo worker --once` through
/// the `.eml` folder transport, so that it is 送信完了 as after a real send.
fn queue_and_deliver(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    url: &str,
    to: &str,
    message_id: &str,
) -> teikyo_store::MailId {
    let id = rt.block_on(async {
        let store = teikyo_store::Store::connect(url).await.unwrap();
        store.migrate().await.unwrap();
        let tx = store.begin().await.unwrap();
        let id = tx
            .queue_mail(&teikyo_store::NewMail {
                template: "test".into(),
                to: to.into(),
                subject: "【Teikyo】テスト".into(),
                body_text: "テストです。\n".into(),
                message_id: message_id.into(),
                related: None,
                facility_id: None,
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        store.close().await.unwrap();
        id
    });
    let o = Command::new(env!("CARGO_BIN_EXE_teikyo"))
        .args(["--database-url", url, "worker", "--once"])
        .env("TEIKYO_MAIL__TRANSPORT__KIND", "file")
        .env("TEIKYO_MAIL__TRANSPORT__DIR", dir.join("outbox"))
        .env_remove("TEIKYO_CONFIG")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    id
}

fn mail_row(
    rt: &tokio::runtime::Runtime,
    url: &str,
    id: teikyo_store::MailId,
) -> teikyo_store::Mail {
    rt.block_on(async {
        let store = teikyo_store::Store::connect(url).await.unwrap();
        let mail = store.mails().get(id).await.unwrap().unwrap();
        store.close().await.unwrap();
        mail
    })
}

/// Done when: a DSN fed to `teikyo mail bounce` flips a 送信完了 mail to 不達.
#[test]
fn mail_bounce_from_stdin_flips_a_delivered_mail_to_bounced() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let id = queue_and_deliver(
        &rt,
        dir.path(),
        &url,
        "nobody@clinic.example.jp",
        "<b1@teikyo.test>",
    );
    let sent = mail_row(&rt, &url, id);
    assert_eq!(sent.status, teikyo_store::MailStatus::Delivered);
    let dsn = postfix_dsn(id.0, "<b1@teikyo.test>");
    assert!(dsn.contains(&format!("bounce+{}@", id.0)));

    let mut child = Command::new(env!("CARGO_BIN_EXE_teikyo"))
        .args(["--database-url", &url, "mail", "bounce"])
        .env_remove("TEIKYO_DATABASE_URL")
        .env_remove("TEIKYO_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dsn.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let reply = "5.1.1 smtp; 550 5.1.1 <nobody@clinic.example.jp>: Recipient address rejected: \
                 User unknown in local recipient table";
    assert!(
        out.contains(&format!(
            "不達にしました: メール {id}（nobody@clinic.example.jp）{reply}（変更前: 送信完了）"
        )),
        "{out}"
    );
    assert!(
        out.contains("1 通を処理しました（不達にしたもの 1 件"),
        "{out}"
    );
    let bounced = mail_row(&rt, &url, id);
    assert_eq!(bounced.status, teikyo_store::MailStatus::Bounced);
    assert_eq!(bounced.smtp_reply.as_deref(), Some(reply));
    assert!(bounced.bounced_at.is_some());
}

/// `--maildir`: reports in new/ are applied and moved to cur/ as seen; a message that is not a
/// report stays in new/, is named, and makes the exit code 1.
#[test]
fn mail_bounce_reads_a_maildir_and_leaves_unreadable_messages() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let id = queue_and_deliver(
        &rt,
        dir.path(),
        &url,
        "nobody@clinic.example.jp",
        "<b2@teikyo.test>",
    );
    let maildir = dir.path().join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let report = "1715649667.M1P1.mx.teikyo.example.jp";
    let other = "1715649668.M2P1.mx.teikyo.example.jp";
    std::fs::write(
        maildir.join("new").join(report),
        postfix_dsn(id.0, "<b2@teikyo.test>"),
    )
    .unwrap();
    std::fs::write(
        maildir.join("new").join(other),
        "From: someone@example.jp\nTo: info@teikyo.example.jp\nSubject: hello\n\nこんにちは。\n",
    )
    .unwrap();

    let o = teikyo(&[
        "--database-url",
        &url,
        "mail",
        "bounce",
        "--maildir",
        &maildir.to_string_lossy(),
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "new/{report}: 不達にしました: メール {id}（nobody@clinic.example.jp）"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "読み取れませんでした: new/{other}: 配送状態通知（DSN）として読み取れませんでした。"
        )),
        "{out}"
    );
    assert!(
        out.contains("2 通を処理しました（不達にしたもの 1 件"),
        "{out}"
    );
    assert!(out.contains("読み取れなかったもの 1 通"), "{out}");
    assert!(maildir.join("cur").join(format!("{report}:2,S")).is_file());
    assert!(!maildir.join("new").join(report).exists());
    assert!(maildir.join("new").join(other).is_file());
    assert_eq!(
        mail_row(&rt, &url, id).status,
        teikyo_store::MailStatus::Bounced
    );

    // a second run leaves the report marked seen alone; only the unreadable one is tried again
    let o = teikyo(&[
        "--database-url",
        &url,
        "mail",
        "bounce",
        "--maildir",
        &maildir.to_string_lossy(),
    ]);
    let out = text(&o);
    assert!(!out.contains(report), "{out}");
    assert!(out.contains(other), "{out}");
}

/// A template override naming a field its mail does not have stops the worker before it takes
/// any job, with the file in the message.
#[test]
fn a_broken_mail_template_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let templates = dir.path().join("mail-templates");
    std::fs::create_dir_all(templates.join("password_reset")).unwrap();
    std::fs::write(
        templates.join("password_reset").join("body.txt"),
        "{{ login_id }}\n{{ reset_link }}\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_teikyo"))
        .args(["--database-url", &url, "worker", "--once"])
        .env("TEIKYO_MAIL__TEMPLATES_DIR", &templates)
        .output()
        .unwrap();
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("メールテンプレートに誤りがあるため起動できません。"),
        "{out}"
    );
    assert!(out.contains("password_reset/body.txt"), "{out}");
    assert!(out.contains("reset_link"), "{out}");
    assert!(!out.contains("件のジョブを処理しました"), "{out}");
}

/// The demo queues one 定期報告案内 per prefecture present and one sample of every other mail.
#[test]
fn demo_queues_mail_of_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.sqlite");
    let o = Command::new(env!("CARGO_BIN_EXE_teikyo"))
        .current_dir(dir.path())
        .args([
            "demo",
            "--no-serve",
            "--facilities",
            "300",
            "--db",
            &db.to_string_lossy(),
        ])
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let url = format!("sqlite://{}", db.display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mails, prefectures) = rt.block_on(async {
        let store = teikyo_store::Store::connect(&url).await.unwrap();
        let mails = store
            .mails()
            .list(&teikyo_store::MailFilter::default(), 1_000, 0)
            .await
            .unwrap();
        let facilities = store
            .facilities()
            .list(&teikyo_store::FacilityFilter::default(), 10_000, 0)
            .await
            .unwrap();
        let prefectures: std::collections::HashSet<_> =
            facilities.iter().map(|f| f.record.prefecture).collect();
        (mails, prefectures.len())
    });
    let kinds: std::collections::HashSet<&str> =
        mails.iter().map(|m| m.template.as_str()).collect();
    assert_eq!(kinds.len(), teikyo_mail::MailKind::ALL.len(), "{kinds:?}");
    let notices = mails
        .iter()
        .filter(|m| m.template == "periodic_report_notice")
        .count();
    assert_eq!(notices, prefectures);
    assert!(
        out.contains(&format!("見本として {} 通を送信します", mails.len())),
        "{out}"
    );
    assert!(mails.iter().all(|m| m.subject.starts_with("【Teikyo】")));
    // Residents have something to find: the synthetic facilities are published.
    assert!(out.contains("住民向けに"), "{out}");
    let head = rt.block_on(async {
        let store = teikyo_store::Store::connect(&url).await.unwrap();
        store.publications().head().await.unwrap()
    });
    assert!(head > 250, "{head} published of 300");
    // The clinic's 保険医療機関番号確認 works: its number is printed with the logins.
    assert!(out.contains("保険医療機関番号確認で"), "{out}");
    assert!(
        out.contains("前年度実施件数がプレプリントされます"),
        "{out}"
    );
}

/// On an MTA pipe: an auto-reply is accepted (exit 0, or the MTA would bounce it back to its
/// sender), and an unreachable database asks the MTA to retry (EX_TEMPFAIL, 75).
#[test]
fn mail_bounce_on_a_pipe_accepts_non_reports_and_defers_when_the_database_is_down() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_teikyo"))
        .args(["--database-url", &url, "mail", "bounce"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("Subject: 自動応答\n\n休暇中です。\n".as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("配送状態通知（DSN）として読み取れませんでした。"),
        "{out}"
    );

    let o = Command::new(env!("CARGO_BIN_EXE_teikyo"))
        .args([
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
            "mail",
            "bounce",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(75), "{out}");
    assert!(out.contains("後でもう一度実行してください"), "{out}");
}

/// The built-in item sets pass `forms check`; a broken directory fails it and stops `serve`
/// before it listens, naming the file and line.
#[test]
fn broken_item_sets_stop_the_start_with_file_and_line() {
    let o = teikyo(&["forms", "check"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("2025-hospital"), "{out}");
    assert!(out.contains("問題はありません。"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let forms = dir.path().join("forms");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms");
    for rel in [
        "codes/outpatient_class.toml",
        "codes/treatments.toml",
        "2025/clinic.toml",
    ] {
        let to = forms.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join(rel), &to).unwrap();
    }
    std::fs::write(
        forms.join("2025/clinic.toml"),
        "fiscal_year = 2025\nkind = \"clinic\"\nsections = [\"basic\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(forms.join("2025/sections")).unwrap();
    std::fs::write(
        forms.join("2025/sections/basic.toml"),
        "id = \"basic\"\nnumber = \"1.(1)\"\ntitle = \"基本情報\"\n\n[[items]]\nid = \"kind\"\nlabel = \"区分\"\ntype = \"choice\"\ncodes = \"no_such_list\"\n",
    )
    .unwrap();
    let dir_arg = forms.to_string_lossy().to_string();
    let o = teikyo(&["forms", "check", "--dir", &dir_arg]);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("forms/2025/sections/basic.toml:9: 不明なコード表「no_such_list」です"),
        "{out}"
    );

    let url = db_url(dir.path());
    let o = Command::new(env!("CARGO_BIN_EXE_teikyo"))
        .args(["--database-url", &url, "serve", "--bind", "127.0.0.1:0"])
        .env("TEIKYO_FORMS_DIR", &forms)
        .output()
        .unwrap();
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("報告様式に誤りがあるため起動できません"),
        "{out}"
    );
    assert!(
        out.contains("forms/2025/sections/basic.toml:9: 不明なコード表「no_such_list」です"),
        "{out}"
    );
}

/// A valid insurance code for a 9-digit payload (the standard check digit).
fn insurance(payload: &str) -> String {
    (0..10)
        .map(|d| format!("{payload}{d}"))
        .find(|c| teikyo_domain::InsuranceCode::parse(c).is_ok())
        .unwrap()
}

/// `teikyo import insurance-master` and `ndb-preprint`: a bad file is refused whole with every
/// problem and its line (nothing written, not even the replacement of the same snapshot); a
/// good one goes in and says which 定期報告 it serves; `--help` documents the columns.
#[test]
fn insurance_master_and_ndb_preprint_import_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let a = insurance("171010001");
    let b = insurance("173010002");
    let master = dir.path().join("master.csv");
    let wrong = (0..10)
        .map(|d| format!("{}{d}", &a[..9]))
        .find(|c| teikyo_domain::InsuranceCode::parse(c).is_err())
        .unwrap();
    std::fs::write(
        &master,
        format!(
            "\u{FEFF}保険医療機関コード,名称,所在地,機関区分\r\n\
             {a},広坂クリニック,石川県金沢市広坂1丁目1番1号,2\r\n\
             {wrong},香林坊医院,,\r\n\
             {b},,,3\r\n"
        ),
    )
    .unwrap();
    let args = |file: &Path| {
        vec![
            "--database-url".to_owned(),
            url.clone(),
            "import".to_owned(),
            "insurance-master".to_owned(),
            file.to_string_lossy().into_owned(),
            "--as-of".to_owned(),
            "2025-03-31".to_owned(),
        ]
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        teikyo(&refs)
    };
    let o = run(args(&master));
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("master.csv:3行目 [保険医療機関コード]") && out.contains("検証番号"),
        "{out}"
    );
    assert!(out.contains("master.csv:4行目 [名称] 空欄です。"), "{out}");
    assert!(out.contains("何も取り込んでいません"), "{out}");

    std::fs::write(
        &master,
        format!("insurance_code,name\n{a},広坂クリニック\n{b},広坂歯科\n"),
    )
    .unwrap();
    let o = run(args(&master));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("保険医療機関 2 件を 2025年3月31日時点の一覧として取り込みました（石川県）"),
        "{out}"
    );
    assert!(out.contains("令和7年度（2025年度）以降の定期報告"), "{out}");
    // The same day again, broken: refused, and the day's rows stay as they were.
    std::fs::write(&master, format!("insurance_code,name\n{a},x\n{a},y\n")).unwrap();
    let o = run(args(&master));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("3行目 [保険医療機関コード] 2行目と同じ内容が重複しています。"));

    let ndb = dir.path().join("ndb.csv");
    std::fs::write(
        &ndb,
        format!("保険医療機関コード,項目コード,件数\n{a},7,12\n{a},00007,3\n{b},00009,x\n"),
    )
    .unwrap();
    let ndb_args = |year: &str| {
        vec![
            "--database-url".to_owned(),
            url.clone(),
            "import".to_owned(),
            "ndb-preprint".to_owned(),
            ndb.to_string_lossy().into_owned(),
            "--fiscal-year".to_owned(),
            year.to_owned(),
        ]
    };
    let o = run(ndb_args("2024"));
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("ndb.csv:3行目 [項目コード] 2行目と同じ"),
        "{out}"
    );
    assert!(
        out.contains("ndb.csv:4行目 [件数] 件数「x」は0以上の整数ではありません。"),
        "{out}"
    );
    std::fs::write(
        &ndb,
        format!("保険医療機関コード,項目コード,件数\n{a},7,12\n{b},00009,1\n{b},99999,4\n"),
    )
    .unwrap();
    let o = run(ndb_args("2024"));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("令和6年度（2024年度）の実施件数 3 件（保険医療機関 2 件）を取り込みました"),
        "{out}"
    );
    assert!(
        out.contains("令和7年度（2025年度）の定期報告でプレプリントされます"),
        "{out}"
    );
    assert!(out.contains("項目コード 1 種類（99999）"), "{out}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = teikyo_store::Store::connect(&url).await.unwrap();
        let code = teikyo_domain::InsuranceCode::parse(&a).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2025, 3, 31).unwrap();
        let found = store.insurance().lookup(&code, day).await.unwrap();
        assert!(
            matches!(&found, teikyo_store::MasterLookup::Listed(r) if r.entry.name == "広坂クリニック"),
            "{found:?}"
        );
        let counts = store.insurance().preprint(2024, &[code]).await.unwrap();
        assert_eq!(counts.len(), 1);
        assert_eq!((counts[0].item.as_str(), counts[0].count), ("00007", 12));
    });

    let help = text(&teikyo(&["import", "insurance-master", "--help"]));
    assert!(
        help.contains("保険医療機関コード（insurance_code）"),
        "{help}"
    );
    assert!(help.contains("--as-of"), "{help}");
    let help = text(&teikyo(&["import", "ndb-preprint", "--help"]));
    assert!(help.contains("件数（count、前年度実施件数）"), "{help}");
    assert!(help.contains("--fiscal-year"), "{help}");
}
