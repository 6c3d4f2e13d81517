#!/usr/bin/env bash
# Install and start everything cc-ci needs on a Debian machine, idempotently:
# system packages (git, docker.io, chromium, libxml2-utils), a single-node swarm with the `proxy`
# network, the npm dependencies, the TypeScript build and the local images.
# Safe to re-run: each step checks first and says what it did.
#
# Usage: scripts/setup.sh [--no-chromium]
set -euo pipefail
cd "$(dirname "$0")/.."

want_chromium=1
[ "${1:-}" = --no-chromium ] && want_chromium=0

say() { printf 'setup: %-28s %s\n' "$1" "$2"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node is missing; install Node.js 20 or newer"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
  die "Node.js $(node --version) is too old; cc-ci needs 20.19 or newer"

# System packages, installed only when the command they provide is missing.
missing=()
command -v git >/dev/null || missing+=(git)
command -v xmllint >/dev/null || missing+=(libxml2-utils)
command -v setsid >/dev/null || missing+=(util-linux)
if [ "$want_chromium" = 1 ] && ! [ -x /usr/bin/chromium ]; then missing+=(chromium); fi
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}) and not root; install them with apt-get and re-run"
  say "system packages" "installing ${missing[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
  say "system packages" "done"
else
  say "system packages" "ok"
fi

# Docker engine, daemon, swarm, proxy network.
bash scripts/local-swarm.sh

# npm dependencies, installed only when package.json files or the lock changed since the last
# install. `npm install` (not `npm ci`): the registry mirror records only this platform's optional
# packages in the lock file, which `npm ci` rejects as out of sync; versions still come from the lock.
lock_hash=$(cat package-lock.json package.json packages/*/package.json | sha256sum | cut -c1-32)
if [ -f node_modules/.cc-ci-lock-hash ] && [ "$(cat node_modules/.cc-ci-lock-hash)" = "$lock_hash" ]; then
  say "npm dependencies" "ok"
else
  say "npm dependencies" "installing (npm install) ..."
  npm install --no-audit --no-fund --loglevel=error >/dev/null
  cat package-lock.json package.json packages/*/package.json | sha256sum | cut -c1-32 >node_modules/.cc-ci-lock-hash
  say "npm dependencies" "done"
fi

# TypeScript build (incremental), then a type check of the tests (Jest runs them untyped via swc).
npx tsc -b
npx tsc -p tsconfig.test.json
say "build" "done (tsc -b; tests type-checked)"

# The commands by name: npm links workspace bins only when dist/ existed at install time, so link
# them here, after the build. Root: /usr/local/bin; otherwise ~/.local/bin (put it on PATH).
bin_dir=/usr/local/bin
[ "$(id -u)" = 0 ] || bin_dir="$HOME/.local/bin"
mkdir -p "$bin_dir"
for entry in cc-ci:packages/drone-plugin/dist/main.js cc-ci-bridge:packages/bridge/dist/main.js; do
  name=${entry%%:*}
  target="$PWD/${entry#*:}"
  chmod +x "$target"
  ln -sfn "$target" "$bin_dir/$name"
done
say "commands" "cc-ci, cc-ci-bridge -> $bin_dir (this checkout)"

# Local images (rebuilt only when their inputs change).
bash docker/build-local-images.sh
