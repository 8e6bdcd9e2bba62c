#!/usr/bin/env bash
# Resolves the Kafka broker jars from Maven Central into $PLINTH_CACHE/kafka-<version>/libs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/versions.env"
CACHE=${PLINTH_CACHE:-$HOME/.cache/plinth-ground}
out=$CACHE/kafka-$KAFKA_VERSION
[ -f "$out/.complete" ] && exit 0
echo "[fetch-kafka] kafka $KAFKA_VERSION from Maven Central" >&2
rm -rf "$out"; mkdir -p "$out/libs"
mvn -q -B -f "$here/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$out/libs"
touch "$out/.complete"
