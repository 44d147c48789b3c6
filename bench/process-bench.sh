#!/usr/bin/env bash
# Process benchmark: what starting processes costs under qemu-riscv64 and
# under tsemu-riscv64 with each engine, in one run:
#
#   fork+exit+wait       test/guest/forkbench.c fork N (timed inside the guest)
#   fork+exec+wait       forkbench exec N: the child execs a static riscv64
#                        program that exits.  qemu-riscv64 cannot exec a riscv64
#                        program by itself (its execve is the host's, and a
#                        test machine has no binfmt_misc): its child execs
#                        qemu-riscv64 with the program, as binfmt_misc would.
#   shell, 1000 procs    BusyBox sh running ( : ) 1000 times (wall time of the
#                        whole run, start-up included)
#   hello start-up       a static hello world (median wall time of BENCH_RUNS runs)
#
# Prints milliseconds per round (per process for the shell) and tsemu's ratio
# to qemu.  Timings only: nothing here fails on a number.
#
# Environment:
#   BENCH_FORKS    rounds of fork and of exec (default 300 and a third of it)
#   BENCH_RUNS     runs of hello (default 10)
#   BENCH_ACCELS   the engines to compare (default "interp tcg")
#   TSEMU_CMD      command line used in place of tsemu-riscv64
#   QEMU_CMD       command line of the reference emulator (default qemu-riscv64)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
forks="${BENCH_FORKS:-300}"
execs=$((forks / 3 > 0 ? forks / 3 : 1))
runs="${BENCH_RUNS:-10}"
read -r -a accels <<<"${BENCH_ACCELS:-interp tcg}"
# shellcheck source-path=SCRIPTDIR source=user-commands.sh
. "$root/bench/user-commands.sh"
bench_user_commands process-bench.sh
qemu_path="$(command -v "${qemu_cmd[0]}")"
bin_dir="$(bash "$root/guest/build-tests.sh" | tail -n 1)"
busybox="$root/.cache/busybox/current/busybox"
work="$(mktemp -d "${TMPDIR:-/tmp}/tsemu-procbench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# per_round CMD... : the milliseconds per round forkbench printed.
per_round() {
  local out
  if ! out="$("$@" 2>"$work/err")"; then
    echo "process-bench.sh: '$*' failed:" >&2
    head -n 5 "$work/err" >&2
    return 1
  fi
  echo "${out##* }"
}

# wall_ms CMD... : wall-clock milliseconds of one run (output discarded).
wall_ms() {
  local t0 t1
  t0="$(date +%s%N)"
  "$@" >/dev/null 2>"$work/err" || { echo "process-bench.sh: '$*' failed" >&2; head -n 5 "$work/err" >&2; return 1; }
  t1="$(date +%s%N)"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'
}

# median_ms CMD... : the median wall time of $runs runs.
median_ms() {
  local i
  for ((i = 0; i < runs; i++)); do wall_ms "$@" || return 1; echo; done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

rows=()
# row NAME QEMU_MS then one value per engine
row() {
  local name="$1" q="$2" accel v
  shift 2
  rows+=("$(printf '%-22s %-7s %10s %9s' "$name" qemu "$q" 1.0)")
  for accel in "${accels[@]}"; do
    v="$1"
    shift
    rows+=("$(printf '%-22s %-7s %10s %9s' "$name" "$accel" "$v" "$(awk -v t="$v" -v q="$q" 'BEGIN { if (q > 0 && t != "failed") printf "%.2f", t / q; else print "-" }')")")
  done
}

fb="$bin_dir/forkbench"
echo "process-bench: qemu: $("${qemu_cmd[@]}" --version | head -n 1)" >&2
echo "process-bench: tsemu: ${tsemu_cmd[*]} (node $(node --version))" >&2

echo "process-bench: fork+exit+wait x$forks ..." >&2
vals=()
for a in "${accels[@]}"; do vals+=("$(per_round "${tsemu_cmd[@]}" -accel "$a" "$fb" fork "$forks" || echo failed)"); done
row "fork+exit+wait" "$(per_round "${qemu_cmd[@]}" "$fb" fork "$forks")" "${vals[@]}"

echo "process-bench: fork+exec+wait x$execs ..." >&2
vals=()
for a in "${accels[@]}"; do vals+=("$(per_round "${tsemu_cmd[@]}" -accel "$a" "$fb" exec "$execs" || echo failed)"); done
row "fork+exec+wait" "$(per_round "${qemu_cmd[@]}" "$fb" exec "$execs" "$qemu_path")" "${vals[@]}"

if [ -x "$busybox" ]; then
  script='i=0; while [ $i -lt 1000 ]; do ( : ); i=$((i+1)); done'
  echo "process-bench: shell starting 1000 processes ..." >&2
  vals=()
  for a in "${accels[@]}"; do
    v="$(wall_ms "${tsemu_cmd[@]}" -accel "$a" "$busybox" sh -c "$script" || echo failed)"
    vals+=("$(awk -v v="$v" 'BEGIN { if (v == "failed") print v; else printf "%.3f", v / 1000 }')")
  done
  q="$(wall_ms "${qemu_cmd[@]}" "$busybox" sh -c "$script")"
  row "shell, per process" "$(awk -v v="$q" 'BEGIN { printf "%.3f", v / 1000 }')" "${vals[@]}"
else
  echo "process-bench: $busybox not found: the shell row is left out (build BusyBox first)" >&2
fi

echo "process-bench: hello start-up x$runs ..." >&2
vals=()
for a in "${accels[@]}"; do vals+=("$(median_ms "${tsemu_cmd[@]}" -accel "$a" "$bin_dir/hello" || echo failed)"); done
row "hello start-up" "$(median_ms "${qemu_cmd[@]}" "$bin_dir/hello")" "${vals[@]}"

printf '%-22s %-7s %10s %9s\n' "workload" "engine" "ms" "vs qemu"
for r in "${rows[@]}"; do echo "$r"; done
