#!/usr/bin/env bash
# The real-services scoreboard: what a new user gets from `pyslim build DIR --verify --json`
# with no flags, on public services pyslim was never tuned to.
#
# Usage: scripts/real-services.sh [--markdown] [DIR...]
#   DIR...      service folders (default: every folder of ../shared/real-services/)
#   --markdown  print the scoreboard as a Markdown table (for the README) instead of text
#
# Each service is copied to a temporary folder (the corpus stays untouched), built and verified
# with its recommended variant, and the image removed afterwards. A row says: verified, built but
# did not start, or failed, with pyslim's own one-line cause and the image size.
#
# A service that needs something outside the image (a database URL, a required variable) is then
# built once more with the flags a user would supply, read from scripts/real-services.flags
# (`service flags...` per line), and the row says how far that got.
#
# No registry is reachable here, so base images come from the local stand-ins
# (scripts/fixture-images.sh) through the image mirror. Not every version has a stand-in (3.9 and
# 3.12 come from opt-in suites, bullseye and Ubuntu noble; the python:X-slim images present in the
# daemon count): when the Python pyslim picks has no stand-in, the service is measured
# with `--python` set to the nearest stand-in that its pins allow (the scan's `python.bound`),
# else the nearest one, at most two tries, and the row says so.
#
# Environment:
#   PYSLIM_BIN            the pyslim binary (default: target/release/pyslim, built if missing)
#   PYSLIM_IMAGE_MIRROR   image mirror (default pyslim-mirror)
#   SCOREBOARD_TIMEOUT    seconds one service may take (default 1200)
#   SCOREBOARD_LOGS       folder for each service's stderr and JSON (default: a temp folder)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

MARKDOWN=0
dirs=()
for arg in "$@"; do
  case $arg in
    --markdown) MARKDOWN=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "real-services: unknown option $arg (try --help)" >&2; exit 2 ;;
    *) dirs+=("$arg") ;;
  esac
