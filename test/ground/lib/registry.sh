# An OCI registry (CNCF distribution) on 127.0.0.1 with TLS from the ground CA; the real node's
# containerd trusts it (node.sh). Holds the ground's probe image for tests.
# shellcheck shell=bash
REGISTRY=127.0.0.1:$REGISTRY_PORT
REGISTRY_DIR=$STATE/registry
CRANE=$BIN/crane-$CRANE_VERSION/crane
PROBE_IMAGE=$REGISTRY/plinth-ground/probe:${PROBE_BUILD#probe-}

registry_healthy() { curl -fs --cacert "$PKI/ca.crt" "https://$REGISTRY/v2/" | grep -q '{}'; }
probe_pushed() {
  curl -fs -o /dev/null --cacert "$PKI/ca.crt" -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "https://$REGISTRY/v2/plinth-ground/probe/manifests/${PROBE_BUILD#probe-}"
}

registry_up() {
  [ -x "$BIN/registry-$DISTRIBUTION_VERSION/registry" ] && [ -x "$CRANE" ] || die "the registry is not built (test/ground/install go)"
  if ! registry_healthy; then
    stop registry
    mkdir -p "$REGISTRY_DIR/data"
    cat > "$REGISTRY_DIR/config.yaml" <<YAML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $REGISTRY_DIR/data}
  delete: {enabled: true}
http:
  addr: $REGISTRY
  tls: {certificate: $PKI/registry.crt, key: $PKI/registry.key}
YAML
    start registry env OTEL_TRACES_EXPORTER=none "$BIN/registry-$DISTRIBUTION_VERSION/registry" serve "$REGISTRY_DIR/config.yaml"
    wait_for registry 30 registry_healthy
  fi
  probe_pushed || push_probe
}

push_probe() {
  [ -x "$BIN/$PROBE_BUILD/probe" ] || die "the probe is not built (test/ground/install go)"
  local d=$REGISTRY_DIR/probe-build
  rm -rf "$d"; mkdir -p "$d/rootfs"
  cp "$BIN/$PROBE_BUILD/probe" "$d/rootfs/probe"
  bash "$GROUND_DIR/lib/oci-layout.sh" "$d/rootfs" "$d/layout" "$PROBE_IMAGE" '["/probe"]' 65534 >/dev/null
  SSL_CERT_FILE=$PKI/ca.crt "$CRANE" push "$d/layout" "$PROBE_IMAGE" >/dev/null 2>"$LOGS/crane.log" \
    || { cat "$LOGS/crane.log" >&2; die "pushing $PROBE_IMAGE failed"; }
  rm -rf "$d"
  log "pushed $PROBE_IMAGE"
}

registry_down() { stop registry; }

registry_env() {
  cat <<ENV
REGISTRY=$REGISTRY
REGISTRY_CA_FILE=$PKI/ca.crt
CRANE=$CRANE
GROUND_PROBE_IMAGE=$PROBE_IMAGE
GROUND_PROBE_BIN=$BIN/$PROBE_BUILD/probe
OCI_LAYOUT_SCRIPT=$GROUND_DIR/lib/oci-layout.sh
ENV
}
