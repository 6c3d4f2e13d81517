#!/usr/bin/env bash
# Build the cc-ci bridge image from this checkout.
#
# Usage: docker/build-bridge-image.sh [--base IMAGE] [--tag TAG]
#   --base  base image (default node:20-bookworm-slim; tests use ccci/node-base:20)
#   --tag   image tag (default ccci/bridge:dev)
#
# Stages a build context with the built packages (npm run build first) and the production
# dependency closure of @cc-ci/bridge copied from node_modules — the same files the tests ran
# against, native better-sqlite3 included.
set -euo pipefail
cd "$(dirname "$0")/.."
base=node:20-bookworm-slim
tag=ccci/bridge:dev
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    *) echo "usage: $0 [--base IMAGE] [--tag TAG]" >&2; exit 2 ;;
  esac
done
[ -f packages/bridge/dist/main.js ] || { echo "build first: npm run build" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/app/node_modules/@cc-ci"
for p in harness-core bridge; do
  mkdir -p "$stage/app/node_modules/@cc-ci/$p"
  cp packages/$p/package.json "$stage/app/node_modules/@cc-ci/$p/"
  cp -a packages/$p/dist "$stage/app/node_modules/@cc-ci/$p/"
done
# The production dependency closure, resolved the way Node resolves it, copied with its layout.
node scripts/copy-prod-deps.mjs "$stage/app" packages/harness-core packages/bridge
cp docker/bridge.Dockerfile "$stage/Dockerfile"
docker build --quiet --build-arg "BASE_IMAGE=$base" -t "$tag" "$stage" >/dev/null
echo "built $tag on $base ($(docker image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
