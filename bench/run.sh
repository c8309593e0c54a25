#!/usr/bin/env bash
# One command: drive the same mock upstream directly, through nginx and through LLMProxy,
# in one run, and print a comparison. See bench/README.md for what is measured and the knobs.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"
LIB="$BENCH_DIR/lib"
OUT="${OUT:-$BENCH_DIR/out}"

# ---- knobs --------------------------------------------------------------------------------
QUICK="${QUICK:-0}"
if [[ "$QUICK" == 1 ]]; then
  d_dur=3s d_warm=3s d_warmmax=6s d_lat=3s d_ttft=30 d_rate=2000 d_rdur=3 d_streams=500 d_schunks=5 d_sint=500
  d_levels="200 500"
else
  d_dur=10s d_warm=5s d_warmmax=30s d_lat=5s d_ttft=150 d_rate=5000 d_rdur=8 d_streams=5000 d_schunks=10 d_sint=1000
  d_levels="1000 2000 5000 10000"
fi
DURATION="${DURATION:-$d_dur}"            # each wrk throughput run (JSON c=CONNECTIONS, SSE)
WARMUP="${WARMUP:-$d_warm}"               # one wrk warm-up round; rounds repeat until req/s is stable ...
WARMUP_MAX="${WARMUP_MAX:-$d_warmmax}"    # ... or this much time has passed
LAT_DURATION="${LAT_DURATION:-$d_lat}"    # wrk -t1 -c1 latency run
CONNECTIONS="${CONNECTIONS:-32}"
TTFT_N="${TTFT_N:-$d_ttft}"               # sequential streaming requests for TTFT
RATE="${RATE:-$d_rate}"                   # fixed-rate run: requests/s ...
RATE_DURATION="${RATE_DURATION:-$d_rdur}" # ... for this many seconds
STREAMS="${STREAMS:-$d_streams}"          # the open-streams level whose memory is sampled (0 = no open-streams test)
STREAM_LEVELS="${STREAM_LEVELS:-$d_levels}" # open-streams ramp: concurrent streams per level, until one stalls
STREAM_CHUNKS="${STREAM_CHUNKS:-$d_schunks}"
STREAM_INTERVAL_MS="${STREAM_INTERVAL_MS:-$d_sint}"
LEGS="${LEGS:-direct nginx vertx-bare llmproxy llmproxy-auth llmproxy-all}"  # also: llmproxy-flow, llmproxy-hooks, llmproxy-limits, llmproxy-limits-redis, llmproxy-usage, llmproxy-usage-db, llmproxy-base (GATEWAY_JAR_BASE), llmproxy-g1, llmproxy-jdk25, llmproxy-coldstart, llmproxy-warmstart
OPEN_LEGS="${OPEN_LEGS-direct nginx llmproxy llmproxy-all}"  # legs that also get the open-streams ramp (any of LEGS)
# llmproxy-all: webhook.batch_size; 100 by default (issue 18: "webhook delivery in batches where the receiver allows",
# and lib/usage-receiver.mjs does); 1 for seed 004's one record a POST; empty: not set (a gateway older than the field)
WEBHOOK_BATCH_SIZE="${WEBHOOK_BATCH_SIZE-100}"
UPSTREAM_INSTANCES="${UPSTREAM_INSTANCES:-$(nproc)}"
JAVA="${JAVA:-java}"
GATEWAY_JAVA_BIN="${GATEWAY_JAVA_BIN:-$JAVA}"  # the JDK of the JVM proxies' legs only (the upstream stays on JAVA)
JAVA25="${JAVA25:-$(ls -d /usr/lib/jvm/temurin-25*/bin/java 2>/dev/null | head -1 || true)}"
# The flags we recommend to users (README): ParallelGC halves RSS against G1 at the same speed.
GATEWAY_JVM_OPTS="${GATEWAY_JVM_OPTS:--XX:+UseParallelGC -Xms64m -Xmx512m}"
UPSTREAM_JVM_OPTS="${UPSTREAM_JVM_OPTS:--XX:+UseParallelGC -Xmx1g}"
GATEWAY_JAR="${GATEWAY_JAR:-$REPO/launcher/target/llmproxy.jar}"
WAIT_IDLE="${WAIT_IDLE:-0}"                # wait up to this many seconds for other work on the machine to end
BUILD="${BUILD:-auto}"                    # auto: build what is missing; 1: always; 0: never
READY_TIMEOUT="${READY_TIMEOUT:-60}"
START_DURATION="${START_DURATION:-5s}"    # llmproxy-coldstart / -warmstart: measured right after /ready
WARMSTART="${WARMSTART:-10s}"             # llmproxy-warmstart: its server.warmup

RESULTS="$OUT/results.jsonl"
PIDS=()

