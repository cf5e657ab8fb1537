#!/usr/bin/env bash
# Local PostgreSQL for the dev stack and the tests: a cluster in a project
# folder, started from the system's server binaries. Installs Debian's
# postgresql package when the binaries are missing and we run as root.
#
#   pg.sh start DIR PORT [--fast]   init (once) and start; prints the DATABASE_URL
#   pg.sh stop DIR                  stop the cluster in DIR
#   pg.sh url DIR PORT              print the DATABASE_URL
#
# --fast turns off fsync for throwaway test clusters (never for `make run`).
set -euo pipefail

cmd=${1:-}; dir=${2:-}; port=${3:-55432}; fast=${4:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: pg.sh start|stop|url DIR [PORT] [--fast]" >&2; exit 2; }

find_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

ensure_binaries() {
  if ! bindir=$(find_bindir); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "pg.sh: installing PostgreSQL server binaries (apt-get install postgresql)" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
      bindir=$(find_bindir)
    else
      echo "pg.sh: PostgreSQL server binaries not found; install the 'postgresql' package" >&2
      exit 1
    fi
  fi
}

# initdb and postgres refuse to run as root: use the postgres system user then.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

url() { echo "postgres://redress@127.0.0.1:$port/redress?sslmode=disable"; }

case "$cmd" in
start)
  ensure_binaries
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_owner "$bindir/initdb" -D "$dir" -U redress --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
      || { cat "$dir.initdb.log" >&2; exit 1; }
  fi
  opts="-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=200 -c shared_buffers=256MB"
  [ "$fast" = "--fast" ] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if ! as_owner "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    as_owner "$bindir/pg_ctl" -D "$dir" -o "$opts" -l "$dir/server.log" -w -t 60 start >/dev/null \
      || { tail -20 "$dir/server.log" >&2; exit 1; }
  fi
  "$bindir/psql" -h 127.0.0.1 -p "$port" -U redress -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='redress'" | grep -q 1 \
    || "$bindir/createdb" -h 127.0.0.1 -p "$port" -U redress redress
  url
  ;;
stop)
  ensure_binaries
  [ -f "$dir/PG_VERSION" ] || exit 0
  as_owner "$bindir/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
  ;;
url) url ;;
*) echo "pg.sh: unknown command $cmd" >&2; exit 2 ;;
esac
