//! Forces every reference-data table to load and prints the time it took and the peak resident
//! set size as one JSON line, e.g. `{"refdata_load_s":0.31,"refdata_rss_mb":84}`.
//! Run by the benchmarks: `cargo run --release -p teikyo-refdata --example load_all`.

use std::time::Instant;

/// Peak resident set size (VmHWM) in MB, from /proc/self/status; `None` where there is no procfs.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let start = Instant::now();
    teikyo_refdata::load_all();
    let secs = start.elapsed().as_secs_f64();
    let rss = peak_rss_mb().map_or("null".to_owned(), |mb| format!("{mb:.0}"));
    println!(r#"{{"refdata_load_s":{secs:.3},"refdata_rss_mb":{rss}}}"#);
}