log() { printf '\033[1m[bench %s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '\033[31m[bench] FAILED: %s\033[0m\n' "$*" >&2; exit 1; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    local p="${PIDS[$i]}"
    if kill -0 "$p" 2>/dev/null; then kill "$p" 2>/dev/null || true; fi
  done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null || true
  done
  exit "$rc"
}
trap cleanup EXIT
set -E
trap 'printf "\033[31m[bench] FAILED: unexpected error (status %s) at run.sh line %s: %s\033[0m\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR
trap 'exit 130' INT TERM

forget_pid() { local keep=(); for p in "${PIDS[@]}"; do [[ "$p" != "$1" ]] && keep+=("$p"); done; PIDS=("${keep[@]}"); }
stop_pid() {
  local p="$1"
  kill "$p" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  forget_pid "$p"
}

# ---- tools --------------------------------------------------------------------------------
ensure_tools() {
  local missing=()
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v node >/dev/null || missing+=(nodejs)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} with apt-get"
    local sudo=""; [[ $EUID -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "could not install ${missing[*]}"
  fi
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
  command -v "$JAVA" >/dev/null || die "no java ($JAVA): install a JDK 17"
  JAVA_BIN_DIR="$(dirname "$(readlink -f "$(command -v "$JAVA")")")"
  # Many sockets: 5000 streams are 5000 fds in the client, 10000 in a proxy, 5000 upstream.
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  stream_levels
}

# The ramp's levels within what the file limit allows a proxy (two sockets a stream, 1000 spare): a level above it
# is replaced by the highest that fits (rounded down to 500), so the ramp measures the proxy, not the limit.
LEVELS=() STREAM_CAP=0
stream_levels() {
  local cap=$(( ($(ulimit -n) - 1000) / 2 / 500 * 500 )) want=() l
  STREAM_CAP=$cap
  ((STREAMS > 0)) || { LEVELS=(); return; }
  for l in $STREAM_LEVELS $STREAMS; do
    if ((l > cap)); then
      log "warning: ulimit -n is $(ulimit -n) (hard limit $(ulimit -Hn)): $l open streams need about $((l * 2 + 1000)); measuring $cap instead"
      l=$cap
    fi
    ((l > 0)) && want+=("$l")
  done
  mapfile -t LEVELS < <(printf '%s\n' "${want[@]}" | sort -n | uniq)
  ((STREAMS > cap)) && STREAMS=$cap
  return 0
}

# ---- build --------------------------------------------------------------------------------
UPSTREAM_CP=""
ensure_build() {
  local ts_jar="$REPO/test-support/target/test-support-0.1.0-SNAPSHOT.jar"
  local cpfile="$OUT/upstream.classpath"
  local want_gateway=0
  for leg in $LEGS; do if [[ "$leg" == llmproxy* ]]; then want_gateway=1; fi; done
  if [[ "$BUILD" == 1 || ( "$BUILD" == auto && ( ! -f "$ts_jar" || ( $want_gateway == 1 && ! -f "$GATEWAY_JAR" ) ) ) ]]; then
    log "building (./mvnw -B -q package -DskipTests), log in $OUT/build.log"
    if ! (cd "$REPO" && ./mvnw -B -q package -DskipTests) >"$OUT/build.log" 2>&1; then
      log "full build failed (tail of $OUT/build.log below); building only test-support"
      tail -15 "$OUT/build.log" >&2
      (cd "$REPO" && ./mvnw -B -q -pl test-support -am package -DskipTests) >>"$OUT/build.log" 2>&1 \
        || die "cannot build test-support (the upstream); see $OUT/build.log"
    fi
  fi
  [[ -f "$ts_jar" ]] || die "no $ts_jar (run with BUILD=1)"
  if [[ ! -s "$cpfile" || "$REPO/test-support/pom.xml" -nt "$cpfile" ]]; then
    (cd "$REPO" && ./mvnw -B -q -pl test-support dependency:build-classpath -DincludeScope=runtime \
      -Dmdep.outputFile="$cpfile") >>"$OUT/build.log" 2>&1 || die "cannot resolve the upstream's classpath; see $OUT/build.log"
  fi
  UPSTREAM_CP="$ts_jar:$(cat "$cpfile")"
}

# ---- ports, readiness, process stats ------------------------------------------------------
free_ports() { # N free loopback ports, distinct
  node -e '
    const net = require("net"); const n = +process.argv[1]; const servers = [];
    (async () => { for (let i = 0; i < n; i++) { const s = net.createServer(); await new Promise(r => s.listen(0, "127.0.0.1", r)); servers.push(s); }
      console.log(servers.map(s => s.address().port).join(" ")); servers.forEach(s => s.close()); })();' "$1"
}

wait_http() { # URL PID NAME LOGFILE: poll until 200, fail if the process dies or the deadline passes
  local url="$1" pid="$2" name="$3" logf="$4" deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited before it was ready; tail of $logf:"; tail -20 "$logf" >&2; return 1
    fi
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)" == 200 ]] && return 0
    sleep 0.1
  done
  log "$name not ready at $url after ${READY_TIMEOUT}s; tail of $logf:"; tail -20 "$logf" >&2
  return 1
}

rss_kb() { # total VmRSS of the given pids
  local total=0 v
  for p in "$@"; do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

cpu_ticks() { # utime+stime (+ children that exited) of pids, in clock ticks
  local total=0
  for p in "$@"; do
    local t
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    total=$((total + ${t:-0}))
  done
  echo "$total"
}

machine_busy_ticks() { # all CPUs, everything but idle and iowait, in clock ticks
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat
}
CHILD_MS=0
children_cpu_ms() { # sets CHILD_MS: CPU of this shell's finished children (the load tools), in ms
  times >"$OUT/.times" # a builtin with a redirection runs in this shell; in a pipe it would see a subshell's
  read -r CHILD_MS < <(tail -1 "$OUT/.times" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } printf "%d\n", t * 1000 }')
}

heap_used_kb() { # heap used by a JVM, from jcmd GC.heap_info (any collector)
  "$JCMD" "$1" GC.heap_info 2>/dev/null | awk '
    function kb(s) { n = s + 0; if (s ~ /M/) n *= 1024; else if (s ~ /G/) n *= 1048576; return n }
    /^ *(PSYoungGen|ParOldGen|garbage-first heap|def new generation|tenured generation|Shenandoah|ZHeap|Z Heap)/ {
      for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/,$/, "", v); total += kb(v) } }
    END { print total + 0 }'
}

# Which processes make up each leg (for CPU% and RSS)
UPSTREAM_PID="" NGINX_PID="" GATEWAY_PID="" RECEIVER_PID=""
leg_pids() { # leg -> pids of the proxy (not the upstream)
  case "$1" in
    direct) echo "" ;;
    nginx) echo "$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')" ;;
    llmproxy*|vertx-bare) echo "$GATEWAY_PID" ;;
  esac
}
is_jvm_proxy() { [[ "$1" == llmproxy* || "$1" == vertx-bare ]]; }

record() { # leg test json-object
  printf '{"leg":"%s","test":"%s","r":%s}\n' "$1" "$2" "$3" >>"$RESULTS"
}

# Every party must still be alive: another session's `pkill -f` on a shared machine has been seen.
check_alive() { # leg
  local rc
  if ! kill -0 "$UPSTREAM_PID" 2>/dev/null; then
    wait "$UPSTREAM_PID" 2>/dev/null && rc=0 || rc=$?
    die "the upstream (pid $UPSTREAM_PID) died, exit status $rc$( ((rc > 128)) && echo " = signal $((rc - 128)), killed from outside?"); see $OUT/upstream.log"
  fi
  local p
  for p in $(leg_pids "$1"); do
    if ! kill -0 "$p" 2>/dev/null; then
      wait "$p" 2>/dev/null && rc=0 || rc=$?
      die "$1 (pid $p) died, exit status $rc; see its log in $OUT"
    fi
  done
}

