# The cc-ci Drone plugin image: `cc-ci run` as the entrypoint, with git and the docker CLI.
# It drives the host's swarm through the mounted socket (-v /var/run/docker.sock:/var/run/docker.sock)
# and keeps run locks in /var/lib/cc-ci (mount it from the host so every run and the janitor
# share them).
#
# Build it with docker/build-plugin-image.sh, which stages the context (built packages, their
# production dependencies, recipes/). BASE_IMAGE defaults to the official Node image; cc-ci's own
# tests build on ccci/plugin-base:20 (docker/build-local-images.sh) because no registry is
# reachable there.
ARG BASE_IMAGE=node:20-bookworm-slim
FROM ${BASE_IMAGE}

# On a Debian base, install git, the docker CLI and CA certificates; a prepared base has them.
RUN if command -v apt-get >/dev/null 2>&1; then \
      apt-get update && apt-get install -y --no-install-recommends git docker-cli tar ca-certificates python3 && \
      rm -rf /var/lib/apt/lists/*; \
    fi

COPY app /opt/cc-ci
ENV PATH=/usr/local/bin:/usr/bin:/bin \
    CCCI_EXPECTED_PATH=/usr/local/bin:/usr/bin:/bin \
    CCCI_CONFIG_DIR=/opt/cc-ci/recipes \
    CCCI_STATE_DIR=/var/lib/cc-ci \
    CCCI_RUNS_DIR=/drone/src/runs \
    NODE_ENV=production
# The image's own ENV, recorded for the plugin: in a Drone step a build param wins over an image
# ENV, so cc-ci compares what it sees with this record and refuses a changed PATH or directory.
RUN node -e 'const e = { ...process.env }; for (const k of ["HOSTNAME", "HOME", "PWD", "SHLVL", "_", "TERM"]) delete e[k]; require("fs").writeFileSync("/opt/cc-ci/image-env.json", JSON.stringify(e))'
ENTRYPOINT ["node", "/opt/cc-ci/node_modules/@cc-ci/drone-plugin/dist/main.js", "run"]
