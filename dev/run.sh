#!/usr/bin/env bash
# Starts the gateway on conf/config.yaml (or the file given with --config), building the jar first
# when it is missing or older than the sources. Needs only a JDK 17+: ./mvnw fetches Maven.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jar=launcher/target/llmproxy.jar
if [[ ! -f $jar ]] || [[ -n $(find pom.xml ./*/pom.xml ./*/src/main -newer "$jar" -print -quit 2>/dev/null) ]]; then
  echo "building $jar (the first build downloads Maven and the dependencies: a few minutes) ..." >&2
  started=$SECONDS
  build_log=$(mktemp)
  progress() { # one line per module, and a count of downloads, instead of Maven's long output
    local line downloads=0 re='^\[INFO\] Building (LLMProxy :: )?([^ ]+).*(\[[0-9]+/[0-9]+\])$'
    while IFS= read -r line; do
      if [[ $line =~ $re ]]; then
        echo "  ${BASH_REMATCH[3]} ${BASH_REMATCH[2]} ($((SECONDS - started)) s)"
      elif [[ $line == *"Downloaded from"* ]] && (( ++downloads % 100 == 0 )); then
        echo "  ... $downloads files downloaded ($((SECONDS - started)) s)"
      fi
    done
  }
  if ! ./mvnw -B package -DskipTests 2>&1 | tee "$build_log" | progress >&2; then
    echo "build failed; the end of Maven's output (all of it: $build_log):" >&2
    tail -n 40 "$build_log" >&2
    exit 1
  fi
  rm -f "$build_log"
  echo "built $jar in $((SECONDS - started)) s" >&2
fi

args=("$@")
if [[ ! " ${args[*]-} " =~ " --config " && ! " ${args[*]-} " =~ " -c " ]]; then
  args+=(--config conf/config.yaml)
fi
exec java ${JAVA_OPTS:--XX:+UseParallelGC} -jar "$jar" "${args[@]}"
