# Names derived from versions.env and the probe's source, shared by lib/build-go.sh and the
# services. Sourced, not run.
# shellcheck shell=bash
PAUSE_IMAGE=localhost/plinth-ground/pause:$K8S_VERSION
PROBE_BUILD=probe-$(cat "$GROUND_DIR/node/probe/go.mod" "$GROUND_DIR/node/probe/main.go" | sha256sum | cut -c1-12)
