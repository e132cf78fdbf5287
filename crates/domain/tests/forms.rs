//! The item sets under `forms/`: every file loads and checks; each kind gets the items the law
//! gives it; broken files are refused with the file and line.

use std::path::Path;

use teikyo_domain::FacilityKind;
use teikyo_domain::forms::{CodeList, FormsError, ItemKind, SourceFile, load};

/// Every file under `forms/` (TOML only), as the binary hands them to the loader.
fn repo_files() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(SourceFile {
                    path: path
                        .strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                    text: std::fs::read_to_string(&path).unwrap(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The code lists that come from `data/`, read from its TSV files (first column = code).
fn external() -> Vec<CodeList> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/codes");
    [
        ("specialties", "specialties.tsv"),
        (
            "designated_intractable_diseases",
            "designated_intractable_diseases.tsv",
        ),
    ]
    .map(|(id, file)| CodeList {
        id: id.into(),
        name: id.into(),
        provisional: false,
        source: "data/codes".into(),
        codes: std::fs::read_to_string(root.join(file))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let mut f = l.split('\t');
                teikyo_domain::forms::Code {
                    code: f.next().unwrap().into(),
                    label: f.next().unwrap_or_default().into(),
                    flags: vec![],
                }
            })
            .collect(),
    })
    .to_vec()
}

#[test]
fn every_file_under_forms_loads() {
    let catalogue = load(&repo_files(), &external())
        .unwrap_or_else(|errors| panic!("{}", FormsError::list(&errors)));
    for kind in FacilityKind::ALL {
        let set = catalogue
            .item_set(2025, kind)
            .expect("an item set per kind");
        assert_eq!(set.sections[0].number, "1.(1)");
        assert!(set.item("basic.name_official").is_some());
    }
    let hospital = catalogue.item_set(2025, FacilityKind::Hospital).unwrap();
    assert!(matches!(
        hospital.item("basic.outpatient_class").map(|i| &i.kind),
        Some(ItemKind::Choice { codes }) if codes == "outpatient_class"
    ));
    assert!(hospital.item("basic.beds_general").unwrap().required);
    assert!(
        hospital
            .item("basic.beds_general")
            .unwrap()
            .visible_if
            .is_none()
    );
    let clinic = catalogue.item_set(2025, FacilityKind::Clinic).unwrap();
    let beds = clinic.item("basic.beds_general").unwrap();
    assert_eq!(
        beds.visible_if.as_ref().map(|c| c.item.as_str()),
        Some("basic.has_beds")
    );
    // 救急科 expects night hours in its own row.
    assert!(matches!(
        &clinic.item("basic.departments.hours").unwrap().kind,
        ItemKind::Hours { max_slots: 3, night_expected_if: Some(c) }
            if c.item.as_str() == "basic.departments.department" && c.any_of == ["09010"]
    ));
    // Rules come with the section, per kind.
    let rules = |set: &teikyo_domain::forms::ItemSet| -> Vec<&'static str> {
        set.sections[0].rules.iter().map(|r| r.id()).collect()
    };
    assert_eq!(
        rules(hospital),
        [
            "postal_address",
            "date_order",
            "unique",
            "sum_range",
            "parts_within"
        ]
    );
    let pharmacy = catalogue.item_set(2025, FacilityKind::Pharmacy).unwrap();
    assert_eq!(rules(pharmacy), ["postal_address", "date_order"]);
    // The law's exceptions: no 診療科目 for 助産所 and 薬局, no beds for 歯科診療所.
    let midwife = catalogue
        .item_set(2025, FacilityKind::MidwiferyHome)
        .unwrap();
    assert!(midwife.item("basic.departments").is_none());
    assert!(midwife.item("basic.working_hours").is_some());
    let dental = catalogue
        .item_set(2025, FacilityKind::DentalClinic)
        .unwrap();
    assert!(dental.item("basic.beds_general").is_none());
    assert!(pharmacy.item("basic.outpatient_class").is_none());
    assert!(pharmacy.item("basic.health_support").is_some());
    // The one value of 外来区分 the seeds confirm.
    let outpatient = &catalogue.code_lists["outpatient_class"];
    assert!(outpatient.provisional);
    assert_eq!(
        outpatient.get("9").map(|c| c.label.as_str()),
        Some("その他一般外来を行わない")
    );
}

fn file(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: path.into(),
        text: text.into(),
    }
}

fn errors_of(files: &[SourceFile]) -> Vec<FormsError> {
    load(files, &external()).expect_err("refused")
}

