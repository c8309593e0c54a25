// Streaming client for bench/run.sh. Plain node:http, no dependencies.
//
//   node sse-client.mjs ttft URL N CHUNKS INTERVAL_MS [WARMUP]
//     N sequential streaming requests on one keep-alive connection; for each, time from
//     request sent to the first `data:` byte (TTFT) and to the end of the stream.
//   node sse-client.mjs open URL N CHUNKS INTERVAL_MS MARKER_FILE [OPEN_DEADLINE_S]
//     N concurrent streams; once every one has its first `data:` byte, writes MARKER_FILE
//     (run.sh samples the gateway's memory then), and waits for all of them to end, or until
//     CHUNKS x INTERVAL_MS + 60 s have passed (the streams still open then count as not completed).
//
// Both modes measure the gap between chunks: for each stream, the time between two reads that
// brought new `data:` frames (the first gap starts at the first frame), at the client. The mock
// upstream writes a chunk every INTERVAL_MS, so a gap is INTERVAL_MS plus what delayed the chunk;
// a proxy that holds chunks back and sends them together shows one long gap instead of two.
// A stream *stalls* when one of its gaps exceeds 2 x INTERVAL_MS + 50 ms (SSE_STALL_MS overrides),
// or when it does not complete (error, status other than 200, no [DONE], fewer frames than chunks,
// still open at the deadline). The time to the first byte is reported, not counted as a stall:
// with thousands of streams opened at once it includes queueing for the accept backlog.
//
// H2=1: the requests go over cleartext HTTP/2 with prior knowledge (the gateway's `server.h2c: true`), up to
// H2_STREAMS_PER_SESSION (100, Vert.x's default SETTINGS_MAX_CONCURRENT_STREAMS) streams on each connection: the
// gateway then holds one file a stream (the upstream side) instead of two, which is how 10,000 streams fit a
// `ulimit -n` of 20,000.
//
// Prints one line `SSERESULT {json}`; times are microseconds.
import http from 'node:http';
import http2 from 'node:http2';
import fs from 'node:fs';

const [mode, url, nArg, chunksArg, intervalArg, extra, extra2] = process.argv.slice(2);
const n = Number(nArg);
const chunks = Number(chunksArg);
const intervalMs = Number(intervalArg);
const target = new URL(url);
const stallUs = Number(process.env.SSE_STALL_MS || 2 * intervalMs + 50) * 1000;
/** Every gap between chunks of every stream of this run (µs); a Float64Array grows too slowly to matter here. */
const gaps = [];
const body = JSON.stringify({
  model: 'mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true,
});

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i]);
}

/** HTTP/2 connections for H2=1: a new one each H2_STREAMS_PER_SESSION streams. */
class H2Pool {
  constructor(perSession) {
    this.perSession = perSession;
    this.sessions = [];
    this.assigned = 0;
  }

  session() {
    if (this.assigned % this.perSession === 0) {
      const session = http2.connect(target.origin);
      session.on('error', () => {}); // each stream reports its own failure
      this.sessions.push(session);
    }
    this.assigned++;
    return this.sessions[this.sessions.length - 1];
  }

  destroy() {
    this.sessions.forEach((s) => s.destroy());
  }
}

const useH2 = process.env.H2 === '1';
const h2PerSession = Number(process.env.H2_STREAMS_PER_SESSION || 100);

function newAgent(options) {
  return useH2 ? new H2Pool(options.h2PerSession ?? h2PerSession) : new http.Agent(options);
}

/** Sends the POST over HTTP/1.1 (an http.Agent) or HTTP/2 (an H2Pool); onResponse gets a readable with statusCode. */
function post(agent, headers, onResponse, onError) {
  if (agent instanceof H2Pool) {
    const h2 = agent.session().request({ ':method': 'POST', ':path': target.pathname, ...headers });
    h2.on('response', (h) => { h2.statusCode = h[':status']; onResponse(h2); });
    h2.on('error', onError);
    // A stream reset without an error event (RST_STREAM NO_ERROR before the end) still ends the request.
    h2.on('close', () => { if (h2.rstCode) onError(new Error('rst_stream_' + h2.rstCode)); });
    return h2;
  }
  const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers }, onResponse);
  req.on('error', onError);
  return req;
}

function nowUs() {
  return Number(process.hrtime.bigint() / 1000n);
}

/** One streaming request; resolves {ttft, total, frames, done, status, maxGap} or {error, ...}; hooks.cancel(r) cuts it. */
function stream(agent, hooks = {}) {
  return new Promise((resolve) => {
    const t0 = nowUs();
    let ttft = null;
    let frames = 0;
    let lastArrival = null;
    let maxGap = 0;
    let tail = '';
    let sawDone = false;
    let finished = false;
    const finish = (r) => {
      if (finished) return;
      finished = true;
      if (ttft !== null && hooks.onEnd) hooks.onEnd();
      resolve({ ...r, ttft: r.ttft ?? ttft, frames: r.frames ?? frames, maxGap });
    };
    const req = post(agent, {
      'Content-Type': 'application/json', Authorization: 'Bearer sk-bench-0123456789abcdef', 'Content-Length': Buffer.byteLength(body),
      'X-Mock-Chunks': String(chunks), 'X-Mock-Interval-Ms': String(intervalMs),
    }, (res) => {
      res.setEncoding('latin1');
      res.on('data', (d) => {
        // Keep the last few characters so that a `data:` split across two reads is still seen once.
        const text = tail + d;
        let idx = 0;
        let last = -1;
        const before = frames;
        while ((idx = text.indexOf('data:', idx)) !== -1) { frames++; last = idx; idx += 5; }
        if (frames > before) {
          const t = nowUs();
          if (lastArrival !== null) {
            const gap = t - lastArrival;
            gaps.push(gap);
            if (gap > maxGap) maxGap = gap;
          }
          lastArrival = t;
        }
        if (ttft === null && frames > 0) {
          ttft = nowUs() - t0;
          if (hooks.onFirst) hooks.onFirst();
        }
        if (text.includes('[DONE]')) sawDone = true;
        tail = text.slice(Math.max(last + 5, text.length - 6));
      });
      res.on('end', () => finish({ ttft, total: nowUs() - t0, frames, done: sawDone, status: res.statusCode }));
      res.on('error', (e) => finish({ error: String(e.code || e.message) }));
      res.on('aborted', () => finish({ error: 'aborted' }));
    }, (e) => finish({ error: String(e.code || e.message) }));
    if (hooks.register) hooks.register(() => { finish({ error: 'not_completed_by_deadline' }); req.destroy(); });
    req.end(body);
  });
}

