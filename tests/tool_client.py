#!/usr/bin/python3
"""weft's HTTP client, through `weft fetch`, `weft load` and `weft demo`, against servers it did not write:
nginx (static files, gzip-chunked bodies, redirects, servers that close kept-alive connections) and
Debian's httpbin under gunicorn (redirects of every kind, streams, 1xx-free odd paths), and `weft serve`
for the tools' own behaviour (arrival order, -c, {i}, --json, errors by kind, exit statuses).

usage: tool_client.py PATH_TO_WEFT
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from peers import free_port, wait_listening

WEFT = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def weft(*args, timeout=60):
    r = subprocess.run([WEFT, *args], capture_output=True, text=True, errors="replace", timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def weft_json(*args):
    rc, out, err = weft(*args, "--json")
    try:
        return rc, json.loads(out)
    except ValueError:
        failures.append(f"weft {' '.join(args)} --json printed no JSON: {out!r} {err!r}")
        return rc, {}


def test_fetch_against_weft_serve(base):
    # Arrival order, not request order: the 0.9 s request (index 0) prints last.
    rc, out, _ = weft("fetch", f"{base}/delay/0.9", f"{base}/delay/0.1", f"{base}/delay/0.5")
    order = [line.split()[0] for line in out.splitlines() if line.startswith("#")]
    check(rc == 0 and order == ["#1", "#2", "#0"], f"fetch prints in arrival order: {order} rc={rc}")

    # -c bounds the requests in flight: 4 × 0.2 s two at a time take about 0.4 s.
    rc, j = weft_json("fetch", f"{base}/delay/0.2", "-n", "4", "-c", "2", "-q")
    check(rc == 0 and j.get("ok") == 4 and 0.38 <= j.get("elapsed_s", 0) < 1.5, f"-c 2 runs two at a time: {j}")

    # On two threads: every request once, none lost between workers.
    rc, j = weft_json("fetch", f"{base}/anything/{{i}}", "-n", "200", "-c", "20", "-t", "2")
    indexes = sorted(r["index"] for r in j.get("results", []))
    check(rc == 0 and j.get("ok") == 200 and indexes == list(range(200)), f"fetch -t 2: {j.get('ok')} ok")

    # {i} in headers and in the body reaches the server, per request.
    rc, j = weft_json("fetch", f"{base}/anything", "-n", "3", "-H", "request-id: {i}", "-d", "body {i}", "-b")
    for r in j.get("results", []):
        echoed = json.loads(r["body"])
        check(echoed["headers"].get("Request-Id") == str(r["index"]) and echoed["data"] == f"body {r['index']}"
              and echoed["method"] == "POST", f"request {r['index']} carries its index: {echoed}")
    check(len(j.get("results", [])) == 3, "three results")

    # Errors are values with kinds, and set the exit status.
    closed = free_port()
    rc, j = weft_json("fetch", f"http://127.0.0.1:{closed}/", f"{base}/status/404", f"{base}/get")
    check(rc == 1 and j.get("errors") == {"refused": 1} and j.get("http_errors") == 1 and j.get("ok") == 1,
          f"refused and 404 counted apart: rc={rc} {j}")
    rc, j = weft_json("fetch", f"{base}/delay/3", "--timeout", "0.3")
    check(rc == 1 and j.get("errors") == {"timed out": 1}, f"--timeout: {j}")
    rc, _, err = weft("fetch", f"{base}/get", "--timeout", "0")
    check(rc == 2 and "--timeout" in err, f"--timeout 0 is a usage error: {rc} {err}")
    rc, _, err = weft("fetch", "ftp://example/")
    check(rc == 2 and "not an http" in err, f"a bad URL is a usage error: {rc} {err}")
    rc, _, err = weft("fetch", f"{base}/get", "-H", "no colon")
    check(rc == 2 and "Name: value" in err, f"a bad header is a usage error: {rc} {err}")
    # A value with CR LF would inject a field of its own: refused before anything is sent.
    rc, _, err = weft("fetch", f"{base}/headers", "-H", "X-A: a\r\nX-Injected: yes")
    check(rc == 2 and "CR, LF or NUL" in err, f"a header value with CR LF is a usage error: {rc} {err}")

    # Redirects: returned as they are by default, followed with -L, bounded.
    rc, j = weft_json("fetch", f"{base}/redirect/2")
    check(j.get("status") == {"302": 1}, f"a redirect is a response without -L: {j}")
    rc, j = weft_json("fetch", "-L", f"{base}/redirect/3", f"{base}/relative-redirect/2", f"{base}/redirect/11")
    check(j.get("status") == {"200": 2} and j.get("errors") == {"too many redirects": 1}, f"-L follows, 10 at most: {j}")


def test_load_against_weft_serve(base):
    rc, j = weft_json("load", f"{base}/get", "-c", "5", "-n", "500")
    lat = j.get("latency_ms", {})
    check(rc == 0 and j.get("requests") == 500 and j.get("status") == {"200": 500} and j.get("errors") == {},
          f"load -n 500: {j}")
    check(0 < lat.get("p50", 0) <= lat.get("p99", 0) <= lat.get("p999", 0) <= lat.get("max", 0),
          f"percentiles in order: {lat}")
    rc, j = weft_json("load", f"{base}/get", "-c", "4", "-d", "1s", "-t", "2")
    check(rc == 0 and j.get("requests", 0) > 100 and 0.9 <= j.get("elapsed_s", 0) < 3 and j.get("threads") == 2,
          f"load -d 1s on 2 threads: {j}")
    rc, j = weft_json("load", f"{base}/status/503", "-c", "2", "-n", "50")
    check(j.get("status") == {"503": 50}, f"status codes counted: {j}")
    closed = free_port()
    rc, j = weft_json("load", f"http://127.0.0.1:{closed}/", "-c", "2", "-n", "10")
    check(rc == 1 and j.get("errors") == {"refused": 10} and j.get("failed") == 10 and j.get("requests") == 0,
          f"failures count by kind, not as responses: rc={rc} {j}")
    rc, j = weft_json("load", f"{base}/anything", "-n", "3", "-c", "1", "--body", "x")
    check(rc == 0 and j.get("status") == {"200": 3}, f"load --body posts: {j}")
    rc, _, err = weft("load", f"{base}/get", "-d", "soon")
    check(rc == 2 and "duration" in err, f"a bad duration is a usage error: {err}")


NGINX_CONF = """
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log error;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  keepalive_requests 3;            # closes each connection after 3 requests: the pool must notice
  gzip on; gzip_min_length 0; gzip_types text/plain application/octet-stream;
  server {{
    listen 127.0.0.1:{port};
    root {d}/www;
    default_type text/plain;
    location = /moved {{ return 301 /small.txt; }}
    location = /elsewhere {{ return 302 http://127.0.0.1:{port}/big.bin; }}
  }}
}}
"""


def test_client_against_nginx(work):
    if not shutil.which("nginx"):
        check(False, "nginx is installed (scripts/install-deps.sh installs nginx-light)")
        return
    port = free_port()
    os.makedirs(f"{work}/www")
    with open(f"{work}/www/small.txt", "w") as f:
        f.write("hello from nginx\n")
    big = os.urandom(3 * 1024 * 1024)
    with open(f"{work}/www/big.bin", "wb") as f:
        f.write(big)
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(NGINX_CONF.format(d=work, port=port))
    nginx = subprocess.Popen(["nginx", "-p", work, "-c", f"{work}/nginx.conf"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, nginx, "nginx")
        base = f"http://127.0.0.1:{port}"
        # Content-Length bodies, one connection, nginx closing it every third request.
        rc, j = weft_json("fetch", f"{base}/small.txt", "-n", "20", "-c", "1", "-b")
        bodies = {r.get("body") for r in j.get("results", [])}
        check(rc == 0 and j.get("ok") == 20 and bodies == {"hello from nginx\n"},
              f"20 requests over connections nginx closes: {j.get('errors')} {bodies}")
        # A 3 MiB body, whole.
        rc, j = weft_json("fetch", f"{base}/big.bin", "-q")
        check(rc == 0 and j.get("bytes") == len(big), f"3 MiB body: {j}")
        # gzip makes nginx send the body chunked (no Content-Length); weft delivers it de-chunked.
        rc, out, _ = weft("fetch", f"{base}/small.txt", "-H", "Accept-Encoding: gzip", "-b")
        check(rc == 0 and "hello from nginx" not in out and " 200 " in out, "a gzip, chunked body arrives (still gzip)")
        rc, j = weft_json("fetch", f"{base}/big.bin", "-H", "Accept-Encoding: gzip", "-q")
        check(rc == 0 and 0 < j.get("bytes", 0), f"a 3 MiB chunked body: {j}")
        # Redirects from nginx, relative and absolute.
        rc, j = weft_json("fetch", "-L", f"{base}/moved", f"{base}/elsewhere", "-q")
        check(rc == 0 and j.get("bytes") == len("hello from nginx\n") + len(big), f"nginx redirects followed: {j}")
        # Keep-alive load with nginx closing every third request: no errors.
        rc, j = weft_json("load", f"{base}/small.txt", "-c", "4", "-n", "2000")
        check(rc == 0 and j.get("status") == {"200": 2000}, f"load against nginx closing connections: {j}")
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


def test_client_against_gunicorn_httpbin():
    port = free_port()
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    ref = subprocess.Popen(["/usr/bin/python3", "-m", "gunicorn", "-k", "gthread", "--threads", "8", "-b",
                            f"127.0.0.1:{port}", "httpbin:app"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, ref, "gunicorn httpbin")
        base = f"http://127.0.0.1:{port}"
        # gunicorn sends /stream chunked.
        rc, j = weft_json("fetch", f"{base}/stream/20", "-b")
        lines = j.get("results", [{}])[0].get("body", "").splitlines()
        check(rc == 0 and len(lines) == 20 and all(json.loads(l)["id"] == i for i, l in enumerate(lines)),
              f"/stream/20: {len(lines)} lines")
        rc, j = weft_json("fetch", f"{base}/bytes/100000", "-q")
        check(rc == 0 and j.get("bytes") == 100000, f"/bytes/100000: {j}")
        # 307 keeps POST and its body; 302 after POST goes on as GET without it; 303 likewise.
        rc, j = weft_json("fetch", "-L", "-X", "POST", "-d", "payload", "-b",
                          f"{base}/redirect-to?url=/anything&status_code=307",
                          f"{base}/redirect-to?url=/anything&status_code=302",
                          f"{base}/redirect-to?url=/anything&status_code=303")
        seen = {r["index"]: json.loads(r["body"]) for r in j.get("results", []) if "body" in r}
        check(seen.get(0, {}).get("method") == "POST" and seen.get(0, {}).get("data") == "payload",
              f"307 repeats POST: {seen.get(0)}")
        for i in (1, 2):
            check(seen.get(i, {}).get("method") == "GET" and seen.get(i, {}).get("data") == "",
                  f"302/303 after POST go on as GET: {seen.get(i)}")
        rc, j = weft_json("fetch", "-L", f"{base}/absolute-redirect/3", f"{base}/relative-redirect/3",
                          f"{base}/redirect-to?url=http://127.0.0.1:{port}/get", "-q")
        check(rc == 0 and j.get("status") == {"200": 3}, f"httpbin's redirects followed: {j}")
        rc, j = weft_json("fetch", f"{base}/status/418", f"{base}/status/204", f"{base}/status/304", "-q")
        check(j.get("status") == {"204": 1, "304": 1, "418": 1}, f"odd statuses: {j}")
    finally:
        ref.terminate()
        ref.wait(timeout=10)


def test_demo():
    rc, out, err = weft("demo", "--no-modes", timeout=60)
    check(rc == 0, f"weft demo exits 0: {err}")
    for want in ("onscroll, request 7", "response 7 -> rendered", "Running concurrent requests!",
                 "sequential, one after another", "concurrent, all at once"):
        check(want in out, f"weft demo prints {want!r}")
    ids = [l.split()[0] for l in out.splitlines() if "after" in l and "/delay/." in l]
    check(sorted(ids) == ["0", "1", "2", "3", "4"], f"the seed's five ids, each once: {ids}")
    check("failed" not in out, "no request failed in the demo")


def trace_tasks(path):
    """The task names a trace file's spawn events give, or None if it is not a whole trace document."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        failures.append(f"{path} is not a JSON document: {e}")
        return None
    return {e["name"] for e in doc.get("traceEvents", []) if e.get("ph") == "b"}


