#!/usr/bin/env bash
# Build local, offline stand-ins for the service images compose files start beside a Python app
# (postgres, redis, mysql, mariadb), from Debian packages: real servers that honour the
# official images' conventions (variables, ports, /docker-entrypoint-initdb.d, pg_isready,
# mysqladmin, redis-cli), so pyslim's sidecars and its tests run with no registry.
#
#   stand-in  Debian package            tagged as (PYSLIM_FIXTURE_NAMESPACE/...)
#   postgres  postgresql (trixie: 17)   postgres:10 ... postgres:18, minors, -alpine, latest
#   redis     redis-server (trixie: 8)  redis:6 ... redis:8, minors, -alpine, latest
#   mariadb   mariadb-server (11.8)     mariadb:*, mysql:5.7/8/latest, mysql/mysql-server:*
#
# One server version stands behind every tag of a kind (Debian ships one per suite): a compose
# file that names postgres:10.3 gets PostgreSQL 17. `--list` says which version stands behind
# each tag. The tag lists are data below (TAGS_*).
#
# Each kind is a `docker build` (classic builder) of scripts/fixture-services/KIND.Dockerfile on
# the trixie slim stand-in (PYSLIM_FIXTURE_NAMESPACE/python:3.13-slim, built by
# scripts/fixture-images.sh, which calls this script), with an entrypoint of its own beside it.
#
# Idempotent: every image carries the label org.pyslim.fixture.version, a hash of its recipe
# (Dockerfile, entrypoint, this script's tag lists and the base image's id); a current image is
# left alone and only missing tags are added.
#
# Usage: scripts/fixture-services.sh [--force] [--check] [--list]
#   --force   rebuild every stand-in
#   --check   only report whether all images and tags exist and are current (exit 1 if not)
#   --list    print "image stand-in-for server-version kind" lines (no build; the version is
#             read from the built image, "unbuilt" when there is none)
#
# Environment:
#   PYSLIM_FIXTURE_NAMESPACE  image namespace (default pyslim-mirror)
#   PYSLIM_SERVICE_KINDS      kinds to build (default "postgres redis mariadb")
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS=${PYSLIM_FIXTURE_NAMESPACE:-pyslim-mirror}
NS=${NS%/}
KINDS=${PYSLIM_SERVICE_KINDS:-postgres redis mariadb}
BASE=$NS/python:3.13-slim
LABEL_KEY=org.pyslim.fixture.version
VERSION_KEY=org.pyslim.fixture.server-version

# Tags real compose files use, per public repository (the stand-in answers to all of them).
pg_tags() {
  local m
  for m in 10 11 12 13 14 15 16 17 18; do
    echo "$m $m-alpine $m-bookworm $m-bullseye $m-trixie"
  done
  echo "10.3 10.5 11.5 12.0 12.2 13.1 13.3 14.1 14.5 15.1 15.3 15.4 16.1 16.2 16.3 16.4 17.0 17.2 17.4 17.5 18.0 18.1"
  echo "12-alpine3.18 15.3-alpine 16.2-alpine 16.4-alpine 13.1-alpine 14.1-alpine latest alpine"
}
redis_tags() {
  echo "6 6-alpine 6.0 6.2 6.2-alpine 7 7-alpine 7.0 7.0-alpine 7.2 7.2-alpine 7.4 7.4-alpine"
  echo "8 8-alpine 8.0 8.0-alpine 8.2 8.2-alpine 8.4 8.4-alpine 5 5-alpine latest alpine"
}
mysql_tags() { echo "5.7 8 8.0 8.4 8.0-debian 9 latest lts"; }
mysql_server_tags() { echo "5.7 8.0 latest"; }
mariadb_tags() { echo "10 10.5 10.6 10.11 11 11.2 11.4 11.8 lts latest jammy"; }

# "repository tags..." lines of one kind (the first tag of the first line is the build tag).
kind_repos() {
  case $1 in
    postgres) echo "postgres $(pg_tags | tr '\n' ' ')" ;;
    redis) echo "redis $(redis_tags | tr '\n' ' ')" ;;
    mariadb)
      echo "mariadb $(mariadb_tags)"
      echo "mysql $(mysql_tags)"
      echo "mysql/mysql-server $(mysql_server_tags)"
      ;;
    *) die "unknown service kind $1 (known: postgres redis mariadb)" ;;
  esac
}

# The Debian package whose version the server reports.
kind_package() {
  case $1 in
    postgres) echo postgresql ;;
    redis) echo redis-server ;;
    mariadb) echo mariadb-server ;;
  esac
}

FORCE=0
CHECK=0
LIST=0
for arg in "$@"; do
  case $arg in
    --force) FORCE=1 ;;
    --check) CHECK=1 ;;
    --list) LIST=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fixture-services: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

