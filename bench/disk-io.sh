#!/usr/bin/env bash
# Disk I/O benchmark: sequential and random 4 KiB direct reads and writes, timed in the
# default guest (Linux from Debian's linux-source-6.1 + a BusyBox initramfs) by
# bench/guest/iobench.c, on a raw and a qcow2 virtio-blk-pci disk, under
# qemu-system-riscv64 and tsemu-system-riscv64 in the same run.
#
# Environment: BENCH_MIB (region of the sequential phases; default 64),
# BENCH_RAND_WRITES (default 32768), BENCH_RAND_READS (default 32768), BENCH_SEED (default 1),
# BENCH_FORMATS (default "raw qcow2"), QEMU_SYSTEM / TSEMU_SYSTEM (emulator commands),
# QEMU_IMG (default qemu-img), RISCV_CC (default riscv64-linux-gnu-gcc).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# The riscv64 cross compiler and static C library (user), qemu-img (img).
"$here/../scripts/deps.sh" user img >&2
exec "$here/with-guest.sh" disk-io
