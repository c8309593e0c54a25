// Open-loop, fixed-rate load for bench/run.sh: RATE requests per second, no matter how
// slowly the server answers, on a pool of keep-alive connections (raw node:net, so the
// generator itself costs little CPU). No dependencies.
//
//   node fixed-rate.mjs URL RATE DURATION_S [CONNECTIONS]
//
// Every request has an intended send time t0 + i/RATE. Two latencies are recorded:
//   service   = response complete - moment the request was written (what wrk/autocannon show)
//   scheduled = response complete - intended send time; includes waiting for a free
//               connection, so a stall is charged to every request it delayed
//               (coordinated omission corrected). It also includes the generator's own
//               timer lag (node timers tick at ~1 ms), the same for every leg.
// Why not autocannon -R: it records latency in whole milliseconds, and on loopback
// every answer takes under 1 ms. hey reports 0.1 ms steps and holds one request per worker.
//
// Prints one line `RATERESULT {json}`; times are microseconds.
import net from 'node:net';

const [url, rateArg, durArg, connArg] = process.argv.slice(2);
const target = new URL(url);
const rate = Number(rateArg);
const durationS = Number(durArg);
const connections = Number(connArg || 64);
// FR_BODY replaces the request body (bench/soak.sh sends streams); FR_HEADER adds one "Name: value" header.
const body = process.env.FR_BODY || '{"model":"mock","messages":[{"role":"user","content":"hi"}],"max_tokens":3}';
const extraHeader = process.env.FR_HEADER ? `${process.env.FR_HEADER}\r\n` : '';
const request = Buffer.from(
  `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nAuthorization: Bearer sk-bench-0123456789abcdef\r\n${extraHeader}` +
  `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, 'latin1');

const total = Math.round(rate * durationS);
const service = new Float64Array(total);
const scheduled = new Float64Array(total);
let completed = 0;
let errors = 0;
let non2xx = 0;
let sent = 0;
let maxQueue = 0;
const queue = []; // intended send times (µs) of requests waiting for a connection
const idle = [];
const now = () => Number(process.hrtime.bigint()) / 1000;

function connect() {
  const c = { sock: net.connect({ host: target.hostname, port: Number(target.port) }), buf: null, sentAt: 0, intended: 0, busy: false };
  c.sock.setNoDelay(true);
  c.sock.on('connect', () => { idle.push(c); dispatch(); });
  c.sock.on('data', (d) => onData(c, d));
  c.sock.on('error', () => {});
  c.sock.on('close', () => {
    if (c.busy) { errors++; c.busy = false; }
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    if (!finished) setTimeout(connect, 10);
  });
}

// Minimal HTTP/1.1 response framing: Content-Length or chunked.
function onData(c, d) {
  c.buf = c.buf ? Buffer.concat([c.buf, d]) : d;
  for (;;) {
    const headEnd = c.buf.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = c.buf.toString('latin1', 0, headEnd).toLowerCase();
    const status = Number(head.slice(9, 12));
    let end;
    const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
    if (cl) {
      end = headEnd + 4 + Number(cl[1]);
      if (c.buf.length < end) return;
    } else if (/\r\ntransfer-encoding:\s*chunked/.test(head)) {
      const term = c.buf.indexOf('\r\n0\r\n\r\n', headEnd + 2);
      if (term < 0) return;
      end = term + 7;
    } else {
      end = headEnd + 4;
    }
    complete(c, status);
    c.buf = c.buf.length > end ? c.buf.subarray(end) : null;
    if (!c.buf) return;
  }
}

function complete(c, status) {
  const t = now();
  if (status < 200 || status >= 300) non2xx++;
  if (completed < total) {
    service[completed] = t - c.sentAt;
    scheduled[completed] = t - c.intended;
    completed++;
  }
  c.busy = false;
  idle.push(c);
  dispatch();
  if (completed + errors >= total && sent >= total) finish();
}

function dispatch() {
  while (queue.length > 0 && idle.length > 0) {
    const c = idle.pop();
    c.intended = queue.shift();
    c.sentAt = now();
    c.busy = true;
    c.sock.write(request);
  }
}

let t0 = 0;
let finished = false;
let timer;
function tick() {
  const due = Math.min(total, Math.floor(((now() - t0) / 1e6) * rate) + 1);
  while (sent < due) {
    queue.push(t0 + (sent * 1e6) / rate);
    sent++;
  }
  if (queue.length > maxQueue) maxQueue = queue.length;
  dispatch();
  if (sent < total) timer = setTimeout(tick, 1);
}

function pct(arr, n, p) {
  if (n === 0) return null;
  const s = arr.subarray(0, n).sort();
  return Math.round(s[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]);
}

function finish() {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  const elapsed = (now() - t0) / 1e6;
  const out = {
    rate, seconds: Number(elapsed.toFixed(3)), connections, requests: completed, achieved_rps: Math.round(completed / elapsed),
    errors, non2xx, unanswered: total - completed, max_queue: maxQueue,
    p50_us: pct(service, completed, 50), p90_us: pct(service, completed, 90), p99_us: pct(service, completed, 99),
    p999_us: pct(service, completed, 99.9),
    sched_p50_us: pct(scheduled, completed, 50), sched_p99_us: pct(scheduled, completed, 99),
    sched_p999_us: pct(scheduled, completed, 99.9),
  };
  console.log('RATERESULT ' + JSON.stringify(out));
  process.exit(0);
}

for (let i = 0; i < connections; i++) connect();
const ready = setInterval(() => {
  if (idle.length >= connections) {
    clearInterval(ready);
    t0 = now();
    tick();
    // Answers still missing 5 s after the last send are counted as unanswered.
    setTimeout(finish, durationS * 1000 + 5000).unref();
  }
}, 5);
setTimeout(() => { if (t0 === 0) { console.error('fixed-rate: could not open connections'); process.exit(1); } }, 10000).unref();