def test_trace_option(base, work):
    """--trace FILE on the tool's commands: each writes a whole trace document of its run."""
    path = os.path.join(work, "fetch-trace.json")
    rc, _, err = weft("fetch", f"{base}/get", f"{base}/delay/0.1", "-q", "--trace", path)
    check(rc == 0, f"weft fetch --trace exits 0: {err}")
    check("main" in (trace_tasks(path) or set()), "weft fetch --trace writes its trace, main task and all")
    path = os.path.join(work, "load-trace.json")
    rc, _, err = weft("load", f"{base}/get", "-n", "50", "-c", "2", "--trace", path)
    check(rc == 0 and trace_tasks(path) is not None, f"weft load --trace writes its trace: {err}")
    # The demo has several runtimes: the first writes FILE, the next FILE.2, FILE.3, ...
    path = os.path.join(work, "demo-trace.json")
    rc, _, err = weft("demo", "--no-modes", "--trace", path, timeout=60)
    check(rc == 0, f"weft demo --trace exits 0: {err}")
    written = sorted(f for f in os.listdir(work) if f.startswith("demo-trace"))
    check("demo-trace.json" in written and "demo-trace.2.json" in written, f"weft demo --trace files: {written}")
    for f in written:
        trace_tasks(os.path.join(work, f))


