//! Every built-in item set's FHIR Questionnaire (`teikyo_domain::forms::fhir`) parsed with
//! fhirbolt's R4 deserialiser in strict mode: an element the R4 model does not have, a misspelt
//! `value[x]`, a wrong JSON type or an unknown resource fails. The document must also come back
//! unchanged from fhirbolt's model, so nothing was read as something else. The invariants a
//! parser does not check, and the CLI, are tested in `crates/app/tests/fhir.rs`.

use fhirbolt::model::r4::resources::{Questionnaire as R4Questionnaire, ValueSet as R4ValueSet};
use fhirbolt::serde::{DeserializationConfig, DeserializationMode};
use serde_json::{Value, json};
use teikyo_domain::FacilityKind;
use teikyo_domain::forms::fhir::{self, ExportOptions};
use teikyo_domain::forms::{Catalogue, ItemSet};

fn catalogue() -> &'static Catalogue {
    teikyo_refdata::forms::catalogue()
        .unwrap_or_else(|e| panic!("{}", teikyo_domain::forms::FormsError::list(e)))
}

fn export(set: &ItemSet) -> Value {
    let options = ExportOptions {
        base_url: "https://teikyo.example.jp/fhir".into(),
        date: chrono::NaiveDate::from_ymd_opt(2025, 4, 1),
    };
    let q = fhir::questionnaire(catalogue(), set, &options)
        .unwrap_or_else(|e| panic!("{}: {e:?}", set.id));
    serde_json::to_value(&q).expect("serialises")
}

/// A document as fhirbolt's R4 model holds it.
struct Parsed {
    questionnaire: R4Questionnaire,
    contained: Vec<R4ValueSet>,
}

fn strict_config() -> Option<DeserializationConfig> {
    Some(DeserializationConfig {
        mode: DeserializationMode::Strict,
    })
}

/// Parses a Questionnaire strictly. fhirbolt 0.4.0 cannot read a resource with more than one
/// contained resource: reading the first switches the deserialisation context, which the outer
/// resource shares, to its element mode for good (`DeserializationContext<Resource>` sets
/// `from = InternalElement` and never restores it), so the second fails with "expected Uri".
/// So the contained resources are parsed one by one, each as a top-level `ValueSet` (the only
/// resource the export contains; any other `resourceType` is refused), and the Questionnaire
/// without them.
fn strict(json: &str) -> Result<Parsed, String> {
    let mut doc: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let contained = match doc.as_object_mut().and_then(|o| o.remove("contained")) {
        Some(Value::Array(c)) => c,
        Some(other) => return Err(format!("contained is not an array: {other}")),
        None => Vec::new(),
    };
    let questionnaire =
        fhirbolt::json::from_str::<R4Questionnaire>(&doc.to_string(), strict_config())
            .map_err(|e| e.to_string())?;
    let contained = contained
        .iter()
        .map(|r| {
            fhirbolt::json::from_str::<R4ValueSet>(&r.to_string(), strict_config())
                .map_err(|e| format!("contained {}: {e}", r["id"]))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Parsed {
        questionnaire,
        contained,
    })
}

fn fhirbolt_json<T: fhirbolt::serde::SerializeResource>(r: &T) -> Value {
    let text = fhirbolt::json::to_string(r, None).expect("fhirbolt serialises");
    serde_json::from_str(&text).expect("JSON")
}

/// Parses strictly and checks the round trip through fhirbolt's model.
fn parse_fhir(label: &str, json: &str) -> Parsed {
    let parsed =
        strict(json).unwrap_or_else(|e| panic!("{label}: not a strict R4 Questionnaire: {e}"));
    let mut back = fhirbolt_json(&parsed.questionnaire);
    if !parsed.contained.is_empty() {
        back["contained"] = parsed.contained.iter().map(fhirbolt_json).collect();
    }
    let ours: Value = serde_json::from_str(json).expect("JSON");
    assert_eq!(
        ours, back,
        "{label}: changed by a round trip through fhirbolt"
    );
    parsed
}

#[test]
fn every_built_in_item_set_is_a_strict_r4_questionnaire() {
    let catalogue = catalogue();
    assert!(catalogue.item_sets.len() >= 10, "two years × five kinds");
    for set in catalogue.item_sets.values() {
        let json = export(set);
        let parsed = parse_fhir(&set.id, &json.to_string());
        assert_eq!(
            parsed.questionnaire.item.len(),
            set.sections.len(),
            "{}",
            set.id
        );
        assert_eq!(
            parsed.contained.len(),
            json["contained"].as_array().map_or(0, Vec::len),
            "{}",
            set.id
        );
        // Pretty-printed as the CLI writes it: the same document.
        let pretty = serde_json::to_string_pretty(&json).expect("JSON");
        parse_fhir(&set.id, &pretty);
    }
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

/// A change that makes a document not R4.
type Edit = fn(&mut Value);

/// The checks above would catch a broken export: each of these edits is refused.
#[test]
fn the_strict_parse_refuses_what_is_not_r4() {
    let set = catalogue()
        .item_set(2025, FacilityKind::Clinic)
        .expect("2025 clinic");
    let good = export(set);
    assert!(strict(&good.to_string()).is_ok());
    let edits: [(&str, Edit); 6] = [
        ("an unknown element", |q| q["item"][0]["hint"] = json!("x")),
        ("a misspelt value[x]", |q| {
            let e = &mut item_mut(q, "basic.postal_code")["extension"][0];
            let v = e["valueString"].take();
            e["valueStr"] = v;
        }),
        ("a wrong JSON type", |q| {
            item_mut(q, "basic.name_official")["required"] = json!("yes")
        }),
        ("a missing linkId", |q| {
            if let Some(o) = q["item"][0].as_object_mut() {
                o.remove("linkId");
            }
        }),
        ("an unknown element in a contained ValueSet", |q| {
            q["contained"][0]["compose"]["include"][0]["codes"] = json!([])
        }),
        ("an unknown contained resource", |q| {
            q["contained"][0]["resourceType"] = json!("Codelist")
        }),
    ];
    for (what, edit) in edits {
        let mut bad = good.clone();
        edit(&mut bad);
        assert!(strict(&bad.to_string()).is_err(), "{what} was accepted");
    }
}
