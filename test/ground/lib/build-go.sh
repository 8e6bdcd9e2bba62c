#!/usr/bin/env bash
# Builds the Go parts of the test ground from the Go module proxy (no binary
# downloads): etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, kwok and helm (for the chart tests).
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
  if [ -x "$stamp/kube-apiserver" ] && [ -x "$stamp/kube-controller-manager" ] && [ -x "$stamp/kube-scheduler" ] && [ -x "$stamp/kubectl" ]; then return 0; fi
  log "kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl)"
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
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
         "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION" "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION" >/dev/null
  local ldf="-s -w" kv
  for kv in gitVersion=$K8S_VERSION gitMajor=1 gitMinor=$minor gitTreeState=clean gitCommit=0000000000000000000000000000000000000000 buildDate=1970-01-01T00:00:00Z; do
    ldf="$ldf -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
  done
  mkdir -p "$stamp.tmp"
  CGO_ENABLED=0 go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldf" -o "$stamp.tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
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

what=${1:-all}
case $what in
  etcd) build_etcd ;; k8s) build_k8s ;; kwok) build_kwok; kwok_stages ;; helm) build_helm ;;
  all) build_etcd; build_kwok; kwok_stages; build_k8s; build_helm ;;
  *) echo "usage: build-go.sh [etcd|k8s|kwok|helm|all]" >&2; exit 2 ;;
esac
