#!/bin/bash
# Per-task and HTTP figures on a machine of 16 cores or more, where the load generator no longer caps
# the fastest servers: each server is pinned to CPU 0 and wrk -t4 runs on CPUs 8-11, so req/s is the
# server's own throughput on one core. Runs from the folder bench/device/bundle.sh packs, through the
# carried loader and libraries. Writes $OUT/results2.txt (OUT defaults to /tmp/devout).
# Env: SRV, CLI, BCPU (CPU lists), DUR (seconds per wrk run, 4), REPS (3).
set -u
D=$(cd "$(dirname "$0")" && pwd)
L=$D/lib
LD=("$L/ld-linux-x86-64.so.2" --library-path "$L")  # pid of `taskset ... &` is the server
on() { local cpus=$1; shift; taskset -c "$cpus" "$L/ld-linux-x86-64.so.2" --library-path "$L" "$@"; }
SRV=${SRV:-0} CLI=${CLI:-8-11} BCPU=${BCPU:-2} DUR=${DUR:-4} REPS=${REPS:-3}
OUT=${OUT:-/tmp/devout}
mkdir -p "$OUT"
R=$OUT/results2.txt
: >"$R"
{ nproc; lscpu | grep -E "Model name|^CPU\(s\)"; } >>"$R"
tick=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }
ulimit -n 20000
port=19000
measure() {  # name pid conns extra...
  local name=$1 pid=$2 conns=$3; shift 3
  on $CLI "$D/wrk" -t4 -c"$conns" -d1s "$@" "http://127.0.0.1:$port/" >/dev/null 2>&1
  local t0 t1 out reqs rps
  t0=$(cpu_ticks "$pid")
  out=$(on $CLI "$D/wrk" -t4 -c"$conns" -d${DUR}s "$@" "http://127.0.0.1:$port/" 2>&1)
  t1=$(cpu_ticks "$pid")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  echo "$name $conns${1:+ pipelined} rps=$rps cpu_us_per_req=$(awk -v t=$((t1 - t0)) -v r="$reqs" -v k="$tick" 'BEGIN { if (r > 0) printf "%.3f", t * 1e6 / k / r }')" >>"$R"
}
echo "== http (server on CPU 0, wrk -t4 on CPUs 8-11, 4 s runs)" >>"$R"
for ((rep = 0; rep < REPS; rep++)); do
  for s in raw_epoll weft asio; do
    port=$((port + 1))
    case $s in
      raw_epoll) taskset -c $SRV "${LD[@]}" "$D/raw_epoll" $port >/dev/null 2>&1 & ;;
      weft) taskset -c $SRV "${LD[@]}" "$D/hello_server" $port >/dev/null 2>&1 & ;;
      asio) taskset -c $SRV "${LD[@]}" "$D/asio_hello" $port >/dev/null 2>&1 & ;;
    esac
    pid=$!
    sleep 0.5
    measure $s $pid 64
    measure $s $pid 1000
    measure $s $pid 64 --script "$D/pipeline.lua"
    kill -9 $pid; wait $pid 2>/dev/null
  done
done
echo "== 1M sleepers" >>"$R"
for ((rep = 0; rep < REPS; rep++)); do
  on $BCPU "$D/bench_timers" weft >>"$R"
  on $BCPU "$D/bench_timers" asio >>"$R"
done
echo "== tasks" >>"$R"
on $BCPU "$D/bench_tasks" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>&1 | grep -E "median" >>"$R"
echo "== done" >>"$R"
cat "$R"
