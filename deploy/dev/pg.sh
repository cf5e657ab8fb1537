#!/usr/bin/env bash
# Local PostgreSQL for the dev stack and the tests: a cluster in a project
# folder, started from the system's server binaries. Installs Debian's
# postgresql package when the binaries are missing and we run as root.
#
#   pg.sh start DIR PORT [--fast]   init (once) and start; prints the owner's URL
#                                   (it migrates: REDRESS_MIGRATE_DATABASE_URL)
#   pg.sh stop DIR                  stop the cluster in DIR
#   pg.sh port DIR PORT             print the port of DIR's running cluster,
#                                   else PORT or the next one no socket holds
#   pg.sh url DIR PORT              print the owner's URL
#   pg.sh runtime-url DIR PORT [SERVICE]
#                                   print the services' URL (DATABASE_URL): the
#                                   login role redress_app, a member of
#                                   redress_runtime (migration 00012), which
#                                   cannot rewrite the audit chain; with
#                                   SERVICE (intake, deletion, escalation,
#                                   reporting, checkpoints) that process's
#                                   own login role, a member of its service's
#                                   role only (migrations 00019, 00020;
#                                   intake's also of redress_identity).
#                                   worker: redress_app (it takes the others'
#                                   too, for their activities).
#   pg.sh temporal-url DIR PORT     print the embedded Temporal server's URL
#                                   (REDRESS_TEMPORAL_DATABASE_URL): the login
#                                   role temporal, owner of the databases
#                                   temporal and temporal_visibility, which
#                                   no other role may connect to
#   pg.sh temporal-reset DIR PORT   drop Temporal's databases and create them
#                                   empty (a benchmark or fault run starts clean)
#   pg.sh remove DIR                stop the cluster and delete its data
#
# --fast turns off fsync for throwaway test clusters (never for `make run`).
#
# As root the cluster runs as the `postgres` system user, which must reach the
# data folder. When a parent folder keeps it out (a clone in /root, a home
# folder or `mktemp -d`, all mode 0700), the cluster lives in
# /var/lib/redress/<name>-<hash of DIR> instead and DIR is a link to it;
# `pg.sh remove DIR` deletes both.
set -euo pipefail

cmd=${1:-}; dir=${2:-}; port=${3:-55432}; fast=${4:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: pg.sh start|stop|port|url|runtime-url|temporal-url|temporal-reset|remove DIR [PORT] [--fast]" >&2; exit 2; }

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
ensure_user() {
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    ensure_user
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

url() { echo "postgres://redress@127.0.0.1:$port/redress?sslmode=disable"; }
# The password only matters where pg_hba asks for one (this cluster trusts loopback).
runtime_url() {
  local login=redress_app
  case "${1:-}" in
  intake|deletion|escalation|reporting|checkpoints) login="redress_$1_app" ;;
  ""|worker) ;;
  *) echo "pg.sh: no login role for $1" >&2; exit 2 ;;
  esac
  echo "postgres://$login:$login@127.0.0.1:$port/redress?sslmode=disable"
}
temporal_url() { echo "postgres://temporal:temporal@127.0.0.1:$port/temporal?sslmode=disable"; }

# temporal_databases: the embedded Temporal server's login role and its two
# databases (persistence, visibility), created when missing. `redress dev`
# sets up and upgrades their schema. Only their owner (and the cluster's
# superuser) may connect: the services' role never reaches the engine's state.
temporal_databases() {
  "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U redress -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'temporal') THEN CREATE ROLE temporal LOGIN PASSWORD 'temporal'; END IF;
END $$;
SELECT format('CREATE DATABASE %I OWNER temporal', d) FROM unnest(ARRAY['temporal', 'temporal_visibility']) AS d
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = d) \gexec
REVOKE ALL ON DATABASE temporal, temporal_visibility FROM PUBLIC;
SQL
}

# outside_home DIR: where the cluster of DIR lives when the postgres user
# cannot reach DIR itself (one folder per project path, so clones never share).
outside_home() {
  local sum
  sum=$(printf '%s' "$1" | sha256sum | cut -c1-12)
  echo "/var/lib/redress/$(basename "$1" | tr -c 'A-Za-z0-9_.\n-' '_')-$sum"
}

