#!/usr/bin/python3
"""What a client that never reads its answers costs `weft serve`: server memory (VmRSS growth) and kernel
send queue (tx_queue in /proc/net/tcp) per connection, for the attacks of issue 23: a 1 MiB POST to
/anything whose response is never read, and 40 pipelined GET /bytes/102400 never read. Each client
holds its receive buffer at 16 KiB, so what it does not read queues on the server's side.

usage: bench/stalled_peers.py PATH_TO_WEFT [CONNECTIONS] [-- weft serve options, e.g. --send-buffer 0]
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from peers import free_port, wait_listening  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def send_queue(port):
    """Bytes queued on the server's established sockets on `port`, and how many sockets."""
    total = sockets = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1].endswith(":%04X" % port) and fields[3] == "01":
                total += int(fields[4].split(":")[0], 16)
                sockets += 1
    return total, sockets


def attack(weft, serve_options, name, request, connections):
    port = free_port()
    server = subprocess.Popen([weft, "serve", "--port", str(port)] + serve_options,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, server, "weft serve")
        time.sleep(0.3)
        before = rss_kib(server.pid)
        clients = []
        for _ in range(connections):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            s.connect(("127.0.0.1", port))
            s.sendall(request)
            clients.append(s)
        time.sleep(3)
        grown = rss_kib(server.pid) - before
        queued, sockets = send_queue(port)
        print(f"{name:42} {connections} connections: server memory +{grown / connections:6.0f} KiB each, "
              f"kernel send queue {queued / max(sockets, 1) / 1024:6.0f} KiB each")
        for s in clients:
            s.close()
    finally:
        server.terminate()
        server.wait()


def main():
    args = sys.argv[1:]
    serve_options = args[args.index("--") + 1:] if "--" in args else []
    args = args[:args.index("--")] if "--" in args else args
    weft = args[0]
    connections = int(args[1]) if len(args) > 1 else 50
    body = b"x" * (1 << 20)
    attack(weft, serve_options, "1 MiB POST /anything, answer never read",
           b"POST /anything HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body, connections)
    attack(weft, serve_options, "40 pipelined GET /bytes/102400, never read",
           b"GET /bytes/102400 HTTP/1.1\r\nHost: x\r\n\r\n" * 40, connections)


if __name__ == "__main__":
    main()
