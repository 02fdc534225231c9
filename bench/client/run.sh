#!/usr/bin/env bash
# weft's HTTP client against its peers, in one run, on this machine. Two measurements:
#
# (a) "10,000 concurrent GETs to /delay/1, one connection each, all started at once, against one delay
#     server (weft serve) on the same machine: weft's client, Go's net/http client and Node's http
#     client in the same run. Reach: at most 1.5 s, and at most half of Go's time."
#     One `weft serve --threads 1` serves all three; each client makes N GETs at once, one connection
#     each (`weft fetch -n N -c N --threads 0`, go_many.go, node_many.js; weft and Go on every core) and reports the time from its first
#     request to its last response. The clients take turns within each repetition, 2 s apart (for
#     TIME_WAIT sockets and the server to settle). Prints median seconds, ok/failed counts per run, and
#     the ratios weft/Go and weft/Node.
#
# (b) "weft load against wrk, each driving the same nginx from the other core with the same connection
#     count: at least 1.0x wrk's req/s, with at most wrk's client CPU per request."
#     nginx (bench/http/nginx.conf, one worker) on CPU 1; `wrk -t1` and `weft load`, taking turns, on
#     CPU 0, C keep-alive connections, D seconds each. Each client's own CPU time (user+sys, from
#     getrusage of its process tree) over its run, divided by the requests it made, is its CPU per
#     request. Prints median req/s and CPU us/request for each, and the ratios weft/wrk.
#
# Usage: bench/client/run.sh BUILD_DIR
# Env:   WEFT_BENCH_REPS (3) runs per client (medians), WEFT_CLIENT_N (10000) concurrent GETs in (a),
#        WEFT_LOAD_CONNECTIONS (50) connections and WEFT_HTTP_SECONDS (3) seconds per run in (b),
#        WEFT_CLIENT_TIMEOUT (60) seconds after which any one client run is stopped.
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
reps=${WEFT_BENCH_REPS:-3}
n=${WEFT_CLIENT_N:-10000}
conns=${WEFT_LOAD_CONNECTIONS:-50}
secs=${WEFT_HTTP_SECONDS:-3}
limit=${WEFT_CLIENT_TIMEOUT:-60}
weft="$build/tools/weft/weft"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
# N client sockets in one process (and N accepted ones in the server): raise the descriptor limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Runs a command with its own timeout; prints its stdout, then "cpu_s=<user+sys seconds>" of the whole
# process tree it waited for; exits with the command's status.
cpu_py='
import resource, subprocess, sys
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stdout.write(p.stdout.decode(errors="replace"))
print(f"\ncpu_s={(r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime):.6f}")
sys.exit(p.returncode)
'

# Reads one client's stdout on stdin; prints the fields a summary needs, or fails.
#   many: weft fetch --json {"elapsed_s", "ok", "failed", optional "http_errors"} or "elapsed_s=.. ok=.. failed=.." -> "E OK FAILED"
#   load: weft load --json {"requests", "rps", "latency_ms": {"p50", "p99"}} + "cpu_s=.."
#         or wrk's text ("N requests in", "Requests/sec:") + "cpu_s=.."  -> "RPS CPU_US_PER_REQ P50 P99"
parse_py='
import json, re, sys
kind, text = sys.argv[1], sys.stdin.read()
def json_object(text):  # the first JSON object that starts a line (one line or pretty-printed)
    for m in re.finditer(r"^\{", text, re.M):
        try:
            v = json.JSONDecoder().raw_decode(text, m.start())[0]
            if isinstance(v, dict):
                return v
        except ValueError:
            pass
    return None
obj = json_object(text)
if kind == "many":
    if obj is not None:
        # not ok: transport failures plus non-2xx answers (weft fetch counts those apart, as http_errors)
        e, ok = float(obj["elapsed_s"]), int(obj["ok"])
        failed = int(obj["failed"]) + int(obj.get("http_errors", 0))
    else:
        m = re.search(r"elapsed_s=([\d.eE+-]+) ok=(\d+) failed=(\d+)", text)
        e, ok, failed = float(m[1]), int(m[2]), int(m[3])
    print(f"{e:.4f} {ok} {failed}")
