#!/usr/bin/env bash
# Runs a compiled system benchmark (dist/bench/NAME.js) with the default guest's
# kernel and initramfs (built from Debian's sources, cached) as its first two
# arguments, after the rest given here: bench/with-guest.sh NAME [ARGS...].
# The QEMU packages are installed first; the project is compiled if NAME.js is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="$1"
shift
"$root/scripts/deps.sh" system >&2
[ -f "$root/dist/bench/$name.js" ] || (cd "$root" && npx tsc -p tsconfig.json)
linux="$("$root/guest/build-linux.sh" | tail -n 1)"
initramfs="$("$root/guest/build-initramfs.sh" | tail -n 1)"
exec node "$root/dist/bench/$name.js" "$linux/Image" "$initramfs" "$@"