done
if [ ${#dirs[@]} -eq 0 ]; then
  for d in "$REPO"/../shared/real-services/*/; do dirs+=("${d%/}"); done
fi
[ ${#dirs[@]} -gt 0 ] || { echo "real-services: no service folders (is ../shared/real-services there?)" >&2; exit 2; }

export PYSLIM_IMAGE_MIRROR=${PYSLIM_IMAGE_MIRROR:-pyslim-mirror}
TIMEOUT=${SCOREBOARD_TIMEOUT:-1200}
BIN=${PYSLIM_BIN:-$REPO/target/release/pyslim}
if [ -z "${PYSLIM_BIN:-}" ]; then
  echo "==> cargo build --release" >&2
  cargo build --release --quiet
fi
LOGS=${SCOREBOARD_LOGS:-$(mktemp -d /tmp/pyslim-scoreboard.XXXX)}
mkdir -p "$LOGS"
WORK=$(mktemp -d /tmp/pyslim-services.XXXX)
trap 'rm -rf "$WORK"' EXIT

# Python versions that have a slim stand-in in the local daemon, e.g. "3.11 3.13".
standins=$(docker images --format '{{.Repository}}:{{.Tag}}' |
  sed -n "s#^${PYSLIM_IMAGE_MIRROR}/python:\([0-9]*\.[0-9]*\)-slim\$#\1#p" | sort -t. -k2,2n -u | tr '\n' ' ')

# standins_by_preference 3.12 BOUND_JSON -> the stand-in versions, first those the scan's
# python.bound allows (in its wheels_for and allowed_by_range lists, when it has them), then the
# ones that meet one of the two, each group nearest first (the newer one on a tie).
standins_by_preference() {
  python3 - "$1" "$2" $standins <<'EOF2'
import json, sys
want = int(sys.argv[1].split(".")[1])
bound = json.loads(sys.argv[2] or "{}") or {}
have = sys.argv[3:]
def meets(v):
    return sum(v in bound[k] for k in ("wheels_for", "allowed_by_range") if k in bound) - \
        sum(1 for k in ("wheels_for", "allowed_by_range") if k in bound)
minor = lambda v: int(v.split(".")[1])
print(" ".join(sorted(have, key=lambda v: (-meets(v), abs(minor(v) - want), -minor(v)))))
EOF2
}

# rank JSON RC -> 0 verified, 1 built but did not start, 2 failed (lower got further).
rank() {
  python3 - "$1" "$2" <<'EOF3'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception:
    r = {}
r = r if isinstance(r, dict) else {}
print(0 if sys.argv[2] == "0" and r.get("verified") is True else 1 if r.get("size_bytes") else 2)
EOF3
}

rows=$WORK/rows.tsv
# row.py NAME CODE SECS JSON STDERR NOTE WITH_FLAGS -> one scoreboard row (NAME "-": a summary).
cat > "$WORK/row.py" <<'EOF'
import json, sys
name, code, secs, jpath, epath, note, with_flags = sys.argv[1:]
code = int(code)
try:
    result = json.load(open(jpath))
except Exception:
    result = None
stderr = [l.strip() for l in open(epath, errors="replace").read().splitlines() if l.strip()]
def last_error():
    for l in reversed(stderr):
        if l.startswith("error:"):
            return l[len("error:"):].strip()
    return stderr[-1] if stderr else "no output"
variant = size = cause = ""
if isinstance(result, dict):
    variant = result.get("name", "")
    if result.get("size_bytes"):
        size = f'{result["size_bytes"] / 1e6:.1f} MB'
    cause = result.get("error") or ""
    hint = result.get("hint") or ""
    if result.get("verified") is True and code == 0:
        status = "verified"
    elif result.get("size_bytes"):
        status = "built, did not start"
        cause = cause or result.get("verify_detail") or ""
    else:
        status = "failed"
    if hint and hint not in cause:
        cause = f"{cause} ({hint})" if cause else hint
else:
    status = "timed out" if code == 124 else "failed"
    cause = last_error()
if code == 130 or code == 124:
    status, cause = "timed out", f"no result within the time limit; {last_error()}"
cause = " ".join(cause.split())
if len(cause) > 220:
    cause = cause[:217] + "..."
if note:
    cause = f"{cause}; {note}" if cause else note
if name == "-":
    # Summary of the attempt with the flags a user supplies: "status: cause".
    print(f"{status}: {cause}" if cause and status != "verified" else status)
else:
    print("\t".join([name, status, variant, size, f"{secs}s", cause, with_flags]))
EOF
: > "$rows"
for dir in "${dirs[@]}"; do
  name=$(basename "$dir")
  copy=$WORK/$name
  cp -r "$dir" "$copy"
  log=$LOGS/$name
  note=""
  flags=()
  scan=$("$BIN" scan "$copy" --json 2>/dev/null || true)
  python=$(python3 -c 'import json,sys; f=json.loads(sys.argv[1] or "{}").get("python"); print(f["value"] if f else "")' "$scan" || true)
  bound=$(python3 -c 'import json,sys; f=json.loads(sys.argv[1] or "{}").get("python") or {}; print(json.dumps(f.get("bound") or {}))' "$scan" || true)
  tries=("")
  if [ -n "$python" ] && ! grep -qw -- "$python" <<<"$standins"; then
    # No stand-in for the chosen Python: the nearest ones, in turn, until one verifies (at most two).
    read -r -a near <<<"$(standins_by_preference "$python" "$bound")"
    tries=("${near[@]:0:2}")
  fi
  tag=pyslim-scoreboard/$name:latest
  start=$SECONDS
  tried=()
  best=""
  best_rank=9
  for v in "${tries[@]}"; do
    flags=()
    [ -n "$v" ] && flags=(--python "$v")
    echo "==> $name ${flags[*]:-}" >&2
    set +e
    timeout --signal=INT "$TIMEOUT" "$BIN" build "$copy" --verify --json --tag "$tag" ${flags[@]+"${flags[@]}"} \
      > "$log.try${#tried[@]}.json" 2> "$log.try${#tried[@]}.stderr"
    rc=$?
    set -e
    docker image rm -f "$tag" >/dev/null 2>&1 || true
    # The row shows the attempt that got furthest (verified, then built, then failed); on a tie
    # the first (the nearest stand-in).
    r=$(rank "$log.try${#tried[@]}.json" "$rc")
    if [ -z "$best" ] || [ "$r" -lt "$best_rank" ]; then best=${#tried[@]}; best_rank=$r; code=$rc; fi
    tried+=("$v")
    [ "$rc" = 0 ] && break
  done
  mv "$log.try$best.json" "$log.json"
  mv "$log.try$best.stderr" "$log.stderr"
  if [ -n "${tried[0]}" ]; then
    note="pyslim picks $python, which has no stand-in here: measured with --python ${tried[$best]}"
    others=()
    for i in "${!tried[@]}"; do [ "$i" != "$best" ] && others+=("${tried[$i]}"); done
    if [ ${#others[@]} -gt 0 ]; then
      if [ "$code" = 0 ]; then note="$note (--python ${others[*]} did not verify)"
      elif [ "$(rank "$log.try$((best == 0 ? 1 : 0)).json" 1)" = "$best_rank" ]; then
        note="$note (--python ${others[*]} got no further)"
      else note="$note (--python ${others[*]} got less far)"; fi
    fi
  fi
  # With the flags a user supplies (scripts/real-services.flags) when it did not verify bare.
  with_flags=""
  user_flags=$(awk -v n="$name" '$1 == n { $1 = ""; sub(/^ +/, ""); print }' "$REPO/scripts/real-services.flags")
  if [ "$best_rank" != 0 ] && [ -n "$user_flags" ]; then
    read -r -a uflags <<<"$user_flags"
    pflags=()
    [ -n "${tried[$best]}" ] && pflags=(--python "${tried[$best]}")
    echo "==> $name ${pflags[*]:-} ${uflags[*]}" >&2
    set +e
    timeout --signal=INT "$TIMEOUT" "$BIN" build "$copy" --verify --json --tag "$tag" ${pflags[@]+"${pflags[@]}"} "${uflags[@]}" \
      > "$log.flags.json" 2> "$log.flags.stderr"
    frc=$?
    set -e
    docker image rm -f "$tag" >/dev/null 2>&1 || true
    with_flags="\`$user_flags\`: $(python3 "$WORK/row.py" - "$frc" 0 "$log.flags.json" "$log.flags.stderr" "" "")"
  fi
  secs=$((SECONDS - start))
  python3 "$WORK/row.py" "$name" "$code" "$secs" "$log.json" "$log.stderr" "$note" "$with_flags" >> "$rows"
done

total=$(wc -l < "$rows")
verified=$(awk -F'\t' '$2 == "verified"' "$rows" | wc -l)
with_flags=$(awk -F'\t' '$2 != "verified" && $7 ~ /: verified$/' "$rows" | wc -l)
if [ "$MARKDOWN" = 1 ]; then
  echo "| service | result | variant | size | time | cause / note | with the flags a user supplies |"
  echo "|---|---|---|---:|---:|---|---|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$rows"
  echo
  echo "$verified of $total verified with no flags; $with_flags more with the flags a user supplies."
else
  awk -F'\t' '{ printf "%-16s %-22s %-16s %10s %6s  %s\n", $1, $2, $3, $4, $5, $6; if ($7 != "") printf "%-16s   with %s\n", "", $7 }' "$rows"
  echo "$verified of $total verified with no flags; $with_flags more with the flags a user supplies (logs: $LOGS)"
fi
