// Reads an HdrHistogram log with hdr-histogram-js (an implementation independent of weft's) and prints
// what it decoded as JSON: the total count, min, max and the percentiles weft load reports.
//     node tests/node/hdr_log_read.js FILE.hlog
"use strict";
const fs = require("fs");
const hdr = require("hdr-histogram-js");

const reader = new hdr.HistogramLogReader(fs.readFileSync(process.argv[2], "utf8"));
const total = hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: 3 });
let intervals = 0;
for (let h; (h = reader.nextIntervalHistogram()) !== null; ++intervals) total.add(h);
if (intervals === 0) {
  console.error("hdr_log_read: no interval in the log");
  process.exit(1);
}
const at = (p) => total.getValueAtPercentile(p);
console.log(JSON.stringify({
  intervals,
  count: total.totalCount,
  min: total.minNonZeroValue,
  max: total.maxValue,
  p50: at(50), p90: at(90), p99: at(99), p999: at(99.9),
}));
