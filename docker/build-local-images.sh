#!/usr/bin/env bash
# Build the local images cc-ci's tests and examples run, without any registry.
#
# No registry is reachable on CI machines, so images are assembled from Debian packages and this
# machine's own binaries (`apt-get download` + `dpkg-deb -x`, `ldd` for libraries) and loaded
# with `docker import`. Each image is tagged with a stable name and labelled with the sha256 of
# its inputs (this script, the package versions, the host binaries it copies); it is rebuilt only
# when that hash changes.
#
# Images:
#   ccci/web:1        busybox (dynamic) + libc + NSS: sh, httpd (with CGI), nc, tar, wget, ... ≈3 MB
#   ccci/node-base:20 this machine's node binary + the libraries it links; a base for Dockerfiles
#   ccci/plugin-base:20 node-base + git, the docker CLI, GNU tar and busybox (sh): the base the
#                     plugin image is built on in tests (production builds use node:20-bookworm-slim)
#   ccci/postgres:15  PostgreSQL 15 server and client from Debian's postgresql-15 and
#                     postgresql-client-15 packages + busybox, with an entrypoint modelled on the
#                     official postgres image's (POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD_FILE)
#
# Usage: docker/build-local-images.sh [--force] [IMAGE ...]     (default: all images)
# To add an image: write a build_<name> function that fills "$root" and echo its extra inputs in
# inputs_<name>, then add it to ALL_IMAGES. See docs/developing.md.
set -euo pipefail

ALL_IMAGES=(web node-base plugin-base postgres)
declare -A TAGS=([web]="ccci/web:1" [node-base]="ccci/node-base:20" [plugin-base]="ccci/plugin-base:20" [postgres]="ccci/postgres:15")
CACHE_DIR="${CCCI_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cc-ci/images}"
FORCE=0

say() { printf 'images: %-22s %s\n' "$1" "$2"; }
die() { printf 'images: error: %s\n' "$*" >&2; exit 1; }

