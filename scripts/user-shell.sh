#!/usr/bin/env bash
# An interactive BusyBox shell (BusyBox built from Debian's
# source package, cached) running under tsemu-riscv64.  Its applets come
# first on the PATH, as links to the riscv64 BusyBox, so commands typed at
# the prompt run emulated too (host programs are still reachable after them).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/src/cli/tsemu-riscv64.js ] || npx tsc -p tsconfig.json
scripts/deps.sh user
busybox=$(guest/build-busybox.sh | tail -n 1)
applets="$(dirname "$busybox")/applets"
if [ ! -d "$applets" ]; then
  mkdir -p "$applets.tmp"
  while read -r link; do
    ln -sf ../busybox "$applets.tmp/$(basename "$link")"
  done < "$(dirname "$busybox")/busybox.links"
  mv "$applets.tmp" "$applets"
fi
echo "Starting BusyBox's shell under tsemu-riscv64 (type 'exit' to leave)." >&2
exec bin/tsemu-riscv64 -E "PATH=$applets:$PATH" "$busybox" sh
