#!/usr/bin/env bash
# Runs every test of BulkMail: the add-in's unit tests (Vitest), the API's tests (xunit, real redis-server and
# sandboxes) and the end-to-end tests (headless Chromium driving the task pane against the demo server: every scenario
# on the demo's in-memory store, the scenarios that write to the store once more on Redis; E2E_REDIS_ONLY names them).
# Installs what the tests need first: on Debian/Ubuntu as root it installs missing system packages with apt-get;
# otherwise it says exactly what to install. Extra arguments go to `dotnet test` and then only the API tests run,
# e.g. `bash scripts/test.sh --filter-class '*ManifestTests'`.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium_path() {
  for c in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
  done
  return 1
}

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
chromium_path >/dev/null || need_apt+=(chromium)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
# Japanese glyphs in the end-to-end screenshots
if command -v dpkg >/dev/null 2>&1 && ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then need_apt+=(fonts-noto-cjk); fi

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${need_apt[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "The tests need: ${need_apt[*]}" >&2
    echo "Install them, e.g.: sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
fi
if ! command -v dotnet >/dev/null 2>&1; then
  echo "The tests need the .NET 10 SDK (dotnet). See https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
  exit 1
fi
export CHROMIUM_PATH="$(chromium_path)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

api_only=0
[ $# -gt 0 ] && api_only=1
# The API's manifest tests serve addin/dist: build it (from the lock file and from scratch for a full run).
echo "== add-in: npm ci, build"
if [ "$api_only" = 0 ]; then bash scripts/addin.sh --ci; else bash scripts/addin.sh; fi
# Our own folder for the run's logs (named, not tmp.*: a sweep of stray tmp.* files must not take them mid-run).
work=$(mktemp -d "${TMPDIR:-/tmp}/bulkmail-test.XXXXXX")
results="$work/results"
: > "$results"
overall=0

if [ "$api_only" = 0 ]; then
  # Lint first (ESLint with the React hook rules, warnings are errors): a finding fails the run, counted as one failure.
  echo "== add-in: lint (eslint)"
  if ! (cd addin && npm run --silent lint); then
    overall=1
    echo "0 1 0" >> "$results"
  fi
  echo "== add-in: unit tests (vitest)"
  set +e
  (cd addin && npx vitest run --reporter=default --reporter=json --outputFile="$results.vitest.json")
  [ $? -eq 0 ] || overall=1
  set -e
  node -e 'const r=require(process.argv[1]);console.log(`${r.numPassedTests} ${r.numFailedTests} ${r.numPendingTests+r.numTodoTests}`)' "$results.vitest.json" >> "$results" 2>/dev/null \
    || { echo "0 1 0" >> "$results"; overall=1; }
fi

echo "== dotnet restore"
dotnet restore BulkMail.sln --verbosity quiet
echo "== dotnet build"
dotnet build BulkMail.sln --no-restore --configuration Release --verbosity quiet -clp:ErrorsOnly
echo "== dotnet test"
log="$work/dotnet-test.log"
set +e
dotnet test --solution BulkMail.sln --no-build --configuration Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || overall=1
dtotal=$(awk '/^ *total:/ {s+=$2} END {print s+0}' "$log")
awk '/^ *succeeded:/ {p+=$2} /^ *failed:/ {f+=$2} /^ *skipped:/ {s+=$2} END {print p+0, f+0, s+0}' "$log" >> "$results"
rm -f "$log"
if [ "$dtotal" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "No API test ran." >&2
  overall=1
fi

# One end-to-end pass: the e2e runner's environment as arguments (E2E_STORE, E2E_ONLY, E2E_SKIP_BUILD).
e2e_pass() {
  local elog
  elog=$(mktemp "$work/e2e.XXXXXX")
  set +e
  (cd addin && env "$@" npm run --silent e2e) 2>&1 | tee "$elog"
  [ "${PIPESTATUS[0]}" -eq 0 ] || overall=1
  set -e
  sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$elog" | tail -1 >> "$results"
  grep -q '^e2e: ' "$elog" || { echo "0 1 0" >> "$results"; overall=1; }
  rm -f "$elog"
}

if [ "$api_only" = 0 ]; then
  echo "== end-to-end (headless Chromium, demo server, in-memory store)"
  e2e_pass E2E_STORE=memory
  # The demo runs on the in-memory store; production on Redis. The scenarios that write to the store (sending with
  # files and phase updates, cancel, hold and start, throttled waits) run once more against a Redis-backed server.
  echo "== end-to-end (the store's scenarios, Redis store)"
  e2e_pass E2E_STORE=redis E2E_SKIP_BUILD=1 E2E_ONLY="${E2E_REDIS_ONLY:-a,b,cancelled,throttled,hold,reply}"
fi

read -r passed failed skipped < <(awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}' "$results")
rm -rf "$work"
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$overall"
