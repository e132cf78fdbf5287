//! Mail templates: the shipped texts (snapshots), start-up checks of overrides, links that do not
//! wrap, and the 【sender】 subject pattern.

use std::path::Path;
use teikyo_mail::catalogue::{
    AccountReady, EmailChanged, Invitation, LoginIdReminder, PasswordChanged,
    PeriodicReportReminder,
};
use teikyo_mail::{MAX_LINK_CHARS, MailContent, MailKind, MailTemplates, TemplateSettings};

fn settings(dir: Option<&Path>) -> TemplateSettings {
    TemplateSettings {
        sender_name: "奈良県医療情報システム".into(),
        site_url: "https://iryo-joho.pref.nara.example.jp/".into(),
        contact: "奈良県 医療政策課 0742-00-0000（平日9時〜17時）".into(),
        message_id_domain: "pref.nara.example.jp".into(),
        dir: dir.map(Path::to_path_buf),
    }
}

fn override_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn every_shipped_mail_renders_with_sender_contact_and_unexpected_text() {
    let t = MailTemplates::load(settings(None)).unwrap();
    for kind in MailKind::ALL {
        let r = t.render_sample(kind).unwrap();
        assert!(
            r.subject.starts_with("【奈良県医療情報システム】"),
            "{}: {}",
            kind.id(),
            r.subject
        );
        assert!(!r.subject.contains('\n'));
        // Every mail says what to do if it was not expected; a notice that the account changed
        // must not say 「破棄してください」.
        if matches!(kind, MailKind::PasswordChanged | MailKind::EmailChanged) {
            assert!(r.body_text.contains("破棄せず"), "{}", kind.id());
            assert!(!r.body_text.contains("破棄してください"), "{}", kind.id());
        } else {
            assert!(
                r.body_text.contains("お心当たりのない場合"),
                "{}",
                kind.id()
            );
        }
        assert!(r.body_text.contains("奈良県 医療政策課 0742-00-0000"));
        assert!(!r.body_text.contains("{{") && !r.body_text.contains("{%"));
        insta::assert_snapshot!(
            kind.id(),
            format!("Subject: {}\n\n{}", r.subject, r.body_text)
        );
    }
}

#[test]
fn links_stand_alone_on_short_lines() {
    let t = MailTemplates::load(settings(None)).unwrap();
    let mail = AccountReady {
        setup_url: t.link("/s/Hq3vR8tYp2Wk"),
        login_url: t.link("/login"),
        ..AccountReady::sample()
    };
    let r = t.render(&mail).unwrap();
    assert!(
        r.body_text
            .lines()
            .any(|l| l == "https://iryo-joho.pref.nara.example.jp/s/Hq3vR8tYp2Wk")
    );
    for kind in MailKind::ALL {
        let body = t.render_sample(kind).unwrap().body_text;
        for line in body.lines().filter(|l| l.contains("://")) {
            assert!(
                line.starts_with("http") && !line.contains(' '),
                "{}: a link shares its line: {line:?}",
                kind.id()
            );
            assert!(
                line.chars().count() <= MAX_LINK_CHARS,
                "{}: link too long: {line:?}",
                kind.id()
            );
        }
    }
}

#[test]
fn dates_carry_the_weekday_and_optional_messages_disappear() {
    let t = MailTemplates::load(settings(None)).unwrap();
    let r = t.render(&PeriodicReportReminder::sample()).unwrap();
    assert!(
        r.subject.contains("期限 2026年1月31日（土）"),
        "{}",
        r.subject
    );
    assert!(!r.body_text.contains("からのお知らせ"));
    let with_message = PeriodicReportReminder {
        message: Some("1月20日に説明会を開きます。".into()),
        ..PeriodicReportReminder::sample()
    };
    let r = t.render(&with_message).unwrap();
    assert!(
        r.body_text
            .contains("【奈良県からのお知らせ】\n1月20日に説明会を開きます。")
    );
}

#[test]
fn proxy_applications_say_so() {
    let t = MailTemplates::load(settings(None)).unwrap();
    let own = t.render(&AccountReady::sample()).unwrap().body_text;
    let proxy = t
        .render(&AccountReady {
            filed_by_prefecture: true,
            ..AccountReady::sample()
        })
        .unwrap()
        .body_text;
    assert!(own.contains("貴機関からの新規ユーザ登録申請に基づき、\nアカウントを発行しました。"));
    assert!(proxy.contains("都道府県が貴機関に代わって行った新規ユーザ登録申請に基づき、"));
}

