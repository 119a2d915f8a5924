#!/usr/bin/env bash
# Build local, offline stand-ins for the public Python base images pyslim targets.
#
# No registry is needed: each Debian (or Ubuntu) suite is bootstrapped once (mmdebstrap,
# --variant=minbase, the fast apt-based debootstrap) without Python; every Python
# version of the suite gets a slim rootfs (a copy + `chroot apt-get install`), the
# suite's default version a "full" rootfs with the package set of buildpack-deps
# (what the official python:3.X images are built on: gcc, make, pkg-config, git,
# libpq-dev, default-libmysqlclient-dev, libssl-dev, ...), an extra version a copy
# of that full rootfs plus its own interpreter; the distroless-like variant is
# assembled from the `dpkg-query -L` file lists of the runtime packages.  All of it
# is `docker import`ed under the local namespace pyslim-mirror/ (override with
# PYSLIM_FIXTURE_NAMESPACE):
#
#   suite     Python           images
#   bookworm  3.11             python:3.11  python:3.11-slim  distroless/python3-debian12:{latest,nonroot}
#   trixie    3.13             python:3.13  python:3.13-slim  distroless/python3-debian13:{latest,nonroot}
#   forky     3.14 (python3)   python:3.14  python:3.14-slim  (no distroless image is published
#             3.15 (python3.15) python:3.15  python:3.15-slim   for Debian 14 / Python 3.14+)
#   bullseye  3.9              python:3.9   python:3.9-slim   distroless/python3-debian11:{latest,nonroot}
#   noble     3.12             python:3.12  python:3.12-slim  (no distroless image is published
#                                                              for Python 3.12)
#   jammy     3.10             python:3.10  python:3.10-slim  (none for Python 3.10 either)
#   (bullseye, noble and jammy are opt-in, not built by default: e.g.
#   PYSLIM_FIXTURE_SUITES="trixie bookworm forky bullseye noble jammy".  Python 3.9 and 3.10 are
#   past their end of life; Debian ships no Python 3.12 or 3.10, so their stand-ins come from
#   Ubuntu 24.04 "noble" and 22.04 "jammy", whose python3 is 3.12 and 3.10, with main and universe
#   (the buildpack-deps set needs universe) and Ubuntu's archive key from Debian's ubuntu-keyring
#   package (the host's; a bookworm host has none, so it is fetched with apt from Debian trixie
#   into the cache dir).  They are for services whose pins need that Python.)
#
# Like the official images, python, python3, python3.X (and pip, pip3, pip3.X) are in
# /usr/local/bin, Debian's EXTERNALLY-MANAGED marker is removed, the host CA bundle is
# trusted.  An extra version's pip is installed from Debian's pip wheel into
# /usr/local (Debian's python3-pip belongs to the default python3).
#
# Every image is checked right after `docker import`, before it is tagged: its interpreter runs
# and imports the stdlib modules that load shared libraries (ssl, sqlite3, ctypes, ...), and on
# the full and slim images `python -m venv` and pip work.  An image that fails is removed and the
# script stops, so a broken stand-in never gets a tag.
#
# Idempotent: every image carries the label org.pyslim.fixture.version, a hash of
# the recipe (this script's build functions, package lists, mirrors and the host CA
# bundle).  Images that exist with the current hash are left alone; finished rootfs
# tarballs are kept in the cache dir and re-imported without bootstrapping again.
# Package names a suite lacks (renames between releases) are skipped with a log line.
#
# tests/it/standins.rs checks the images behave (interpreter at the catalogue's path, venv
# and pip from PyPI, mysqlclient and psycopg2 built from source on the full images).
#
# Usage: scripts/fixture-images.sh [--force] [--check] [--list] [--suites] [SUITE...]
#   SUITE...  build (or check, or list) only these suites, e.g. `trixie` for the images the demo
#             needs (python:3.13, python:3.13-slim, distroless/python3-debian13); the same as
#             PYSLIM_FIXTURE_SUITES
#   --force   rebuild everything (rootfs tarballs and images)
#   --check   only report whether all images exist and are current (exit 1 if not)
#   --list    print "image stand-in-for python-version kind" lines and exit (no root, no Docker)
#   --suites  print "suite default|opt-in" for every known suite and exit (no root, no Docker)
#
# Environment:
#   PYSLIM_FIXTURE_NAMESPACE        image namespace (default pyslim-mirror)
#   PYSLIM_FIXTURE_CACHE            cache/work dir (default /var/cache/pyslim-fixtures)
#   PYSLIM_FIXTURE_MIRROR           Debian mirror (default http://deb.debian.org/debian)
#   PYSLIM_FIXTURE_SECURITY_MIRROR  (default http://deb.debian.org/debian-security)
#   PYSLIM_FIXTURE_UBUNTU_MIRROR    Ubuntu archive for noble and jammy (with -updates, -security)
#                                   (default http://archive.ubuntu.com/ubuntu)
#   PYSLIM_FIXTURE_CA_BUNDLE        CA bundle copied into every image
#                                   (default /etc/ssl/certs/ca-certificates.crt)
#   PYSLIM_FIXTURE_SERVICES         1 (default) also builds the service stand-ins (postgres,
#                                   redis, mysql/mariadb) with scripts/fixture-services.sh; 0 skips
#   PYSLIM_FIXTURE_SUITES           suites to build, e.g. "trixie" (default "trixie bookworm forky";
#                                   "bullseye" adds the opt-in Python 3.9 stand-ins, "noble" the
#                                   opt-in Python 3.12 ones, "jammy" the opt-in Python 3.10 ones)
set -euo pipefail

