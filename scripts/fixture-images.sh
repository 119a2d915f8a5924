#!/usr/bin/env bash
# Build local, offline stand-ins for the public Python base images pyslim targets.
#
# No registry is needed: each Debian suite is bootstrapped once (mmdebstrap,
# --variant=minbase, the fast apt-based debootstrap), the "full" variant is derived
# from a copy of the slim rootfs with `chroot apt-get install`, the distroless-like
# variant is assembled from the `dpkg-query -L` file lists of the runtime packages,
# and everything is `docker import`ed under the local namespace pyslim-mirror/:
#
#   pyslim-mirror/python:3.13            pyslim-mirror/python:3.11
#   pyslim-mirror/python:3.13-slim       pyslim-mirror/python:3.11-slim
#   pyslim-mirror/distroless/python3-debian13:{latest,nonroot}
#   pyslim-mirror/distroless/python3-debian12:{latest,nonroot}
#
# Idempotent: every image carries the label org.pyslim.fixture.version, a hash of
# the recipe (this script's build functions, package lists, mirrors and the host CA
# bundle).  Images that exist with the current hash are left alone; finished rootfs
# tarballs are kept in the cache dir and re-imported without bootstrapping again.
#
# Usage: scripts/fixture-images.sh [--force] [--check]
#   --force   rebuild everything (rootfs tarballs and images)
#   --check   only report whether all images exist and are current (exit 1 if not)
#
# Environment:
#   PYSLIM_FIXTURE_CACHE            cache/work dir (default /var/cache/pyslim-fixtures)
#   PYSLIM_FIXTURE_MIRROR           Debian mirror (default http://deb.debian.org/debian)
#   PYSLIM_FIXTURE_SECURITY_MIRROR  (default http://deb.debian.org/debian-security)
#   PYSLIM_FIXTURE_CA_BUNDLE        CA bundle copied into every image
#                                   (default /etc/ssl/certs/ca-certificates.crt)
#   PYSLIM_FIXTURE_SUITES           subset to build, e.g. "trixie" (default "trixie bookworm")
set -euo pipefail

