#!/usr/bin/python3
"""`weft serve` against the HTTP clients people use, each checking every answer it gets: curl, Python's
http.client and urllib, Node's fetch (undici), Go's net/http client, and the load tools wrk, ab
(apache2-utils) and hey. Each speaks HTTP/1.1 its own way (keep-alive, chunked uploads, pipelining,
compression, HTTP/1.0); a server that only one of them trips over is found here. Prints nothing on
success; a tool that is not installed fails the test (scripts/install-deps.sh installs them all).

usage: serve_interop.py PATH_TO_WEFT [--threads N]
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

from peers import check, failures, free_port, wait_listening

WEFT = sys.argv[1]
EXTRA = sys.argv[2:]
def run(cmd, timeout=60, **kw):
    """Runs a client; (exit status, stdout, stderr) as text."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
        return p.returncode, p.stdout, p.stderr
    except FileNotFoundError:
        return 127, "", f"{cmd[0]} is not installed"
    except subprocess.TimeoutExpired:
        return 124, "", f"{cmd[0]} took more than {timeout} s"


def tool(name):
    if shutil.which(name) is None:
        check(False, f"{name} is not installed (scripts/install-deps.sh installs it)")
        return False
    return True


def curl_cases(base):
    if not tool("curl"):
        return
    rc, out, err = run(["curl", "-sS", "-H", "X-Probe: curl", base + "/get?a=1"])
    j = json.loads(out) if rc == 0 else {}
    check(j.get("args") == {"a": "1"} and j.get("headers", {}).get("X-Probe") == "curl", f"curl GET: {rc} {out[:200]} {err}")
    # An empty field value (RFC 9110 §5.5), as `curl -H 'X-Empty;'` sends it.
    rc, out, err = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Empty;", base + "/headers"])
    check(out == "200", f"curl with an empty header value: {out} {err}")
    rc, out, err = run(["curl", "-sS", "-d", "name=weft&x=1", base + "/post"])
    j = json.loads(out) if rc == 0 else {}
    check(j.get("form") == {"name": "weft", "x": "1"}, f"curl POST form: {out[:200]} {err}")
    # A chunked upload from stdin.
    rc, out, err = run(["curl", "-sS", "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: text/plain",
                        "--data-binary", "@-", base + "/post"], input="hello chunked world")
    j = json.loads(out) if rc == 0 else {}
    check(j.get("data") == "hello chunked world", f"curl chunked POST: {out[:200]} {err}")
    rc, out, err = run(["curl", "-sS", "-I", base + "/get"])
    check(rc == 0 and out.startswith("HTTP/1.1 200") and re.search(r"(?im)^content-length: \d+", out) is not None,
          f"curl HEAD: {out[:200]} {err}")
    # Several URLs in one run: curl keeps the connection for the next.
    rc, out, err = run(["curl", "-sS", "-v", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
                        base + "/get", base + "/uuid", base + "/ip"])
    check(rc == 0 and err.count("Re-using existing connection") + err.count("Reusing existing") == 2,
          f"curl keep-alive over three URLs: {err[-400:]}")
    rc, out, err = run(["curl", "-sS", "--compressed", base + "/gzip"])
    j = json.loads(out) if rc == 0 else {}
    check(j.get("gzipped") is True, f"curl --compressed /gzip: {out[:200]} {err}")
    # HTTP/1.0 gets no chunked (RFC 9112 §6.1): a streamed body ends with the connection.
    rc, out, err = run(["curl", "-sS", "--http1.0", "-i", base + "/stream/3"])
    check(rc == 0 and "transfer-encoding" not in out.lower() and out.count('"id"') == 3,
          f"curl --http1.0 /stream/3: {out[:300]} {err}")
    rc, out, err = run(["curl", "-sS", "-L", "-o", "/dev/null", "-w", "%{http_code} %{num_redirects}", base + "/redirect/3"])
    check(out == "200 3", f"curl -L /redirect/3: {out} {err}")


