#!/usr/bin/env bash
# Scale benchmark (issue 5): builds a synthetic tree of ~200 000 files around a real service
# (a .venv, node_modules and a data folder, all of which a scan must never walk) and prints
# `pyslim scan` time and peak memory beside `find . -type f | wc -l` on the same tree.
# Target: scan at most a fifth of the time of that find. Prints figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200000}
ROOT=${BENCH_DIR:-/tmp/pyslim-bench-scan}
command -v bc >/dev/null && [ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq bc time >/dev/null; }
if [ -z "${PYSLIM_BIN:-}" ]; then
  cargo build --release --quiet
  PYSLIM_BIN=$PWD/target/release/pyslim
fi
BIN=$PYSLIM_BIN

if [ ! -f "$ROOT/.complete-$N" ]; then
  rm -rf "$ROOT"; mkdir -p "$ROOT"
  cp -r assets/demo/. "$ROOT/"
  python3 - "$ROOT" "$N" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
# 40% venv, 40% node_modules, 20% data: the shape of a real checkout with local envs.
parts = [(".venv/lib/python3.13/site-packages", 0.4, ".py"), ("node_modules", 0.4, ".js"), ("data/raw", 0.2, ".csv")]
for base, share, ext in parts:
    count = int(n * share)
    for i in range(count):
        d = os.path.join(root, base, f"pkg{i // 500}")
        if i % 500 == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i}{ext}"), "w") as f:
            f.write("x = 1\n")
PY
  printf '.venv/\nnode_modules/\n' > "$ROOT/.gitignore"
  touch "$ROOT/.complete-$N"
fi

sync
t0=$(date +%s.%N); files=$(cd "$ROOT" && find . -type f | wc -l); t1=$(date +%s.%N)
find_s=$(echo "$t1 - $t0" | bc)
printf 'tree: %s files under %s\n' "$files" "$ROOT"
printf 'find . -type f | wc -l : %6.3f s\n' "$find_s"

# 1. The usual set-up: the data folder is git- and docker-ignored, like the venv and node_modules.
# 2. The data folder is in neither ignore file: its 40 000 files are walked (and checked for
#    secrets, since they would enter the build context).
for case in ignored walked; do
  if [ "$case" = ignored ]; then
    printf '.venv/\nnode_modules/\ndata/\n' > "$ROOT/.gitignore"
    printf '.venv\nnode_modules\ndata\n' > "$ROOT/.dockerignore"
  else
    printf '.venv/\nnode_modules/\n' > "$ROOT/.gitignore"
    printf '.venv\nnode_modules\n' > "$ROOT/.dockerignore"
  fi
  /usr/bin/time -f '%e %M' -o /tmp/pyslim-bench-time "$BIN" scan --json "$ROOT" >/tmp/pyslim-bench-scan.json
  read -r scan_s scan_kb < /tmp/pyslim-bench-time
  printf 'pyslim scan (data %-7s %6.3f s, peak RSS %6d KB, scan/find %5.2f (target <= 0.20 when ignored)\n' \
    "$case)" "$scan_s" "$scan_kb" "$(echo "$scan_s / $find_s" | bc -l)"
done
