# PostgreSQL from Debian, its own cluster on 127.0.0.1 with TLS and a test superuser; also on the
# node IP for pods, TLS only (hostssl), with the same certificate.
# shellcheck shell=bash
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PG_DIR=$STATE/postgres
PG_USER=plinth

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_healthy() {
  local h
  for h in 127.0.0.1 "$NODE_IP"; do
    PGPASSWORD=$(secret pg-password) psql "host=$h port=$PG_PORT user=$PG_USER dbname=postgres sslmode=verify-full sslrootcert=$PKI/ca.crt" \
      -tAc 'select 1' 2>/dev/null | grep -qx 1 || return 1
  done
}

# Settings that may change after initdb: written on every `up`, included last.
pg_ground_conf() {
  cat > "$PG_DIR/ground.conf" <<CONF
listen_addresses = '127.0.0.1,$NODE_IP'
CONF
  grep -qxF "include = '$PG_DIR/ground.conf'" "$PG_DIR/data/postgresql.conf" \
    || echo "include = '$PG_DIR/ground.conf'" >> "$PG_DIR/data/postgresql.conf"
  local hba="hostssl all all $NODE_CIDR scram-sha-256"
  grep -qxF "$hba" "$PG_DIR/data/pg_hba.conf" || echo "$hba" >> "$PG_DIR/data/pg_hba.conf"
  # The certificate may have been issued again (a new SAN).
  cmp -s "$PKI/postgres.crt" "$PG_DIR/server.crt" || { cp "$PKI/postgres.crt" "$PG_DIR/server.crt"; cp "$PKI/postgres.key" "$PG_DIR/server.key"; }
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR/ground.conf" "$PG_DIR/server.crt" "$PG_DIR/server.key"; fi
  chmod 600 "$PG_DIR/server.key"
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
  pg_ground_conf
  # Running, but not as wanted (settings changed): restart it.
  if [ -s "$PG_DIR/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$PG_DIR/data/postmaster.pid")" 2>/dev/null; then
    log "restarting PostgreSQL"; pg_down
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
POD_PGHOST=$NODE_IP
POD_PGPORT=$PG_PORT
ENV
}
