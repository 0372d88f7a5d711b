#!/usr/bin/env bash
# Sets up everything the test suite needs on a fresh Debian 12 machine with Node.js 20, then runs
# type-check, lint and every test project (unit, integration with real peers, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-debian-packages.sh scripts/debian-test-packages.txt scripts/debian-os-packages.txt
npm ci --no-audit --no-fund </dev/null
npm run --silent typecheck
npm run --silent lint
npm run --silent build
report="$(mktemp)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" </dev/null || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' "$report" || true
rm -f "$report"
exit "$status"
