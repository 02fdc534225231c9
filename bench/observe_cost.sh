#!/usr/bin/env bash
# What watching costs on HTTP hello: examples/hello_server (one loop, pinned to CPU 0) under wrk -t1
# -c50 for 3 s (on CPU 1), in three modes alternating REPS times: plain, with the flight recorder
# (WEFT_FLIGHT_RECORDER=65536), and with the trace streaming to a file (WEFT_TRACE). Prints the median
# server CPU microseconds per request of each, the ratio to plain, and the trace's size per 1,000
# requests. Builds build-bench (Release) first.
#   bench/observe_cost.sh [REPS]
set -euo pipefail
reps=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-bench
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_BENCH=ON -DWEFT_BUILD_TESTS=OFF \
  -DWEFT_BUILD_EXAMPLES=ON >/dev/null
ninja -C "$build" examples/hello_server >/dev/null
port=18192
tick=$(getconf CLK_TCK)
trace=$(mktemp --suffix=.json)
out=$(mktemp)
trap 'rm -f "$trace" "$out"; kill $(jobs -p) 2>/dev/null || true' EXIT

run() {  # MODE: prints "MODE cpu_us_per_req rps trace_bytes"
  local mode=$1 env=()
  case $mode in
    flight) env=(WEFT_FLIGHT_RECORDER=65536) ;;
    trace) env=(WEFT_TRACE="$trace") ;;
  esac
  rm -f "$trace"
  env "${env[@]}" taskset -c 0 "$build/examples/hello_server" "$port" >/dev/null 2>&1 &
  local pid=$!
  sleep 0.3
  taskset -c 1 wrk -t1 -c50 -d1s "http://127.0.0.1:$port/" >/dev/null  # warm-up
  local t0 t1 rps
  t0=$(awk '{print $14+$15}' /proc/$pid/stat)
  rps=$(taskset -c 1 wrk -t1 -c50 -d3s "http://127.0.0.1:$port/" | awk '/^Requests\/sec/ {print $2}')
  t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  kill $pid
  wait $pid 2>/dev/null || true
  local bytes=0
  [[ -f $trace ]] && bytes=$(stat -c %s "$trace")
  python3 -c "print('$mode', ($t1 - $t0) * 1e6 / $tick / ($rps * 3), $rps, $bytes)"
}

for ((i = 0; i < reps; i++)); do
  for mode in plain flight trace; do run $mode >>"$out"; done
done

python3 - "$out" <<'PY'
import collections, statistics, sys
cpu, rps, size = collections.defaultdict(list), collections.defaultdict(list), []
for line in open(sys.argv[1]):
    mode, c, r, b = line.split()
    cpu[mode].append(float(c))
    rps[mode].append(float(r))
    if mode == "trace":
        size.append(float(b) / (float(r) * 4) * 1000)  # warm-up second and 3 s measured: ~4 s of requests
plain = statistics.median(cpu["plain"])
print(f"{'mode':10s} {'CPU us/req':>11s} {'ratio':>7s} {'req/s':>10s}")
for mode in ("plain", "flight", "trace"):
    c = statistics.median(cpu[mode])
    print(f"{mode:10s} {c:11.2f} {c / plain:7.3f} {statistics.median(rps[mode]):10.0f}")
print(f"trace size: about {statistics.median(size) / 1024:.0f} KiB per 1,000 requests (the whole file over all requests served)")
PY
