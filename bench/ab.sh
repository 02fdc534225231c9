#!/usr/bin/env bash
# weft against an earlier weft, in one run: for "this change costs nothing" claims. Builds BASE (a git
# revision) in a worktree beside the checkout and the working tree in build-bench, then runs each
# benchmark alternating between the two, REPS times, and prints medians and new/base ratios:
#   - per-task costs on one loop (bench_tasks: spawn+join, spawn batches, yield), ns;
#   - 1,000,000 sleepers (bench_timers), last wake in ms;
#   - the parallel runtime on 2 workers: 1,000,000 spawns (ns per task), channel ping-pong (ns per round trip);
#   - HTTP hello with wrk -t1 -c50 for 3 s: the server's CPU microseconds per request (server on CPU 0,
#     wrk on CPU 1) and req/s (bounded by wrk's core on 2 cores: the CPU figure is the one to read).
# Medians are of the values; the ratio is median(new) / median(base). On a shared machine the spread
# between runs is a few percent: read a ratio within about 2% of 1 as "no change".
#
# Usage: bench/ab.sh BASE [REPS]      e.g. bench/ab.sh 461cdf8 7
set -euo pipefail
base_rev=${1:?usage: bench/ab.sh BASE [REPS]}
reps=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
base_dir=${WEFT_AB_DIR:-$root/build-ab}/$(git -C "$root" rev-parse --short "$base_rev")
targets=(bench/bench_tasks bench/bench_timers bench/parallel/parallel_bench examples/hello_server)

build() {  # source-dir build-dir
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_BENCH=ON -DWEFT_BUILD_TESTS=OFF \
    -DWEFT_BUILD_EXAMPLES=ON >/dev/null
  ninja -C "$2" "${targets[@]}" >/dev/null
}
if [[ ! -d $base_dir/src ]]; then git -C "$root" worktree add -f --detach "$base_dir/src" "$base_rev" >/dev/null; fi
echo "== building $base_rev and the working tree (Release)"
build "$base_dir/src" "$base_dir/build"
build "$root" "$root/build-bench"

out=$(mktemp)
trap 'rm -f "$out"; kill $(jobs -p) 2>/dev/null || true' EXIT
port=18191
tick=$(getconf CLK_TCK)
echo "== $reps alternating runs"
for ((i = 0; i < reps; i++)); do
  for v in base new; do
    d=$base_dir/build
    [[ $v == new ]] && d=$root/build-bench
    "$d/bench/bench_tasks" --benchmark_filter=weft --benchmark_min_time=0.5 --benchmark_format=csv 2>/dev/null |
      grep '^"weft' | sed "s/^/$v,/" >>"$out"
    echo "$v,$("$d/bench/bench_timers" weft 1000000)" >>"$out"
    echo "$v,$("$d/bench/parallel/parallel_bench" spawn 2 8 125000)" >>"$out"
    echo "$v,$("$d/bench/parallel/parallel_bench" pingpong 2 200000)" >>"$out"
    taskset -c 0 "$d/examples/hello_server" "$port" >/dev/null 2>&1 &
    pid=$!
    sleep 0.3
    taskset -c 1 wrk -t1 -c50 -d1s "http://127.0.0.1:$port/" >/dev/null  # warm-up
    t0=$(awk '{print $14+$15}' /proc/$pid/stat)
    rps=$(taskset -c 1 wrk -t1 -c50 -d3s "http://127.0.0.1:$port/" | awk '/^Requests\/sec/ {print $2}')
    t1=$(awk '{print $14+$15}' /proc/$pid/stat)
    kill $pid
    wait $pid 2>/dev/null || true
    echo "$v,http rps=$rps cpu_us_per_req=$(python3 -c "print(($t1 - $t0) * 1e6 / $tick / ($rps * 3))")" >>"$out"
  done
done

python3 - "$out" "$base_rev" <<'PY'
import collections, re, statistics, sys
vals = collections.defaultdict(lambda: collections.defaultdict(list))
def num(pattern, text):
    return float(re.search(pattern, text)[1])
for line in open(sys.argv[1]):
    v, rest = line.strip().split(",", 1)
    if rest.startswith('"weft'):
        f = rest.split(",")
        vals[f[0].strip('"') + " (ns)"][v].append(float(f[3]))
    elif rest.startswith("weft n="):
        vals["timers: last wake (ms)"][v].append(num(r"last_wake_ms=([\d.]+)", rest))
    elif rest.startswith("spawn"):
        vals["parallel spawn (ns/task)"][v].append(num(r"ns_per_task=([\d.]+)", rest))
    elif rest.startswith("pingpong"):
        vals["ping-pong (ns/round trip)"][v].append(num(r"ns_per_round_trip=([\d.]+)", rest))
    elif rest.startswith("http"):
        vals["http hello (CPU us/request)"][v].append(num(r"cpu_us_per_req=([\d.]+)", rest))
        vals["http hello (req/s)"][v].append(num(r"rps=([\d.]+)", rest))
print(f"{'':30s} {'base ' + sys.argv[2]:>14s} {'new':>10s} {'new/base':>9s}")
for name, d in vals.items():
    b, n = statistics.median(d["base"]), statistics.median(d["new"])
    print(f"{name:30s} {b:14.2f} {n:10.2f} {n / b:9.3f}")
PY
