#!/usr/bin/python3
"""Differential test: `weft serve` against Debian's python3-httpbin (0.7) under gunicorn's gthread worker.

Both servers get the same requests from urllib; status codes, the headers httpbin's clients rely on,
and bodies (JSON compared as data) must match, after normalising what legitimately differs: the port
in URLs and Host, random output (/uuid, /bytes), and the Date/Server/Content-Length headers.

usage: httpbin_diff.py PATH_TO_WEFT
"""
import base64
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

from peers import free_port, wait_listening


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(NoRedirect)


def fetch(port, method, path, headers, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers)
    try:
        with opener.open(req, timeout=15) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


COMPARED_HEADERS = ["Content-Type", "Location", "Content-Range", "Accept-Ranges", "ETag", "Content-Encoding",
                    "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "WWW-Authenticate",
                    "Access-Control-Allow-Methods", "Access-Control-Max-Age", "Access-Control-Allow-Headers"]


def normalise(value, port):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("Host",):
                continue
            if k == "Content-Length" and isinstance(v, str):
                continue  # framing: both are right for their own encodings
            out[k] = normalise(v, port)
        return out
    if isinstance(value, list):
        return [normalise(v, port) for v in value]
    if isinstance(value, str):
        return value.replace(f"127.0.0.1:{port}", "127.0.0.1:PORT")
    return value


def body_of(raw, headers, port, path):
    encoding = headers.get("Content-Encoding")
    if encoding in ("gzip", "deflate"):
        import zlib
        raw = zlib.decompress(raw, 31 if encoding == "gzip" else 15)
    ctype = headers.get("Content-Type") or ""
    if path.startswith(("/bytes", "/stream-bytes")):
        return len(raw)  # random content: only the length must agree
    if path.startswith("/uuid"):
        return re.fullmatch(rb'\{\s*"uuid":\s*"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\s*\}\s*',
                            raw) is not None
    if path.startswith("/stream/"):
        return [normalise(json.loads(line), port) for line in raw.splitlines()]
    if "json" in ctype:
        return normalise(json.loads(raw), port)
    if path.startswith(("/redirect", "/relative-redirect", "/absolute-redirect", "/status")):
        return None  # Werkzeug's HTML boilerplate
    return raw.replace(str(port).encode(), b"PORT")


CASES = [
    ("GET", "/get", {}, None),
    ("GET", "/get?a=1&a=2&b=three&c=", {"Request-Id": "7", "X-Custom-Thing": "v"}, None),
    ("GET", "/get?show_env=1", {"X-Forwarded-For": "10.0.0.9"}, None),
    ("POST", "/post", {"Content-Type": "application/json"}, b'{"k": [1, 2, {"n": null}]}'),
    ("POST", "/post", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=1&a=2&b=%20x+y"),
    ("POST", "/post", {"Content-Type": "text/plain"}, b"plain text"),
    ("POST", "/post", {"Content-Type": "application/octet-stream"}, b"\xff\xfe\x00binary"),
    ("PUT", "/put", {"Content-Type": "application/json"}, b'{"x": 1}'),
    ("PATCH", "/patch", {}, b"patch body"),
    ("DELETE", "/delete", {}, None),
    ("GET", "/anything", {}, None),
    ("POST", "/anything/deep/path?q=1", {"Content-Type": "application/json"}, b'[1,2]'),
    ("DELETE", "/anything/x", {}, None),
    ("GET", "/headers", {"Request-Id": "42", "x-lower-case": "1", "X-B3-TraceId": "abc"}, None),
    ("GET", "/ip", {}, None),
    ("GET", "/user-agent", {"User-Agent": "weft-diff/1.0"}, None),
    ("GET", "/uuid", {}, None),
    ("GET", "/status/200", {}, None),
    ("GET", "/status/204", {}, None),
    ("GET", "/status/302", {}, None),
    ("GET", "/status/401", {}, None),
    ("GET", "/status/402", {}, None),
    ("GET", "/status/404", {}, None),
    ("GET", "/status/406", {}, None),
    ("GET", "/status/418", {}, None),
    ("POST", "/status/500", {}, b""),
    ("GET", "/status/abc", {}, None),
    ("GET", "/delay/0", {}, None),
    ("GET", "/delay/.2?x=y", {"Request-Id": "3"}, None),
    ("GET", "/bytes/1000", {}, None),
    ("GET", "/stream-bytes/3000?chunk_size=1000", {}, None),
    ("GET", "/stream/3", {}, None),
    ("GET", "/range/26", {}, None),
    ("GET", "/range/26", {"Range": "bytes=2-5"}, None),
    ("GET", "/range/26", {"Range": "bytes=-3"}, None),
    ("GET", "/range/26", {"Range": "bytes=30-40"}, None),
    ("GET", "/range/0", {}, None),
    ("GET", "/gzip", {}, None),
    ("GET", "/deflate", {}, None),
    ("GET", "/base64/SFRUUEJJTiBpcyBhd2Vzb21l", {}, None),
    ("GET", "/redirect/1", {}, None),
    ("GET", "/redirect/3", {}, None),
    ("GET", "/relative-redirect/2", {}, None),
    ("GET", "/cookies", {"Cookie": "a=1; b=two"}, None),
    ("GET", "/basic-auth/user/pw", {"Authorization": "Basic " + base64.b64encode(b"user:pw").decode()}, None),
    ("GET", "/basic-auth/user/pw", {"Authorization": "Basic " + base64.b64encode(b"user:no").decode()}, None),
    ("GET", "/basic-auth/user/pw", {}, None),
    ("OPTIONS", "/get", {"Origin": "http://example.com", "Access-Control-Request-Headers": "X-A"}, None),
    ("GET", "/get", {"Origin": "http://example.com"}, None),
    ("GET", "/drip?duration=0.2&numbytes=4", {}, None),
]


def main():
    weft = sys.argv[1]
    py_port, weft_port = free_port(), free_port()
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    ref = subprocess.Popen(["/usr/bin/python3", "-m", "gunicorn", "-k", "gthread", "--threads", "8", "-b",
                            f"127.0.0.1:{py_port}", "httpbin:app"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ours = subprocess.Popen([weft, "serve", "--port", str(weft_port)] + sys.argv[2:], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    failures = []
    try:
        wait_listening(py_port, ref, "gunicorn httpbin")
        wait_listening(weft_port, ours, "weft serve")
        for method, path, headers, body in CASES:
            results = []
            for port in (py_port, weft_port):
                status, hdrs, raw = fetch(port, method, path, headers, body)
                picked = {h: normalise(hdrs.get(h), port) for h in COMPARED_HEADERS if hdrs.get(h) is not None}
                if "Location" in picked:
                    picked["Location"] = picked["Location"].replace("localhost", "127.0.0.1:PORT")
                results.append((status, picked, body_of(raw, hdrs, port, path)))
            if results[0] != results[1]:
                failures.append(f"{method} {path} {headers}\n  httpbin: {results[0]}\n  weft:    {results[1]}")
    finally:
        for p in (ref, ours):
            p.send_signal(signal.SIGTERM)
        for p in (ref, ours):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    if ours.returncode not in (0, -signal.SIGTERM):
        failures.append(f"weft serve exited with {ours.returncode} after SIGTERM")
    if failures:
        print(f"{len(failures)} of {len(CASES)} cases differ:\n" + "\n".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
