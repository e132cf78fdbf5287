//! What the binary's tests share: running `teikyo` as people do, and the synth's facility files.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built binary without the caller's configuration.
pub fn teikyo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_teikyo"))
        .args(args)
        .env_remove("TEIKYO_DATABASE_URL")
        .env_remove("TEIKYO_CONFIG")
        .output()
        .expect("run teikyo")
}

/// Standard output and error, as one text for assertions.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The five facility files `teikyo synth` writes into `dir`.
pub fn facility_files(dir: &Path) -> Vec<String> {
    [
        "01-1_hospital_facility_info",
        "02-1_clinic_facility_info",
        "03-1_dental_facility_info",
        "04_maternity_home",
        "05_pharmacy",
    ]
    .iter()
    .map(|f| dir.join(format!("{f}.csv")).to_string_lossy().into_owned())
    .collect()
}