# Requests the load tools saw answered (2xx, complete) on the current leg, warm-up included: what the llmproxy-all
# leg's usage receiver must have a record of at the end. wrk: requests - non-2xx; fixed-rate: requests - non2xx;
# sse-client: complete streams (its warm-up streams too).
ANSWERED=0
count_answered() { # result-json
  local n
  n=$(node -e 'const r=JSON.parse(process.argv[1]);
    const n = r.mode ? (r.ok || 0) + (r.warmup_ok || 0) : (r.requests || 0) - (r.non2xx ?? r.err_status ?? 0);
    console.log(Math.max(0, Math.round(n)))' "$1" 2>/dev/null || echo 0)
  ANSWERED=$((ANSWERED + n))
}

# Runs a load command; records its result line plus the CPU each party used meanwhile.
measure() { # leg test marker cmd...
  local leg="$1" test="$2" marker="$3"; shift 3
  check_alive "$leg"
  local proxy_pids; proxy_pids="$(leg_pids "$leg")"
  local up0 px0 rc0 t0 out line m0 c0
  up0=$(cpu_ticks $UPSTREAM_PID); px0=$(cpu_ticks $proxy_pids); rc0=$(cpu_ticks $RECEIVER_PID); m0=$(machine_busy_ticks)
  children_cpu_ms; c0=$CHILD_MS; t0=$(date +%s%N)
  out="$("$@" 2>&1)" || { check_alive "$leg"; log "$leg/$test: load tool failed:"; echo "$out" | tail -5 >&2; return 1; }
  check_alive "$leg"
  local dt_ms=$((($(date +%s%N) - t0) / 1000000))
  ((dt_ms > 0)) || dt_ms=1
  local up_pct px_pct rc_pct tool_pct machine_pct others_pct
  up_pct=$(( ($(cpu_ticks $UPSTREAM_PID) - up0) * 100000 / CLK_TCK / dt_ms ))
  px_pct=$(( ($(cpu_ticks $proxy_pids) - px0) * 100000 / CLK_TCK / dt_ms ))
  rc_pct=$(( ($(cpu_ticks $RECEIVER_PID) - rc0) * 100000 / CLK_TCK / dt_ms ))
  machine_pct=$(( ($(machine_busy_ticks) - m0) * 100000 / CLK_TCK / dt_ms ))
  children_cpu_ms; tool_pct=$(( (CHILD_MS - c0) * 100 / dt_ms ))
  others_pct=$(( machine_pct - up_pct - px_pct - rc_pct - tool_pct ))
  ((others_pct > 0)) || others_pct=0
  line="$(grep -m1 "^$marker " <<<"$out" | sed "s/^$marker //")"
  [[ -n "$line" ]] || { log "$leg/$test: no result from the load tool:"; echo "$out" | tail -5 >&2; return 1; }
  line="${line%\}},\"cpu_upstream_pct\":$up_pct,\"cpu_proxy_pct\":$px_pct,\"cpu_tool_pct\":$tool_pct,\"cpu_others_pct\":$others_pct}"
  [[ -n "$RECEIVER_PID" ]] && line="${line%\}},\"cpu_receiver_pct\":$rc_pct}"
  record "$leg" "$test" "$line"
  count_answered "$line"
  ((others_pct > 25)) && log "$leg/$test: warning: other work on the machine used ${others_pct}% CPU meanwhile (100% = one core)"
  log "$leg/$test: $(node -e 'const r=JSON.parse(process.argv[1]); const k=["rps","achieved_rps","p50_us","p99_us","ttft_p50_us","ttft_p99_us","gap_p99_us","ok","errors","err_status","cpu_upstream_pct","cpu_proxy_pct","cpu_receiver_pct","cpu_tool_pct","cpu_others_pct"]; console.log(k.filter(x=>r[x]!==undefined).map(x=>x+"="+JSON.stringify(r[x])).join(" "))' "$line")"
}

# ---- the parties --------------------------------------------------------------------------
start_upstream() {
  local logf="$OUT/upstream.log"
  # shellcheck disable=SC2086
  "$JAVA" $UPSTREAM_JVM_OPTS -cp "$UPSTREAM_CP" dev.llmproxy.testsupport.MockLlmBackend "$UPSTREAM_PORT" "$UPSTREAM_INSTANCES" >"$logf" 2>&1 &
  UPSTREAM_PID=$!; PIDS+=("$UPSTREAM_PID")
  wait_http "http://127.0.0.1:$UPSTREAM_PORT/health" "$UPSTREAM_PID" upstream "$logf" || die "the mock upstream did not start"
  log "upstream: MockLlmBackend x$UPSTREAM_INSTANCES on 127.0.0.1:$UPSTREAM_PORT (pid $UPSTREAM_PID)"
}

start_nginx() {
  check_alive direct
  local conf="$OUT/nginx/nginx.conf"
  mkdir -p "$OUT/nginx/tmp"
  local user_line=""
  [[ $EUID -eq 0 ]] && user_line="user root;"
  cat >"$conf" <<EOF
# generated by bench/run.sh
$user_line
worker_processes auto;
worker_rlimit_nofile 65536;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
  keepalive_requests 1000000;
  upstream upstream {
    server 127.0.0.1:$UPSTREAM_PORT;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
EOF
  "$NGINX" -p "$OUT/nginx" -c nginx.conf -e error.log -t >"$OUT/nginx/test.log" 2>&1 || { cat "$OUT/nginx/test.log" >&2; die "nginx -t rejected $conf"; }
  "$NGINX" -p "$OUT/nginx" -c nginx.conf -e error.log -g 'daemon off;' >"$OUT/nginx/stdout.log" 2>&1 &
  NGINX_PID=$!; PIDS+=("$NGINX_PID")
  wait_http "http://127.0.0.1:$NGINX_PORT/health" "$NGINX_PID" nginx "$OUT/nginx/error.log" || die "nginx did not start"
  log "nginx $("$NGINX" -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$NGINX_PORT (master pid $NGINX_PID, $(pgrep -P "$NGINX_PID" | wc -l) workers)"
}

# llmproxy-all's webhook receiver: a separate node process answering 200 at once and counting records (lib/usage-receiver.mjs)
start_receiver() {
  local logf="$OUT/usage-receiver.log"
  node "$LIB/usage-receiver.mjs" "$RECEIVER_PORT" >"$logf" 2>&1 &
  RECEIVER_PID=$!; PIDS+=("$RECEIVER_PID")
  wait_http "http://127.0.0.1:$RECEIVER_PORT/ready" "$RECEIVER_PID" "usage receiver" "$logf" || return 1
  log "usage receiver (lib/usage-receiver.mjs) on 127.0.0.1:$RECEIVER_PORT, pid $RECEIVER_PID"
}
stop_receiver() {
  [[ -n "$RECEIVER_PID" ]] || return 0
  stop_pid "$RECEIVER_PID"; RECEIVER_PID=""
}

GATEWAY_SKIP_REASON=""
start_gateway() { # leg -> starts it or sets GATEWAY_SKIP_REASON
  check_alive direct
  local leg="$1" java="$GATEWAY_JAVA_BIN" opts="$GATEWAY_JVM_OPTS"
  case "$leg" in
    llmproxy-g1) opts="${opts//-XX:+UseParallelGC/}"; opts="-XX:+UseG1GC $opts" ;;
    llmproxy-jdk25)
      [[ -n "$JAVA25" && -x "$JAVA25" ]] || { GATEWAY_SKIP_REASON="no JDK 25 found (set JAVA25)"; return 1; } ;;
  esac
  [[ "$leg" == llmproxy-jdk25 ]] && java="$JAVA25"
  local logf="$OUT/$leg.log"
  JCMD="$(dirname "$(readlink -f "$(command -v "$java")")")/jcmd"
  GATEWAY_JAVA="$java"; GATEWAY_OPTS="$opts"
  if [[ "$leg" == vertx-bare ]]; then
    # compiled up front: launching from source would load javac into the measured JVM
    mkdir -p "$OUT/bare-classes"
    "$JAVA_BIN_DIR/javac" -nowarn -d "$OUT/bare-classes" -cp "$UPSTREAM_CP" "$LIB/BareProxy.java" >"$logf" 2>&1 \
      || { GATEWAY_SKIP_REASON="BareProxy.java does not compile (see $logf)"; FAILED=1; return 1; }
    # shellcheck disable=SC2086
    "$java" $opts -cp "$OUT/bare-classes:$UPSTREAM_CP" BareProxy "$GATEWAY_PORT" "$UPSTREAM_PORT" >>"$logf" 2>&1 &
    GATEWAY_PID=$!; PIDS+=("$GATEWAY_PID")
    wait_http "http://127.0.0.1:$GATEWAY_PORT/ready" "$GATEWAY_PID" "$leg" "$logf" \
      || { GATEWAY_SKIP_REASON="the bare Vert.x proxy did not start (see $logf)"; FAILED=1; return 1; }
    log "$leg: bare Vert.x proxy (bench/lib/BareProxy.java), $opts, pid $GATEWAY_PID"
    return 0
  fi
  local jar="$GATEWAY_JAR"
  # llmproxy-base: the gateway built from another commit (GATEWAY_JAR_BASE), to compare two versions in one run
  [[ "$leg" == llmproxy-base ]] && jar="${GATEWAY_JAR_BASE:-}"
  if [[ ! -f "$jar" ]]; then
    GATEWAY_SKIP_REASON="${jar:-GATEWAY_JAR_BASE} does not exist (gateway not built or not on this branch yet)"
    return 1
  fi
  local conf="$OUT/llmproxy.yaml"
  cat >"$conf" <<EOF
# generated by bench/run.sh: one backend, every feature that costs per request off but metrics
server:
  listen: "127.0.0.1:$GATEWAY_PORT"
  warmup: $([[ "$leg" == llmproxy-warmstart ]] && echo "$WARMSTART" || echo 0s)
backends:
  - name: upstream
    url: "http://127.0.0.1:$UPSTREAM_PORT"
metrics:
  enabled: true
EOF
  if [[ "$leg" == llmproxy-auth || "$leg" == llmproxy-all ]]; then
    # the auth pipeline on: a static key whose decision is cached (issue 4's same-run comparison)
    printf '%s\n' 'auth:' '  enabled: true' '  pipeline:' '    - name: bench' '      type: static' '      static:' \
      '        keys:' '          - key: "sk-bench-0123456789abcdef"' '            name: "bench"' >>"$conf"
  fi
  if [[ "$leg" == llmproxy-limits || "$leg" == llmproxy-limits-redis || "$leg" == llmproxy-all ]]; then
    # memory rate limits on, high enough never to refuse: what checking them costs (issue 5's comparison)
    printf '%s\n' 'rate_limit:' '  enabled: true' '  global:' '    requests_per_second: 10000000' \
      '    requests_per_minute: 600000000' '    max_concurrent: 1000000' >>"$conf"
  fi
  if [[ "$leg" == llmproxy-all ]]; then
    # every feature on (issue 18): also the key's own limits and tokens per minute (a reservation per request,
    # settled to the usage reported), all high enough never to refuse
    printf '%s\n' '    tokens_per_minute: 1000000000' '  per_key:' '    enabled: true' '    requests_per_second: 10000000' \
      '    requests_per_minute: 600000000' '    tokens_per_minute: 1000000000' '    max_concurrent: 1000000' >>"$conf"
  fi
  if [[ "$leg" == llmproxy-limits-redis ]]; then
    # the same limits kept in Redis: one EVALSHA per request and one more when it ends (issue 5's cluster mode);
    # BENCH_REDIS names the Redis (default 127.0.0.1:6379)
    local redis_addr="${BENCH_REDIS:-127.0.0.1:6379}"
    if ! redis-cli -h "${redis_addr%:*}" -p "${redis_addr##*:}" ping 2>/dev/null | grep -q PONG; then
      GATEWAY_SKIP_REASON="no Redis answers at $redis_addr (BENCH_REDIS)"
      return 1
    fi
    printf '%s\n' '  storage: redis' '  redis: bench_limits' 'storage:' '  caches:' '    - name: bench_limits' \
      '      driver: redis' "      addr: \"$redis_addr\"" >>"$conf"
  fi
  if [[ "$leg" == llmproxy-usage || "$leg" == llmproxy-all ]]; then
    # usage metering on (issue 6's comparison): every record journaled (fsync batched), then delivered by a webhook
    # reporter: llmproxy-usage's to the mock upstream, which answers any other path with 200; llmproxy-all's to
    # lib/usage-receiver.mjs, a process of its own that counts what it gets
    local hook_url="http://127.0.0.1:$UPSTREAM_PORT/usage-webhook"
    if [[ "$leg" == llmproxy-all ]]; then
      start_receiver || { GATEWAY_SKIP_REASON="the usage receiver did not start (see $OUT/usage-receiver.log)"; FAILED=1; return 1; }
      hook_url="http://127.0.0.1:$RECEIVER_PORT/usage"
    fi
    rm -rf "$OUT/usage-journal"
    printf '%s\n' 'usage:' '  enabled: true' "  journal_path: \"$OUT/usage-journal\"" '  reporters:' '    - name: hook' \
      '      type: webhook' '      enabled: true' '      webhook:' "        url: \"$hook_url\"" \
      '        timeout: 5s' >>"$conf"
    [[ "$leg" == llmproxy-all && -n "$WEBHOOK_BATCH_SIZE" ]] && echo "        batch_size: $WEBHOOK_BATCH_SIZE" >>"$conf"
  fi
  if [[ "$leg" == llmproxy-usage-db ]]; then
    # the journal with a reporter that costs little per record (SQLite, 100 rows a statement): what journaling costs
    rm -rf "$OUT/usage-journal" "$OUT/usage.db"
    printf '%s\n' 'storage:' '  databases:' '    - name: bench_usage' '      driver: sqlite' "      path: \"$OUT/usage.db\"" \
      'usage:' '  enabled: true' "  journal_path: \"$OUT/usage-journal\"" '  reporters:' '    - name: hook' \
      '      type: database' '      enabled: true' '      database:' '        storage: bench_usage' >>"$conf"
  fi
  if [[ "$leg" == llmproxy-flow ]]; then
    # flow control on (issue 20), its in-flight cap far above the load and no engine figures from the mock upstream:
    # nothing is ever saturated, so this is the bookkeeping alone (issue 20: <= 5 us at p50 against llmproxy)
    printf '%s\n' 'routing:' '  flow_control:' '    enabled: true' '    max_in_flight: 1000000' >>"$conf"
  fi
  if [[ "$leg" == llmproxy-hooks ]]; then
    # empty on_request and on_complete hooks (issue 15): what running a Lua hook per request costs
    cat "$LIB/steady/hooks-empty.yaml" >>"$conf"
  fi
  [[ -n "${GATEWAY_CONFIG_EXTRA:-}" && -f "$GATEWAY_CONFIG_EXTRA" ]] && cat "$GATEWAY_CONFIG_EXTRA" >>"$conf"
  # shellcheck disable=SC2086
  # cwd bench/out: whatever the gateway writes relative to it (usage journal, data/) stays there
  (cd "$OUT" && exec "$java" $opts -jar "$jar" --config "$conf") >"$logf" 2>&1 &
  GATEWAY_PID=$!; PIDS+=("$GATEWAY_PID")
  local t0=$SECONDS
  if ! wait_http "http://127.0.0.1:$GATEWAY_PORT/ready" "$GATEWAY_PID" "$leg" "$logf"; then
    stop_pid "$GATEWAY_PID"; GATEWAY_PID=""
    GATEWAY_SKIP_REASON="the gateway did not become ready (see $logf)"
    GATEWAY_FAILED=1
    return 1
  fi
  # sanity: does it actually proxy?
  local code
  code=$(curl -s -o "$OUT/$leg.probe" -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-bench-0123456789abcdef' \
    -d '{"model":"mock","messages":[{"role":"user","content":"hi"}],"max_tokens":3}' \
    "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" || true)
  if [[ "$code" != 200 ]]; then
    log "$leg answers $code to a chat completion: $(head -c 300 "$OUT/$leg.probe")"
    stop_pid "$GATEWAY_PID"; GATEWAY_PID=""
    GATEWAY_SKIP_REASON="the gateway answered $code to a plain chat completion (config in $conf)"
    GATEWAY_FAILED=1
    return 1
  fi
  ANSWERED=$((ANSWERED + 1)) # the probe
  record "$leg" ready "{\"seconds\":$((SECONDS - t0))}"
  log "$leg: $(basename "$(dirname "$(dirname "$(readlink -f "$(command -v "$java")")")")") $opts, ready in $((SECONDS - t0))s, pid $GATEWAY_PID"
}

leg_url() {
  case "$1" in
    direct) echo "http://127.0.0.1:$UPSTREAM_PORT" ;;
    nginx) echo "http://127.0.0.1:$NGINX_PORT" ;;
    llmproxy*|vertx-bare) echo "http://127.0.0.1:$GATEWAY_PORT" ;;
  esac
}