# place_data_dir: make $dir a folder the cluster's user can use, as a link to
# a folder outside the project when a parent of $dir is closed to that user.
place_data_dir() {
  if [ -L "$dir" ]; then
    local target
    target=$(readlink "$dir")
    mkdir -p "$target"
    chown postgres: "$target"
    return
  fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] || return 0
  ensure_user
  chown postgres: "$dir"
  if runuser -u postgres -- test -w "$dir" -a -x "$dir"; then
    return
  fi
  [ -z "$(ls -A "$dir")" ] || { echo "pg.sh: $dir is not reachable by the postgres user and not empty" >&2; exit 1; }
  local target
  target=$(outside_home "$dir")
  echo "pg.sh: the postgres user cannot enter a parent of $dir (mode 0700?); keeping the cluster in $target, linked from $dir" >&2
  mkdir -p "$target"
  chmod 755 /var/lib/redress
  chown postgres: "$target"
  chmod 700 "$target"
  rmdir "$dir"
  ln -s "$target" "$dir"
}

# port_taken PORT: a socket on this machine listens on, or is connected from,
# PORT (a client's ephemeral port blocks the server's bind as well; one in
# TIME-WAIT does not).
port_taken() {
  if command -v ss >/dev/null; then
    [ -n "$(ss -Htan exclude time-wait "sport = :$1" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

case "$cmd" in
port)
  # A cluster already running in DIR keeps its own port; otherwise another
  # cluster (a second checkout, a test run by hand) or any program may hold
  # the one asked for.
  if [ -f "$dir/postmaster.pid" ]; then
    sed -n 4p "$dir/postmaster.pid"
    exit 0
  fi
  while port_taken "$port"; do
    port=$((port + 1))
  done
  echo "$port"
  ;;
start)
  ensure_binaries
  mkdir -p "$(dirname "$dir")"
  dir="$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")"
  place_data_dir
  initlog="$dir.initdb.log"
  dir=$(readlink -f "$dir")
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_owner "$bindir/initdb" -D "$dir" -U redress --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$initlog" 2>&1 \
      || { cat "$initlog" >&2; exit 1; }
  fi
  # TCP on loopback only: no Unix socket, whose path breaks on spaces and
  # long folder names.
  opts="-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 -c shared_buffers=256MB"
  [ "$fast" = "--fast" ] && opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if ! as_owner "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    as_owner "$bindir/pg_ctl" -D "$dir" -o "$opts" -l "$dir/server.log" -w -t 60 start >/dev/null \
      || { tail -20 "$dir/server.log" >&2; exit 1; }
  fi
  "$bindir/psql" -h 127.0.0.1 -p "$port" -U redress -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='redress'" | grep -q 1 \
    || "$bindir/createdb" -h 127.0.0.1 -p "$port" -U redress redress
  # The services' login role (roles are cluster-wide; the migrations grant
  # redress_runtime its privileges in each database).
  "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U redress -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'redress_runtime') THEN CREATE ROLE redress_runtime NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'redress_app') THEN
    CREATE ROLE redress_app LOGIN PASSWORD 'redress_app' IN ROLE redress_runtime;
  END IF;
END $$;
-- A login role per process that connects as its own service's role
-- (services/internal/pgtest makes the same for the tests).
DO $$
DECLARE
  l record;
  r text;
BEGIN
  FOR l IN SELECT * FROM (VALUES
      ('redress_intake_app', ARRAY['redress_intake', 'redress_identity']),
      ('redress_deletion_app', ARRAY['redress_deletion']),
      ('redress_reporting_app', ARRAY['redress_reporting']),
      ('redress_escalation_app', ARRAY['redress_escalation']),
      ('redress_checkpoints_app', ARRAY['redress_checkpoints'])) AS v(login, roles) LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = l.login) THEN
      EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', l.login, l.login);
    END IF;
    FOREACH r IN ARRAY l.roles LOOP
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN EXECUTE format('CREATE ROLE %I NOLOGIN', r); END IF;
      IF NOT pg_has_role(l.login, r, 'MEMBER') THEN EXECUTE format('GRANT %I TO %I', r, l.login); END IF;
    END LOOP;
  END LOOP;
END $$;
SQL
  temporal_databases
  url
  ;;
stop)
  ensure_binaries
  [ -e "$dir" ] && dir=$(readlink -f "$dir")
  [ -f "$dir/PG_VERSION" ] || exit 0
  as_owner "$bindir/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
  ;;
remove)
  bash "$0" stop "$dir"
  if [ -L "$dir" ]; then
    rm -rf -- "$(readlink "$dir")"
  fi
  rm -rf -- "$dir" "$dir.initdb.log"
  ;;
url) url ;;
runtime-url) runtime_url "${4:-}" ;;
temporal-url) temporal_url ;;
temporal-reset)
  ensure_binaries
  "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U redress -d postgres -v ON_ERROR_STOP=1 \
    -c 'DROP DATABASE IF EXISTS temporal WITH (FORCE)' -c 'DROP DATABASE IF EXISTS temporal_visibility WITH (FORCE)' >/dev/null
  temporal_databases
  ;;
*) echo "pg.sh: unknown command $cmd" >&2; exit 2 ;;
esac
