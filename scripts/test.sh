#!/usr/bin/env bash
# The whole test suite: type check and build, lint, the guest test programs,
# the default guest's kernel and initramfs and the Linux 6.12 kernel (built
# from Debian's sources with Debian's cross compiler, cached), then every
# test under test/: unit
# tests, differential tests against QEMU, and boots of the system emulator.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh user native gdb img browser
echo "== build (tsc, strict; the native modules; the start-up bundle)"
npx tsc -p tsconfig.json
scripts/build-native.sh --require
node scripts/build-bundle.mjs
echo "== the web page's type check (DOM library)"
npx tsc -p web/tsconfig.json
echo "== lint (eslint)"
npx eslint .
echo "== guest test programs"
guest/build-tests.sh >/dev/null
echo "== guest images (Linux 6.1 and 6.12, a BusyBox initramfs; built once, then cached)"
scripts/deps.sh busybox linux linux-6.12 system
guest/build-linux.sh >/dev/null
guest/build-initramfs.sh >/dev/null
guest/build-linux.sh 6.12 >/dev/null
echo "== tests"
node --test --test-concurrency=2 dist/test/
