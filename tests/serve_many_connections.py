#!/usr/bin/python3
"""10,000 concurrent connections to `weft serve`, all open at once, each answered.

Opens N connections (non-blocking, from one selector loop), sends `GET /get` on every one only once all
are connected, and reads each response to the end of its JSON body. Every one must be a 200 that names
its own request (a per-connection `Request-Id` header echoed back). Then the server must still answer a
fresh connection.

usage: serve_many_connections.py PATH_TO_WEFT [N]
"""
import json
import re
import resource
import selectors
import socket
import subprocess
import sys
import time

weft = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard < n + 100:
    sys.exit(f"RLIMIT_NOFILE hard limit {hard} is below {n + 100}")
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

extra = sys.argv[3:]  # more options for weft serve (--threads N)
server = subprocess.Popen([weft, "serve", "--port", "0", "--max-connections", str(n + 10),
                           "--keep-alive-timeout", "60"] + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    port = int(re.search(r"127\.0\.0\.1:(\d+)", server.stdout.readline()).group(1))
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        conns.append(s)
    # Wait until every connect finished.
    pending = set(range(n))
    for i, s in enumerate(conns):
        sel.register(s, selectors.EVENT_WRITE, i)
    deadline = time.time() + 60
    while pending and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                sys.exit(f"connection {key.data} failed: {err}")
            pending.discard(key.data)
            sel.unregister(key.fileobj)
    if pending:
        sys.exit(f"{len(pending)} connections did not complete")
    # All n are open at once: now every one sends its request.
    bodies = [b""] * n
    for i, s in enumerate(conns):
        s.sendall(f"GET /get HTTP/1.1\r\nHost: x\r\nRequest-Id: {i}\r\n\r\n".encode())
        sel.register(s, selectors.EVENT_READ, i)
    done = 0
    while done < n and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            i = key.data
            chunk = key.fileobj.recv(65536)
            if not chunk:
                sys.exit(f"connection {i} closed early: {bodies[i][:200]!r}")
            bodies[i] += chunk
            head, sep, body = bodies[i].partition(b"\r\n\r\n")
            m = re.search(rb"Content-Length: (\d+)", head)
            if sep and m and len(body) >= int(m.group(1)):
                if not head.startswith(b"HTTP/1.1 200 OK"):
                    sys.exit(f"connection {i}: {head[:100]!r}")
                if json.loads(body)["headers"]["Request-Id"] != str(i):
                    sys.exit(f"connection {i} got another's response")
                sel.unregister(key.fileobj)
                done += 1
    if done < n:
        sys.exit(f"only {done} of {n} responses arrived")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /ip HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        if not s.recv(100).startswith(b"HTTP/1.1 200 OK"):
            sys.exit("a fresh connection was not served")
    for s in conns:
        s.close()
finally:
    server.terminate()
    server.wait(timeout=20)
