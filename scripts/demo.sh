#!/usr/bin/env bash
# Sets up Kiln on a fresh Debian 12 machine with Node.js 20 and runs its main job on the embedded
# defaults, using the repository bundled under test/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund </dev/null
npm run --silent build
kiln() { node dist/cli/main.js "$@"; }
repo=test/fixtures/apk/apko-cli-packages
echo "== verify the bundled repository's packages against its key"
kiln apk verify --keyring "$repo" "$repo"/x86_64/*.apk
echo "== resolve an install plan from the bundled repository"
kiln apk resolve --repository "file://$PWD/$repo" --keyring "$repo" --arch x86_64 replayout
