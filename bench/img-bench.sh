#!/usr/bin/env bash
# Disk image benchmark: `convert` of a 1 GiB sparse qcow2 image (64 MiB of data
# in 1 MiB runs spread over it) to raw, to qcow2 and to compressed qcow2, by
# qemu-img and by tsemu-img in the same run; prints seconds and the ratio.
#
# Environment: BENCH_REPEAT (runs per tool and case, the fastest counts; default 1),
# QEMU_IMG / TSEMU_IMG (the commands).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/deps.sh" img >&2
[ -f "$root/dist/src/cli/tsemu-img.js" ] || (cd "$root" && npx tsc -p tsconfig.json)
qemu_img="${QEMU_IMG:-qemu-img}"
tsemu_img="${TSEMU_IMG:-$root/bin/tsemu-img}"
repeat="${BENCH_REPEAT:-1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

src="$work/src.qcow2"
"$qemu_img" create -q -f qcow2 "$src" 1G
cmds=()
for i in $(seq 0 63); do cmds+=(-c "write -P $((i + 1)) $((i * 16))M 1M"); done
qemu-io "${cmds[@]}" "$src" >/dev/null

# Seconds for the fastest of $repeat runs of "$@".
best() {
  local best="" t0 t1 s
  for _ in $(seq "$repeat"); do
    rm -f "$work/out"
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    s=$(echo "$t1 - $t0" | bc)
    if [ -z "$best" ] || [ "$(echo "$s < $best" | bc)" = 1 ]; then best=$s; fi
  done
  printf "%.2f" "$best"
}

printf "%-28s %10s %10s %8s\n" "convert of 1 GiB sparse" "qemu-img" "tsemu-img" "ratio"
for case in "-O raw" "-O qcow2" "-c -O qcow2"; do
  # shellcheck disable=SC2086
  q=$(best "$qemu_img" convert $case "$src" "$work/out")
  # shellcheck disable=SC2086
  t=$(best "$tsemu_img" convert $case "$src" "$work/out")
  # shellcheck disable=SC2086
  "$tsemu_img" convert $case "$src" "$work/out"
  "$qemu_img" compare -q "$src" "$work/out" || { echo "img-bench: tsemu-img convert $case gave different contents" >&2; exit 1; }
  printf "%-28s %9ss %9ss %7sx\n" "$case" "$q" "$t" "$(echo "scale=1; $t / $q" | bc)"
done
