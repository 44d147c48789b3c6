# shellcheck shell=bash
# The emulators the user-mode benchmarks compare (source this file; bash only):
# sets qemu_cmd (QEMU_CMD, default qemu-riscv64) and tsemu_cmd (TSEMU_CMD, or
# bin/tsemu-riscv64, the launcher a user runs, with its Node options, over the
# built dist/) as arrays, and exits with a message naming the caller ($1) when
# one of them is missing.
# Needs $root (the repository root).
bench_user_commands() {
  local me="$1" cli c
  read -r -a qemu_cmd <<<"${QEMU_CMD:-qemu-riscv64}"
  if [ -n "${TSEMU_CMD:-}" ]; then
    read -r -a tsemu_cmd <<<"$TSEMU_CMD"
  else
    cli="$root/dist/src/cli/tsemu-riscv64.js"
    if [ ! -f "$cli" ]; then
      echo "$me: $cli not found; run npm run build first" >&2
      exit 1
    fi
    tsemu_cmd=("$root/bin/tsemu-riscv64")
  fi
  for c in "${qemu_cmd[0]}" "${tsemu_cmd[0]}"; do
    if ! command -v "$c" >/dev/null 2>&1; then
      echo "$me: '$c' not found (scripts/deps.sh user installs qemu-user)" >&2
      exit 1
    fi
  done
}
