#!/usr/bin/env bash
# "Hello, World!" over HTTP/1.1 keep-alive: weft against its peers, in one run, on this machine.
#
# Each server runs on CPU 0 (taskset), wrk -t1 on CPU 1. On 2 cores wrk saturates its own core before
# the fast servers do, so besides req/s this reads each server's CPU time (utime+stime from
# /proc/PID/stat, children included) over the measured run and prints CPU microseconds per request.
# Ratios are against the raw epoll server (the system calls alone). Then: pipelined x16 req/s, and
# server memory per idle keep-alive connection. Last, two workers each: weft on 2 threads, nginx with
# 2 worker processes, Go with GOMAXPROCS=2, servers and wrk -t2 sharing both cores, CPU us/request.
#
# Usage: bench/http/run.sh BUILD_DIR      (make bench calls it)
# Env:   WEFT_HTTP_SECONDS (3) per run, WEFT_BENCH_REPS (3) runs per cell (medians),
#        WEFT_HTTP_IDLE (10000) idle connections for the memory figure (0: skip it),
#        WEFT_HTTP_SERVERS (all) the servers to run, e.g. "raw_epoll weft".
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
secs=${WEFT_HTTP_SECONDS:-3}
reps=${WEFT_BENCH_REPS:-3}
idle=${WEFT_HTTP_IDLE:-10000}
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
ulimit -n 20000 2>/dev/null || true
port=18090
tick=$(getconf CLK_TCK)

# name -> command line (PORT is replaced). Peers that are not installed are skipped, and say so.
declare -A cmd
cmd[raw_epoll]="$build/bench/http/raw_epoll PORT"
cmd[weft]="$build/examples/hello_server PORT"
cmd[weft2]="$build/examples/hello_server PORT 2"
multi=(weft2)
cmd[asio]="$build/bench/http/asio_hello PORT"
order=(raw_epoll weft asio)
if command -v nginx >/dev/null; then
  mkdir -p "$work/nginx"
  sed "s|PREFIX|$work/nginx|g" "$here/nginx.conf" >"$work/nginx/nginx.conf.in"
  cmd[nginx]="nginx -p $work/nginx -c NGINXCONF"
  order+=(nginx)
  cmd[nginx2]="nginx -p $work/nginx -c NGINXCONF"
  multi+=(nginx2)
else echo "(nginx not installed: skipped)"; fi
if command -v go >/dev/null; then
  if GOCACHE="$work/gocache" GO111MODULE=off go build -o "$work/go_hello" "$here/go_hello.go" 2>/dev/null; then
    cmd[go]="env GOMAXPROCS=1 $work/go_hello PORT"
    order+=(go)
    cmd[go2]="env GOMAXPROCS=2 $work/go_hello PORT"
    multi+=(go2)
  fi
else echo "(go not installed: skipped)"; fi
if command -v node >/dev/null; then
  cmd[node]="node $here/node_hello.js PORT"
  order+=(node)
fi

if [[ -n ${WEFT_HTTP_SERVERS:-} ]]; then read -r -a order <<<"$WEFT_HTTP_SERVERS"; fi

cpu_ticks() {  # utime+stime of a process and its direct children
  local total=0 p
  for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    [[ -r /proc/$p/stat ]] || continue
    total=$((total + $(awk '{print $14 + $15}' /proc/"$p"/stat)))
  done
  echo "$total"
}

