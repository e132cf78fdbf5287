//! The validator's checks per item type, on a small item set written for the purpose (the real
//! item sets are exercised with the real code lists in `teikyo-refdata`'s tests).

use teikyo_domain::Severity;
use teikyo_domain::forms::{
    Answers, Catalogue, FormsError, Issue, Mode, NoReference, SourceFile, Validator, Value, load,
};

const CODES: &str = r#"
id = "colours"
name = "色"
source = "test"
[[codes]]
code = "r"
label = "赤"
[[codes]]
code = "g"
label = "緑"
"#;

const SECTION: &str = r#"
id = "s"
number = "1.(1)"
title = "t"

[[items]]
id = "postal"
label = "郵便番号"
type = "text"
max_length = 8
format = "postal_code"

[[items]]
id = "phone"
label = "電話番号"
type = "text"
max_length = 20
format = "phone"

[[items]]
id = "url"
label = "ホームページ"
type = "text"
max_length = 300
format = "url"

[[items]]
id = "mail"
label = "メール"
type = "text"
max_length = 100
format = "email"

[[items]]
id = "insurance"
label = "保険医療機関コード"
type = "text"
max_length = 10
format = "insurance_code"

[[items]]
id = "name"
label = "名称"
type = "text"
max_length = 5

[[items]]
id = "kana"
label = "フリガナ"
type = "kana"
max_length = 20

[[items]]
id = "count"
label = "人数"
type = "number"
unit = "人"
min = 0
max = 10
integer = true

[[items]]
id = "colours"
label = "色"
type = "multi_choice"
codes = "colours"

[[items]]
id = "rows"
label = "行"
type = "group"
max_count = 1

  [[items.items]]
  id = "colour"
  label = "色"
  type = "choice"
  codes = "colours"
"#;

const SET: &str = "fiscal_year = 2025\nkind = \"clinic\"\nsections = [\"s\"]\n";

fn file(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: path.into(),
        text: text.into(),
    }
}

fn catalogue() -> Catalogue {
    load(
        &[
            file("codes/colours.toml", CODES),
            file("2025/sections/s.toml", SECTION),
            file("2025/clinic.toml", SET),
        ],
        &[],
    )
    .unwrap()
}

fn issues(answers: &[(&str, Value)]) -> Vec<Issue> {
    let c = catalogue();
    let set = c.item_sets.values().next().unwrap();
    let mut a = Answers::default();
    for (id, v) in answers {
        a.set(id, v.clone());
    }
    Validator::new(&c, &NoReference).validate(set, &a, Mode::Draft)
}

