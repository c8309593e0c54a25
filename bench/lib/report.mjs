// Turns bench/out/results.jsonl into a table on stdout and a markdown block in latest.md.
//   node report.mjs META.json RESULTS.jsonl LATEST.md
import fs from 'node:fs';

const [metaFile, resultsFile, mdFile] = process.argv.slice(2);
const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
const rows = fs.readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

const byLeg = new Map();
for (const { leg, test, r } of rows) {
  if (!byLeg.has(leg)) byLeg.set(leg, {});
  byLeg.get(leg)[test] = r;
}
const skipped = [...byLeg.entries()].filter(([, t]) => t.skipped).map(([leg, t]) => `${leg}: ${t.skipped.reason}`);
const legs = [...byLeg.keys()].filter((l) => l !== 'upstream' && !byLeg.get(l).skipped);
const proxies = legs.filter((l) => l.startsWith('llmproxy') || l === 'vertx-bare');
// Ratio columns: every JVM proxy against nginx; LLMProxy also against the bare Vert.x proxy; every feature on
// (llmproxy-all) against features off (llmproxy), where latencies are compared by their difference (issue 18:
// every feature on costs at most 10% of the throughput and 15 µs of the p50).
const pairs = [
  ...(legs.includes('nginx') ? proxies.map((p) => [p, 'nginx']) : []),
  ...(legs.includes('vertx-bare') ? proxies.filter((p) => p !== 'vertx-bare').map((p) => [p, 'vertx-bare']) : []),
  ...(legs.includes('llmproxy-all') && legs.includes('llmproxy') ? [['llmproxy-all', 'llmproxy']] : []),
];
const byDifference = (base) => base === 'llmproxy';
const c = meta.connections;
const get = (leg, test, key) => byLeg.get(leg)?.[test]?.[key] ?? null;

