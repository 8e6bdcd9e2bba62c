# OpenLDAP slapd from Debian, seeded with users and (nested) groups, on ldap:// and ldaps://, on
# 127.0.0.1 and on the node IP for pods.
# shellcheck shell=bash
LDAP_DIR=$STATE/ldap
LDAP_ADMIN_DN="cn=admin,$LDAP_BASE_DN"
LDAP_READER_DN="cn=plinth-reader,ou=services,$LDAP_BASE_DN"

ldap_healthy() {
  local u
  for u in "ldap://127.0.0.1:$LDAP_PORT" "ldaps://$NODE_IP:$LDAPS_PORT"; do
    LDAPTLS_CACERT=$PKI/ca.crt ldapwhoami -x -H "$u" -D "$LDAP_READER_DN" -w "$(secret ldap-reader-password)" 2>/dev/null \
      | grep -q "dn:$LDAP_READER_DN" || return 1
  done
}

ldap_up() {
  command -v slapd >/dev/null || [ -x /usr/sbin/slapd ] || die "slapd is not installed (apt-get install slapd ldap-utils)"
  ldap_healthy && return 0
  stop slapd
  mkdir -p "$LDAP_DIR/data"
  local fresh=0
  [ -e "$LDAP_DIR/data/data.mdb" ] || fresh=1
  cat > "$LDAP_DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include $GROUND_DIR/ldap/ad.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile $LDAP_DIR/slapd.pid
argsfile $LDAP_DIR/slapd.args
TLSCACertificateFile $PKI/ca.crt
TLSCertificateFile $PKI/ldap.crt
TLSCertificateKeyFile $PKI/ldap.key
database mdb
maxsize 104857600
suffix "$LDAP_BASE_DN"
rootdn "$LDAP_ADMIN_DN"
rootpw $(secret ldap-admin-password)
directory $LDAP_DIR/data
index objectClass eq
index uid,mail,sAMAccountName,userPrincipalName,member eq
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
CONF
  slaptest -u -f "$LDAP_DIR/slapd.conf" >/dev/null 2>"$LOGS/slaptest.log" \
    || { cat "$LOGS/slaptest.log" >&2; die "slapd.conf is invalid"; }
  start slapd /usr/sbin/slapd -f "$LDAP_DIR/slapd.conf" \
    -h "ldap://127.0.0.1:$LDAP_PORT/ ldaps://127.0.0.1:$LDAPS_PORT/ ldap://$NODE_IP:$LDAP_PORT/ ldaps://$NODE_IP:$LDAPS_PORT/" -d 0
  local admin=(-x -H "ldap://127.0.0.1:$LDAP_PORT" -D "$LDAP_ADMIN_DN" -w "$(secret ldap-admin-password)")
  wait_for slapd 30 ldapwhoami "${admin[@]}"
  if [ $fresh = 1 ]; then
    log "seeding LDAP directory"
    # Loaded online (not with slapadd) so the memberof overlay fills in memberOf.
    sed "s/@READER_PASSWORD@/$(secret ldap-reader-password)/" "$GROUND_DIR/ldap/seed.ldif" \
      | ldapadd "${admin[@]}" >"$LOGS/ldap-seed.log" 2>&1 || { cat "$LOGS/ldap-seed.log" >&2; die "LDAP seed failed"; }
  fi
  wait_for slapd 30 ldap_healthy
}

ldap_down() { stop slapd; }

ldap_env() {
  cat <<ENV
LDAP_URL=ldap://127.0.0.1:$LDAP_PORT
LDAPS_URL=ldaps://127.0.0.1:$LDAPS_PORT
POD_LDAP_URL=ldap://$NODE_IP:$LDAP_PORT
POD_LDAPS_URL=ldaps://$NODE_IP:$LDAPS_PORT
LDAP_CA_FILE=$PKI/ca.crt
LDAP_BASE_DN=$LDAP_BASE_DN
LDAP_BIND_DN=$LDAP_READER_DN
LDAP_BIND_PASSWORD=$(secret ldap-reader-password)
LDAP_ADMIN_DN=$LDAP_ADMIN_DN
LDAP_ADMIN_PASSWORD=$(secret ldap-admin-password)
LDAP_USERS_DN=ou=people,$LDAP_BASE_DN
LDAP_GROUPS_DN=ou=groups,$LDAP_BASE_DN
LDAP_TEST_USER=alice
LDAP_TEST_USER_PASSWORD=alice-password
ENV
}
