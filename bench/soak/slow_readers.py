#!/usr/bin/env python3
# Usage: bench/soak/slow_readers.py PATH/TO/weft   (the figure in issue 14: 50 slow readers, --max-connections 60)
# 50 slow readers against weft serve --max-connections 60 --send-timeout 5: each pipelines 200 requests
# for 100 KB bodies and never reads. Prints how many connections the server holds over time, and what
# a fresh request gets.
import socket, subprocess, sys, time, re, urllib.request
weft = sys.argv[1]
srv = subprocess.Popen([weft, "serve", "--port", "0", "--max-connections", "60", "--send-timeout", "5"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
port = None
for _ in range(50):
    line = srv.stdout.readline()
    m = re.search(r":(\d+)", line)
    if m: port = int(m.group(1)); break
def established():
    out = subprocess.run(["ss", "-tnH", "state", "established", "( sport = :%d )" % port], capture_output=True, text=True).stdout
    return len([l for l in out.splitlines() if l.strip()])
def fresh():
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/get" % port, timeout=5) as r: return r.status
    except Exception as e: return repr(e)
readers = []
req = b"GET /bytes/100000 HTTP/1.1\r\nHost: x\r\n\r\n" * 200
for i in range(50):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port)); s.setblocking(False)
    try: s.send(req)
    except BlockingIOError: pass
    readers.append(s)
t0 = time.time()
time.sleep(1)
print("after 1 s: server-side connections %d, fresh request: %s" % (established(), fresh()))
time.sleep(7)
print("after %.0f s (send timeout 5 s): server-side connections %d, fresh request: %s" % (time.time() - t0, established(), fresh()))
srv.terminate(); srv.wait()
