#!/usr/bin/env bash
# Disk benchmark: dd of 64 MiB to and from a raw disk in the default guest (Linux from
# Debian's linux-source-6.1 + a BusyBox initramfs) under qemu-system-riscv64
# and tsemu-system-riscv64 in the same run, on virtio-mmio and virtio-blk-pci.
#
# Environment: BENCH_MIB (MiB written and read; default 64),
# QEMU_SYSTEM / TSEMU_SYSTEM (emulator commands).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/with-guest.sh" disk-throughput
