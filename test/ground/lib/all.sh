# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$GROUND_DIR/lib/pki.sh"
. "$GROUND_DIR/lib/k8s.sh"
. "$GROUND_DIR/lib/pg.sh"
. "$GROUND_DIR/lib/kafka.sh"
. "$GROUND_DIR/lib/ldap.sh"
. "$GROUND_DIR/lib/net.sh"
. "$GROUND_DIR/lib/registry.sh"
. "$GROUND_DIR/lib/node.sh"

SERVICES=(kubernetes postgres kafka ldap registry node)

healthy() {
  case $1 in
    kubernetes) k8s_healthy ;; postgres) pg_healthy ;; kafka) kafka_healthy ;; ldap) ldap_healthy ;;
    registry) registry_healthy ;; node) node_healthy ;;
    *) return 1 ;;
  esac
}
endpoint() {
  case $1 in
    kubernetes) echo "$K8S_URL (kubernetes $K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)" ;;
    postgres) echo "postgresql://127.0.0.1:$PG_PORT (TLS, $(basename "$(dirname "$PG_BIN")")); pods: $NODE_IP:$PG_PORT" ;;
    kafka) echo "SASL_SSL 127.0.0.1:$KAFKA_SASL_SSL_PORT, SSL 127.0.0.1:$KAFKA_SSL_PORT, PLAINTEXT 127.0.0.1:$KAFKA_PLAINTEXT_PORT (kafka $KAFKA_VERSION); pods: SASL_SSL $NODE_IP:$KAFKA_POD_SASL_SSL_PORT" ;;
    ldap) echo "ldap://127.0.0.1:$LDAP_PORT, ldaps://127.0.0.1:$LDAPS_PORT ($LDAP_BASE_DN); pods: $NODE_IP" ;;
    registry) echo "https://$REGISTRY (distribution $DISTRIBUTION_VERSION, TLS from the ground CA)" ;;
    node) echo "$NODE_NAME at $NODE_IP on $NODE_BRIDGE (kubelet $K8S_VERSION, containerd $CONTAINERD_VERSION, runc $RUNC_VERSION, kube-proxy nftables, CoreDNS $COREDNS_VERSION)" ;;
  esac
}

# Prints the table; returns non-zero when any service is unhealthy.
table() {
  local s ok=0 changed
  printf '%-11s %-9s %s\n' SERVICE STATUS ENDPOINT
  for s in "${SERVICES[@]}"; do
    if healthy "$s"; then printf '%-11s %-9s %s\n' "$s" healthy "$(endpoint "$s")"
    else printf '%-11s %-9s %s\n' "$s" DOWN "$(endpoint "$s")"; ok=1; fi
  done
  # The kubelet must never have changed the host's kernel settings.
  if ! changed=$(host_sysctls_unchanged); then printf 'HOST KERNEL SETTINGS CHANGED: %s\n' "$changed"; ok=1; fi
  return $ok
}

write_env() {
  local tmp=$ENV_FILE.tmp
  {
    echo "# Written by test/ground/up on $(date -u +%Y-%m-%dT%H:%M:%SZ). Secrets inside: never commit."
    echo "GROUND_STATE=$STATE"
    echo "GROUND_CA_FILE=$PKI/ca.crt"
    k8s_env; pg_env; kafka_env; ldap_env; registry_env; node_env
  } > "$tmp"
  chmod 600 "$tmp"; mv "$tmp" "$ENV_FILE"
}
