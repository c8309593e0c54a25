#!/usr/bin/env bash
# What one request costs the proxy: CPU time and bytes allocated per request, measured over a fixed load against the
# bench's mock upstream. Unlike req/s and latency, both hold on a machine other work is loading (each is the proxy
# process's own count, divided by the requests it served), so that a change can be judged there.
#
#   bench/cost.sh                       # legs: llmproxy (features off, metrics on) and llmproxy-auth-limits
#   LEGS="vertx-bare llmproxy" ROUNDS=3 bench/cost.sh
#   JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java GATEWAY_JVM_OPTS="-XX:+UseZGC -Xmx512m" bench/cost.sh
#   VARIANTS="base|/tmp/base.jar||;new|launcher/target/llmproxy.jar||" bench/cost.sh   # A/B, rounds interleaved
#
# Per leg: a warm-up (WARMUP of wrk -c32 JSON), then ROUNDS rounds of wrk -c32 -d DURATION, each between two readings
# of the proxy (bench/lib/JvmProbe.java over JMX: allocated bytes, CPU; and /proc/PID/stat), then wrk -c1 for
# latency. Prints one line per round and a median per leg; JSON lines in $OUT/cost.jsonl.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"
LIB="$BENCH_DIR/lib"
OUT="${OUT:-$BENCH_DIR/out}"
LEGS="${LEGS:-llmproxy llmproxy-auth-limits}"
ROUNDS="${ROUNDS:-3}"
WARMUP="${WARMUP:-20s}"
DURATION="${DURATION:-10s}"
LAT_DURATION="${LAT_DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-32}"
JAVA="${JAVA:-java}"
GATEWAY_JVM_OPTS="${GATEWAY_JVM_OPTS:--XX:+UseParallelGC -Xms64m -Xmx512m}"
UPSTREAM_JVM_OPTS="${UPSTREAM_JVM_OPTS:--XX:+UseParallelGC -Xmx1g}"
GATEWAY_JAR="${GATEWAY_JAR:-$REPO/launcher/target/llmproxy.jar}"
UPSTREAM_INSTANCES="${UPSTREAM_INSTANCES:-$(nproc)}"
# PROFILE=cpu|alloc|wall|lock: async-profiler (ASYNC_PROFILER_LIB, its libasyncProfiler.so; the Maven Central artifact
# tools.profiler:async-profiler:<version>:jar:linux-x64 carries it) during the last round: $OUT/profile-LEG-EVENT.txt
PROFILE="${PROFILE:-}"
# RATE=N: the measured rounds send N requests/s (bench/lib/fixed-rate.mjs, open loop) instead of wrk's closed loop, so
# that every variant serves the same rate: CPU per request then compares like with like (at saturation a slower
# variant batches more requests per wake-up and per system call, which flatters its CPU per request).
RATE="${RATE:-}"
ASYNC_PROFILER_LIB="${ASYNC_PROFILER_LIB:-}"
PIDS=()

