#!/usr/bin/env bash
# What one request costs the gateway: CPU time and bytes allocated per request, over a fixed load against the bench's
# mock upstream. Unlike req/s and latency, both hold on a machine other work is loading (each is the gateway
# process's own count divided by the requests it served), so that a change can be judged there.
#
#   bench/cost.sh                                   # off, all (webhook batch_size 1), all-b100 (batch_size 100)
#   bench/cost.sh off=launcher/target/llmproxy.jar usage=launcher/target/llmproxy.jar=usage-webhook
#   bench/cost.sh base=/tmp/base.jar=auth-limits+usage-webhook new=launcher/target/llmproxy.jar=auth-limits+usage-webhook
#   bench/cost.sh bare=bare off=launcher/target/llmproxy.jar g1=launcher/target/llmproxy.jar==-XX:+UseG1GC,-Xmx512m
#   bench/cost.sh off=launcher/target/llmproxy.jar flow=launcher/target/llmproxy.jar=flow   # flow control, never saturated
#   PROFILE=cpu ASYNC_PROFILER_LIB=/path/libasyncProfiler.so bench/cost.sh ...   # async-profiler on the last round
#
# A variant is name=jar[=extra[+extra...][=jvm flags, comma-separated]]. jar "bare" is lib/BareProxy.java (plain
# Vert.x, no gateway; BARE_EXTRA_CP is added to its class path, e.g. netty's epoll jar for -Dbare.nativeTransport=true). An extra is a YAML file appended to the gateway's config (features off, metrics on), or the
# name of one in lib/cost/ (auth-limits, usage-webhook, usage-webhook-batch, flow); in it {UP} is the upstream's port, {HOOK}
# the webhook receiver's (lib/usage-receiver.mjs, a process of its own, shared by all variants), {OUT} the
# variant's folder. Flags replace GATEWAY_JVM_OPTS.
#
# Every variant runs at once; each is warmed up (rounds of WARMUP until its JIT threads take under 10% of its CPU, at
# most WARMUP_ROUNDS), then ROUNDS rounds of wrk -c CONNECTIONS -d DURATION (or RATE=N requests/s, open loop) go to
# each variant in turn, so that the load other work puts on the machine falls on each alike. A round is measured
# from the moment the receiver has every usage record sent before it until it has every record of the round: what
# the reporter does after the load, off the request path, is counted. Per round: CPU from /proc/PID/task/*/stat
# (event-loop threads, other threads: GC, journal, workers; JIT compiler threads shown apart and left out: warm-up,
# not per request), bytes allocated from JMX (lib/JvmProbe.java: per thread, event loops apart), GCs, the
# receiver's POSTs. Then wrk -c1 for LAT_DURATION (0: skipped) for p50/p99. One line per round, the median per
# variant at the end, JSON lines in $OUT/cost.jsonl, each with the load average.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"
LIB="$BENCH_DIR/lib"
OUT="${OUT:-$BENCH_DIR/out/cost}"
ROUNDS="${ROUNDS:-3}"
WARMUP="${WARMUP:-10s}"
WARMUP_ROUNDS="${WARMUP_ROUNDS:-8}"
DURATION="${DURATION:-10s}"
LAT_DURATION="${LAT_DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-32}"
JAVA="${JAVA:-java}"
GATEWAY_JVM_OPTS="${GATEWAY_JVM_OPTS:--XX:+UseParallelGC -Xms64m -Xmx512m}"
UPSTREAM_JVM_OPTS="${UPSTREAM_JVM_OPTS:--XX:+UseParallelGC -Xmx1g}"
GATEWAY_JAR="${GATEWAY_JAR:-$REPO/launcher/target/llmproxy.jar}"
UPSTREAM_INSTANCES="${UPSTREAM_INSTANCES:-$(nproc)}"
# PROFILE=cpu|alloc|wall|lock: async-profiler (ASYNC_PROFILER_LIB, its libasyncProfiler.so; the Maven Central artifact
# tools.profiler:async-profiler:<version>:jar:linux-x64 carries it) during each variant's last round:
# $OUT/profile-VARIANT-EVENT.{collapsed,txt}
PROFILE="${PROFILE:-}"
ASYNC_PROFILER_LIB="${ASYNC_PROFILER_LIB:-}"
# RATE=N: the measured rounds send N requests/s (lib/fixed-rate.mjs, open loop) instead of wrk's closed loop, so that
# every variant serves the same rate: CPU per request then compares like with like (at saturation a slower variant
# batches more requests per wake-up and per system call, which flatters its CPU per request).
RATE="${RATE:-}"
CATCH_UP_S="${CATCH_UP_S:-300}"  # how long a round waits for the receiver to have every record
PIDS=()

