#!/usr/bin/env bash
# Builds the Go parts of the test ground from the Go module proxy (no binary
# downloads): etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, kwok and helm (for the chart tests); for the real node kubelet,
# kube-proxy, containerd (+ ctr and the runc shim), runc, the CNI plugins, crictl
# and CoreDNS, plus the pause image (Kubernetes' pause.c, gcc -static); for the
# registry the CNCF distribution registry and crane; and the ground's probe.
# Outputs go to $PLINTH_CACHE/bin/<name>-<version>; existing outputs are kept,
# so a warm machine skips everything. Go's own caches (GOCACHE, GOMODCACHE)
# live under $HOME and make rebuilds after a version bump incremental.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=/dev/null
. "$here/versions.env"
CACHE=${PLINTH_CACHE:-$HOME/.cache/plinth-ground}
BIN=$CACHE/bin
mkdir -p "$BIN" "$CACHE/build"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local

log() { printf '[build-go] %s\n' "$*" >&2; }

build_etcd() {
  local out=$BIN/etcd-$ETCD_VERSION
  [ -x "$out" ] && return 0
  log "etcd $ETCD_VERSION"
  local w=$CACHE/build/etcd-$ETCD_VERSION; rm -rf "$w"; mkdir -p "$w"; cd "$w"
  go mod init local/etcdbuild >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" go.etcd.io/etcd/server/v3
  mv "$out.tmp" "$out"
}

build_k8s() {
  local stamp=$BIN/k8s-$K8S_VERSION
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy) c missing=0
  for c in "${cmds[@]}"; do [ -x "$stamp/$c" ] || missing=1; done
  [ $missing = 0 ] && return 0
  log "kubernetes $K8S_VERSION (${cmds[*]})"
  local xy=${K8S_VERSION#v1.} minor
  minor=${xy%%.*}
  local w=$CACHE/build/k8s-$K8S_VERSION; rm -rf "$w"; mkdir -p "$w"; cd "$w"
  local mod
  mod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # Same `go` and `godebug` lines as the release, so the binaries get its GODEBUG defaults.
  {
    echo "module local/k8sbuild"; echo
    grep -E '^go [0-9]' "$mod"
    grep -E '^godebug ' "$mod" || true
  } > go.mod
  local m
  for m in $(sed -n 's|^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/.*|\1|p' "$mod"); do
    go mod edit -replace="$m=$m@v0.$xy"
  done
  go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
  local pkgs=("${cmds[@]/#/k8s.io/kubernetes/cmd/}")
  go get "${pkgs[@]/%/@$K8S_VERSION}" >/dev/null
  local ldf="-s -w" kv
  for kv in gitVersion=$K8S_VERSION gitMajor=1 gitMinor=$minor gitTreeState=clean gitCommit=0000000000000000000000000000000000000000 buildDate=1970-01-01T00:00:00Z; do
    ldf="$ldf -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
  done
  mkdir -p "$stamp.tmp"
  CGO_ENABLED=0 go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldf" -o "$stamp.tmp/" "${pkgs[@]}"
  rm -rf "$stamp"; mv "$stamp.tmp" "$stamp"
}

build_kwok() {
  local out=$BIN/kwok-$KWOK_VERSION
  [ -x "$out" ] && return 0
  log "kwok $KWOK_VERSION"
  GOBIN=$CACHE/build/kwok-$KWOK_VERSION CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$CACHE/build/kwok-$KWOK_VERSION/kwok" "$out"
}

# kwok (v0.8) needs its Stages in a config file. They come from the same pinned module the binary
# was built from: node-initialize and node-heartbeat, and the pod ready/complete/delete stages.
kwok_stages() {
  local out=$BIN/kwok-$KWOK_VERSION-stages.yaml
  [ -s "$out" ] && return 0
  local src f
  src=$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage
  [ -d "$src" ] || go mod download "sigs.k8s.io/kwok@$KWOK_VERSION"
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo "---"; cat "$src/$f"
  done > "$out.tmp"
  mv "$out.tmp" "$out"
}

build_helm() {
  local out=$BIN/helm-$HELM_VERSION
  [ -x "$out" ] && return 0
  log "helm $HELM_VERSION"
  GOBIN=$CACHE/build/helm-$HELM_VERSION CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mv "$CACHE/build/helm-$HELM_VERSION/helm" "$out"
}

# go_install DIR CGO TAGS LDFLAGS PKG@VERSION... : `go install`s into DIR (made whole or not at all).
go_install() {
  local out=$1 cgo=$2 tags=$3 ldf=$4; shift 4
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  GOBIN=$out.tmp CGO_ENABLED=$cgo go install -trimpath ${tags:+-tags "$tags"} -ldflags "-s -w $ldf" "$@"
  rm -rf "$out"; mv "$out.tmp" "$out"
}

