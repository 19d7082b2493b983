#!/usr/bin/env bash
# Regenerates api/Mailings/Scheduling/japan-holidays.json (embedded in the API: sending windows that skip Japanese
# public holidays) from the npm package @holiday-jp/holiday_jp, pinned in addin/package.json. To refresh the data
# (the Cabinet Office publishes the next year's holidays each February): bump the package there, `npm install` in
# addin/, run this script, commit package.json, package-lock.json and the JSON. HolidayDataTests fails when the
# committed file is not what the installed package gives. See docs/scheduling.md.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d addin/node_modules/@holiday-jp/holiday_jp ] || (cd addin && npm ci --no-audit --no-fund --loglevel=error)
node - <<'JS'
const fs = require('fs');
const path = require('path');
const root = process.cwd();
const pkgDir = path.join(root, 'addin', 'node_modules', '@holiday-jp', 'holiday_jp');
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
const holidays = require(path.join(pkgDir, 'lib', 'holidays.js'));
const dates = {};
for (const key of Object.keys(holidays).sort()) {
  dates[key] = holidays[key].name;
}
const doc = {
  source: `@holiday-jp/holiday_jp ${version} (https://github.com/holiday-jp/holiday_jp), built from the Cabinet Office list 国民の祝日について (https://www8.cao.go.jp/chosei/shukujitsu/gaiyou.html)`,
  generated: new Date().toISOString().slice(0, 10),
  dates,
};
const out = path.join(root, 'api', 'Mailings', 'Scheduling', 'japan-holidays.json');
fs.writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
console.log(`${out}: ${Object.keys(dates).length} dates, ${Object.keys(dates)[0]} to ${Object.keys(dates).at(-1)}`);
JS
