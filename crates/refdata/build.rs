//! Embeds every TOML file under `forms/` (the item sets and their code lists): writes
//! `$OUT_DIR/forms_files.rs`, a list of (path relative to `forms/`, `include_str!`) pairs, so a
//! new file is picked up without touching the code.

use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    assert!(!files.is_empty(), "no .toml files under {}", root.display());
    files.sort();
    let mut out = String::from("&[\n");
    for path in &files {
        let rel = path
            .strip_prefix(&root)
            .expect("under forms/")
            .to_string_lossy()
            .replace('\\', "/");
        let abs = path.canonicalize().expect("readable path");
        out.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            abs.to_string_lossy()
        ));
    }
    out.push(']');
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("forms_files.rs");
    std::fs::write(dest, out).expect("write forms_files.rs");
}

/// A missing or unreadable `forms/` fails the build: an empty list would build a server with no
/// item sets at all.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}
