#!/usr/bin/python3
"""The seed's concurrent-requests gist, run by Node against `weft serve`.

Five requests to /delay/.N1 with a `request-id` header go out at once; each id must come back in
httpbin's JSON (`headers['Request-Id']`). With Math.random pinned (seed/slowest_delays.js) every path is
/delay/.41, the gist's longest: served concurrently, all five arrive after about 0.41 s; one at a time
they would take 2.05 s.

usage: seed_gist.py PATH_TO_WEFT PATH_TO_GIST_JS PATH_TO_PRELOAD_JS
"""
import os
import re
import subprocess
import sys
import time

weft, gist, preload = sys.argv[1], sys.argv[2], sys.argv[3]
server = subprocess.Popen([weft, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    line = server.stdout.readline()
    m = re.search(r"127\.0\.0\.1:(\d+)", line)
    if not m:
        sys.exit(f"weft serve did not say where it listens: {line!r}")
    # Timed from the gist's first line (printed just before it fires the requests) to its last, so that
    # Node's start-up, slow on a loaded machine, does not count.
    node = subprocess.Popen(["node", "-r", os.path.abspath(preload), gist, m.group(1)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines, stamps = [], []
    for line in node.stdout:
        lines.append(line.rstrip("\n"))
        stamps.append(time.monotonic())
    node.wait(timeout=30)
    err = node.stderr.read()
finally:
    server.terminate()
    server.wait(timeout=10)

if node.returncode != 0 or not lines or lines[0] != "Running concurrent requests!":
    sys.exit(f"gist failed ({node.returncode}): {lines!r} {err!r}")
elapsed = stamps[-1] - stamps[0]
ids = lines[1:]
if sorted(ids) != ["0", "1", "2", "3", "4"]:
    sys.exit(f"expected the ids 0..4 once each, got {ids}")
if elapsed < 0.41:
    sys.exit(f"took {elapsed:.2f} s: shorter than one /delay/.41")
if elapsed > 1.6:
    sys.exit(f"took {elapsed:.2f} s: the requests did not run concurrently")