CACHE=${PYSLIM_FIXTURE_CACHE:-/var/cache/pyslim-fixtures}
MIRROR=${PYSLIM_FIXTURE_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${PYSLIM_FIXTURE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
UBUNTU_MIRROR=${PYSLIM_FIXTURE_UBUNTU_MIRROR:-http://archive.ubuntu.com/ubuntu}
# Ubuntu's archive key, for an Ubuntu suite's bootstrap only (set by ensure_ubuntu_keyring; the
# rootfs trusts the keys of its own ubuntu-keyring package).
UBUNTU_KEYRING=
HOST_CA=${PYSLIM_FIXTURE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
DEFAULT_SUITES="trixie bookworm forky"
OPT_IN_SUITES="bullseye noble jammy"
SUITES=${PYSLIM_FIXTURE_SUITES:-$DEFAULT_SUITES}
NS=${PYSLIM_FIXTURE_NAMESPACE:-pyslim-mirror}
NS=${NS%/}
LABEL_KEY=org.pyslim.fixture.version
CERT=/etc/ssl/certs/ca-certificates.crt

# The bootstrap: no Python yet (each version's slim rootfs is a copy of it).  apt: Debian's
# minbase has it, Ubuntu's (Priority: required only) does not.
BASE_PKGS=apt,ca-certificates,netbase,tzdata
# Slim: the suite's default python3 with Debian's venv and pip; an extra version
# (python3.X packages beside the default) gets its pip from Debian's pip wheel.
DEFAULT_SLIM_PKGS="python3 python3-venv python3-pip"
extra_slim_pkgs() { echo "python$1 python$1-venv"; }
# Full: what buildpack-deps:<suite> installs in its curl, scm and full layers (the
# base of the official python:3.X images), plus the three -dev packages the official
# python Dockerfile adds (libbluetooth-dev tk-dev uuid-dev), plus Debian's headers for
# the interpreter (python3.X-dev, which the official image has in /usr/local).
# Names a suite lacks are skipped with a log line (resolve_pkgs).
BUILDPACK_PKGS="ca-certificates curl gnupg netbase sq wget
  git mercurial openssh-client subversion procps
  autoconf automake bzip2 default-libmysqlclient-dev dpkg-dev file g++ gcc imagemagick
  libbz2-dev libc6-dev libcurl4-openssl-dev libdb-dev libevent-dev libffi-dev libgdbm-dev
  libglib2.0-dev libgmp-dev libjpeg-dev libkrb5-dev liblzma-dev libmagickcore-dev
  libmagickwand-dev libmaxminddb-dev libncurses5-dev libncursesw5-dev libpng-dev libpq-dev
  libreadline-dev libsqlite3-dev libssl-dev libtool libwebp-dev libxml2-dev libxslt-dev
  libyaml-dev make patch unzip xz-utils zlib1g-dev
  libbluetooth-dev tk-dev uuid-dev"
DEFAULT_FULL_PKGS="$BUILDPACK_PKGS python3-dev"
extra_full_pkgs() { echo "python$1 python$1-venv python$1-dev"; }
# The mirror may serve a testing suite's Release past its Valid-Until (forky's is
# refreshed weekly); the signature is still checked.  Kept in the images' apt config
# so `apt-get update` in a derived image works the same way.
APTOPTS=('Acquire::Check-Valid-Until "false";')
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
DISTROLESS_SEEDS="libc6 libssl1.1 libssl3 libssl3t64 zlib1g libffi7 libffi8 libexpat1 libbz2-1.0 liblzma5
  libsqlite3-0 libuuid1 libncursesw6 libtinfo6 libreadline8 libreadline8t64 libmpdec3
  libmpdec4 libcrypt1 libgcc-s1 libstdc++6 tzdata netbase"
DISTROLESS_EXCLUDE='^(debconf|debconf-2.0|perl-base|dpkg|readline-common|media-types|mime-support|gcc-[0-9]+-base|install-info)$'

FORCE=0
CHECK=0
LIST=0
LIST_SUITES=0
ARG_SUITES=
for arg in "$@"; do
  case $arg in
    --force) FORCE=1 ;;
    --check) CHECK=1 ;;
    --list) LIST=1 ;;
    --suites) LIST_SUITES=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fixture-images: unknown argument: $arg (try --help)" >&2; exit 2 ;;
    *) ARG_SUITES+="${ARG_SUITES:+ }$arg" ;;
  esac
