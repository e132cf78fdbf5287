//! The FHIR Questionnaire export (`teikyo forms export-fhir`, `teikyo_domain::forms::fhir`).
//!
//! Every built-in item set must keep the Questionnaire invariants of R4 that a parser does not
//! check (unique linkIds, enableWhen naming a question and one of its answers, que-*), carry
//! every item under its full id, and the CLI must write exactly what the library makes. The
//! strict R4 parse with fhirbolt is `tools/fhir-check` (outside the workspace: fhirbolt would
//! change serde_json's features for every test here; see its Cargo.toml).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use teikyo_domain::forms::fhir::{self, ExportOptions};
use teikyo_domain::forms::{Catalogue, Item, ItemKind, ItemSet};

const BASE: &str = "https://teikyo.example.jp/fhir";

fn catalogue() -> &'static Catalogue {
    teikyo_refdata::forms::catalogue()
        .unwrap_or_else(|e| panic!("{}", teikyo_domain::forms::FormsError::list(e)))
}

fn export(set: &ItemSet) -> Value {
    let options = ExportOptions {
        base_url: BASE.into(),
        date: chrono::NaiveDate::from_ymd_opt(2025, 4, 1),
    };
    let q = fhir::questionnaire(catalogue(), set, &options)
        .unwrap_or_else(|e| panic!("{}: {e:?}", set.id));
    serde_json::to_value(&q).expect("serialises")
}

/// A written document: JSON, a Questionnaire, and the invariants hold.
fn parse_json(label: &str, json: &str) -> Value {
    let value: Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{label}: not JSON: {e}"));
    assert_eq!(value["resourceType"], "Questionnaire", "{label}");
    check_invariants(label, &value);
    value
}

fn items(v: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        for i in v["item"].as_array().into_iter().flatten() {
            out.push(i);
            walk(i, out);
        }
    }
    walk(v, &mut out);
    out
}

