#!/usr/bin/env bash
# A local Postgres cluster for development and tests (Debian's postgresql-15, trust auth, loopback).
#   eval "$(bash scripts/postgres.sh start)"   # prints `export DATABASE_URL=…` on stdout
#   bash scripts/postgres.sh stop | status | url | pid
# EDGEMEET_PG_DIR picks the data folder (default .data/postgres), so a test can run its own
# cluster and stop it without touching anyone else's. The port is chosen once and kept in it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data_dir=$(realpath -m "${EDGEMEET_PG_DIR:-$here/.data/postgres}")
db_name=edgemeet
say() { printf '[postgres] %s\n' "$*" >&2; }

find_bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

ensure_installed() {
  find_bindir >/dev/null && return 0
  say "PostgreSQL server not found: installing Debian's postgresql package (apt-get)…"
  if [ "$(id -u)" != 0 ]; then say "need root to install postgresql; run: sudo apt-get install -y postgresql"; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  find_bindir >/dev/null || { say "postgresql installed but pg_ctl not found"; exit 1; }
}

# Postgres refuses to run as root: as root, run it as the `postgres` system user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

url() { echo "postgres://postgres@127.0.0.1:$(cat "$data_dir/edgemeet.port")/$db_name"; }

running() { [ -f "$data_dir/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$data_dir" status >/dev/null 2>&1; }

ensure_installed
bindir=$(find_bindir)

# As root the server runs as `postgres`, which must reach the data folder. A checkout inside a
# private directory (mktemp -d is 0700) is out of its reach: keep that checkout's cluster under
# /var/lib/postgresql instead, at a path derived from the requested one (so start/stop/url agree).
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$(dirname "$data_dir")"
  if ! (cd / && runuser -u postgres -- test -x "$(dirname "$data_dir")"); then
    data_dir=/var/lib/postgresql/edgemeet/$(printf '%s' "$data_dir" | sha256sum | cut -c1-16)
    mkdir -p "$(dirname "$data_dir")" && chown postgres:postgres "$(dirname "$data_dir")"
  fi
fi
# The server and its tools must not inherit a working directory `postgres` cannot enter.
cd /

case "${1:-start}" in
  start)
    if [ ! -f "$data_dir/PG_VERSION" ]; then
      say "initialising a cluster in $data_dir"
      mkdir -p "$data_dir"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$data_dir"
      chmod 700 "$data_dir"
      as_owner "$bindir/initdb" -D "$data_dir" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
      free_port >"$data_dir/edgemeet.port.tmp" && mv "$data_dir/edgemeet.port.tmp" "$data_dir/edgemeet.port"
    fi
    if ! running; then
      port=$(cat "$data_dir/edgemeet.port")
      say "starting on 127.0.0.1:$port"
      as_owner "$bindir/pg_ctl" -D "$data_dir" -l "$data_dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $data_dir -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || { tail -20 "$data_dir/server.log" >&2; exit 1; }
    fi
    port=$(cat "$data_dir/edgemeet.port")
    if ! "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "select 1 from pg_database where datname='$db_name'" | grep -q 1; then
      "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db_name"
    fi
    echo "export DATABASE_URL=$(url)"
    ;;
  stop)
    if running; then say "stopping ($data_dir)"; as_owner "$bindir/pg_ctl" -D "$data_dir" -m fast -w stop >/dev/null; fi
    ;;
  status)
    if running; then echo "running: $(url)"; else echo "stopped"; exit 3; fi
    ;;
  url) url ;;
  # The postmaster's pid (a test freezes and thaws it: SIGSTOP, SIGCONT).
  pid)
    if running; then head -1 "$data_dir/postmaster.pid"; else say "stopped"; exit 3; fi
    ;;
  *) say "usage: postgres.sh start|stop|status|url|pid"; exit 2 ;;
esac
