#!/usr/bin/env bash
# Builds tsemu's one native module, native/ofd-lock.c (the image locks QEMU
# takes, which Node's fs cannot), into dist/native/ofd-lock.node with the
# host's C compiler and the Node-API headers from npm (node-api-headers).
# Without a compiler it says so and leaves the module out: tsemu then runs
# without image locking (locking=auto), as the README says.
# Usage: scripts/build-native.sh [--require]   (--require: a missing compiler is an error)
set -euo pipefail
cd "$(dirname "$0")/.."
src=native/ofd-lock.c
out=dist/native/ofd-lock.node
headers=node_modules/node-api-headers/include
cc="${CC:-cc}"
if ! command -v "$cc" >/dev/null 2>&1 || [ ! -d "$headers" ]; then
  if [ "${1:-}" = --require ]; then
    echo "build-native.sh: cannot build $out: needs a C compiler ($cc) and npm's node-api-headers (npm ci)" >&2
    exit 1
  fi
  echo "build-native.sh: no C compiler or Node-API headers; image locking left out (install gcc, then npm run build)" >&2
  exit 0
fi
[ "$out" -nt "$src" ] && [ "$out" -nt "$0" ] && exit 0
mkdir -p "$(dirname "$out")"
"$cc" -O2 -Wall -Wextra -Werror -shared -fPIC -I "$headers" -o "$out.tmp" "$src"
mv "$out.tmp" "$out"
