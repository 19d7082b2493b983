#!/usr/bin/env bash
# Runs every test of BulkMail. Installs what the tests need first: on Debian/Ubuntu as root it installs the
# missing system packages with apt-get; otherwise it says exactly what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)

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

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "== dotnet restore"
dotnet restore BulkMail.sln --verbosity quiet
echo "== dotnet build"
dotnet build BulkMail.sln --no-restore --configuration Release --verbosity quiet -clp:ErrorsOnly
echo "== dotnet test"
log=$(mktemp)
set +e
dotnet test --solution BulkMail.sln --no-build --configuration Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

total=$(awk '/^ *total:/ {s+=$2} END {print s+0}' "$log")
failed=$(awk '/^ *failed:/ {s+=$2} END {print s+0}' "$log")
passed=$(awk '/^ *succeeded:/ {s+=$2} END {print s+0}' "$log")
skipped=$(awk '/^ *skipped:/ {s+=$2} END {print s+0}' "$log")
rm -f "$log"
if [ "$total" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "No test ran." >&2
  status=1
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
