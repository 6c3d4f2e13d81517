#!/usr/bin/env bash
# The test command (README.md): prepare the machine idempotently, then run every Jest project
# (unit, integration, e2e) and print one summary line "tests: N passed, N failed, N skipped".
# Extra arguments go to Jest, e.g. `scripts/test.sh --selectProjects unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p test-artifacts
report=test-artifacts/jest-results.json
rm -f "$report"
set +e
# Static checks first (seconds): types are checked by the build in setup.sh.
npm run --silent lint
lint_status=$?
npm run --silent format:check >/dev/null 2>&1 || { echo "test.sh: formatting differs from prettier; run npm run format" >&2; lint_status=1; }
node scripts/jest.mjs --json --outputFile="$report" "$@"
status=$?
[ "$status" -ne 0 ] || status=$lint_status
set -e
if [ -f "$report" ]; then
  node -e '
    const r = require(process.argv[1]);
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
    console.log(`suites: ${r.numPassedTestSuites} passed, ${r.numFailedTestSuites} failed`);
  ' "$PWD/$report"
fi
# Every test must leave the swarm as it found it.
leftover=$(docker stack ls --format '{{.Name}}' 2>/dev/null || true)
if [ -n "$leftover" ]; then
  echo "test.sh: stacks left on the swarm after the tests: $leftover" >&2
  status=1
fi
exit $status