# The real node: containerd (with ctr and the runc v2 shim), runc (cgo, for seccomp: needs
# libseccomp-dev), the CNI plugins it uses, and crictl to list and remove pods on `down`.
build_node() {
  local d=$BIN/containerd-$CONTAINERD_VERSION m=github.com/containerd/containerd/v2
  [ -x "$d/containerd" ] && [ -x "$d/ctr" ] && [ -x "$d/containerd-shim-runc-v2" ] || {
    log "containerd $CONTAINERD_VERSION (containerd, ctr, containerd-shim-runc-v2)"
    go_install "$d" 0 no_btrfs "-X $m/version.Version=$CONTAINERD_VERSION" \
      "$m/cmd/containerd@$CONTAINERD_VERSION" "$m/cmd/ctr@$CONTAINERD_VERSION" "$m/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
  }
  d=$BIN/runc-$RUNC_VERSION
  [ -x "$d/runc" ] || {
    log "runc $RUNC_VERSION"
    go_install "$d" 1 seccomp "-X main.version=$RUNC_VERSION" "github.com/opencontainers/runc@$RUNC_VERSION"
  }
  d=$BIN/cni-$CNI_PLUGINS_VERSION m=github.com/containernetworking/plugins/plugins
  [ -x "$d/bridge" ] && [ -x "$d/host-local" ] && [ -x "$d/loopback" ] && [ -x "$d/portmap" ] || {
    log "CNI plugins $CNI_PLUGINS_VERSION (bridge, host-local, loopback, portmap)"
    go_install "$d" 0 "" "" "$m/main/bridge@$CNI_PLUGINS_VERSION" "$m/ipam/host-local@$CNI_PLUGINS_VERSION" \
      "$m/main/loopback@$CNI_PLUGINS_VERSION" "$m/meta/portmap@$CNI_PLUGINS_VERSION"
  }
  d=$BIN/crictl-$CRICTL_VERSION
  [ -x "$d/crictl" ] || {
    log "crictl $CRICTL_VERSION"
    go_install "$d" 0 "" "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  }
  d=$BIN/coredns-$COREDNS_VERSION
  [ -x "$d/coredns" ] || {
    log "CoreDNS $COREDNS_VERSION"
    go_install "$d" 0 "" "" "github.com/coredns/coredns@$COREDNS_VERSION"
  }
}

# The pause image, from Kubernetes' own pause.c in the pinned module (no registry holds one for
# us): gcc -static (libc6-dev), one layer, imported into containerd with `ctr images import`.
build_pause() {
  local d=$BIN/pause-$K8S_VERSION
  [ -s "$d/pause.oci.tar" ] && return 0
  log "pause image (pause.c from k8s.io/kubernetes@$K8S_VERSION, gcc -static)"
  local src
  src=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/build/pause/linux/pause.c
  rm -rf "$d.tmp"; mkdir -p "$d.tmp/rootfs"
  gcc -Os -Wall -Werror -static -DVERSION="$K8S_VERSION-plinth-ground" -o "$d.tmp/rootfs/pause" "$src"
  strip "$d.tmp/rootfs/pause"
  bash "$here/lib/oci-layout.sh" "$d.tmp/rootfs" "$d.tmp/layout" "$PAUSE_IMAGE" '["/pause"]' 65535 "$d.tmp/pause.oci.tar"
  rm -rf "$d.tmp/layout"
  rm -rf "$d"; mv "$d.tmp" "$d"
}

# The registry: CNCF distribution (Zot does not build from the Go module proxy), and crane to push.
build_registry() {
  local d=$BIN/registry-$DISTRIBUTION_VERSION
  [ -x "$d/registry" ] || {
    log "distribution registry $DISTRIBUTION_VERSION"
    go_install "$d" 0 "" "-X github.com/distribution/distribution/v3/version.version=$DISTRIBUTION_VERSION" \
      "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION"
  }
  d=$BIN/crane-$CRANE_VERSION
  [ -x "$d/crane" ] || {
    log "crane $CRANE_VERSION"
    go_install "$d" 0 "" "" "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
  }
}

# The ground's probe (node/probe/main.go, standard library only): a static HTTP server that
# tests run as a pod and that checks, from inside the pod, what a pod can reach.
build_probe() {
  local d=$BIN/$PROBE_BUILD
  [ -x "$d/probe" ] && return 0
  log "probe ($PROBE_BUILD)"
  rm -rf "$d.tmp"; mkdir -p "$d.tmp"
  (cd "$here/node/probe" && CGO_ENABLED=0 GOFLAGS= go build -trimpath -ldflags "-s -w" -o "$d.tmp/probe" .)
  rm -rf "$d"; mv "$d.tmp" "$d"
}

GROUND_DIR=$here
# shellcheck source=/dev/null
. "$here/lib/paths.sh"

what=${1:-all}
case $what in
  etcd) build_etcd ;; k8s) build_k8s ;; kwok) build_kwok; kwok_stages ;; helm) build_helm ;;
  node) build_node; build_pause ;; registry) build_registry ;; probe) build_probe ;;
  all) build_etcd; build_kwok; kwok_stages; build_k8s; build_helm; build_node; build_pause; build_registry; build_probe ;;
  *) echo "usage: build-go.sh [etcd|k8s|kwok|helm|node|registry|probe|all]" >&2; exit 2 ;;
esac
