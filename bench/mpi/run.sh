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
# Each rank bound to one core (--bind-to core): one rank has one core, two ranks have two, as ranks on
# one-core machines would. (Unbound, one rank's compute pool already uses every core of this machine.)
echo "== parallel_map of ${items} CPU-bound items, each rank bound to one core: 1 rank against 2 (${runs} runs each)"
bound=(mpirun --oversubscribe --bind-to core --mca btl_vader_single_copy_mechanism none)
for ((i = 0; i < runs; i++)); do
  "${bound[@]}" -np 1 "$build/bench/mpi/mpi_map" "$items" >>"$out"
  "${bound[@]}" -np 2 "$build/bench/mpi/mpi_map" "$items" >>"$out"
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
echo "== weft load from 1 process against 2 MPI ranks, 64 connections in all, at weft serve on this machine"
"$(dirname "$0")/load.sh" "$build"
