#!/usr/bin/env bash
# Benchmark (not a test) of pyslim on the demo project, against the local Docker daemon and the
# offline stand-in images (scripts/fixture-images.sh; PYSLIM_IMAGE_MIRROR=pyslim-mirror).
#
# Prints:
#   1. each variant's size (pyslim compare --json, every image verified);
#   2. the floor: runtime base image + the installed dependency files without installers
#      (pip, setuptools, wheel) and caches (__pycache__, *.pyc) + the app, measured by copying
#      /opt/venv and /app out of pyslim's distroless image; and pyslim's overhead over it
#      (target: at most 5 %);
#   3. cold (--no-cache) and warm (after a source edit) build times of the distroless variant
#      (target: warm at most 10 % of cold);
#   2b. the minimal variant: size, ratio to naive and to distroless, start time (seconds to the
#      first HTTP answer when verified) beside distroless's, what it kept and dropped
#      (goals: <= 30 MB and >= 21x smaller than naive; measured 2026-11-30 with
#      BENCH_ONLY=minimal BENCH_PROFILE=release: 29.4 MB, 36.7x naive's 1080.5 MB, 47 % of
#      distroless's 63.1 MB);
#   5. minimal vs distroless on a FastAPI app pinned to fastapi[standard]==0.111.0
#      (goal: minimal <= 45 MB; measured 2026-11-30: 36.6 MB against distroless 77.5 MB),
#      traced on /, /docs and /openapi.json;
#   4. pyslim's peak memory (/usr/bin/time -v) while building with a 1 GB file in the project,
#      once excluded by .dockerignore (.venv/) and once included (data/, copied into the
#      image): the context is streamed, so memory must not grow with it (target: < 50 MB).
#
# Usage: scripts/bench.sh            (debug binary; BENCH_PROFILE=release for a release build)
#        BENCH_ONLY=minimal scripts/bench.sh   sections 2b and 5 only (section 1 builds just the
#                                              naive, distroless and minimal variants they compare)
# Everything it creates (images tagged pyslim-bench/*, temp folders) is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

export PYSLIM_IMAGE_MIRROR=${PYSLIM_IMAGE_MIRROR:-pyslim-mirror}
PROFILE=${BENCH_PROFILE:-debug}
ONLY=${BENCH_ONLY:-}
case "$ONLY" in '' | minimal) ;; *) echo "error: BENCH_ONLY is empty or minimal, not $ONLY" >&2; exit 1 ;; esac
RUNTIME_BASE="$PYSLIM_IMAGE_MIRROR/distroless/python3-debian13:nonroot"