log() { printf '[cost %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

if (($# == 0)); then
  set -- "off=$GATEWAY_JAR" "all=$GATEWAY_JAR=auth-limits+usage-webhook" \
    "all-b100=$GATEWAY_JAR=auth-limits+usage-webhook-batch"
fi
mkdir -p "$OUT"
command -v wrk >/dev/null || die "no wrk (apt-get install wrk)"
JAVA_HOME_OF_TOOLS="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
ts_jar="$REPO/test-support/target/test-support-0.1.0-SNAPSHOT.jar"
cpfile="$OUT/upstream.classpath"
[[ -f "$ts_jar" ]] || die "no $ts_jar: build first (./mvnw -q -o -pl launcher,test-support -am package -DskipTests)"
if [[ ! -s "$cpfile" ]]; then
  (cd "$REPO" && ./mvnw -B -q -pl test-support dependency:build-classpath -DincludeScope=runtime \
    -Dmdep.outputFile="$cpfile") >"$OUT/build.log" 2>&1 || die "cannot resolve the upstream's classpath"
fi
UPSTREAM_CP="$ts_jar:$(cat "$cpfile")"
mkdir -p "$OUT/classes"
"$JAVA_HOME_OF_TOOLS/bin/javac" -nowarn -d "$OUT/classes" "$LIB/JvmProbe.java" || die "JvmProbe.java does not compile"
"$JAVA_HOME_OF_TOOLS/bin/javac" -nowarn -d "$OUT/classes" -cp "$UPSTREAM_CP" "$LIB/BareProxy.java" \
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
probe() { "$JAVA_HOME_OF_TOOLS/bin/java" -cp "$OUT/classes" JvmProbe "$@"; }
field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# The process's CPU ticks by thread group: "total eventloop jit other" (total leaves the JIT out: its work is warm-up,
# not per request; other: GC, the journal's threads, workers, ...).
cpu_ticks() {
  local t stat comm el=0 jit=0 other=0 ticks
  for t in /proc/"$1"/task/*; do
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    comm=${stat#*(}; comm=${comm%)*}
    read -r -a f <<<"${stat##*) }"
    ticks=$((f[11] + f[12]))
    case "$comm" in
      vert.x-eventloo*) el=$((el + ticks)) ;;
      C1\ CompilerThre*|C2\ CompilerThre*) jit=$((jit + ticks)) ;;
      *) other=$((other + ticks)) ;;
    esac
  done
  echo "$((el + other)) $el $jit $other"
}
receiver() { curl -s --max-time 5 "http://127.0.0.1:$HOOK/stats"; }
records() { field "$(receiver)" records; }
# Until the receiver's count stops moving for 2 s (a variant without a webhook: at once).
settle() {
  local last=-1 now
  for _ in $(seq "$CATCH_UP_S"); do
    now=$(records); [[ "$now" == "$last" ]] && return 0
    last=$now; sleep 2
  done
}

UP=$(port); HOOK=$(port)
# shellcheck disable=SC2086
java $UPSTREAM_JVM_OPTS -cp "$UPSTREAM_CP" dev.llmproxy.testsupport.MockLlmBackend "$UP" "$UPSTREAM_INSTANCES" \
  >"$OUT/upstream.log" 2>&1 &
UPSTREAM_PID=$!; PIDS+=("$UPSTREAM_PID")
node "$LIB/usage-receiver.mjs" "$HOOK" >"$OUT/receiver.log" 2>&1 &
PIDS+=($!)
wait_ready "http://127.0.0.1:$UP/health" "$UPSTREAM_PID" || die "the mock upstream did not start"
wait_ready "http://127.0.0.1:$HOOK/ready" "${PIDS[-1]}" || die "the webhook receiver did not start"
CLK_TCK=$(getconf CLK_TCK)

NAMES=() VPIDS=() URLS=() HOOKED=() OPTSS=()
start_variant() { # spec
  local name jar extra flags
  IFS='=' read -r name jar extra flags <<<"$1"
  flags=${flags//,/ }; local opts="${flags:-$GATEWAY_JVM_OPTS}"
  local dir="$OUT/$name" port; port=$(port)
  rm -rf "$dir"; mkdir -p "$dir"
  if [[ "$jar" == bare ]]; then
    # shellcheck disable=SC2086
    "$JAVA" $opts -cp "$OUT/classes:$UPSTREAM_CP${BARE_EXTRA_CP:+:$BARE_EXTRA_CP}" BareProxy "$port" "$UP" >"$dir/gateway.log" 2>&1 &
  else
    [[ -f "$jar" ]] || jar="$REPO/$jar"
    [[ -f "$jar" ]] || die "$name: no jar $jar"
    jar="$(readlink -f "$jar")"
    printf 'server:\n  listen: "127.0.0.1:%s"\n  warmup: 0s\nbackends:\n  - name: upstream\n    url: "http://127.0.0.1:%s"\nmetrics:\n  enabled: true\n' \
      "$port" "$UP" >"$dir/gateway.yaml"
    local x extras=()
    IFS='+' read -r -a extras <<<"${extra:-}"
    for x in "${extras[@]}"; do
      [[ -f "$x" ]] || { [[ -f "$REPO/$x" ]] && x="$REPO/$x"; } || true
      [[ -f "$x" ]] || x="$LIB/cost/$x.yaml"
      [[ -f "$x" ]] || die "$name: no config extra $x"
      sed "s#{UP}#$UP#g; s#{HOOK}#$HOOK#g; s#{OUT}#$dir#g" "$x" >>"$dir/gateway.yaml"
    done
    # a folder of its own: what it writes relative to it (the usage journal's ./data) is not another variant's
    # shellcheck disable=SC2086
    (cd "$dir" && exec "$JAVA" $opts -jar "$jar" --config "$dir/gateway.yaml") >"$dir/gateway.log" 2>&1 &
  fi
  local pid=$!; PIDS+=("$pid")
  # BareProxy answers /ready like the gateway
  wait_ready "http://127.0.0.1:$port/ready" "$pid" || die "$name did not start (see $dir/gateway.log)"
  local url="http://127.0.0.1:$port/v1/chat/completions" code
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'Authorization: Bearer sk-bench-0123456789abcdef' \
    -d '{"model":"mock","messages":[{"role":"user","content":"hi"}],"max_tokens":3}' "$url")
  [[ "$code" == 200 ]] || die "$name answers $code to a chat completion"
  NAMES+=("$name"); VPIDS+=("$pid"); URLS+=("$url"); OPTSS+=("$opts")
  HOOKED+=("$([[ -f "$dir/gateway.yaml" ]] && grep -q 'type: webhook' "$dir/gateway.yaml" && echo 1 || echo 0)")
  log "$name: $jar ${extra:++ $extra} ($opts), pid $pid"
}

for spec in "$@"; do start_variant "$spec"; done

for i in "${!NAMES[@]}"; do
  # Rounds of WARMUP until the JIT's share of the round's CPU is below 10%: on a starved machine a fixed warm-up
  # leaves the measured run half interpreted.
  for ((w = 1; w <= WARMUP_ROUNDS; w++)); do
    read -r -a a <<<"$(cpu_ticks "${VPIDS[$i]}")"
    wrk -t2 -c"$CONNECTIONS" -d"$WARMUP" -s "$LIB/json.lua" "${URLS[$i]}" >/dev/null 2>&1 || true
    read -r -a b <<<"$(cpu_ticks "${VPIDS[$i]}")"
    (( (b[2] - a[2]) * 10 < (b[0] + b[2] - a[0] - a[2]) )) && break
  done
  log "${NAMES[$i]}: warmed up in $((w > WARMUP_ROUNDS ? WARMUP_ROUNDS : w)) round(s) of $WARMUP"
done

measure_round() { # index round
  local i="$1" r="$2" name="${NAMES[$1]}" pid="${VPIDS[$1]}" url="${URLS[$1]}" prof=""
  settle
  local stats0; stats0=$(receiver)
  if [[ -n "$PROFILE" && "$r" == "$ROUNDS" ]]; then
    [[ -f "$ASYNC_PROFILER_LIB" ]] || die "PROFILE needs ASYNC_PROFILER_LIB (libasyncProfiler.so)"
    prof="$OUT/profile-$name-$PROFILE"
    probe "$pid" agent "$ASYNC_PROFILER_LIB" \
      "start,event=$PROFILE${PROFILE_INTERVAL:+,interval=$PROFILE_INTERVAL},threads,collapsed,file=$prof.collapsed" >/dev/null
  fi
  local a b t0 t1 w
  a=$(probe "$pid"); read -r -a t0 <<<"$(cpu_ticks "$pid")"
  if [[ -n "$RATE" ]]; then
    w=$(node "$LIB/fixed-rate.mjs" "$url" "$RATE" "${DURATION%s}" 64 2>&1 | sed -n 's/^RATERESULT //p' \
      | sed 's/"achieved_rps"/"rps"/; s/"non2xx"/"err_status"/')
  else
    w=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$LIB/json.lua" "$url" 2>&1 | sed -n 's/^WRKRESULT //p')
  fi
  local n errs; n=$(field "$w" requests); errs=$(field "$w" err_status); errs=${errs:-0}
  ((n > 0)) || die "$name: the load served no request: $w"
  local waited=0
  if ((HOOKED[i])); then
    local want=$(( $(field "$stats0" records) + n - errs )) deadline=$((SECONDS + CATCH_UP_S)) t=$SECONDS
    while (( $(records) < want && SECONDS < deadline )); do sleep 0.1; done
    (( $(records) >= want )) || log "$name: the receiver has $(records) of $want records after ${CATCH_UP_S}s"
    waited=$((SECONDS - t))
  fi
  read -r -a t1 <<<"$(cpu_ticks "$pid")"; b=$(probe "$pid")
  local stats1; stats1=$(receiver)
  if [[ -n "$prof" ]]; then
    probe "$pid" agent "$ASYNC_PROFILER_LIB" "stop,collapsed,file=$prof.collapsed" >/dev/null
    # self samples by frame (the last of each stack): the top 40 of all threads, then of the event loops alone
    local top='{ n = $NF; $NF = ""; k = split($0, f, ";"); self[f[k]] += n; total += n }
      END { for (s in self) printf "%6.2f%% %s\n", 100 * self[s] / total, s }'
    # (head reads all that sort writes: under pipefail a SIGPIPE to sort would end the run)
    { echo "# all threads"; awk "$top" "$prof.collapsed" | sort -rn | { head -40; cat >/dev/null; }
      echo "# event loops"; grep '^\[vert.x-eventloop' "$prof.collapsed" | awk "$top" | sort -rn | { head -40; cat >/dev/null; }
    } >"$prof.txt"
    log "$name: profile in $prof.txt and $prof.collapsed"
  fi
  local load; load=$(cut -d' ' -f1-3 /proc/loadavg)
  local line
  line=$(awk -v name="$name" -v r="$r" -v n="$n" -v errs="$errs" -v hz="$CLK_TCK" \
    -v tot=$((t1[0] - t0[0])) -v el=$((t1[1] - t0[1])) -v jit=$((t1[2] - t0[2])) -v oth=$((t1[3] - t0[3])) \
    -v al="$(( $(field "$b" allocated_bytes) - $(field "$a" allocated_bytes) ))" \
    -v elal="$(( $(field "$b" event_loop_allocated_bytes) - $(field "$a" event_loop_allocated_bytes) ))" \
    -v gcs="$(( $(field "$b" gc_count) - $(field "$a" gc_count) ))" -v gcms="$(( $(field "$b" gc_ms) - $(field "$a" gc_ms) ))" \
    -v rps="$(field "$w" rps)" -v p50="$(field "$w" p50_us)" -v p99="$(field "$w" p99_us)" \
    -v recs="$(( $(field "$stats1" records) - $(field "$stats0" records) ))" \
    -v posts="$(( $(field "$stats1" posts) - $(field "$stats0" posts) ))" -v waited="$waited" -v loadavg="$load" 'BEGIN {
      f = 1e6 / hz / n
      printf "{\"variant\":\"%s\",\"round\":%d,\"requests\":%d,\"non2xx\":%d,\"cpu_us_per_req\":%.1f,\"event_loop_cpu_us_per_req\":%.1f,\"other_cpu_us_per_req\":%.1f,\"jit_cpu_us_per_req\":%.1f,\"alloc_bytes_per_req\":%d,\"event_loop_alloc_bytes_per_req\":%d,\"gc_count\":%d,\"gc_ms\":%d,\"rps\":%s,\"p50_us\":%s,\"p99_us\":%s,\"webhook_records\":%d,\"webhook_posts\":%d,\"catch_up_s\":%d,\"loadavg\":\"%s\"}\n",
        name, r, n, errs, tot * f, el * f, oth * f, jit * f, al / n, elal / n, gcs, gcms, rps, p50, p99, recs, posts, waited, loadavg }')
  echo "$line" >>"$OUT/cost.jsonl"
  R_CPU=$(field "$line" cpu_us_per_req); R_LOOP=$(field "$line" event_loop_cpu_us_per_req)
  R_OTHER=$(field "$line" other_cpu_us_per_req); R_ALLOC=$(field "$line" alloc_bytes_per_req)
  log "$name round $r: $n req ($errs non-2xx), cpu $R_CPU us/req (event loops $R_LOOP, other $R_OTHER, JIT $(field "$line" jit_cpu_us_per_req) not counted), alloc $R_ALLOC B/req (event loops $(field "$line" event_loop_alloc_bytes_per_req)), gc $(field "$line" gc_count)x, $(field "$line" rps) req/s p50 $(field "$line" p50_us) us, webhook $(field "$line" webhook_records) records in $(field "$line" webhook_posts) POSTs (caught up ${waited}s after), load $load"
}

declare -A CPUS=() LOOPS=() OTHERS=() ALLOCS=()
for r in $(seq "$ROUNDS"); do
  for i in "${!NAMES[@]}"; do
    measure_round "$i" "$r"
    CPUS[$i]="${CPUS[$i]:-} $R_CPU"; LOOPS[$i]="${LOOPS[$i]:-} $R_LOOP"; OTHERS[$i]="${OTHERS[$i]:-} $R_OTHER"
    ALLOCS[$i]="${ALLOCS[$i]:-} $R_ALLOC"
  done
done
for i in "${!NAMES[@]}"; do
  lat=""
  if [[ "$LAT_DURATION" != 0 ]]; then
    settle
    w1=$(wrk -t1 -c1 -d"$LAT_DURATION" -s "$LIB/json.lua" "${URLS[$i]}" 2>&1 | sed -n 's/^WRKRESULT //p')
    lat="; c1: $(field "$w1" rps) req/s p50 $(field "$w1" p50_us) us p99 $(field "$w1" p99_us) us"
  fi
  # shellcheck disable=SC2086
  log "${NAMES[$i]}: MEDIAN cpu $(median ${CPUS[$i]}) us/req (event loops $(median ${LOOPS[$i]}), other $(median ${OTHERS[$i]})), alloc $(median ${ALLOCS[$i]}) B/req$lat, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
