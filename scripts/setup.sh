#!/usr/bin/env bash
# Installs whatever the project needs and is missing, then returns quickly on later runs:
#   Debian packages (PostgreSQL, Chromium, ffmpeg, coturn), node_modules, the mediasoup worker binary.
# Called by `npm start` and `npm test`; safe to run again at any time.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# ── Node ──────────────────────────────────────────────────────────────────────────────
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
  { say "Node >= 20.19 is required (found $(node --version))"; exit 1; }

# ── Debian packages ───────────────────────────────────────────────────────────────────
# postgresql: the local database; chromium: browser tests; ffmpeg: recording; coturn: the TURN relay.
need=()
for pkg in postgresql chromium ffmpeg coturn; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: ${need[*]} — run: sudo apt-get install -y ${need[*]}"; exit 1
  fi
  say "installing Debian packages: ${need[*]} (apt-get; first time only, a few minutes)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# ── UDP socket buffers ────────────────────────────────────────────────────────────────
# Media workers ask for 4 MiB per UDP socket (RTC_UDP_BUFFER_BYTES); the kernel caps that at
# net.core.rmem_max / wmem_max (its default: 208 KiB). Same values as a production node
# (media-node/deploy/90-edgemeet-media.conf). A node below them warns and runs; the media test
# of a stalled worker (media-node/test/udp-buffers.test.ts) needs them.
for key in rmem_max wmem_max; do
  file=/proc/sys/net/core/$key
  current=$(cat "$file" 2>/dev/null || echo unknown)
  if [ "$current" = unknown ] || [ "$current" -lt 4194304 ]; then
    if [ "$(id -u)" = 0 ] && { echo 4194304 > "$file"; } 2>/dev/null; then
      say "raised net.core.$key from $current to 4194304 (media workers' UDP buffers)"
    else
      say "warning: net.core.$key is $current; media workers' UDP buffers stay that small — run: sudo sysctl -w net.core.$key=4194304"
    fi
  fi
done

# ── node_modules ──────────────────────────────────────────────────────────────────────
# npm blocks mediasoup's postinstall (allowScripts in package.json): its worker comes below.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing node modules (npm ci)"
  npm ci --no-audit --no-fund >&2
fi

# ── mediasoup worker ──────────────────────────────────────────────────────────────────
ms_version=$(node -p 'require("./node_modules/mediasoup/package.json").version')
worker_target=node_modules/mediasoup/worker/out/Release/mediasoup-worker
# A worker started outside mediasoup exits with 41 ("not my real father"): it loads and runs.
worker_runs() { local rc=0; env -u MEDIASOUP_VERSION "$1" >/dev/null 2>&1 || rc=$?; [ "$rc" = 41 ]; }
if [ ! -x "$worker_target" ] || ! worker_runs "$worker_target"; then
  bin=""
  if [ "${EDGEMEET_SKIP_PREBUILT_WORKER:-}" != 1 ]; then
    say "mediasoup $ms_version: trying the prebuilt worker"
    bin=$(node scripts/fetch-mediasoup-prebuilt.mjs "$(mktemp -d)") || bin=""
  fi
  if [ -z "$bin" ]; then
    say "mediasoup $ms_version: building the worker from the npm tarball (cached after the first time)"
    bin=$(bash scripts/build-mediasoup-worker.sh | tail -n 1)
  fi
  mkdir -p "$(dirname "$worker_target")"
  cp "$bin" "$worker_target.tmp" && mv "$worker_target.tmp" "$worker_target"
  say "mediasoup worker ready: $worker_target"
fi

# ── web client ────────────────────────────────────────────────────────────────────────
# The Worker serves edge/web/dist as static assets; workerd refuses to start without it.
# (npm start rebuilds it when the sources are newer.)
if [ ! -f edge/web/dist/index.html ]; then
  say "building the web client (vite)"
  npm run --silent build:web >&2
fi
