#!/usr/bin/env bash
# The whole test suite: type check and build, lint, the guest test programs
# (built from source with Debian's cross compiler, cached), then every test
# under test/ — unit tests and the differential tests against QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh user
echo "== build (tsc, strict)"
npx tsc -p tsconfig.json
echo "== lint (eslint)"
npx eslint .
echo "== guest test programs"
guest/build-tests.sh >/dev/null
echo "== tests"
node --test --test-concurrency=2 dist/test/
