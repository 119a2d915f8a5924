#!/usr/bin/env bash
# The main job on the embedded demo project: builds the local stand-in base images if needed
# (no registry is reachable here), then runs the pyslim wizard on the demo through the image
# mirror. Pass other pyslim arguments to run something else, e.g. `scripts/demo.sh compare --demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fixture-images.sh >&2
export PYSLIM_IMAGE_MIRROR="${PYSLIM_IMAGE_MIRROR:-pyslim-mirror}"
cargo build --release --quiet
if [ $# -eq 0 ]; then set -- tui --demo; fi
exec target/release/pyslim "$@"