#[test]
fn compose_makes_a_row_to_queue() {
    let t = MailTemplates::load(settings(None)).unwrap();
    let m = t
        .compose(
            "clinic@example.jp",
            &AccountReady::sample(),
            Some(("application", "API-00001750")),
            Some(42),
        )
        .unwrap();
    assert_eq!(m.template, "account_ready");
    assert_eq!(m.to, "clinic@example.jp");
    assert!(m.message_id.starts_with('<') && m.message_id.ends_with("@pref.nara.example.jp>"));
    assert_eq!(
        m.related,
        Some(("application".to_string(), "API-00001750".to_string()))
    );
    assert_eq!(m.facility_id, Some(42));
    let other = t
        .compose("clinic@example.jp", &AccountReady::sample(), None, None)
        .unwrap();
    assert_ne!(m.message_id, other.message_id);
}

#[test]
fn an_override_replaces_the_shipped_text() {
    let dir = override_dir(&[(
        "password_reset/subject.txt",
        "パスワード再設定のご案内（{{ login_id }}）\n",
    )]);
    let t = MailTemplates::load(settings(Some(dir.path()))).unwrap();
    let r = t.render_sample(MailKind::PasswordReset).unwrap();
    assert_eq!(
        r.subject,
        "【奈良県医療情報システム】パスワード再設定のご案内（k7m2x9qp）"
    );
    // The others keep the shipped text.
    let r = t.render_sample(MailKind::AccountReady).unwrap();
    assert!(
        r.subject
            .ends_with("ログインIDのお知らせ及びパスワード設定のご依頼")
    );
}

#[test]
fn an_unknown_field_fails_the_start_not_the_send() {
    let dir = override_dir(&[(
        "account_ready/body.txt",
        "ログインID: {{ login_id }}\n{{ pasword_url }}\n",
    )]);
    let err = MailTemplates::load(settings(Some(dir.path()))).unwrap_err();
    assert_eq!(err.code(), "mail.template.unknown_field");
    let msg = err.to_string();
    assert!(msg.contains("account_ready/body.txt"), "{msg}");
    assert!(msg.contains("pasword_url"), "{msg}");
    assert!(
        msg.contains("setup_url"),
        "the message lists the usable fields: {msg}"
    );
}

#[test]
fn a_nested_unknown_field_fails_too() {
    let dir = override_dir(&[(
        "password_reset/body.txt",
        "{{ login_id }}\n\n{{ reset_url.host }}\n",
    )]);
    let err = MailTemplates::load(settings(Some(dir.path()))).unwrap_err();
    assert_eq!(err.code(), "mail.template.render");
    assert!(err.to_string().contains("3 行目"), "{err}");
}

#[test]
fn syntax_errors_name_file_and_line() {
    let dir = override_dir(&[(
        "verification_code/body.txt",
        "認証コード: {{ code }}\n{% if code %}\n未完了\n",
    )]);
    let err = MailTemplates::load(settings(Some(dir.path()))).unwrap_err();
    assert_eq!(err.code(), "mail.template.syntax");
    assert!(
        err.to_string().contains("verification_code/body.txt"),
        "{err}"
    );
}

#[test]
fn a_subject_must_be_one_line() {
    let dir = override_dir(&[(
        "pre_issuance_check/subject.txt",
        "事前のご連絡\n申請番号 {{ application_number }}\n",
    )]);
    let err = MailTemplates::load(settings(Some(dir.path()))).unwrap_err();
    assert_eq!(err.code(), "mail.template.subject");
}

#[test]
fn a_misspelt_directory_is_refused() {
    let dir = override_dir(&[("acount_ready/body.txt", "{{ login_id }}\n")]);
    let err = MailTemplates::load(settings(Some(dir.path()))).unwrap_err();
    assert_eq!(err.code(), "mail.template.unknown_file");
    assert!(err.to_string().contains("acount_ready"));
}

