# Certificates for every ground listener and client, signed by one ground CA.
# shellcheck shell=bash
pki_ca() {
  [ -s "$PKI/ca.crt" ] && return 0
  log "creating ground CA"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -subj "/CN=Plinth test ground CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 600 "$PKI/ca.key"
}

# The subjectAltName of a certificate as openssl prints it ("DNS:a, IP Address:1.2.3.4"), or "".
pki_san_of() { openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | sed 's/^ *//'; }

# pki_cert NAME SUBJECT EXT : key NAME.key and cert NAME.crt; EXT is serverAuth, clientAuth or both,
# optionally followed by ",SAN" entries after a `|` (e.g. "serverAuth|DNS:localhost,IP:127.0.0.1").
# A certificate is kept while SUBJECT and EXT stay the same (recorded in NAME.spec), and issued
# again when they change (a new SAN, say); the services that use it restart on `up`.
pki_cert() {
  local name=$1 subj=$2 spec=$3
  local want="$subj $spec"
  if [ -s "$PKI/$name.crt" ]; then
    [ "$(cat "$PKI/$name.spec" 2>/dev/null)" = "$want" ] && return 0
    if [ ! -e "$PKI/$name.spec" ]; then
      # Issued before specs were recorded: keep it if its SANs are the ones wanted.
      local san=""; [[ $spec == *"|"* ]] && san=${spec#*|}
      san=${san//IP:/IP Address:}; san=${san//,/, }
      if [ "$(pki_san_of "$PKI/$name.crt")" = "$san" ]; then echo "$want" > "$PKI/$name.spec"; return 0; fi
    fi
    log "issuing $name again ($spec)"
  fi
  local eku=${spec%%|*} san=""
  [[ $spec == *"|"* ]] && san=${spec#*|}
  local ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$eku"
  [ -n "$san" ] && ext="$ext
subjectAltName=$san"
  (umask 077; openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$name.key.tmp" \
    -out "$PKI/$name.csr" -subj "$subj" 2>/dev/null)
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -out "$PKI/$name.crt.tmp" -extfile <(printf '%s\n' "$ext") 2>/dev/null
  rm -f "$PKI/$name.csr"
  mv "$PKI/$name.key.tmp" "$PKI/$name.key"; mv "$PKI/$name.crt.tmp" "$PKI/$name.crt"
  echo "$want" > "$PKI/$name.spec"
}

LOCAL_SAN="DNS:localhost,IP:127.0.0.1"
# What pods reach (on the node's bridge) is also valid for the node IP.
POD_SAN="$LOCAL_SAN,IP:$NODE_IP"

pki_all() {
  pki_ca
  pki_cert apiserver "/CN=kube-apiserver" "serverAuth|$LOCAL_SAN,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  pki_cert admin "/O=system:masters/CN=plinth-ground-admin" clientAuth
  pki_cert nobody "/CN=plinth-ground-nobody" clientAuth
  pki_cert kube-controller-manager "/CN=system:kube-controller-manager" "serverAuth,clientAuth|$LOCAL_SAN"
  pki_cert kube-scheduler "/CN=system:kube-scheduler" "serverAuth,clientAuth|$LOCAL_SAN"
  pki_cert kwok "/O=system:masters/CN=plinth-ground-kwok" clientAuth
  pki_cert kafka-broker "/CN=localhost" "serverAuth,clientAuth|$POD_SAN"
  pki_cert kafka-client "/CN=plinth-kafka-client" clientAuth
  pki_cert ldap "/CN=localhost" "serverAuth|$POD_SAN"
  pki_cert postgres "/CN=localhost" "serverAuth|$POD_SAN"
  pki_cert oidc "/CN=localhost" "serverAuth|$LOCAL_SAN"
  pki_cert registry "/CN=localhost" "serverAuth|$LOCAL_SAN"
  # The API server's client certificate for kubelets (`kubectl logs`, `exec`, `port-forward`).
  pki_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  # The real node: the kubelet's identity (Node authorizer), its serving certificate, kube-proxy,
  # and CoreDNS (a ClusterRole of its own, see node.sh).
  pki_cert node-kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  pki_cert node-kubelet-serving "/O=system:nodes/CN=system:node:$NODE_NAME" "serverAuth|DNS:$NODE_NAME,IP:$NODE_IP"
  pki_cert kube-proxy "/CN=system:kube-proxy" clientAuth
  pki_cert coredns "/CN=plinth-ground-coredns" clientAuth
  if [ ! -s "$PKI/sa.key" ]; then
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
    chmod 600 "$PKI/sa.key"
  fi
}
