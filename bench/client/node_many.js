// The Node.js peer for bench/client/run.sh: the http module's client making N GETs at once.
//
// The issue: "10,000 concurrent GETs to /delay/1, one connection each, all started at once, against
// one delay server (weft serve) on the same machine: weft's client, Go's net/http client and Node's
// http client in the same run. Reach: at most 1.5 s, and at most half of Go's time."
//
// This starts N requests in one go, each a GET to URL over its own connection (an agent with
// keep-alive off and no socket limit: Node 19+'s global agent keeps connections alive), reading the
// whole body; a response counts as ok when its status is 200. It prints one line,
// elapsed_s=<float> ok=<n> failed=<n>, the time from before the first request starts to when the
// last one ends. The first error is printed on stderr. (Node raises its own descriptor limit to the
// hard limit at start.)
//
// usage: node node_many.js URL N
'use strict';
const http = require('http');

const url = process.argv[2];
const n = Number(process.argv[3]);
if (!url || !Number.isInteger(n) || n < 1) {
  console.error('usage: node node_many.js URL N');
  process.exit(2);
}

const agent = new http.Agent({keepAlive: false, maxSockets: Infinity});
let ok = 0, failed = 0, done = 0, firstError = null;
let start;

function finish(err) {
  if (err) {
    failed++;
    if (firstError === null) firstError = String(err && err.message || err);
  } else {
    ok++;
  }
  if (++done === n) {
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    if (firstError !== null) console.error(`node_many: first error: ${firstError}`);
    process.stdout.write(`elapsed_s=${elapsed.toFixed(4)} ok=${ok} failed=${failed}\n`);
  }
}

function one() {
  let settled = false;
  const settle = (err) => { if (!settled) { settled = true; finish(err); } };
  const req = http.get(url, {agent}, (res) => {
    res.on('data', () => {});
    res.on('end', () => settle(res.statusCode === 200 ? null : new Error(`status ${res.statusCode}`)));
    res.on('error', settle);
    res.on('aborted', () => settle(new Error('response aborted')));
  });
  req.setTimeout(60000, () => req.destroy(new Error('timed out')));
  req.on('error', settle);
}

start = process.hrtime.bigint();
for (let i = 0; i < n; i++) one();
