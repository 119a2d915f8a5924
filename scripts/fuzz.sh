#!/usr/bin/env bash
# Bounded fuzz sessions over everything pyslim parses. Property: never a panic.
#  1. property-based (tests/it/fuzz.rs): mutations of realistic files plus raw junk through scan,
#     plan and render; CASES per property (default 5000).
#  2. coverage-guided (cargo-fuzz / libFuzzer, fuzz/): the targets scan_project, config and
#     dockerignore, SECONDS each (default 60), starting from the seeds in tests/fuzz_shared.in.
#     No sanitizer by default (safe Rust; several times the executions); FUZZ_SANITIZER=address
#     runs them under ASan, which also watches tree-sitter's C parser. cargo-fuzz is installed
#     from crates.io when missing; it needs nightly flags, which the stable toolchain accepts
#     with RUSTC_BOOTSTRAP=1.
# Usage: scripts/fuzz.sh [CASES] [SECONDS]   (SECONDS=0 skips the coverage-guided part)
# A crash prints the minimal input (proptest) or leaves it in fuzz/artifacts/<target>/ (libFuzzer);
# add it to `regressions()` in tests/it/fuzz.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
CASES=${1:-5000}
SECONDS_EACH=${2:-60}
start=$(date +%s)
PROPTEST_CASES=$CASES cargo test --release --test it -- fuzz:: --nocapture
echo "fuzz: proptest, $CASES cases per property in $(( $(date +%s) - start )) s, no panic"

[ "$SECONDS_EACH" -gt 0 ] || exit 0
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
SAN=${FUZZ_SANITIZER:-none}
cd fuzz
cargo fuzz build --sanitizer "$SAN"
for target in scan_project config dockerignore; do
  corpus=corpus/$target
  if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
    PYSLIM_FUZZ_SEEDS=$corpus cargo fuzz run --sanitizer "$SAN" "$target" -- -runs=0 >/dev/null 2>&1
  fi
  t0=$(date +%s)
  cargo fuzz run --sanitizer "$SAN" "$target" "$corpus" -- -max_total_time="$SECONDS_EACH" -print_final_stats=1 2>&1 |
    grep -E '^(#[0-9]+\s+DONE|Done|stat::number_of_executed_units|stat::average_exec_per_sec|==[0-9]+==ERROR|.*panicked)' || true
  if [ -n "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
    echo "fuzz: $target found a crash: $(ls "artifacts/$target")" >&2
    exit 1
  fi
  echo "fuzz: $target (sanitizer: $SAN), $SECONDS_EACH s ($(( $(date +%s) - t0 )) s with start-up), $(ls "$corpus" | wc -l) corpus entries, no crash"
done
# scan_project's project folders (libFuzzer exits without running destructors).
rm -rf "${TMPDIR:-/tmp}"/pyslim-fuzz-scan-*
