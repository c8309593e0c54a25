#!/usr/bin/env bash
# Steady-state -c1 comparison of gateway variants, interleaved: one mock upstream, every variant's gateway up at
# once and warm, usage reporters caught up, then ROUNDS rounds of one `wrk -t1 -c1 -d DURATION` run per variant in
# turn; prints each variant's p50s and their median. For differences (tens of µs) that one -c1 run per leg in
# bench/run.sh cannot resolve on a machine whose hops wake slowly.
#
#   bench/steady-c1.sh plain=launcher/target/llmproxy.jar usage=launcher/target/llmproxy.jar=bench/lib/steady/usage-webhook.yaml
#
# A variant is name=jar[=extra.yaml[=jvm flags, comma-separated]]; extra.yaml is appended to the gateway's config
# with {UP} (the upstream's port) and {OUT} (the variant's own folder) filled in.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"; LIB="$BENCH_DIR/lib"; OUT="${OUT:-$BENCH_DIR/out/steady}"
ROUNDS="${ROUNDS:-10}"; DURATION="${DURATION:-3s}"
(($#)) || { sed -n '2,11p' "$0"; exit 2; }
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
for v in "$@"; do
  IFS='=' read -r name jar extra flags <<<"$v"; flags=${flags//,/ }
  port=$(free_port); dir="$OUT/$name"; rm -rf "$dir"; mkdir -p "$dir"
  [[ -f "$jar" ]] || jar="$REPO/$jar"
  [[ -f "$jar" ]] || { echo "$name: no jar $jar" >&2; exit 1; }
  jar="$(readlink -f "$jar")"
  if [[ -n "${extra:-}" ]]; then [[ -f "$extra" ]] || extra="$REPO/$extra"; fi
  printf 'server:\n  listen: "127.0.0.1:%s"\n  warmup: 0s\nbackends:\n  - name: upstream\n    url: "http://127.0.0.1:%s"\nmetrics:\n  enabled: true\n' "$port" "$UP" >"$dir/gw.yaml"
  [[ -n "${extra:-}" ]] && sed "s#{UP}#$UP#g; s#{OUT}#$dir#g" "$extra" >>"$dir/gw.yaml"
  # shellcheck disable=SC2086
  (cd "$dir" && exec java -XX:+UseParallelGC -Xms64m -Xmx512m ${flags:-} -jar "$jar" --config "$dir/gw.yaml") >"$dir/gateway.log" 2>&1 &
  PIDS+=($!); names+=("$name"); ports+=("$port")
done
backlog() { curl -s "http://127.0.0.1:$1/metrics" | sed -n 's/^llmproxy_usage_journal_backlog{[^}]*} \([0-9.eE+]*\).*/\1/p' | head -1; }
for p in "${ports[@]}"; do
  wait_ready "http://127.0.0.1:$p/ready" || { echo "a gateway did not start; see $OUT/*/gateway.log" >&2; exit 1; }
  for _ in 1 2 3; do
    wrk -t2 -c32 -d1s -s "$LIB/sse.lua" "http://127.0.0.1:$p/v1/chat/completions" >/dev/null 2>&1 || true
    wrk -t2 -c8 -d4s -s "$LIB/json.lua" "http://127.0.0.1:$p/v1/chat/completions" >/dev/null 2>&1 || true
  done
  for _ in $(seq 240); do b=$(backlog "$p"); [[ -z "$b" || "$b" == 0.0 ]] && break; sleep 0.5; done
done
declare -A p50s
for _ in $(seq "$ROUNDS"); do
  for j in "${!ports[@]}"; do
    p50=$(wrk -t1 -c1 -d"$DURATION" -s "$LIB/json.lua" "http://127.0.0.1:${ports[$j]}/v1/chat/completions" 2>/dev/null \
      | sed -n 's/^WRKRESULT .*"p50_us":\([0-9]*\).*/\1/p')
    p50s[$j]="${p50s[$j]:-} ${p50:-?}"
  done
done
for j in "${!ports[@]}"; do
  median=$(tr ' ' '\n' <<<"${p50s[$j]}" | grep -E '^[0-9]+$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "${names[$j]}: median p50 ${median} µs; rounds:${p50s[$j]}; reporter backlog at the end: $(backlog "${ports[$j]}")"
done
