// The webhook receiver of bench/run.sh's llmproxy-all leg: a separate process that answers every POST with 200
// as soon as its body has arrived, and counts the usage records it got, so that the bench can say at the end how
// many records arrived for how many requests it sent (metering must lose nothing). Plain node:http, no dependencies.
//
//   node usage-receiver.mjs PORT
//     POST (any path): counts the records in the body, answers 200 with an empty body
//     GET /stats: {"posts":..,"records":..,"unique":..,"duplicates":..,"aborted":..,"no_id_posts":..,"bytes":..}
//     GET /ready: 200
//
// A record is one `"request_id"` in a body, whatever wraps it: one JSON object a POST (seed 004's payload), an
// array or lines of them (batched delivery) all count right without parsing the JSON, which keeps the receiver
// cheap next to the gateway it measures. `unique` counts distinct request ids: a record delivered twice (a retry
// after a lost answer) is in `records` twice and in `unique` once.
import http from 'node:http';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: usage-receiver.mjs PORT');
  process.exit(2);
}

const ID = /"request_id"\s*:\s*"([^"]*)"/g;
const ABORTED = /"aborted"\s*:\s*true/g;
const ids = new Set();
const stats = { posts: 0, records: 0, unique: 0, duplicates: 0, aborted: 0, no_id_posts: 0, bytes: 0 };

function count(body) {
  stats.posts++;
  stats.bytes += body.length;
  let found = 0;
  for (const m of body.matchAll(ID)) {
    found++;
    if (ids.has(m[1])) stats.duplicates++;
    else ids.add(m[1]);
  }
  if (found === 0) stats.no_id_posts++;
  stats.records += found;
  stats.unique = ids.size;
  for (const _ of body.matchAll(ABORTED)) stats.aborted++;
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    const payload = req.url === '/stats' ? JSON.stringify(stats) : 'ok';
    res.writeHead(200, { 'Content-Type': req.url === '/stats' ? 'application/json' : 'text/plain' });
    res.end(payload);
    return;
  }
  const parts = [];
  req.on('data', (d) => parts.push(d));
  req.on('end', () => {
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
    count(Buffer.concat(parts).toString('latin1'));
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.listen(port, '127.0.0.1', () => console.log(`usage receiver listening on 127.0.0.1:${port}`));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    console.log('usage receiver stopping: ' + JSON.stringify(stats));
    process.exit(0);
  });
}
