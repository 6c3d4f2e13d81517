# The cc-ci bridge image: `cc-ci-bridge` (Gitea intake, Drone triggering, status page, API).
# Configuration by environment (docs/bridge-config.md); secrets as files with *_FILE (Docker
# secrets). The SQLite store lives in /var/lib/cc-ci-bridge: mount a volume there.
#
# Build it with docker/build-bridge-image.sh, which stages the built packages and their
# production dependencies copied from this checkout's node_modules (better-sqlite3 is a native
# module built for this machine's Node.js, so the base image must run the same Node.js major).
# BASE_IMAGE defaults to the official Node image; cc-ci's own tests use ccci/node-base:20.
ARG BASE_IMAGE=node:20-bookworm-slim
FROM ${BASE_IMAGE}
COPY app /opt/cc-ci
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    CCCI_DB_PATH=/var/lib/cc-ci-bridge/cc-ci.sqlite
EXPOSE 8080
VOLUME /var/lib/cc-ci-bridge
# A young generation of 4 MiB semi-spaces (V8's default is 16): the bridge's garbage is many
# small, short-lived objects, and the bigger young generation only kept ~30 MiB more resident
# (bench/bridge-process.mjs measures this very command).
ENTRYPOINT ["node", "--max-semi-space-size=4", "/opt/cc-ci/node_modules/@cc-ci/bridge/dist/main.js"]
