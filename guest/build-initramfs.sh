#!/usr/bin/env bash
# Builds the default guest's root file system: a gzip'd newc cpio archive (an
# initramfs) holding BusyBox (guest/build-busybox.sh) with its applet links, the
# files under guest/initramfs/ (/init, /etc/inittab, /etc/profile, ...), the usual
# empty directories and a /dev/console node. No root needed: the archive is written
# by the kernel's gen_init_cpio (from guest/build-linux.sh's cache) from a list.
#
# Usage: guest/build-initramfs.sh [--rebuild]
#
# Output: progress lines on stderr ("build-initramfs: ..."); the last stdout line is
# the path of rootfs.cpio.gz. Works from any cwd.
#
# Cache: <repo>/.cache/initramfs/<key> (or $TSEMU_CACHE_DIR/initramfs) holding
#   rootfs.cpio.gz, cpio_list (what went in) and build-info; `current` points at the
# latest build. key = sha256 of this script, guest/lib.sh, every file under
# guest/initramfs/ (with its path and executable bit), the BusyBox binary and its
# applet list, and gen_init_cpio.
set -euo pipefail

script_path="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
guest_dir="$(dirname "$script_path")"
# shellcheck disable=SC2034  # read by lib.sh
TSEMU_LOG_PREFIX=build-initramfs
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$guest_dir/lib.sh"

rebuild=0
case "${1:-}" in
  "") ;;
  --rebuild) rebuild=1 ;;
  -h|--help) sed -n '2,17p' "$script_path" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
  *) tsemu_die "unknown argument '$1' (try --help)" ;;
