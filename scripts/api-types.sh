#!/usr/bin/env bash
# Regenerates what the task pane takes from the API, after the API changed (new endpoint, record, code):
#   addin/src/api/openapi.json   the OpenAPI document the API serves (/openapi/v1.json)
#   addin/src/i18n/codes.json    the server's table of codes (ServerText: English and Japanese)
#   addin/src/model/modes.json   the mode table (GET /api/modes)
#   addin/src/api/schema.d.ts    TypeScript types of openapi.json (openapi-typescript)
# Commit all four. The checks: the API's ApiTypesTests fail when the first three are stale, `npm run build` (and so
# scripts/test.sh) fails when schema.d.ts is not what openapi-typescript makes of openapi.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build BulkMail.sln -c Release -clp:ErrorsOnly
BULKMAIL_UPDATE_API_TYPES=1 dotnet test --solution BulkMail.sln --no-build -c Release -- --filter-class '*ApiTypesTests'
cd addin
[ -d node_modules/bulkmail-api-types ] || npm ci --no-audit --no-fund --loglevel=error
npm run --silent api-types