def test_serve_flight_recorder(work):
    """weft serve keeps a flight recorder by default: SIGUSR2 writes weft-serve-PID-1.json in its working
    directory, a whole trace holding the requests it served."""
    port = free_port()
    serve = subprocess.Popen([WEFT, "serve", "--port", str(port), "--threads", "2"], cwd=work,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, serve, "weft serve")
        for i in range(5):
            weft("fetch", f"http://127.0.0.1:{port}/get", "-q")
        serve.send_signal(signal.SIGUSR2)
        path = os.path.join(work, f"weft-serve-{serve.pid}-1.json")
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(path):
            time.sleep(0.05)
        time.sleep(0.3)  # written in one go once it exists; give it a moment to close
        tasks = trace_tasks(path) if os.path.exists(path) else None
        check(tasks is not None and "http connection" in tasks, f"SIGUSR2 dumps the flight recorder: {tasks}")
        if tasks is not None:
            with open(path) as f:
                check(f.read().count('"name":"GET /get"') == 10, "the five requests are in the dump, begin and end")
    finally:
        serve.terminate()
        _, err = serve.communicate(timeout=15)
    check("flight recorder written to" in err, f"weft serve says where the dump went: {err!r}")


def main():
    port = free_port()
    serve = subprocess.Popen([WEFT, "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="weft-tool-client-")
    os.chmod(work, 0o755)  # nginx's worker runs as another user, and reads the files there
    try:
        wait_listening(port, serve, "weft serve")
        base = f"http://127.0.0.1:{port}"
        test_fetch_against_weft_serve(base)
        test_load_against_weft_serve(base)
        test_client_against_nginx(work)
        test_client_against_gunicorn_httpbin()
        test_demo()
        test_trace_option(base, work)
        test_serve_flight_recorder(work)
    finally:
        serve.terminate()
        serve.wait(timeout=15)
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failed")
        sys.exit(1)
    print("all passed")


main()