esac
[ $# -le 1 ] || tsemu_die "too many arguments (try --help)"

overlay="$guest_dir/initramfs"
cache="$TSEMU_CACHE_DIR/initramfs"
# Modification time of every archive entry, for byte-identical rebuilds.
epoch=0
# Applets that /init, /etc/inittab and the console session run.
required_applets=(sh init cttyhack mount umount mkdir chmod hostname uname sed printf
  poweroff reboot halt sync ip)

[ -x "$overlay/init" ] || tsemu_die "$overlay/init is missing or not executable"

busybox="$("$guest_dir/build-busybox.sh" | tail -n 1)"
links="$(dirname "$busybox")/busybox.links"
if [ ! -x "$busybox" ] || [ ! -r "$links" ]; then
  tsemu_die "build-busybox.sh gave no binary and applet list ($busybox)"
fi
missing=()
for a in "${required_applets[@]}"; do
  grep -q -E "^(/usr)?/s?bin/${a}\$" "$links" || missing+=("$a")
done
[ ${#missing[@]} -eq 0 ] || tsemu_die "BusyBox lacks applets the guest needs: ${missing[*]} (see guest/busybox.config)"

# gen_init_cpio is a host tool built with the kernel; any build of it will do.
gen_init_cpio="$TSEMU_CACHE_DIR/linux/current/gen_init_cpio"
if [ ! -x "$gen_init_cpio" ]; then
  tsemu_log "no gen_init_cpio in the kernel cache yet; running guest/build-linux.sh"
  gen_init_cpio="$("$guest_dir/build-linux.sh" | tail -n 1)/gen_init_cpio"
  [ -x "$gen_init_cpio" ] || tsemu_die "build-linux.sh gave no gen_init_cpio ($gen_init_cpio)"
fi

# The overlay's files, sorted bytewise so that the key and the archive do not depend
# on the locale or the order of directory entries.
overlay_files=()
while IFS= read -r -d '' f; do
  overlay_files+=("${f#./}")
done < <(cd "$overlay" && find . -type f -print0 | LC_ALL=C sort -z)

mode_of() { if [ -x "$1" ]; then echo 0755; else echo 0644; fi; }

hash_args=(--file "$script_path" --file "$guest_dir/lib.sh" --file "$busybox" --file "$links"
  --file "$gen_init_cpio" --str "epoch=$epoch")
for f in "${overlay_files[@]}"; do
  hash_args+=(--str "$f $(mode_of "$overlay/$f")" --file "$overlay/$f")
done
key="$(tsemu_hash "${hash_args[@]}")"
out="$cache/$key"

publish() {
  ln -sfn "$key" "$cache/.current.tmp"
  mv -Tf "$cache/.current.tmp" "$cache/current"
  printf '%s\n' "$out/rootfs.cpio.gz"
}

if [ "$rebuild" = 0 ] && [ -f "$out/rootfs.cpio.gz" ]; then
  tsemu_log "cached: $out"
  publish
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -n 9; then
  tsemu_log "waiting for another build-initramfs run to finish"
  flock 9
fi
if [ "$rebuild" = 0 ] && [ -f "$out/rootfs.cpio.gz" ]; then publish; exit 0; fi
for old in "$cache"/tmp.*; do [ -d "$old" ] && rm -rf "$old"; done
work="$(mktemp -d "$cache/tmp.XXXXXX")"

# --- The list for gen_init_cpio ------------------------------------------------
# Regular files are staged in $work/stage so that their mtime is $epoch too
# (gen_init_cpio takes a file's mtime from the file; -t covers everything else).
stage="$work/stage"
mkdir -p "$stage"
list="$work/cpio_list"
declare -A have_dir=()
# add_dir PATH MODE: a directory entry, once, after its parents.
add_dir() {
  local d="$1" mode="$2"
  [ "$d" = / ] && return 0
  [ -z "${have_dir[$d]:-}" ] || return 0
  add_dir "$(dirname "$d")" 0755
  have_dir[$d]=1
  printf 'dir %s %s 0 0\n' "$d" "$mode" >>"$list"
}
# add_file PATH HOST_FILE MODE
add_file() {
  local staged
  add_dir "$(dirname "$1")" 0755
  staged="$stage$1"
  mkdir -p "$(dirname "$staged")"
  cp "$2" "$staged"
  touch -d "@$epoch" "$staged"
  printf 'file %s %s %s 0 0\n' "$1" "$staged" "$3" >>"$list"
}
# relative_link FROM_DIR TO: the relative symlink target from directory FROM_DIR to
# TO (a sibling by its name, anything else through the root: ../../bin/busybox).
relative_link() {
  local from="$1" up=""
  if [ "$from" = "$(dirname "$2")" ]; then basename "$2"; return; fi
  while [ "$from" != / ]; do up="../$up"; from="$(dirname "$from")"; done
  printf '%s%s\n' "$up" "${2#/}"
}

{
  printf '# initramfs of the default tsemu guest, for gen_init_cpio (guest/build-initramfs.sh)\n'
  printf '# busybox %s\n' "$(sha256sum "$busybox" | cut -d' ' -f1)"
} >"$list"
for d in /bin /sbin /usr /usr/bin /usr/sbin /etc /proc /sys /dev /mnt /run /var; do add_dir "$d" 0755; done
add_dir /root 0700
add_dir /tmp 1777
printf 'nod /dev/console 0600 0 0 c 5 1\n' >>"$list"
add_file /bin/busybox "$busybox" 0755
applets=0
while IFS= read -r link; do
  case "$link" in
    /bin/busybox | "") continue ;;
    /*) ;;
    *) tsemu_die "unexpected line in $links: '$link'" ;;
  esac
  add_dir "$(dirname "$link")" 0755
  printf 'slink %s %s 0777 0 0\n' "$link" "$(relative_link "$(dirname "$link")" /bin/busybox)" >>"$list"
  applets=$((applets + 1))
done < <(LC_ALL=C sort -u "$links")
for f in "${overlay_files[@]}"; do
  add_file "/$f" "$overlay/$f" "$(mode_of "$overlay/$f")"
done

# --- Archive -------------------------------------------------------------------
tsemu_log "writing the archive: busybox with $applets applet links, ${#overlay_files[@]} files from guest/initramfs"
"$gen_init_cpio" -t "$epoch" "$list" >"$work/rootfs.cpio" || tsemu_die "gen_init_cpio failed on $list"
gzip -9 -n <"$work/rootfs.cpio" >"$work/rootfs.cpio.gz"

# What the kernel needs to start /init must be there.
contents="$(cpio -it --quiet <"$work/rootfs.cpio")" || tsemu_die "cannot list the archive"
for p in init dev/console bin/sh bin/busybox sbin/init etc/inittab etc/profile; do
  grep -q -F -x "$p" <<<"$contents" || tsemu_die "the archive lacks /$p"
done

mkdir "$work/out"
mv "$work/rootfs.cpio.gz" "$work/out/"
sed "s|$stage||" "$list" >"$work/out/cpio_list"
{
  printf 'busybox=%s\n' "$busybox"
  printf 'gen_init_cpio=%s\n' "$gen_init_cpio"
  printf 'entries=%s\n' "$(grep -c . <<<"$contents")"
  printf 'cpio-bytes=%s\n' "$(wc -c <"$work/rootfs.cpio")"
  printf 'gz-bytes=%s\n' "$(wc -c <"$work/out/rootfs.cpio.gz")"
} >"$work/out/build-info"
rm -rf "$out"
mv -T "$work/out" "$out"
rm -rf "$work"
tsemu_log "built $out/rootfs.cpio.gz ($(wc -c <"$out/rootfs.cpio.gz") bytes)"
publish