# ---- the tests ----------------------------------------------------------------------------
# A JVM is measured warm: rounds of one second of streams and WARMUP of JSON until JSON req/s moves by
# under 5% between two rounds (JIT done), WARMUP_MAX at most. nginx gets one short round.
warm_up() { # leg url
  local leg="$1" chat="$2" round="$WARMUP" max_s prev=0 rps rounds=() started=$SECONDS out
  max_s=$(( $(secs "$WARMUP_MAX") ))
  [[ "$leg" == nginx ]] && { round=2s; max_s=0; }
  while :; do
    # Streams first in every round: a JVM that meets its first stream only after the JSON rounds
    # recompiles the shared request path and re-warms for ~10 s, which the JSON measurement would then see.
    out=$(wrk -t2 -c"$CONNECTIONS" -d1s -s "$LIB/sse.lua" "$chat" 2>/dev/null || true)
    count_answered "$(sed -n 's/^WRKRESULT //p' <<<"$out")"
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$round" -s "$LIB/json.lua" "$chat" 2>/dev/null || true)
    count_answered "$(sed -n 's/^WRKRESULT //p' <<<"$out")"
    rps=$(sed -n 's/^WRKRESULT .*"rps":\([0-9]*\).*/\1/p' <<<"$out")
    check_alive "$leg"
    rps=${rps:-0}; rounds+=("$rps")
    if (( prev > 0 && rps > 0 )) && (( (rps > prev ? rps - prev : prev - rps) * 100 < 5 * rps )); then break; fi
    (( SECONDS - started + $(secs "$round") > max_s )) && break
    prev=$rps
  done
  log "$leg: warmed up in $((SECONDS - started))s, req/s per round: ${rounds[*]}"
  record "$leg" warmup "{\"seconds\":$((SECONDS - started)),\"rounds_rps\":[$(IFS=,; echo "${rounds[*]}")]}"
}
secs() { local v="${1%s}"; echo "${v%.*}"; }

