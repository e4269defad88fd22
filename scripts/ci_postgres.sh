#!/usr/bin/env bash
# Installs PostgreSQL + PostGIS from the Debian packages if missing, starts a throw-away server on
# localhost (own data folder, trust authentication, port $CPTS_GEO_PG_PORT or 55432), creates the
# test database with PostGIS and prints its DSN on stdout (everything else goes to stderr).
# Idempotent: a server already running on that port is reused. Must run as root (or as postgres
# with the packages already installed).
#
#   export CPTS_GEO_TEST_PG="$(./scripts/ci_postgres.sh)"
set -euo pipefail

PORT="${CPTS_GEO_PG_PORT:-55432}"
DATA_DIR="${CPTS_GEO_PG_DIR:-/var/tmp/cpts-geo-pg}"
DATABASE="${CPTS_GEO_PG_DATABASE:-cpts_geo_test}"
OWNER=postgres

log() { echo "ci_postgres: $*" >&2; }

as_owner() {
  if [ "$(id -un)" = "$OWNER" ]; then "$@"; else runuser -u "$OWNER" -- "$@"; fi
}

server_bin() {  # newest installed server version's bin folder
  local version
  version="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$version" ] && [ -x "/usr/lib/postgresql/$version/bin/postgres" ] && echo "/usr/lib/postgresql/$version/bin"
}

apt_install() {
  log "apt-get install $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "$@" >&2
}

if ! BIN="$(server_bin)"; then
  apt_install postgresql postgresql-contrib
  BIN="$(server_bin)"
fi
VERSION="$(basename "$(dirname "$BIN")")"
if [ ! -f "/usr/share/postgresql/$VERSION/extension/postgis.control" ]; then
  apt_install "postgresql-$VERSION-postgis-3"
fi

if ! as_owner "$BIN/pg_isready" -q -h localhost -p "$PORT"; then
  if [ ! -f "$DATA_DIR/PG_VERSION" ]; then
    log "initdb $DATA_DIR"
    mkdir -p "$DATA_DIR"
    chown "$OWNER" "$DATA_DIR"
    as_owner "$BIN/initdb" -D "$DATA_DIR" -U "$OWNER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2
  fi
  log "starting PostgreSQL $VERSION on localhost:$PORT"
  as_owner "$BIN/pg_ctl" -D "$DATA_DIR" -l "$DATA_DIR/server.log" -w -t 60 \
    -o "-p $PORT -k /tmp -c listen_addresses=localhost" start >&2
fi

PSQL=(as_owner "$BIN/psql" -X -q -h localhost -p "$PORT" -U "$OWNER" -v ON_ERROR_STOP=1)
if [ -z "$("${PSQL[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" ]; then
  "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DATABASE" >&2
fi
"${PSQL[@]}" -d "$DATABASE" -c "CREATE EXTENSION IF NOT EXISTS postgis" >&2

echo "postgresql://$OWNER@localhost:$PORT/$DATABASE"
