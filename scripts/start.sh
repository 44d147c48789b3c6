#!/usr/bin/env bash
# The main job: boot the default guest on tsemu-system-riscv64's virt board.
# The guest (Linux from Debian's linux-source-6.1 with guest/linux.config, and
# a BusyBox initramfs) is built when it is not cached (a few minutes the first
# time, progress below); then it boots to a shell on this terminal.
# Ctrl-A x quits; `poweroff` in the guest ends it too.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/src/cli/tsemu-system-riscv64.js ] || npx tsc -p tsconfig.json
scripts/deps.sh user native busybox linux system
scripts/build-native.sh --require
echo "Preparing the default guest (cached after the first build)." >&2
linux="$(guest/build-linux.sh | tail -n 1)"
initrd="$(guest/build-initramfs.sh | tail -n 1)"
echo "Booting Linux on tsemu-system-riscv64 -M virt (Ctrl-A x quits, Ctrl-A h helps)." >&2
exec bin/tsemu-system-riscv64 -M virt -m 256M -smp 2 -nographic \
  -kernel "$linux/Image" -initrd "$initrd" -append "console=ttyS0" "$@"
