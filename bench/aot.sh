#!/usr/bin/env bash
# Start-up and warm-up of the gateway on JDK 17, JDK 25, and JDK 25 with an AOT cache (JEP 483, made in one
# training run with JEP 514's -XX:AOTCacheOutput): time from exec to /ready, the CPU that took, then the first
# FIRST seconds of load right after /ready (req/s, p99, CPU per request). Each variant is started RUNS times, in turn.
#
#   bench/aot.sh                         # JAVA17=java JAVA25=/usr/lib/jvm/temurin-25*/bin/java
#   OPTS="-XX:+UseZGC -Xmx512m" bench/aot.sh
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"
LIB="$BENCH_DIR/lib"
OUT="${OUT:-$BENCH_DIR/out/aot}"
JAVA17="${JAVA17:-java}"
JAVA25="${JAVA25:-$(ls -d /usr/lib/jvm/temurin-25*/bin/java 2>/dev/null | head -1 || true)}"
OPTS="${OPTS:--XX:+UseParallelGC -Xms64m -Xmx512m}"
GATEWAY_JAR="${GATEWAY_JAR:-$REPO/launcher/target/llmproxy.jar}"
RUNS="${RUNS:-3}"
FIRST="${FIRST:-5s}"
TRAIN="${TRAIN:-20s}"
PIDS=()

log() { printf '[aot %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
[[ -x "$JAVA25" ]] || die "no JDK 25 (set JAVA25)"
mkdir -p "$OUT"
ts_jar="$REPO/test-support/target/test-support-0.1.0-SNAPSHOT.jar"
[[ -f "$ts_jar" ]] || die "no $ts_jar: build first"
port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"; }
CLK_TCK=$(getconf CLK_TCK)

UP=$(port)
# the upstream runs from the gateway's jar, which carries Vert.x (test-support holds the mock)
java -XX:+UseParallelGC -Xmx1g -cp "$ts_jar:$GATEWAY_JAR" dev.llmproxy.testsupport.MockLlmBackend "$UP" "$(nproc)" \
  >"$OUT/upstream.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$UP/health" && break; sleep 0.1; done

start() { # java opts name -> GW_PID GW_PORT READY_MS READY_TICKS
  local java="$1" opts="$2" name="$3"
  GW_PORT=$(port)
  mkdir -p "$OUT/run-$name"
  printf '%s\n' 'server:' "  listen: \"127.0.0.1:$GW_PORT\"" 'backends:' '  - name: upstream' \
    "    url: \"http://127.0.0.1:$UP\"" 'metrics:' '  enabled: true' >"$OUT/$name.yaml"
  local t0; t0=$(date +%s%N)
  # shellcheck disable=SC2086
  (cd "$OUT/run-$name" && exec "$java" $opts -jar "$GATEWAY_JAR" --config "$OUT/$name.yaml") >"$OUT/$name.log" 2>&1 &
  GW_PID=$!; PIDS+=("$GW_PID")
  for _ in $(seq 3000); do
    kill -0 "$GW_PID" 2>/dev/null || die "$name exited (see $OUT/$name.log)"
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$GW_PORT/ready" || true)" == 200 ]] && break
    sleep 0.02
  done
  READY_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
  READY_TICKS=$(ticks "$GW_PID")
}

stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

# Training: a run under load, ended by SIGTERM; the JVM writes the cache as it exits.
AOT="$OUT/llmproxy.aot"
rm -f "$AOT"
start "$JAVA25" "$OPTS -XX:AOTCacheOutput=$AOT" train
log "training run (JDK 25, $OPTS) ready in ${READY_MS} ms; $TRAIN of JSON and SSE load"
chat="http://127.0.0.1:$GW_PORT/v1/chat/completions"
wrk -t2 -c32 -d"$TRAIN" -s "$LIB/json.lua" "$chat" >/dev/null 2>&1 || true
wrk -t2 -c32 -d5s -s "$LIB/sse.lua" "$chat" >/dev/null 2>&1 || true
t0=$(date +%s%N); stop "$GW_PID"
[[ -s "$AOT" ]] || die "no AOT cache written (see $OUT/train.log)"
log "AOT cache: $(du -h "$AOT" | cut -f1), written at exit in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

for r in $(seq "$RUNS"); do
  for v in jdk17 jdk25 jdk25-aot; do
    case "$v" in
      jdk17) java="$JAVA17" opts="$OPTS" ;;
      jdk25) java="$JAVA25" opts="$OPTS" ;;
      jdk25-aot) java="$JAVA25" opts="$OPTS -XX:AOTCache=$AOT" ;;
    esac
    start "$java" "$opts" "$v"
    chat="http://127.0.0.1:$GW_PORT/v1/chat/completions"
    w=$(wrk -t2 -c32 -d"$FIRST" -s "$LIB/json.lua" "$chat" 2>&1 | sed -n 's/^WRKRESULT //p')
    t1=$(ticks "$GW_PID")
    n=$(field "$w" requests)
    cpu_us=$(awk -v d=$((t1 - READY_TICKS)) -v n="$n" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", d * 1e6 / hz / (n > 0 ? n : 1) }')
    start_cpu_ms=$(( READY_TICKS * 1000 / CLK_TCK ))
    log "$v run $r: ready in ${READY_MS} ms (CPU ${start_cpu_ms} ms); first $FIRST: $(field "$w" rps) req/s, p50 $(field "$w" p50_us) us, p99 $(field "$w" p99_us) us, ${cpu_us} us CPU/req; load $(cut -d' ' -f1 /proc/loadavg)"
    printf '{"variant":"%s","run":%d,"ready_ms":%d,"start_cpu_ms":%d,"first_rps":%s,"first_p50_us":%s,"first_p99_us":%s,"first_cpu_us_per_req":%s,"opts":"%s"}\n' \
      "$v" "$r" "$READY_MS" "$start_cpu_ms" "$(field "$w" rps)" "$(field "$w" p50_us)" "$(field "$w" p99_us)" "$cpu_us" "$opts" >>"$OUT/aot.jsonl"
    stop "$GW_PID"
  done
done
