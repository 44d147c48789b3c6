#!/usr/bin/env bash
# Builds tsemu's native modules, what Node cannot do on its own, into
# dist/native/ with the host's C compiler and the Node-API headers from npm
# (node-api-headers): native/ofd-lock.c (the image locks QEMU takes),
# native/host-spawn.c (host programs a user-mode guest execs, started without a fork) and
# native/unix-dgram.c (Unix datagram sockets for -netdev dgram).  Without a
# compiler it says so and leaves them out: tsemu then runs without image
# locking (locking=auto) and refuses Unix dgram netdevs, as the README says.
# Usage: scripts/build-native.sh [--require]   (--require: a missing compiler is an error)
set -euo pipefail
cd "$(dirname "$0")/.."
headers=node_modules/node-api-headers/include
cc="${CC:-cc}"
if ! command -v "$cc" >/dev/null 2>&1 || [ ! -d "$headers" ]; then
  if [ "${1:-}" = --require ]; then
    echo "build-native.sh: cannot build dist/native/: needs a C compiler ($cc) and npm's node-api-headers (npm ci)" >&2
    exit 1
  fi
  echo "build-native.sh: no C compiler or Node-API headers; native modules left out (install gcc, then npm run build)" >&2
  exit 0
fi
mkdir -p dist/native
for src in native/*.c; do
  out="dist/native/$(basename "$src" .c).node"
  [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ] && continue
  "$cc" -O2 -Wall -Wextra -Werror -shared -fPIC -I "$headers" -o "$out.tmp" "$src"
  mv "$out.tmp" "$out"
done
