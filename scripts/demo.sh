#!/usr/bin/env bash
# The main job, end to end on this machine:   bash scripts/demo.sh [notes|ledger]
#   1. set up (docker.io, swarm, chromium, npm deps, build, local images) — idempotent;
#   2. turn examples/recipes/<recipe> (default notes; ledger has a PostgreSQL database) into a
#      git repository with two releases and a "PR head";
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

recipe=${1:-notes}
case "$recipe" in
  notes) releases=(0.1.0+1.35.0 0.2.0+1.35.0) ;;
  ledger) releases=(0.1.0+1.0 0.2.0+1.1) ;;
  -h | --help)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "demo: unknown example recipe '$recipe' (choose notes or ledger)" >&2
    exit 2
    ;;
esac

bash scripts/setup.sh --no-chromium

mkdir -p "$demo"
# Stop a bridge left running by an earlier demo.
if [ -f "$demo/bridge.pid" ] && kill -0 "$(cat "$demo/bridge.pid")" 2>/dev/null; then
  kill "$(cat "$demo/bridge.pid")" && sleep 1
fi
repo="$demo/$recipe-repo"
rm -rf "$repo"
head=$(bash scripts/make-recipe-repo.sh "examples/recipes/$recipe" "$repo" "${releases[@]}")
say "recipe repository $repo: releases ${releases[*]}; PR head ${head:0:12}"

token_file="$demo/results-token"
[ -s "$token_file" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token_file"
chmod 600 "$token_file"

say "starting cc-ci-bridge on http://127.0.0.1:$port (log: $demo/bridge.log)"
CCCI_DB_PATH="$demo/cc-ci.sqlite" CCCI_RESULTS_TOKEN_FILE="$token_file" CCCI_REPOS="recipe-maintainers/notes,recipe-maintainers/ledger" \
  CCCI_POLL_INTERVAL_S=0 CCCI_PUBLIC_URL="http://127.0.0.1:$port" HOST=127.0.0.1 PORT="$port" \
  setsid node --max-semi-space-size=4 packages/bridge/dist/main.js >"$demo/bridge.log" 2>&1 </dev/null &
echo $! >"$demo/bridge.pid"
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "demo: the bridge did not start; see $demo/bridge.log" >&2; exit 1; }

say "running: cc-ci run $repo --recipe $recipe --ref ${head:0:12} --stages $stages"
set +e
PLUGIN_BRIDGE_URL="http://127.0.0.1:$port" PLUGIN_RESULTS_TOKEN="$(cat "$token_file")" CCCI_RUNS_DIR="$demo/runs" \
  node packages/drone-plugin/dist/main.js run "$repo" --recipe "$recipe" --ref "$head" --stages "$stages"
status=$?
set -e

page=$(curl -fsS "http://127.0.0.1:$port/recipes/$recipe")
if grep -q 'href="/runs/' <<<"$page"; then
  say "the status page shows the run: http://127.0.0.1:$port/ (recipe: http://127.0.0.1:$port/recipes/$recipe)"
else
  echo "demo: the status page does not show the run" >&2
  status=1
fi
say "bridge still running (pid $(cat "$demo/bridge.pid")); stop it with: kill \$(cat $demo/bridge.pid)"
exit $status
