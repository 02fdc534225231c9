#!/usr/bin/env bash
# Runs weft's benchmarks with their peers in the same run and prints medians and ratios.
# Usage: bench/run.sh BUILD_DIR     (make bench does this)
set -euo pipefail
build=${1:?usage: bench/run.sh BUILD_DIR}
reps=${WEFT_BENCH_REPS:-5}

echo "== per-task costs (Google Benchmark, ${reps} repetitions, medians; weft and Asio in one binary)"
"$build/bench/bench_tasks" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_format=json --benchmark_out="$build/bench_tasks.json" --benchmark_out_format=json >/dev/null
python3 - "$build/bench_tasks.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
med = {b["run_name"]: b["cpu_time"] for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
for name, ns in sorted(med.items()):
    print(f"  {name:18s} {ns:8.1f} ns")
def ratio(a, b, what):
    if a in med and b in med:
        print(f"  {what:52s} {med[a]/med[b]:6.2f}x")
print("ratios (below 1.0 means weft is faster):")
ratio("weft_spawn_join", "asio_post", "weft spawn+complete+join / Asio post")
ratio("weft_spawn_join", "asio_co_spawn", "weft spawn+complete+join / Asio co_spawn")
ratio("weft_spawn_batch", "asio_co_spawn", "weft spawn batch / Asio co_spawn batch")
ratio("weft_yield", "asio_post", "weft yield+resume / Asio post")
ratio("weft_yield", "asio_yield", "weft yield+resume / Asio coroutine post-yield")
PY

n=${WEFT_BENCH_TIMERS:-1000000}
echo "== ${n} sleepers with random deadlines in [0, 1 s] (${reps} runs each, alternating; medians)"
out="$build/bench_timers.txt"
: >"$out"
for ((i = 0; i < reps; i++)); do
  "$build/bench/bench_timers" weft "$n" >>"$out"
  "$build/bench/bench_timers" asio "$n" >>"$out"
done
python3 - "$out" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+) n=\d+ last_wake_ms=([\d.]+) peak_rss_mb=([\d.]+)", line)
    if m:
        rows.setdefault(m[1], []).append((float(m[2]), float(m[3])))
for name, vals in rows.items():
    print(f"  {name:6s} last wake {statistics.median(v[0] for v in vals):8.1f} ms   peak RSS {statistics.median(v[1] for v in vals):7.1f} MB")
if "weft" in rows and "asio" in rows:
    w = statistics.median(v[0] for v in rows["weft"]); a = statistics.median(v[0] for v in rows["asio"])
    wr = statistics.median(v[1] for v in rows["weft"]); ar = statistics.median(v[1] for v in rows["asio"])
    print(f"  ratios weft/asio: last wake {w/a:.2f}x, peak RSS {wr/ar:.2f}x")
PY
bench/parallel/run.sh "$build"
bench/http/run.sh "$build"
bench/client/run.sh "$build"
bench/client/stall.sh "$build"
if [[ -x "$build/bench/mpi/mpi_pingpong" ]]; then bench/mpi/run.sh "$build"; fi
