#!/usr/bin/env bash
# Builds the default guest kernel: Linux from Debian's linux-source-6.1 package,
# configured as `make tinyconfig` plus guest/linux.config, cross-compiled with
# Debian's riscv64-linux-gnu-gcc, and cached.
#
# Usage: guest/build-linux.sh [--rebuild]
#
# Output: progress lines on stderr ("build-linux: ..."); the last stdout line is the
# path of the cache directory holding:
#   Image          the kernel, as -kernel takes it
#   vmlinux        the ELF with symbols (for gdb)
#   gen_init_cpio  the kernel's host tool that writes initramfs archives
#   config         the full .config;  build.log, build-info
# Cache: <repo>/.cache/linux/<key> (or $TSEMU_CACHE_DIR/linux), key = sha256 of this
# script, guest/lib.sh, guest/linux.config, the cross toolchain identity and the
# linux-source-6.1 package version; `current` points at the latest build.
set -euo pipefail

script_path="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
guest_dir="$(dirname "$script_path")"
# shellcheck disable=SC2034  # read by lib.sh
TSEMU_LOG_PREFIX=build-linux
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$guest_dir/lib.sh"

rebuild=0
case "${1:-}" in
  "") ;;
  --rebuild) rebuild=1 ;;
  -h|--help) sed -n '2,17p' "$script_path" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
  *) tsemu_die "unknown argument '$1' (try --help)" ;;
esac

"$TSEMU_ROOT/scripts/deps.sh" linux >&2

fragment="$guest_dir/linux.config"
cache="$TSEMU_CACHE_DIR/linux"
tarball=/usr/src/linux-source-6.1.tar.xz
cross_prefix=riscv64-linux-gnu-
src_version="$(dpkg-query -W -f='${Version}' linux-source-6.1)"
[ -r "$tarball" ] || tsemu_die "$tarball is missing: install Debian's linux-source-6.1 package"
key="$(tsemu_hash --file "$script_path" --file "$guest_dir/lib.sh" --file "$fragment" \
  --str "$(tsemu_cross_toolchain_id "$cross_prefix")" --str "linux-source-6.1=$src_version")"
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

tsemu_log "extracting linux-source-6.1 $src_version"
tsemu_run "extract" tar -xJf "$tarball" -C "$work"
src="$work/linux-source-6.1"
unset CROSS_COMPILE ARCH CFLAGS LDFLAGS CPPFLAGS MAKEFLAGS MFLAGS
# Reproducible build stamps: the source tarball's date (uname -v shows it).
build_date="$(date -u -d "@$(stat -c %Y "$tarball")" '+%a %b %e %H:%M:%S UTC %Y')"
export KBUILD_BUILD_TIMESTAMP="$build_date" KBUILD_BUILD_USER=tsemu KBUILD_BUILD_HOST=tsemu
kmake() { make -C "$src" ARCH=riscv CROSS_COMPILE="$cross_prefix" "$@"; }

tsemu_log "configuring (tinyconfig + guest/linux.config)"
tsemu_run "make tinyconfig" kmake tinyconfig
grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set$)' "$fragment" >"$work/fragment"
tsemu_run "merge fragment" "$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$work/fragment"
tsemu_run "make olddefconfig" kmake olddefconfig
dropped=()
while IFS= read -r line; do
  case "$line" in
    "# "*) ;;
    *) grep -q -F -x "$line" "$src/.config" || dropped+=("$line") ;;
  esac
done <"$work/fragment"
[ ${#dropped[@]} -eq 0 ] || tsemu_die "Kconfig did not keep: ${dropped[*]} (a dependency is missing from guest/linux.config)"

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
  printf 'linux-source-6.1=%s\n' "$src_version"
  printf 'build-seconds=%s\nbuild-jobs=%s\n' "$build_seconds" "$jobs"
  tsemu_cross_toolchain_id "$cross_prefix" | sed 's/^/toolchain: /'
} >"$work/out/build-info"
rm -rf "$out"
mv -T "$work/out" "$out"
rm -rf "$work"
tsemu_log "built linux $src_version in ${build_seconds}s"
publish
