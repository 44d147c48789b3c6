#!/usr/bin/env bash
# Start-up benchmark: a static riscv64 hello world (test/guest/hello.c) under
# qemu-riscv64 and under tsemu-riscv64 (bin/tsemu-riscv64, as a user runs it),
# plus `node -e 0` (what any Node program pays before its first line), run
# in turns in one loop so that a busy host slows all of them alike.  Prints
# for each the median and the minimum of the wall-clock milliseconds and of
# the host CPU milliseconds (user + system), and tsemu's ratios to qemu.
#
# Environment:
#   BENCH_RUNS   runs of each (default 20)
#   TSEMU_CMD    command line used in place of bin/tsemu-riscv64
#   QEMU_CMD     command line of the reference emulator (default qemu-riscv64)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${BENCH_RUNS:-20}"
read -r -a qemu_cmd <<<"${QEMU_CMD:-qemu-riscv64}"
read -r -a tsemu_cmd <<<"${TSEMU_CMD:-$root/bin/tsemu-riscv64}"
if [ ! -f "$root/dist/src/cli/tsemu-riscv64.js" ]; then
  echo "startup-bench.sh: dist/ not built; run npm run build first" >&2
  exit 1
fi
for c in "${qemu_cmd[0]}" "${tsemu_cmd[0]}"; do
  if ! command -v "$c" >/dev/null 2>&1; then
    echo "startup-bench.sh: '$c' not found (scripts/deps.sh user installs qemu-user)" >&2
    exit 1
  fi
done

hello="$(bash "$root/guest/build-tests.sh" | tail -n 1)/hello"
work="$(mktemp -d "${TMPDIR:-/tmp}/tsemu-startup.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# once NAME CMD... : one run; appends "NAME wall_ms cpu_ms" to $work/times.
once() {
  local name="$1" t0 t1
  shift
  t0="$(date +%s%N)"
  if ! /usr/bin/time -f "%U %S" -o "$work/cpu" "$@" >"$work/out" 2>"$work/err"; then
    echo "startup-bench.sh: '$*' failed:" >&2
    head -n 5 "$work/err" >&2
    exit 1
  fi
  t1="$(date +%s%N)"
  awk -v n="$name" -v a="$t0" -v b="$t1" -v cpu="$(tail -n 1 "$work/cpu")" \
    'BEGIN { split(cpu, c, " "); printf "%s %.1f %.0f\n", n, (b - a) / 1e6, (c[1] + c[2]) * 1000 }' >>"$work/times"
}

echo "startup-bench: qemu: $("${qemu_cmd[@]}" --version | head -n 1)" >&2
echo "startup-bench: tsemu: ${tsemu_cmd[*]} (node $(node --version))" >&2
echo "startup-bench: $runs runs each, in turns ..." >&2
for ((i = 0; i < runs; i++)); do
  once qemu "${qemu_cmd[@]}" "$hello"
  [ "$(cat "$work/out")" = "Hello, world!" ] || { echo "startup-bench.sh: qemu printed '$(cat "$work/out")'" >&2; exit 1; }
  once tsemu "${tsemu_cmd[@]}" "$hello"
  [ "$(cat "$work/out")" = "Hello, world!" ] || { echo "startup-bench.sh: tsemu printed '$(cat "$work/out")'" >&2; exit 1; }
  once node-e-0 node -e 0
done

# stat NAME COLUMN WHICH : the median or the minimum of a column (2 wall, 3 cpu) of NAME's runs.
stat() {
  awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$work/times" | sort -n |
    awk -v w="$3" '{ v[NR] = $1 } END { if (w == "min") print v[1]; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

printf '%-12s %12s %12s %12s %12s\n' "hello" "wall med ms" "wall min ms" "cpu med ms" "cpu min ms"
for n in qemu tsemu node-e-0; do
  printf '%-12s %12s %12s %12s %12s\n' "$n" "$(stat "$n" 2 med)" "$(stat "$n" 2 min)" "$(stat "$n" 3 med)" "$(stat "$n" 3 min)"
done
awk -v tm="$(stat tsemu 2 med)" -v qm="$(stat qemu 2 med)" -v tn="$(stat tsemu 2 min)" -v qn="$(stat qemu 2 min)" \
  'BEGIN { printf "%-12s %12.1f %12.1f\n", "tsemu/qemu", tm / qm, tn / qn }'
