#!/usr/bin/env bash
# Runs every test suite (after scripts/setup.sh), each against real parts: workerd, Postgres,
# mediasoup, ffmpeg, Chromium. Runs them all even when one fails, then prints one summary line.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true
results=.data/test-results
rm -rf "$results" && mkdir -p "$results"

failed_steps=()
step() {
  local name=$1; shift
  printf '\n\033[1m== %s ==\033[0m\n' "$name"
  "$@" || failed_steps+=("$name")
}
suite() {
  local name=$1
  step "$name" npm run --silent "$name" -- --reporter=default --reporter=json --outputFile="$results/$name.json"
}

step typecheck npm run --silent typecheck
suite test:edge
suite test:edge:outage
suite test:security
suite test:shards
suite test:media
suite test:recording
suite test:web
suite test:sim
suite test:scripts
suite test:e2e

node -e '
const fs = require("fs"); let passed = 0, failed = 0, skipped = 0;
for (const f of fs.readdirSync(process.argv[1])) {
  const r = JSON.parse(fs.readFileSync(process.argv[1] + "/" + f, "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + (r.numTodoTests || 0);
  console.log(`${f.replace(/\.json$/, "")}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  // Name each failure with its first message line: the summary is often all a CI log keeps.
  for (const file of r.testResults || []) {
    if (file.status === "failed" && !(file.assertionResults || []).some((t) => t.status === "failed"))
      console.log(`  FAILED ${file.name.replace(process.cwd() + "/", "")}\n    ${String(file.message || "").split("\n")[0].slice(0, 300)}`);
  }
  for (const file of r.testResults || []) for (const t of file.assertionResults || []) {
    if (t.status !== "failed") continue;
    const why = String((t.failureMessages || [])[0] || "").split("\n")[0].slice(0, 300);
    console.log(`  FAILED ${file.name.replace(process.cwd() + "/", "")} > ${t.fullName}\n    ${why}`);
  }
}
console.log(`Tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results"

if [ ${#failed_steps[@]} -gt 0 ]; then
  echo "failed: ${failed_steps[*]}"
  exit 1
fi
