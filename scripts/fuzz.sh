#!/usr/bin/env bash
# A bounded fuzz session over every parser the scan runs and the renderer behind it
# (tests/fuzz.rs: mutations of realistic files plus raw junk). Property: never a panic.
# Usage: scripts/fuzz.sh [CASES] (default 5000). A failure prints the minimal input; add it to
# `regressions()` in tests/fuzz.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
CASES=${1:-5000}
start=$(date +%s)
PROPTEST_CASES=$CASES cargo test --release --test fuzz -- --nocapture
echo "fuzz: $CASES cases per property in $(( $(date +%s) - start )) s, no panic"
