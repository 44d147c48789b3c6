#!/usr/bin/env bash
# User-mode benchmark: the same riscv64 workloads under qemu-riscv64 and
# tsemu-riscv64 with each engine (-accel interp, the interpreter; -accel tcg,
# the translator), side by side: wall-clock seconds, host CPU seconds (user +
# system; steadier than wall time on a busy host), the ratio to qemu and
# guest MIPS where the guest instruction count is known (tsemu reports it on
# stderr as "tsemu-riscv64: instructions=N" when TSEMU_STATS=1).
#
# Workloads:
#   cpubench N          test/guest/cpubench.c (integer CPU mix), static build
#   busybox sha256sum   of a generated 16 MiB file   } only when
#   busybox gzip -c     of the same file              } .cache/busybox/current/busybox exists
#
# Environment:
#   BENCH_ITERS    cpubench iterations (default 500, about 1-3 s under qemu)
#   BENCH_REPEAT   runs per emulator and workload; the fastest counts (default 1)
#   BENCH_TIMEOUT  seconds allowed for one run (default 900)
#   TSEMU_CMD      command line used in place of tsemu-riscv64
#   BENCH_ACCELS   the engines to compare (default "interp tcg")
#   QEMU_CMD       command line of the reference emulator (default qemu-riscv64)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
iters="${BENCH_ITERS:-500}"
repeat="${BENCH_REPEAT:-1}"
limit="${BENCH_TIMEOUT:-900}"
read -r -a accels <<<"${BENCH_ACCELS:-interp tcg}"
sysroot=/usr/riscv64-linux-gnu

# shellcheck source-path=SCRIPTDIR source=user-commands.sh
. "$root/bench/user-commands.sh"
bench_user_commands user-bench.sh

bin_dir="$(bash "$root/guest/build-tests.sh" | tail -n 1)"
work="$(mktemp -d "${TMPDIR:-/tmp}/tsemu-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

now_ns() { date +%s%N; }

# run_timed OUTFILE ERRFILE CMD... : runs CMD with stdout/stderr to the files,
# prints "wall cpu" seconds; fails if the command fails.
run_timed() {
  local out="$1" err="$2"
  shift 2
  local t0 t1 rc=0
  t0="$(now_ns)"
  /usr/bin/time -f "%U %S" -o "$work/cpu" timeout "$limit" "$@" >"$out" 2>"$err" || rc=$?
  t1="$(now_ns)"
  if [ "$rc" -ne 0 ]; then
    echo "user-bench.sh: '$*' failed with status $rc:" >&2
    head -n 5 "$err" >&2
    return 1
  fi
  awk -v a="$t0" -v b="$t1" -v cpu="$(tail -n 1 "$work/cpu")" \
    'BEGIN { split(cpu, c, " "); printf "%.3f %.3f\n", (b - a) / 1e9, c[1] + c[2] }'
}

# best_of OUTFILE ERRFILE CMD... : prints "wall cpu" of the run with the least CPU time of $repeat runs.
best_of() {
  local out="$1" err="$2"
  shift 2
  local best="" t i
  for ((i = 0; i < repeat; i++)); do
    t="$(run_timed "$out" "$err" "$@")" || return 1
    if [ -z "$best" ] || awk -v x="${t#* }" -v y="${best#* }" 'BEGIN { exit !(x < y) }'; then best="$t"; fi
  done
  echo "$best"
}

# has_interp FILE: true when the ELF64 file has a PT_INTERP program header
# (dynamically linked, needs -L with the riscv64 sysroot).
has_interp() {
  local f="$1" phoff phentsize phnum i type
  phoff="$(od -An -t u8 -j 32 -N 8 "$f" | tr -d ' ')"
  phentsize="$(od -An -t u2 -j 54 -N 2 "$f" | tr -d ' ')"
  phnum="$(od -An -t u2 -j 56 -N 2 "$f" | tr -d ' ')"
  for ((i = 0; i < phnum; i++)); do
    type="$(od -An -t u4 -j $((phoff + i * phentsize)) -N 4 "$f" | tr -d ' ')"
    [ "$type" = 3 ] && return 0
  done
  return 1
}

