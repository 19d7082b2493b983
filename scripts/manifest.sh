#!/usr/bin/env bash
# Writes the Outlook add-in manifest for a deployment:
#   bash scripts/manifest.sh https://bulkmail.contoso.com [api-app-id] [out-file]   (default out-file: manifest.xml)
# The base URL is the HTTPS address that serves /addin/; the app id is the API's Entra application (client) id.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
base="${1:?usage: scripts/manifest.sh <https-base-url> [api-app-id] [out-file]}"
out="$(realpath -m "${3:-manifest.xml}")"
exec dotnet run --project api -c Release --no-launch-profile -- write-manifest "$base" "${2:--}" "$out"
