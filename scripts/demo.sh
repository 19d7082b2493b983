#!/usr/bin/env bash
# Starts BulkMail in demo mode: the API with its built-in HRBC and mailbox sandboxes, on loopback, no Microsoft 365
# and no Redis; builds the task pane first when it is missing or its sources changed.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if command -v node >/dev/null 2>&1; then
  bash scripts/addin.sh
else
  echo "Node.js is not installed: the task pane is not built (the API and its sandboxes still run)." >&2
fi
cat <<'MSG'
== BulkMail demo
   task pane:        http://127.0.0.1:5080/addin/taskpane.html   (?lang=ja or ?lang=en)
   sandbox mailbox:  http://127.0.0.1:5080/sandbox/mailbox
   API (OpenAPI):    http://127.0.0.1:5080/openapi/v1.json
MSG
exec dotnet run --project sandbox/BulkMail.Sandbox --launch-profile demo "$@"