CACHE=${PYSLIM_FIXTURE_CACHE:-/var/cache/pyslim-fixtures}
MIRROR=${PYSLIM_FIXTURE_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${PYSLIM_FIXTURE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
HOST_CA=${PYSLIM_FIXTURE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
SUITES=${PYSLIM_FIXTURE_SUITES:-trixie bookworm}
NS=pyslim-mirror
LABEL_KEY=org.pyslim.fixture.version
CERT=/etc/ssl/certs/ca-certificates.crt

SLIM_PKGS=python3,python3-venv,python3-pip,ca-certificates,netbase,tzdata
FULL_EXTRA_PKGS="python3-dev build-essential libpq-dev"
# Like debian:*-slim (debuerreotype slimify), which python:*-slim is built on: no
# docs/man/locales; kept in /etc/dpkg/dpkg.cfg.d so later installs honour it too.
# Also fewer files to unpack and import, which is most of the build time.
SLIMIFY_DPKGOPTS=(
  path-exclude=/usr/share/doc/* path-include=/usr/share/doc/*/copyright
  path-exclude=/usr/share/groff/* path-exclude=/usr/share/info/* path-exclude=/usr/share/linda/*
  path-exclude=/usr/share/lintian/overrides/* path-exclude=/usr/share/locale/*
  path-include=/usr/share/locale/locale.alias path-exclude=/usr/share/man/*
)
# Runtime packages of the distroless-like images (names differ between suites, e.g.
# the t64 renames in trixie; missing ones are skipped).  Their Depends/Pre-Depends
# closure is added, minus DISTROLESS_EXCLUDE.
DISTROLESS_SEEDS="libc6 libssl3 libssl3t64 zlib1g libffi8 libexpat1 libbz2-1.0 liblzma5
  libsqlite3-0 libuuid1 libncursesw6 libtinfo6 libreadline8 libreadline8t64 libmpdec3
  libmpdec4 libcrypt1 libgcc-s1 libstdc++6 tzdata netbase"
DISTROLESS_EXCLUDE='^(debconf|debconf-2.0|perl-base|dpkg|readline-common|media-types|mime-support|gcc-[0-9]+-base|install-info)$'

FORCE=0
CHECK=0
for arg in "$@"; do
  case $arg in
    --force) FORCE=1 ;;
    --check) CHECK=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fixture-images: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

START=$SECONDS
pids=()
log() { printf '[fixtures %3ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { printf 'fixture-images: error: %s\n' "$*" >&2; exit 1; }

suite_pyver() {
  case $1 in
    trixie) echo 3.13 ;;
    bookworm) echo 3.11 ;;
    *) die "unsupported suite $1" ;;
  esac
}
suite_debver() {
  case $1 in
    trixie) echo 13 ;;
    bookworm) echo 12 ;;
    *) die "unsupported suite $1" ;;
  esac
}

# "kind ref" lines for one suite; kind selects how the image is imported.
suite_images() {
  local v d
  v=$(suite_pyver "$1")
  d=$(suite_debver "$1")
  echo "full $NS/python:$v"
  echo "slim $NS/python:$v-slim"
  echo "distroless $NS/distroless/python3-debian$d:latest"
  echo "distroless-nonroot $NS/distroless/python3-debian$d:nonroot"
}

# ---------------------------------------------------------------------------
# rootfs recipe (everything that ends up in the cached tarballs)
# ---------------------------------------------------------------------------

# Remove what the official images do not carry: apt lists and caches, logs of
# the bootstrap, resolv.conf/hostname of the build host, device nodes.
clean_rootfs() {
  local r=$1
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
    "$r"/var/cache/apt/archives/partial/* "$r"/var/log/apt/* "$r"/var/cache/debconf/*-old \
    "$r"/tmp/* "$r"/var/tmp/* "$r"/root/.cache
  mkdir -p "$r"/var/lib/apt/lists/partial
  rm -f "$r"/etc/resolv.conf "$r"/etc/hostname
  find "$r"/dev -mindepth 1 -delete
}

# Make a Debian rootfs behave like the official python:X images.
tweak_python_rootfs() {
  local r=$1 v=$2 f
  rm -f "$r/usr/lib/python$v/EXTERNALLY-MANAGED"
  mkdir -p "$r/usr/local/bin" "$r/usr/local/share/ca-certificates"
  for f in python:python$v python3:python$v python$v:python$v pip:pip3 pip3:pip3 \
    pip$v:pip3 python3-config:python$v-config python$v-config:python$v-config; do
    if [ -e "$r/usr/bin/${f#*:}" ]; then ln -sfn "/usr/bin/${f#*:}" "$r/usr/local/bin/${f%%:*}"; fi
  done
  install -m 0644 "$HOST_CA" "$r$CERT"
  # keep the host CAs if update-ca-certificates runs again in a derived image
  install -m 0644 "$HOST_CA" "$r/usr/local/share/ca-certificates/pyslim-host-bundle.crt"
}

# Distroless-like tree: only the files (dpkg-query -L) of the runtime packages.
make_distroless() {
  local root=$1 stage=$2 v=$3 adm=$1/var/lib/dpkg
  local -A want=() installed=() depends=()
  local queue=() p deps group alt name status
  local -a groups alts
  # one pass over the status db: installed packages and their (pre-)dependencies
  while IFS=$'\t' read -r p status deps; do
    [ "$status" = installed ] || continue
    installed[$p]=1
    depends[$p]=$deps
  done < <(dpkg-query --admindir="$adm" -W -f='${Package}\t${db:Status-Status}\t${Pre-Depends},${Depends}\n')
  for p in "python$v-minimal" "libpython$v-minimal" "libpython$v-stdlib" $DISTROLESS_SEEDS; do
    if [ -n "${installed[$p]:-}" ]; then queue+=("$p"); fi
  done
  while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    [ -z "${want[$p]:-}" ] || continue
    [[ ! $p =~ $DISTROLESS_EXCLUDE ]] || continue
    want[$p]=1
    IFS=',' read -ra groups <<<"${depends[$p]}"
    for group in "${groups[@]}"; do
      IFS='|' read -ra alts <<<"$group"
      for alt in "${alts[@]}"; do
        name=${alt%%(*}        # drop "(>= 1.2)"
        name=${name//[[:space:]]/}
        name=${name%%:*}       # drop ":any"
        if [ -n "$name" ] && [ -n "${installed[$name]:-}" ]; then
          queue+=("$name")
          break
        fi
      done
    done
  done
  printf '%s\n' "${!want[@]}" | sort >"$stage.packages"

  rm -rf "$stage"
  mkdir -p "$stage"/usr/{bin,lib,lib64,sbin}
  ln -s usr/bin "$stage/bin"
  ln -s usr/lib "$stage/lib"
  ln -s usr/lib64 "$stage/lib64"
  ln -s usr/sbin "$stage/sbin"
  # merged-/usr: package paths below /bin /lib /lib64 /sbin live under /usr
  # shellcheck disable=SC2046
  dpkg-query --admindir="$adm" -L $(cat "$stage.packages") | grep '^/' |
    sed -E 's#^/(bin|sbin|lib|lib64|lib32|libx32)(/|$)#/usr/\1\2#' |
    grep -Ev '^/usr/share/(man|info|lintian|doc|doc-base|bug|locale|groff)(/|$)' |
    grep -Ev '^/usr/(bin|lib|lib64|sbin)?$|^/$' |
    awk '!seen[$0]++' | sed 's#^/#./#' >"$stage.files"
  tar -C "$root" --no-recursion --ignore-failed-read -T "$stage.files" -cf - | tar -C "$stage" -xpf -
  # copyright files only (licences), like gcr.io/distroless
  for p in $(cat "$stage.packages"); do
    p=${p%%:*}
    if [ -f "$root/usr/share/doc/$p/copyright" ]; then
      mkdir -p "$stage/usr/share/doc/$p"
      cp -L "$root/usr/share/doc/$p/copyright" "$stage/usr/share/doc/$p/copyright"
    fi
  done
  # interpreter aliases of gcr.io/distroless/python3 (python, python3 -> python3.X)
  ln -sfn "python$v" "$stage/usr/bin/python3"
  ln -sfn "python$v" "$stage/usr/bin/python"
  mkdir -p "$stage"/etc/ssl/certs "$stage"/tmp "$stage"/root "$stage"/home/nonroot "$stage"/var/lib
  chmod 1777 "$stage/tmp"
  chmod 0700 "$stage/root" "$stage/home/nonroot"
  chown 65532:65532 "$stage/home/nonroot"
  install -m 0644 "$HOST_CA" "$stage$CERT"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$stage/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n' >"$stage/etc/group"
  printf 'hosts: files dns\n' >"$stage/etc/nsswitch.conf"
  cp -p "$root/usr/lib/os-release" "$stage/etc/os-release"
  chmod 0644 "$stage"/etc/passwd "$stage"/etc/group "$stage"/etc/nsswitch.conf
  # no shell, no apt, no pip: fail loudly if a package list change ever drags one in
  for p in usr/bin/sh usr/bin/bash usr/bin/dash usr/bin/apt usr/bin/dpkg usr/bin/pip3; do
    [ ! -e "$stage/$p" ] || die "distroless stage contains /$p"
  done
  ldconfig -r "$stage" 2>/dev/null || true
}

# Bootstrap one suite and write slim.tar, full.tar, distroless.tar + meta.env.
# Stale images are imported as soon as their tarball is ready (slim and
# distroless while the full rootfs is still installing).
build_rootfs() {
  local suite=$1 dir=$2 v=$3 key=$4 work=$2/work f preload= pyver slim_pid
  remove_workdir "$work"
  rm -f "$dir"/*.tmp
  mkdir -p "$work"
  log "[$suite] mmdebstrap --variant=minbase --include=$SLIM_PKGS"
  local -a dpkgopts=()
  for f in "${SLIMIFY_DPKGOPTS[@]}"; do dpkgopts+=(--dpkgopt="$f"); done
  mmdebstrap --mode=root --variant=minbase --include="$SLIM_PKGS" "${dpkgopts[@]}" \
    --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
    --skip=cleanup/apt/lists --skip=cleanup/apt/cache \
    "$suite" "$work/slim" \
    "deb $MIRROR $suite main" "deb $MIRROR $suite-updates main" \
    "deb $SECURITY_MIRROR $suite-security main" >"$dir/mmdebstrap.log" 2>&1 ||
    { tail -n 30 "$dir/mmdebstrap.log" >&2; die "[$suite] mmdebstrap failed (log: $dir/mmdebstrap.log)"; }
  pyver=$(dpkg-query --admindir="$work/slim/var/lib/dpkg" -W -f='${Version}' "python$v-minimal")
  pyver=${pyver%%-*}
  printf 'PYTHON_FULL_VERSION=%s\n' "$pyver" >"$dir/meta.env.tmp"

  log "[$suite] full rootfs: copy of slim + chroot apt-get install $FULL_EXTRA_PKGS"
  cp -a "$work/slim" "$work/full"
  cp /etc/resolv.conf "$work/full/etc/resolv.conf"
  for f in /usr/lib/*/libeatmydata.so.1; do
    if [ -e "$f" ]; then cp -L "$f" "$work/full/tmp/libeatmydata.so" && preload=/tmp/libeatmydata.so; break; fi
  done
  (
    clean_rootfs "$work/slim"
    make_distroless "$work/slim" "$work/distroless" "$v"
    tweak_python_rootfs "$work/slim" "$v"
    tar -C "$work/slim" -cf "$dir/slim.tar.tmp" .
    import_stale "$suite" "$key" "$v" "$pyver" "$dir/slim.tar.tmp" slim
    tar -C "$work/distroless" --numeric-owner -cf "$dir/distroless.tar.tmp" .
    import_stale "$suite" "$key" "$v" "$pyver" "$dir/distroless.tar.tmp" distroless distroless-nonroot
  ) 2>"$dir/slim.log" &
  slim_pid=$!
  chroot "$work/full" /usr/bin/env LD_PRELOAD=$preload DEBIAN_FRONTEND=noninteractive \
    apt-get -q -y --no-install-recommends install $FULL_EXTRA_PKGS >"$dir/full.log" 2>&1 ||
    { tail -n 30 "$dir/full.log" >&2; die "[$suite] apt-get install in full rootfs failed"; }
  clean_rootfs "$work/full"
  tweak_python_rootfs "$work/full" "$v"
  tar -C "$work/full" -cf "$dir/full.tar.tmp" .
  import_stale "$suite" "$key" "$v" "$pyver" "$dir/full.tar.tmp" full
  wait "$slim_pid" || { tail -n 30 "$dir/slim.log" >&2; die "[$suite] slim/distroless stage failed (log: $dir/slim.log)"; }

  for f in slim full distroless; do mv "$dir/$f.tar.tmp" "$dir/$f.tar"; done
  mv "$dir/meta.env.tmp" "$dir/meta.env"
  remove_workdir "$work"
}

# A killed mmdebstrap may leave /proc, /sys or /dev mounted in its rootfs: never
# recurse into a mount.
remove_workdir() {
  local m
  findmnt -rn -o TARGET | { grep -F "$1/" || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$1"
}

# ---------------------------------------------------------------------------
# image recipe
# ---------------------------------------------------------------------------
import_image() {
  local kind=$1 ref=$2 suite=$3 tarball=$4 key=$5 v=$6 pyver=$7 standin old
  local certenv="SSL_CERT_FILE=$CERT PIP_CERT=$CERT REQUESTS_CA_BUNDLE=$CERT"
  local -a c=()
  standin=${ref#"$NS"/}
  case $kind in
    full|slim)
      c=(-c "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 PYTHON_VERSION=$pyver $certenv"
         -c 'CMD ["python3"]')
      ;;
    distroless|distroless-nonroot)
      standin=gcr.io/$standin
      c=(-c "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 $certenv"
         -c "ENTRYPOINT [\"/usr/bin/python$v\"]")
      if [ "$kind" = distroless-nonroot ]; then c+=(-c 'USER 65532' -c 'WORKDIR /home/nonroot'); fi
      ;;
  esac
  [ "$kind" != full ] || standin=docker.io/library/$standin
  [ "$kind" != slim ] || standin=docker.io/library/$standin
  c+=(-c "LABEL $LABEL_KEY=$key org.pyslim.fixture.suite=$suite org.pyslim.fixture.stand-in-for=$standin")
  old=$(docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null || true)
  docker import "${c[@]}" -m "pyslim offline stand-in for $standin" "$tarball" "$ref" >/dev/null
  # drop the replaced image if nothing else uses it
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$ref")" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
}

# ---------------------------------------------------------------------------
hash_str() { sha256sum | cut -c1-16; }

ca_hash() { [ -r "$HOST_CA" ] || die "CA bundle $HOST_CA not readable"; sha256sum <"$HOST_CA" | cut -c1-16; }

rootfs_key() { # suite
  {
    echo "rootfs-recipe-1 $1 $MIRROR $SECURITY_MIRROR"
    echo "$SLIM_PKGS|$FULL_EXTRA_PKGS|$DISTROLESS_SEEDS|$DISTROLESS_EXCLUDE|$CERT|${SLIMIFY_DPKGOPTS[*]}"
    declare -f clean_rootfs tweak_python_rootfs make_distroless build_rootfs
    ca_hash
  } | hash_str
}

image_key() { # suite
  { rootfs_key "$1"; declare -f import_image suite_images; } | hash_str
}

image_label() { docker image inspect -f "{{index .Config.Labels \"$LABEL_KEY\"}}" "$1" 2>/dev/null || true; }

ensure_prereqs() {
  local need=() p
  command -v docker >/dev/null || die "docker CLI not found"
  [ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap --mode=root, chroot)"
  for p in mmdebstrap eatmydata; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || need+=("$p")
  done
  [ ${#need[@]} -gt 0 ] || return 0
  log "installing prerequisites: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null ||
    ! apt-get install -y -q --no-install-recommends "${need[@]}" >"$CACHE/apt-host.log" 2>&1; then
    log "apt-get update"
    apt-get update -q >"$CACHE/apt-host.log" 2>&1 || { tail -n 20 "$CACHE/apt-host.log" >&2; die "apt-get update failed"; }
    apt-get install -y -q --no-install-recommends "${need[@]}" >>"$CACHE/apt-host.log" 2>&1 ||
      { tail -n 20 "$CACHE/apt-host.log" >&2; die "apt-get install ${need[*]} failed"; }
  fi
}

# Import the images of the given kinds whose label is not the current key.
import_stale() { # suite key v pyver tarball kind...
  local suite=$1 key=$2 v=$3 pyver=$4 tarball=$5 kind ref k
  shift 5
  while read -r kind ref; do
    for k in "$@"; do
      [ "$k" = "$kind" ] || continue
      if [ "$FORCE" = 1 ] || [ "$(image_label "$ref")" != "$key" ]; then
        log "[$suite] docker import $ref"
        import_image "$kind" "$ref" "$suite" "$tarball" "$key" "$v" "$pyver"
      fi
    done
  done < <(suite_images "$suite")
}

# Build (if needed) and import (if needed) one suite.  Runs in the background.
do_suite() {
  local suite=$1 v dir key rkey pyver
  v=$(suite_pyver "$suite")
  dir=$CACHE/$suite
  key=$(image_key "$suite")
  rkey=$(rootfs_key "$suite")
  mkdir -p "$dir"
  if [ "$FORCE" = 1 ] || [ "$(cat "$dir/rootfs.key" 2>/dev/null)" != "$rkey" ] ||
    [ ! -f "$dir/slim.tar" ] || [ ! -f "$dir/full.tar" ] || [ ! -f "$dir/distroless.tar" ] ||
    [ ! -f "$dir/meta.env" ]; then
    rm -f "$dir/rootfs.key"
    build_rootfs "$suite" "$dir" "$v" "$key"
    echo "$rkey" >"$dir/rootfs.key"
    log "[$suite] rootfs tarballs cached: $(du -ch "$dir"/*.tar | tail -n1 | cut -f1) in $dir"
  else
    log "[$suite] reusing cached rootfs tarballs in $dir"
    pyver=$(sed -n 's/^PYTHON_FULL_VERSION=//p' "$dir/meta.env")
    import_stale "$suite" "$key" "$v" "$pyver" "$dir/full.tar" full
    import_stale "$suite" "$key" "$v" "$pyver" "$dir/slim.tar" slim
    import_stale "$suite" "$key" "$v" "$pyver" "$dir/distroless.tar" distroless distroless-nonroot
  fi
  log "[$suite] done"
}

# ---------------------------------------------------------------------------
main() {
  local suite kind ref stale=() names=() rc=0 i key
  command -v docker >/dev/null || die "docker CLI not found"
  docker version >/dev/null 2>&1 || die "cannot reach the Docker daemon (docker version failed)"
  for suite in $SUITES; do
    suite_pyver "$suite" >/dev/null
    key=$(image_key "$suite")
    while read -r kind ref; do
      if [ "$(image_label "$ref")" != "$key" ]; then stale+=("$ref"); fi
    done < <(suite_images "$suite")
  done

  if [ "$CHECK" = 1 ]; then
    if [ ${#stale[@]} -eq 0 ]; then
      echo "fixture images: all current"
      return 0
    fi
    printf 'fixture images: missing or outdated: %s\n' "${stale[*]}"
    return 1
  fi
  if [ "$FORCE" = 0 ] && [ ${#stale[@]} -eq 0 ]; then
    log "all fixture images current (label $LABEL_KEY)"
  else
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock 9
    ensure_prereqs
    trap 'kill "${pids[@]}" 2>/dev/null || true' INT TERM
    for suite in $SUITES; do
      do_suite "$suite" &
      pids+=($!)
      names+=("$suite")
    done
    for i in "${!pids[@]}"; do
      wait "${pids[$i]}" || { echo "fixture-images: suite ${names[$i]} failed" >&2; rc=1; }
    done
    [ "$rc" = 0 ] || exit "$rc"
    log "finished in $((SECONDS - START))s"
  fi
  docker images --filter "reference=$NS/*" --filter "reference=$NS/*/*" \
    --format 'table {{.Repository}}:{{.Tag}}\t{{.ID}}\t{{.Size}}' | { IFS= read -r h; echo "$h"; sort; }
}

main