run_leg() {
  local leg="$1" base; base="$(leg_url "$leg")"
  local chat="$base/v1/chat/completions"
  warm_up "$leg" "$chat"
  measure "$leg" json_c"$CONNECTIONS" WRKRESULT wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$LIB/json.lua" "$chat" || FAILED=1
  has_usage "$leg" && usage_caught_up "$leg" usage_backlog_json
  measure "$leg" json_c1 WRKRESULT wrk -t1 -c1 -d"$LAT_DURATION" -s "$LIB/json.lua" "$chat" || FAILED=1
  measure "$leg" json_rate RATERESULT node "$LIB/fixed-rate.mjs" "$chat" "$RATE" "$RATE_DURATION" 64 || FAILED=1
  measure "$leg" sse_c"$CONNECTIONS" WRKRESULT wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$LIB/sse.lua" "$chat" || FAILED=1
  has_usage "$leg" && usage_caught_up "$leg" usage_backlog_sse
  measure "$leg" sse_ttft SSERESULT node "$LIB/sse-client.mjs" ttft "$chat" "$TTFT_N" 20 5 20 || FAILED=1
}
has_usage() { [[ "$1" == llmproxy-usage* || "$1" == llmproxy-all ]]; }

# The first seconds after /ready, with no warm-up by the bench: what a client meets right after a (re)start.
# llmproxy-coldstart starts with server.warmup 0s, llmproxy-warmstart with WARMSTART.
run_start_leg() {
  local leg="$1" chat; chat="$(leg_url "$leg")/v1/chat/completions"
  measure "$leg" start_json_c"$CONNECTIONS" WRKRESULT wrk -t2 -c"$CONNECTIONS" -d"$START_DURATION" -s "$LIB/json.lua" "$chat" || FAILED=1
  measure "$leg" start_json_c1 WRKRESULT wrk -t1 -c1 -d"$START_DURATION" -s "$LIB/json.lua" "$chat" || FAILED=1
}

