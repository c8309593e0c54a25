#!/usr/bin/env bash
# Steady-state -c1 comparison of gateway variants, interleaved: one mock upstream, every variant's gateway up at
# once and warm, usage reporters caught up, then ROUNDS rounds of one `wrk -t1 -c1 -d DURATION` run per variant in
# turn; prints each variant's p50s and their median. For differences (tens of µs) that one -c1 run per leg in
# bench/run.sh cannot resolve on a machine whose hops wake slowly.
#
#   bench/steady-c1.sh plain=launcher/target/llmproxy.jar usage=launcher/target/llmproxy.jar=bench/lib/steady/usage-webhook.yaml
#
# A variant is name=jar[=extra.yaml[+more.yaml...][=jvm flags, comma-separated]]; flags that begin with a path to a
# java binary run the variant on that JDK (java=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java,-XX:+UseZGC). The extra files are appended to the
# gateway's config with {UP} (the upstream's port), {OUT} (the variant's own folder), {NAME} and {MEMBERS} filled in.
# A variant whose config has a top-level `cluster:` section runs as two cluster members: the proxy alone in one JVM
# (the port measured) and auth, discovery, usage and admin in another; {MEMBERS} lists both members' cluster ports.
# DIRECT=1 measures the upstream itself too ("direct"), so that each variant's added latency can be read.
#
#   DIRECT=1 bench/steady-c1.sh one-jvm=launcher/target/llmproxy.jar=bench/lib/steady/auth-cached.yaml \
#     cluster=launcher/target/llmproxy.jar=bench/lib/steady/auth-cached.yaml+bench/lib/steady/cluster.yaml
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"; LIB="$BENCH_DIR/lib"; OUT="${OUT:-$BENCH_DIR/out/steady}"
ROUNDS="${ROUNDS:-10}"; DURATION="${DURATION:-3s}"
# Rounds run first and not counted: a -c1 p50 still falls for the first few rounds after the warm-up load (the JIT's
# last tiers at one connection), 478 -> 116 µs over four rounds in one run; counting them skews a median.
WARM_ROUNDS="${WARM_ROUNDS:-5}"
(($#)) || { sed -n '2,17p' "$0"; exit 2; }
cpfile="$BENCH_DIR/out/upstream.classpath"
[[ -s "$cpfile" ]] || { echo "run bench/run.sh once first (it builds the upstream's classpath)" >&2; exit 1; }
CP="$REPO/test-support/target/test-support-0.1.0-SNAPSHOT.jar:$(cat "$cpfile")"
mkdir -p "$OUT"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_ready() { for _ in $(seq 300); do [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" == 200 ]] && return 0; sleep 0.2; done; return 1; }
UP=$(free_port)
java -XX:+UseParallelGC -Xmx1g -cp "$CP" dev.llmproxy.testsupport.MockLlmBackend "$UP" "$(nproc)" >"$OUT/upstream.log" 2>&1 &
PIDS+=($!)
wait_ready "http://127.0.0.1:$UP/health" || { echo "the upstream did not start" >&2; exit 1; }
names=(); ports=()
if [[ "${DIRECT:-0}" == 1 ]]; then names+=(direct); ports+=("$UP"); fi
gateway() { # dir jar flags [roles cluster-port]: one gateway process started in dir with dir/gw.yaml
  local dir=$1 jar=$2 flags=$3 roles=${4:-} cport=${5:-} java=java
  local args=(--config "$dir/gw.yaml")
  if [[ "$flags" == java=* ]]; then java=${flags%% *}; flags=${flags#"$java"}; java=${java#java=}; fi
  local collector=-XX:+UseParallelGC  # unless the flags name another one
  [[ "$flags" =~ -XX:\+Use[A-Za-z]*GC ]] && collector=""
  [[ -n "$roles" ]] && args+=(--cluster --roles "$roles")
  # shellcheck disable=SC2086
  (cd "$dir" && exec env ${cport:+LLMPROXY_CLUSTER_PORT=$cport} "$java" $collector -Xms64m -Xmx512m ${flags:-} -jar "$jar" \
    "${args[@]}") >"$dir/gateway.log" 2>&1 &
  PIDS+=($!)
}
for v in "$@"; do
  IFS='=' read -r name jar extra flags <<<"$v"; flags=${flags//,/ }
  port=$(free_port); dir="$OUT/$name"; rm -rf "$dir"; mkdir -p "$dir"
  [[ -f "$jar" ]] || jar="$REPO/$jar"
  [[ -f "$jar" ]] || { echo "$name: no jar $jar" >&2; exit 1; }
  jar="$(readlink -f "$jar")"
  printf 'server:\n  listen: "127.0.0.1:%s"\n  warmup: 0s\nbackends:\n  - name: upstream\n    url: "http://127.0.0.1:%s"\nmetrics:\n  enabled: true\n' "$port" "$UP" >"$dir/gw.yaml"
  cport1=$(free_port); cport2=$(free_port)
  IFS='+' read -r -a extras <<<"${extra:-}"
  for x in "${extras[@]}"; do
    [[ -f "$x" ]] || x="$REPO/$x"
    sed "s#{UP}#$UP#g; s#{OUT}#$dir#g; s#{NAME}#$name#g; s#{MEMBERS}#\"127.0.0.1:$cport1\", \"127.0.0.1:$cport2\"#g" "$x" >>"$dir/gw.yaml"
  done
  if grep -q '^cluster:' "$dir/gw.yaml"; then
    mkdir -p "$dir/services" "$dir/proxy"; cp "$dir/gw.yaml" "$dir/services/"; cp "$dir/gw.yaml" "$dir/proxy/"
    gateway "$dir/services" "$jar" "${flags:-}" auth,discovery,usage,admin "$cport1"
    for _ in $(seq 600); do grep -q 'cluster member ' "$dir/services/gateway.log" && break; sleep 0.2; done
    gateway "$dir/proxy" "$jar" "${flags:-}" proxy "$cport2"
  else
    gateway "$dir" "$jar" "${flags:-}"
  fi
  names+=("$name"); ports+=("$port")
done
# A reporter's backlog, or on a proxy-only cluster member the records not yet handed to the usage member.
backlog() { curl -s "http://127.0.0.1:$1/metrics" \
  | sed -E -n 's/^llmproxy_usage_(journal|handover)_backlog(\{[^}]*\})? ([0-9.eE+]*).*/\3/p' | head -1; }
for p in "${ports[@]}"; do
  ready="/ready"; [[ "$p" == "$UP" ]] && ready="/health"
  wait_ready "http://127.0.0.1:$p$ready" || { echo "a gateway did not start; see $OUT/*/gateway.log" >&2; exit 1; }
  for _ in 1 2 3; do
    wrk -t2 -c32 -d1s -s "$LIB/sse.lua" "http://127.0.0.1:$p/v1/chat/completions" >/dev/null 2>&1 || true
    wrk -t2 -c8 -d4s -s "$LIB/json.lua" "http://127.0.0.1:$p/v1/chat/completions" >/dev/null 2>&1 || true
  done
  for _ in $(seq 240); do b=$(backlog "$p"); [[ -z "$b" || "$b" == 0.0 ]] && break; sleep 0.5; done
done
for _ in $(seq "$WARM_ROUNDS"); do
  for j in "${!ports[@]}"; do
    wrk -t1 -c1 -d"$DURATION" -s "$LIB/json.lua" "http://127.0.0.1:${ports[$j]}/v1/chat/completions" >/dev/null 2>&1 || true
  done
done
declare -A p50s p99s
for _ in $(seq "$ROUNDS"); do
  for j in "${!ports[@]}"; do
    result=$(wrk -t1 -c1 -d"$DURATION" -s "$LIB/json.lua" "http://127.0.0.1:${ports[$j]}/v1/chat/completions" 2>/dev/null \
      | grep '^WRKRESULT' || true)
    p50=$(sed -n 's/.*"p50_us":\([0-9]*\).*/\1/p' <<<"$result")
    p99=$(sed -n 's/.*"p99_us":\([0-9]*\).*/\1/p' <<<"$result")
    p50s[$j]="${p50s[$j]:-} ${p50:-?}"
    p99s[$j]="${p99s[$j]:-} ${p99:-?}"
  done
done
median() { tr ' ' '\n' <<<"$1" | grep -E '^[0-9]+$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for j in "${!ports[@]}"; do
  echo "${names[$j]}: median p50 $(median "${p50s[$j]}") µs, median p99 $(median "${p99s[$j]}") µs; p50 rounds:${p50s[$j]};" \
    "p99 rounds:${p99s[$j]}; reporter backlog at the end: $(backlog "${ports[$j]}")"
done
