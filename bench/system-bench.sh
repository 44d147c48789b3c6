#!/usr/bin/env bash
# System benchmark: boot-to-shell time of the default guest (Linux from
# Debian's linux-source-6.1 + a BusyBox initramfs) under qemu-system-riscv64
# and tsemu-system-riscv64 in the same run, and the ratio.
#
# Environment: BENCH_REPEAT (runs per emulator, the fastest counts; default 1),
# BENCH_SMP (harts, default 1), QEMU_SYSTEM / TSEMU_SYSTEM (emulator commands).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/with-guest.sh" boot-time "${BENCH_REPEAT:-1}"