/** Why a stream did not complete, or null when it did. */
function failure(r) {
  if (r.error) return r.error;
  if (r.status !== 200) return `status_${r.status}`;
  if (!r.done) return 'no_done';
  if (r.frames < chunks) return 'frames_missing';
  return null;
}

function summary(results) {
  const ok = results.filter((r) => failure(r) === null);
  const errors = {};
  let stalled = 0;
  let gapStalled = 0;
  for (const r of results) {
    const key = failure(r);
    if (key) errors[key] = (errors[key] || 0) + 1;
    if (key || r.maxGap > stallUs) stalled++;
    if (r.maxGap > stallUs) gapStalled++;
  }
  const sortedGaps = Float64Array.from(gaps).sort();
  const ttft = ok.map((r) => r.ttft).sort((a, b) => a - b);
  const total = ok.map((r) => r.total).sort((a, b) => a - b);
  return {
    n: results.length, ok: ok.length, errors,
    ttft_p50_us: pct(ttft, 50), ttft_p90_us: pct(ttft, 90), ttft_p99_us: pct(ttft, 99), ttft_max_us: pct(ttft, 100),
    total_p50_us: pct(total, 50), total_p99_us: pct(total, 99),
    frames_expected: chunks + 1, frames_min: ok.length ? ok.reduce((m, r) => Math.min(m, r.frames), Infinity) : null,
    interval_us: intervalMs * 1000, gaps: sortedGaps.length,
    gap_p50_us: pct(sortedGaps, 50), gap_p99_us: pct(sortedGaps, 99), gap_p999_us: pct(sortedGaps, 99.9),
    gap_max_us: pct(sortedGaps, 100),
    stall_threshold_us: stallUs, stalled, stalled_by_gap: gapStalled,
  };
}

async function ttftMode() {
  const warmup = Number(extra || 0);
  const agent = newAgent({ keepAlive: true, maxSockets: 1, h2PerSession: Number.MAX_SAFE_INTEGER });
  let warmupOk = 0;
  for (let i = 0; i < warmup; i++) if (failure(await stream(agent)) === null) warmupOk++;
  gaps.length = 0;
  const results = [];
  for (let i = 0; i < n; i++) results.push(await stream(agent));
  agent.destroy();
  console.log('SSERESULT ' + JSON.stringify({ mode: 'ttft', warmup, warmup_ok: warmupOk, ...summary(results) }));
}

async function openMode() {
  const marker = extra;
  const deadlineS = Number(extra2 || 60);
  const agent = newAgent({ keepAlive: false, maxSockets: n + 10, maxTotalSockets: n + 10 });
  const started = nowUs();
  let open = 0; // streams that have their first frame and have not ended
  let maxOpen = 0;
  let openedInUs = null;
  let markerWritten = false;
  const writeMarker = (extraFields) => {
    if (markerWritten) return;
    markerWritten = true;
    fs.writeFileSync(marker, JSON.stringify({ open, ...extraFields }));
  };
  const hooks = {
    onFirst: () => {
      open++;
      if (open > maxOpen) maxOpen = open;
      if (open >= n && openedInUs === null) {
        openedInUs = nowUs() - started;
        writeMarker({ opened_in_us: openedInUs });
      }
    },
    onEnd: () => { open--; },
    register: (cancel) => cancels.push(cancel),
  };
  const cancels = [];
  const deadline = setTimeout(() => writeMarker({ opened_in_us: null, deadline_passed: true }), deadlineS * 1000);
  // A proxy that stops relaying must not hang the bench: what is still open then did not complete.
  const hardDeadline = setTimeout(() => cancels.forEach((c) => c()), chunks * intervalMs + 60_000);
  const pending = [];
  // Open in batches so that the accept queues of the gateway and the upstream are not flooded.
  const batch = 250;
  for (let i = 0; i < n; i++) {
    pending.push(stream(agent, hooks));
    if (i % batch === batch - 1) await new Promise((r) => setTimeout(r, 20));
  }
  const results = await Promise.all(pending);
  clearTimeout(deadline);
  clearTimeout(hardDeadline);
  writeMarker({ opened_in_us: null });
  console.log('SSERESULT ' + JSON.stringify({
    mode: 'open', max_open_with_data: maxOpen, opened_in_us: openedInUs, ...summary(results),
  }));
  agent.destroy();
  process.exit(0);
}

if (mode === 'ttft') {
  await ttftMode();
} else if (mode === 'open') {
  await openMode();
} else {
  console.error('usage: sse-client.mjs ttft|open URL N CHUNKS INTERVAL_MS ...');
  process.exit(2);
}
