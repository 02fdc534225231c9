#!/usr/bin/python3
"""`weft serve --metrics-port` scraped by a real Prometheus server (Debian's `prometheus` package).

Sends weft serve a known mix of requests (good ones, 404s, a malformed request, an oversized header
section), reads /metrics directly, then lets Prometheus scrape it every second and reads the same values
back through Prometheus's HTTP query API: the target is up with no scrape error (the exposition parses),
the counters match what was sent, and histogram_quantile works on the latency histogram.

usage: prometheus_scrape.py PATH_TO_WEFT [--threads N]
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from peers import check, failures, free_port, wait_listening

WEFT = sys.argv[1]
THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "2"
PROMETHEUS = shutil.which("prometheus")
GOOD = 20
NOT_FOUND = 3
def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def raw(port, data):
    """Sends bytes on a fresh connection; returns the status line of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    return got.split(b"\r\n", 1)[0].decode(errors="replace")


def samples(text):
    """name{labels} -> value, from the text exposition format."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


def query(prom_port, expr):
    """The instant vector of `expr` as a list of (labels, value)."""
    url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, body = get(url)
    if status != 200:
        return None
    data = json.loads(body)
    if data.get("status") != "success":
        return None
    return [(r["metric"], float(r["value"][1])) for r in data["data"]["result"]]


def main():
    if PROMETHEUS is None:
        sys.exit("prometheus is not installed (scripts/install-deps.sh installs Debian's package)")
    port, mport, pport = free_port(), free_port(), free_port()
    tmp = tempfile.mkdtemp(prefix="weft-prom-")
    serve = subprocess.Popen([WEFT, "serve", "-p", str(port), "--metrics-port", str(mport), "-t", THREADS],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    prom = None
    try:
        wait_listening(port, serve, "weft serve")
        wait_listening(mport, serve, "weft serve's metrics listener")
        for _ in range(GOOD):
            check(get(f"http://127.0.0.1:{port}/get")[0] == 200, "GET /get answered 200")
        for _ in range(NOT_FOUND):
            check(get(f"http://127.0.0.1:{port}/status/404")[0] == 404, "GET /status/404 answered 404")
        check(raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n") == "HTTP/1.1 400 Bad Request",
              "a field without a colon gets 400")
        big = b"GET /get HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
        check(raw(port, big).startswith("HTTP/1.1 431"), "a 20 KB header section gets 431")

        # What /metrics says, read directly.
        status, text = get(f"http://127.0.0.1:{mport}/metrics")
        check(status == 200, "/metrics answers 200")
        s = samples(text)
        check(s.get('weft_http_server_responses_total{class="2xx"}') == GOOD, f"2xx count is {GOOD}")
        check(s.get('weft_http_server_responses_total{class="4xx"}') == NOT_FOUND + 2, "4xx: the 404s, 400 and 431")
        check(s.get('weft_http_server_rejections_total{reason="bad_request"}') == 1, "one bad_request rejection")
        check(s.get('weft_http_server_rejections_total{reason="headers_too_large"}') == 1, "one headers_too_large")
        check(s.get("weft_http_server_request_duration_seconds_count") == GOOD + NOT_FOUND,
              "latency counts each routed request")
        check(s.get("weft_runtime_workers") == float(THREADS), f"weft_runtime_workers is {THREADS}")
        check(s.get("weft_http_server_connections_accepted_total", 0) >= GOOD + NOT_FOUND + 2, "connections accepted")

        # The same through Prometheus.
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: weft
    static_configs:
      - targets: ['127.0.0.1:{mport}']
""")
        prom = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp}/data",
                                 f"--web.listen-address=127.0.0.1:{pport}", "--log.level=warn"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_listening(pport, prom, "prometheus")
        want = {
            'weft_http_server_responses_total{class="2xx"}': GOOD,
            'weft_http_server_rejections_total{reason="bad_request"}': 1,
            'weft_http_server_rejections_total{reason="headers_too_large"}': 1,
            "weft_runtime_workers": float(THREADS),
            'up{job="weft"}': 1,
        }
        got = {}
        deadline = time.time() + 60
        while time.time() < deadline:
            for expr in want:
                r = query(pport, expr)
                if r:
                    got[expr] = r[0][1]
            if all(got.get(k) == v for k, v in want.items()):
                break
            time.sleep(0.5)
        for expr, value in want.items():
            check(got.get(expr) == value, f"Prometheus reads {expr} = {value} (got {got.get(expr)})")
        # The scrape itself parsed: the target is healthy, with no error.
        status, body = get(f"http://127.0.0.1:{pport}/api/v1/targets")
        targets = json.loads(body)["data"]["activeTargets"] if status == 200 else []
        check(len(targets) == 1 and targets[0]["health"] == "up" and targets[0]["lastError"] == "",
              f"the weft target is up with no scrape error: {targets}")
        # The histogram is a valid Prometheus histogram: quantiles come out as numbers.
        p50 = query(pport, "histogram_quantile(0.5, weft_http_server_request_duration_seconds_bucket)")
        check(p50 is not None and len(p50) == 1 and 0 < p50[0][1] < 1, f"a median latency under 1 s: {p50}")
        polls = query(pport, "sum(weft_runtime_polls_total)")
        check(polls is not None and len(polls) == 1 and polls[0][1] > 0, f"polls were counted: {polls}")
        print(f"prometheus read: {got}; median latency {p50[0][1] if p50 else None} s")
    finally:
        for p in (prom, serve):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        if serve.stdout is not None and failures:
            print(serve.stdout.read())
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        sys.exit(f"{len(failures)} checks failed")
    print("prometheus_scrape: all checks passed")


main()