fn shown(errors: &[FormsError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

const SET: &str = "fiscal_year = 2025\nkind = \"clinic\"\nsections = [\"s\"]\n";

#[test]
fn broken_files_are_refused_with_file_and_line() {
    let section = [
        "id = \"s\"",
        "number = \"1.(1)\"",
        "title = \"t\"",
        "",
        "[[items]]",
        "id = \"a\"",
        "label = \"A\"",
        "type = \"text\"",
        "max_length = 10",
        "",
        "[[items]]",
        "id = \"a\"", // line 12: duplicate
        "label = \"A again\"",
        "type = \"text\"",
        "max_length = 10",
        "",
        "[[items]]",
        "id = \"b\"",
        "label = \"B\"",
        "type = \"choice\"",
        "codes = \"nowhere\"", // line 21
        "",
        "[[items]]",
        "id = \"c\"",
        "label = \"C\"",
        "type = \"yes_no_unknown\"",
        "visible_if = { item = \"missing\", any_of = [\"yes\"] }", // line 27
        "",
        "[[items]]",
        "id = \"d\"",
        "label = \"D\"",
        "type = \"colour\"", // line 32
    ]
    .join("\n");
    let errors = errors_of(&[
        file("2025/clinic.toml", SET),
        file("2025/sections/s.toml", &section),
    ]);
    let shown = shown(&errors);
    let expect = [
        "forms/2025/sections/s.toml:12: 項目ID「s.a」が重複しています",
        "forms/2025/sections/s.toml:21: 不明なコード表「nowhere」です",
        "forms/2025/sections/s.toml:27: visible_if の項目「s.missing」がこの項目セットにありません",
        "forms/2025/sections/s.toml:32: 不明な型「colour」です",
    ];
    for e in expect {
        assert!(shown.iter().any(|s| s == e), "{e} in {shown:#?}");
    }
    assert_eq!(shown.len(), expect.len(), "{shown:#?}");
}

#[test]
fn unreadable_files_and_missing_sections_say_where() {
    let errors = errors_of(&[
        file(
            "2025/clinic.toml",
            "fiscal_year = 2025\nkind = \"clinic\"\nsections = [\"s\", \"gone\"]\n",
        ),
        file(
            "2025/sections/s.toml",
            "id = \"s\"\nnumber = \"1\"\ntitle = \"t\"\nitems = [\n",
        ),
        file(
            "codes/x.toml",
            "id = \"x\"\nname = \"x\"\nsource = \"-\"\n[[codes]]\ncode = \"1\"\nlabel = \"a\"\n[[codes]]\ncode = \"1\"\nlabel = \"b\"\n",
        ),
    ]);
    let shown = shown(&errors);
    assert!(
        shown
            .iter()
            .any(|s| s.starts_with("forms/2025/sections/s.toml:") && s.contains("読み取れません")),
        "{shown:#?}"
    );
    assert!(
        shown
            .iter()
            .any(|s| s == "forms/2025/clinic.toml:3: 2025/sections/ にセクション「s」がありません"),
        "{shown:#?}"
    );
    assert!(
        shown
            .iter()
            .any(|s| s == "forms/codes/x.toml:8: コード「1」が重複しています"),
        "{shown:#?}"
    );
    // An unknown key is a mistake, not a silent extra.
    let errors = errors_of(&[file(
        "2025/clinic.toml",
        "fiscal_year = 2025\nkind = \"clinic\"\nsections = []\nsection = [\"s\"]\n",
    )]);
    assert!(
        errors[0]
            .to_string()
            .starts_with("forms/2025/clinic.toml:4:"),
        "{errors:?}"
    );
}

#[test]
fn conditions_must_name_a_value_of_their_item() {
    let section = [
        "id = \"s\"",
        "number = \"1\"",
        "title = \"t\"",
        "[[items]]",
        "id = \"parking\"",
        "label = \"P\"",
        "type = \"yes_no_unknown\"",
        "[[items]]",
        "id = \"spaces\"",
        "label = \"S\"",
        "type = \"number\"",
        "visible_if = { item = \"parking\", any_of = [\"maybe\"] }", // line 12
    ]
    .join("\n");
    let errors = errors_of(&[
        file("2025/clinic.toml", SET),
        file("2025/sections/s.toml", &section),
    ]);
    assert_eq!(
        shown(&errors),
        [
            "forms/2025/sections/s.toml:12: visible_if の値「maybe」は項目「s.parking」の選択肢にありません"
        ]
    );
}

/// The editors' JSON Schema names the same types the loader knows, and the same kinds.
#[test]
fn the_json_schema_matches_the_loader() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms/schema/section.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let types: Vec<&str> = schema["$defs"]["item"]["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // Every type the schema offers loads (with its parameters); an unknown one does not.
    for t in &types {
        let params = match *t {
            "text" | "kana" => "max_length = 5\n",
            "choice" | "multi_choice" | "coded_list" => "codes = \"specialties\"\n",
            "group" => "[[items.items]]\nid = \"m\"\nlabel = \"M\"\ntype = \"date\"\n",
            _ => "",
        };
        let section = format!(
            "id = \"s\"\nnumber = \"1\"\ntitle = \"t\"\n[[items]]\nid = \"x\"\nlabel = \"X\"\ntype = \"{t}\"\n{params}"
        );
        let loaded = load(
            &[
                file("2025/clinic.toml", SET),
                file("2025/sections/s.toml", &section),
            ],
            &external(),
        );
        let set = loaded.unwrap_or_else(|e| panic!("{t}: {e:?}"));
        let item = set.item_sets["2025-clinic"].item("s.x").unwrap();
        assert_eq!(item.kind.id(), *t);
    }
    let kinds: Vec<&str> = schema["$defs"]["kind"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        FacilityKind::ALL.map(|k| k.id()).to_vec(),
        "the schema's kinds"
    );
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        strings(&schema["$defs"]["item"]["properties"]["format"]["enum"]),
        teikyo_domain::forms::TextFormat::ALL.map(|f| f.id().to_owned()),
        "the schema's text formats"
    );
    // Every rule type the schema offers loads with its required keys.
    let items = "[[items]]\nid = \"d\"\nlabel = \"D\"\ntype = \"date\"\n[[items]]\nid = \"e\"\nlabel = \"E\"\ntype = \"date\"\n[[items]]\nid = \"n\"\nlabel = \"N\"\ntype = \"number\"\n[[items]]\nid = \"t\"\nlabel = \"T\"\ntype = \"text\"\nmax_length = 9\n[[items]]\nid = \"g\"\nlabel = \"G\"\ntype = \"group\"\nmax_count = 3\n[[items.items]]\nid = \"m\"\nlabel = \"M\"\ntype = \"date\"\n";
    for t in strings(&schema["$defs"]["rule"]["properties"]["type"]["enum"]) {
        let keys = match t.as_str() {
            "postal_address" => "postal = \"t\"\naddress = \"t\"\n",
            "date_order" => "items = [\"d\", \"e\"]\n",
            "sum_range" => "items = [\"n\"]\nmin = 1\nlabel = \"N\"\n",
            "parts_within" => "total = \"n\"\nparts = [\"n\"]\n",
            "unique" => "group = \"g\"\nmember = \"m\"\n",
            other => panic!("no example for rule {other}"),
        };
        let section = format!(
            "id = \"s\"\nnumber = \"1\"\ntitle = \"t\"\n{items}[[rules]]\ntype = \"{t}\"\n{keys}"
        );
        let loaded = load(
            &[
                file("2025/clinic.toml", SET),
                file("2025/sections/s.toml", &section),
            ],
            &external(),
        )
        .unwrap_or_else(|e| panic!("{t}: {e:?}"));
        assert_eq!(loaded.item_sets["2025-clinic"].sections[0].rules[0].id(), t);
    }
}

#[test]
fn a_group_inside_a_group_is_refused_where_it_is() {
    let section = [
        "id = \"s\"",
        "number = \"1.(1)\"",
        "title = \"t\"",
        "",
        "[[items]]",
        "id = \"rows\"",
        "label = \"Rows\"",
        "type = \"group\"",
        "max_count = 3",
        "",
        "  [[items.items]]",
        "  id = \"inner\"",
        "  label = \"Inner\"",
        "  type = \"group\"", // line 14
        "",
        "    [[items.items.items]]",
        "    id = \"x\"",
        "    label = \"X\"",
        "    type = \"date\"",
    ]
    .join("\n");
    let errors = errors_of(&[
        file("2025/clinic.toml", SET),
        file("2025/sections/s.toml", &section),
    ]);
    assert_eq!(
        shown(&errors),
        [
            "forms/2025/sections/s.toml:14: group の中に group は置けません。別の group として並べてください"
        ]
    );
}

#[test]
fn low_risk_items_must_be_items_of_the_section() {
    let section = [
        "id = \"s\"",
        "number = \"1.(1)\"",
        "title = \"t\"",
        "low_risk_items = [\"phone\", \"nothing\"]", // line 4
        "",
        "[[items]]",
        "id = \"phone\"",
        "label = \"電話\"",
        "type = \"date\"",
    ]
    .join("\n");
    let errors = errors_of(&[
        file("2025/clinic.toml", SET),
        file("2025/sections/s.toml", &section),
    ]);
    assert_eq!(
        shown(&errors),
        ["forms/2025/sections/s.toml:4: low_risk_items: the section has no item `nothing`"]
    );
}
