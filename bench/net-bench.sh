#!/usr/bin/env bash
# Network benchmark: TCP both ways and connection setup through -netdev user in the default guest (Linux from
# Debian's linux-source-6.1 + a BusyBox initramfs) under qemu-system-riscv64
# and tsemu-system-riscv64 in the same run (virtio-net-pci).
#
# Environment: BENCH_MIB (MiB each way; default 32), BENCH_CONNECTIONS (default 100),
# BENCH_RUNS (transfers each way, median reported; default 3),
# QEMU_SYSTEM / TSEMU_SYSTEM (emulator commands).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/with-guest.sh" net-throughput