done
[ -z "$ARG_SUITES" ] || SUITES=$ARG_SUITES

START=$SECONDS
pids=()
log() { printf '[fixtures %3ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { printf 'fixture-images: error: %s\n' "$*" >&2; exit 1; }

# Python versions of a suite: the default python3 first, then extra python3.X
# packages of the same suite.  Versions are not 1:1 with suites any more.
suite_versions() {
  case $1 in
    forky) echo 3.14 3.15 ;;
    trixie) echo 3.13 ;;
    bookworm) echo 3.11 ;;
    bullseye) echo 3.9 ;;
    noble) echo 3.12 ;;
    jammy) echo 3.10 ;;
    *) die "unsupported suite $1 (known: $DEFAULT_SUITES $OPT_IN_SUITES)" ;;
  esac
}
# Debian release number of the gcr.io/distroless/python3-debianN image built from
# the suite, if that image exists (no distroless image is published for forky).
suite_distroless() {
  case $1 in
    trixie) echo 13 ;;
    bookworm) echo 12 ;;
    bullseye) echo 11 ;;
    *) echo "" ;;
  esac
}

# Ubuntu suites (bootstrapped from UBUNTU_MIRROR with Ubuntu's archive key).
suite_is_ubuntu() { [ "$1" = noble ] || [ "$1" = jammy ]; }

# The suite's apt sources, one line each: the release, its updates, its security fixes.
# Bullseye's LTS ended in 2026-08 and its security archive lists packages it no longer serves
# (404): its own point releases stand alone.  Ubuntu serves all three from one archive, and the
# buildpack-deps set needs universe (mercurial, subversion, imagemagick, ...).
suite_sources() {
  case $1 in
    noble|jammy) printf 'deb %s %s main universe\n' "$UBUNTU_MIRROR" "$1" "$UBUNTU_MIRROR" "$1-updates" "$UBUNTU_MIRROR" "$1-security" ;;
    bullseye) printf 'deb %s %s main\n' "$MIRROR" "$1" "$MIRROR" "$1-updates" ;;
    *) printf 'deb %s %s main\n' "$MIRROR" "$1" "$MIRROR" "$1-updates" "$SECURITY_MIRROR" "$1-security" ;;
  esac
}

# "kind ref python tarball" lines for one suite; kind selects how the image is imported.
suite_images() {
  local v d v0
  read -r v0 _ <<<"$(suite_versions "$1")"
  for v in $(suite_versions "$1"); do
    echo "full $NS/python:$v $v full-$v.tar"
    echo "slim $NS/python:$v-slim $v slim-$v.tar"
  done
  d=$(suite_distroless "$1")
  if [ -n "$d" ]; then
    echo "distroless $NS/distroless/python3-debian$d:latest $v0 distroless.tar"
    echo "distroless-nonroot $NS/distroless/python3-debian$d:nonroot $v0 distroless.tar"
  fi
}

# The public image a stand-in replaces (label org.pyslim.fixture.stand-in-for).
standin_for() { # kind ref
  case $1 in
    full|slim) echo "docker.io/library/${2#"$NS"/}" ;;
    *) echo "gcr.io/${2#"$NS"/}" ;;
  esac
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

# Drop the package names the rootfs' apt cannot install (renamed or gone in this
# suite), with a log line each; writes the rest to outfile, one a line.
resolve_pkgs() { # rootfs tag outfile pkg...
  local r=$1 tag=$2 outfile=$3 out missing p
  shift 3
  local -a pkgs=("$@") keep
  while :; do
    if out=$(chroot "$r" apt-get -s -q --no-install-recommends install "${pkgs[@]}" 2>&1); then break; fi
    missing=$(sed -nE "s/^E: Unable to locate package (.+)$/\1/p; s/^E: Package '([^']+)' has no installation candidate$/\1/p" <<<"$out" | sort -u)
    [ -n "$missing" ] || { printf '%s\n' "$out" | tail -n 20 >&2; die "$tag: apt-get cannot install ${pkgs[*]}"; }
    keep=()
    for p in "${pkgs[@]}"; do
      if grep -qxF -- "$p" <<<"$missing"; then log "$tag: skipping $p (not in this suite)"; else keep+=("$p"); fi
    done
    pkgs=("${keep[@]}")
  done
  printf '%s\n' "${pkgs[@]}" >"$outfile"
}

