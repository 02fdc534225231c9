#!/usr/bin/python3
"""Server memory per idle keep-alive connection.

Opens N connections to 127.0.0.1:PORT, sends one keep-alive GET on each and reads its response, then
reads the server's VmRSS (and its children's) and prints `kib_per_conn=<x>`: (RSS after - RSS before) / N.

usage: idle_memory.py PORT PID N
"""
import os
import resource
import socket
import sys


def rss_kib(pid):
    total = 0
    pids = [pid]
    try:
        pids += [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        pass
    for p in pids:
        for line in open(f"/proc/{p}/status"):
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 100), hard))
before = rss_kib(pid)
socks = []
request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request)
    socks.append(s)
for s in socks:
    got = b""
    while b"Hello, World!" not in got:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("server closed a connection")
        got += chunk
after = rss_kib(pid)
print(f"kib_per_conn={(after - before) / n:.2f}")
