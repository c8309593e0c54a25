#!/usr/bin/env bash
# Starts the gateway on conf/config.yaml (or the file given with --config), building the jar first
# when it is missing or older than the sources. Needs only a JDK 17+: ./mvnw fetches Maven.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jar=launcher/target/llmproxy.jar
if [[ ! -f $jar ]] || [[ -n $(find pom.xml ./*/pom.xml ./*/src/main -newer "$jar" -print -quit 2>/dev/null) ]]; then
  echo "building $jar ..." >&2
  ./mvnw -B -q package -DskipTests >&2
fi

args=("$@")
if [[ ! " ${args[*]-} " =~ " --config " && ! " ${args[*]-} " =~ " -c " ]]; then
  args+=(--config conf/config.yaml)
fi
exec java ${JAVA_OPTS:--XX:+UseParallelGC} -jar "$jar" "${args[@]}"