# A usage leg's reporter ("hook") after a load: its backlog and the journal's not-yet-durable records at that moment,
# then how long the reporter takes to catch up (up to 120 s). Called after each saturating run, so that the
# latency runs after it measure the steady state, not the reporter catching up; the catch-up is recorded instead.
# Issue 6: the journal must keep up with the gateway (pending stays near 0); a reporter may lag and catch up.
usage_caught_up() { # leg test-name
  local leg="$1" test="$2" url="http://127.0.0.1:$GATEWAY_PORT/metrics" backlog pending start=$SECONDS drained=-1
  metric() { curl -s "$url" | sed -n "s/^$1 \([0-9.eE+]*\).*/\1/p" | head -1; }
  backlog=$(metric 'llmproxy_usage_journal_backlog{[^}]*reporter="hook"[^}]*}')
  pending=$(metric 'llmproxy_usage_journal_pending')
  backlog=${backlog:-unknown}; pending=${pending:-unknown}
  for _ in $(seq 1200); do
    local now; now=$(metric 'llmproxy_usage_journal_backlog{[^}]*reporter="hook"[^}]*}')
    if [[ "$now" == 0 || "$now" == 0.0 ]]; then drained=$((SECONDS - start)); break; fi
    sleep 0.1
  done
  log "$leg/$test: reporter backlog $backlog record(s), journal pending $pending, caught up in ${drained}s (-1: not within 120 s)"
  record "$leg" "$test" "{\"after_load\":\"$backlog\",\"pending\":\"$pending\",\"drained_s\":$drained}"
}

