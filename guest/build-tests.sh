#!/usr/bin/env bash
# Builds the guest test programs (test/guest/*.c) for riscv64 Linux, with debug
# information (test/gdbstub debugs them), each one
# twice: statically linked (NAME) and dynamically linked (NAME.dyn, to be run
# with -L /usr/riscv64-linux-gnu).
#
# Output goes to .cache/guest-tests/<hash>/, where <hash> covers the sources,
# this script and the toolchain version, so an unchanged tree is not rebuilt.
# .cache/guest-tests/current is a symlink to the latest output folder.
# The last line printed on stdout is the absolute path of the output folder.
#
# Environment: RISCV_CC overrides the compiler (default riscv64-linux-gnu-gcc).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$root/guest/lib.sh"
self="$root/guest/build-tests.sh"
src_dir="$root/test/guest"
cache="$root/.cache/guest-tests"
cc="${RISCV_CC:-riscv64-linux-gnu-gcc}"

if [ -z "${RISCV_CC:-}" ]; then
  bash "$root/scripts/deps.sh" user
fi
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "build-tests.sh: compiler '$cc' not found (scripts/deps.sh user installs it)" >&2
  exit 1
fi

shopt -s nullglob
sources=("$src_dir"/*.c)
headers=("$src_dir"/*.h)
shopt -u nullglob
if [ ${#sources[@]} -eq 0 ]; then
  echo "build-tests.sh: no sources in $src_dir" >&2
  exit 1
fi

cflags=(-O2 -g -Wall -Wextra -Wno-unused-parameter -std=gnu11)
libs=(-lm -lpthread -latomic)

hash="$(
  {
    echo "flags: ${cflags[*]} ${libs[*]}"
    "$cc" --version | head -n 1
    "$cc" -dumpmachine
    dpkg-query -W -f='${Package} ${Version}\n' libc6-dev-riscv64-cross 2>/dev/null || true
    sha256sum "$self" | cut -d' ' -f1
    for f in "${sources[@]}" "${headers[@]}"; do
      printf '%s %s\n' "$(basename "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
    done
  } | sha256sum | cut -c1-16
)"
out="$cache/$hash"

if [ ! -f "$out/.complete" ]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  echo "build-tests.sh: building ${#sources[@]} programs into $out" >&2
  pids=()
  names=()
  for f in "${sources[@]}"; do
    name="$(basename "$f" .c)"
    (
      "$cc" "${cflags[@]}" -static -o "$tmp/$name" "$f" "${libs[@]}" &&
        "$cc" "${cflags[@]}" -o "$tmp/$name.dyn" "$f" "${libs[@]}"
    ) >"$tmp/$name.log" 2>&1 &
    pids+=("$!")
    names+=("$name")
  done
  tsemu_wait_jobs build-tests.sh "$tmp" "${names[@]}"
  tsemu_publish_dir build-tests.sh "$tmp" "$out"
  trap - EXIT
fi

ln -sfn "$hash" "$cache/current.tmp.$$"
mv -T "$cache/current.tmp.$$" "$cache/current"
echo "$out"
