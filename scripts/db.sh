#!/usr/bin/env bash
# A throw-away Postgres 15 + pgvector server for development and CI: `scripts/db.sh start|stop|url`.
#   start  installs Debian's postgresql-15 and postgresql-server-dev-15 if missing (needs root),
#          builds pgvector from ../shared/vendor/pgvector-*.tar.gz if it is not installed, creates a
#          cluster in a temp directory (owned by the `postgres` user when run as root, since initdb
#          refuses root) and starts it on a free loopback port with password authentication.
#          The connection URL goes to .pg/url (mode 600); the pgvector tests read it from there or
#          from RAG_TEST_PG_URL.
#   stop   stops the server and deletes the cluster.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.pg"
pg_version=15
bin=/usr/lib/postgresql/$pg_version/bin
vendor="$root/../shared/vendor"

say() { echo "db: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# Runs a command as the cluster's owner: `postgres` when we are root, ourselves otherwise.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_postgres() {
  [ -x "$bin/pg_ctl" ] && [ -x "$bin/pg_config" ] && [ -d "/usr/include/postgresql/$pg_version/server" ] && return
  [ "$(id -u)" = 0 ] || die "Postgres $pg_version server and headers are missing; run as root: apt-get install -y postgresql-$pg_version postgresql-server-dev-$pg_version"
  say "installing postgresql-$pg_version and postgresql-server-dev-$pg_version"
  export DEBIAN_FRONTEND=noninteractive
  # Never pull Node.js in through a dependency: the project brings its own.
  if apt-get -s install -y --no-install-recommends "postgresql-$pg_version" "postgresql-server-dev-$pg_version" | grep -qE '^Inst (nodejs|npm|libnode)'; then
    die "installing Postgres would install nodejs/npm; install postgresql-$pg_version and postgresql-server-dev-$pg_version by hand"
  fi
  apt-get install -y --no-install-recommends "postgresql-$pg_version" "postgresql-server-dev-$pg_version" >/dev/null ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "postgresql-$pg_version" "postgresql-server-dev-$pg_version" >/dev/null; }
}

install_pgvector() {
  local tarball version control
  control="$("$bin/pg_config" --sharedir)/extension/vector.control"
  tarball=$(ls "$vendor"/pgvector-*.tar.gz 2>/dev/null | sort -V | tail -1) || true
  if [ -z "$tarball" ]; then
    # The source is needed only to install: a machine that has pgvector can start without it.
    [ -f "$control" ] || die "pgvector is not installed and there is no source to build it in $vendor (expected pgvector-<version>.tar.gz)"
    say "no pgvector source in $vendor; using the installed $(grep -o "default_version = '[^']*'" "$control")"
    return
  fi
  version=$(basename "$tarball" .tar.gz)
  version=${version#pgvector-}
  if [ -f "$control" ] && grep -q "default_version = '$version'" "$control"; then return; fi
  [ "$(id -u)" = 0 ] || die "pgvector $version is not installed and installing it needs root: run this script as root"
  say "building pgvector $version"
  local build
  build=$(mktemp -d)
  tar xzf "$tarball" -C "$build"
  # OPTFLAGS="" avoids -march=native, so the build runs on any x86-64 machine.
  make -s -C "$build/pgvector-$version" PG_CONFIG="$bin/pg_config" OPTFLAGS="" >/dev/null
  make -s -C "$build/pgvector-$version" install PG_CONFIG="$bin/pg_config" >/dev/null
  rm -rf "$build"
}

free_port() {
  local port
  for port in $(seq 55432 55532); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "no free port in 55432-55532"
}

start() {
  if [ -f "$state/url" ] && as_owner "$bin/pg_ctl" -D "$(cat "$state/datadir")" status >/dev/null 2>&1; then
    say "already running: $(sed -E 's#//([^:]*):[^@]*@#//\1:***@#' "$state/url")"
    return
  fi
  install_postgres
  install_pgvector
  local data port password
  data=$(mktemp -d /tmp/rerank-rag-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$data"
  password=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
  echo "$password" >"$data.pw"
  [ "$(id -u)" = 0 ] && chown postgres "$data.pw"
  as_owner "$bin/initdb" -D "$data/cluster" -U rag --pwfile="$data.pw" --auth-local=trust --auth-host=scram-sha-256 >"$data/initdb.log"
  rm -f "$data.pw"
  port=$(free_port)
  # A throw-away cluster: durability off for speed; the socket stays inside the cluster's directory.
  as_owner "$bin/pg_ctl" -D "$data/cluster" -l "$data/server.log" -w \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
  as_owner "$bin/psql" -q -h "$data" -p "$port" -U rag -d postgres -c "CREATE DATABASE rag" -c "\\c rag" -c "CREATE EXTENSION vector" >/dev/null
  mkdir -p "$state"
  echo "$data/cluster" >"$state/datadir"
  (
    umask 077
    echo "postgres://rag:$password@127.0.0.1:$port/rag" >"$state/url"
  )
  say "Postgres $pg_version with pgvector on 127.0.0.1:$port (database rag, user rag); URL in .pg/url"
}

stop() {
  [ -f "$state/datadir" ] || {
    say "not running"
    return
  }
  local data
  data=$(cat "$state/datadir")
  as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || say "the server in $data was not running"
  rm -rf "$(dirname "$data")" "$state"
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) cat "$state/url" ;;
  *) die "usage: scripts/db.sh start|stop|url" ;;
esac
