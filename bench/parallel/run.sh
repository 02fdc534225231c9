#!/usr/bin/env bash
# The parallel runtime against its peers in the same run: Go (spawn, channel ping-pong), oneTBB and
# OpenMP (parallel_for). Prints medians of WEFT_BENCH_REPS runs and the ratios the issue asks for.
# Usage: bench/parallel/run.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: bench/parallel/run.sh BUILD_DIR}" && pwd)
reps=${WEFT_BENCH_REPS:-5}
workers=${WEFT_PARALLEL_WORKERS:-2}
bin="$build/bench/parallel/parallel_bench"
out="$build/bench_parallel.txt"
: >"$out"

gobin="$build/bench/parallel/go_spawn"
(cd "$(dirname "$0")" && GOCACHE="$build/.gocache" GO111MODULE=off go build -o "$gobin" go_spawn.go)

echo "== spawn: 8 spawner tasks x 125k trivial tasks on ${workers} workers; channel ping-pong, 200k round trips (${reps} runs, alternating)"
for ((i = 0; i < reps; i++)); do
  "$bin" spawn "$workers" 8 125000 >>"$out"
  GOMAXPROCS=$workers "$gobin" spawn 8 125000 >>"$out"
  "$bin" pingpong 1 200000 >>"$out"
  "$bin" pingpong "$workers" 200000 >>"$out"
  GOMAXPROCS=$workers "$gobin" pingpong 200000 >>"$out"
done
echo "== parallel_for: weft, oneTBB, OpenMP (dynamic) and one thread, 3 interleaved runs each per process"
for ((i = 0; i < reps; i++)); do
  OMP_NUM_THREADS=$workers TBB_NUM_THREADS=$workers WEFT_COMPUTE_THREADS=$workers "$bin" pfor mandelbrot >>"$out"
  OMP_NUM_THREADS=$workers TBB_NUM_THREADS=$workers WEFT_COMPUTE_THREADS=$workers "$bin" pfor sqrt >>"$out"
done

python3 - "$out" <<'PY'
import re, statistics, sys
vals = {}
for line in open(sys.argv[1]):
    f = line.split()
    kv = dict(x.split("=", 1) for x in f[2:] if "=" in x)
    if f[0] == "spawn":
        vals.setdefault(("spawn", f[1]), []).append(float(kv["ns_per_task"]))
    elif f[0] == "pingpong":
        vals.setdefault(("pingpong", f[1] + "/" + kv["workers"]), []).append(float(kv["ns_per_round_trip"]))
    elif f[0] == "pfor":
        vals.setdefault(("pfor " + f[1], f[2]), []).append(float(kv["ms"]))
med = {k: statistics.median(v) for k, v in vals.items()}
for (what, who), m in sorted(med.items()):
    unit = "ms" if what.startswith("pfor") else "ns"
    print(f"  {what:16s} {who:10s} {m:10.1f} {unit}")
def show(label, a, b):
    if a in med and b in med:
        print(f"  {label:58s} {med[a] / med[b]:6.2f}x")
print("ratios:")
show("spawn: weft ns/task / Go ns/task (target <= 0.33)", ("spawn", "weft"), ("spawn", "go"))
for k in sorted(k for k in med if k[0] == "pingpong" and k[1].startswith("weft")):
    gk = [g for g in med if g[0] == "pingpong" and g[1].startswith("go")]
    if gk:
        show(f"ping-pong: weft ({k[1].split('/')[1]} workers) / Go (target <= 0.5)", k, gk[0])
for kern in ("mandelbrot", "sqrt"):
    w = ("pfor " + kern, "weft")
    show(f"parallel_for {kern}: weft time / oneTBB time (target <= 1.0)", w, ("pfor " + kern, "tbb"))
    show(f"parallel_for {kern}: weft time / OpenMP time (target <= 1.0)", w, ("pfor " + kern, "openmp"))
    if w in med and ("pfor " + kern, "serial") in med:
        print(f"  {'parallel_for ' + kern + ': speedup over one thread (target >= 1.9)':58s} {med[('pfor ' + kern, 'serial')] / med[w]:6.2f}x")
PY
