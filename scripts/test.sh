#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
# Installs what the tests need from this repository's own files, then runs format, lint and
# every test (unit, snapshot, real-binary, real-Docker, tmux end-to-end), and prints how long
# each phase took (apt, stand-ins, hadolint, fmt, clippy, compile, the unit tests, the
# integration tests, and each area of them), the slowest tests, and the total.
#
# Usage: scripts/test.sh [FILTER...]
#   With no argument, every test of tests/it runs as a process of its own, PYSLIM_TEST_JOBS at a
#   time (default: the number of CPUs), the longest first (as long as it took last time, kept in
#   target/suite-times.tsv); a failing test does not stop the others, and its output is printed
#   at the end; a failed test runs once more, alone, and one that then passes is listed as flaky
#   without failing the run.  With arguments, they are libtest filters for one run of every test target.
#
# Environment:
#   PYSLIM_TEST_JOBS   tests run at once (default: nproc)
#   CI                 set: a missing daemon, stand-in or tool fails the tests instead of skipping
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE_START=$SECONDS
TIMES=()   # "phase<TAB>seconds" in the order they ran
step() { printf '\n==> %s\n' "$*"; }
# phase NAME CMD...: runs CMD as one timed phase of the summary.
phase() {
  local name=$1 t0=$SECONDS rc=0
  shift
  step "$name"
  "$@" || rc=$?
  TIMES+=("$name	$((SECONDS - t0))")
  return "$rc"
}
summary() {
  local line
  step "times (seconds; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'), $(nproc) CPUs)"
  for line in "${TIMES[@]}"; do printf '  %-34s %6s\n' "${line%%	*}" "${line#*	}"; done
  printf '  %-34s %6s\n' total "$((SECONDS - SUITE_START))"
}
trap summary EXIT

# Snapshots never update silently: a mismatch or a missing snapshot fails (insta).
export INSTA_UPDATE=no

