#!/usr/bin/env bash
# Gateway CPU time and heap allocation per request, per variant: figures that hold better on a loaded machine than
# throughput does. One mock upstream and one webhook receiver (bench/lib/usage-receiver.mjs, a separate process);
# each variant's gateway is started in turn, warmed up, then driven with `wrk -c CONNECTIONS -d DURATION`; after
# the run it waits until every usage record has reached the receiver (so whatever the reporter costs, later and off
# the request path, is counted too), then reads the utime+stime of its threads (/proc/PID/task, JIT threads apart).
# Warm-up: rounds of WARMUP until the JIT's share of CPU is below 10%. Allocation: a System.gc() before and after
# the measured span, and the GC log (-Xlog:gc) summed between them.
#
#   bench/cpu-per-request.sh off=launcher/target/llmproxy.jar usage=launcher/target/llmproxy.jar=bench/lib/cost/usage-webhook.yaml
#
# A variant is name=jar[=extra.yaml[+more.yaml...][=jvm flags, comma-separated]], as in bench/steady-c1.sh; {UP}
# in the extra files is the upstream's port, {HOOK} the receiver's, {OUT} the variant's folder.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"; LIB="$BENCH_DIR/lib"; OUT="${OUT:-$BENCH_DIR/out/cpu}"
DURATION="${DURATION:-15s}"; WARMUP="${WARMUP:-10s}"; WARMUP_ROUNDS="${WARMUP_ROUNDS:-8}"; CONNECTIONS="${CONNECTIONS:-32}"; ROUNDS="${ROUNDS:-1}"
(($#)) || { sed -n '2,13p' "$0"; exit 2; }
CP="$REPO/test-support/target/test-support-0.1.0-SNAPSHOT.jar:${UPSTREAM_CLASSPATH:-$REPO/launcher/target/llmproxy.jar}"
mkdir -p "$OUT"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_ready() { for _ in $(seq 300); do [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" == 200 ]] && return 0; sleep 0.2; done; return 1; }
# The process's CPU ticks by thread group: "total eventloop compiler other" (compiler: JIT threads, whose work is
# warm-up, not per request, and left out of the per-request figure; other: GC, journal and worker threads, ...).
cpu_ticks() {
  local t comm stat el=0 jit=0 other=0
  for t in /proc/"$1"/task/*; do
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    comm=${stat#*(}; comm=${comm%)*}
    read -r -a f <<<"${stat##*) }"
    local ticks=$((f[11] + f[12]))
    case "$comm" in
      vert.x-eventloo*) el=$((el + ticks)) ;;
      C1\ Compiler*|C2\ Compiler*) jit=$((jit + ticks)) ;;
      *) other=$((other + ticks)) ;;
    esac
  done
  echo "$((el + other)) $el $jit $other"
}
hooked() { curl -s "http://127.0.0.1:$HOOK/stats" | sed -E 's/.*"records":([0-9]+).*/\1/'; }
UP=$(free_port); HOOK=$(free_port)
java -XX:+UseParallelGC -Xmx1g -cp "$CP" dev.llmproxy.testsupport.MockLlmBackend "$UP" "$(nproc)" >"$OUT/upstream.log" 2>&1 &
PIDS+=($!)
node "$LIB/usage-receiver.mjs" "$HOOK" >"$OUT/hook.log" 2>&1 &
PIDS+=($!)
wait_ready "http://127.0.0.1:$UP/health" || { echo "the upstream did not start" >&2; exit 1; }
wait_ready "http://127.0.0.1:$HOOK/stats" || { echo "the webhook receiver did not start" >&2; exit 1; }
TCK=$(getconf CLK_TCK)
# Heap allocated between the two System.gc() of the log: per collection, heap before it minus heap after the previous.
alloc_mb() {
  awk '/Pause/ && /->/ {
      if (match($0, /GC\(([0-9]+)\)/, g) == 0) next
      match($0, /([0-9]+)([KMG])->([0-9]+)([KMG])\(/, m)
      f1 = m[2] == "K" ? 1/1024 : m[2] == "G" ? 1024 : 1; f2 = m[4] == "K" ? 1/1024 : m[4] == "G" ? 1024 : 1
      before = m[1] * f1; after = m[3] * f2
      if (/Pause Full/ && /Diagnostic Command|System.gc/) { sys++; if (sys == 2) { total += before - prev; print total; exit } }
      else if (sys == 1) total += before - prev
      prev = after
    }' "$1"
}
run() { # name jar extra flags
  local name=$1 jar=$2 extra=$3 flags=$4
  local port dir pid
  port=$(free_port); dir="$OUT/$name"; rm -rf "$dir"; mkdir -p "$dir"
  [[ -f "$jar" ]] || jar="$REPO/$jar"; jar="$(readlink -f "$jar")"
  printf 'server:\n  listen: "127.0.0.1:%s"\n  warmup: 0s\nbackends:\n  - name: upstream\n    url: "http://127.0.0.1:%s"\nmetrics:\n  enabled: true\n' "$port" "$UP" >"$dir/gw.yaml"
  local x extras=()
  IFS='+' read -r -a extras <<<"${extra:-}"
  for x in "${extras[@]}"; do
    [[ -f "$x" ]] || x="$REPO/$x"
    sed "s#{UP}#$UP#g; s#{HOOK}#$HOOK#g; s#{OUT}#$dir#g" "$x" >>"$dir/gw.yaml"
  done
  # shellcheck disable=SC2086
  (cd "$dir" && exec java -XX:+UseParallelGC -Xms64m -Xmx512m -Xlog:gc:file="$dir/gc.log" ${flags:-} -jar "$jar" \
    --config "$dir/gw.yaml") >"$dir/gateway.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_ready "http://127.0.0.1:$port/ready" || { echo "$name did not start; see $dir/gateway.log" >&2; exit 1; }
  local url="http://127.0.0.1:$port/v1/chat/completions"
  # Warm-up rounds until the JIT threads' share of the round's CPU is below 10% (at most WARMUP_ROUNDS of them): on
  # a starved machine a fixed warm-up leaves the measured run half interpreted.
  local w a b
  for ((w = 1; w <= WARMUP_ROUNDS; w++)); do
    read -r -a a <<<"$(cpu_ticks "$pid")"
    wrk -t2 -c"$CONNECTIONS" -d"$WARMUP" -s "$LIB/json.lua" "$url" >/dev/null 2>&1
    read -r -a b <<<"$(cpu_ticks "$pid")"
    (( (b[2] - a[2]) * 10 < (b[0] - a[0]) )) && break
  done
  local sent0 r0
  # Caught up: the receiver's count stops moving (no usage: it never moves).
  r0=-1; for _ in $(seq 120); do sent0=$(hooked); [[ "$sent0" == "$r0" ]] && break; r0=$sent0; sleep 1; done
  jcmd "$pid" GC.run >/dev/null
  local t0 t1 res n want
  read -r -a t0 <<<"$(cpu_ticks "$pid")"
  res=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$LIB/json.lua" "$url" 2>/dev/null | sed -n 's/^WRKRESULT //p')
  n=$(sed -E 's/.*"requests":([0-9]+).*/\1/' <<<"$res")
  local deadline=$((SECONDS + 300)) now
  if [[ -n "$extra" ]] && grep -q 'type: webhook' "$dir/gw.yaml"; then
    want=$((sent0 + n))
    while (( $(hooked) < want && SECONDS < deadline )); do sleep 0.2; done
  fi
  read -r -a t1 <<<"$(cpu_ticks "$pid")"
  jcmd "$pid" GC.run >/dev/null
  sleep 0.5
  local mb; mb=$(alloc_mb "$dir/gc.log")
  local rps p50 p99 errs
  rps=$(sed -E 's/.*"rps":([0-9.]+).*/\1/' <<<"$res"); p50=$(sed -E 's/.*"p50_us":([0-9]+).*/\1/' <<<"$res")
  p99=$(sed -E 's/.*"p99_us":([0-9]+).*/\1/' <<<"$res"); errs=$(sed -E 's/.*"err_status":([0-9]+).*/\1/' <<<"$res")
  awk -v name="$name" -v n="$n" -v ticks=$((t1[0] - t0[0])) -v el=$((t1[1] - t0[1])) -v jit=$((t1[2] - t0[2])) \
    -v other=$((t1[3] - t0[3])) -v tck="$TCK" -v mb="$mb" -v rps="$rps" -v p50="$p50" -v p99="$p99" \
    -v errs="$errs" -v hooked="$(( $(hooked) - sent0 ))" 'BEGIN {
      f = 1e6 / tck / n
      printf "%s: %d requests, cpu %.1f µs/request (event loops %.1f, other threads %.1f; JIT %.1f not counted), alloc %.1f KB/request, rps %.0f, p50 %d µs, p99 %d µs, non-2xx %d, webhook records %d\n",
        name, n, ticks * f, el * f, other * f, jit * f, mb * 1024 / n, rps, p50, p99, errs, hooked }'
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
for _ in $(seq "$ROUNDS"); do
  for v in "$@"; do
    IFS='=' read -r name jar extra flags <<<"$v"; flags=${flags//,/ }
    run "$name" "$jar" "${extra:-}" "${flags:-}"
  done
done