START=$SECONDS
log() { printf '[services %3ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { printf 'fixture-services: error: %s\n' "$*" >&2; exit 1; }

label() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

# The image every tag of a kind points at.
build_ref() { local repo tags; read -r repo tags < <(kind_repos "$1"); echo "$NS/$repo:${tags%% *}"; }

recipe_key() { # kind
  {
    echo "services-recipe-1 $1"
    cat "$HERE/fixture-services/$1.Dockerfile" "$HERE/fixture-services/$1-entrypoint.sh"
    kind_repos "$1"
    declare -f kind_package
    docker image inspect -f '{{.Id}}' "$BASE" 2>/dev/null || echo "no base"
  } | sha256sum | cut -c1-16
}

# Every "ref" of a kind, one a line.
kind_refs() {
  local repo tags t
  while read -r repo tags; do
    for t in $tags; do echo "$NS/$repo:$t"; done
  done < <(kind_repos "$1")
}

list() {
  local kind ref repo version
  for kind in $KINDS; do
    version=unbuilt
    if command -v docker >/dev/null && docker version >/dev/null 2>&1; then
      version=$(label "$(build_ref "$kind")" "$VERSION_KEY")
      version=${version:-unbuilt}
    fi
    while read -r ref; do
      repo=${ref#"$NS"/}
      echo "$ref docker.io/${repo%%:*}:${ref##*:} $(kind_package "$kind")=$version $kind" |
        sed 's#docker.io/\([^/]*\):#docker.io/library/\1:#'
    done < <(kind_refs "$kind")
  done
}

build_kind() { # kind key
  local kind=$1 key=$2 ref ctx version pkg old
  ref=$(build_ref "$kind")
  pkg=$(kind_package "$kind")
  ctx=$(mktemp -d)
  cp "$HERE/fixture-services/$kind.Dockerfile" "$ctx/Dockerfile"
  cp "$HERE/fixture-services/$kind-entrypoint.sh" "$ctx/"
  old=$(docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null || true)
  log "[$kind] docker build $ref (apt-get install $pkg)"
  DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$BASE" --label "$LABEL_KEY=$key" \
    --label "org.pyslim.fixture.stand-in-for=docker.io/library/${ref#"$NS"/}" \
    -t "$ref" "$ctx" >"$ctx/build.log" 2>&1 || { tail -n 30 "$ctx/build.log" >&2; die "[$kind] docker build failed"; }
  # the server's version, read from the image's dpkg database, as a label for --list
  version=$(docker run --rm --entrypoint dpkg-query "$ref" -W -f '${Version}' "$pkg")
  printf 'FROM %s\nLABEL %s="%s"\n' "$ref" "$VERSION_KEY" "$version" |
    DOCKER_BUILDKIT=0 docker build -q -t "$ref" - >/dev/null 2>&1
  rm -rf "$ctx"
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$ref")" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
  log "[$kind] $pkg $version"
}

# "ref id" of every local image under the namespace (one docker call for all tags).
local_ids() {
  docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' --filter "reference=$NS/*" \
    --filter "reference=$NS/*/*"
}

# The refs of a kind that do not point at its current build image (all of them when it is stale).
stale_refs() { # kind key ids-file
  local kind=$1 key=$2 ids=$3 ref id want
  ref=$(build_ref "$kind")
  if [ "$(label "$ref" "$LABEL_KEY")" != "$key" ]; then kind_refs "$kind"; return; fi
  want=$(awk -v r="$ref" '$1 == r { print $2 }' "$ids")
  while read -r ref; do
    id=$(awk -v r="$ref" '$1 == r { print $2 }' "$ids")
    [ "$id" = "$want" ] || echo "$ref"
  done < <(kind_refs "$kind")
}

main() {
  local kind key ref t stale=()
  for kind in $KINDS; do kind_repos "$kind" >/dev/null; done
  if [ "$LIST" = 1 ]; then list; return 0; fi
  command -v docker >/dev/null || die "docker CLI not found"
  docker version >/dev/null 2>&1 || die "cannot reach the Docker daemon (docker version failed)"
  docker image inspect "$BASE" >/dev/null 2>&1 || die "no base image $BASE: run scripts/fixture-images.sh first"
  IDS=$(mktemp)
  trap 'rm -f "$IDS"' EXIT
  local_ids >"$IDS"
  for kind in $KINDS; do
    if [ -n "$(stale_refs "$kind" "$(recipe_key "$kind")" "$IDS")" ]; then stale+=("$kind"); fi
  done
  if [ "$CHECK" = 1 ]; then
    if [ ${#stale[@]} -eq 0 ]; then echo "service stand-ins: all current"; return 0; fi
    echo "service stand-ins: missing or outdated: ${stale[*]}"
    return 1
  fi
  for kind in $KINDS; do
    key=$(recipe_key "$kind")
    ref=$(build_ref "$kind")
    if [ "$FORCE" = 1 ] || [ "$(label "$ref" "$LABEL_KEY")" != "$key" ]; then
      build_kind "$kind" "$key"
      local_ids >"$IDS"
    fi
    while read -r t; do
      if [ "$t" != "$ref" ]; then docker tag "$ref" "$t"; fi
    done < <(stale_refs "$kind" "$key" "$IDS")
    log "[$kind] $(kind_refs "$kind" | wc -l) tags current ($(label "$ref" "$VERSION_KEY"))"
  done
  log "done"
}

main
