#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
# Installs what the tests need from this repository's own files, then runs format, lint and
# every test (unit, snapshot, real-binary, real-Docker, tmux end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
# tests/daemons.rs runs the demo through Podman's Docker-compatible API.
command -v podman >/dev/null 2>&1 || need_apt+=(podman)
# tests/remote.rs reaches a daemon in a network namespace through sshd.
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v nsenter >/dev/null 2>&1 || need_apt+=(util-linux)
# tests/registry.rs runs a real registry (distribution 2.8) with htpasswd (bcrypt) auth.
command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || need_apt+=(apache2-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "apt-get install ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

step "Docker stand-in base images (scripts/fixture-images.sh)"
docker info >/dev/null 2>&1 || { echo "error: no Docker daemon answers; the suite needs one" >&2; exit 1; }
scripts/fixture-images.sh

step "hadolint (scripts/hadolint.sh)"
HADOLINT=$(scripts/hadolint.sh)
export HADOLINT

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

step "cargo test"
cargo test --all-targets --no-fail-fast -- "$@"
