#!/usr/bin/env bash
# Installs the Debian packages tsemu's tests and guest builds need, when missing.
# Usage: scripts/deps.sh [group...]
#   groups: user (default), native, busybox, linux, linux-6.12, system, gdb, img, browser
set -euo pipefail

need=()
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || need+=("$1"); }

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(user)
for g in "${groups[@]}"; do
  case "$g" in
    user) for p in qemu-user gcc-riscv64-linux-gnu libc6-dev-riscv64-cross time; do want "$p"; done ;;
    # The C compiler for tsemu's native module (image locks, scripts/build-native.sh).
    native) for p in gcc libc6-dev; do want "$p"; done ;;
    busybox) for p in dpkg-dev gcc-riscv64-linux-gnu libc6-dev-riscv64-cross gcc libc6-dev make patch bzip2 xz-utils; do want "$p"; done ;;
    linux) for p in linux-source-6.1 gcc-riscv64-linux-gnu make gcc libc6-dev bc flex bison xz-utils cpio; do want "$p"; done ;;
    linux-6.12) for p in linux-source-6.12 gcc-riscv64-linux-gnu make gcc libc6-dev bc flex bison xz-utils cpio; do want "$p"; done ;;
    system) for p in qemu-system-misc opensbi u-boot-qemu device-tree-compiler e2fsprogs; do want "$p"; done ;;
    gdb) want gdb-multiarch ;;
    img) want qemu-utils ;;
    # The web page's test drives Debian's Chromium headless through playwright-core.
    browser) want chromium ;;
    *) echo "deps.sh: unknown group '$g' (expected: user, native, busybox, linux, linux-6.12, system, gdb, img, browser)" >&2; exit 2 ;;
  esac
done

# Debian ships linux-source-6.12 to bookworm through its security archive only
# (bookworm-security); a machine whose apt sources lack that suite (a minimal
# debootstrap, an image trimmed to the main archive) gets it added here.
security_source=/etc/apt/sources.list.d/tsemu-security.sources
has_candidate() { apt-cache policy "$1" 2>/dev/null | grep -q -E '^  Candidate: [^(]'; }
add_security_source() {
  local codename
  # shellcheck disable=SC1091
  codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-bookworm}")"
  echo "deps.sh: no apt source offers $1; adding $codename-security in $security_source" >&2
  printf '%s\n' "# Written by tsemu scripts/deps.sh: $1 comes from Debian's security archive." \
    "Types: deb" "URIs: http://deb.debian.org/debian-security" "Suites: $codename-security" \
    "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" |
    "${sudo_cmd[@]}" tee "$security_source" >/dev/null
  "${sudo_cmd[@]}" apt-get update -qq
}

if [ ${#need[@]} -gt 0 ]; then
  echo "deps.sh: installing ${need[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  for p in "${need[@]}"; do
    if [ "$p" = linux-source-6.12 ] && ! has_candidate "$p" && [ ! -e "$security_source" ]; then
      add_security_source "$p"
    fi
  done
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