def python_cases(port, base):
    # http.client: three requests on one connection, one of them a chunked upload.
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/get?x=y", headers={"X-Probe": "http.client"})
        r = c.getresponse()
        j = json.loads(r.read())
        check(r.status == 200 and j["args"] == {"x": "y"} and j["headers"].get("X-Probe") == "http.client",
              f"http.client GET: {r.status} {j}")
        c.request("POST", "/post", body=iter([b"abc", b"def"]), encode_chunked=True,
                  headers={"Content-Type": "application/octet-stream"})
        r = c.getresponse()
        j = json.loads(r.read())
        check(r.status == 200 and j.get("data") in ("abcdef", "data:application/octet-stream;base64,YWJjZGVm"),
              f"http.client chunked POST: {r.status} {j.get('data')}")
        c.request("PUT", "/put", body=json.dumps({"k": [1, 2]}), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        j = json.loads(r.read())
        check(r.status == 200 and j.get("json") == {"k": [1, 2]}, f"http.client PUT json: {r.status} {j.get('json')}")
        c.request("GET", "/status/418")
        r = c.getresponse()
        r.read()
        check(r.status == 418, f"http.client /status/418: {r.status}")
    except (OSError, http.client.HTTPException, ValueError) as e:
        check(False, f"http.client: {e!r}")
    finally:
        c.close()
    # urllib: redirects followed, a form posted, an error status raised as HTTPError.
    try:
        with urllib.request.urlopen(base + "/redirect/2", timeout=10) as r:
            j = json.loads(r.read())
            check(r.status == 200 and r.url.endswith("/get"), f"urllib /redirect/2: {r.status} {r.url}")
        data = urllib.parse.urlencode({"q": "weft", "n": "2"}).encode()
        with urllib.request.urlopen(urllib.request.Request(base + "/post", data=data), timeout=10) as r:
            j = json.loads(r.read())
            check(j.get("form") == {"q": "weft", "n": "2"}, f"urllib POST form: {j.get('form')}")
        try:
            urllib.request.urlopen(base + "/status/404", timeout=10)
            check(False, "urllib /status/404 did not raise")
        except urllib.error.HTTPError as e:
            check(e.code == 404, f"urllib /status/404: {e.code}")
    except (OSError, ValueError) as e:
        check(False, f"urllib: {e!r}")


NODE_FETCH = r"""
const base = process.argv[process.argv.length - 1];
(async () => {
  const problems = [];
  const got = await (await fetch(base + '/get?from=node', { headers: { 'X-Probe': 'undici' } })).json();
  if (got.args.from !== 'node' || got.headers['X-Probe'] !== 'undici') problems.push('GET ' + JSON.stringify(got));
  const posted = await (await fetch(base + '/anything', { method: 'POST', body: JSON.stringify({ a: 1 }),
                                                          headers: { 'Content-Type': 'application/json' } })).json();
  if (JSON.stringify(posted.json) !== '{"a":1}' || posted.method !== 'POST') problems.push('POST ' + JSON.stringify(posted));
  // A streamed upload (chunked), as a ReadableStream body.
  const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('streamed')); c.close(); } });
  const up = await (await fetch(base + '/post', { method: 'POST', body: stream, duplex: 'half' })).json();
  if (up.data !== 'streamed') problems.push('streamed POST ' + JSON.stringify(up.data));
  // Twenty at once, over undici's pool.
  const all = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(base + '/get?i=' + i).then(r => r.json())));
  all.forEach((j, i) => { if (j.args.i !== String(i)) problems.push('concurrent ' + i); });
  const gz = await (await fetch(base + '/gzip')).json();
  if (gz.gzipped !== true) problems.push('gzip');
  const st = await fetch(base + '/status/503');
  if (st.status !== 503) problems.push('status ' + st.status);
  if (problems.length) { console.log(problems.join('\n')); process.exit(1); }
})().catch(e => { console.log(String(e)); process.exit(1); });
"""

GO_CLIENT = r"""
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
)

func main() {
	base := os.Args[1]
	client := &http.Client{}
	fail := func(f string, a ...any) { fmt.Printf(f+"\n", a...); os.Exit(1) }
	var got struct {
		Args    map[string]string `json:"args"`
		Headers map[string]string `json:"headers"`
		Data    string            `json:"data"`
	}
	for i := 0; i < 10; i++ { // keep-alive: the transport reuses the connection
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/get?i=%d", base, i), nil)
		req.Header.Set("X-Probe", "go")
		resp, err := client.Do(req)
		if err != nil {
			fail("GET: %v", err)
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || got.Args["i"] != fmt.Sprint(i) || got.Headers["X-Probe"] != "go" {
			fail("GET %d: %v %d %v", i, err, resp.StatusCode, got)
		}
	}
	// A body of unknown length goes chunked.
	resp, err := client.Post(base+"/post", "text/plain", io.NopCloser(strings.NewReader("from go")))
	if err != nil {
		fail("POST: %v", err)
	}
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || got.Data != "from go" {
		fail("chunked POST: %v %q", err, got.Data)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := client.Get(fmt.Sprintf("%s/status/%d", base, 200+i%3))
			if err != nil {
				errs <- err.Error()
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200+i%3 {
				errs <- fmt.Sprint("status ", resp.StatusCode)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		fail("concurrent: %s", e)
	}
}
"""


def node_cases(base):
    if not tool("node"):
        return
    rc, out, err = run(["node", "-e", NODE_FETCH, "--", base], timeout=60)
    check(rc == 0, f"Node fetch: {rc} {out.strip()} {err.strip()[-400:]}")


def go_cases(base, work):
    if not tool("go"):
        return
    src = os.path.join(work, "client.go")
    with open(src, "w") as f:
        f.write(GO_CLIENT)
    env = dict(os.environ, GOCACHE=os.path.join(work, "gocache"), GOPATH=os.path.join(work, "gopath"),
               GO111MODULE="off", GOFLAGS="", GOTOOLCHAIN="local")
    rc, out, err = run(["go", "run", src, base], timeout=240, env=env)
    check(rc == 0, f"Go net/http: {rc} {out.strip()} {err.strip()[-400:]}")


def load_tool_cases(base):
    url = base + "/get"
    if tool("wrk"):
        rc, out, err = run(["wrk", "-t1", "-c20", "-d2s", url], timeout=30)
        done = re.search(r"(\d+) requests in", out)
        check(rc == 0 and done is not None and int(done.group(1)) > 100 and "Non-2xx" not in out
              and "Socket errors" not in out, f"wrk: {out[-500:]} {err}")
    if tool("ab"):
        rc, out, err = run(["ab", "-q", "-n", "1000", "-c", "10", "-k", url], timeout=60)
        check(rc == 0 and re.search(r"Complete requests:\s+1000\b", out) is not None
              and re.search(r"Failed requests:\s+0\b", out) is not None
              and re.search(r"Keep-Alive requests:\s+1000\b", out) is not None
              and "Non-2xx" not in out, f"ab -k: {out[-600:]} {err}")
        # ab speaks HTTP/1.0 without -k: one request per connection, each closed by the server.
        rc, out, err = run(["ab", "-q", "-n", "200", "-c", "5", url], timeout=60)
        check(rc == 0 and re.search(r"Failed requests:\s+0\b", out) is not None, f"ab (HTTP/1.0): {out[-600:]} {err}")
    if tool("hey"):
        rc, out, err = run(["hey", "-n", "1000", "-c", "10", url], timeout=60)
        check(rc == 0 and re.search(r"\[200\]\s+1000 responses", out) is not None and "Error distribution" not in out,
              f"hey: {out[-600:]} {err}")


def main():
    port = free_port()
    server = subprocess.Popen([WEFT, "serve", "--port", str(port)] + EXTRA,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, server, "weft serve")
        base = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as work:
            curl_cases(base)
            python_cases(port, base)
            node_cases(base)
            go_cases(base, work)
            load_tool_cases(base)
        check(server.poll() is None, "weft serve exited during the test")
    finally:
        server.terminate()
        try:
            _, err = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
    # A handler that threw, or a request the server could not answer, is logged on stderr (past the
    # line that acknowledges the SIGTERM above).
    logged = [l for l in err.splitlines() if l.strip() and "shutting down" not in l]
    check(not logged, f"weft serve wrote to stderr: {logged[-5:]}")
    if failures:
        sys.exit(f"serve_interop: {len(failures)} failed")


if __name__ == "__main__":
    main()
