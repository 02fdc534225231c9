#!/usr/bin/env bash
# `weft load` from one process against the same load from 2 MPI ranks (same total connections), at
# `weft serve` on this machine: requests per second, and the load generator's CPU per request (user +
# system of the process, or of mpirun and its ranks). Alternating runs; medians.
# Usage: bench/mpi/load.sh BUILD_DIR [RUNS]
set -euo pipefail
build=${1:?usage: bench/mpi/load.sh BUILD_DIR [RUNS]}
runs=${2:-3}
weft=$build/tools/weft/weft
port=18183
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$weft" serve -p $port -t 1 >/dev/null 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
sleep 0.5
out=$(mktemp)
args=("http://127.0.0.1:$port/get" -c 64 -d 4s -t 1 --json)
for ((i = 0; i < runs; i++)); do
  /usr/bin/time -f "cpu %U %S" -o "$out.time" "$weft" load "${args[@]}" >"$out.json"
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("one", j["requests"], j["rps"], open(sys.argv[2]).read().split()[1:])' "$out.json" "$out.time" >>"$out"
  /usr/bin/time -f "cpu %U %S" -o "$out.time" mpirun --oversubscribe --bind-to none -np 2 "$weft" load "${args[@]}" >"$out.json"
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("two", j["requests"], j["rps"], open(sys.argv[2]).read().split()[1:])' "$out.json" "$out.time" >>"$out"
done
python3 - "$out" <<'PY'
import ast, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kind, n, rps, cpu = line.split(" ", 3)
    u, s = (float(x) for x in ast.literal_eval(cpu))
    rows.setdefault(kind, []).append((float(rps), (u + s) / int(n) * 1e6))
for kind, name in (("one", "1 process "), ("two", "2 MPI ranks")):
    rps = statistics.median(r for r, _ in rows[kind])
    cpu = statistics.median(c for _, c in rows[kind])
    print(f"  {name}  {rps:9.0f} req/s   {cpu:6.2f} µs of load-generator CPU a request")
PY
rm -f "$out" "$out.json" "$out.time"