# Copy an executable and every shared library `ldd` lists for it into root.
copy_with_libs() {
  local bin=$1 root=$2 dest=${3:-$1}
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$bin" "$root$dest"
  # Static binaries (e.g. the docker CLI) have no libraries: ldd fails, and that is fine.
  { ldd "$bin" 2>/dev/null || true; } | { grep -oE '/[^ ]+' || true; } | while read -r lib; do
    [ -e "$lib" ] || continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# Download a Debian package (cached) and print the path of the .deb.
fetch_deb() {
  local pkg=$1
  mkdir -p "$CACHE_DIR/debs"
  local existing
  existing=$(ls "$CACHE_DIR/debs/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$existing" ]; then
    (cd "$CACHE_DIR/debs" && apt-get download "$pkg" >/dev/null 2>&1) || {
      apt-get update -qq >/dev/null 2>&1 || true
      (cd "$CACHE_DIR/debs" && apt-get download "$pkg" >/dev/null) || die "apt-get download $pkg failed"
    }
    existing=$(ls "$CACHE_DIR/debs/${pkg}_"*.deb | head -n1)
  fi
  echo "$existing"
}

add_nss() {
  local root=$1
  for lib in /lib/x86_64-linux-gnu/libnss_dns.so.2 /lib/x86_64-linux-gnu/libnss_files.so.2 \
             /lib/x86_64-linux-gnu/libresolv.so.2 /lib/x86_64-linux-gnu/librt.so.1 \
             /lib/x86_64-linux-gnu/libutil.so.1; do
    [ -e "$lib" ] && { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }
  done
  mkdir -p "$root/etc" "$root/tmp" "$root/var/www" "$root/data"
  chmod 1777 "$root/tmp"
  printf 'hosts: files dns\nnetworks: files\npasswd: files\ngroup: files\n' >"$root/etc/nsswitch.conf"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

inputs_web() { echo "busybox-deb=$(basename "$(fetch_deb busybox)")"; }
build_web() {
  local root=$1 work
  work=$(mktemp -d)
  dpkg-deb -x "$(fetch_deb busybox)" "$work"
  copy_with_libs "$work/bin/busybox" "$root" /bin/busybox
  rm -rf "$work"
  # Symlink every applet (sh, httpd, nc, tar, wget, sleep, ...).
  for applet in $("$root/bin/busybox" --list 2>/dev/null || chroot "$root" /bin/busybox --list); do
    [ "$applet" = busybox ] && continue
    ln -sf /bin/busybox "$root/bin/$applet"
  done
  mkdir -p "$root/usr/bin" "$root/sbin" "$root/usr/sbin"
  add_nss "$root"
  printf 'ok\n' >"$root/var/www/index.html"
}
import_web() {
  docker import \
    --change 'ENV PATH=/bin:/usr/bin:/sbin:/usr/sbin' \
    --change 'WORKDIR /' \
    --change 'CMD ["/bin/httpd", "-f", "-p", "80", "-h", "/var/www"]' \
    "$@"
}

inputs_node-base() { echo "node=$(node --version) sha=$(sha256sum "$(command -v node)" | cut -c1-16)"; }
build_node-base() {
  local root=$1
  copy_with_libs "$(readlink -f "$(command -v node)")" "$root" /usr/bin/node
  add_nss "$root"
  # CA bundle so Node can speak TLS to a registry-less production host's services if asked to.
  if [ -e /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/ssl/certs"; cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  fi
}
import_node-base() {
  docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'CMD ["/usr/bin/node"]' \
    "$@"
}

inputs_plugin-base() {
  inputs_node-base
  echo "git=$(git --version) docker=$(sha256sum "$(command -v docker)" | cut -c1-16) tar=$(tar --version | head -n1)"
  inputs_web
}
build_plugin-base() {
  local root=$1 work f
  build_node-base "$root"
  copy_with_libs "$(readlink -f "$(command -v git)")" "$root" /usr/bin/git
  mkdir -p "$root/usr/lib/git-core" "$root/usr/share/git-core"
  cp -a /usr/lib/git-core/. "$root/usr/lib/git-core/"
  for f in "$root"/usr/lib/git-core/*; do
    [ -f "$f" ] && [ ! -L "$f" ] && file_is_elf "$f" && copy_with_libs "/usr/lib/git-core/$(basename "$f")" "$root" "/usr/lib/git-core/$(basename "$f")"
  done
  [ -d /usr/share/git-core/templates ] && cp -a /usr/share/git-core/templates "$root/usr/share/git-core/"
  copy_with_libs "$(readlink -f "$(command -v docker)")" "$root" /usr/local/bin/docker
  copy_with_libs "$(readlink -f "$(command -v tar)")" "$root" /usr/bin/tar
  work=$(mktemp -d)
  dpkg-deb -x "$(fetch_deb busybox)" "$work"
  copy_with_libs "$work/bin/busybox" "$root" /bin/busybox
  rm -rf "$work"
  for applet in sh ls cat mkdir rm cp mv env sleep id grep sed; do ln -sf /bin/busybox "$root/bin/$applet"; done
}
import_plugin-base() {
  docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'CMD ["/usr/bin/node"]' \
    "$@"
}

# The server runs as postgres (uid 999), as in the official image; the data directory is created
# in the image with that owner so a new named volume inherits it.
PG_UID=999
PG_BINARIES=(postgres initdb pg_ctl pg_isready psql pg_dump pg_dumpall pg_restore createdb)
inputs_postgres() {
  echo "pg=$(basename "$(fetch_deb postgresql-15)") client=$(basename "$(fetch_deb postgresql-client-15)")"
  inputs_web
}
build_postgres() {
  local root=$1 work bin lib missing
  work=$(mktemp -d)
  dpkg-deb -x "$(fetch_deb postgresql-15)" "$work"
  dpkg-deb -x "$(fetch_deb postgresql-client-15)" "$work"
  dpkg-deb -x "$(fetch_deb busybox)" "$work/busybox"
  mkdir -p "$root/usr/local/bin"
  for bin in "${PG_BINARIES[@]}"; do
    missing=$(ldd "$work/usr/lib/postgresql/15/bin/$bin" | grep 'not found' || true)
    [ -z "$missing" ] || die "libraries of $bin are not on this machine ($missing); apt-get install postgresql-15"
    copy_with_libs "$work/usr/lib/postgresql/15/bin/$bin" "$root" "/usr/lib/postgresql/15/bin/$bin"
    ln -sf "/usr/lib/postgresql/15/bin/$bin" "$root/usr/local/bin/$bin"
  done
  # Server modules (PL/pgSQL, dictionaries, encodings); the LLVM JIT is left out (jit=off).
  for lib in "$work"/usr/lib/postgresql/15/lib/*.so; do
    case "$(basename "$lib")" in llvmjit*) continue ;; esac
    copy_with_libs "$lib" "$root" "/usr/lib/postgresql/15/lib/$(basename "$lib")"
  done
  mkdir -p "$root/usr/share/postgresql"
  cp -a "$work/usr/share/postgresql/15" "$root/usr/share/postgresql/"
  # Built --with-system-tzdata: the zone files come from this machine's tzdata.
  mkdir -p "$root/usr/share"
  cp -a /usr/share/zoneinfo "$root/usr/share/"
  copy_with_libs "$work/busybox/bin/busybox" "$root" /bin/busybox
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || [ -e "$root/bin/$applet" ] || ln -sf /bin/busybox "$root/bin/$applet"
  done
  rm -rf "$work"
  add_nss "$root"
  printf 'root:x:0:0:root:/root:/bin/sh\npostgres:x:%s:%s:PostgreSQL:/var/lib/postgresql:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' "$PG_UID" "$PG_UID" >"$root/etc/passwd"
  printf 'root:x:0:\npostgres:x:%s:\nnogroup:x:65534:\n' "$PG_UID" >"$root/etc/group"
  mkdir -p "$root/var/lib/postgresql/data" "$root/var/run/postgresql"
  chown -R "$PG_UID:$PG_UID" "$root/var/lib/postgresql" "$root/var/run/postgresql"
  chmod 0700 "$root/var/lib/postgresql/data"
  chmod 2775 "$root/var/run/postgresql"
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'SH'
#!/bin/sh
# ccci/postgres entrypoint, modelled on the official postgres image's: an empty $PGDATA is
# initialised from POSTGRES_USER, POSTGRES_DB and POSTGRES_PASSWORD_FILE (or POSTGRES_PASSWORD);
# then the server runs in the foreground. Clients on the network authenticate with scram-sha-256,
# local socket clients (hooks run with docker exec) are trusted.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ "${1:-postgres}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then password=$(cat "$POSTGRES_PASSWORD_FILE"); else password=${POSTGRES_PASSWORD:-}; fi
  [ -n "$password" ] || { echo "postgres: set POSTGRES_PASSWORD_FILE or POSTGRES_PASSWORD" >&2; exit 1; }
  pwfile=$(mktemp)
  printf '%s' "$password" >"$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    psql -v ON_ERROR_STOP=1 -q -U "$user" -d postgres -c "CREATE DATABASE \"$db\""
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  echo "postgres: initialised $PGDATA (user $user, database $db)"
fi
if [ "${1:-postgres}" = postgres ]; then
  shift || true
  exec postgres -D "$PGDATA" -c listen_addresses='*' -c jit=off "$@"
fi
exec "$@"
SH
  chmod 0755 "$root/usr/local/bin/docker-entrypoint.sh"
}
import_postgres() {
  docker import \
    --change 'ENV PATH=/usr/local/bin:/bin:/usr/bin:/usr/lib/postgresql/15/bin' \
    --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'ENV TZ=UTC' \
    --change "USER $PG_UID:$PG_UID" \
    --change 'WORKDIR /var/lib/postgresql' \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]' \
    "$@"
}

# ELF binaries start with \x7fELF.
file_is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

build_image() {
  local name=$1 tag=${TAGS[$1]}
  local hash current root
  hash=$( { sha256sum "$0" | cut -d' ' -f1; "inputs_$name"; } | sha256sum | cut -c1-32)
  current=$(docker image inspect --format '{{ index .Config.Labels "cc-ci.inputs" }}' "$tag" 2>/dev/null || true)
  if [ "$FORCE" = 0 ] && [ "$current" = "$hash" ]; then
    say "$tag" "ok (inputs unchanged)"
    return
  fi
  root=$(mktemp -d)
  "build_$name" "$root"
  tar -C "$root" -c . | "import_$name" --change "LABEL cc-ci.inputs=$hash" --change "LABEL cc-ci.image=$name" - "$tag" >/dev/null
  rm -rf "$root"
  say "$tag" "built ($(docker image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.1f MB", $1/1e6}'))"
}

main() {
  local names=()
  for arg in "$@"; do
    case "$arg" in
      --force) FORCE=1 ;;
      -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
      *) [ -n "${TAGS[$arg]:-}" ] || die "unknown image '$arg' (known: ${ALL_IMAGES[*]})"; names+=("$arg") ;;
    esac
  done
  [ ${#names[@]} -gt 0 ] || names=("${ALL_IMAGES[@]}")
  command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (this builder needs a Debian machine)"
  timeout 5 docker info >/dev/null 2>&1 || die "no Docker daemon answers; run scripts/local-swarm.sh first"
  for n in "${names[@]}"; do build_image "$n"; done
}

main "$@"