rows=()
notes=()

# bench NAME LINK_ARGS(string) PROGRAM ARGS... : one table row per engine (and qemu's).
bench() {
  local name="$1" link="$2"
  shift 2
  local -a link_args=()
  [ -n "$link" ] && read -r -a link_args <<<"$link"
  local q ts insns="" accel ratio mips
  if ! q="$(best_of "$work/q.out" "$work/q.err" "${qemu_cmd[@]}" "${link_args[@]}" "$@")"; then
    rows+=("$(printf '%-26s %-7s %8s %8s %8s %14s %9s' "$name" "qemu" "failed" "-" "-" "-" "-")")
    return
  fi
  local -a trows=()
  for accel in "${accels[@]}"; do
    if ! ts="$(best_of "$work/t.out" "$work/t.err" env TSEMU_STATS=1 "${tsemu_cmd[@]}" -accel "$accel" "${link_args[@]}" "$@")"; then
      trows+=("$(printf '%-26s %-7s %8s %8s %8s %14s %9s' "$name" "$accel" "failed" "-" "-" "-" "-")")
      continue
    fi
    if ! cmp -s "$work/q.out" "$work/t.out"; then notes+=("$name: stdout of tsemu -accel $accel differs from qemu"); fi
    insns="$(sed -n 's/^tsemu-riscv64: instructions=\([0-9][0-9]*\).*/\1/p' "$work/t.err" | tail -n 1)"
    ratio="$(awk -v t="${ts#* }" -v q="${q#* }" 'BEGIN { if (q > 0) printf "%.1f", t / q; else print "-" }')"
    mips="$(awk -v n="${insns:-0}" -v s="${ts#* }" 'BEGIN { if (s > 0 && n > 0) printf "%.0f", n / s / 1e6; else print "-" }')"
    trows+=("$(printf '%-26s %-7s %8s %8s %8s %14s %9s' "$name" "$accel" "${ts% *}" "${ts#* }" "$ratio" "${insns:--}" "$mips")")
  done
  mips="$(awk -v n="${insns:-0}" -v s="${q#* }" 'BEGIN { if (s > 0 && n > 0) printf "%.0f", n / s / 1e6; else print "-" }')"
  rows+=("$(printf '%-26s %-7s %8s %8s %8s %14s %9s' "$name" "qemu" "${q% *}" "${q#* }" "1.0" "${insns:--}" "$mips")")
  rows+=("${trows[@]}")
}

echo "user-bench: qemu: $("${qemu_cmd[@]}" --version | head -n 1)" >&2
echo "user-bench: tsemu: ${tsemu_cmd[*]} (node $(node --version 2>/dev/null || echo '?'))" >&2
echo "user-bench: host: $(nproc) cpus, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" >&2

echo "user-bench: cpubench $iters ..." >&2
bench "cpubench $iters" "" "$bin_dir/cpubench" "$iters"

busybox="$root/.cache/busybox/current/busybox"
if [ -x "$busybox" ]; then
  bb_link=""
  if has_interp "$busybox"; then bb_link="-L $sysroot"; fi
  data="$work/data-16MiB"
  (seq 1 3000000 || true) | head -c 16777216 >"$data"
  echo "user-bench: busybox sha256sum ..." >&2
  bench "busybox sha256sum 16MiB" "$bb_link" "$busybox" sha256sum "$data"
  echo "user-bench: busybox gzip ..." >&2
  bench "busybox gzip -c 16MiB" "$bb_link" "$busybox" gzip -c "$data"
else
  notes+=("busybox rows skipped: $busybox not found (build BusyBox first)")
fi

printf '%-26s %-7s %8s %8s %8s %14s %9s\n' "workload" "engine" "wall s" "cpu s" "cpu/qemu" "guest insns" "MIPS"
for r in "${rows[@]}"; do echo "$r"; done
for n in "${notes[@]}"; do echo "note: $n"; done
