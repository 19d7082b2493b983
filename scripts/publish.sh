#!/usr/bin/env bash
# Publishes BulkMail for a server: the API (framework-dependent: the server needs the ASP.NET Core 10 runtime) with
# the built task pane next to it in addin/dist, where the API looks for it.
#   bash scripts/publish.sh [out-dir]          (default: publish/)
# Run it from that folder (it is the content root: appsettings.json and addin/dist are found there):
#   cd <out-dir> && ASPNETCORE_ENVIRONMENT=Production dotnet BulkMail.Api.dll
# Settings, Entra ID and Redis: docs/operations.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
out="$(realpath -m "${1:-publish}")"
bash scripts/addin.sh
dotnet publish api -c Release -o "$out" --nologo -v quiet
# The sandboxes live in sandbox/BulkMail.Sandbox (the demo host), which the API does not reference.
if ls "$out" | grep -qi sandbox; then
  echo "the publish output contains sandbox code: $(ls "$out" | grep -i sandbox)" >&2
  exit 1
fi
rm -rf "$out/addin"
mkdir -p "$out/addin"
cp -r addin/dist "$out/addin/dist"
echo "published to $out"
echo "run:  cd $out && ASPNETCORE_ENVIRONMENT=Production dotnet BulkMail.Api.dll   (settings: docs/operations.md)"
