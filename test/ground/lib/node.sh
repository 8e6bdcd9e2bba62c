# The real node beside kwok's simulated ones: containerd (runc, the bridge CNI), the kubelet,
# kube-proxy (nftables) and CoreDNS, all on the bridge from net.sh; plus what pods need of the
# control plane: the `kubernetes` Service's endpoints and a forwarder from the node IP to the
# API server on 127.0.0.1. README "The real node" has the placement scheme; each setting that
# this kind of machine needs (no CAP_SYS_RESOURCE, cgroup v1, no dummy devices) says why here.
# shellcheck shell=bash
NODE_DIR=$STATE/node
CONTAINERD_BIN=$BIN/containerd-$CONTAINERD_VERSION
CONTAINERD_SOCK=$NODE_DIR/run/containerd/containerd.sock
KUBELET_DIR=$NODE_DIR/kubelet
CRICTL=$BIN/crictl-$CRICTL_VERSION/crictl
NODE_TAINT="$NODE_LABEL_KEY=true:NoSchedule"

nctr() { "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" "$@"; }
# kubectl apply, quiet unless it fails (the API server warns that v1 Endpoints are deprecated).
kapply() {
  local out
  out=$(kctl apply "$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
}
CRICTL_CONFIG=$NODE_DIR/etc/crictl.yaml
ncrictl() { "$CRICTL" --config "$CRICTL_CONFIG" "$@"; }

containerd_healthy() { [ -S "$CONTAINERD_SOCK" ] && nctr version >/dev/null 2>&1; }
kubelet_healthy() { curl -fs "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz" | grep -qx ok; }
real_node_ready() {
  [ "$(kctl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
kube_proxy_healthy() { curl -fs -o /dev/null "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/healthz"; }
coredns_healthy() { curl -fs "http://127.0.0.1:$COREDNS_HEALTH_PORT/health" | grep -qx OK; }
# The whole path a pod takes to the API server: the `kubernetes` ClusterIP, kube-proxy, its
# endpoint on the node IP, the forwarder, the API server; verified for the name pods use.
apiserver_from_pods() {
  curl -fs --max-time 3 --cacert "$PKI/ca.crt" --resolve "kubernetes.default.svc:443:10.96.0.1" \
    https://kubernetes.default.svc/readyz | grep -qx ok
}
node_healthy() {
  net_healthy && containerd_healthy && kubelet_healthy && real_node_ready && kube_proxy_healthy \
    && coredns_healthy && running apiserver-forwarder && apiserver_from_pods && host_sysctls_unchanged >/dev/null
}

# put FILE : stdin to FILE, only when it differs (kube-proxy exits when its config file is written).
put() {
  local tmp=$1.tmp
  cat > "$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

write_node_config() {
  mkdir -p "$NODE_DIR"/{etc/containerd/certs.d/"127.0.0.1:$REGISTRY_PORT",etc/cni/net.d,run/cni-ipam,run/pod-logs,run/fake-sysctl} "$KUBELET_DIR"
  put "$NODE_DIR/etc/containerd/config.toml" <<TOML
version = 3
root = "$NODE_DIR/run/containerd/root"
state = "$NODE_DIR/run/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  level = "warn"
[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = "$NODE_DIR/run/containerd/opt"
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "$PAUSE_IMAGE"
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = "$NODE_DIR/etc/containerd/certs.d"
  [plugins.'io.containerd.cri.v1.runtime']
    # No CAP_SYS_RESOURCE on this kind of VM: a negative oom_score_adj fails in runc init.
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "$BIN/runc-$RUNC_VERSION/runc"
          SystemdCgroup = false
          Root = "$NODE_DIR/run/runc"
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["$BIN/cni-$CNI_PLUGINS_VERSION"]
      conf_dir = "$NODE_DIR/etc/cni/net.d"
TOML
  put "$NODE_DIR/etc/containerd/certs.d/127.0.0.1:$REGISTRY_PORT/hosts.toml" <<TOML
server = "https://127.0.0.1:$REGISTRY_PORT"
[host."https://127.0.0.1:$REGISTRY_PORT"]
  capabilities = ["pull", "resolve"]
  ca = "$PKI/ca.crt"
TOML
  # Pods get routes to the node's subnet and to Services only: no default route, no masquerade.
  put "$NODE_DIR/etc/cni/net.d/10-plinth-ground.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "plinth-ground",
  "plugins": [
    {
      "type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": true, "isDefaultGateway": false,
      "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$NODE_DIR/run/cni-ipam",
        "ranges": [[{"subnet": "$NODE_CIDR", "rangeStart": "${NODE_IP%.*}.10", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "$SERVICE_CIDR"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
  put "$CRICTL_CONFIG" <<YAML
runtime-endpoint: unix://$CONTAINERD_SOCK
image-endpoint: unix://$CONTAINERD_SOCK
timeout: 30
YAML
  write_kubeconfig "$NODE_DIR/etc/kubelet.kubeconfig" node-kubelet-client
  write_kubeconfig "$NODE_DIR/etc/kube-proxy.kubeconfig" kube-proxy
  write_kubeconfig "$NODE_DIR/etc/coredns.kubeconfig" coredns
  put "$NODE_DIR/etc/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 on this kind of VM: kubelet 1.35+ refuses it unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/node-kubelet-serving.crt
tlsPrivateKeyFile: $PKI/node-kubelet-serving.key
rotateCertificates: false
serverTLSBootstrap: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: Webhook
clusterDomain: cluster.local
clusterDNS: ["$NODE_IP"]
resolvConf: ""
podLogsDir: $NODE_DIR/run/pod-logs
maxPods: 110
serializeImagePulls: false
evictionHard: {memory.available: "200Mi", nodefs.available: "2%", imagefs.available: "2%", nodefs.inodesFree: "2%"}
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
# The kubelet would set kernel.panic_on_oops, kernel.panic and vm.overcommit_memory on the host;
# it runs in its own mount namespace with those files covered (start_kubelet), and must not fail.
protectKernelDefaults: false
YAML
  put "$NODE_DIR/etc/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $NODE_DIR/etc/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
mode: nftables
clusterCIDR: $NODE_CIDR
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
# NodePorts on the node IP only: no localhost NodePorts, so route_localnet stays as it is.
nodePortAddresses: ["$NODE_IP/32"]
iptables: {localhostNodePorts: false, masqueradeAll: false}
# Zeros leave the host's conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s, udpTimeout: 0s, udpStreamTimeout: 0s}
YAML
  # No forward plugin: names outside the cluster are not resolved, so nothing asks off the machine.
  put "$NODE_DIR/etc/Corefile" <<COREFILE
cluster.local:53 in-addr.arpa:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:$COREDNS_HEALTH_PORT
    kubernetes cluster.local in-addr.arpa {
        kubeconfig $NODE_DIR/etc/coredns.kubeconfig plinth-ground
        pods insecure
    }
    cache 5
}
.:53 {
    bind $NODE_IP
    errors
}
COREFILE
}

start_containerd() {
  if ! containerd_healthy; then
    stop containerd
    # The runc shim is found on PATH.
    start containerd env PATH="$CONTAINERD_BIN:$PATH" "$CONTAINERD_BIN/containerd" --config "$NODE_DIR/etc/containerd/config.toml"
    wait_for containerd 60 containerd_healthy
  fi
  if ! nctr -n k8s.io images ls -q 2>/dev/null | grep -qx "$PAUSE_IMAGE"; then
    log "importing $PAUSE_IMAGE"
    # containerd answers `version` before every plugin has loaded: on a fresh machine the first
    # import can come too early, so it is tried for a while, and its output shown if it never takes.
    local out="" i
    for i in $(seq 1 30); do
      out=$(nctr -n k8s.io images import "$BIN/pause-$K8S_VERSION/pause.oci.tar" 2>&1 | grep -v DEPRECATION || true)
      nctr -n k8s.io images ls -q 2>/dev/null | grep -qx "$PAUSE_IMAGE" && return 0
      sleep 1
    done
    printf '%s\n' "$out" >&2
    die "could not import $PAUSE_IMAGE (from $BIN/pause-$K8S_VERSION/pause.oci.tar)"
  fi
}

# The kubelet runs in a mount namespace of its own where the kernel settings it would change are
# files of ours, so the host's values never change. Its root directory is a shared mount, so the
# volumes it mounts there (ServiceAccount tokens, Secrets) are seen by containerd and runc.
start_kubelet() {
  kubelet_healthy && return 0
  stop kubelet
  mountpoint -q "$KUBELET_DIR" || { mount --bind "$KUBELET_DIR" "$KUBELET_DIR"; mount --make-shared "$KUBELET_DIR"; }
  local fake=$NODE_DIR/run/fake-sysctl
  # shellcheck disable=SC2016
  start kubelet unshare --mount --propagation unchanged -- /bin/bash -c '
    set -e
    mount --make-rprivate /proc
    for s in vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes; do
      f=$0/${s//\//_}; cat /proc/sys/$s > "$f"; mount --bind "$f" /proc/sys/$s
    done
    exec "$@"' "$fake" "$K8S_BIN/kubelet" \
    --config="$NODE_DIR/etc/kubelet.yaml" --kubeconfig="$NODE_DIR/etc/kubelet.kubeconfig" \
    --root-dir="$KUBELET_DIR" --cert-dir="$KUBELET_DIR/pki" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" \
    --node-labels="$NODE_LABEL_KEY=true" --register-with-taints="$NODE_TAINT"
  wait_for kubelet 60 kubelet_healthy
}

start_kube_proxy() {
  kube_proxy_healthy && return 0
  # Running but not synced (the API server was restarting, say): give it a moment first.
  if running kube-proxy && curl -fs -o /dev/null "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/livez"; then
    local i; for i in $(seq 1 40); do kube_proxy_healthy && return 0; sleep 0.5; done
  fi
  stop kube-proxy
  start kube-proxy "$K8S_BIN/kube-proxy" --config="$NODE_DIR/etc/kube-proxy.yaml"
  wait_for kube-proxy 60 kube_proxy_healthy
}

start_coredns() {
  kapply -f - <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "plinth-ground:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "plinth-ground:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "plinth-ground:coredns"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: plinth-ground-coredns}]
YAML
  coredns_healthy && return 0
  stop coredns
  start coredns "$BIN/coredns-$COREDNS_VERSION/coredns" -conf "$NODE_DIR/etc/Corefile"
  wait_for coredns 60 coredns_healthy
}

# Pods reach the API server as the `kubernetes` Service (10.96.0.1:443): its endpoint is the node
# IP, where a forwarder passes connections to the API server on 127.0.0.1. The API server runs
# with --endpoint-reconciler-type=none, so the ground keeps the endpoints itself.
start_apiserver_forwarder() {
  if ! running apiserver-forwarder; then
    start apiserver-forwarder socat "TCP-LISTEN:$APISERVER_PORT,bind=$NODE_IP,fork,reuseaddr" "TCP:127.0.0.1:$APISERVER_PORT"
  fi
  kapply --server-side --force-conflicts --field-manager=plinth-ground -f - <<YAML
apiVersion: v1
kind: Endpoints
metadata:
  name: kubernetes
  namespace: default
  labels: {endpointslice.kubernetes.io/skip-mirror: "true"}
subsets:
- addresses: [{ip: "$NODE_IP"}]
  ports: [{name: https, port: $APISERVER_PORT, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubernetes
  namespace: default
  labels: {kubernetes.io/service-name: kubernetes, endpointslice.kubernetes.io/managed-by: plinth-ground}
addressType: IPv4
endpoints: [{addresses: ["$NODE_IP"], conditions: {ready: true}}]
ports: [{name: https, port: $APISERVER_PORT, protocol: TCP}]
YAML
}

node_up() {
  need_root "the real node"
  local b
  for b in "$CONTAINERD_BIN/containerd" "$K8S_BIN/kubelet" "$K8S_BIN/kube-proxy" "$CRICTL" "$BIN/coredns-$COREDNS_VERSION/coredns" \
           "$BIN/runc-$RUNC_VERSION/runc" "$BIN/cni-$CNI_PLUGINS_VERSION/bridge"; do
    [ -x "$b" ] || die "$b is missing (test/ground/install go)"
  done
  command -v socat >/dev/null || die "socat is not installed (test/ground/install packages)"
  write_node_config
  start_containerd
  start_kubelet
  wait_for kubelet 60 real_node_ready
  start_kube_proxy
  start_coredns
  start_apiserver_forwarder
  wait_for kube-proxy 30 apiserver_from_pods
  local changed
  if ! changed=$(host_sysctls_unchanged); then die "the host's kernel settings changed: $changed"; fi
}

# `down`: the kubelet first (it would start pods again), then every pod sandbox (containers, network
# namespaces, IP leases), then the rest. The Node and its pods stay in the API until `--clean`.
node_down() {
  stop kubelet
  if containerd_healthy && [ -x "$CRICTL" ]; then
    [ -z "$(ncrictl pods -q 2>/dev/null)" ] || { log "removing the real node's pods"; ncrictl rmp -af >/dev/null 2>&1 || true; }
  fi
  stop kube-proxy; stop coredns; stop apiserver-forwarder; stop containerd
}

# `down --clean`: after node_down, every change outside the state directory goes, as listed in
# net.sh (HOST_PATHS) plus kube-proxy's and the kubelet's firewall rules and cgroups.
node_clean() {
  [ "$(id -u)" = 0 ] || return 0
  local t c m p
  # Leftover containers (shims outlive containerd): kill what still runs in the node's cgroups.
  for c in /sys/fs/cgroup/*/kubepods; do
    [ -d "$c" ] || continue
    find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  # containerd's shims, if any survived.
  pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" | xargs -r kill -9 2>/dev/null || true
  # kube-proxy's tables, then the kubelet's iptables chains.
  for t in "ip kube-proxy" "ip6 kube-proxy"; do nft delete table $t 2>/dev/null || true; done
  for c in iptables ip6tables; do
    command -v $c >/dev/null || continue
    $c -w -D INPUT -j KUBE-FIREWALL 2>/dev/null || true
    $c -w -D OUTPUT -j KUBE-FIREWALL 2>/dev/null || true
    for t in filter mangle nat; do
      for m in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT KUBE-PROXY-CANARY; do
        $c -w -t $t -F $m 2>/dev/null && $c -w -t $t -X $m 2>/dev/null || true
      done
    done
  done
  # iptables-nft's tables that did not exist before, if now empty.
  local before; before=$(baseline NFT_TABLES)
  while read -r _ fam name; do
    [ -n "$name" ] && [ "$name" != kube-proxy ] && [ "$name" != plinth-ground ] || continue
    [[ ";$before" == *";table $fam $name;"* ]] && continue
    nft list table "$fam" "$name" | grep -qE '^\s+(ip|ip6|meta|counter|jump|tcp|udp|iifname|oifname|ct|mark|fib|reject|drop|accept)\b' && continue
    nft delete table "$fam" "$name" && log "removed empty nft table $fam $name"
  done < <(nft list tables 2>/dev/null)
  # Mounts under the state directory (the kubelet's root, volumes, containerd's rootfs and shm), deepest first.
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v d="$NODE_DIR" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  # Network namespaces of pods.
  for p in /run/netns/cni-*; do [ -e "$p" ] || continue; umount "$p" 2>/dev/null || true; rm -f "$p"; done
  # cgroups (every hierarchy), deepest first.
  for c in /sys/fs/cgroup/*/kubepods; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  # Paths the node created outside the state directory.
  for p in /var/lib/kubelet/device-plugins /run/containerd/s /run/containerd/fifo /run/containerd/runc /var/lib/cni/results; do
    [ -e "$p" ] && rm -rf --one-file-system "$p"
  done
  for p in "${HOST_PATHS[@]}"; do
    if [ "$(baseline "$(path_var "$p")")" = 0 ] && [ -e "$p" ]; then
      rm -rf --one-file-system "$p" && log "removed $p"
    fi
  done
  if awk -v d="$NODE_DIR" 'index($5, d) == 1' /proc/self/mountinfo | grep -q .; then
    die "mounts remain under $NODE_DIR; not deleting it"
  fi
}

node_env() {
  cat <<ENV
NODE_NAME=$NODE_NAME
NODE_IP=$NODE_IP
NODE_BRIDGE=$NODE_BRIDGE
NODE_POD_CIDR=$NODE_CIDR
NODE_LABEL=$NODE_LABEL_KEY=true
NODE_TAINT=$NODE_TAINT
KUBELET_PORT=$KUBELET_PORT
SERVICE_CIDR=$SERVICE_CIDR
CLUSTER_DNS=$NODE_IP
CLUSTER_DOMAIN=cluster.local
POD_K8S_SERVER=https://kubernetes.default.svc:443
POD_KUBERNETES_SERVICE_HOST=10.96.0.1
POD_KUBERNETES_SERVICE_PORT=443
KWOK_POD_CIDR=$KWOK_POD_CIDR
CONTAINERD_ADDRESS=$CONTAINERD_SOCK
CONTAINER_RUNTIME_ENDPOINT=unix://$CONTAINERD_SOCK
CTR=$CONTAINERD_BIN/ctr
CRICTL=$CRICTL
CRICTL_CONFIG=$CRICTL_CONFIG
NODE_GUARD_TABLE=${GUARD_TABLE#inet }
NODE_HOST_BASELINE=$HOST_BASELINE
ENV
}