#[test]
fn a_line_break_in_a_value_is_folded_in_the_subject() {
    let t = MailTemplates::load(settings(None)).unwrap();
    let r = t
        .render(&PeriodicReportReminder {
            fiscal_year: "令和7年度\n".into(),
            ..PeriodicReportReminder::sample()
        })
        .unwrap();
    assert_eq!(
        r.subject,
        "【奈良県医療情報システム】令和7年度 定期報告のお願い（期限 2026年1月31日（土））"
    );
}

#[test]
fn every_kind_has_its_own_id_and_parses_back() {
    let ids: std::collections::HashSet<&str> = MailKind::ALL.iter().map(|k| k.id()).collect();
    assert_eq!(ids.len(), MailKind::ALL.len());
    for kind in MailKind::ALL {
        assert_eq!(MailKind::parse(kind.id()), Some(kind));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("templates")
            .join(kind.id());
        assert!(dir.join("subject.txt").is_file(), "{}", kind.id());
        assert!(dir.join("body.txt").is_file(), "{}", kind.id());
    }
}

#[test]
fn only_mails_with_a_code_or_token_link_are_secret() {
    let secret: Vec<&str> = MailKind::ALL
        .into_iter()
        .filter(|k| k.carries_secret())
        .map(|k| k.id())
        .collect();
    assert_eq!(
        secret,
        [
            "verification_code",
            "account_ready",
            "password_reset",
            "email_change_confirmation",
            "invitation"
        ]
    );
}

#[test]
fn an_invitation_carries_the_setup_link_only_for_a_new_account() {
    let t = MailTemplates::load(settings(None)).unwrap();
    let new = t.render(&Invitation::sample()).unwrap().body_text;
    assert!(new.contains("ログインID: k7m2x9qp"), "{new}");
    assert!(new.contains("/s/Hq3vR8tYp2Wk"), "{new}");
    assert!(new.contains("奈良 太郎 様が"), "{new}");
    let existing = t
        .render(&Invitation {
            setup_url: None,
            ..Invitation::sample()
        })
        .unwrap()
        .body_text;
    assert!(!existing.contains("/s/"), "{existing}");
    assert!(existing.contains("これまでのパスワードで"), "{existing}");
}

#[test]
fn a_login_id_reminder_lists_the_ids_and_no_password() {
    let t = MailTemplates::load(settings(None)).unwrap();
    let two = t.render(&LoginIdReminder::sample()).unwrap().body_text;
    assert!(
        two.contains("ユーザ名: k7m2x9qp\nユーザ名: h3t8v6wa\n\n"),
        "{two}"
    );
    assert!(two.contains("複数のユーザが登録されています"), "{two}");
    let one = t
        .render(&LoginIdReminder {
            login_ids: vec!["k7m2x9qp".into()],
            ..LoginIdReminder::sample()
        })
        .unwrap()
        .body_text;
    assert!(
        one.contains("お知らせします。\n\nユーザ名: k7m2x9qp\n\n次のページから"),
        "{one}"
    );
    assert!(!one.contains("複数"), "{one}");
    for body in [&one, &two] {
        assert!(body.contains("このメールにパスワードは記載していません。"));
        assert!(body.contains("このメールを無視してください。"));
    }
}

#[test]
fn change_notices_say_who_changed_and_what_to_do_if_it_was_not_you() {
    let t = MailTemplates::load(settings(None)).unwrap();
    let by_user = t.render(&EmailChanged::sample()).unwrap().body_text;
    let by_prefecture = t
        .render(&EmailChanged {
            changed_by_prefecture: true,
            ..EmailChanged::sample()
        })
        .unwrap()
        .body_text;
    assert!(by_user.contains("変更後のメールアドレスでの確認を経て"));
    assert!(
        by_prefecture.contains(
            "変更されました。\nこの変更は、貴機関からのご依頼に基づき、都道府県が行いました。\n\n"
        ),
        "{by_prefecture}"
    );
    assert!(by_user.contains("変更後のメールアドレス: ta***@clinic.example.jp"));
    let password = t.render(&PasswordChanged::sample()).unwrap().body_text;
    assert!(password.contains("設定日時: 11月21日 18時35分"));
    for body in [&by_user, &by_prefecture, &password] {
        assert!(body.contains("このメールを破棄せず、ただちに"), "{body}");
        assert!(
            body.contains("下記のお問い合わせ先までご連絡ください。"),
            "{body}"
        );
    }
}
