#!/usr/bin/env bash
# The real-services scoreboard: what a new user gets from `pyslim build DIR --verify --json`
# with no flags, on public services pyslim was never tuned to.
#
# Usage: scripts/real-services.sh [--markdown] [--from DIR] [NAME|FOLDER...]
#   NAME...     services of scripts/real-services.toml to measure (default: every one)
#   FOLDER...   or any project folders, measured the same way
#   --from DIR  take the services from DIR, a folder that holds them by name (a copy of each at its
#               commit), instead of cloning them; also REAL_SERVICES_FROM=DIR
#   --markdown  print the scoreboard as a Markdown table (for docs/benchmarks.md) instead of text
#
# The services are listed in scripts/real-services.toml by repository, commit and subfolder. Without
# --from, each is cloned at its commit (git, depth 1) into REAL_SERVICES_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/pyslim/real-services), once; the script says which source it used.
#
# Each service is copied to a temporary folder (the source stays untouched), built and verified
# with its recommended variant, and the image removed afterwards. A row says: verified, built but
# did not start, or failed, with pyslim's own one-line cause and the image size.
#
# A service that needs something outside the image (a database URL, a required variable) is then
# built once more with the flags a user would supply, read from scripts/real-services.flags
# (`service flags...` per line), and the row says how far that got.
#
# Base images come through the image mirror (default: the local stand-ins of
# scripts/fixture-images.sh). Not every version has a stand-in (3.9, 3.10 and 3.12 come from
# opt-in suites, bullseye and Ubuntu jammy and noble; the python:X-slim images present in the
# daemon count): when the Python pyslim picks has no stand-in, the service is measured with
# `--python` set to the nearest stand-in that its pins allow (the scan's `python.bound`), else the
# nearest one, at most two tries, and the row says so.
#
# Environment:
#   PYSLIM_BIN            the pyslim binary (default: target/release/pyslim, built if missing)
#   PYSLIM_IMAGE_MIRROR   image mirror (default pyslim-mirror)
#   REAL_SERVICES_FROM    as --from
#   REAL_SERVICES_CACHE   where clones are kept (see above)
#   REAL_SERVICES_MANIFEST  another manifest of the same form
#   SCOREBOARD_TIMEOUT    seconds one service may take (default 1200)
#   SCOREBOARD_LOGS       folder for each service's stderr and JSON (default: a temp folder)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
MANIFEST=${REAL_SERVICES_MANIFEST:-$REPO/scripts/real-services.toml}

MARKDOWN=0
FROM=${REAL_SERVICES_FROM:-}
CACHE=${REAL_SERVICES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pyslim/real-services}
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --markdown) MARKDOWN=1 ;;
    --from) [ $# -ge 2 ] || { echo "real-services: --from needs a folder" >&2; exit 2; }; FROM=$2; shift ;;
    --from=*) FROM=${1#--from=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "real-services: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) args+=("$1") ;;
  esac
  shift
done

# The manifest as "name<TAB>repository<TAB>commit<TAB>subfolder" lines.
manifest() {
  python3 - "$MANIFEST" <<'EOF0'
import re, sys
text = open(sys.argv[1]).read()
try:
    import tomllib
    services = tomllib.loads(text).get("service", [])
except ModuleNotFoundError:  # Python < 3.11: the manifest's simple `key = "value"` tables
    services = []
    for block in text.split("[[service]]")[1:]:
        services.append(dict(re.findall(r'^(\w+) = "([^"]*)"', block, re.M)))
for s in services:
    print("\t".join([s["name"], s["repository"], s["commit"], s.get("subfolder", "")]))
EOF0
}

# fetch NAME REPOSITORY COMMIT SUBFOLDER -> the service's folder in the clone cache (cloned once).
fetch() {
  local name=$1 url=$2 commit=$3 sub=$4
  local dest=$CACHE/$name-${commit:0:12}
  if [ ! -e "$dest/.pyslim-fetched" ]; then
    rm -rf "$dest" "$dest.tmp"
    mkdir -p "$dest.tmp"
    echo "==> cloning $name: $url at ${commit:0:12}" >&2
    if ! { git -C "$dest.tmp" init -q &&
      timeout 300 git -C "$dest.tmp" fetch -q --depth 1 "$url" "$commit" &&
      git -C "$dest.tmp" checkout -q FETCH_HEAD; } >&2; then
      rm -rf "$dest.tmp"
      echo "real-services: cannot clone $url at $commit (no network to it?); pass --from DIR, a folder that holds the services by name" >&2
      return 1
    fi
    rm -rf "$dest.tmp/.git"
    mv "$dest.tmp" "$dest"
    touch "$dest/.pyslim-fetched"
  fi
  echo "$dest${sub:+/$sub}"
}

declare -A known=()
order=()
while IFS=$'\t' read -r name url commit sub; do known[$name]="$url"$'\t'"$commit"$'\t'"$sub"; order+=("$name"); done < <(manifest)
[ ${#args[@]} -gt 0 ] || args=("${order[@]}")

dirs=()
names=()
cloned=0
for arg in "${args[@]}"; do
  if [ -z "${known[$arg]+x}" ]; then
    [ -d "$arg" ] || { echo "real-services: $arg is neither a service of $MANIFEST nor a folder" >&2; exit 2; }
    dirs+=("${arg%/}")
    names+=("$(basename "${arg%/}")")
  elif [ -n "$FROM" ]; then
    [ -d "$FROM/$arg" ] || { echo "real-services: $FROM holds no $arg (see $MANIFEST)" >&2; exit 2; }
    dirs+=("$(cd "$FROM/$arg" && pwd)")
    names+=("$arg")
  else
    IFS=$'\t' read -r url commit sub <<<"${known[$arg]}"
    dir=$(fetch "$arg" "$url" "$commit" "$sub") || exit 2
    [ -d "$dir" ] || { echo "real-services: $url at $commit has no folder ${sub:-.}" >&2; exit 2; }
    dirs+=("$dir")
    names+=("$arg")
    cloned=$((cloned + 1))
  fi
done
if [ -n "$FROM" ]; then
  echo "==> services taken from $FROM (a folder that holds them by name)" >&2
elif [ "$cloned" -gt 0 ]; then
  echo "==> services cloned at their commits (from $MANIFEST) into $CACHE" >&2
fi

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
for i in "${!dirs[@]}"; do
  dir=${dirs[$i]}
  name=${names[$i]}
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