fn is_fhir_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// The Questionnaire invariants of R4 (que-*) and the references inside the document, which a
/// parser does not check.
fn check_invariants(label: &str, q: &Value) {
    let id = q["id"].as_str().unwrap_or_default();
    assert!(is_fhir_id(id), "{label}: id {id}");
    let name = q["name"].as_str().unwrap_or_default();
    assert!(
        name.starts_with(|c: char| c.is_ascii_uppercase())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "{label}: que-0 name {name}"
    );
    let contained: BTreeMap<&str, &Value> = q["contained"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["id"].as_str().unwrap_or_default(), r))
        .collect();
    for cid in contained.keys() {
        assert!(is_fhir_id(cid), "{label}: contained id {cid}");
    }
    let all = items(q);
    let mut by_link: BTreeMap<&str, &Value> = BTreeMap::new();
    for i in &all {
        let link = i["linkId"].as_str().expect("linkId");
        assert!(
            by_link.insert(link, i).is_none(),
            "{label}: linkId {link} twice"
        );
    }
    // The codes an answer to a choice item may have.
    let answers = |i: &Value| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for o in i["answerOption"].as_array().into_iter().flatten() {
            out.insert(
                o["valueCoding"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        if let Some(vs) = i["answerValueSet"].as_str() {
            let vs = contained
                .get(vs.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("{label}: answerValueSet {vs} is not contained"));
            for inc in vs["compose"]["include"].as_array().into_iter().flatten() {
                for c in inc["concept"].as_array().into_iter().flatten() {
                    out.insert(c["code"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
        out
    };
    let referenced: BTreeSet<&str> = all
        .iter()
        .filter_map(|i| i["answerValueSet"].as_str())
        .map(|s| s.trim_start_matches('#'))
        .collect();
    assert_eq!(
        referenced,
        contained.keys().copied().collect(),
        "{label}: dom-3, every contained ValueSet is used"
    );
    for i in &all {
        let link = i["linkId"].as_str().unwrap_or_default();
        let ty = i["type"].as_str().unwrap_or_default();
        assert!(
            [
                "group",
                "display",
                "boolean",
                "decimal",
                "integer",
                "date",
                "dateTime",
                "time",
                "string",
                "text",
                "url",
                "choice",
                "open-choice",
                "attachment",
                "reference",
                "quantity"
            ]
            .contains(&ty),
            "{label}: {link} type {ty}"
        );
        let children = i["item"].as_array().map_or(0, Vec::len);
        match ty {
            "group" => assert!(children > 0, "{label}: que-1a {link} group without items"),
            "display" => {
                assert_eq!(children, 0, "{label}: que-1c {link}");
                assert!(
                    i.get("required").is_none() && i.get("repeats").is_none(),
                    "{label}: que-6 {link}"
                );
            }
            _ => {}
        }
        if i.get("maxLength").is_some() {
            assert!(
                [
                    "boolean",
                    "decimal",
                    "integer",
                    "string",
                    "text",
                    "url",
                    "open-choice"
                ]
                .contains(&ty),
                "{label}: que-10 {link}"
            );
        }
        if i.get("answerOption").is_some() || i.get("answerValueSet").is_some() {
            assert!(
                ["choice", "open-choice"].contains(&ty),
                "{label}: que-5 {link}"
            );
            assert!(
                !(i.get("answerOption").is_some() && i.get("answerValueSet").is_some()),
                "{label}: que-4 {link}"
            );
        }
        if ty == "choice" {
            assert!(!answers(i).is_empty(), "{label}: {link} has no answers");
        }
        let when = i["enableWhen"].as_array().map_or(&[][..], Vec::as_slice);
        assert_eq!(
            when.len() > 1,
            i.get("enableBehavior").is_some(),
            "{label}: que-12 {link}"
        );
        for w in when {
            let question = w["question"].as_str().unwrap_or_default();
            let target = by_link
                .get(question)
                .unwrap_or_else(|| panic!("{label}: {link} enableWhen names no item {question}"));
            let target_type = target["type"].as_str().unwrap_or_default();
            assert!(
                !["group", "display"].contains(&target_type),
                "{label}: {link} enableWhen names a {target_type}"
            );
            match w["operator"].as_str() {
                Some("exists") => assert!(w["answerBoolean"].is_boolean(), "{label}: que-7 {link}"),
                Some("=") => {
                    if let Some(code) = w["answerCoding"]["code"].as_str() {
                        assert!(
                            answers(target).contains(code),
                            "{label}: {link} enableWhen {question} = {code}, not one of its answers"
                        );
                    } else {
                        assert_eq!(target_type, "boolean", "{label}: {link}");
                        assert!(w["answerBoolean"].is_boolean(), "{label}: {link}");
                    }
                }
                other => panic!("{label}: {link} operator {other:?}"),
            }
        }
    }
}

fn model_items(set: &ItemSet) -> Vec<&Item> {
    fn walk<'a>(items: &'a [Item], out: &mut Vec<&'a Item>) {
        for i in items {
            out.push(i);
            if let ItemKind::Group { items, .. } = &i.kind {
                walk(items, out);
            }
        }
    }
    let mut out = Vec::new();
    for s in &set.sections {
        walk(&s.items, &mut out);
    }
    out
}

#[test]
fn every_built_in_item_set_keeps_the_questionnaire_invariants() {
    let catalogue = catalogue();
    assert!(catalogue.item_sets.len() >= 10, "two years × five kinds");
    for set in catalogue.item_sets.values() {
        let json = export(set);
        assert_eq!(
            json["item"].as_array().map_or(0, Vec::len),
            set.sections.len(),
            "{}",
            set.id
        );
        check_invariants(&set.id, &json);

        // Items keep their full ids; required and conditions carry over.
        let by_link: BTreeMap<&str, &Value> = items(&json)
            .into_iter()
            .map(|i| (i["linkId"].as_str().unwrap_or_default(), i))
            .collect();
        for item in model_items(set) {
            let q = by_link
                .get(item.id.as_str())
                .unwrap_or_else(|| panic!("{}: no linkId {}", set.id, item.id));
            assert_eq!(
                q["enableWhen"].as_array().map_or(0, Vec::len),
                item.visible_if.as_ref().map_or(0, |c| c.any_of.len()),
                "{}: {}",
                set.id,
                item.id
            );
            if item.required {
                assert_eq!(q["required"], json!(true), "{}: {}", set.id, item.id);
            }
            if let ItemKind::CodedList {
                codes,
                count_flag: Some(flag),
            } = &item.kind
            {
                for code in &catalogue.code_lists[codes].codes {
                    let count = format!("{}.{}.count", item.id, code.code);
                    assert_eq!(
                        by_link.contains_key(count.as_str()),
                        code.flags.contains(flag),
                        "{}: {count}",
                        set.id
                    );
                }
            }
        }
    }
}

#[test]
fn the_2025_hospital_questionnaire_reads_as_expected() {
    let set = catalogue()
        .item_set(2025, teikyo_domain::FacilityKind::Hospital)
        .expect("2025 hospital");
    let q = export(set);
    assert_eq!(q["title"], "令和7年度 病院 医療機能情報 報告");
    assert_eq!(q["url"], format!("{BASE}/Questionnaire/2025-hospital"));
    assert_eq!(q["status"], "active");
    let by_link: BTreeMap<&str, &Value> = items(&q)
        .into_iter()
        .map(|i| (i["linkId"].as_str().unwrap_or_default(), i))
        .collect();
    assert_eq!(by_link["basic"]["prefix"], "1.(1)");
    assert_eq!(by_link["basic"]["text"], "基本情報");
    assert_eq!(by_link["basic.departments"]["repeats"], true);
    assert_eq!(
        by_link["basic.departments.department"]["answerValueSet"],
        "#vs-specialties"
    );
    assert_eq!(
        by_link["basic.departments.hours.mon.slots.start"]["type"],
        "time"
    );
    assert_eq!(by_link["basic.beds_general"]["type"], "integer");
    assert_eq!(by_link["access.homepage"]["type"], "url");
    assert!(by_link.contains_key("services.treatments.00007.count"));
    assert!(!by_link.contains_key("services.treatments.00009.count"));
    assert_eq!(
        by_link["basic.name_official:help"]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"],
        "help"
    );
    let provisional = q["contained"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["id"] == "vs-outpatient-class")
        .expect("外来区分");
    assert_eq!(provisional["status"], "draft");
}

/// The item with this linkId, to edit.
fn item_mut<'a>(v: &'a mut Value, link_id: &str) -> &'a mut Value {
    fn find<'a>(v: &'a mut Value, link_id: &str) -> Option<&'a mut Value> {
        if v["linkId"] == link_id {
            return Some(v);
        }
        v.get_mut("item")?
            .as_array_mut()?
            .iter_mut()
            .find_map(|i| find(i, link_id))
    }
    find(v, link_id).unwrap_or_else(|| panic!("no item {link_id}"))
}

/// A change that breaks a Questionnaire invariant.
type Edit = fn(&mut Value);

/// The invariant checks above can fail: each of these edits is caught.
#[test]
fn the_invariant_checks_catch_a_broken_document() {
    let set = catalogue()
        .item_set(2025, teikyo_domain::FacilityKind::Clinic)
        .expect("2025 clinic");
    let good = export(set);
    check_invariants("good", &good);
    let edits: [(&str, Edit); 6] = [
        ("a duplicate linkId", |q| {
            item_mut(q, "basic.fax")["linkId"] = json!("basic.phone")
        }),
        ("enableWhen naming no item", |q| {
            item_mut(q, "basic.beds_general")["enableWhen"][0]["question"] = json!("basic.nowhere")
        }),
        (
            "enableWhen with an answer the question does not have",
            |q| {
                item_mut(q, "basic.beds_general")["enableWhen"][0]["answerCoding"]["code"] =
                    json!("maybe")
            },
        ),
        ("maxLength on a date", |q| {
            item_mut(q, "basic.opened_on")["maxLength"] = json!(10)
        }),
        ("an answerValueSet that is not contained", |q| {
            item_mut(q, "basic.outpatient_class")["answerValueSet"] = json!("#vs-nowhere")
        }),
        ("a group without items", |q| {
            item_mut(q, "basic.departments")["item"] = json!([])
        }),
    ];
    for (what, edit) in edits {
        let mut bad = good.clone();
        edit(&mut bad);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_invariants(what, &bad)
        }));
        assert!(caught.is_err(), "{what} was not caught");
    }
}

