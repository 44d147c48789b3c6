#!/usr/bin/env bash
# `npm run web`: the default guest in a web page.  Builds tsemu and the page,
# builds the default guest when it is not cached (as `npm start` does), and
# serves the page on loopback (port $PORT, else 8080; --port N), printing its URL.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
scripts/deps.sh user busybox linux system
exec node dist/web/server/main.js "$@"
