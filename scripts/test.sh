#!/usr/bin/env bash
# The whole test suite: type check and build, lint, the guest test programs
# and the default guest's kernel and initramfs (built from Debian's sources
# with Debian's cross compiler, cached), then every test under test/: unit
# tests, differential tests against QEMU, and boots of the system emulator.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh user gdb img
echo "== build (tsc, strict)"
npx tsc -p tsconfig.json
echo "== lint (eslint)"
npx eslint .
echo "== guest test programs"
guest/build-tests.sh >/dev/null
echo "== guest images (Linux and a BusyBox initramfs; built once, then cached)"
scripts/deps.sh busybox linux system
guest/build-linux.sh >/dev/null
guest/build-initramfs.sh >/dev/null
echo "== tests"
node --test --test-concurrency=2 dist/test/