server_cpus=0
client_cpus=1
client_threads=1
start_server() {  # name -> sets $pid, listening on $port
  port=$((port + 1))
  local c=${cmd[$1]//PORT/$port}
  if [[ $1 == nginx || $1 == nginx2 ]]; then
    local workers=1 listen_opts=""
    if [[ $1 == nginx2 ]]; then workers=2 listen_opts=" reuseport"; fi
    sed "s|PORT|$port$listen_opts|; s|worker_processes 1|worker_processes $workers|" "$work/nginx/nginx.conf.in" >"$work/nginx/nginx.conf"
    c=${c//NGINXCONF/$work/nginx/nginx.conf}
  fi
  taskset -c $server_cpus $c >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
    sleep 0.05
  done
  echo "server $1 did not start" >&2
  return 1
}

stop_server() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }

# One measured wrk run: prints "<req/s> <cpu us per request>".
measure() {  # conns extra-wrk-args...
  local conns=$1
  shift
  taskset -c $client_cpus wrk -t$client_threads -c"$conns" -d1s "$@" "http://127.0.0.1:$port/" >/dev/null  # warm-up
  local t0 t1 out reqs rps
  t0=$(cpu_ticks "$pid")
  out=$(taskset -c $client_cpus wrk -t$client_threads -c"$conns" -d"${secs}s" "$@" "http://127.0.0.1:$port/")
  t1=$(cpu_ticks "$pid")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  python3 -c "print(f'{$rps:.0f} {($t1 - $t0) * 1e6 / $tick / max($reqs, 1):.3f}')"
}

results="$work/results.txt"
# Servers take turns within each repetition, so that a noisy minute on this shared machine lands on
# all of them rather than on one.
for ((r = 0; r < reps; r++)); do
  for name in "${order[@]}"; do
    start_server "$name" || continue
    echo "$name c64 $(measure 64)" >>"$results"
    echo "$name c1000 $(measure 1000)" >>"$results"
    echo "$name pipelined $(measure 64 --script "$here/pipeline.lua")" >>"$results"
    stop_server
  done
done
# Two workers each, sharing both cores with wrk -t2.
if [[ -z ${WEFT_HTTP_SERVERS:-} ]]; then
  server_cpus=0,1 client_cpus=0,1 client_threads=2
  for ((r = 0; r < reps; r++)); do
    for name in "${multi[@]}"; do
      start_server "$name" || continue
      echo "$name c256 $(measure 256)" >>"$results"
      stop_server
    done
  done
  server_cpus=0 client_cpus=1 client_threads=1
fi
for name in "${order[@]}"; do
  ((idle > 0)) || continue
  start_server "$name" || continue
  echo "$name idle $(python3 "$here/idle_memory.py" "$port" "$pid" "$idle" | cut -d= -f2)" >>"$results"
  stop_server
done

python3 - "$results" "$secs" "$reps" "$idle" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    parts = line.split()
    rows.setdefault((parts[0], parts[1]), []).append([float(x) for x in parts[2:]])
names = list(dict.fromkeys(k[0] for k in rows))
single = [n for n in names if (n, "c256") not in rows]
def med(name, cell, i):
    v = rows.get((name, cell))
    return statistics.median(x[i] for x in v) if v else None
print(f"== HTTP hello world, keep-alive, server on CPU 0, wrk -t1 on CPU 1, {sys.argv[2]} s runs, medians of {sys.argv[3]}")
print(f"{'server':10s} {'c64 req/s':>10s} {'CPU us/req':>10s} {'x epoll':>8s}   {'c1000 req/s':>11s} {'CPU us/req':>10s} {'x epoll':>8s}   {'pipelined x16':>13s} {'x asio':>7s} {'CPU us/req':>10s} {'x asio':>7s}   {'idle KiB/conn':>13s}")
base64 = med("raw_epoll", "c64", 1)
base1k = med("raw_epoll", "c1000", 1)
asio_p = med("asio", "pipelined", 0)
asio_pu = med("asio", "pipelined", 1)
for n in single:
    c64, u64 = med(n, "c64", 0), med(n, "c64", 1)
    c1k, u1k = med(n, "c1000", 0), med(n, "c1000", 1)
    p, pu = med(n, "pipelined", 0), med(n, "pipelined", 1)
    idle = med(n, "idle", 0)
    f = lambda x, fmt: (fmt.format(x) if x is not None else "-")
    print(f"{n:10s} {f(c64,'{:10.0f}')} {f(u64,'{:10.2f}')} {f(u64/base64 if u64 and base64 else None,'{:8.2f}')}   "
          f"{f(c1k,'{:11.0f}')} {f(u1k,'{:10.2f}')} {f(u1k/base1k if u1k and base1k else None,'{:8.2f}')}   "
          f"{f(p,'{:13.0f}')} {f(p/asio_p if p and asio_p else None,'{:7.2f}')} {f(pu,'{:10.3f}')} "
          f"{f(pu/asio_pu if pu and asio_pu else None,'{:7.2f}')}   {f(idle,'{:13.2f}')}")
print(f"(idle: {sys.argv[4]} keep-alive connections, each after one request; server RSS growth per connection)")
multi = [n for n in names if (n, "c256") in rows]
if multi:
    print("== two workers each (weft 2 threads, nginx 2 processes, Go GOMAXPROCS=2), wrk -t2 -c256, all on both cores")
    for n in multi:
        print(f"  {n:8s} {med(n, 'c256', 0):10.0f} req/s {med(n, 'c256', 1):8.2f} CPU us/req")
    w = med("weft2", "c256", 1)
    for peer in ("nginx2", "go2"):
        if w and med(peer, "c256", 1):
            print(f"  CPU per request, weft / {peer}: {w / med(peer, 'c256', 1):.2f}x (target: below 1)")
print("(pipelined: wrk's own core can cap req/s for the fastest servers; CPU us/req shows their cost regardless)")
PY
