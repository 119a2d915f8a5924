#!/usr/bin/env bash
# Benchmark (not a test): the time the services beside an app add to verifying one variant, on a
# warm machine (images built and cached, stand-ins present: scripts/fixture-services.sh), for the
# fixture apps that need Postgres, Redis and MySQL at start (tests/fixtures/sidecar-*).
#
# For each, it builds the multistage-slim variant once (warm-up), then verifies it RUNS times and
# prints, per run, what `pyslim build --verify --json` reports: `services_seconds` (creating the
# network, starting the services, waiting for each to answer, removing them afterwards), each
# service's `ready_seconds`, and the whole run's wall time. Wanted: at most 15 s per variant.
# After each run it counts the containers, networks and volumes left with pyslim's sidecar label
# (must be 0).
#
# Usage: scripts/bench-sidecars.sh         (debug binary; BENCH_PROFILE=release for a release build)
#        RUNS=5 scripts/bench-sidecars.sh
# Everything it creates (images tagged pyslim-bench/sidecars-*, temp folders) is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

export PYSLIM_IMAGE_MIRROR=${PYSLIM_IMAGE_MIRROR:-pyslim-mirror}
PROFILE=${BENCH_PROFILE:-debug}
RUNS=${RUNS:-3}
if [ "$PROFILE" = release ]; then
  cargo build -q --release
  BIN=target/release/pyslim
else
  cargo build -q
  BIN=target/debug/pyslim
fi
TMP=$(mktemp -d)
TAGS=()
cleanup() {
  rm -rf "$TMP"
  for t in "${TAGS[@]}"; do docker rmi "$t" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

left() {
  local n=0 what
  for what in "ps -a" "network ls" "volume ls"; do
    # shellcheck disable=SC2086
    n=$((n + $(docker $what -q --filter label=org.pyslim.sidecar | wc -l)))
  done
  echo "$n"
}

# One table row from a run's JSON.
ROW='
import json, sys
path, fixture, service, run, start, end, left = sys.argv[1:]
r = json.load(open(path))
ready = ", ".join("%s %.1f" % (s["name"], s.get("ready_seconds", float("nan"))) for s in r.get("services", []))
ok = "" if r.get("verified") else "  NOT VERIFIED"
print("%-17s %-22s %4s %9.1fs %-28s %8.1f %5s%s" % (fixture, service, run, r.get("services_seconds", float("nan")),
      ready, float(end) - float(start), left, ok))
'

printf '%-17s %-22s %4s %10s %-28s %8s %5s\n' fixture service run "services" "ready (s)" "wall (s)" left
for spec in "sidecar-postgres postgres:16" "sidecar-redis redis:7" "sidecar-mysql db=mysql:8"; do
  read -r fixture service <<<"$spec"
  cp -r "tests/fixtures/$fixture" "$TMP/"
  tag="pyslim-bench/sidecars-$fixture:multistage-slim"
  TAGS+=("$tag")
  args=(build --variant multistage-slim --verify --json --tag "$tag" --service "$service" "$TMP/$fixture")
  "$BIN" "${args[@]}" >/dev/null 2>&1 || { echo "warm-up of $fixture failed" >&2; "$BIN" "${args[@]}" >&2 || true; exit 1; }
  for run in $(seq 1 "$RUNS"); do
    start=$(date +%s.%N)
    json=$("$BIN" "${args[@]}" 2>/dev/null)
    end=$(date +%s.%N)
    printf '%s' "$json" >"$TMP/run.json"
    python3 -c "$ROW" "$TMP/run.json" "$fixture" "$service" "$run" "$start" "$end" "$(left)"
  done
done
