#!/usr/bin/env bash
# Installs the Debian packages tsemu's tests and guest builds need, when missing.
# Usage: scripts/deps.sh [group...]   groups: user (default), busybox, linux, system, gdb
set -euo pipefail

need=()
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || need+=("$1"); }

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(user)
for g in "${groups[@]}"; do
  case "$g" in
    user) for p in qemu-user gcc-riscv64-linux-gnu libc6-dev-riscv64-cross time; do want "$p"; done ;;
    busybox) for p in dpkg-dev gcc-riscv64-linux-gnu libc6-dev-riscv64-cross gcc libc6-dev make patch bzip2 xz-utils; do want "$p"; done ;;
    linux) for p in linux-source-6.1 gcc-riscv64-linux-gnu make gcc libc6-dev bc flex bison xz-utils cpio; do want "$p"; done ;;
    system) for p in qemu-system-misc opensbi u-boot-qemu device-tree-compiler e2fsprogs; do want "$p"; done ;;
    gdb) want gdb-multiarch ;;
    *) echo "deps.sh: unknown group '$g' (expected: user, busybox, linux, system, gdb)" >&2; exit 2 ;;
  esac
done

if [ ${#need[@]} -gt 0 ]; then
  echo "deps.sh: installing ${need[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