fn teikyo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_teikyo"))
        .args(args)
        .env_remove("TEIKYO_DATABASE_URL")
        .env_remove("TEIKYO_CONFIG")
        .env_remove("TEIKYO_FORMS_DIR")
        .output()
        .expect("run teikyo")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn cli_writes_one_parsable_file_per_item_set() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("fhir");
    let out_arg = out.to_string_lossy();
    let o = teikyo(&[
        "forms",
        "export-fhir",
        "--out",
        &out_arg,
        "--base-url",
        BASE,
        "--date",
        "2025-04-01",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let catalogue = catalogue();
    let files: BTreeSet<String> = std::fs::read_dir(&out)
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), catalogue.item_sets.len(), "{files:?}");
    for set in catalogue.item_sets.values() {
        let path = out.join(format!("{}.json", set.id));
        let json =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let value = parse_json(&set.id, &json);
        assert!(
            stdout
                .lines()
                .any(|l| l.contains(&format!("{}.json を書き出しました", set.id))
                    && l.contains(&fhir::title(set))),
            "no summary for {}: {stdout}",
            set.id
        );
        // The same document as the library makes (which tools/fhir-check parses strictly).
        assert_eq!(value, export(set), "{}", set.id);
    }
}

#[test]
fn cli_writes_one_item_set_to_stdout_and_needs_out_for_all() {
    let o = teikyo(&["forms", "export-fhir", "--item-set", "2025-pharmacy"]);
    assert!(o.status.success(), "{}", text(&o));
    let json = String::from_utf8_lossy(&o.stdout);
    let value = parse_json("stdout", &json);
    assert_eq!(value["title"], "令和7年度 薬局 薬局機能情報 報告");
    // The default base is the configured public URL's /fhir.
    assert_eq!(
        value["url"],
        "http://127.0.0.1:8080/fhir/Questionnaire/2025-pharmacy"
    );
    assert!(value["date"].is_string(), "today by default");
    assert!(String::from_utf8_lossy(&o.stderr).contains("書き出しました"));

    let o = teikyo(&["forms", "export-fhir"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--out"), "{}", text(&o));

    let o = teikyo(&["forms", "export-fhir", "--item-set", "1999-hospital"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("2025-hospital"),
        "lists the known ids: {}",
        text(&o)
    );
}

#[test]
fn cli_exports_a_forms_directory_and_refuses_a_broken_one() {
    let forms = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let o = teikyo(&[
        "forms",
        "export-fhir",
        "--dir",
        &forms.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
        "--item-set",
        "2026-clinic",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    parse_json(
        "2026-clinic",
        &std::fs::read_to_string(out.join("2026-clinic.json")).expect("written"),
    );

    let broken = dir.path().join("broken");
    std::fs::create_dir_all(broken.join("2025")).expect("dir");
    std::fs::write(
        broken.join("2025/hospital.toml"),
        "fiscal_year = 2025\nkind = \"hospital\"\nsections = [\"nowhere\"]\n",
    )
    .expect("write");
    let o = teikyo(&[
        "forms",
        "export-fhir",
        "--dir",
        &broken.to_string_lossy(),
        "--out",
        &dir.path().join("none").to_string_lossy(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("hospital.toml:"), "{}", text(&o));
    assert!(!dir.path().join("none").exists(), "nothing written");
}
