#!/usr/bin/env bash
# Builds a guest kernel: Linux from Debian's linux-source-VERSION package, configured
# as `make tinyconfig` plus a fragment, cross-compiled with Debian's
# riscv64-linux-gnu-gcc, and cached.
#
# Usage: guest/build-linux.sh [VERSION] [--rebuild]
#   VERSION  6.1 (the default guest; fragment guest/linux.config) or 6.12 (the guest
#            with the AIA interrupt controllers, PCIe AER and e1000e; fragment
#            guest/linux-6.12.config)
#
# Output: progress lines on stderr ("build-linux: ..."); the last stdout line is the
# path of the cache directory holding:
#   Image          the kernel, as -kernel takes it
#   vmlinux        the ELF with symbols (for gdb)
#   gen_init_cpio  the kernel's host tool that writes initramfs archives
#   config         the full .config;  build.log, build-info
# Cache: <repo>/.cache/linux/<key> for 6.1, .cache/linux-VERSION/<key> for the others
# (or under $TSEMU_CACHE_DIR), key = sha256 of this script, guest/lib.sh, the
# fragment, the cross toolchain identity and the linux-source-VERSION package
# version; `current` points at the latest build.
set -euo pipefail

script_path="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
guest_dir="$(dirname "$script_path")"
# shellcheck disable=SC2034  # read by lib.sh
TSEMU_LOG_PREFIX=build-linux
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$guest_dir/lib.sh"

rebuild=0
version=6.1
for arg in "$@"; do
  case "$arg" in
    --rebuild) rebuild=1 ;;
    -h|--help) sed -n '2,21p' "$script_path" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    6.1|6.12) version="$arg" ;;
    *) tsemu_die "unknown argument '$arg' (try --help)" ;;
  esac
done

case "$version" in
  6.1) fragment="$guest_dir/linux.config"; cache="$TSEMU_CACHE_DIR/linux"; deps_group=linux ;;
  *) fragment="$guest_dir/linux-$version.config"; cache="$TSEMU_CACHE_DIR/linux-$version"; deps_group="linux-$version" ;;
esac
"$TSEMU_ROOT/scripts/deps.sh" "$deps_group" >&2

package="linux-source-$version"
tarball="/usr/src/$package.tar.xz"
cross_prefix=riscv64-linux-gnu-
src_version="$(dpkg-query -W -f='${Version}' "$package")"
[ -r "$tarball" ] || tsemu_die "$tarball is missing: install Debian's $package package"
key="$(tsemu_hash --file "$script_path" --file "$guest_dir/lib.sh" --file "$fragment" \
  --str "$(tsemu_cross_toolchain_id "$cross_prefix")" --str "$package=$src_version")"
out="$cache/$key"

publish() {
  ln -sfn "$key" "$cache/.current.tmp"
  mv -Tf "$cache/.current.tmp" "$cache/current"
  printf '%s\n' "$out"
}

if [ "$rebuild" = 0 ] && [ -f "$out/Image" ]; then
  tsemu_log "cached: linux $src_version ($out)"
  publish
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -n 9; then
  tsemu_log "waiting for another build-linux run to finish"
  flock 9
fi
if [ "$rebuild" = 0 ] && [ -f "$out/Image" ]; then publish; exit 0; fi
for old in "$cache"/tmp.*; do [ -d "$old" ] && rm -rf "$old"; done
work="$(mktemp -d "$cache/tmp.XXXXXX")"
log="$work/build.log"
: >"$log"

tsemu_log "extracting $package $src_version"
tsemu_run "extract" tar -xJf "$tarball" -C "$work"
src="$work/$package"
unset CROSS_COMPILE ARCH CFLAGS LDFLAGS CPPFLAGS MAKEFLAGS MFLAGS
# Reproducible build stamps: the source tarball's date (uname -v shows it).
build_date="$(date -u -d "@$(stat -c %Y "$tarball")" '+%a %b %e %H:%M:%S UTC %Y')"
export KBUILD_BUILD_TIMESTAMP="$build_date" KBUILD_BUILD_USER=tsemu KBUILD_BUILD_HOST=tsemu
kmake() { make -C "$src" ARCH=riscv CROSS_COMPILE="$cross_prefix" "$@"; }

tsemu_log "configuring (tinyconfig + guest/$(basename "$fragment"))"
tsemu_run "make tinyconfig" kmake tinyconfig
grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set$)' "$fragment" >"$work/fragment"
tsemu_run "merge fragment" "$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$work/fragment"
tsemu_run "make olddefconfig" kmake olddefconfig
# Every option the fragment asks for must have stuck: a set one with its value, an
# unset one unset (Kconfig silently drops what a missing dependency forbids).
dropped=()
while IFS= read -r line; do
  case "$line" in
    "# "*)
      sym="${line#\# }"; sym="${sym%% *}"
      if grep -q -E "^${sym}=" "$src/.config"; then dropped+=("$(grep -E "^${sym}=" "$src/.config") (asked: not set)"); fi ;;
    *) grep -q -F -x "$line" "$src/.config" || dropped+=("$line") ;;
  esac
done <"$work/fragment"
[ ${#dropped[@]} -eq 0 ] || tsemu_die "Kconfig did not keep: ${dropped[*]} (a dependency is missing from guest/$(basename "$fragment"))"

jobs="$(nproc)"
tsemu_log "compiling with make -j$jobs; a few minutes (about 2 on 2 cores) (log: $log)"
start=$SECONDS
tsemu_run "make Image" kmake -j"$jobs" Image
build_seconds=$((SECONDS - start))

mkdir "$work/out"
cp "$src/arch/riscv/boot/Image" "$src/vmlinux" "$src/usr/gen_init_cpio" "$work/out/"
cp "$src/.config" "$work/out/config"
cp "$log" "$work/out/build.log"
{
  printf '%s=%s\n' "$package" "$src_version"
  printf 'build-seconds=%s\nbuild-jobs=%s\n' "$build_seconds" "$jobs"
  tsemu_cross_toolchain_id "$cross_prefix" | sed 's/^/toolchain: /'
} >"$work/out/build-info"
rm -rf "$out"
mv -T "$work/out" "$out"
rm -rf "$work"
tsemu_log "built linux $src_version in ${build_seconds}s"
publish
