#!/usr/bin/env bash
# Builds the task pane (addin/dist) when its sources changed: npm ci when package-lock.json changed, then vite build.
# `--ci` always installs from the lock file and always builds.
set -euo pipefail
cd "$(dirname "$0")/../addin"
if ! command -v node >/dev/null 2>&1; then
  echo "Building the task pane needs Node.js 20+ and npm (e.g. sudo apt-get install -y nodejs npm)." >&2
  exit 1
fi
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "${1:-}" = "--ci" ] || [ ! -f node_modules/.bulkmail-lock ] || [ "$(cat node_modules/.bulkmail-lock)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.bulkmail-lock
fi
newest_source=$(find src public taskpane.html fallbackauthdialog.html vite.config.ts tsconfig.json package-lock.json -type f -newer dist/taskpane.html 2>/dev/null | head -1 || true)
if [ "${1:-}" = "--ci" ] || [ ! -f dist/taskpane.html ] || [ -n "$newest_source" ]; then
  npm run --silent build
fi