log() { printf '[cost %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

mkdir -p "$OUT"
command -v wrk >/dev/null || die "no wrk (apt-get install wrk)"
JAVA_HOME_OF_TOOLS="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
ts_jar="$REPO/test-support/target/test-support-0.1.0-SNAPSHOT.jar"
cpfile="$OUT/upstream.classpath"
[[ -f "$ts_jar" ]] || die "no $ts_jar: build first (./mvnw -q -o -pl launcher,test-support -am package -DskipTests)"
if [[ ! -s "$cpfile" ]]; then
  (cd "$REPO" && ./mvnw -B -q -pl test-support dependency:build-classpath -DincludeScope=runtime \
    -Dmdep.outputFile="$cpfile") >"$OUT/cost-build.log" 2>&1 || die "cannot resolve the upstream's classpath"
fi
UPSTREAM_CP="$ts_jar:$(cat "$cpfile")"
mkdir -p "$OUT/cost-classes"
"$JAVA_HOME_OF_TOOLS/bin/javac" -nowarn -d "$OUT/cost-classes" "$LIB/JvmProbe.java" \
  || die "JvmProbe.java does not compile"
"$JAVA_HOME_OF_TOOLS/bin/javac" -nowarn -d "$OUT/cost-classes" -cp "$UPSTREAM_CP" "$LIB/BareProxy.java" \
  || die "BareProxy.java does not compile"

port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_ready() { # url pid
  for _ in $(seq 600); do
    kill -0 "$2" 2>/dev/null || return 1
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" || true)" == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
probe() { "$JAVA_HOME_OF_TOOLS/bin/java" -cp "$OUT/cost-classes" JvmProbe "$@"; }
field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"; }

UPSTREAM_PORT=$(port)
# shellcheck disable=SC2086
java $UPSTREAM_JVM_OPTS -cp "$UPSTREAM_CP" dev.llmproxy.testsupport.MockLlmBackend "$UPSTREAM_PORT" "$UPSTREAM_INSTANCES" \
  >"$OUT/cost-upstream.log" 2>&1 &
UPSTREAM_PID=$!; PIDS+=("$UPSTREAM_PID")
wait_ready "http://127.0.0.1:$UPSTREAM_PORT/health" "$UPSTREAM_PID" || die "the mock upstream did not start"
CLK_TCK=$(getconf CLK_TCK)

# VARIANTS: the gateways compared, each "name|jar|java|jvm options" (empty fields: the defaults). All variants of a leg
# run at once and their rounds alternate, so that the load other work puts on the machine falls on each alike.
VARIANTS="${VARIANTS:-current|$GATEWAY_JAR|$JAVA|$GATEWAY_JVM_OPTS}"

start_variant() { # leg variant-spec -> sets V_PID V_URL V_NAME V_JAVA V_OPTS
  local leg="$1" name jar java opts
  IFS='|' read -r name jar java opts <<<"$2"
  jar="${jar:-$GATEWAY_JAR}"; java="${java:-$JAVA}"; opts="${opts:-$GATEWAY_JVM_OPTS}"
  local port; port=$(port)
  local logf="$OUT/cost-$leg-$name.log"
  if [[ "$leg" == vertx-bare ]]; then
    # shellcheck disable=SC2086
    "$java" $opts -cp "$OUT/cost-classes:$UPSTREAM_CP${BARE_EXTRA_CP:+:$BARE_EXTRA_CP}" BareProxy "$port" "$UPSTREAM_PORT" >"$logf" 2>&1 &
  else
    local conf="$OUT/cost-$leg-$name.yaml"
    printf '%s\n' 'server:' "  listen: \"127.0.0.1:$port\"" 'backends:' '  - name: upstream' \
      "    url: \"http://127.0.0.1:$UPSTREAM_PORT\"" 'metrics:' '  enabled: true' >"$conf"
    if [[ "$leg" == *auth* ]]; then
      printf '%s\n' 'auth:' '  enabled: true' '  pipeline:' '    - name: bench' '      type: static' '      static:' \
        '        keys:' '          - key: "sk-bench-0123456789abcdef"' '            name: "bench"' >>"$conf"
    fi
    if [[ "$leg" == *limits* ]]; then
      printf '%s\n' 'rate_limit:' '  enabled: true' '  global:' '    requests_per_second: 10000000' \
        '    requests_per_minute: 600000000' '    max_concurrent: 1000000' >>"$conf"
    fi
    [[ -n "${GATEWAY_CONFIG_EXTRA:-}" ]] && cat "$GATEWAY_CONFIG_EXTRA" >>"$conf"
    # shellcheck disable=SC2086
    # a folder of its own: what it writes relative to it (the usage journal's ./data) is not another variant's
    mkdir -p "$OUT/run-$leg-$name"
    (cd "$OUT/run-$leg-$name" && exec "$java" $opts -jar "$jar" --config "$conf") >"$logf" 2>&1 &
  fi
  V_PID=$!; PIDS+=("$V_PID")
  wait_ready "http://127.0.0.1:$port/ready" "$V_PID" || die "$leg/$name did not start (see $logf)"
  V_URL="http://127.0.0.1:$port/v1/chat/completions"
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'Authorization: Bearer sk-bench-0123456789abcdef' \
    -d '{"model":"mock","messages":[{"role":"user","content":"hi"}],"max_tokens":3}' "$V_URL")
  [[ "$code" == 200 ]] || die "$leg/$name answers $code to a chat completion"
  V_NAME="$name"; V_JAVA="$java"; V_OPTS="$opts"
  log "$leg/$name: $("$java" -version 2>&1 | head -1) $opts, pid $V_PID"
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

measure_round() { # leg name pid url round java opts
  local leg="$1" name="$2" pid="$3" chat="$4" r="$5" java="$6" opts="$7" profiling=0 prof=""
  if [[ -n "$PROFILE" && "$r" == "$ROUNDS" ]]; then
    [[ -f "$ASYNC_PROFILER_LIB" ]] || die "PROFILE needs ASYNC_PROFILER_LIB (libasyncProfiler.so)"
    prof="$OUT/profile-$leg-$name-$PROFILE"
    probe "$pid" agent "$ASYNC_PROFILER_LIB" \
      "start,event=$PROFILE${PROFILE_INTERVAL:+,interval=$PROFILE_INTERVAL},threads,collapsed,file=$prof.collapsed" >/dev/null
    profiling=1
  fi
  [[ "$r" == "$ROUNDS" ]] && probe "$pid" threads >"$OUT/threads-$leg-$name.before"
  local a b t0 t1 w
  a=$(probe "$pid"); t0=$(ticks "$pid")
  if [[ -n "$RATE" ]]; then
    w=$(node "$LIB/fixed-rate.mjs" "$chat" "$RATE" "${DURATION%s}" 64 2>&1 | sed -n 's/^RATERESULT //p' \
      | sed 's/"achieved_rps"/"rps"/')
  else
    w=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$LIB/json.lua" "$chat" 2>&1 | sed -n 's/^WRKRESULT //p')
  fi
  t1=$(ticks "$pid"); b=$(probe "$pid")
  [[ "$r" == "$ROUNDS" ]] && probe "$pid" threads >"$OUT/threads-$leg-$name.after"
  if ((profiling)); then
    probe "$pid" agent "$ASYNC_PROFILER_LIB" "stop,collapsed,file=$prof.collapsed" >/dev/null
    # self samples by frame (the last frame of each stack) on the event loops, the top 40
    grep '^\[vert.x-eventloop' "$prof.collapsed" | awk '{ n = $NF; $NF = ""; k = split($0, f, ";"); self[f[k]] += n; total += n }
      END { for (s in self) printf "%6.2f%% %s\n", 100 * self[s] / total, s }' | sort -rn | { head -40; cat >/dev/null; } >"$prof.txt"
    log "$leg/$name: profile in $prof.txt and $prof.collapsed"
  fi
  local n; n=$(field "$w" requests)
  ((n > 0)) || die "$leg/$name: wrk served no request: $w"
  local cpu_us loop_cpu_us alloc loop_alloc gcs gc_ms rps p50 p99 load
  cpu_us=$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')
  loop_cpu_us=$(awk -v a="$(field "$a" event_loop_cpu_ns)" -v b="$(field "$b" event_loop_cpu_ns)" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / 1e3 / n }')
  alloc=$(awk -v a="$(field "$a" allocated_bytes)" -v b="$(field "$b" allocated_bytes)" -v n="$n" 'BEGIN { printf "%d", (b - a) / n }')
  loop_alloc=$(awk -v a="$(field "$a" event_loop_allocated_bytes)" -v b="$(field "$b" event_loop_allocated_bytes)" -v n="$n" 'BEGIN { printf "%d", (b - a) / n }')
  gcs=$(( $(field "$b" gc_count) - $(field "$a" gc_count) )); gc_ms=$(( $(field "$b" gc_ms) - $(field "$a" gc_ms) ))
  rps=$(field "$w" rps); p50=$(field "$w" p50_us); p99=$(field "$w" p99_us)
  load=$(cut -d' ' -f1 /proc/loadavg)
  log "$leg/$name round $r: $n req, cpu ${cpu_us} us/req (event loops ${loop_cpu_us}), alloc ${alloc} B/req (event loops ${loop_alloc}), gc ${gcs}x ${gc_ms} ms, ${rps} req/s p50 ${p50} us p99 ${p99} us, load ${load}"
  printf '{"leg":"%s","variant":"%s","round":%d,"requests":%d,"cpu_us_per_req":%s,"event_loop_cpu_us_per_req":%s,"alloc_bytes_per_req":%d,"event_loop_alloc_bytes_per_req":%d,"gc_count":%d,"gc_ms":%d,"rps":%s,"p50_us":%s,"p99_us":%s,"loadavg":%s,"java":"%s","opts":"%s"}\n' \
    "$leg" "$name" "$r" "$n" "$cpu_us" "$loop_cpu_us" "$alloc" "$loop_alloc" "$gcs" "$gc_ms" "$rps" "$p50" "$p99" "$load" "$java" "$opts" >>"$OUT/cost.jsonl"
  R_CPU="$cpu_us"; R_LOOP_CPU="$loop_cpu_us"; R_ALLOC="$alloc"
}

for leg in $LEGS; do
  names=() pids=() urls=() javas=() optss=()
  while IFS= read -r spec; do
    [[ -n "$spec" ]] || continue
    start_variant "$leg" "$spec"
    names+=("$V_NAME"); pids+=("$V_PID"); urls+=("$V_URL"); javas+=("$V_JAVA"); optss+=("$V_OPTS")
  done < <(tr ';' '\n' <<<"$VARIANTS")
  for i in "${!names[@]}"; do
    log "$leg/${names[$i]}: warming up for $WARMUP"
    wrk -t2 -c"$CONNECTIONS" -d"$WARMUP" -s "$LIB/json.lua" "${urls[$i]}" >/dev/null 2>&1 || true
  done
  declare -A CPUS=() LOOPS=() ALLOCS=()
  for r in $(seq "$ROUNDS"); do
    for i in "${!names[@]}"; do
      measure_round "$leg" "${names[$i]}" "${pids[$i]}" "${urls[$i]}" "$r" "${javas[$i]}" "${optss[$i]}"
      CPUS[$i]="${CPUS[$i]:-} $R_CPU"; LOOPS[$i]="${LOOPS[$i]:-} $R_LOOP_CPU"; ALLOCS[$i]="${ALLOCS[$i]:-} $R_ALLOC"
    done
  done
  for i in "${!names[@]}"; do
    w1=$(wrk -t1 -c1 -d"$LAT_DURATION" -s "$LIB/json.lua" "${urls[$i]}" 2>&1 | sed -n 's/^WRKRESULT //p')
    # shellcheck disable=SC2086
    log "$leg/${names[$i]}: MEDIAN cpu $(median ${CPUS[$i]}) us/req (event loops $(median ${LOOPS[$i]})), alloc $(median ${ALLOCS[$i]}) B/req; c1: $(field "$w1" rps) req/s p50 $(field "$w1" p50_us) us p99 $(field "$w1" p99_us) us"
    kill "${pids[$i]}"; wait "${pids[$i]}" 2>/dev/null || true
  done
  unset CPUS LOOPS ALLOCS
done
