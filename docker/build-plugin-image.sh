#!/usr/bin/env bash
# Build the cc-ci plugin image from this checkout.
#
# Usage: docker/build-plugin-image.sh [--base IMAGE] [--tag TAG]
#   --base  base image (default node:20-bookworm-slim; tests use ccci/plugin-base:20)
#   --tag   image tag (default ccci/plugin:dev)
#
# Stages a build context with the built packages (npm run build first), their production
# dependencies installed from the npm registry at the versions in package-lock.json, and recipes/.
set -euo pipefail
cd "$(dirname "$0")/.."
base=node:20-bookworm-slim
tag=ccci/plugin:dev
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    *) echo "usage: $0 [--base IMAGE] [--tag TAG]" >&2; exit 2 ;;
  esac
done
[ -f packages/drone-plugin/dist/main.js ] || { echo "build first: npm run build" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/app"
# Production dependencies of harness-core and the plugin, pinned to what the lock file resolved.
node -e '
  const fs = require("fs");
  const deps = {};
  for (const p of ["packages/harness-core", "packages/drone-plugin"]) {
    for (const name of Object.keys(require(`./${p}/package.json`).dependencies ?? {})) {
      if (name.startsWith("@cc-ci/")) continue;
      deps[name] = require(`./node_modules/${name}/package.json`).version;
    }
  }
  fs.writeFileSync(process.argv[1], JSON.stringify({ name: "cc-ci-plugin-image", private: true, type: "module", dependencies: deps }, null, 2));
' "$stage/app/package.json"
(cd "$stage/app" && npm install --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)
for p in harness-core drone-plugin; do
  mkdir -p "$stage/app/node_modules/@cc-ci/$p"
  cp packages/$p/package.json "$stage/app/node_modules/@cc-ci/$p/"
  cp -a packages/$p/dist "$stage/app/node_modules/@cc-ci/$p/"
done
cp -a recipes "$stage/app/recipes"
cp docker/plugin.Dockerfile "$stage/Dockerfile"
docker build --quiet --build-arg "BASE_IMAGE=$base" -t "$tag" "$stage" >/dev/null
echo "built $tag on $base ($(docker image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
