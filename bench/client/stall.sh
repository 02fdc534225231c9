#!/usr/bin/env bash
# A server that stalls for 1 s in the middle of a 6 s run (SIGSTOP, then SIGCONT), seen three ways:
# - `weft load --rate` (open model: latency from when each request was due);
# - `weft load` without a rate (closed model, uncorrected: the stall counts as 50 slow requests among
#   hundreds of thousands, and vanishes from the percentiles);
# - wrk (closed model, which afterwards back-fills the latencies its connections did not send, at their
#   mean interval: wrk's own coordinated-omission estimate).
# Usage: bench/client/stall.sh BUILD_DIR [RATE]
set -euo pipefail
build=${1:?usage: bench/client/stall.sh BUILD_DIR [RATE]}
rate=${2:-1000}
weft=$build/tools/weft/weft
port=18181
"$weft" serve -p $port -t 1 >/dev/null 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
sleep 0.5
stall() { sleep 2.5; kill -STOP $server; sleep 1; kill -CONT $server; }

echo "== weft load --rate $rate, 50 connections, 6 s; the server stops for 1 s at 2.5 s"
stall & stalling=$!
"$weft" load "http://127.0.0.1:$port/get" -c 50 -d 6s --rate "$rate"
wait $stalling
echo "== weft load (closed model), 50 connections, 6 s; the same stall"
stall & stalling=$!
"$weft" load "http://127.0.0.1:$port/get" -c 50 -d 6s
wait $stalling
echo "== wrk, 1 thread, 50 connections, 6 s; the same stall"
stall & stalling=$!
wrk -t1 -c50 -d6s --latency "http://127.0.0.1:$port/get" | sed -n '/Latency Distribution/,/Requests\/sec/p'
wait $stalling