# chroot apt-get install (no recommends, eatmydata) with the host's resolver.
chroot_install() { # rootfs tag logfile pkg...
  local r=$1 tag=$2 logf=$3 f preload=
  shift 3
  local -a pkgs
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  for f in /usr/lib/*/libeatmydata.so.1; do
    if [ -e "$f" ]; then cp -L "$f" "$r/tmp/libeatmydata.so" && preload=/tmp/libeatmydata.so; break; fi
  done
  # the host's libeatmydata needs the host's glibc: an older suite (bullseye) goes without it
  if [ -n "$preload" ] && ! chroot "$r" /usr/bin/env LD_PRELOAD=$preload /bin/true 2>/dev/null; then preload=; fi
  resolve_pkgs "$r" "$tag" "$logf.pkgs" "$@"
  mapfile -t pkgs <"$logf.pkgs"
  log "$tag: chroot apt-get install (${#pkgs[@]} packages)"
  chroot "$r" /usr/bin/env LD_PRELOAD=$preload DEBIAN_FRONTEND=noninteractive \
    apt-get -q -y --no-install-recommends install "${pkgs[@]}" >"$logf" 2>&1 ||
    { tail -n 30 "$logf" >&2; die "$tag: apt-get install failed (log: $logf)"; }
  rm -f "$r/tmp/libeatmydata.so"
}

# Make a Debian rootfs behave like the official python:X images.  pip: "debian"
# (the default python3's python3-pip) or "wheel" (Debian's pip wheel installed
# into /usr/local for an extra version, as ensurepip would; Debian disables ensurepip).
tweak_python_rootfs() { # rootfs v pip
  local r=$1 v=$2 pip=$3 f w
  [ -x "$r/usr/bin/python$v" ] || die "no /usr/bin/python$v in $r"
  rm -f "$r/usr/lib/python$v/EXTERNALLY-MANAGED"
  mkdir -p "$r/usr/local/bin" "$r/usr/local/share/ca-certificates"
  if [ "$pip" = wheel ]; then
    w=$(cd "$r" && compgen -G 'usr/share/python-wheels/pip-*.whl' | sort -V | tail -n1) ||
      die "no pip wheel in $r/usr/share/python-wheels"
    chroot "$r" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 "/usr/bin/python$v" "/$w/pip" \
      install -q --no-index --no-cache-dir --no-compile --ignore-installed --root-user-action=ignore \
      --disable-pip-version-check "/$w"
  fi
  for f in python:python$v python3:python$v python$v:python$v \
    python3-config:python$v-config python$v-config:python$v-config; do
    if [ -e "$r/usr/bin/${f#*:}" ]; then ln -sfn "/usr/bin/${f#*:}" "$r/usr/local/bin/${f%%:*}"; fi
  done
  install -m 0644 "$HOST_CA" "$r$CERT"
  # An old suite's Debian pip (bullseye: 20.3) lacks what builds use (`pip --python`, pip 22.3):
  # the official images carry a current pip, so one from PyPI goes where Debian puts a root
  # pip install (/usr/local: bin/pip, lib/python3.X/dist-packages, ahead of Debian's).
  if [ "$pip" = debian ] && ! chroot "$r" /usr/bin/pip3 --version |
    awk '{ split($2, a, "."); exit !(a[1] > 22 || (a[1] == 22 && a[2] >= 3)) }'; then
    cp /etc/resolv.conf "$r/etc/resolv.conf"
    chroot "$r" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 "/usr/bin/python$v" -m pip \
     install -q --no-cache-dir --no-compile --disable-pip-version-check 'pip>=23,<25' ||
      die "pip from PyPI could not be installed in $r"
    pip=pypi
  fi
  if [ "$pip" = debian ]; then
    for f in pip pip3 pip$v; do ln -sfn /usr/bin/pip3 "$r/usr/local/bin/$f"; done
  fi
  [ -e "$r/usr/local/bin/pip$v" ] || die "no /usr/local/bin/pip$v in $r"
  # keep the host CAs if update-ca-certificates runs again in a derived image
  install -m 0644 "$HOST_CA" "$r/usr/local/share/ca-certificates/pyslim-host-bundle.crt"
}

# Distroless-like tree: only the files (dpkg-query -L) of the runtime packages.
make_distroless() {
  local root=$1 stage=$2 v=$3 adm=$1/var/lib/dpkg
  local -A want=() installed=() depends=()
  local queue=() p deps group alt name status missing
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
  # The image is merged-/usr, like gcr.io/distroless: a file a package lists below /bin, /lib,
  # /lib64 or /sbin goes to /usr/....  The rootfs need not be: bullseye's is not (libc and the
  # loader are files in its /lib), while on a merged one /lib/x resolves through the lib ->
  # usr/lib link.  So each file is read at the path the package lists, which is where the rootfs
  # has it either way, and renamed to its merged path on the way into the stage (tar --transform,
  # names and hard-link targets, not symlink targets); one entry per merged path.
  # shellcheck disable=SC2046
  dpkg-query --admindir="$adm" -L $(cat "$stage.packages") | grep '^/' |
    grep -Ev '^/usr/share/(man|info|lintian|linda|doc|doc-base|bug|locale|groff)(/|$)' |
    awk '{ to = $0; if (to ~ /^\/(bin|sbin|lib|lib64|lib32|libx32)(\/|$)/) to = "/usr" to
           if (to ~ /^\/usr\/(bin|lib|lib64|sbin)?$/ || to == "/" || seen[to]++) next
           print "." $0 }' >"$stage.files"
  # A listed file the rootfs lacks would be missing from the image: stop and name it.
  missing=$(while IFS= read -r p; do [ -e "$root/$p" ] || [ -L "$root/$p" ] || printf '  %s\n' "${p#.}"; done <"$stage.files")
  [ -z "$missing" ] || die "distroless stage: files the package database lists are not in $root:
$missing"
  tar -C "$root" --no-recursion -T "$stage.files" \
    --transform='s#^\./(bin|sbin|lib|lib64|lib32|libx32)(/|$)#./usr/\1\2#xrhS' -cf - |
    tar -C "$stage" -xpf - || die "distroless stage: copying the listed files of $root failed"
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

# Clean, tweak, tar and import one finished rootfs (and the distroless tree made
# from the default version's slim rootfs, if the suite has one); frees the rootfs.
finish_rootfs() { # suite dir key kind v pip
  local suite=$1 dir=$2 key=$3 kind=$4 v=$5 pip=$6 r=$2/work/$4-$5 d pyver
  pyver=$(dpkg-query --admindir="$r/var/lib/dpkg" -W -f='${Version}' "python$v-minimal")
  pyver=${pyver%%-*}
  echo "$pyver" >"$dir/python-$v.version"
  clean_rootfs "$r"
  d=$(suite_distroless "$suite")
  if [ "$kind" = slim ] && [ "$pip" = debian ] && [ -n "$d" ]; then
    make_distroless "$r" "$dir/work/distroless" "$v"
    tar -C "$dir/work/distroless" --numeric-owner -cf "$dir/distroless.tar.tmp" .
    rm -rf "$dir/work/distroless"
  fi
  tweak_python_rootfs "$r" "$v" "$pip"
  tar -C "$r" -cf "$dir/$kind-$v.tar.tmp" .
  rm -rf --one-file-system "$r"
  import_stale "$suite" "$dir" "$key" "$kind-$v.tar" "$dir/$kind-$v.tar.tmp" "$pyver"
  if [ -f "$dir/distroless.tar.tmp" ] && [ "$kind" = slim ] && [ "$pip" = debian ]; then
    import_stale "$suite" "$dir" "$key" distroless.tar "$dir/distroless.tar.tmp" "$pyver"
  fi
}

# Bootstrap one suite and write its tarballs (see suite_images) + python-X.Y.version.
# Stale images are imported as soon as their tarball is ready; the slim and
# distroless images of a version while its full rootfs is still installing.
build_rootfs() { # suite dir key
  local suite=$1 dir=$2 key=$3 work=$2/work f v v0 pid
  local -a versions dpkgopts=() aptopts=() bg=() sources mmopts=(--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata)
  read -ra versions <<<"$(suite_versions "$suite")"
  v0=${versions[0]}
  remove_workdir "$work"
  rm -f "$dir"/*.tar "$dir"/*.tmp "$dir"/*.version "$dir"/*.log "$dir"/*.pkgs "$dir"/meta.env
  mkdir -p "$work"
  log "[$suite] mmdebstrap --variant=minbase --include=$BASE_PKGS"
  for f in "${SLIMIFY_DPKGOPTS[@]}"; do dpkgopts+=(--dpkgopt="$f"); done
  for f in "${APTOPTS[@]}"; do aptopts+=(--aptopt="$f"); done
  mapfile -t sources < <(suite_sources "$suite")
  if suite_is_ubuntu "$suite"; then
    [ -n "$UBUNTU_KEYRING" ] || die "[$suite] no Ubuntu archive keyring (ensure_ubuntu_keyring)"
    # mmdebstrap's eatmydata hook finds nothing to fetch in Ubuntu's index (its `apt-get download
    # --print-uris` parser wants SHA256 sums, apt prints Ubuntu's SHA512) and leaves a dpkg
    # wrapper that execs a missing /usr/bin/eatmydata: bootstrap without it.
    mmopts=(--keyring="$UBUNTU_KEYRING")
  fi
  mmdebstrap --mode=root --variant=minbase --include="$BASE_PKGS" "${dpkgopts[@]}" "${aptopts[@]}" \
    "${mmopts[@]}" \
    --skip=cleanup/apt/lists --skip=cleanup/apt/cache \
    "$suite" "$work/base" "${sources[@]}" >"$dir/mmdebstrap.log" 2>&1 ||
    { tail -n 30 "$dir/mmdebstrap.log" >&2; die "[$suite] mmdebstrap failed (log: $dir/mmdebstrap.log)"; }

  # extra versions: slim rootfs in the background (full comes later from full-$v0)
  for v in "${versions[@]:1}"; do
    (
      cp -a "$work/base" "$work/slim-$v"
      # shellcheck disable=SC2046
      chroot_install "$work/slim-$v" "[$suite] slim $v" "$dir/slim-$v.apt.log" $(extra_slim_pkgs "$v")
      finish_rootfs "$suite" "$dir" "$key" slim "$v" wheel
    ) &
    bg+=($!)
  done
  cp -a "$work/base" "$work/slim-$v0"
  # shellcheck disable=SC2086
  chroot_install "$work/slim-$v0" "[$suite] slim $v0" "$dir/slim-$v0.apt.log" $DEFAULT_SLIM_PKGS
  cp -a "$work/slim-$v0" "$work/full-$v0"
  rm -rf --one-file-system "$work/base"
  finish_rootfs "$suite" "$dir" "$key" slim "$v0" debian &
  bg+=($!)
  # shellcheck disable=SC2086
  chroot_install "$work/full-$v0" "[$suite] full $v0 (buildpack-deps set)" "$dir/full-$v0.apt.log" $DEFAULT_FULL_PKGS
  for v in "${versions[@]:1}"; do
    cp -a "$work/full-$v0" "$work/full-$v"
    (
      # shellcheck disable=SC2046
      chroot_install "$work/full-$v" "[$suite] full $v" "$dir/full-$v.apt.log" $(extra_full_pkgs "$v")
      finish_rootfs "$suite" "$dir" "$key" full "$v" wheel
    ) &
    bg+=($!)
  done
  finish_rootfs "$suite" "$dir" "$key" full "$v0" debian
  for pid in "${bg[@]}"; do wait "$pid" || die "[$suite] a background stage failed"; done

  for f in "$dir"/*.tar.tmp; do mv "$f" "${f%.tmp}"; done
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
# The `docker import` changes (config and labels) of one image, one a line: what is in the image
# besides its tarball.
image_changes() { # kind ref suite key v pyver
  local kind=$1 ref=$2 suite=$3 key=$4 v=$5 pyver=$6
  local certenv="SSL_CERT_FILE=$CERT PIP_CERT=$CERT REQUESTS_CA_BUNDLE=$CERT"
  case $kind in
    full|slim)
      echo "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 PYTHON_VERSION=$pyver $certenv"
      echo 'CMD ["python3"]'
      ;;
    distroless|distroless-nonroot)
      echo "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 $certenv"
      echo "ENTRYPOINT [\"/usr/bin/python$v\"]"
      if [ "$kind" = distroless-nonroot ]; then echo 'USER 65532'; echo 'WORKDIR /home/nonroot'; fi
      ;;
  esac
  echo "LABEL $LABEL_KEY=$key org.pyslim.fixture.suite=$suite org.pyslim.fixture.python=$v org.pyslim.fixture.stand-in-for=$(standin_for "$kind" "$ref")"
}

# What a stand-in must do before it gets its tag (no network): its interpreter runs and imports
# the stdlib modules that load shared libraries (a tree without its loader, libc, libssl or
# libffi fails here); on the full and slim images `python -m venv` makes a venv with pip, and the
# venv's pip and pipX.Y run.  Prints what it saw; on failure, why.
check_image() { # kind image v
  local kind=$1 image=$2 v=$3 probe out venv
  probe="import sys, ssl, sqlite3, ctypes, zlib, bz2, lzma, hashlib, decimal, json, uuid, pyexpat, socket
print('python %d.%d' % sys.version_info[:2], '|', ssl.OPENSSL_VERSION, '| sqlite', sqlite3.sqlite_version)"
  out=$(docker run --rm --network none --entrypoint "/usr/bin/python$v" "$image" -c "$probe" 2>&1) ||
    { printf '/usr/bin/python%s -c "import ssl, sqlite3, ctypes, ..." failed:\n%s\n' "$v" "$out"; return 1; }
  [[ $out == "python $v |"* ]] || { printf '/usr/bin/python%s reports %s, not Python %s\n' "$v" "$out" "$v"; return 1; }
  echo "$out"
  case $kind in
    full|slim)
      venv="set -e; python$v -m venv /tmp/venv; /tmp/venv/bin/python -m pip --version; pip$v --version"
      out=$(docker run --rm --network none "$image" sh -c "$venv" 2>&1) ||
        { printf 'python%s -m venv, pip: failed:\n%s\n' "$v" "$out"; return 1; }
      [ "$(grep -c "(python $v)" <<<"$out")" = 2 ] || { printf 'pip is not for Python %s:\n%s\n' "$v" "$out"; return 1; }
      echo "venv + pip: $(head -n1 <<<"$out")"
      ;;
  esac
}

# Import one tarball as an untagged image, check it (check_image), and only then tag it as ref:
# an image that fails its check is removed and the script stops, so no broken stand-in is tagged.
import_image() {
  local kind=$1 ref=$2 suite=$3 tarball=$4 key=$5 v=$6 pyver=$7 old id line seen
  local -a c=()
  while IFS= read -r line; do c+=(-c "$line"); done < <(image_changes "$kind" "$ref" "$suite" "$key" "$v" "$pyver")
  old=$(docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null || true)
  id=$(docker import "${c[@]}" -m "pyslim offline stand-in for $(standin_for "$kind" "$ref")" "$tarball") ||
    die "$ref: docker import $tarball failed"
  if ! seen=$(check_image "$kind" "$id" "$v" 2>&1); then
    docker rmi "$id" >/dev/null 2>&1 || true
    die "$ref: the image imported from $tarball fails its check, so it is not tagged:
$seen"
  fi
  docker tag "$id" "$ref"
  log "[$suite] $ref checked: $(tr '\n' ' ' <<<"$seen")"
  # drop the replaced image if nothing else uses it
  if [ -n "$old" ] && [ "$old" != "$id" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
}

# ---------------------------------------------------------------------------
hash_str() { sha256sum | cut -c1-16; }

ca_hash() { [ -r "$HOST_CA" ] || die "CA bundle $HOST_CA not readable"; sha256sum <"$HOST_CA" | cut -c1-16; }

# The recipe of a suite's rootfs tarballs: what they are made from and how.  The distroless
# assembly counts only for the suites that have a distroless image.
rootfs_key() { # suite
  {
    echo "rootfs-recipe-3 $1"
    suite_sources "$1"
    echo "$BASE_PKGS|$DEFAULT_SLIM_PKGS|$DEFAULT_FULL_PKGS|$CERT"
    echo "${SLIMIFY_DPKGOPTS[*]}|${APTOPTS[*]}"
    suite_versions "$1"
    declare -f suite_is_ubuntu extra_slim_pkgs extra_full_pkgs clean_rootfs \
      resolve_pkgs chroot_install tweak_python_rootfs finish_rootfs build_rootfs
    if [ -n "$(suite_distroless "$1")" ]; then
      echo "distroless $(suite_distroless "$1") $DISTROLESS_SEEDS|$DISTROLESS_EXCLUDE"
      declare -f make_distroless
    fi
    ca_hash
  } | hash_str
}

# The recipe of a suite's images: its rootfs, and how each image is imported and checked (a
# changed check re-imports, so every tagged image passed the current one).
image_key() { # suite
  { rootfs_key "$1"; declare -f image_changes check_image import_image suite_images standin_for; } | hash_str
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

# Ubuntu's archive keyring for mmdebstrap --keyring: the host's, from Debian's ubuntu-keyring
# package (installed here if the host's suite has it: trixie and later); a host whose suite lacks
# it (bookworm) gets the same package from Debian $KEYRING_SUITE through apt with a private sources
# list and cache (checked against the host's Debian archive keys), unpacked in the cache dir.
KEYRING_SUITE=trixie
ensure_ubuntu_keyring() {
  local k=usr/share/keyrings/ubuntu-archive-keyring.gpg d=$CACHE/ubuntu-keyring
  local -a o
  if [ ! -e "/$k" ] && [ ! -e "$d/root/$k" ]; then
    log "installing ubuntu-keyring"
    if ! apt-get install -y -q --no-install-recommends ubuntu-keyring >"$CACHE/apt-host.log" 2>&1; then
      log "the host's suite has no ubuntu-keyring: fetching Debian $KEYRING_SUITE's"
      rm -rf "$d"
      mkdir -p "$d/lists/partial" "$d/archives/partial" "$d/parts" "$d/root"
      echo "deb $MIRROR $KEYRING_SUITE main" >"$d/sources.list"
      o=(-q -o "Dir::Etc::SourceList=$d/sources.list" -o "Dir::Etc::SourceParts=$d/parts"
        -o "Dir::State::Lists=$d/lists" -o "Dir::Cache::Archives=$d/archives"
        -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o 'Acquire::Languages=none')
      { apt-get "${o[@]}" update && (cd "$d" && apt-get "${o[@]}" download ubuntu-keyring) &&
        dpkg-deb -x "$d"/ubuntu-keyring_*.deb "$d/root"; } >>"$CACHE/apt-host.log" 2>&1 ||
        { tail -n 20 "$CACHE/apt-host.log" >&2; die "could not fetch ubuntu-keyring from Debian $KEYRING_SUITE"; }
      rm -rf "$d/lists" "$d/archives"
    fi
  fi
  if [ -e "/$k" ]; then UBUNTU_KEYRING=/$k; else UBUNTU_KEYRING=$d/root/$k; fi
  [ -s "$UBUNTU_KEYRING" ] || die "no Ubuntu archive keyring at $UBUNTU_KEYRING"
}

# Import the images made from one tarball whose label is not the current key.
import_stale() { # suite dir key tarball-name tarball-path [python-full-version]
  local suite=$1 dir=$2 key=$3 name=$4 path=$5 pyver=${6:-} kind ref v t
  while read -r kind ref v t; do
    [ "$t" = "$name" ] || continue
    if [ "$FORCE" = 1 ] || [ "$(image_label "$ref")" != "$key" ]; then
      log "[$suite] docker import $ref"
      import_image "$kind" "$ref" "$suite" "$path" "$key" "$v" "${pyver:-$(cat "$dir/python-$v.version")}"
    fi
  done < <(suite_images "$suite")
}

# Build (if needed) and import (if needed) one suite.  Runs in the background.
do_suite() {
  local suite=$1 dir key rkey kind ref v t cached=1
  dir=$CACHE/$suite
  key=$(image_key "$suite")
  rkey=$(rootfs_key "$suite")
  mkdir -p "$dir"
  [ "$FORCE" = 0 ] && [ "$(cat "$dir/rootfs.key" 2>/dev/null)" = "$rkey" ] || cached=0
  while read -r kind ref v t; do
    [ -f "$dir/$t" ] && [ -f "$dir/python-$v.version" ] || cached=0
  done < <(suite_images "$suite")
  if [ "$cached" = 0 ]; then
    rm -f "$dir/rootfs.key"
    build_rootfs "$suite" "$dir" "$key"
    echo "$rkey" >"$dir/rootfs.key"
    log "[$suite] rootfs tarballs cached: $(du -ch "$dir"/*.tar | tail -n1 | cut -f1) in $dir"
  else
    log "[$suite] reusing cached rootfs tarballs in $dir"
    while read -r kind ref v t; do
      import_stale "$suite" "$dir" "$key" "$t" "$dir/$t"
    done < <(suite_images "$suite" | awk '!seen[$4]++')
  fi
  log "[$suite] done"
}

# ---------------------------------------------------------------------------
main() {
  local suite kind ref v t stale=() names=() rc=0 i key
  if [ "$LIST_SUITES" = 1 ]; then
    for suite in $DEFAULT_SUITES; do echo "$suite default"; done
    for suite in $OPT_IN_SUITES; do echo "$suite opt-in"; done
    return 0
  fi
  for suite in $SUITES; do suite_versions "$suite" >/dev/null; done
  if [ "$LIST" = 1 ]; then
    for suite in $SUITES; do
      while read -r kind ref v t; do
        echo "$ref $(standin_for "$kind" "$ref") $v $kind"
      done < <(suite_images "$suite")
    done
    return 0
  fi
  command -v docker >/dev/null || die "docker CLI not found"
  docker version >/dev/null 2>&1 || die "cannot reach the Docker daemon (docker version failed)"
  for suite in $SUITES; do
    key=$(image_key "$suite")
    while read -r kind ref v t; do
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
    for suite in $SUITES; do
      if suite_is_ubuntu "$suite"; then ensure_ubuntu_keyring; break; fi
    done
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
  # The service stand-ins (postgres, redis, mysql/mariadb) sit on trixie's slim image.
  if [ "${PYSLIM_FIXTURE_SERVICES:-1}" = 1 ]; then
    if docker image inspect "$NS/python:3.13-slim" >/dev/null 2>&1; then
      local -a svc_args=()
      if [ "$FORCE" = 1 ]; then svc_args+=(--force); fi
      "$(dirname "${BASH_SOURCE[0]}")/fixture-services.sh" "${svc_args[@]}" || exit 1
    else
      log "no $NS/python:3.13-slim (trixie): service stand-ins not built"
    fi
  fi
  docker images --filter "reference=$NS/*" --filter "reference=$NS/*/*" \
    --format 'table {{.Repository}}:{{.Tag}}\t{{.ID}}\t{{.Size}}' | { IFS= read -r h; echo "$h"; sort; }
}

main
