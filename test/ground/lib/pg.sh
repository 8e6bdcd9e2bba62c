# PostgreSQL from Debian, its own cluster on 127.0.0.1 with TLS and a test superuser.
# shellcheck shell=bash
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PG_DIR=$STATE/postgres
PG_USER=plinth

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_healthy() {
  PGPASSWORD=$(secret pg-password) psql "host=127.0.0.1 port=$PG_PORT user=$PG_USER dbname=postgres sslmode=verify-full sslrootcert=$PKI/ca.crt" \
    -tAc 'select 1' 2>/dev/null | grep -qx 1
}

pg_up() {
  [ -x "$PG_BIN/postgres" ] || die "PostgreSQL is not installed (apt-get install postgresql)"
  pg_healthy && return 0
  mkdir -p "$PG_DIR"
  local owner=""; [ "$(id -u)" = 0 ] && owner=postgres
  if [ ! -s "$PG_DIR/data/PG_VERSION" ]; then
    log "initialising PostgreSQL cluster"
    secret pg-password > "$PG_DIR/pwfile"
    [ -n "$owner" ] && chown -R "$owner" "$PG_DIR"
    as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$PG_USER" --pwfile="$PG_DIR/pwfile" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 >"$LOGS/postgres-initdb.log" 2>&1 \
      || { cat "$LOGS/postgres-initdb.log" >&2; die "initdb failed"; }
    rm -f "$PG_DIR/pwfile"
    cp "$PKI/postgres.crt" "$PG_DIR/server.crt"; cp "$PKI/postgres.key" "$PG_DIR/server.key"
    mkdir -p "$PG_DIR/sock"
    [ -n "$owner" ] && chown -R "$owner" "$PG_DIR"
    chmod 600 "$PG_DIR/server.key"
    cat >> "$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR/sock'
ssl = on
ssl_cert_file = '$PG_DIR/server.crt'
ssl_key_file = '$PG_DIR/server.key'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
log_min_messages = warning
CONF
  fi
  # The server writes its own log, so it lives in the postgres-owned dir; linked into $LOGS.
  ln -sf "$PG_DIR/postgres.log" "$LOGS/postgres.log"
  # pg_ctl forks the server; we record the postmaster pid for stop/running.
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 start >/dev/null \
    || { tail -n 30 "$LOGS/postgres.log" >&2; die "PostgreSQL failed to start"; }
  head -n 1 "$PG_DIR/data/postmaster.pid" > "$RUN/postgres.pid"
  wait_for postgres 30 pg_healthy
}

pg_down() {
  if [ -s "$PG_DIR/data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -f "$RUN/postgres.pid"
}

pg_env() {
  cat <<ENV
PGHOST=127.0.0.1
PGPORT=$PG_PORT
PGUSER=$PG_USER
PGPASSWORD=$(secret pg-password)
PGDATABASE=postgres
PGSSLMODE=verify-full
PGSSLROOTCERT=$PKI/ca.crt
ENV
}
