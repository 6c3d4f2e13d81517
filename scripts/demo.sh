#!/usr/bin/env bash
# The main job, end to end on this machine:
#   1. set up (docker.io, swarm, chromium, npm deps, build, local images) — idempotent;
#   2. turn examples/recipes/notes into a git repository with two releases and a "PR head";
#   3. start cc-ci-bridge (status page) on http://127.0.0.1:${CCCI_DEMO_PORT:-8080};
#   4. run `cc-ci run` on the PR head against the local swarm, uploading results to the bridge;
#   5. check that the status page shows the run, and leave the bridge running.
#
# Environment: CCCI_DEMO_PORT (default 8080), CCCI_DEMO_STAGES (default: every tier;
# lint is unver without abra), CCCI_DEMO_DIR (default ./runs/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
port=${CCCI_DEMO_PORT:-8080}
demo=${CCCI_DEMO_DIR:-$root/runs/demo}
stages=${CCCI_DEMO_STAGES:-install,upgrade,backup,restore,custom,lint}

say() { printf '\ndemo: %s\n' "$*"; }

bash scripts/setup.sh --no-chromium

mkdir -p "$demo"
# Stop a bridge left running by an earlier demo.
if [ -f "$demo/bridge.pid" ] && kill -0 "$(cat "$demo/bridge.pid")" 2>/dev/null; then
  kill "$(cat "$demo/bridge.pid")" && sleep 1
fi
rm -rf "$demo/notes-repo"
head=$(bash scripts/make-recipe-repo.sh examples/recipes/notes "$demo/notes-repo" 0.1.0+1.35.0 0.2.0+1.35.0)
say "recipe repository $demo/notes-repo: releases 0.1.0+1.35.0, 0.2.0+1.35.0; PR head ${head:0:12}"

token_file="$demo/results-token"
[ -s "$token_file" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token_file"
chmod 600 "$token_file"

say "starting cc-ci-bridge on http://127.0.0.1:$port (log: $demo/bridge.log)"
CCCI_DB_PATH="$demo/cc-ci.sqlite" CCCI_RESULTS_TOKEN_FILE="$token_file" CCCI_REPOS="recipe-maintainers/notes" \
  CCCI_POLL_INTERVAL_S=0 CCCI_PUBLIC_URL="http://127.0.0.1:$port" HOST=127.0.0.1 PORT="$port" \
  setsid node packages/bridge/dist/main.js >"$demo/bridge.log" 2>&1 </dev/null &
echo $! >"$demo/bridge.pid"
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "demo: the bridge did not start; see $demo/bridge.log" >&2; exit 1; }

say "running: cc-ci run $demo/notes-repo --recipe notes --ref ${head:0:12} --stages $stages"
set +e
PLUGIN_BRIDGE_URL="http://127.0.0.1:$port" PLUGIN_RESULTS_TOKEN="$(cat "$token_file")" CCCI_RUNS_DIR="$demo/runs" \
  node packages/drone-plugin/dist/main.js run "$demo/notes-repo" --recipe notes --ref "$head" --stages "$stages"
status=$?
set -e

page=$(curl -fsS "http://127.0.0.1:$port/recipes/notes")
if grep -q 'href="/runs/' <<<"$page"; then
  say "the status page shows the run: http://127.0.0.1:$port/ (recipe: http://127.0.0.1:$port/recipes/notes)"
else
  echo "demo: the status page does not show the run" >&2
  status=1
fi
say "bridge still running (pid $(cat "$demo/bridge.pid")); stop it with: kill \$(cat $demo/bridge.pid)"
exit $status
