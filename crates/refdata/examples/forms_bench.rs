//! Times the validator on a complete hospital report (the embedded 2025 item set, the real code
//! lists and postal master) and prints one JSON line with medians in milliseconds:
//! `{"validate_hospital_ms":…,"baseline_json_ms":…,"n":…}`.
//!
//! Baseline, measured in the same run: reading the same report from its JSON and writing it
//! back (serde_json), the least any server does with a report it receives.
//! Run by the benchmarks: `cargo run --release -p teikyo-refdata --example forms_bench`.

use std::time::Instant;

use teikyo_domain::FacilityKind;
use teikyo_domain::forms::{Answers, FormsError, Mode, Validator};
use teikyo_refdata::forms::{PostalMaster, catalogue, examples};

fn median_ms(n: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[n / 2]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let catalogue = match catalogue() {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{}", FormsError::list(errors));
            std::process::exit(1);
        }
    };
    let set = catalogue
        .item_set(2025, FacilityKind::Hospital)
        .expect("2025 hospital item set");
    let answers = examples::hospital();
    let validator = Validator::new(catalogue, &PostalMaster);
    // Warm the postal tables and check the report is what it claims to be.
    let issues = validator.validate(set, &answers, Mode::Complete);
    assert!(issues.is_empty(), "the example must be valid: {issues:?}");
    let json = serde_json::to_string(&answers).expect("serialisable");
    let validate = median_ms(n, || {
        std::hint::black_box(validator.validate(
            set,
            std::hint::black_box(&answers),
            Mode::Complete,
        ));
    });
    let baseline = median_ms(n, || {
        let a: Answers = serde_json::from_str(std::hint::black_box(&json)).expect("readable");
        std::hint::black_box(serde_json::to_string(&a).expect("serialisable"));
    });
    println!(
        r#"{{"validate_hospital_ms":{validate:.4},"baseline_json_ms":{baseline:.4},"n":{n},"json_bytes":{}}}"#,
        json.len()
    );
}