# llmproxy-all: the records the receiver got against the requests the load tools saw answered on this leg (ANSWERED)
# and against the gateway's own count (llmproxy_requests_total, summed). Waits (up to 60 s) until the receiver has
# a record of every request the gateway counted. Lost = answered requests without a record; records beyond the
# answered count are requests the load tools cut at the end of a timed run, which the gateway meters too.
metering_check() { # leg
  local leg="$1" stats gw start=$SECONDS
  gw=$(curl -s "http://127.0.0.1:$GATEWAY_PORT/metrics" | awk '/^llmproxy_requests_total[{ ]/ { s += $NF } END { printf "%d\n", s }')
  while :; do
    stats=$(curl -s "http://127.0.0.1:$RECEIVER_PORT/stats" || echo '{}')
    local unique; unique=$(node -e 'console.log(JSON.parse(process.argv[1]).unique ?? 0)' "$stats")
    ((unique >= gw || SECONDS - start >= 60)) && break
    sleep 0.5
  done
  local line; line=$(node -e 'const s=JSON.parse(process.argv[1]); const answered=+process.argv[2], gw=+process.argv[3];
    console.log(JSON.stringify({answered, gateway_requests: gw, ...s, lost: Math.max(0, answered - (s.unique||0)),
      lost_vs_gateway: Math.max(0, gw - (s.unique||0)), waited_s: +process.argv[4]}))' "$stats" "$ANSWERED" "$gw" "$((SECONDS - start))")
  record "$leg" metering "$line"
  log "$leg/metering: $(node -e 'const r=JSON.parse(process.argv[1]); console.log(`${r.unique} distinct records received (${r.records} in ${r.posts} POSTs, ${r.duplicates} repeated, ${r.aborted} aborted) for ${r.answered} requests answered to the load tools; the gateway counted ${r.gateway_requests}; lost: ${r.lost} (${r.lost_vs_gateway} against the gateway count)`)' "$line")"
  node -e 'process.exit(JSON.parse(process.argv[1]).lost > 0 ? 1 : 0)' "$line" \
    || { log "$leg/metering: FAILED: usage records lost"; FAILED=1; }
}

# The open-streams ramp: LEVELS concurrent streams of STREAM_CHUNKS chunks STREAM_INTERVAL_MS apart, one level after
# the other. A stream stalls (lib/sse-client.mjs) when a gap between two of its chunks exceeds 2 x interval + 50 ms or
# it does not complete. The leg "holds" the most streams that were open at once (each with its first chunk, none
# ended) on a level below the first one where any stream stalled: a client too slow to open a level's streams within
# their length (a loaded machine) has not tested that level, and the figure says so. Past STREAMS the ramp stops at
# the first stalling level; up to it, it goes on, so that the memory figures are always taken.
open_streams() { # leg
  local leg="$1" held=0 held_level=0 first_stall=null level ran=()
  for level in "${LEVELS[@]}"; do
    open_level "$leg" "$level" || { FAILED=1; break; }
    ran+=("$level")
    if ((LEVEL_STALLED > 0)); then
      [[ "$first_stall" == null ]] && first_stall=$level
      ((level >= STREAMS)) && break
    elif [[ "$first_stall" == null ]] && ((LEVEL_MAX_OPEN > held)); then
      held=$LEVEL_MAX_OPEN held_level=$level
    fi
  done
  record "$leg" stream_ramp "{\"levels\":[$(IFS=,; echo "${ran[*]}")],\"held\":$held,\"held_level\":$held_level,\"first_stall\":$first_stall,\"interval_ms\":$STREAM_INTERVAL_MS,\"chunks\":$STREAM_CHUNKS,\"cap\":$STREAM_CAP}"
  log "$leg: concurrent streams held without a stall: $held (level $held_level) of levels ${ran[*]}$([[ "$first_stall" != null ]] && echo "; streams stalled at $first_stall")"
}

# One level of the ramp: N concurrent streams; at N = STREAMS, the proxy's memory while they are all open.
LEVEL_STALLED=0 LEVEL_MAX_OPEN=0
open_level() { # leg N
  local leg="$1" n="$2" chat; chat="$(leg_url "$leg")/v1/chat/completions"
  local marker="$OUT/open-streams.$leg.$n.marker" outf="$OUT/open-streams.$leg.$n.out" pids; pids="$(leg_pids "$leg")"
  check_alive "$leg"
  rm -f "$marker"
  log "$leg: opening $n streams ($STREAM_CHUNKS chunks, ${STREAM_INTERVAL_MS} ms apart)"
  local up0 px0 t0; up0=$(cpu_ticks $UPSTREAM_PID); px0=$(cpu_ticks $pids); t0=$(date +%s%N)
  local deadline_s=$(( STREAM_CHUNKS * STREAM_INTERVAL_MS / 2000 + 5 ))
  node "$LIB/sse-client.mjs" open "$chat" "$n" "$STREAM_CHUNKS" "$STREAM_INTERVAL_MS" "$marker" "$deadline_s" >"$outf" 2>&1 &
  local cpid=$!; PIDS+=("$cpid")
  local rss=null heap="null" heap_gc="null" opened="{}" up_rss=null
  if [[ "$n" == "$STREAMS" ]]; then
    while [[ ! -f "$marker" ]] && kill -0 "$cpid" 2>/dev/null; do sleep 0.2; done
    sleep 1 # let the last streams' first chunks settle
    opened="$(cat "$marker" 2>/dev/null || echo '{}')"
    [[ -n "${pids// /}" ]] && rss=$(rss_kb $pids)
    if is_jvm_proxy "$leg"; then
      heap=$(heap_used_kb "$GATEWAY_PID")
      "$JCMD" "$GATEWAY_PID" GC.run >/dev/null 2>&1 || true
      heap_gc=$(heap_used_kb "$GATEWAY_PID")
    fi
    up_rss=$(rss_kb "$UPSTREAM_PID")
  fi
  wait "$cpid" || true; forget_pid "$cpid"
  check_alive "$leg"
  local dt_ms=$((($(date +%s%N) - t0) / 1000000))
  local line; line="$(grep -m1 '^SSERESULT ' "$outf" | sed 's/^SSERESULT //')"
  [[ -n "$line" ]] || { log "$leg/open_streams $n: no result:"; tail -5 "$outf" >&2; return 1; }
  local up_pct=$(( ($(cpu_ticks $UPSTREAM_PID) - up0) * 100000 / CLK_TCK / dt_ms ))
  local px_pct=$(( ($(cpu_ticks $pids) - px0) * 100000 / CLK_TCK / dt_ms ))
  line="${line%\}},\"marker\":$opened,\"rss_kb\":$rss,\"heap_used_kb\":$heap,\"heap_after_gc_kb\":$heap_gc,\"upstream_rss_kb\":$up_rss,\"cpu_upstream_pct\":$up_pct,\"cpu_proxy_pct\":$px_pct}"
  record "$leg" "streams_$n" "$line"
  [[ "$n" == "$STREAMS" ]] && record "$leg" open_streams "$line"
  count_answered "$line"
  read -r LEVEL_STALLED LEVEL_MAX_OPEN < <(node -e 'const r=JSON.parse(process.argv[1]); console.log(r.stalled ?? 1, r.max_open_with_data ?? 0)' "$line")
  log "$leg/open_streams $n: $(node -e 'const r=JSON.parse(process.argv[1]); const ms=(us)=>us===null?"-":(us/1000).toFixed(1)+"ms"; const mb=(kb)=>kb===null?"-":Math.round(kb/1024)+"MB";
    console.log(`ok=${r.ok}/${r.n} stalled=${r.stalled} (by gap ${r.stalled_by_gap}) gap p50/p99/max=${ms(r.gap_p50_us)}/${ms(r.gap_p99_us)}/${ms(r.gap_max_us)} ttft p99=${ms(r.ttft_p99_us)} max_open=${r.max_open_with_data} rss=${mb(r.rss_kb)} heap=${mb(r.heap_used_kb)} heap_after_gc=${mb(r.heap_after_gc_kb)} errors=${JSON.stringify(r.errors)}`)' "$line")"
}

memory_sample() { # leg phase
  local leg="$1" phase="$2" pids; pids="$(leg_pids "$leg")"
  [[ -n "${pids// /}" ]] || return 0
  local rss heap="null"
  rss=$(rss_kb $pids)
  is_jvm_proxy "$leg" && heap=$(heap_used_kb "$GATEWAY_PID")
  record "$leg" "mem_$phase" "{\"rss_kb\":$rss,\"heap_used_kb\":$heap}"
  if [[ "$heap" == null ]]; then log "$leg: RSS $phase $((rss / 1024)) MB"
  else log "$leg: RSS $phase $((rss / 1024)) MB, heap used $((heap / 1024)) MB"; fi
}

background_cpu() { # % of the machine busy before we start (other sessions' builds skew every figure)
  local a b
  a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  echo $(( total > 0 ? 100 - idle * 100 / total : 0 ))
}

# ---- main ---------------------------------------------------------------------------------
mkdir -p "$OUT"
: >"$RESULTS"
CLK_TCK=$(getconf CLK_TCK)
FAILED=0 GATEWAY_FAILED=0
ensure_tools
ensure_build
read -r UPSTREAM_PORT NGINX_PORT GATEWAY_PORT RECEIVER_PORT <<<"$(free_ports 4)"
BUSY=$(background_cpu)
if (( BUSY > 15 && ${WAIT_IDLE:-0} > 0 )); then
  log "the machine is ${BUSY}% busy; waiting up to ${WAIT_IDLE}s for it to calm down (WAIT_IDLE)"
  idle_deadline=$((SECONDS + WAIT_IDLE))
  while (( BUSY > 15 && SECONDS < idle_deadline )); do sleep 4; BUSY=$(background_cpu); done
fi
(( BUSY > 15 )) && log "warning: the machine is already ${BUSY}% busy before the bench starts; figures will be low and noisy"
cat >"$OUT/meta.json" <<EOF
{"date":"$(date -u +%Y-%m-%dT%H:%MZ)","host_cpus":$(nproc),"mem_gb":$(awk '/MemTotal/ {printf "%d", $2/1048576}' /proc/meminfo),
 "commit":"$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')","java":"$("$JAVA" -version 2>&1 | head -1 | tr -d '"')",
 "nginx":"$("$NGINX" -v 2>&1 | sed 's/.*\///')","gateway_jvm_opts":"$GATEWAY_JVM_OPTS","upstream_instances":$UPSTREAM_INSTANCES,
 "busy_before_pct":$BUSY,"duration":"$DURATION","warmup":"$WARMUP","warmup_max":"$WARMUP_MAX","lat_duration":"$LAT_DURATION","connections":$CONNECTIONS,
 "rate":$RATE,"rate_duration":$RATE_DURATION,"ttft_n":$TTFT_N,"streams":$STREAMS,"stream_chunks":$STREAM_CHUNKS,
 "stream_interval_ms":$STREAM_INTERVAL_MS,"stream_levels":[$(IFS=,; echo "${LEVELS[*]}")],"stream_fd_cap":$STREAM_CAP,"start_duration":"$START_DURATION","quick":$QUICK,"skipped":{}}
EOF
log "legs: $LEGS; knobs: DURATION=$DURATION WARMUP=$WARMUP CONNECTIONS=$CONNECTIONS RATE=$RATE TTFT_N=$TTFT_N STREAMS=$STREAMS STREAM_LEVELS=${LEVELS[*]}"

start_upstream
SKIPPED=()
wants_streams() { [[ " $OPEN_LEGS " == *" $1 "* ]] && ((${#LEVELS[@]} > 0)); }
for leg in $LEGS; do
  ANSWERED=0
  case "$leg" in
    direct)
      run_leg direct
      if wants_streams direct; then open_streams direct; fi ;;
    nginx)
      start_nginx
      memory_sample nginx idle
      run_leg nginx
      memory_sample nginx after_load
      if wants_streams nginx; then open_streams nginx; fi
      stop_pid "$NGINX_PID"; NGINX_PID="" ;;
    llmproxy-coldstart|llmproxy-warmstart)
      if ! start_gateway "$leg"; then
        log "SKIPPING $leg: $GATEWAY_SKIP_REASON"; SKIPPED+=("$leg: $GATEWAY_SKIP_REASON"); continue
      fi
      record "$leg" jvm "{\"java\":\"$("$GATEWAY_JAVA" -version 2>&1 | head -1 | tr -d '"')\",\"opts\":\"$GATEWAY_OPTS\"}"
      run_start_leg "$leg"
      stop_pid "$GATEWAY_PID"; GATEWAY_PID="" ;;
    llmproxy*|vertx-bare)
      if ! start_gateway "$leg"; then
        log "SKIPPING $leg: $GATEWAY_SKIP_REASON"
        SKIPPED+=("$leg: $GATEWAY_SKIP_REASON")
        record "$leg" skipped "{\"reason\":$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$GATEWAY_SKIP_REASON")}"
        continue
      fi
      record "$leg" jvm "{\"java\":\"$("$GATEWAY_JAVA" -version 2>&1 | head -1 | tr -d '"')\",\"opts\":\"$GATEWAY_OPTS\"}"
      memory_sample "$leg" idle
      run_leg "$leg"
      memory_sample "$leg" after_load
      if wants_streams "$leg"; then
        open_streams "$leg"
        memory_sample "$leg" after_streams
      fi
      if has_usage "$leg"; then usage_caught_up "$leg" usage_backlog; fi
      if [[ "$leg" == llmproxy-all ]]; then metering_check "$leg"; fi
      stop_pid "$GATEWAY_PID"; GATEWAY_PID=""
      stop_receiver ;;
    *) die "unknown leg $leg (direct, nginx, vertx-bare, llmproxy, llmproxy-auth, llmproxy-all, llmproxy-flow, llmproxy-hooks, llmproxy-limits, llmproxy-base, llmproxy-g1, llmproxy-jdk25, llmproxy-coldstart, llmproxy-warmstart, llmproxy-usage, llmproxy-usage-db, llmproxy-limits-redis)" ;;
  esac
done
record upstream mem_end "{\"rss_kb\":$(rss_kb "$UPSTREAM_PID")}"

node "$LIB/report.mjs" "$OUT/meta.json" "$RESULTS" "$OUT/latest.md"
log "markdown written to $OUT/latest.md; raw results in $RESULTS"
(( GATEWAY_FAILED )) && die "the gateway was built but did not run (see above)"
(( FAILED )) && die "some measurements failed (see above)"
exit 0