const fmtInt = (v) => (v === null || v === undefined ? '–' : Math.round(v).toLocaleString('en-US'));
const fmtMs = (us) => (us === null ? '–' : (us / 1000).toFixed(us >= 100000 ? 0 : 2));
const fmtUs = (us) => (us === null ? '–' : Math.abs(us) >= 10000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us)} µs`);
const signed = (us) => (us < 0 ? `−${fmtUs(-us)}` : `+${fmtUs(us)}`);
const fmtMB = (kb) => (kb === null || kb === undefined ? '–' : `${Math.round(kb / 1024)} MB`);
const ratio = (a, b) => (a === null || b === null || b === 0 ? '–' : `${(a / b).toFixed(2)}x`);

// A latency row: absolute for direct, "absolute (+added)" for proxies; ratio of the added parts.
function latencyRow(label, test, key) {
  const direct = get('direct', test, key);
  const cells = legs.map((leg) => {
    const v = get(leg, test, key);
    if (v === null) return '–';
    if (leg === 'direct' || direct === null) return fmtUs(v);
    return `${fmtUs(v)} (${signed(v - direct)})`;
  });
  const ratios = pairs.map(([g, base]) => {
    const n = get(base, test, key);
    const l = get(g, test, key);
    if (n !== null && l !== null && byDifference(base)) return signed(l - n);
    if (direct === null || n === null || l === null) return '–';
    const addN = n - direct;
    const addL = l - direct;
    return addN <= 0 || addL < 0 ? `${signed(addL)} vs ${signed(addN)}` : `${(addL / addN).toFixed(2)}x added`;
  });
  return [label, ...cells, ...ratios];
}
function throughputRow(label, test, key) {
  return [label, ...legs.map((leg) => fmtInt(get(leg, test, key))),
    ...pairs.map(([g, base]) => ratio(get(g, test, key), get(base, test, key)))];
}
function plainRow(label, fn, ratioFn) {
  return [label, ...legs.map((leg) => fn(leg) ?? '–'), ...pairs.map(([g, base]) => (ratioFn ? ratioFn(g, base) : ''))];
}
function errorsOf(leg) {
  const t = byLeg.get(leg);
  let n = 0;
  for (const [test, r] of Object.entries(t)) {
    if (!r || typeof r !== 'object') continue;
    n += (r.err_connect || 0) + (r.err_read || 0) + (r.err_write || 0) + (r.err_timeout || 0) + (r.err_status || 0);
    if (test !== 'json_rate') n += Object.values(r.errors && typeof r.errors === 'object' ? r.errors : {}).reduce((a, b) => a + b, 0);
    else n += (r.errors || 0) + (r.non2xx || 0) + (r.unanswered || 0);
  }
  return n;
}

const header = ['', ...legs, ...pairs.map(([g, base]) => `${g} / ${base}`)];
const allRows = [
  throughputRow(`JSON req/s, wrk -c${c}`, `json_c${c}`, 'rps'),
  latencyRow('JSON p50, wrk -c1', 'json_c1', 'p50_us'),
  latencyRow('JSON p99, wrk -c1', 'json_c1', 'p99_us'),
  latencyRow(`JSON p50 at ${fmtInt(meta.rate)}/s fixed rate`, 'json_rate', 'p50_us'),
  latencyRow(`JSON p99 at ${fmtInt(meta.rate)}/s fixed rate`, 'json_rate', 'p99_us'),
  latencyRow('  same p99, from schedule (CO-corrected)', 'json_rate', 'sched_p99_us'),
  throughputRow(`SSE req/s (20 chunks), wrk -c${c}`, `sse_c${c}`, 'rps'),
  latencyRow('SSE TTFT p50 (20×5 ms stream)', 'sse_ttft', 'ttft_p50_us'),
  latencyRow('SSE TTFT p99', 'sse_ttft', 'ttft_p99_us'),
  latencyRow('SSE gap between chunks p99 (5 ms interval)', 'sse_ttft', 'gap_p99_us'),
  plainRow('SSE whole stream p50', (l) => (get(l, 'sse_ttft', 'total_p50_us') === null ? null : `${fmtMs(get(l, 'sse_ttft', 'total_p50_us'))} ms`)),
  plainRow(`CPU% upstream / proxy / wrk / others, JSON -c${c}`, (l) => {
    const r = byLeg.get(l)?.[`json_c${c}`];
    return r ? `${r.cpu_upstream_pct} / ${l === 'direct' ? '–' : r.cpu_proxy_pct} / ${r.cpu_tool_pct ?? '?'} / ${r.cpu_others_pct ?? '?'}` : null;
  }),
  plainRow('RSS idle', (l) => (l === 'direct' ? null : fmtMB(get(l, 'mem_idle', 'rss_kb')))),
  plainRow('RSS after load', (l) => (l === 'direct' ? null : fmtMB(get(l, 'mem_after_load', 'rss_kb'))),
    (g, base) => ratio(get(g, 'mem_after_load', 'rss_kb'), get(base, 'mem_after_load', 'rss_kb'))),
  plainRow(`open streams held (of ${fmtInt(meta.streams)})`, (l) => {
    const r = byLeg.get(l)?.open_streams;
    return r ? `${fmtInt(r.max_open_with_data)} open, ${fmtInt(r.ok)} ok` : null;
  }),
  plainRow(`concurrent streams held without a stall (ramp ${(meta.stream_levels ?? []).map(fmtInt).join(', ')})`, (l) => {
    const r = byLeg.get(l)?.stream_ramp;
    if (!r) return null;
    const s = r.first_stall === null ? null : byLeg.get(l)?.[`streams_${r.first_stall}`];
    const partial = r.held_level !== undefined && r.held < r.held_level ? ` of ${fmtInt(r.held_level)} (not all open at once)` : '';
    return `${fmtInt(r.held)}${partial}${s ? `; ${fmtInt(s.stalled)} of ${fmtInt(s.n)} stalled at ${fmtInt(r.first_stall)}` : ''}`;
  }, (g, base) => {
    const a = byLeg.get(g)?.stream_ramp?.held;
    const b = byLeg.get(base)?.stream_ramp?.held;
    return a === undefined || b === undefined ? '–' : ratio(a, b);
  }),
  latencyRow(`gap between chunks p99, ${fmtInt(meta.streams)} streams open (${fmtInt(meta.stream_interval_ms)} ms interval)`,
    'open_streams', 'gap_p99_us'),
  latencyRow(`TTFT p99, ${fmtInt(meta.streams)} streams opened at once`, 'open_streams', 'ttft_p99_us'),
  plainRow(`RSS with ${fmtInt(meta.streams)} streams open`, (l) => fmtMB(get(l, 'open_streams', 'rss_kb')),
    (g, base) => ratio(get(g, 'open_streams', 'rss_kb'), get(base, 'open_streams', 'rss_kb'))),
  plainRow('heap used / after full GC, streams open', (l) => {
    const h = get(l, 'open_streams', 'heap_used_kb');
    return h === null ? null : `${fmtMB(h)} / ${fmtMB(get(l, 'open_streams', 'heap_after_gc_kb'))}`;
  }),
  plainRow('RSS after the streams', (l) => fmtMB(get(l, 'mem_after_streams', 'rss_kb'))),
  plainRow('warm-up (s), last round req/s', (l) => {
    const w = byLeg.get(l)?.warmup;
    return w ? `${w.seconds} s, ${fmtInt(w.rounds_rps.at(-1))}` : null;
  }),
  ...[['usage_backlog_json', `usage: reporter backlog / journal pending after JSON -c${c}, caught up in`],
    ['usage_backlog_sse', `usage: the same after SSE -c${c}`],
    ['usage_backlog', 'usage: the same after all tests']].map(([test, label]) => plainRow(label, (l) => {
    const u = byLeg.get(l)?.[test];
    return u ? `${fmtInt(Number(u.after_load))} / ${u.pending ?? '?'}, ${u.drained_s < 0 ? '>120' : u.drained_s} s` : null;
  })),
  plainRow('usage records received / requests answered, lost', (l) => {
    const m = byLeg.get(l)?.metering;
    return m ? `${fmtInt(m.unique)} / ${fmtInt(m.answered)}, ${fmtInt(m.lost)} lost` : null;
  }),
  plainRow('ready after start (s)', (l) => (get(l, 'ready', 'seconds') === null ? null : String(get(l, 'ready', 'seconds')))),
  throughputRow(`first ${meta.start_duration} after /ready: JSON req/s, -c${c}`, `start_json_c${c}`, 'rps'),
  latencyRow(`first ${meta.start_duration} after /ready: JSON p50, -c1`, 'start_json_c1', 'p50_us'),
  latencyRow(`first ${meta.start_duration} after /ready: JSON p99, -c1`, 'start_json_c1', 'p99_us'),
  plainRow('errors (all tests)', (l) => String(errorsOf(l))),
];
// A row no leg of this run has a figure for (a test not run: STREAMS=0, no start leg, no usage leg) is left out.
const table = allRows.filter((r) => r.slice(1, 1 + legs.length).some((v) => v !== '–' && v !== '' && v !== null));

function textTable(rowsIn) {
  const all = [header, ...rowsIn];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  const line = (r) => r.map((v, i) => (i === 0 ? String(v).padEnd(widths[i]) : String(v ?? '').padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rowsIn.map(line)].join('\n');
}
function mdTable(rowsIn) {
  const esc = (v) => String(v ?? '').replace(/\|/g, '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rowsIn.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

const othersMax = Math.max(0, ...rows.map((x) => x.r?.cpu_others_pct ?? 0));

// Issue 18's targets for the llmproxy-all leg, each with the figure this run reached (same run, so comparable).
function issue18() {
  if (!legs.includes('llmproxy-all')) return [];
  const out = [];
  const verdict = (ok) => (ok === null ? '' : ok ? ' (met)' : ' (NOT met)');
  const thr = (leg) => get(leg, `json_c${c}`, 'rps');
  if (legs.includes('llmproxy') && thr('llmproxy') && thr('llmproxy-all')) {
    const cost = 1 - thr('llmproxy-all') / thr('llmproxy');
    const p50 = get('llmproxy-all', 'json_c1', 'p50_us') - get('llmproxy', 'json_c1', 'p50_us');
    const p50ok = get('llmproxy-all', 'json_c1', 'p50_us') !== null && get('llmproxy', 'json_c1', 'p50_us') !== null;
    out.push(`every feature on ${cost >= 0 ? `costs ${(cost * 100).toFixed(1)}% of` : `is ${(-cost * 100).toFixed(1)}% above (noise)`} the features-off throughput` +
      ` (target ≤ 10% lower)${verdict(cost <= 0.10)}` +
      (p50ok ? ` and adds ${signed(p50)} to its -c1 p50 (target ≤ 15 µs)${verdict(p50 <= 15)}` : ''));
  }
  const direct = (test, key) => get('direct', test, key);
  const added = (leg, test, key) => (get(leg, test, key) === null || direct(test, key) === null ? null : get(leg, test, key) - direct(test, key));
  if (legs.includes('nginx') && legs.includes('direct')) {
    const a = added('llmproxy-all', 'json_c1', 'p99_us');
    const n = added('nginx', 'json_c1', 'p99_us');
    if (a !== null && n !== null) {
      const how = n <= 0 ? 'nginx adds nothing measurable' : a <= 0 ? 'llmproxy-all adds nothing measurable' : `${(a / n).toFixed(2)}x nginx's`;
      out.push(`llmproxy-all adds ${signed(a)} to the -c1 p99, nginx ${signed(n)}: ${how} (target ≤ 1.5x)${verdict(n > 0 ? a <= 1.5 * n : null)}`);
    }
    if (thr('nginx') && thr('llmproxy-all')) {
      const r = thr('llmproxy-all') / thr('nginx');
      out.push(`llmproxy-all throughput ${r.toFixed(2)}x nginx's (moonshot ≥ 0.9x)${verdict(r >= 0.9)}`);
    }
  }
  const t50 = added('llmproxy-all', 'sse_ttft', 'ttft_p50_us');
  const t99 = added('llmproxy-all', 'sse_ttft', 'ttft_p99_us');
  const g99 = added('llmproxy-all', 'sse_ttft', 'gap_p99_us');
  if (t50 !== null) out.push(`llmproxy-all TTFT added p50 ${signed(t50)}, p99 ${signed(t99)} (target ≤ 0.5 ms)${verdict(t50 <= 500)}; gap between chunks p99 added ${g99 === null ? '–' : signed(g99)}`);
  const m = byLeg.get('llmproxy-all')?.metering;
  if (m) out.push(`metering: ${fmtInt(m.unique)} distinct usage records received for ${fmtInt(m.answered)} requests answered (the gateway counted ${fmtInt(m.gateway_requests)}), ${fmtInt(m.lost)} lost${verdict(m.lost === 0)}`);
  return out.map((x) => `issue 18: ${x}`);
}
const jvm = proxies.map((g) => `${g}: ${byLeg.get(g).jvm?.java ?? '?'} \`${byLeg.get(g).jvm?.opts ?? ''}\``);
const notes = [
  `date ${meta.date}, commit ${meta.commit}, ${meta.host_cpus} cores / ${meta.mem_gb} GB, ${meta.java}, nginx ${meta.nginx}`,
  `upstream: MockLlmBackend ×${meta.upstream_instances}; wrk -t2 -c${c} -d${meta.duration} after warm-up (rounds of ${meta.warmup} until req/s is stable within 5%, ${meta.warmup_max} at most); ` +
    `-c1 for ${meta.lat_duration}; fixed rate ${meta.rate}/s for ${meta.rate_duration}s on 64 connections; ` +
    `TTFT over ${meta.ttft_n} sequential streams; ` +
    (meta.stream_levels?.length ? `open-streams ramp of ${meta.stream_levels.join(', ')} streams of ${meta.stream_chunks} chunks ${meta.stream_interval_ms} ms apart, memory read at ${meta.streams}`
      : 'no open-streams test'),
  ...jvm,
  ...issue18(),
  ...(meta.stream_levels?.length ? [`streams held: the most open at once (first chunk in, not ended) on a level below the first where a stream stalled; ` +
    `a stream stalls when a gap between its chunks exceeds 2 × ${meta.stream_interval_ms} ms + 50 ms or it does not complete; ` +
    `the ramp stops past ${fmtInt(meta.streams)} streams at the first level where one stalls; levels are capped at ${fmtInt(meta.stream_fd_cap)} by ulimit -n`] : []),
  ...(othersMax > 25 ? [`WARNING: other work on the machine used up to ${othersMax}% CPU during a measurement (100% = one core): figures are low and noisy`] : []),
  ...(meta.busy_before_pct > 15 ? [`WARNING: the machine was ${meta.busy_before_pct}% busy before the run (other work on it): figures are low and noisy`] : []),
  ...(meta.quick ? ['QUICK=1 smoke run: short durations, not for comparison'] : []),
  ...skipped.map((s) => `skipped ${s}`),
];

console.log('\n' + textTable(table) + '\n');
for (const n of notes) console.log('  ' + n);
console.log('');
const md = [`### bench ${meta.date}${meta.quick ? ' (QUICK)' : ''}`, '', mdTable(table), '', ...notes.map((n) => `- ${n}`), '', ''].join('\n');
fs.writeFileSync(mdFile, md);
fs.appendFileSync(mdFile.replace(/latest\.md$/, 'history.md'), md);
