#!/usr/bin/env bash
# Builds the bare-metal test programs (test/guest-system/*.c) for the virt
# board: each program is linked with start.S and lib.c at 0x80000000
# (link.ld) into NAME.elf, to be run in M-mode with `-bios none -kernel NAME.elf`.
#
# Output goes to .cache/guest-system-tests/<hash>/, where <hash> covers the
# sources, this script and the toolchain version, so an unchanged tree is not
# rebuilt.  .cache/guest-system-tests/current is a symlink to the latest
# output folder.  The last line printed on stdout is the absolute path of the
# output folder.
#
# Environment: RISCV_CC overrides the compiler (default riscv64-linux-gnu-gcc).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$root/guest/lib.sh"
self="$root/guest/build-system-tests.sh"
src_dir="$root/test/guest-system"
cache="$root/.cache/guest-system-tests"
cc="${RISCV_CC:-riscv64-linux-gnu-gcc}"

if [ -z "${RISCV_CC:-}" ]; then
  bash "$root/scripts/deps.sh" user
fi
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "build-system-tests.sh: compiler '$cc' not found (scripts/deps.sh user installs it)" >&2
  exit 1
fi

# Every .c file but the shared lib.c is a program.
shopt -s nullglob
programs=()
for f in "$src_dir"/*.c; do
  [ "$(basename "$f")" = lib.c ] || programs+=("$f")
done
shared=("$src_dir/start.S" "$src_dir/lib.c" "$src_dir/link.ld" "$src_dir"/*.h)
shopt -u nullglob
if [ ${#programs[@]} -eq 0 ]; then
  echo "build-system-tests.sh: no programs in $src_dir" >&2
  exit 1
fi
for f in "${shared[@]}"; do
  [ -f "$f" ] || { echo "build-system-tests.sh: $f is missing" >&2; exit 1; }
done

# Bare metal: no C library, no start files, code that runs at any address in
# the low 2 GiB around the link address; no linker relaxation, so that no code
# depends on gp (mmu.c runs code through alias mappings).
cflags=(-O2 -g -Wall -Wextra -std=gnu11 -nostdlib -nostartfiles -ffreestanding -fno-pic
  -mcmodel=medany -march=rv64gc -mabi=lp64d -mno-relax -static)
# shellcheck disable=SC2054  # -Wl options carry their commas
ldflags=(-T "$src_dir/link.ld" -Wl,--no-relax -Wl,--build-id=none)

hash="$(
  {
    echo "flags: ${cflags[*]} ${ldflags[*]}"
    "$cc" --version | head -n 1
    "$cc" -dumpmachine
    dpkg-query -W -f='${Package} ${Version}\n' binutils-riscv64-linux-gnu 2>/dev/null || true
    sha256sum "$self" | cut -d' ' -f1
    for f in "${shared[@]}" "${programs[@]}"; do
      printf '%s %s\n' "$(basename "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
    done
  } | sha256sum | cut -c1-16
)"
out="$cache/$hash"

if [ ! -f "$out/.complete" ]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  echo "build-system-tests.sh: building ${#programs[@]} programs into $out" >&2
  pids=()
  names=()
  for f in "${programs[@]}"; do
    name="$(basename "$f" .c)"
    "$cc" "${cflags[@]}" -I "$src_dir" "${ldflags[@]}" -o "$tmp/$name.elf" \
      "$src_dir/start.S" "$src_dir/lib.c" "$f" >"$tmp/$name.log" 2>&1 &
    pids+=("$!")
    names+=("$name")
  done
  tsemu_wait_jobs build-system-tests.sh "$tmp" "${names[@]}"
  tsemu_publish_dir build-system-tests.sh "$tmp" "$out"
  trap - EXIT
fi

ln -sfn "$hash" "$cache/current.tmp.$$"
mv -T "$cache/current.tmp.$$" "$cache/current"
echo "$out"
