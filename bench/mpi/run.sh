#!/usr/bin/env bash
# weft::mpi against raw MPI, and parallel_map's scaling over ranks, alternating runs; medians and ratios.
# Usage: bench/mpi/run.sh BUILD_DIR [RUNS]      (part of make bench when weft::mpi is built)
set -euo pipefail
build=${1:?usage: bench/mpi/run.sh BUILD_DIR [RUNS]}
runs=${2:-5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun=(mpirun --oversubscribe --bind-to none --mca btl_vader_single_copy_mechanism none)
out=$(mktemp)
echo "== 8-byte ping-pong between 2 ranks, 100,000 round trips (${runs} runs each, alternating; medians)"
for ((i = 0; i < runs; i++)); do
  "${mpirun[@]}" -np 2 "$build/bench/mpi/mpi_pingpong" raw 100000 >>"$out"
  "${mpirun[@]}" -np 2 "$build/bench/mpi/mpi_pingpong" weft 100000 >>"$out"
done
items=${WEFT_BENCH_MAP_ITEMS:-20000}
echo "== parallel_map of ${items} items of ~0.1 ms, one compute thread a rank: 1 rank against 2 (${runs} runs each)"
for ((i = 0; i < runs; i++)); do
  WEFT_COMPUTE_THREADS=1 "${mpirun[@]}" -x WEFT_COMPUTE_THREADS -np 1 "$build/bench/mpi/mpi_map" "$items" >>"$out"
  WEFT_COMPUTE_THREADS=1 "${mpirun[@]}" -x WEFT_COMPUTE_THREADS -np 2 "$build/bench/mpi/mpi_map" "$items" >>"$out"
done
python3 - "$out" <<'PY'
import re, statistics, sys
rt, maps = {}, {}
for line in open(sys.argv[1]):
    if m := re.match(r"(\w+) exchanges=\d+ round_trip_us=([\d.]+)", line):
        rt.setdefault(m[1], []).append(float(m[2]))
    elif m := re.match(r"ranks=(\d+) items=\d+ seconds=([\d.]+)", line):
        maps.setdefault(int(m[1]), []).append(float(m[2]))
raw, weft = statistics.median(rt["raw"]), statistics.median(rt["weft"])
print(f"  raw MPI   {raw:8.2f} µs a round trip")
print(f"  weft::mpi {weft:8.2f} µs a round trip      weft / raw: {weft / raw:.2f}x")
one, two = statistics.median(maps[1]), statistics.median(maps[2])
print(f"  1 rank    {one:8.3f} s")
print(f"  2 ranks   {two:8.3f} s                  speed-up: {one / two:.2f}x")
PY
rm -f "$out"
