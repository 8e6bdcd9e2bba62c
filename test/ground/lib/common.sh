# Shared helpers for test/ground/{up,down,status}. Sourced, not run.
# shellcheck shell=bash
GROUND_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=/dev/null
. "$GROUND_DIR/versions.env"
# shellcheck source=/dev/null
. "$GROUND_DIR/lib/paths.sh"
PLINTH_CACHE=${PLINTH_CACHE:-$HOME/.cache/plinth-ground}
STATE=${PLINTH_GROUND_STATE:-$GROUND_DIR/.state}
ENV_FILE=$GROUND_DIR/ground.env
PKI=$STATE/pki
RUN=$STATE/run
LOGS=$STATE/logs
SECRETS=$STATE/secrets
BIN=$PLINTH_CACHE/bin
K8S_BIN=$BIN/k8s-$K8S_VERSION

# Ports; override any of them in the environment before `up`. Everything listens on 127.0.0.1,
# and what pods need also on the node's bridge address ($NODE_IP), never on another interface.
: "${ETCD_PORT:=23790}" "${ETCD_PEER_PORT:=23791}"
: "${APISERVER_PORT:=26443}" "${KCM_PORT:=26444}" "${SCHEDULER_PORT:=26445}" "${KWOK_PORT:=26446}"
: "${PG_PORT:=25432}"
: "${KAFKA_PLAINTEXT_PORT:=29092}" "${KAFKA_CONTROLLER_PORT:=29093}" "${KAFKA_SSL_PORT:=29094}" "${KAFKA_SASL_SSL_PORT:=29095}"
: "${LDAP_PORT:=23890}" "${LDAPS_PORT:=23636}"
: "${OIDC_PORT:=25556}"
: "${REGISTRY_PORT:=25443}" "${KAFKA_POD_SASL_SSL_PORT:=29096}" "${COREDNS_HEALTH_PORT:=26447}"
: "${KUBELET_PORT:=10250}" "${KUBELET_HEALTHZ_PORT:=10248}" "${KUBE_PROXY_HEALTHZ_PORT:=10256}" "${KUBE_PROXY_METRICS_PORT:=10249}"
# The real node's network: a bridge the ground creates, carrying the node IP (the host's side,
# where pods reach the ground's services) and the pods; Services in SERVICE_CIDR. kwok's
# simulated pods get addresses from KWOK_POD_CIDR that exist nowhere: traffic to them is dropped.
: "${NODE_NAME:=plinth-node-0}" "${NODE_BRIDGE:=plinth0}" "${NODE_CIDR:=10.88.0.0/24}" "${NODE_IP:=10.88.0.1}"
SERVICE_CIDR=10.96.0.0/16
KWOK_POD_CIDR=10.244.0.0/16
KWOK_NODE_IP=10.0.0.1
# How a pod asks for the real node (kwok's nodes carry neither).
NODE_LABEL_KEY=plinth.dev/real-node
LDAP_BASE_DN="dc=plinth,dc=test"

mkdir -p "$PKI" "$RUN" "$LOGS" "$SECRETS"

log()  { printf '[ground] %s\n' "$*" >&2; }
die()  { printf '[ground] error: %s\n' "$*" >&2; exit 1; }

# A random secret, created once and kept in $SECRETS/<name>.
secret() {
  local f=$SECRETS/$1
  [ -s "$f" ] || (umask 077; openssl rand -hex 16 > "$f")
  cat "$f"
}

pid_of() { local f=$RUN/$1.pid; [ -s "$f" ] && cat "$f"; }
# alive PID : the process exists and has not exited (a zombie waiting for init to reap it has).
alive() { kill -0 "$1" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }
running() { local p; p=$(pid_of "$1") && [ -n "$p" ] && alive "$p"; }

# start NAME CMD... : runs CMD detached in its own session, output in $LOGS/NAME.log.
start() {
  local name=$1; shift
  log "starting $name"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! > "$RUN/$name.pid"
}

# stop NAME : SIGTERM, then SIGKILL after 15 s.
stop() {
  local name=$1 p i
  p=$(pid_of "$name") || return 0
  if alive "$p"; then
    kill "$p" 2>/dev/null || true
    for i in $(seq 1 150); do alive "$p" || break; sleep 0.1; done
    alive "$p" && { log "$name did not stop on SIGTERM; killing"; kill -9 "$p" 2>/dev/null || true; }
  fi
  rm -f "$RUN/$name.pid"
}

# wait_for NAME SECONDS CHECK... : polls CHECK until it succeeds; on timeout shows the log tail.
wait_for() {
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ! running "$name"; then
      tail -n 30 "$LOGS/$name.log" >&2 2>/dev/null || true
      die "$name exited during start-up (log: $LOGS/$name.log)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$LOGS/$name.log" >&2 2>/dev/null || true
      die "$name not healthy after ${secs}s (log: $LOGS/$name.log)"
    fi
    sleep 0.5
  done
}
