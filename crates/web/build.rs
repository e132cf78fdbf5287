//! Embeds Leaflet (the residents' map) from npm when `npm ci` has installed it: the library comes
//! from the registry through package-lock.json, never from a copy in the repository. Without it
//! the build still succeeds and the pages say that the map is not available
//! (`cfg(teikyo_leaflet)` is then off). `npm ci` does not touch package-lock.json, so
//! `.ci/browser-setup` touches it afterwards to make Cargo run this again.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(teikyo_leaflet)");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest.join("../..");
    println!(
        "cargo::rerun-if-changed={}",
        root.join("package-lock.json").display()
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let dist = root.join("node_modules/leaflet/dist");
    let files = ["leaflet.js", "leaflet.css"];
    let mut found = files.iter().all(|f| dist.join(f).is_file());
    for f in files {
        if found {
            println!("cargo::rerun-if-changed={}", dist.join(f).display());
            found = std::fs::copy(dist.join(f), out.join(f)).is_ok();
        }
    }
    if !found {
        for f in files {
            // Empty: never linked (the pages do not offer the map without `teikyo_leaflet`).
            let _ = std::fs::write(out.join(f), b"");
        }
    }
    if found {
        println!("cargo::rustc-cfg=teikyo_leaflet");
    } else {
        println!(
            "cargo::warning=Leaflet is not installed (run `npm ci` in the repository root): the \
             residents' pages are built without the map"
        );
    }
}
