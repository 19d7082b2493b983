#!/usr/bin/env bash
# Starts BulkMail in demo mode: the API with its built-in HRBC sandbox, on loopback, no Microsoft 365 and no Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
exec dotnet run --project api --launch-profile demo "$@"
