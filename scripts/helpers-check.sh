#!/usr/bin/env bash
# Lints and tests pyslim's helper package (assets/helpers/pyslim_helpers: the programs a
# generated Dockerfile runs): ruff (check and format) and pytest, with the settings of
# assets/helpers/pyproject.toml.
#
# ruff and pytest come from PyPI into their own virtualenv (no system Python is touched),
# made once and reused: ${PYSLIM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pyslim/tools}/pyhelpers.
# Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/../assets/helpers"

TOOLS=${PYSLIM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pyslim/tools}
VENV=$TOOLS/pyhelpers
if ! { [ -x "$VENV/bin/ruff" ] && [ -x "$VENV/bin/pytest" ]; }; then
  mkdir -p "$TOOLS"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "ruff>=0.6,<1" "pytest>=8,<10"
fi

"$VENV/bin/ruff" --version
"$VENV/bin/ruff" check --no-cache .
"$VENV/bin/ruff" format --no-cache --check .
# no __pycache__ or .pytest_cache left in the source tree
PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/pytest" -p no:cacheprovider "$@"
