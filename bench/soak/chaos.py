#!/usr/bin/env python3
"""Hostile clients against an HTTP server on 127.0.0.1, for bench/soak/run.sh.

    chaos.py PORT SECONDS [PER_KIND] [LIMIT_S]

Runs PER_KIND connections of each kind at once (each reconnects when its connection ends) for SECONDS:
slow readers, slowloris headers, dribbled bodies, resets mid-body, half-closes, garbage, oversized
requests, and connect-and-idle. Each connection records how long the server kept it open, and how it
ended. A connection the server holds past LIMIT_S (the server's longest timeout plus a margin) is
counted as overdue: the soak fails on any. One JSON line on stdout at the end.
"""
import asyncio
import json
import socket
import sys
import time

PORT = int(sys.argv[1])
SECONDS = float(sys.argv[2])
PER_KIND = int(sys.argv[3]) if len(sys.argv) > 3 else 10
LIMIT_S = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0

stats = {}  # kind -> {"connections": n, "closed_by_server": n, "overdue": n, "longest_s": x}


def note(kind, held_s, closed_by_server):
    s = stats.setdefault(kind, {"connections": 0, "closed_by_server": 0, "overdue": 0, "longest_s": 0.0})
    s["connections"] += 1
    s["closed_by_server"] += 1 if closed_by_server else 0
    s["overdue"] += 1 if held_s > LIMIT_S else 0
    s["longest_s"] = round(max(s["longest_s"], held_s), 2)


async def open_conn(small_buffer=False):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if small_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", PORT))
    return sock


async def until_closed(sock, deadline, read=True):
    """Waits until the server closes (EOF or reset) or the soak ends; True if the server closed."""
    loop = asyncio.get_running_loop()
    while time.monotonic() < deadline:
        try:
            if not read:
                # A slow reader never reads: watch for the close through the socket's error state.
                await asyncio.sleep(0.2)
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
                if err != 0 or info[0] in (7, 8, 9):  # TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LAST_ACK
                    return True
                continue
            data = await asyncio.wait_for(loop.sock_recv(sock, 65536), timeout=max(0.01, deadline - time.monotonic()))
            if not data:
                return True
        except asyncio.TimeoutError:
            return False
        except (ConnectionResetError, BrokenPipeError, OSError):
            return True
    return False


async def send_slowly(sock, data, every, deadline):
    loop = asyncio.get_running_loop()
    for b in data:
        if time.monotonic() >= deadline:
            return False
        try:
            await loop.sock_sendall(sock, bytes([b]))
        except OSError:
            return True
        await asyncio.sleep(every)
    return False


async def slow_reader(deadline):
    sock = await open_conn(small_buffer=True)
    await asyncio.get_running_loop().sock_sendall(sock, b"GET /bytes/100000 HTTP/1.1\r\nHost: x\r\n\r\n" * 100)
    return sock, await until_closed(sock, deadline, read=False)


async def slowloris(deadline):
    sock = await open_conn()
    head = b"GET /get HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 10000 + b"\r\n\r\n"
    if await send_slowly(sock, head, 0.5, deadline):
        return sock, True
    return sock, await until_closed(sock, deadline)


async def dribbled_body(deadline):
    sock = await open_conn()
    await asyncio.get_running_loop().sock_sendall(sock, b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
    if await send_slowly(sock, b"d" * 100000, 0.5, deadline):
        return sock, True
    return sock, await until_closed(sock, deadline)


async def reset_mid_body(deadline):
    sock = await open_conn()
    await asyncio.get_running_loop().sock_sendall(sock, b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"r" * 1000)
    await asyncio.sleep(0.2)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # close with RST
    return sock, False


async def half_close(deadline):
    sock = await open_conn()
    await asyncio.get_running_loop().sock_sendall(sock, b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
    sock.shutdown(socket.SHUT_WR)
    return sock, await until_closed(sock, deadline)


async def garbage(deadline):
    sock = await open_conn()
    await asyncio.get_running_loop().sock_sendall(sock, bytes(range(256)) * 8)
    return sock, await until_closed(sock, deadline)


async def oversized(deadline):
    sock = await open_conn()
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_sendall(sock, b"GET /get HTTP/1.1\r\nHost: x\r\nX-Big: " + b"o" * 100000 + b"\r\n\r\n")
    except OSError:
        return sock, True
    return sock, await until_closed(sock, deadline)


async def idle(deadline):
    sock = await open_conn()
    return sock, await until_closed(sock, deadline)


KINDS = {
    "slow_reader": slow_reader,
    "slowloris_headers": slowloris,
    "dribbled_body": dribbled_body,
    "reset_mid_body": reset_mid_body,
    "half_close": half_close,
    "garbage": garbage,
    "oversized": oversized,
    "connect_and_idle": idle,
}


async def keep_going(kind, fn, end):
    while time.monotonic() < end:
        began = time.monotonic()
        try:
            sock, closed_by_server = await fn(end)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        held = time.monotonic() - began
        if closed_by_server or kind == "reset_mid_body":
            note(kind, held, closed_by_server)
        else:
            note(kind + "_still_open_at_end", held, False)  # cut by the end of the soak, not the server
        sock.close()
        await asyncio.sleep(0.1)  # a misbehaving client, not a flood


async def main():
    end = time.monotonic() + SECONDS
    await asyncio.gather(*(keep_going(k, f, end) for k, f in KINDS.items() for _ in range(PER_KIND)))
    print(json.dumps(stats, sort_keys=True))


asyncio.run(main())