else:
    cpu = float(re.search(r"^cpu_s=([\d.]+)", text, re.M)[1])
    p50 = p99 = float("nan")
    if obj is not None:
        reqs, rps = int(obj["requests"]), float(obj["rps"])
        lat = obj.get("latency_ms") or {}
        p50, p99 = float(lat.get("p50", p50)), float(lat.get("p99", p99))
    else:
        reqs = int(re.search(r"(\d+) requests in", text)[1])
        rps = float(re.search(r"Requests/sec:\s*([\d.]+)", text)[1])
    if reqs <= 0:
        sys.exit(1)
    print(f"{rps:.1f} {cpu * 1e6 / reqs:.4f} {p50} {p99}")
'

results="$work/results.txt"
: >"$results"

# One client run: records "<section> <client> <fields...>" in $results, or says why it could not.
record() {  # section client kind command...
  local section=$1 client=$2 kind=$3
  shift 3
  local out rc=0 fields
  out=$(timeout -k 5 "$limit" "$@" 2>"$work/stderr") || rc=$?
  if fields=$(python3 -c "$parse_py" "$kind" <<<"$out" 2>/dev/null); then
    echo "$section $client $fields" >>"$results"
    if ((rc != 0)) || [[ -s $work/stderr ]]; then
      echo "  ($client: exit status $rc; stderr: $(tail -n 2 "$work/stderr" | tr '\n' ' ' | cut -c1-300))"
    fi
  else
    echo "  ($client: no result, exit status $rc$( ((rc == 124 || rc == 137)) && echo ", stopped after ${limit} s"); stderr: $(tail -n 3 "$work/stderr" | tr '\n' ' ' | cut -c1-300))"
  fi
}

stop() {  # pid: SIGTERM, then SIGKILL if it has not ended within 5 s
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

have_weft_cmd() {  # subcommand: does this weft have it?
  [[ -x $weft ]] && "$weft" "$1" --help >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------------------
# (a) N concurrent GETs to /delay/1, one connection each.
section_many() {
  if ! have_weft_cmd serve || ! have_weft_cmd fetch; then
    echo "(concurrent GETs: $weft with 'serve' and 'fetch' not found: skipped)"
    return 0
  fi
  local clients=(weft)
  if command -v go >/dev/null; then
    if GOCACHE="$work/gocache" GO111MODULE=off go build -o "$work/go_many" "$here/go_many.go" 2>"$work/go_build.err"; then
      clients+=(go)
    else echo "(go_many.go did not build: Go skipped: $(head -c 300 "$work/go_build.err"))"; fi
  else echo "(go not installed: Go skipped)"; fi
  if command -v node >/dev/null; then clients+=(node); else echo "(node not installed: Node skipped)"; fi
  if (($(ulimit -n) < n + 100)); then
    echo "(note: descriptor limit $(ulimit -n) is below N=$n plus slack: expect failures)"
  fi

  "$weft" serve --port 0 --threads 1 --max-connections 30000 >"$work/serve.out" 2>"$work/serve.err" &
  local spid=$! dport=""
  for _ in $(seq 100); do
    dport=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\)/.*|\1|p' "$work/serve.out" | head -n 1)
    [[ -n $dport ]] && break
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $dport ]] || ! curl -s -f -o /dev/null --max-time 5 "http://127.0.0.1:$dport/delay/0"; then
    echo "(concurrent GETs: weft serve did not start: $(head -c 300 "$work/serve.err"): skipped)"
    stop "$spid"
    return 0
  fi
  local url="http://127.0.0.1:$dport/delay/1"
  echo "== $n concurrent GETs to /delay/1, one connection each, all at once, against weft serve (1 thread) (${reps} runs, taking turns)"
  local r c
  for ((r = 0; r < reps; r++)); do
    for c in "${clients[@]}"; do
      case $c in
        weft) record many weft many "$weft" fetch "$url" -n "$n" -c "$n" --threads 0 --quiet --json ;;
        go) record many go many "$work/go_many" "$url" "$n" ;;
        node) record many node many node "$here/node_many.js" "$url" "$n" ;;
      esac
      sleep 2
    done
  done
  stop "$spid"
}

