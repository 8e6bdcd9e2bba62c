# Kubernetes control plane: etcd, kube-apiserver (TLS, RBAC), kube-controller-manager,
# kube-scheduler and kwok with simulated nodes. All on 127.0.0.1.
# shellcheck shell=bash
K8S_URL="https://127.0.0.1:$APISERVER_PORT"
KUBECONFIG_ADMIN=$STATE/kubeconfig
KWOK_NODES=${KWOK_NODES:-2}

# kubeconfig FILE USER : a kubeconfig for the ground API server with USER's client cert.
write_kubeconfig() {
  local file=$1 user=$2
  cat > "$file" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: plinth-ground
  cluster:
    server: $K8S_URL
    certificate-authority: $PKI/ca.crt
users:
- name: $user
  user:
    client-certificate: $PKI/$user.crt
    client-key: $PKI/$user.key
contexts:
- name: plinth-ground
  context: {cluster: plinth-ground, user: $user}
current-context: plinth-ground
YAML
  chmod 600 "$file"
}

kctl() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

etcd_healthy() { curl -fs "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
apiserver_healthy() {
  curl -fs --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$K8S_URL/readyz" | grep -qx ok
}
kcm_healthy() { curl -fs --cacert "$PKI/ca.crt" "https://127.0.0.1:$KCM_PORT/healthz" | grep -qx ok; }
scheduler_healthy() { curl -fs --cacert "$PKI/ca.crt" "https://127.0.0.1:$SCHEDULER_PORT/healthz" | grep -qx ok; }
kwok_healthy() { curl -fs "http://127.0.0.1:$KWOK_PORT/healthz" | grep -qx ok; }
nodes_ready() {
  local n
  n=$(kctl get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c '^True$')
  [ "$n" -ge "$KWOK_NODES" ]
}
k8s_healthy() { etcd_healthy && apiserver_healthy && kcm_healthy && scheduler_healthy && kwok_healthy && nodes_ready; }

start_etcd() {
  etcd_healthy && return 0
  stop etcd
  mkdir -p "$STATE/etcd"
  start etcd "$BIN/etcd-$ETCD_VERSION" --name ground --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "ground=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn
  wait_for etcd 60 etcd_healthy
}

# The API server trusts one OIDC issuer on the ground's OIDC port, with the claim mappings and
# prefixes Plinth renders (packages/tenancy renderAuthenticationConfiguration; a test checks the
# two agree). Dex would serve that issuer; it cannot be built here (see docs/identity.md), so
# tests that need tokens serve the issuer themselves there.
OIDC_ISSUER_URL="https://127.0.0.1:$OIDC_PORT"
write_authentication_config() {
  {
    printf '%s\n' 'apiVersion: apiserver.config.k8s.io/v1' 'kind: AuthenticationConfiguration' 'jwt:' \
      '- issuer:' "    url: $OIDC_ISSUER_URL" '    audiences: [kubernetes]' '    certificateAuthority: |'
    sed 's/^/      /' "$PKI/ca.crt"
    printf '%s\n' '  claimMappings:' '    username: {claim: email, prefix: "oidc:"}' \
      '    groups: {claim: groups, prefix: "oidc:"}' '  claimValidationRules:' \
      '  - {expression: claims.email_verified == true, message: the email must be verified}'
  } > "$STATE/authentication-config.yaml"
}

# The API server's flags, kept in one place so tests can restart it the same way.
apiserver_args() {
  printf '%s\n' \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
    --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --authentication-config="$STATE/authentication-config.yaml" \
    --allow-privileged=true --profiling=false --cert-dir="$STATE/apiserver-certs" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt"
}

# True when the running API server was started with exactly apiserver_args (else `up` restarts it).
apiserver_current() {
  local p; p=$(pid_of kube-apiserver) || return 1
  [ "$(tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | tail -n +2)" = "$(apiserver_args)" ]
}

start_apiserver() {
  apiserver_healthy && apiserver_current && return 0
  stop kube-apiserver
  write_authentication_config
  local args; mapfile -t args < <(apiserver_args)
  start kube-apiserver "$K8S_BIN/kube-apiserver" "${args[@]}"
  wait_for kube-apiserver 120 apiserver_healthy
}

start_kcm() {
  kcm_healthy && return 0
  stop kube-controller-manager
  start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" \
    --tls-cert-file="$PKI/kube-controller-manager.crt" --tls-private-key-file="$PKI/kube-controller-manager.key" \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --use-service-account-credentials=true --leader-elect=false --profiling=false
  wait_for kube-controller-manager 120 kcm_healthy
}

start_scheduler() {
  scheduler_healthy && return 0
  stop kube-scheduler
  start kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig="$STATE/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig="$STATE/kube-scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" \
    --tls-cert-file="$PKI/kube-scheduler.crt" --tls-private-key-file="$PKI/kube-scheduler.key" \
    --leader-elect=false --profiling=false
  wait_for kube-scheduler 120 scheduler_healthy
}

start_kwok() {
  if ! kwok_healthy; then
    stop kwok
    start kwok "$BIN/kwok-$KWOK_VERSION" --kubeconfig="$STATE/kwok.kubeconfig" \
      --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
      --server-address="127.0.0.1:$KWOK_PORT" --cidr="$KWOK_POD_CIDR" --node-ip="$KWOK_NODE_IP" \
      --config="$BIN/kwok-$KWOK_VERSION-stages.yaml"
    wait_for kwok 60 kwok_healthy
  fi
  local i
  for i in $(seq 0 $((KWOK_NODES - 1))); do
    kctl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux, kubernetes.io/arch: amd64}
spec: {}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110", nvidia.com/gpu: "4"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110", nvidia.com/gpu: "4"}
YAML
  done
  wait_for kwok 60 nodes_ready
}

k8s_up() {
  write_kubeconfig "$KUBECONFIG_ADMIN" admin
  write_kubeconfig "$STATE/nobody.kubeconfig" nobody
  write_kubeconfig "$STATE/kube-controller-manager.kubeconfig" kube-controller-manager
  write_kubeconfig "$STATE/kube-scheduler.kubeconfig" kube-scheduler
  write_kubeconfig "$STATE/kwok.kubeconfig" kwok
  start_etcd
  start_apiserver
  start_kcm
  start_scheduler
  start_kwok
}

k8s_down() { stop kwok; stop kube-scheduler; stop kube-controller-manager; stop kube-apiserver; stop etcd; }

k8s_env() {
  cat <<ENV
KUBECONFIG=$KUBECONFIG_ADMIN
K8S_SERVER=$K8S_URL
K8S_CA_FILE=$PKI/ca.crt
K8S_CA_KEY_FILE=$PKI/ca.key
K8S_NOBODY_KUBECONFIG=$STATE/nobody.kubeconfig
K8S_VERSION=$K8S_VERSION
KUBECTL=$K8S_BIN/kubectl
KUBE_APISERVER_BIN=$K8S_BIN/kube-apiserver
HELM=$BIN/helm-$HELM_VERSION
K8S_AUTHENTICATION_CONFIG=$STATE/authentication-config.yaml
OIDC_ISSUER_URL=$OIDC_ISSUER_URL
OIDC_CLIENT_ID=kubernetes
OIDC_TLS_CERT_FILE=$PKI/oidc.crt
OIDC_TLS_KEY_FILE=$PKI/oidc.key
ENV
}
