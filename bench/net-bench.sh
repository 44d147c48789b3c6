#!/usr/bin/env bash
# Network benchmark: TCP both ways and connection setup through -netdev user in the default guest (Linux from
# Debian's linux-source-6.1 + a BusyBox initramfs) under qemu-system-riscv64
# and tsemu-system-riscv64 in the same run (virtio-net-pci).
#
# Environment: BENCH_MIB (MiB each way; default 32), BENCH_CONNECTIONS (default 100),
# QEMU_SYSTEM / TSEMU_SYSTEM (emulator commands).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/deps.sh" system >&2
[ -f "$root/dist/bench/net-throughput.js" ] || (cd "$root" && npx tsc -p tsconfig.json)
linux="$("$root/guest/build-linux.sh" | tail -n 1)"
initramfs="$("$root/guest/build-initramfs.sh" | tail -n 1)"
exec node "$root/dist/bench/net-throughput.js" "$linux/Image" "$initramfs"
