#!/usr/bin/env bash
# Packs what bench/device/run.sh needs into one folder that runs on another x86-64 Linux machine with
# nothing installed (a lent 16-core machine with no network): the benchmark binaries of BUILD_DIR
# (`make bench` builds build-bench), wrk, and every shared library they load, with the loader.
#
# Usage: bench/device/bundle.sh BUILD_DIR OUT_DIR      then, there: OUT_DIR/run.sh
set -euo pipefail
build=$(cd "${1:?usage: bundle.sh BUILD_DIR OUT_DIR}" && pwd)
out=${2:?usage: bundle.sh BUILD_DIR OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/lib"
bins=("$build/examples/hello_server" "$build/bench/http/asio_hello" "$build/bench/http/raw_epoll"
      "$build/bench/bench_timers" "$build/bench/bench_tasks" "$(command -v wrk)")
cp "${bins[@]}" "$out/"
for b in "${bins[@]}"; do
  ldd "$b" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | xargs -r cp -L -t "$out/lib/"
done
cp /lib64/ld-linux-x86-64.so.2 "$out/lib/"
cp "$here/run.sh" "$out/run.sh"
cp "$here/../http/pipeline.lua" "$out/"
echo "bundled into $out ($(du -sh "$out" | cut -f1))"