fn codes(answers: &[(&str, Value)]) -> Vec<(&'static str, Severity)> {
    issues(answers)
        .into_iter()
        .map(|i| (i.code, i.severity))
        .collect()
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[test]
fn well_formed_answers_pass() {
    assert_eq!(
        issues(&[
            ("s.postal", text("９２０－０９６２")),
            ("s.phone", text("076-220-2111")),
            ("s.url", text("https://www.example.jp/clinic?a=1")),
            ("s.mail", text("info@example.jp")),
            ("s.insurance", text("0110113719")),
            ("s.name", text("金沢医院")),
            ("s.kana", text("ｶﾅｻﾞﾜ")),
            ("s.count", Value::Number(3.0)),
            ("s.colours", Value::Choices(vec!["r".into(), "g".into()])),
        ]),
        vec![]
    );
}

#[test]
fn each_type_has_its_checks() {
    use Severity::{Error, Warning};
    let cases: Vec<(&str, Value, &str, Severity)> = vec![
        ("s.postal", text("920-096"), "text.postal_code", Error),
        ("s.phone", text("220-2111"), "text.phone", Error),
        ("s.url", text("www.example.jp"), "text.url", Error),
        ("s.url", text("http//example.jp"), "text.url", Error),
        (
            "s.url",
            text("https://www.google.com/url?q=https://example.jp"),
            "text.url_redirect",
            Error,
        ),
        ("s.mail", text("info@example"), "text.email", Error),
        // A check-digit mismatch only warns (DOMAIN §9.4).
        (
            "s.insurance",
            text("0110113710"),
            "insurance_code.check_digit",
            Warning,
        ),
        (
            "s.insurance",
            text("0120113719"),
            "insurance_code.fee_schedule",
            Error,
        ),
        ("s.name", text("金沢中央医院"), "text.too_long", Error),
        ("s.name", text("金沢\n医院"), "text.control", Error),
        ("s.kana", text("かなざわ"), "kana.not_katakana", Error),
        ("s.count", Value::Number(2.5), "number.integer", Error),
        ("s.count", Value::Number(-1.0), "number.min", Error),
        ("s.count", Value::Number(11.0), "number.max", Error),
        ("s.count", Value::Number(f64::NAN), "number.invalid", Error),
        ("s.count", text("3"), "answer.type", Error),
        (
            "s.colours",
            Value::Choices(vec!["b".into()]),
            "choice.unknown",
            Error,
        ),
        (
            "s.colours",
            Value::Choices(vec!["r".into(), "r".into()]),
            "choice.duplicate",
            Error,
        ),
        ("s.nothing", text("x"), "answer.unknown_item", Error),
    ];
    for (id, value, code, severity) in cases {
        assert_eq!(
            codes(&[(id, value.clone())]),
            [(code, severity)],
            "{id} = {value:?}"
        );
    }
}

#[test]
fn group_rows_are_counted_and_checked() {
    let row = |c: &str| {
        let mut r = Answers::default();
        r.set("s.rows.colour", Value::Choice(c.into()));
        r
    };
    let found = issues(&[("s.rows", Value::Group(vec![row("r"), row("x")]))]);
    let paths: Vec<(&str, &str)> = found.iter().map(|i| (i.code, i.path.as_str())).collect();
    assert_eq!(
        paths,
        [
            ("group.max", "s.rows"),
            ("choice.unknown", "s.rows[1].colour")
        ]
    );
    assert_eq!(
        found[1].message,
        "行（2件目）：色の選択肢に「x」はありません。一覧から選び直してください。"
    );
}

fn load_errors(section: &str) -> Vec<String> {
    load(
        &[
            file("codes/colours.toml", CODES),
            file("2025/sections/s.toml", section),
            file("2025/clinic.toml", SET),
        ],
        &[],
    )
    .expect_err("refused")
    .iter()
    .map(FormsError::to_string)
    .collect()
}

#[test]
fn rules_name_items_of_the_right_type() {
    let bad = format!(
        "{SECTION}\n[[rules]]\ntype = \"date_order\"\nitems = [\"name\", \"gone\"]\n\n[[rules]]\ntype = \"sum_range\"\nitems = [\"count\"]\nlabel = \"人数\"\n\n[[rules]]\ntype = \"no_such_rule\"\n"
    );
    let errors = load_errors(&bad);
    let base = SECTION.lines().count();
    assert_eq!(
        errors,
        [
            format!(
                "forms/2025/sections/s.toml:{}: 規則の項目「s.name」は date ではありません（text）",
                base + 4
            ),
            format!(
                "forms/2025/sections/s.toml:{}: 規則の項目「s.gone」がこの項目セットにありません",
                base + 4
            ),
            format!(
                "forms/2025/sections/s.toml:{}: 規則 sum_range には items と min または max が必要です",
                base + 7
            ),
            format!(
                "forms/2025/sections/s.toml:{}: 不明な規則「no_such_rule」です",
                base + 12
            ),
        ]
    );
}

/// A homepage longer than its item's `max_length` is one problem, reported once.
#[test]
fn a_long_url_is_reported_once() {
    let long = format!("https://www.example.jp/{}", "a".repeat(300));
    assert_eq!(
        codes(&[("s.url", text(&long))]),
        [("text.too_long", Severity::Error)]
    );
}

/// A section shared by several item sets is checked for each, but each problem is said once.
#[test]
fn a_problem_in_a_shared_section_is_reported_once() {
    let broken = SECTION.replace("codes = \"colours\"", "codes = \"nowhere\"");
    let errors: Vec<String> = load(
        &[
            file("codes/colours.toml", CODES),
            file("2025/sections/s.toml", &broken),
            file("2025/clinic.toml", SET),
            file(
                "2025/hospital.toml",
                "fiscal_year = 2025\nkind = \"hospital\"\nsections = [\"s\"]\n",
            ),
        ],
        &[],
    )
    .expect_err("refused")
    .iter()
    .map(FormsError::to_string)
    .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}"); // the two items naming the list, once each
    assert!(
        errors
            .iter()
            .all(|e| e.contains("不明なコード表「nowhere」です"))
    );
}

/// Answers are keyed by top-level ids: a group member's id at the top is not carried.
#[test]
fn carry_over_drops_a_member_id_at_the_top() {
    let c = catalogue();
    let set = c.item_sets.values().next().unwrap();
    let mut a = Answers::default();
    a.set("s.rows.colour", Value::Choice("r".into()));
    let carried = teikyo_domain::forms::carry_over(&c, set, &a, set);
    assert!(carried.answers.is_empty());
    assert_eq!(carried.dropped.len(), 1);
    assert_eq!(
        carried.dropped[0].why,
        teikyo_domain::forms::NotCarried::NoSuchItem
    );
}
