#!/usr/bin/env bash
# Builds BusyBox as a static riscv64 Linux binary from Debian's busybox source
# package with Debian's cross compiler (riscv64-linux-gnu-gcc), and caches it.
#
# Usage: guest/build-busybox.sh [--refresh | --rebuild]
#   (no option)  reuse the cached binary for these inputs when there is one; this
#                step is offline and does no apt work.
#   --refresh    re-resolve the Debian source version (apt-get update + download)
#                and rebuild only if the source package changed.
#   --rebuild    fetch and build again even if a cached build exists.
#
# Output: progress lines on stderr ("build-busybox: ..."); the last stdout line is
# the path of the binary. Works from any cwd.
#
# Cache layout (under <repo>/.cache/busybox, or $TSEMU_CACHE_DIR/busybox):
#   <build-key>/busybox         the static binary (stripped)
#   <build-key>/busybox.config  the full .config it was built with
#   <build-key>/busybox.links   the applet list (install paths)
#   <build-key>/build.log       fetch, configure and compile output
#   <build-key>/build-info      Debian source version, .dsc sha256, toolchain, timing
#   inputs/<input-key> -> ../<build-key>
#   current -> <build-key>      the latest build used
# input-key = sha256(this script, guest/lib.sh, guest/busybox.config, cross
#   toolchain identity, Debian codename): everything known offline.
# build-key = sha256(input-key, the Debian .dsc of the source actually built); the
#   .dsc lists the version and the checksums of every source file, so a build dir
#   names exactly one source. Knowing the current source version needs apt metadata
#   (network), so a plain run maps input-key to the build-key recorded at first
#   build; --refresh re-checks it.
set -euo pipefail

script_path="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
guest_dir="$(dirname "$script_path")"
# shellcheck disable=SC2034  # read by lib.sh
TSEMU_LOG_PREFIX=build-busybox
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$guest_dir/lib.sh"

mode=cached
case "${1:-}" in
  "") ;;
  --refresh) mode=refresh ;;
  --rebuild) mode=rebuild ;;
  -h|--help) sed -n '2,12p' "$script_path" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
  *) tsemu_die "unknown argument '$1' (try --help)" ;;
