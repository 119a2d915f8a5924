#!/usr/bin/env bash
# The main job on the embedded demo project, offline: builds the local stand-in base images the
# demo needs (no registry is reachable), builds pyslim, then runs the wizard on the demo through
# the image mirror. Pass other pyslim arguments to run something else, e.g.
# `scripts/demo.sh compare --demo`. Each phase prints how long it took; the stand-ins and the
# build of pyslim run at the same time.
#
# Linux only: the stand-ins are made with mmdebstrap and chroot (as root; scripts/fixture-images.sh
# installs mmdebstrap with apt when it is missing).
#
# Environment:
#   PYSLIM_DEMO_PROFILE   cargo profile of the pyslim it builds (default `demo`: release-like code
#                         without LTO, quick to build; `release` for the optimised binary)
#   PYSLIM_DEMO_SUITES    stand-in suites built first (default `trixie`: python:3.13, its -slim
#                         and distroless/python3-debian13, what the demo uses); the other Pythons'
#                         stand-ins are built on demand with `scripts/fixture-images.sh`
#   PYSLIM_IMAGE_MIRROR   image mirror (default: the stand-ins' namespace, pyslim-mirror)
set -euo pipefail
cd "$(dirname "$0")/.."

START=$SECONDS
phase() { printf '==> %s (%ds)\n' "$1" "$((SECONDS - $2))" >&2; }

[ "$(uname -s)" = Linux ] ||
  { echo "scripts/demo.sh builds its stand-in images with mmdebstrap, which needs Linux; elsewhere install pyslim (see README) and run \`pyslim tui --demo\` against Docker Hub" >&2; exit 1; }

# The two first-run phases overlap: the stand-ins mostly wait on the package mirror and the disk,
# the build of pyslim on the CPU.
PROFILE=${PYSLIM_DEMO_PROFILE:-demo}
case $PROFILE in dev) dir=debug ;; *) dir=$PROFILE ;; esac
( t=$SECONDS; cargo build --profile "$PROFILE" --bin pyslim --quiet; phase "pyslim built (cargo profile $PROFILE)" "$t" ) &
build=$!
trap 'pkill -P "$build" 2>/dev/null; kill "$build" 2>/dev/null || true' EXIT

t=$SECONDS
scripts/fixture-images.sh ${PYSLIM_DEMO_SUITES:-trixie} >&2
phase "stand-in base images ready" "$t"
export PYSLIM_IMAGE_MIRROR="${PYSLIM_IMAGE_MIRROR:-${PYSLIM_FIXTURE_NAMESPACE:-pyslim-mirror}}"
wait "$build"
trap - EXIT
phase "ready to run" "$START"

if [ $# -eq 0 ]; then set -- tui --demo; fi
t=$SECONDS
set +e
"target/$dir/pyslim" "$@"
rc=$?
set -e
phase "pyslim $* finished with exit code $rc" "$t"
phase "total" "$START"
if [ -z "${PYSLIM_DEMO_SUITES:-}" ]; then
  echo "==> stand-ins for the other Pythons (3.11, 3.14, 3.15): scripts/fixture-images.sh" >&2
fi
exit "$rc"
