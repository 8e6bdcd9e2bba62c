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

# pki_cert NAME SUBJECT EXT : key NAME.key and cert NAME.crt; EXT is serverAuth, clientAuth or both,
# optionally followed by ",SAN" entries after a `|` (e.g. "serverAuth|DNS:localhost,IP:127.0.0.1").
pki_cert() {
  local name=$1 subj=$2 spec=$3
  [ -s "$PKI/$name.crt" ] && return 0
  local eku=${spec%%|*} san=""
  [[ $spec == *"|"* ]] && san=${spec#*|}
  local ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$eku"
  [ -n "$san" ] && ext="$ext
subjectAltName=$san"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$name.key" \
    -out "$PKI/$name.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -out "$PKI/$name.crt" -extfile <(printf '%s\n' "$ext") 2>/dev/null
  rm -f "$PKI/$name.csr"
  chmod 600 "$PKI/$name.key"
}

LOCAL_SAN="DNS:localhost,IP:127.0.0.1"

pki_all() {
  pki_ca
  pki_cert apiserver "/CN=kube-apiserver" "serverAuth|$LOCAL_SAN,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  pki_cert admin "/O=system:masters/CN=plinth-ground-admin" clientAuth
  pki_cert nobody "/CN=plinth-ground-nobody" clientAuth
  pki_cert kube-controller-manager "/CN=system:kube-controller-manager" "serverAuth,clientAuth|$LOCAL_SAN"
  pki_cert kube-scheduler "/CN=system:kube-scheduler" "serverAuth,clientAuth|$LOCAL_SAN"
  pki_cert kwok "/O=system:masters/CN=plinth-ground-kwok" clientAuth
  pki_cert kafka-broker "/CN=localhost" "serverAuth,clientAuth|$LOCAL_SAN"
  pki_cert kafka-client "/CN=plinth-kafka-client" clientAuth
  pki_cert ldap "/CN=localhost" "serverAuth|$LOCAL_SAN"
  pki_cert postgres "/CN=localhost" "serverAuth|$LOCAL_SAN"
  pki_cert oidc "/CN=localhost" "serverAuth|$LOCAL_SAN"
  if [ ! -s "$PKI/sa.key" ]; then
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
    chmod 600 "$PKI/sa.key"
  fi
}
