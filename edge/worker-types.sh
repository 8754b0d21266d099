#!/usr/bin/env bash
# The Worker's `Env` (edge/worker-configuration.d.ts) is generated from wrangler.toml by
# `wrangler types`: bindings and [vars] only; secrets are parsed from env by edge/config.ts.
#   bash edge/worker-types.sh           regenerate the committed file
#   bash edge/worker-types.sh --check   fail when it is stale (run by `npm run typecheck`)
# `--env-file /dev/null` keeps a local .dev.vars out of the types, so the output is the same on
# every machine (wrangler's own --check reads .dev.vars, hence the diff below).
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true
out=edge/worker-configuration.d.ts
generate() { node_modules/.bin/wrangler types "$1" --include-runtime=false --strict-vars=false --env-file /dev/null >/dev/null; }

if [[ "${1:-}" != "--check" ]]; then
  generate "$out"
  echo "wrote $out"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generate "$tmp/worker-configuration.d.ts"
# Compare everything but the header (it names the output path) and the relative import path.
normalise() { tail -n +3 "$1" | sed -E 's#import\("[^"]*/?worker"\)#import("worker")#g'; }
if ! diff <(normalise "$out") <(normalise "$tmp/worker-configuration.d.ts") >&2; then
  echo "$out is stale: run \`bash edge/worker-types.sh\` after changing wrangler.toml" >&2
  exit 1
fi