step() { printf '\n== %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

docker info >/dev/null 2>&1 || { echo "error: no Docker daemon answers" >&2; exit 1; }
scripts/fixture-images.sh >/dev/null

step "building pyslim ($PROFILE)"
if [ "$PROFILE" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
BIN=$PWD/target/$PROFILE/pyslim

WORK=$(mktemp -d /tmp/pyslim-bench.XXXXXX)
PROJ=$WORK/demo-service
TAGS=()
cleanup() {
  for t in "${TAGS[@]}"; do docker rmi -f "$t" >/dev/null 2>&1 || true; done
  [ -n "${CID:-}" ] && docker rm -f "$CID" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cp -r assets/demo "$PROJ"

# ---------------------------------------------------------------------------------------------
step "1. sizes: pyslim compare (builds and verifies every variant)"
# Exit code 2 = some variant failed to build or start: reported below, the rest still measured.
rc=0
VARIANTS=()
[ "$ONLY" != minimal ] || VARIANTS=(--variants naive,distroless,minimal)
"$BIN" compare "$PROJ" "${VARIANTS[@]}" --json >"$WORK/compare.json" 2>"$WORK/compare.log" || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
  tail -40 "$WORK/compare.log" >&2
  exit 1
fi
for v in $(jq -r '.variants[].name' "$WORK/compare.json"); do TAGS+=("pyslim/demo-service:$v"); done
jq -r '.variants[] | [.name, .size_bytes, (.layers | length), .build_seconds, .verified] | @tsv' "$WORK/compare.json" |
  while IFS=$'\t' read -r name size layers secs ok; do
    printf '%-16s %10s  %2s layers  build %6.1fs  verified %s\n' "$name" "$(mb "$size")" "$layers" "$secs" "$ok"
  done
jq -r '.skipped[]? | "\(.name): NOT built: \(.reason | split("\n")[0] | .[0:300])"' "$WORK/compare.json"

# ---------------------------------------------------------------------------------------------
if [ "$ONLY" != minimal ]; then
step "2. floor and overhead of the distroless image"
DL_TAG=pyslim/demo-service:distroless
DL_SIZE=$(docker image inspect -f '{{.Size}}' "$DL_TAG")
BASE_SIZE=$(docker image inspect -f '{{.Size}}' "$RUNTIME_BASE")
CID=$(docker create "$DL_TAG")
docker cp -q "$CID:/opt/venv" "$WORK/venv" 2>/dev/null || docker cp "$CID:/opt/venv" "$WORK/venv" >/dev/null
docker cp -q "$CID:/app" "$WORK/app" 2>/dev/null || docker cp "$CID:/app" "$WORK/app" >/dev/null
docker rm -f "$CID" >/dev/null
CID=
VENV_ALL=$(du -sb "$WORK/venv" | cut -f1)
# What is not needed to run: installers and bytecode caches.
find "$WORK/venv" -depth \( -name __pycache__ -o -name '*.pyc' \
  -o -path '*/site-packages/pip' -o -path '*/site-packages/pip-*' \
  -o -path '*/site-packages/setuptools' -o -path '*/site-packages/setuptools-*' \
  -o -path '*/site-packages/wheel' -o -path '*/site-packages/wheel-*' \
  -o -path '*/site-packages/_distutils_hack' -o -name 'distutils-precedence.pth' \) -exec rm -rf {} +
VENV_NEEDED=$(du -sb "$WORK/venv" | cut -f1)
APP=$(du -sb "$WORK/app" | cut -f1)
FLOOR=$((BASE_SIZE + VENV_NEEDED + APP))
printf 'runtime base      %10s  (%s)\n' "$(mb "$BASE_SIZE")" "$RUNTIME_BASE"
printf 'dependencies      %10s  (venv as shipped: %s)\n' "$(mb "$VENV_NEEDED")" "$(mb "$VENV_ALL")"
printf 'app               %10s\n' "$(mb "$APP")"
printf 'floor             %10s\n' "$(mb "$FLOOR")"
printf 'pyslim distroless %10s\n' "$(mb "$DL_SIZE")"
awk -v s="$DL_SIZE" -v f="$FLOOR" 'BEGIN { o = (s - f) / f * 100; printf "overhead over the floor: %.2f %% (target <= 5 %%): %s\n", o, (o <= 5 ? "met" : "NOT met") }'
fi

# ---------------------------------------------------------------------------------------------
step "2b. the minimal variant (FROM scratch, assembled from the service's trace)"
size_of() { jq -r --arg v "$2" '.variants[] | select(.name == $v) | .size_bytes' "$1"; }
start_of() { jq -r --arg v "$2" '.variants[] | select(.name == $v) | .verify_detail // "" | capture("after (?<s>[0-9.]+)s").s // "-"' "$1"; }
minimal_figures() { # compare.json, label
  local naive dl min
  naive=$(size_of "$1" naive)
  dl=$(size_of "$1" distroless)
  min=$(size_of "$1" minimal)
  [ -n "$min" ] || { echo "minimal: not built (see the compare log)"; return; }
  printf '%s minimal %s, distroless %s%s
' "$2" "$(mb "$min")" "$(mb "$dl")" \
    "${naive:+, naive $(mb "$naive")}"
  [ -z "$naive" ] || awk -v n="$naive" -v m="$min" 'BEGIN { printf "  %.1fx smaller than naive\n", n / m }'
  awk -v d="$dl" -v m="$min" 'BEGIN { printf "  %.1fx smaller than distroless (%.0f %% of it)\n", d / m, m / d * 100 }'
  printf '  start (first HTTP answer): minimal %s s, distroless %s s\n' "$(start_of "$1" minimal)" "$(start_of "$1" distroless)"
  jq -r '.variants[] | select(.name == "minimal") | .minimal |
    "  kept: stdlib \(.stdlib.kept.files) files (\(.stdlib.kept.bytes / 1e6 | . * 10 | round / 10) MB), dropped \(.stdlib.dropped.files) (\(.stdlib.dropped.bytes / 1e6 | . * 10 | round / 10) MB); venv kept \(.venv.kept.files) (\(.venv.kept.bytes / 1e6 | . * 10 | round / 10) MB), dropped \(.venv.dropped.files); system \(.system.files) files (\(.system.bytes / 1e6 | . * 10 | round / 10) MB); stripped \(.stripped_bytes / 1e6 | . * 10 | round / 10) MB"' "$1"
}
minimal_figures "$WORK/compare.json" demo:
MIN=$(size_of "$WORK/compare.json" minimal)
NAIVE=$(size_of "$WORK/compare.json" naive)
[ -z "$MIN" ] || awk -v m="$MIN" -v n="$NAIVE" 'BEGIN { printf "goal <= 30 MB and >= 21x: %s\n", (m <= 30e6 && n / m >= 21 ? "met" : "NOT met") }'

# ---------------------------------------------------------------------------------------------
if [ "$ONLY" != minimal ]; then
step "3. cold and warm build of the distroless variant"
TAG=pyslim-bench/demo:distroless
TAGS+=("$TAG")
t0=$(now)
"$BIN" build "$PROJ" --variant distroless --tag "$TAG" --no-cache >/dev/null 2>"$WORK/cold.log" || { tail -30 "$WORK/cold.log" >&2; exit 1; }
t1=$(now)
printf '\n# bench edit %s\n' "$(date +%s%N)" >>"$PROJ/src/app.py"
"$BIN" build "$PROJ" --variant distroless --tag "$TAG" >/dev/null 2>"$WORK/warm.log" || { tail -30 "$WORK/warm.log" >&2; exit 1; }
t2=$(now)
awk -v c="$(elapsed "$t0" "$t1")" -v w="$(elapsed "$t1" "$t2")" 'BEGIN {
  r = w / c * 100
  printf "cold build (--no-cache; pip download cache mount kept): %.1f s\n", c
  printf "warm build (after a source edit):                      %.1f s = %.1f %% of cold (target <= 10 %%): %s\n", w, r, (r <= 10 ? "met" : "NOT met")
}'
grep -c 'CACHED' "$WORK/warm.log" | xargs printf 'warm build: %s steps from the cache\n'

# ---------------------------------------------------------------------------------------------
step "4. peak memory of pyslim build with a 1 GB file in the project"
rss() { grep 'Maximum resident set size' "$1" | awk '{ printf "%.1f MB", $NF / 1024 }'; }
/usr/bin/time -v "$BIN" build "$PROJ" --variant distroless --tag "$TAG" >/dev/null 2>"$WORK/mem0.log"
printf 'no large file:                     peak RSS %s\n' "$(rss "$WORK/mem0.log")"
mkdir -p "$PROJ/.venv"
head -c 1G /dev/urandom >"$PROJ/.venv/big.bin"
/usr/bin/time -v "$BIN" build "$PROJ" --variant distroless --tag "$TAG" >/dev/null 2>"$WORK/mem1.log"
printf '1 GB excluded by .dockerignore:    peak RSS %s\n' "$(rss "$WORK/mem1.log")"
mkdir -p "$PROJ/data"
mv "$PROJ/.venv/big.bin" "$PROJ/data/big.bin"
t0=$(now)
/usr/bin/time -v "$BIN" build "$PROJ" --variant distroless --tag "$TAG" >/dev/null 2>"$WORK/mem2.log"
t1=$(now)
printf '1 GB included (streamed, in image): peak RSS %s  (build %.1f s, image %s)\n' "$(rss "$WORK/mem2.log")" \
  "$(elapsed "$t0" "$t1")" "$(mb "$(docker image inspect -f '{{.Size}}' "$TAG")")"
rm -rf "$PROJ/data" "$PROJ/.venv"
fi

# ---------------------------------------------------------------------------------------------
step "5. minimal vs distroless: FastAPI app on fastapi[standard]==0.111.0"
FA=$WORK/fastapi-standard
mkdir -p "$FA"
printf 'fastapi[standard]==0.111.0\n' >"$FA/requirements.txt"
printf '3.13\n' >"$FA/.python-version"
cat >"$FA/main.py" <<'PY'
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def root() -> dict:
    return {"ok": True}
PY
printf '[minimal]\ntrace_paths = ["/docs", "/openapi.json"]\n' >"$FA/pyslim.toml"
rc=0
"$BIN" compare "$FA" --variants distroless,minimal --json >"$WORK/fastapi.json" 2>"$WORK/fastapi.log" || rc=$?
for v in $(jq -r '.variants[].name' "$WORK/fastapi.json" 2>/dev/null); do TAGS+=("pyslim/fastapi-standard:$v"); done
if [ "$rc" -ne 0 ]; then tail -20 "$WORK/fastapi.log" >&2; fi
minimal_figures "$WORK/fastapi.json" fastapi[standard]==0.111.0:
FMIN=$(size_of "$WORK/fastapi.json" minimal)
[ -z "$FMIN" ] || awk -v m="$FMIN" 'BEGIN { printf "goal <= 45 MB: %s\n", (m <= 45e6 ? "met" : "NOT met") }'
