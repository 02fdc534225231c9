#!/usr/bin/env python3
# Usage: bench/soak/stalled_memory.py PATH/TO/weft [N]   (raise `ulimit -n` above N first)
# weft serve's RSS with 1,000 connections whose responses cannot be written: each client pipelines
# 100 requests for 100 KB bodies and never reads. The server must stop reading their requests
# (backpressure), so its memory stays bounded per connection.
import re, socket, subprocess, sys, time
weft = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
srv = subprocess.Popen([weft, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
port = int(re.search(r":(\d+)/", srv.stdout.readline()).group(1))
def rss():
    return int(re.search(r"VmRSS:\s+(\d+)", open("/proc/%d/status" % srv.pid).read()).group(1)) / 1024
def fds():
    import os
    return len(os.listdir("/proc/%d/fd" % srv.pid))
import urllib.request
for _ in range(200): urllib.request.urlopen("http://127.0.0.1:%d/bytes/100000" % port).read()
base = rss()
req = b"GET /bytes/100000 HTTP/1.1\r\nHost: x\r\n\r\n" * 100
socks = []
for i in range(n):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port)); s.setblocking(False)
    try: s.send(req)
    except BlockingIOError: pass
    socks.append(s)
time.sleep(5)
held = rss()
print("%d stalled connections: server RSS %.1f MB (baseline %.1f MB): %.1f KiB per connection; %d descriptors"
      % (n, held, base, (held - base) * 1024 / n, fds()))
for s in socks: s.close()
srv.terminate(); srv.wait()
