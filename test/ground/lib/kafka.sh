# Apache Kafka in KRaft mode (one combined broker+controller) from Maven Central jars, with
# PLAINTEXT, SSL (mutual TLS) and SASL_SSL (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN) listeners on
# 127.0.0.1, and a SASL_SSL listener for pods on the node IP (advertised as such).
# shellcheck shell=bash
KAFKA_DIR=$STATE/kafka
KAFKA_LIBS=$PLINTH_CACHE/kafka-$KAFKA_VERSION/libs
KAFKA_USER=plinth

# Debian's kcat (librdkafka 2.0) fails SCRAM against Kafka 4 while Kafka's own client succeeds, so
# the health check logs in with PLAIN over the same SASL_SSL listener; tests cover SCRAM.
kafka_healthy() {
  local b
  for b in "127.0.0.1:$KAFKA_SASL_SSL_PORT" "$NODE_IP:$KAFKA_POD_SASL_SSL_PORT"; do
    kcat -L -m 5 -b "$b" -X security.protocol=SASL_SSL \
      -X sasl.mechanisms=PLAIN -X sasl.username="$KAFKA_USER" -X sasl.password="$(secret kafka-password)" \
      -X ssl.ca.location="$PKI/ca.crt" 2>/dev/null | grep -q "broker 1 at $b" || return 1
  done
}

kafka_up() {
  kafka_healthy && return 0
  command -v java >/dev/null || die "java is not installed"
  stop kafka
  mkdir -p "$KAFKA_DIR"
  local pw ks
  pw=$(secret kafka-password); ks=$(secret kafka-keystore-password)
  if [ ! -s "$KAFKA_DIR/broker.p12" ] || [ "$PKI/kafka-broker.crt" -nt "$KAFKA_DIR/broker.p12" ]; then
    openssl pkcs12 -export -in "$PKI/kafka-broker.crt" -inkey "$PKI/kafka-broker.key" -certfile "$PKI/ca.crt" \
      -name broker -out "$KAFKA_DIR/broker.p12" -passout "pass:$ks"
  fi
  cat > "$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PLAINTEXT_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SSL://127.0.0.1:$KAFKA_SSL_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT,POD_SASL_SSL://$NODE_IP:$KAFKA_POD_SASL_SSL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PLAINTEXT_PORT,SSL://127.0.0.1:$KAFKA_SSL_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT,POD_SASL_SSL://$NODE_IP:$KAFKA_POD_SASL_SSL_PORT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,POD_SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$KAFKA_DIR/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
ssl.keystore.type=PKCS12
ssl.keystore.location=$KAFKA_DIR/broker.p12
ssl.keystore.password=$ks
ssl.key.password=$ks
ssl.truststore.type=PEM
ssl.truststore.location=$PKI/ca.crt
listener.name.ssl.ssl.client.auth=required
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_USER="$pw";
listener.name.pod_sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.pod_sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.pod_sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_USER="$pw";
PROPS
  chmod 600 "$KAFKA_DIR/server.properties"
  cat > "$KAFKA_DIR/log4j2.properties" <<'PROPS'
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
logger.state.name = state.change.logger
logger.state.level = WARN
PROPS
  local java=(java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties" -cp "$KAFKA_LIBS/*")
  if [ ! -s "$KAFKA_DIR/data/meta.properties" ]; then
    log "formatting Kafka storage (KRaft) with SCRAM users"
    "${java[@]}" kafka.tools.StorageTool format -t "$(secret kafka-cluster-id | head -c 22 | tr 0-9 A-J)" \
      -c "$KAFKA_DIR/server.properties" --ignore-formatted \
      --add-scram "SCRAM-SHA-512=[name=$KAFKA_USER,password=$pw]" \
      --add-scram "SCRAM-SHA-256=[name=$KAFKA_USER,password=$pw]" >"$LOGS/kafka-format.log" 2>&1 \
      || { cat "$LOGS/kafka-format.log" >&2; die "Kafka storage format failed"; }
  fi
  start kafka "${java[@]}" kafka.Kafka "$KAFKA_DIR/server.properties"
  wait_for kafka 120 kafka_healthy
}

kafka_down() { stop kafka; }

kafka_env() {
  cat <<ENV
KAFKA_BOOTSTRAP_PLAINTEXT=127.0.0.1:$KAFKA_PLAINTEXT_PORT
KAFKA_BOOTSTRAP_SSL=127.0.0.1:$KAFKA_SSL_PORT
KAFKA_BOOTSTRAP_SASL_SSL=127.0.0.1:$KAFKA_SASL_SSL_PORT
POD_KAFKA_BOOTSTRAP_SASL_SSL=$NODE_IP:$KAFKA_POD_SASL_SSL_PORT
KAFKA_CA_FILE=$PKI/ca.crt
KAFKA_CLIENT_CERT_FILE=$PKI/kafka-client.crt
KAFKA_CLIENT_KEY_FILE=$PKI/kafka-client.key
KAFKA_SASL_MECHANISMS=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
KAFKA_SASL_USER=$KAFKA_USER
KAFKA_SASL_PASSWORD=$(secret kafka-password)
ENV
}
