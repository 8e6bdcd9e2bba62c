# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$GROUND_DIR/lib/pki.sh"
. "$GROUND_DIR/lib/k8s.sh"
. "$GROUND_DIR/lib/pg.sh"
. "$GROUND_DIR/lib/kafka.sh"
. "$GROUND_DIR/lib/ldap.sh"

SERVICES=(kubernetes postgres kafka ldap)

healthy() {
  case $1 in
    kubernetes) k8s_healthy ;; postgres) pg_healthy ;; kafka) kafka_healthy ;; ldap) ldap_healthy ;;
    *) return 1 ;;
  esac
}
endpoint() {
  case $1 in
    kubernetes) echo "$K8S_URL (kubernetes $K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)" ;;
    postgres) echo "postgresql://127.0.0.1:$PG_PORT (TLS, $(basename "$(dirname "$PG_BIN")"))" ;;
    kafka) echo "SASL_SSL 127.0.0.1:$KAFKA_SASL_SSL_PORT, SSL 127.0.0.1:$KAFKA_SSL_PORT, PLAINTEXT 127.0.0.1:$KAFKA_PLAINTEXT_PORT (kafka $KAFKA_VERSION)" ;;
    ldap) echo "ldap://127.0.0.1:$LDAP_PORT, ldaps://127.0.0.1:$LDAPS_PORT ($LDAP_BASE_DN)" ;;
  esac
}

# Prints the table; returns non-zero when any service is unhealthy.
table() {
  local s ok=0
  printf '%-11s %-9s %s\n' SERVICE STATUS ENDPOINT
  for s in "${SERVICES[@]}"; do
    if healthy "$s"; then printf '%-11s %-9s %s\n' "$s" healthy "$(endpoint "$s")"
    else printf '%-11s %-9s %s\n' "$s" DOWN "$(endpoint "$s")"; ok=1; fi
  done
  return $ok
}

write_env() {
  local tmp=$ENV_FILE.tmp
  {
    echo "# Written by test/ground/up on $(date -u +%Y-%m-%dT%H:%M:%SZ). Secrets inside: never commit."
    echo "GROUND_STATE=$STATE"
    echo "GROUND_CA_FILE=$PKI/ca.crt"
    k8s_env; pg_env; kafka_env; ldap_env
  } > "$tmp"
  chmod 600 "$tmp"; mv "$tmp" "$ENV_FILE"
}