install_apt() {
  local need_apt=()
  command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
  # tests/it/daemons.rs runs the demo through Podman's Docker-compatible API.
  command -v podman >/dev/null 2>&1 || need_apt+=(podman)
  # tests/it/remote.rs reaches a daemon in a network namespace through sshd.
  [ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
  command -v nsenter >/dev/null 2>&1 || need_apt+=(util-linux)
  # tests/it/registry.rs runs a real registry (distribution 2.8) with htpasswd (bcrypt) auth.
  command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
  command -v htpasswd >/dev/null 2>&1 || need_apt+=(apache2-utils)
  # tests/it/install.rs builds the Python wheel (maturin from PyPI) and installs it into a fresh venv.
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
  if [ ${#need_apt[@]} -gt 0 ]; then
    echo "apt-get install ${need_apt[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "nothing to install"
  fi
}
phase "apt (test tools)" install_apt

standins() {
  docker info >/dev/null 2>&1 || { echo "error: no Docker daemon answers; the suite needs one" >&2; return 1; }
  scripts/fixture-images.sh
}
phase "stand-ins (scripts/fixture-images.sh)" standins

hadolint_path() { HADOLINT=$(scripts/hadolint.sh) && echo "$HADOLINT"; }
phase "hadolint (scripts/hadolint.sh)" hadolint_path
export HADOLINT

phase "helper package: ruff and pytest (scripts/helpers-check.sh)" scripts/helpers-check.sh

phase "cargo fmt --check" cargo fmt --check

phase "cargo clippy --all-targets --features docker" cargo clippy --all-targets --features docker --quiet -- -D warnings

# Every test target, built once (the lib's unit tests, the binary's, and tests/it).
phase "compile (cargo test --no-run)" cargo test --all-targets --features docker --no-run --quiet

if [ $# -gt 0 ]; then
  phase "cargo test -- $*" cargo test --all-targets --features docker --no-fail-fast -- "$@"
  exit
fi

phase "unit tests (src/)" cargo test --lib --bins --features docker --no-fail-fast --quiet

# The integration tests: every test of tests/it as a process of its own (`--exact NAME`),
# PYSLIM_TEST_JOBS at a time, the longest first (as long as it took last time; new tests first).
# (the artifact of the target named "it": the build also lists the pyslim binary the tests run)
IT=$(cargo test --test it --features docker --no-run --message-format=json 2>/dev/null |
  grep '"target":{[^}]*"name":"it"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n1)
[ -x "$IT" ] || { echo "error: no tests/it binary found" >&2; exit 1; }
TIMES_FILE=target/suite-times.tsv
mapfile -t TESTS < <("$IT" --list 2>/dev/null | sed -n 's/: test$//p' |
  awk -v times="$TIMES_FILE" 'BEGIN { while ((getline l < times) > 0) { split(l, f, "\t"); last[f[1]] = f[2] } }
    { print (($0 in last) ? last[$0] : 999999) "\t" $0 }' | sort -t$'\t' -k1,1gr -k2,2 | cut -f2)
[ ${#TESTS[@]} -gt 0 ] || { echo "error: $IT lists no test" >&2; exit 1; }
# The wheel test (install::) has maturin link target/debug/pyslim again, which the other tests
# run: it runs last, alone.
LAST=()
for i in "${!TESTS[@]}"; do
  case ${TESTS[$i]} in install::*) LAST+=("${TESTS[$i]}"); unset 'TESTS[i]' ;; esac
done
TESTS=("${TESTS[@]}")

LOGS=$(mktemp -d)
JOBS=${PYSLIM_TEST_JOBS:-$(nproc)}
run_one() { # test name: its output in $LOGS/NAME.log, "name<TAB>seconds<TAB>exit code" in NAME.done
  local name=$1 t0=$EPOCHREALTIME rc=0 secs
  "$IT" --exact "$name" --test-threads=1 >"$LOGS/$name.log" 2>&1 || rc=$?
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\n' "$name" "$secs" "$rc" >"$LOGS/$name.done"
  if [ "$rc" != 0 ]; then
    printf '    FAILED %s (%ss)\n' "$name" "$secs"
  elif awk -v s="$secs" 'BEGIN { exit !(s >= 30) }'; then
    printf '    %-70s %6ss\n' "$name" "$secs"
  fi
}
run_tests() {
  echo "$((${#TESTS[@]} + ${#LAST[@]})) tests of $IT, $JOBS at a time, then ${#LAST[@]} alone (tests that took 30 s or more are listed as they end)"
  for t in "${TESTS[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    run_one "$t" &
  done
  wait
  for t in "${LAST[@]}"; do run_one "$t"; done
}
phase "integration tests (tests/it)" run_tests

# Per area (the module before `::`): the seconds its tests took, added up (run two at a time,
# areas overlap, so these add up to about JOBS times the phase's time).
cat "$LOGS"/*.done | sort -t$'\t' -k2,2gr >"$LOGS/all.tsv"
cut -f1,2 "$LOGS/all.tsv" >"$TIMES_FILE"
while IFS=$'\t' read -r area secs n; do
  TIMES+=("  it $area ($n tests, test-seconds)	$secs")
done < <(awk -F'\t' '{ a = $1; sub(/::.*/, "::", a); s[a] += $2; n[a]++ }
  END { for (a in s) printf "%s\t%.0f\t%d\n", a, s[a], n[a] }' "$LOGS/all.tsv" | sort -t$'\t' -k2,2nr)
step "the 15 slowest tests (seconds)"
head -n 15 "$LOGS/all.tsv" | awk -F'\t' '{ printf "  %-70s %7s\n", $1, $2 }'
mapfile -t first < <(awk -F'\t' '$3 != 0 { print $1 }' "$LOGS/all.tsv")
# A test that failed beside another gets one more run, alone: what it printed the first time is
# shown either way, and one that passes alone is listed as flaky (the run still passes); one that
# fails again fails the suite.
failed=()
flaky=()
for t in "${first[@]}"; do
  step "FAILED: $t (its output)"
  cat "$LOGS/$t.log"
  step "again, alone: $t"
  if "$IT" --exact "$t" --test-threads=1 >"$LOGS/$t.again.log" 2>&1; then
    echo "passed alone: flaky beside other tests"
    flaky+=("$t")
  else
    cat "$LOGS/$t.again.log"
    failed+=("$t")
  fi
done
rm -rf "$LOGS"
if [ ${#flaky[@]} -gt 0 ]; then
  printf 'flaky (failed beside another test, passed alone): %s\n' "${flaky[*]}" >&2
fi
if [ ${#failed[@]} -gt 0 ]; then
  printf 'failed: %s\n' "${failed[*]}" >&2
  exit 1
fi
