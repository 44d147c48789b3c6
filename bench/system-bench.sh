#!/usr/bin/env bash
# System benchmark: boot-to-shell time of the default guest (Linux from
# Debian's linux-source-6.1 + a BusyBox initramfs) under qemu-system-riscv64
# and tsemu-system-riscv64 in the same run, and the ratio.
#
# Environment: BENCH_REPEAT (runs per emulator, the fastest counts; default 1),
# BENCH_SMP (harts, default 1), QEMU_SYSTEM / TSEMU_SYSTEM (emulator commands).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/deps.sh" system >&2
[ -f "$root/dist/bench/boot-time.js" ] || (cd "$root" && npx tsc -p tsconfig.json)
linux="$("$root/guest/build-linux.sh" | tail -n 1)"
initramfs="$("$root/guest/build-initramfs.sh" | tail -n 1)"
exec node "$root/dist/bench/boot-time.js" "$linux/Image" "$initramfs" "${BENCH_REPEAT:-1}"
