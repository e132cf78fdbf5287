//! Issue 8's round trip as an operator runs it: synthetic data → `export opendata` → `import
//! opendata` into an empty database → `export opendata` gives the same bytes.

mod common;

use common::{facility_files, teikyo, text};

#[test]
fn synthetic_data_survives_export_import_export_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = |p: &str| dir.path().join(p).to_string_lossy().into_owned();
    let synth = path("synth");
    let o = teikyo(&[
        "synth",
        "--facilities",
        "800",
        "--seed",
        "3",
        "--out",
        &synth,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let source = format!("sqlite://{}", path("a.sqlite"));
    let target = format!("sqlite://{}", path("b.sqlite"));
    let mut import = vec!["--database-url", &source, "import", "facilities", "--quiet"];
    let files = facility_files(std::path::Path::new(&synth));
    import.extend(files.iter().map(String::as_str));
    let o = teikyo(&import);
    assert!(o.status.success(), "{}", text(&o));
    let o = teikyo(&["--database-url", &source, "publish", "synthetic", "--quiet"]);
    assert!(o.status.success(), "{}", text(&o));

    let (first, second) = (path("first"), path("second"));
    let export = |url: &str, out: &str| {
        let o = teikyo(&[
            "--database-url",
            url,
            "export",
            "opendata",
            "--out",
            out,
            "--date",
            "2026-12-01",
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        text(&o)
    };
    let said = export(&source, &first);
    assert!(said.contains("2026-12-01 時点のオープンデータ"), "{said}");

    // A dry run checks and writes nothing; the real run publishes every facility.
    let import = |flag: &str| {
        teikyo(&[
            "--database-url",
            &target,
            "import",
            "opendata",
            flag,
            &first,
        ])
    };
    let o = import("--dry-run");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("誤り 0 件"), "{}", text(&o));
    let o = import("--quiet");
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("2026-12-01 時点の確認済みデータとして"),
        "{}",
        text(&o)
    );
    // A second import of the same files is refused as a whole.
    let o = import("--quiet");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("既に施設マスタに登録されています"),
        "{}",
        text(&o)
    );

    export(&target, &second);
    let manifest = std::fs::read_to_string(format!("{first}/manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let names: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 8);
    let mut rows = 0;
    for (f, name) in manifest["files"].as_array().unwrap().iter().zip(&names) {
        let a = std::fs::read(format!("{first}/{name}")).unwrap();
        let b = std::fs::read(format!("{second}/{name}")).unwrap();
        assert!(a == b, "{name} differs after export → import → export");
        assert_eq!(f["bytes"].as_u64(), Some(a.len() as u64), "{name}");
        rows += f["rows"].as_u64().unwrap();
    }
    assert!(rows > 2_000, "facility and hour rows: {rows}");
}
