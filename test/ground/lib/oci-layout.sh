#!/usr/bin/env bash
# Writes a one-layer OCI image layout of a directory, reproducibly (same files, same digest):
#   oci-layout.sh ROOTFS OUTDIR NAME ENTRYPOINT_JSON [USER] [TARFILE]
# NAME is the full reference (host/repo:tag), recorded in index.json for `ctr images import`;
# `crane push OUTDIR REF` pushes the layout. With TARFILE, the layout is also written as a tar.
set -euo pipefail
rootfs=$1 out=$2 name=$3 entrypoint=$4 user=${5:-65534} tarfile=${6:-}
rm -rf "$out"; mkdir -p "$out/blobs/sha256"
b=$out/blobs/sha256
blob() { # blob FILE -> prints "<sha256> <size>" and stores FILE as a blob
  local d; d=$(sha256sum "$1" | cut -d' ' -f1)
  mv "$1" "$b/$d"; echo "$d $(stat -c %s "$b/$d")"
}
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C "$rootfs" -cf "$out/layer.tar" .
diff_id=$(sha256sum "$out/layer.tar" | cut -d' ' -f1)
gzip -n -9 "$out/layer.tar"
read -r layer layer_size < <(blob "$out/layer.tar.gz")
printf '{"architecture":"amd64","os":"linux","config":{"User":"%s","Entrypoint":%s,"Env":["PATH=/"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"test/ground/lib/oci-layout.sh"}]}' \
  "$user" "$entrypoint" "$diff_id" > "$out/config.json"
read -r config config_size < <(blob "$out/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$config" "$config_size" "$layer" "$layer_size" > "$out/manifest.json"
read -r manifest manifest_size < <(blob "$out/manifest.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest" "$manifest_size" "$name" "${name##*:}" > "$out/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
[ -z "$tarfile" ] || tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C "$out" -cf "$tarfile" oci-layout index.json blobs
echo "sha256:$manifest"
