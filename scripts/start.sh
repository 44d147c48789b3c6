#!/usr/bin/env bash
# The main job: an interactive BusyBox shell (BusyBox built from Debian's
# source package, cached) running under tsemu-riscv64.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/src/cli/tsemu-riscv64.js ] || npx tsc -p tsconfig.json
scripts/deps.sh user
busybox=$(guest/build-busybox.sh | tail -n 1)
echo "Starting BusyBox's shell under tsemu-riscv64 (type 'exit' to leave)." >&2
exec bin/tsemu-riscv64 "$busybox" sh
