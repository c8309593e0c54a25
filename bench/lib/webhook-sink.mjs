// A fast webhook receiver for the usage benches: answers every POST 200 and counts the usage records it got
// (a JSON array counts its elements, an object with a "records" array those, any other body one); GET /count says how many.
import http from "node:http";
const port = +process.argv[2];
let records = 0, requests = 0;
http.createServer((req, res) => {
  if (req.method === "GET") { res.end(JSON.stringify({ records, requests })); return; }
  const chunks = [];
  req.on("data", c => chunks.push(c));
  req.on("end", () => {
    requests++;
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString());
      records += Array.isArray(body) ? body.length : Array.isArray(body.records) ? body.records.length : 1;
    } catch { records++; }
    res.end();
  });
}).listen(port, "127.0.0.1");
