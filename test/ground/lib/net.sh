# The node's network on the host: a bridge carrying the node IP (this kind of kernel has no
# dummy device, and the kubelet refuses a loopback node IP), a route that keeps Service
# addresses on it, and guards (one nftables table) so that no packet of the ground ever leaves the
# machine and nothing outside reaches it. Also the record of the host as it was before the
# ground touched it, which `down --clean` restores and `status` checks.
# shellcheck shell=bash
GUARD_TABLE="inet plinth-ground"
HOST_BASELINE=$STATE/host-baseline.env
# Host kernel settings the ground must never change (the kubelet would set the first three; it
# runs with them covered, see node.sh), and the ones kube-proxy could.
HOST_SYSCTLS=(kernel.panic_on_oops kernel.panic vm.overcommit_memory vm.panic_on_oom
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet)
# Paths outside the state directory that containerd, the kubelet, the CNI plugins and mount(8)
# create; `down --clean` removes those that did not exist before.
HOST_PATHS=(/var/lib/kubelet /run/containerd /var/lib/cni /run/netns /run/mount)

need_root() { [ "$(id -u)" = 0 ] || die "$1 needs root (bridge, nftables, mounts, cgroups): run test/ground as root"; }

sysctl_var() { local v=${1//[.\/]/_}; echo "SYSCTL_${v^^}"; }
path_var() { local v=${1//[\/]/_}; echo "PATH${v^^}"; }

# Written once, before the ground first changes the host; kept until `down --clean`.
host_baseline() {
  [ -s "$HOST_BASELINE" ] && return 0
  local s p
  {
    echo "# The host before the test ground's node touched it (test/ground/lib/net.sh)."
    echo "SYSCTL_NET_IPV4_IP_FORWARD=$(sysctl -n net.ipv4.ip_forward)"
    for s in "${HOST_SYSCTLS[@]}"; do echo "$(sysctl_var "$s")=$(sysctl -n "$s")"; done
    for p in "${HOST_PATHS[@]}"; do echo "$(path_var "$p")=$([ -e "$p" ] && echo 1 || echo 0)"; done
    echo "NFT_TABLES='$(nft list tables 2>/dev/null | tr '\n' ';')'"
  } > "$HOST_BASELINE.tmp"
  mv "$HOST_BASELINE.tmp" "$HOST_BASELINE"
}

baseline() { sed -n "s/^$1=//p" "$HOST_BASELINE" 2>/dev/null | tr -d "'"; }

# Prints each protected host sysctl that differs from the baseline; returns 0 only if none does.
host_sysctls_unchanged() {
  local s want have bad=0
  [ -s "$HOST_BASELINE" ] || return 0
  for s in "${HOST_SYSCTLS[@]}"; do
    want=$(baseline "$(sysctl_var "$s")"); have=$(sysctl -n "$s")
    [ "$want" = "$have" ] || { echo "$s is $have, was $want"; bad=1; }
  done
  return $bad
}

guard_rules() {
  local fwd_rest='counter drop comment "forwarding the ground did not ask for"'
  # The host did not forward before: keep it that way for everything but the bridge.
  [ "$(baseline SYSCTL_NET_IPV4_IP_FORWARD)" = 0 ] || fwd_rest='accept'
  cat <<NFT
table $GUARD_TABLE {
  comment "test ground: nothing of the ground leaves the machine, nothing outside reaches it"
  chain guard_in {
    type filter hook prerouting priority mangle - 10; policy accept;
    iifname { "lo", "$NODE_BRIDGE" } accept
    ip daddr { $NODE_CIDR, $SERVICE_CIDR } counter drop comment "to the node or a Service from outside"
    ip saddr { $NODE_CIDR, $SERVICE_CIDR } counter drop comment "spoofed node or pod source"
  }
  chain guard_out {
    type filter hook postrouting priority mangle - 10; policy accept;
    oifname { "lo", "$NODE_BRIDGE" } accept
    ip daddr $KWOK_POD_CIDR counter drop comment "to a kwok pod IP (kube-proxy DNAT)"
    ip daddr $KWOK_NODE_IP tcp dport $KUBELET_PORT counter drop comment "to a kwok node's kubelet"
    ip daddr { $NODE_CIDR, $SERVICE_CIDR } counter drop comment "to the node or a Service, off the bridge"
    ip saddr { $NODE_CIDR, $SERVICE_CIDR } counter drop comment "from the node or a pod, off the bridge"
  }
  chain guard_fwd {
    type filter hook forward priority filter - 10; policy accept;
    iifname "$NODE_BRIDGE" oifname "$NODE_BRIDGE" accept
    iifname "$NODE_BRIDGE" counter drop comment "from a pod, off the bridge"
    oifname "$NODE_BRIDGE" counter drop comment "into the bridge from outside"
    $fwd_rest
  }
}
NFT
}

guards_present() { nft list table $GUARD_TABLE >/dev/null 2>&1; }

bridge_up() { ip -4 addr show dev "$NODE_BRIDGE" 2>/dev/null | grep -q "inet $NODE_IP/" && ip link show "$NODE_BRIDGE" | grep -q 'state UP\|,UP'; }

net_healthy() {
  bridge_up && guards_present && ip route show "$SERVICE_CIDR" | grep -q "dev $NODE_BRIDGE"
}

net_up() {
  need_root "the node's network"
  command -v nft >/dev/null || die "nft is not installed (test/ground/install packages)"
  host_baseline
  # Bridged pod-to-pod replies must pass netfilter for Service NAT to work (kube-proxy).
  [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || modprobe br_netfilter 2>/dev/null \
    || log "warning: br_netfilter is not loaded; a pod may not reach a Service backed by another pod"
  # Guards first: nothing else of the node may exist without them.
  local rules; rules=$(guard_rules)
  if ! guards_present || [ "$rules" != "$(cat "$RUN/guards.nft" 2>/dev/null)" ]; then
    log "loading the network guards (nft table $GUARD_TABLE)"
    printf '%s\n' "$rules" > "$RUN/guards.nft"
    { guards_present && echo "delete table $GUARD_TABLE"; cat "$RUN/guards.nft"; } | nft -f - \
      || die "could not load the nftables guards ($RUN/guards.nft)"
  fi
  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    local other; other=$(ip -4 route show to match "$NODE_IP" | grep -v '^default' || true)
    [ -z "$other" ] || die "$NODE_CIDR is already routed on this machine ($other): set NODE_CIDR/NODE_IP"
    log "creating bridge $NODE_BRIDGE ($NODE_IP)"
    ip link add "$NODE_BRIDGE" type bridge
  fi
  ip -4 addr show dev "$NODE_BRIDGE" | grep -q "inet $NODE_IP/" || ip addr add "$NODE_IP/${NODE_CIDR#*/}" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  # The host reaches Services over the bridge, from the node IP, never through its default route.
  ip route replace "$SERVICE_CIDR" dev "$NODE_BRIDGE" src "$NODE_IP"
}

# The guard counters: "chain packets comment" per drop rule.
guard_counters() {
  nft -j list table $GUARD_TABLE 2>/dev/null | jq -r '.nftables[] | select(.rule) | .rule
    | select(any(.expr[]; has("counter"))) | [.chain, (.expr[] | select(has("counter")) | .counter.packets), .comment] | @tsv'
}

# Removes the guards, the bridge and its route, and restores ip_forward (`down --clean`, after
# node_clean).
net_clean() {
  [ "$(id -u)" = 0 ] || return 0
  if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then ip link del "$NODE_BRIDGE"; log "removed bridge $NODE_BRIDGE"; fi
  if guards_present; then nft delete table $GUARD_TABLE; log "removed nft table $GUARD_TABLE"; fi
  local f; f=$(baseline SYSCTL_NET_IPV4_IP_FORWARD)
  if [ -n "$f" ] && [ "$(sysctl -n net.ipv4.ip_forward)" != "$f" ]; then
    sysctl -qw net.ipv4.ip_forward="$f"; log "restored net.ipv4.ip_forward=$f"
  fi
  rm -f "$RUN/guards.nft"
}