esac
[ $# -le 1 ] || tsemu_die "too many arguments (try --help)"

fragment="$guest_dir/busybox.config"
cache="$TSEMU_CACHE_DIR/busybox"
cross_prefix="riscv64-linux-gnu-"
deb_src_file=/etc/apt/sources.list.d/tsemu-deb-src.sources
# Applets the tests and the initramfs rely on; the build fails if one is missing.
required_applets=(sh ash ls cat sort sed awk find tar gzip gunzip sha256sum wc xargs
  echo printf test "[" head tail cut tr grep mkdir rm cp mv ln uname env sleep date
  true false seq md5sum od hexdump mount umount poweroff reboot init mdev dmesg ps kill)

# Toolchain and tools (a fast no-op when all are installed). Its output goes to stderr.
"$TSEMU_ROOT/scripts/deps.sh" busybox >&2

codename="$(tsemu_debian_codename)"
input_key="$(tsemu_hash --file "$script_path" --file "$guest_dir/lib.sh" --file "$fragment" \
  --str "$(tsemu_cross_toolchain_id "$cross_prefix")" --str "debian-source:busybox:$codename")"

# Points $cache/current and $cache/inputs/<input_key> at build dir $1 and prints the binary.
publish() {
  local key="$1"
  mkdir -p "$cache/inputs"
  ln -sfn "../$key" "$cache/inputs/.$input_key.tmp"
  mv -Tf "$cache/inputs/.$input_key.tmp" "$cache/inputs/$input_key"
  ln -sfn "$key" "$cache/.current.tmp"
  mv -Tf "$cache/.current.tmp" "$cache/current"
  printf '%s\n' "$cache/$key/busybox"
}

# The fast path: a build for these offline inputs exists.
cached_hit() {
  local target
  [ -L "$cache/inputs/$input_key" ] || return 1
  target="$(readlink "$cache/inputs/$input_key")"
  target="${target#../}"
  [ -x "$cache/$target/busybox" ] || return 1
  tsemu_log "cached: $(sed -n 's/^debian-source-version=//p' "$cache/$target/build-info") ($cache/$target)"
  publish "$target"
}

if [ "$mode" = cached ] && cached_hit; then exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -n 9; then
  tsemu_log "waiting for another build-busybox run to finish"
  flock 9
fi
# Another run may have built it while we waited.
if [ "$mode" = cached ] && cached_hit; then exit 0; fi

# Leftovers of earlier failed runs (we hold the lock, so nobody is using them).
for old in "$cache"/tmp.*; do
  [ -d "$old" ] && rm -rf "$old"
done
work="$(mktemp -d "$cache/tmp.XXXXXX")"
log="$work/build.log"
: >"$log"

# run STEP CMD...: runs CMD with its output appended to the log; on failure shows
# the log's tail and exits non-zero (the work dir is kept for inspection).
fail() {
  tsemu_log "FAILED: $*"
  tsemu_log "log: $log"
  exit 1
}

# --- Source: Debian's busybox source package ---------------------------------
tsemu_ensure_deb_src "$codename" "$deb_src_file" || true
tsemu_log "apt-get update"
tsemu_run "apt-get update" tsemu_as_root apt-get update
tsemu_log "downloading Debian source package busybox ($codename)"
mkdir "$work/dl"
apt_source() { (cd "$work/dl" && apt-get source --download-only busybox); }
tsemu_run "apt-get source" apt_source
shopt -s nullglob
dscs=("$work"/dl/busybox_*.dsc)
shopt -u nullglob
[ ${#dscs[@]} -eq 1 ] || fail "expected one busybox .dsc in $work/dl, found ${#dscs[@]}"
dsc="${dscs[0]}"
src_version="$(awk '/^Version: /{print $2; exit}' "$dsc")"
build_key="$(tsemu_hash --str "$input_key" --file "$dsc")"
out="$cache/$build_key"

if [ "$mode" != rebuild ] && [ -x "$out/busybox" ]; then
  tsemu_log "source $src_version unchanged since the cached build; reusing it"
  rm -rf "$work"
  publish "$build_key"
  exit 0
fi

tsemu_log "extracting busybox $src_version"
tsemu_run "dpkg-source -x" dpkg-source -x "$dsc" "$work/src"
src="$work/src"
# Reproducible build stamps: the date of the Debian changelog entry.
SOURCE_DATE_EPOCH="$(dpkg-parsechangelog -l "$src/debian/changelog" -STimestamp)"
export SOURCE_DATE_EPOCH KBUILD_BUILD_TIMESTAMP="@$SOURCE_DATE_EPOCH"
# Keep the host environment from steering the build.
unset CROSS_COMPILE ARCH CFLAGS LDFLAGS CPPFLAGS MAKEFLAGS MFLAGS

# --- Configure: defconfig + fragment + oldconfig -------------------------------
tsemu_log "configuring (defconfig + guest/busybox.config)"
tsemu_run "make defconfig" make -C "$src" defconfig
# Fragment lines, normalised: "SYM=value" or "SYM is not set".
settings="$(sed -n -E \
  -e 's/^(CONFIG_[A-Za-z0-9_]+)=(.*)$/\1=\2/p' \
  -e 's/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1 is not set/p' "$fragment")"
bad="$(grep -v -E '^(##|$)|^CONFIG_[A-Za-z0-9_]+=|^# CONFIG_[A-Za-z0-9_]+ is not set$' "$fragment" || true)"
[ -z "$bad" ] || fail "unrecognised lines in $fragment: $bad"
apply_fragment() {
  local line sym
  while IFS= read -r line; do
    sym="${line%%[= ]*}"
    sed -i -E "/^${sym}=|^# ${sym} is not set\$/d" "$src/.config"
    case "$line" in
      *" is not set") printf '# %s\n' "$line" >>"$src/.config" ;;
      *) printf '%s\n' "$line" >>"$src/.config" ;;
    esac
  done <<<"$settings"
}
apply_fragment
oldconfig() { { yes "" || true; } | make -C "$src" oldconfig; }
tsemu_run "make oldconfig" oldconfig
# Every fragment setting must have survived oldconfig.
while IFS= read -r line; do
  sym="${line%%[= ]*}"
  case "$line" in
    *" is not set")
      if grep -q -E "^${sym}=" "$src/.config"; then fail "oldconfig re-enabled $sym"; fi ;;
    *)
      grep -q -F -x "$line" "$src/.config" ||
        fail "oldconfig did not keep '$line' (got: $(grep -E "^(# )?${sym}[= ]" "$src/.config" || echo missing))" ;;
  esac
done <<<"$settings"

# --- Build ---------------------------------------------------------------------
jobs="$(nproc)"
tsemu_log "compiling with make -j$jobs (log: $log)"
start=$SECONDS
# BB_EXTRA_VERSION (a Debian patch) replaces the build date in the version banner.
tsemu_run "make busybox" make -C "$src" -j"$jobs" BB_EXTRA_VERSION="Debian $src_version, tsemu" busybox
tsemu_run "make busybox.links" make -C "$src" busybox.links
build_seconds=$((SECONDS - start))

# --- Checks: static riscv64 ELF with every required applet --------------------
elf="$("${cross_prefix}readelf" -h -l "$src/busybox")" || fail "readelf cannot read busybox"
grep -q -E 'Machine:[[:space:]]+RISC-V' <<<"$elf" || fail "busybox is not a RISC-V ELF"
if grep -q INTERP <<<"$elf"; then fail "busybox is not static (has an ELF interpreter)"; fi
missing=()
for a in "${required_applets[@]}"; do
  grep -q -F -x -e "/bin/$a" -e "/sbin/$a" -e "/usr/bin/$a" -e "/usr/sbin/$a" -e "/$a" \
    "$src/busybox.links" || missing+=("$a")
done
[ ${#missing[@]} -eq 0 ] || fail "required applets missing: ${missing[*]}"

# --- Install into the cache ----------------------------------------------------
mkdir "$work/out"
cp "$src/busybox" "$work/out/busybox"
cp "$src/.config" "$work/out/busybox.config"
cp "$src/busybox.links" "$work/out/busybox.links"
{
  printf 'debian-source-version=%s\n' "$src_version"
  printf 'debian-codename=%s\n' "$codename"
  printf 'dsc-sha256=%s\n' "$(sha256sum "$dsc" | cut -d' ' -f1)"
  printf 'input-key=%s\n' "$input_key"
  printf 'build-key=%s\n' "$build_key"
  printf 'build-seconds=%s\n' "$build_seconds"
  printf 'build-jobs=%s\n' "$jobs"
  printf 'applets=%s\n' "$(grep -c . "$src/busybox.links")"
  printf 'binary-bytes=%s\n' "$(wc -c <"$src/busybox")"
  printf 'built-at=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  tsemu_cross_toolchain_id "$cross_prefix" | sed 's/^/toolchain: /'
} >"$work/out/build-info"
cp "$log" "$work/out/build.log"
rm -rf "$out"
mv -T "$work/out" "$out"
rm -rf "$work"
tsemu_log "built busybox $src_version in ${build_seconds}s: $(wc -c <"$out/busybox") bytes, $(grep -c . "$out/busybox.links") applets"
publish "$build_key"