# ---------------------------------------------------------------------------------------------------
# (b) weft load against wrk, both on CPU 0, driving nginx on CPU 1.
section_load() {
  if ! have_weft_cmd load; then
    echo "(load: $weft with 'load' not found: skipped)"
    return 0
  fi
  local missing=""
  for p in nginx wrk; do command -v "$p" >/dev/null || missing+=" $p"; done
  if [[ -n $missing ]]; then
    echo "(load: not installed:$missing: skipped)"
    return 0
  fi
  local nport
  nport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$work/nginx/logs"
  sed "s|:PORT;|:$nport;|; s|PREFIX|$work/nginx|g" "$here/../http/nginx.conf" >"$work/nginx/nginx.conf"
  taskset -c 1 nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" >/dev/null 2>&1 &
  local npid=$! url="http://127.0.0.1:$nport/" up=""
  for _ in $(seq 100); do
    if curl -s -f -o /dev/null --max-time 2 "$url"; then up=1; break; fi
    kill -0 "$npid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $up ]]; then
    echo "(load: nginx did not start: skipped)"
    stop "$npid"
    return 0
  fi
  echo "== weft load vs wrk -t1: nginx (1 worker) on CPU 1, each client on CPU 0, -c $conns, ${secs} s runs (${reps} runs, taking turns)"
  taskset -c 0 timeout -k 5 "$limit" wrk -t1 -c"$conns" -d1s "$url" >/dev/null 2>&1 || true  # warm-up
  local r c order
  for ((r = 0; r < reps; r++)); do
    if ((r % 2 == 0)); then order=(wrk weft); else order=(weft wrk); fi
    for c in "${order[@]}"; do
      case $c in
        wrk) record load wrk load python3 -c "$cpu_py" taskset -c 0 wrk -t1 -c"$conns" -d"${secs}s" "$url" ;;
        weft) record load weft load python3 -c "$cpu_py" taskset -c 0 "$weft" load "$url" -c "$conns" -d "${secs}s" --json ;;
      esac
    done
  done
  stop "$npid"
}

section_many
section_load

python3 - "$results" "$n" "$conns" <<'PY'
import math, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault((f[0], f[1]), []).append([float(x) for x in f[2:]])
n, conns = sys.argv[2], sys.argv[3]
def med(section, client, i):
    v = rows.get((section, client))
    if not v:
        return None
    xs = [x[i] for x in v if not math.isnan(x[i])]
    return statistics.median(xs) if xs else None
def ratio(a, b):
    return a / b if a is not None and b else None
def verdict(x, ok):
    return "-" if x is None else f"{x:.2f}x ({'met' if ok(x) else 'NOT met'})"

clients = [c for c in ("weft", "go", "node") if ("many", c) in rows]
if clients:
    print(f"== {n} concurrent GETs to /delay/1, one connection each: medians")
    print(f"  {'client':6s} {'elapsed s':>9s}   ok per run / failed per run")
    for c in clients:
        runs = rows[("many", c)]
        print(f"  {c:6s} {med('many', c, 0):9.3f}   {','.join(str(int(r[1])) for r in runs)} / "
              f"{','.join(str(int(r[2])) for r in runs)}")
    w = med("many", "weft", 0)
    if w is not None:
        all_ok = all(int(r[1]) == int(n) and int(r[2]) == 0 for r in rows[("many", "weft")])
        print(f"  weft: {w:.3f} s (target: at most 1.5 s, every request ok: "
              f"{'met' if w <= 1.5 and all_ok else 'NOT met'})")
        print(f"  weft / Go:   {verdict(ratio(w, med('many', 'go', 0)), lambda x: x <= 0.5)} (target: at most 0.5x)")
        wn = ratio(w, med("many", "node", 0))
        print(f"  weft / Node: {'-' if wn is None else f'{wn:.2f}x'} (no target)")

if ("load", "wrk") in rows or ("load", "weft") in rows:
    print(f"== weft load vs wrk -t1 against nginx, -c {conns}: medians")
    print(f"  {'client':6s} {'req/s':>10s} {'CPU us/req':>10s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for c in ("wrk", "weft"):
        if ("load", c) not in rows:
            continue
        p50, p99 = med("load", c, 2), med("load", c, 3)
        f = lambda x: f"{x:8.3f}" if x is not None else f"{'-':>8s}"
        print(f"  {c:6s} {med('load', c, 0):10.0f} {med('load', c, 1):10.3f} {f(p50)} {f(p99)}")
    print(f"  req/s, weft / wrk:        {verdict(ratio(med('load', 'weft', 0), med('load', 'wrk', 0)), lambda x: x >= 1.0)} (target: at least 1.0x)")
    print(f"  CPU per request, weft / wrk: {verdict(ratio(med('load', 'weft', 1), med('load', 'wrk', 1)), lambda x: x <= 1.0)} (target: at most 1.0x)")
    print("  (CPU: user+sys of each client process over its whole run, start-up included; wrk has no percentiles here)")
PY
