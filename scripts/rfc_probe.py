#!/usr/bin/env python3
"""Raw-socket RFC 9112/9110 conformance + llhttp-regression probes against `weft serve`.

Usage:
  scripts/rfc_probe.py [--port N] [--only ID[,ID...]] [--json out.json] [--weft PATH] [--known-failures ID,...]
Without --port it starts its own server (the WEFT environment variable, else build/tools/weft/weft)
with --port 0 and kills it at the end. docs/design/http-server.md says which rules weft enforces; the
probes marked FAIL that remain are listed there (a MAY or SHOULD, or a valid message refused).

For every probe: connect, send the exact bytes, read every response that comes back (2 s for the
first, 0.4 s idle after each), note whether the server closed; if the connection is still open,
send a valid follow-up request (GET /get?followup) and see whether it is answered.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

HOST = "127.0.0.1"
FOLLOW = b"GET /get?followup=1 HTTP/1.1\r\nHost: x\r\n\r\n"


# ---------------------------------------------------------------- response reading
def parse_responses(buf):
    """Parse as many complete HTTP/1.1 responses from buf as possible. Returns (list, rest)."""
    out = []
    while True:
        i = buf.find(b"\r\n\r\n")
        if i < 0:
            return out, buf
        head = buf[:i].decode("latin-1")
        lines = head.split("\r\n")
        status_line = lines[0]
        hdrs = {}
        for l in lines[1:]:
            if ":" in l:
                k, v = l.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        m = re.match(r"HTTP/\d\.\d (\d{3})", status_line)
        code = int(m.group(1)) if m else None
        rest = buf[i + 4:]
        if code is not None and (100 <= code < 200 or code in (204, 304)):
            out.append({"status": code, "line": status_line, "headers": hdrs, "body": b""})
            buf = rest
            continue
        if "content-length" in hdrs:
            n = int(hdrs["content-length"])
            if len(rest) < n:
                return out, buf
            out.append({"status": code, "line": status_line, "headers": hdrs, "body": rest[:n]})
            buf = rest[n:]
            continue
        if hdrs.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            p = 0
            while True:
                j = rest.find(b"\r\n", p)
                if j < 0:
                    return out, buf
                size = int(rest[p:j].split(b";")[0], 16)
                if size == 0:
                    k = rest.find(b"\r\n\r\n", j)
                    if k < 0:
                        return out, buf
                    out.append({"status": code, "line": status_line, "headers": hdrs, "body": body})
                    buf = rest[k + 4:]
                    break
                if len(rest) < j + 2 + size + 2:
                    return out, buf
                body += rest[j + 2:j + 2 + size]
                p = j + 2 + size + 2
            continue
        # no framing: body to EOF
        return out, buf


def read_all(s, first_timeout=2.0, idle=0.4):
    """Read responses until EOF, reset, or idle timeout. Returns (responses, end, leftover)."""
    buf = b""
    resps = []
    end = "open"
    deadline = time.time() + first_timeout
    while True:
        now = time.time()
        if resps and not buf:
            wait = idle
        else:
            wait = max(0.01, deadline - now)
        s.settimeout(wait)
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            break
        except (ConnectionResetError, BrokenPipeError):
            end = "reset"
            break
        if not d:
            end = "closed"
            break
        buf += d
        r, buf = parse_responses(buf)
        resps += r
        if r:
            deadline = time.time() + first_timeout
    return resps, end, buf


def send(s, data, chunk=None):
    try:
        if chunk:
            for i in range(0, len(data), chunk):
                s.sendall(data[i:i + chunk])
        else:
            s.sendall(data)
        return None
    except (ConnectionResetError, BrokenPipeError) as e:
        return type(e).__name__


def run_probe(port, raw, follow=True, first_timeout=2.0):
    s = socket.create_connection((HOST, port), timeout=2)
    err = send(s, raw)
    resps, end, left = read_all(s, first_timeout=first_timeout)
    res = {
        "statuses": [r["status"] for r in resps],
        "bodies": [r["body"].decode("latin-1", "replace") for r in resps],
        "conn_hdr": [r["headers"].get("connection", "") for r in resps],
        "end": end if not err else "send:" + err,
        "leftover": left[:200].decode("latin-1"),
        "followup": None,
    }
    if end == "open" and follow:
        err2 = send(s, FOLLOW)
        r2, end2, _ = read_all(s, first_timeout=2.0)
        if err2:
            res["followup"] = "send:" + err2
        elif r2:
            # was the follow-up itself answered (200 on /get with followup=1)?
            tags = []
            for r in r2:
                b = r["body"].decode("latin-1", "replace")
                tags.append(f"{r['status']}{'(followup)' if 'followup' in b else ''}")
            res["followup"] = ",".join(tags) + ("" if end2 == "open" else f" then {end2}")
        else:
            res["followup"] = f"no response ({end2})"
    s.close()
    return res


def json_field(body, key):
    try:
        return json.loads(body).get(key)
    except Exception:
        return None


# ---------------------------------------------------------------- verdict helpers
def rejected(res, codes=(400,)):
    """Strict: first answer is an error status in `codes`, and nothing else is served on the connection."""
    ok_code = res["statuses"][:1] and res["statuses"][0] in codes
    closed = res["end"] in ("closed", "reset") or (res["followup"] or "").startswith("no response")
    return bool(ok_code) and closed and len(res["statuses"]) == 1


def accepted_or_rejected(res, ok=lambda r: True, codes=(400,)):
    if rejected(res, codes):
        return True
    return bool(res["statuses"]) and res["statuses"][0] == 200 and ok(res)


def describe(res):
    st = "/".join(str(x) for x in res["statuses"]) or "no response"
    s = f"{st}; {res['end']}"
    if res["followup"] is not None:
        s += f"; follow-up: {res['followup']}"
    return s


# ---------------------------------------------------------------- probe table
H = b"Host: x\r\n"


def post(extra_headers, body=b"", version=b"HTTP/1.1", host=True):
    return b"POST /post " + version + b"\r\n" + (H if host else b"") + extra_headers + b"\r\n" + body


def get(line=b"GET /get HTTP/1.1", extra=b"", host=True):
    return line + b"\r\n" + (H if host else b"") + extra + b"\r\n"


def data_is(expected):
    return lambda r: bool(r["bodies"]) and json_field(r["bodies"][0], "data") == expected


def hdr_absent(name):
    def f(r):
        if not r["bodies"]:
            return False
        h = json_field(r["bodies"][0], "headers") or {}
        return name.lower() not in {k.lower() for k in h}
    return f


def echo_headers(r):
    if not r["bodies"]:
        return None
    return json_field(r["bodies"][0], "headers")


PROBES = []


def P(pid, part, section, rule, raw, expected, check, note_fn=None, **kw):
    PROBES.append(dict(id=pid, part=part, section=section, rule=rule, raw=raw, expected=expected,
                       check=check, note_fn=note_fn, kw=kw))


R400 = lambda r: rejected(r, (400,))
R400_501 = lambda r: rejected(r, (400, 501))
R400_505 = lambda r: rejected(r, (400, 505))
OK200 = lambda r: bool(r["statuses"]) and r["statuses"][0] == 200
OK200_OPEN = lambda r: OK200(r) and (r["followup"] or "").startswith("200(followup)")
show_data = lambda r: f"data={json_field(r['bodies'][0], 'data')!r}" if r["bodies"] else ""
show_hdrs = lambda r: f"headers={echo_headers(r)}" if r["bodies"] else ""

# ---- request line (RFC 9112 §3, §2.3, §2.2)
P("RL-01", 1, "9110 §9.1 / 9112 §3.1", "method is a token; unrecognized method SHOULD 501",
  get(b"FOO /get HTTP/1.1"), "501 (400 acceptable) + close", R400_501)
P("RL-02", 1, "9112 §3.1", "method is case-sensitive (lowercase 'get' is a different, unknown method)",
  get(b"get /get HTTP/1.1"), "501/400", R400_501)
P("RL-03", 1, "9112 §3.1 / 9110 §5.6.2", "method must be token chars",
  get(b"G(T /get HTTP/1.1"), "400 + close", R400)
P("RL-04", 1, "9112 §3", "single SP between method and target (MAY parse on whitespace; strict: 400)",
  get(b"GET  /get HTTP/1.1"), "400 + close (SHOULD)", R400)
P("RL-05", 1, "9112 §3", "HTAB is not a request-line separator",
  get(b"GET\t/get HTTP/1.1"), "400 + close", R400)
P("RL-06", 1, "9112 §3", "single SP between target and version",
  get(b"GET /get  HTTP/1.1"), "400 + close", R400)
P("RL-07", 1, "9112 §3", "no trailing whitespace after HTTP-version",
  get(b"GET /get HTTP/1.1 "), "400 + close", R400)
P("RL-08", 1, "9112 §3.2", "no whitespace in request-target (SHOULD 400 or 301)",
  get(b"GET /get foo HTTP/1.1"), "400 + close", R400)
P("RL-09", 1, "9112 §3", "request-target missing",
  get(b"GET HTTP/1.1"), "400 + close", R400)
P("RL-10", 1, "9112 §2.3", "HTTP-name is case-sensitive 'HTTP'",
  get(b"GET /get http/1.1"), "400 + close", R400)
P("RL-11", 1, "9112 §2.3", "HTTP-version = HTTP-name '/' DIGIT '.' DIGIT (one digit each)",
  get(b"GET /get HTTP/1.10"), "400 + close", R400)
P("RL-12", 1, "9112 §2.3", "HTTP-version without minor",
  get(b"GET /get HTTP/1"), "400 + close", R400)
P("RL-13", 1, "9110 §15.6.6", "major version 2 over HTTP/1 syntax: 505",
  get(b"GET /get HTTP/2.0"), "505 (or 400) + close", R400_505)
P("RL-14", 1, "9110 §15.6.6", "major version 3: 505",
  get(b"GET /get HTTP/3.1"), "505 (or 400) + close", R400_505)
P("RL-15", 1, "9110 §2.5 / 9112 §2.3", "HTTP/1.2 (higher minor) MUST be processed as HTTP/1.1",
  get(b"GET /get HTTP/1.2"), "200 (served as 1.1)", OK200)
P("RL-16", 1, "9112 §2.3", "HTTP/0.9 / unknown version",
  get(b"GET /get HTTP/0.9"), "505/400 + close", R400_505)
P("RL-17", 1, "9112 §2.2", "bare CR in request line MUST be rejected (or replaced with SP)",
  b"GET /get HTTP/1.1\rHost: x\r\n\r\n", "400 + close", R400)
P("RL-18", 1, "9112 §2.2", "bare CR inside request-target",
  get(b"GET /g\ret HTTP/1.1"), "400 + close", R400)
P("RL-19", 1, "9112 §3.2", "NUL in request-target",
  get(b"GET /g\x00et HTTP/1.1"), "400 + close", R400)
P("RL-20", 1, "9112 §3.2 / 9110 §4.1", "CTL (0x01) and DEL in request-target",
  get(b"GET /g\x01\x7fet HTTP/1.1"), "400 + close", R400)
P("RL-21", 1, "9112 §2.2", "bare LF as start-line terminator: MAY accept",
  b"GET /get HTTP/1.1\nHost: x\r\n\r\n", "200 or 400 (MAY)", lambda r: accepted_or_rejected(r))
P("RL-22", 1, "9112 §2.2", "SHOULD ignore at least one empty line (CRLF) before request-line",
  b"\r\n" + get(), "200", OK200)
P("RL-23", 1, "9112 §3.2.3", "authority-form only for CONNECT",
  get(b"GET x:80 HTTP/1.1"), "400 + close", R400)
P("RL-24", 1, "9112 §3.2.4", "asterisk-form only for OPTIONS",
  get(b"GET * HTTP/1.1"), "400 + close", R400)
P("RL-25", 1, "9112 §3.2.3", "CONNECT must use authority-form",
  get(b"CONNECT /get HTTP/1.1"), "400 + close", R400)
P("RL-26", 1, "9112 §3.2", "request-target with non-ASCII (0x80+) octets (invalid URI chars)",
  get(b"GET /g\xffet HTTP/1.1"), "400 + close", R400)
P("RL-27", 1, "9112 §3.2", "fragment '#' is not part of request-target",
  get(b"GET /get#frag HTTP/1.1"), "400 (or ignore fragment)",
  lambda r: accepted_or_rejected(r))
P("RL-28", 1, "9112 §2.2", "whitespace-preceded line right after start-line: MUST reject or consume w/o processing",
  b"GET /get HTTP/1.1\r\n X-Foo: bar\r\nHost: x\r\n\r\n", "400 + close (or 200 ignoring the line)",
  lambda r: rejected(r) or (OK200(r) and hdr_absent("X-Foo")(r)), note_fn=show_hdrs)

# ---- field syntax (RFC 9112 §5, 9110 §5)
P("F-01", 1, "9112 §5.1", "no whitespace between field name and colon: MUST 400",
  get(extra=b"X-Foo : bar\r\n"), "400 + close", R400)
P("F-02", 1, "9112 §5.1", "HTAB between field name and colon: MUST 400",
  get(extra=b"X-Foo\t: bar\r\n"), "400 + close", R400)
P("F-03", 1, "9112 §5.1", "'Host : x' (whitespace before colon on Host)",
  b"GET /get HTTP/1.1\r\nHost : x\r\n\r\n", "400 + close", R400)
P("F-04", 1, "9112 §5.2", "obs-fold: MUST reject (400) or replace with SP",
  get(extra=b"X-Foo: a\r\n b\r\n"), "400 + close, or 200 with 'a b'",
  lambda r: rejected(r) or (OK200(r) and (echo_headers(r) or {}).get("X-Foo") in ("a b", "a  b")),
  note_fn=show_hdrs)
P("F-05", 1, "9110 §5.1", "field-name must be token: '(' not allowed",
  get(extra=b"X(A: b\r\n"), "400 + close", R400)
P("F-06", 1, "9110 §5.1", "field-name with embedded space",
  get(extra=b"X A: b\r\n"), "400 + close", R400)
P("F-07", 1, "9110 §5.1", "NUL in field-name",
  get(extra=b"X\x00A: b\r\n"), "400 + close", R400)
P("F-08", 1, "9110 §5.1", "empty field-name (': b')",
  get(extra=b": b\r\n"), "400 + close", R400, note_fn=show_hdrs)
P("F-09", 1, "9110 §5.1", "all tchar punctuation is valid in a field-name",
  get(extra=b"X!#$%&'*+-.^_`|~Z: ok\r\n"), "200", OK200)
P("F-10", 1, "9110 §5.5", "NUL in field value: MUST reject or replace with SP",
  get(extra=b"X-Foo: a\x00b\r\n"), "400 + close (or SP)",
  lambda r: rejected(r) or (OK200(r) and (echo_headers(r) or {}).get("X-Foo") == "a b"), note_fn=show_hdrs)
P("F-11", 1, "9110 §5.5 / 9112 §2.2", "bare CR inside field value: MUST reject or replace with SP",
  get(extra=b"X-Foo: a\rb\r\n"), "400 + close (or SP)",
  lambda r: rejected(r) or (OK200(r) and (echo_headers(r) or {}).get("X-Foo") == "a b"), note_fn=show_hdrs)
P("F-12", 1, "9110 §5.5", "other CTL (0x01) in field value: invalid, MAY retain",
  get(extra=b"X-Foo: a\x01b\r\n"), "400 (MAY retain)", lambda r: accepted_or_rejected(r), note_fn=show_hdrs)
P("F-13", 1, "9110 §5.5", "DEL (0x7f) in field value: invalid (not VCHAR/obs-text)",
  get(extra=b"X-Foo: a\x7fb\r\n"), "400 (MAY retain)", lambda r: accepted_or_rejected(r), note_fn=show_hdrs)
P("F-14", 1, "9110 §5.5", "obs-text (0x80-0xff) is allowed in values",
  get(extra=b"X-Foo: a\xe9b\r\n"), "200", OK200)
P("F-15", 1, "9112 §5", "field line without colon",
  get(extra=b"X-Foo bar\r\n"), "400 + close", R400)
P("F-16", 1, "9110 §5.5", "leading/trailing OWS is not part of the value",
  get(extra=b"X-Foo: \t bar \t \r\n"), "200, value 'bar'",
  lambda r: OK200(r) and (echo_headers(r) or {}).get("X-Foo") == "bar", note_fn=show_hdrs)
P("F-17", 1, "9112 §2.2", "bare LF as field-line terminator: MAY accept",
  b"GET /get HTTP/1.1\r\nHost: x\nX-Foo: bar\n\n", "200 or 400", lambda r: accepted_or_rejected(r))
P("F-18", 1, "9112 §2.2", "bare CR as field-line terminator: MUST reject",
  b"GET /get HTTP/1.1\r\nHost: x\rX-Foo: bar\r\n\r\n", "400 + close", R400)
P("F-19", 1, "9112 §2.2", "bare CR in the empty line ending the head ('\\r\\n\\rX')",
  b"GET /get HTTP/1.1\r\nHost: x\r\n\rX\r\n\r\n", "400 + close", R400)
P("F-20", 1, "9112 §2.2", "head ending with CR CR LF",
  b"GET /get HTTP/1.1\r\nHost: x\r\n\r\r\n", "400 + close", R400)
P("F-21", 1, "9112 §2.2", "empty-value header then CR without LF (CVE-2023-30589 shape)",
  b"GET /get HTTP/1.1\r\nHost: x\r\nX-Foo:\rX-Bar: b\r\n\r\n", "400 + close", R400)
P("F-22", 1, "9112 §5.2", "obs-fold after an empty value",
  get(extra=b"X-Foo:\r\n b\r\n"), "400 or 200 with 'b'", lambda r: accepted_or_rejected(r), note_fn=show_hdrs)

# ---- Host (RFC 9112 §3.2)
P("H-01", 1, "9112 §3.2", "HTTP/1.1 request without Host: MUST 400",
  get(host=False), "400 + close", R400)
P("H-02", 1, "9112 §3.2", "more than one Host field: MUST 400",
  get(extra=b"Host: y\r\n"), "400 + close", R400)
P("H-03", 1, "9112 §3.2", "Host with invalid value (space): MUST 400",
  get(host=False, extra=b"Host: a b\r\n"), "400 + close", R400)
P("H-04", 1, "9112 §3.2", "Host with path char '/'",
  get(host=False, extra=b"Host: a/b\r\n"), "400 + close", R400)
P("H-05", 1, "9112 §3.2", "Host as list 'a, b'",
  get(host=False, extra=b"Host: a, b\r\n"), "400 + close", R400)
P("H-06", 1, "9112 §3.2", "Host with userinfo 'u@a'",
  get(host=False, extra=b"Host: u@a\r\n"), "400 + close", R400)
P("H-07", 1, "9112 §3.2", "Host with bad port 'a:xyz'",
  get(host=False, extra=b"Host: a:xyz\r\n"), "400 + close", R400)
P("H-08", 1, "9112 §3.2", "Host unterminated IPv6 '[::1'",
  get(host=False, extra=b"Host: [::1\r\n"), "400 + close", R400)
P("H-09", 1, "9112 §3.2", "empty Host is allowed (authority undefined)",
  get(host=False, extra=b"Host:\r\n"), "200 (or 400)", lambda r: accepted_or_rejected(r))
P("H-10", 1, "9112 §3.2.2", "absolute-form: server MUST ignore Host and use the target's authority",
  b"GET http://a.example/get HTTP/1.1\r\nHost: b.example\r\n\r\n", "200, url http://a.example/get",
  lambda r: OK200(r) and (json_field(r["bodies"][0], "url") or "").startswith("http://a.example"),
  note_fn=lambda r: f"url={json_field(r['bodies'][0], 'url')!r}" if r["bodies"] else "")
P("H-11", 1, "9112 §3.2", "HTTP/1.0 without Host is fine",
  b"GET /get HTTP/1.0\r\n\r\n", "200", OK200)
P("H-12", 1, "9112 §3.2", "two Host fields with the same value: still 'more than one Host'",
  get(extra=b"Host: x\r\n"), "400 + close", R400)

# ---- Content-Length / Transfer-Encoding (RFC 9112 §6)
CH = b"5\r\nhello\r\n0\r\n\r\n"
P("CL-01", 1, "9112 §6.3(3)", "CL + TE: MAY reject; else TE wins and MUST close after responding",
  post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", CH), "400 + close (or chunked + close)",
  lambda r: rejected(r) or (OK200(r) and data_is("hello")(r) and len(r["statuses"]) == 1 and r["end"] != "open"),
  note_fn=show_data)
P("CL-02", 1, "9112 §6.3(3)", "TE + CL (other order)",
  post(b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", CH), "400 + close (or chunked + close)",
  lambda r: rejected(r) or (OK200(r) and data_is("hello")(r) and len(r["statuses"]) == 1 and r["end"] != "open"),
  note_fn=show_data)
P("CL-03", 1, "9112 §6.3(5) / 9110 §8.6", "two Content-Length with different values: MUST 400 + close",
  post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"), "400 + close", R400)
P("CL-04", 1, "9110 §8.6", "two identical Content-Length: MAY reject or collapse",
  post(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"), "400 or 200 'hello'",
  lambda r: accepted_or_rejected(r, data_is("hello")))
P("CL-05", 1, "9110 §8.6", "Content-Length list '5, 5': MAY collapse or reject",
  post(b"Content-Length: 5, 5\r\n", b"hello"), "400 or 200 'hello'",
  lambda r: accepted_or_rejected(r, data_is("hello")))
P("CL-06", 1, "9110 §8.6 / 9112 §6.3(5)", "Content-Length list '5, 6': MUST 400",
  post(b"Content-Length: 5, 6\r\n", b"hello!"), "400 + close", R400)
P("CL-07", 1, "9110 §8.6", "Content-Length '+5' (sign): invalid, MUST 400",
  post(b"Content-Length: +5\r\n", b"hello"), "400 + close", R400)
P("CL-08", 1, "9110 §8.6", "Content-Length '-5'",
  post(b"Content-Length: -5\r\n", b"hello"), "400 + close", R400)
P("CL-09", 1, "9110 §8.6", "Content-Length '5 5' (inner space)",
  post(b"Content-Length: 5 5\r\n", b"hello"), "400 + close", R400)
P("CL-10", 1, "9110 §5.5", "Content-Length with OWS around the value is valid",
  post(b"Content-Length:  5 \r\n", b"hello"), "200 'hello'", lambda r: OK200(r) and data_is("hello")(r))
P("CL-11", 1, "9110 §5.5", "Content-Length with HTAB OWS is valid",
  post(b"Content-Length:\t5\t\r\n", b"hello"), "200 'hello'", lambda r: OK200(r) and data_is("hello")(r))
P("CL-12", 1, "9110 §8.6", "Content-Length '0x5'",
  post(b"Content-Length: 0x5\r\n", b"hello"), "400 + close", R400)
P("CL-13", 1, "9110 §8.6", "Content-Length '5a'",
  post(b"Content-Length: 5a\r\n", b"hello"), "400 + close", R400)
P("CL-14", 1, "9110 §8.6", "empty Content-Length",
  post(b"Content-Length:\r\n", b""), "400 + close", R400)
P("CL-15", 1, "9110 §8.6", "Content-Length overflow (30 digits)",
  post(b"Content-Length: 999999999999999999999999999999\r\n", b"hello"), "400 (or 413) + close",
  lambda r: rejected(r, (400, 413)))
P("CL-16", 1, "9110 §8.6", "Content-Length with leading zeros '005' is valid",
  post(b"Content-Length: 005\r\n", b"hello"), "200 'hello'", lambda r: OK200(r) and data_is("hello")(r))
P("CL-17", 1, "9112 §5.1 (CVE-2024-27982)", "'Content-Length : 5' (space before colon): MUST 400",
  post(b"Content-Length : 5\r\n", b"hello"), "400 + close", R400)
P("CL-18", 1, "9112 §2.2 (CVE-2024-27982)", "' Content-Length: 5' as first field line (whitespace after start-line)",
  b"POST /post HTTP/1.1\r\n Content-Length: 5\r\nHost: x\r\n\r\nhello", "400 + close", R400, note_fn=show_data)
P("CL-19", 1, "9112 §5.2 (CVE-2024-27982)", "' Content-Length: 5' after another field (obs-fold): reject or fold into prior value",
  b"POST /post HTTP/1.1\r\nHost: x\r\nFoo: bar\r\n Content-Length: 5\r\n\r\nhello",
  "400 + close (folding → body empty, then 'hello' is a bad request)", R400, note_fn=show_data)
P("CL-20", 1, "9110 §8.6", "Content-Length with NUL",
  post(b"Content-Length: 5\x00\r\n", b"hello"), "400 + close", R400)

TE = b"Transfer-Encoding: "
P("TE-01", 1, "9112 §6.3(4)", "TE 'chunked, identity' (chunked not final): MUST 400 + close",
  post(TE + b"chunked, identity\r\n", CH), "400 + close", R400)
P("TE-02", 1, "9112 §6.1/§6.3(4)", "TE 'xchunked' (unknown coding): 501 (or 400) + close; never chunked",
  post(TE + b"xchunked\r\n", CH), "501/400 + close", R400_501)
P("TE-03", 1, "9112 §6.3(4)", "TE 'chunked' then a second TE 'identity' field",
  post(TE + b"chunked\r\n" + TE + b"identity\r\n", CH), "400 + close", R400)
P("TE-04", 1, "9112 §6.1", "TE 'identity, chunked' (identity is not a registered coding): 501",
  post(TE + b"identity, chunked\r\n", CH), "501 (or 400) + close", R400_501, note_fn=show_data)
P("TE-05", 1, "9112 §6.1", "TE 'gzip, chunked' (coding not understood by the server): SHOULD 501",
  post(TE + b"gzip, chunked\r\n", CH), "501 + close", lambda r: rejected(r, (501,)), note_fn=show_data)
P("TE-06", 1, "9112 §7", "TE 'chunked, chunked' (chunked applied twice)",
  post(TE + b"chunked, chunked\r\n", CH), "400 + close", R400, note_fn=show_data)
P("TE-07", 1, "9112 §7", "coding names are case-insensitive: 'CHUNKED'",
  post(TE + b"CHUNKED\r\n", CH), "200 'hello'", lambda r: OK200(r) and data_is("hello")(r))
P("TE-08", 1, "9110 §5.5", "TE 'chunked' with trailing OWS",
  post(TE + b"chunked \t\r\n", CH), "200 'hello'", lambda r: OK200(r) and data_is("hello")(r))
P("TE-09", 1, "9112 §5.2", "TE with obs-fold 'Transfer-Encoding:\\r\\n chunked': reject, or SP-replace (=chunked)",
  post(b"Transfer-Encoding:\r\n chunked\r\n", CH), "400 + close (or chunked)",
  lambda r: rejected(r) or (OK200(r) and data_is("hello")(r) and len(r["statuses"]) == 1), note_fn=show_data)
P("TE-10", 1, "9112 §5.2", "TE obs-fold 'chunked\\r\\n , identity'",
  post(TE + b"chunked\r\n , identity\r\n", CH), "400 + close", R400, note_fn=show_data)
P("TE-11", 1, "9112 §5.1", "'Transfer-Encoding : chunked' (space before colon)",
  post(b"Transfer-Encoding : chunked\r\n", CH), "400 + close", R400)
P("TE-12", 1, "9112 §6.1", "TE with VT before value '\\x0bchunked'",
  post(TE + b"\x0bchunked\r\n", CH), "400/501 + close", R400_501, note_fn=show_data)
P("TE-13", 1, "9112 §6.1", "HTTP/1.0 + TE: MUST treat framing as faulty and close after processing",
  post(TE + b"chunked\r\nConnection: keep-alive\r\n", CH, version=b"HTTP/1.0", host=False),
  "400 + close, or process then close", lambda r: rejected(r) or (bool(r["statuses"]) and r["end"] != "open"
                                                                   and not (r["followup"] or "").startswith("200")),
  note_fn=show_data)
P("TE-14", 1, "9112 §6.1", "empty Transfer-Encoding",
  post(TE + b"\r\n", CH), "400 + close", R400_501, note_fn=show_data)
P("TE-15", 1, "9112 §6.1", "TE 'chunked;foo=bar' (params on chunked are not defined)",
  post(TE + b"chunked;foo=bar\r\n", CH), "400/501 + close", R400_501, note_fn=show_data)
P("TE-16", 1, "9112 §6.1", "TE 'chunked' + TE '' (empty second field)",
  post(TE + b"chunked\r\n" + TE + b"\r\n", CH), "400 + close (or chunked)",
  lambda r: accepted_or_rejected(r, data_is("hello")), note_fn=show_data)
P("TE-17", 1, "9112 §6.1", "TE 'identity' alone (obsolete coding)",
  post(TE + b"identity\r\nContent-Length: 5\r\n", b"hello"), "501/400 + close", R400_501, note_fn=show_data)
P("TE-18", 1, "9112 §6.1", "TE ',chunked' (empty list element)",
  post(TE + b",chunked\r\n", CH), "200 (list rules allow) or 400", lambda r: accepted_or_rejected(r, data_is("hello")),
  note_fn=show_data)

# ---- chunk syntax (RFC 9112 §7.1)
def ch(body, extra=b""):
    return post(TE + b"chunked\r\n" + extra, body)


P("K-01", 1, "9112 §7.1", "chunk-size '0x5'",
  ch(b"0x5\r\nhello\r\n0\r\n\r\n"), "400 + close", R400)
P("K-02", 1, "9112 §7.1", "chunk-size with leading SP ' 5'",
  ch(b" 5\r\nhello\r\n0\r\n\r\n"), "400 + close", R400)
P("K-03", 1, "9112 §7.1", "chunk-size with trailing SP '5 ' (no ext)",
  ch(b"5 \r\nhello\r\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-04", 1, "9112 §7.1", "chunk-size with trailing HTAB '5\\t'",
  ch(b"5\t\r\nhello\r\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-05", 1, "9112 §7.1", "chunk-size '+5'",
  ch(b"+5\r\nhello\r\n0\r\n\r\n"), "400 + close", R400)
P("K-06", 1, "9112 §7.1", "chunk-size overflow (17 hex digits)",
  ch(b"1" + b"0" * 16 + b"\r\nhello\r\n0\r\n\r\n"), "400 (or 413) + close", lambda r: rejected(r, (400, 413)))
P("K-07", 1, "9112 §7.1", "chunk-size 'ffffffffffffffff' (2^64-1)",
  ch(b"ffffffffffffffff\r\nhello\r\n0\r\n\r\n"), "400/413 + close", lambda r: rejected(r, (400, 413)))
P("K-08", 1, "9112 §7.1", "chunk-size with many leading zeros (valid grammar)",
  ch(b"0" * 40 + b"5\r\nhello\r\n0\r\n\r\n"), "200 'hello' (or 400)",
  lambda r: accepted_or_rejected(r, data_is("hello")), note_fn=show_data)
P("K-09", 1, "9112 §7.1.1", "chunk-ext 'name=value' is ignored",
  ch(b"5;foo=bar\r\nhello\r\n0\r\n\r\n"), "200 'hello'", lambda r: OK200(r) and data_is("hello")(r))
P("K-10", 1, "9112 §7.1.1", "chunk-ext with BWS '5 ; foo = bar' (grammar allows BWS)",
  ch(b"5 ; foo = bar\r\nhello\r\n0\r\n\r\n"), "200 'hello' (or 400)",
  lambda r: accepted_or_rejected(r, data_is("hello")), note_fn=show_data)
P("K-11", 1, "9112 §7.1.1", "chunk-ext quoted-string value with ';' and SP inside",
  ch(b'5;foo="a b;c"\r\nhello\r\n0\r\n\r\n'), "200 'hello'", lambda r: OK200(r) and data_is("hello")(r))
P("K-12", 1, "9112 §7.1.1", "chunk-ext quoted-string containing bare LF",
  ch(b'5;foo="a\nb"\r\nhello\r\n0\r\n\r\n'), "400 + close", R400, note_fn=show_data)
P("K-13", 1, "9112 §7.1.1 / §2.2", "chunk-ext containing bare CR",
  ch(b"5;foo=a\rb\r\nhello\r\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-14", 1, "9112 §7.1.1", "chunk-ext containing bare LF (unquoted) — 'line' ends early?",
  ch(b"5;foo\nhello\r\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-15", 1, "9112 §7.1.1", "chunk-ext with NUL",
  ch(b"5;foo=a\x00b\r\nhello\r\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-16", 1, "9112 §7.1.1", "empty chunk-ext name '5;'",
  ch(b"5;\r\nhello\r\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-17", 1, "9112 §7.1.1", "chunk-ext value without name '5;=x'",
  ch(b"5;=x\r\nhello\r\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-18", 1, "9112 §7.1.1", "chunk-ext name not a token '5;a(b'",
  ch(b"5;a(b\r\nhello\r\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-19", 1, "9112 §7.1.1", "multiple chunk-ext params",
  ch(b"5;a=1;b=\"2\";c\r\nhello\r\n0\r\n\r\n"), "200 'hello'", lambda r: OK200(r) and data_is("hello")(r))
P("K-20", 1, "9112 §7.1 / §2.2", "bare LF after chunk-size (LF-only is for start-line/fields only)",
  ch(b"5\nhello\r\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-21", 1, "9112 §7.1", "bare LF after chunk-data",
  ch(b"5\r\nhello\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-22", 1, "9112 §7.1", "chunk-data not followed by CRLF",
  ch(b"5\r\nhelloXX0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-23", 1, "9112 §7.1", "last-chunk and final CRLF as bare LF '0\\n\\n'",
  ch(b"5\r\nhello\r\n0\n\n"), "400 + close", R400, note_fn=show_data)
P("K-24", 1, "9112 §7.1", "missing chunk-size (empty line)",
  ch(b"\r\nhello\r\n0\r\n\r\n"), "400 + close", R400)
P("K-25", 1, "9112 §7.1", "chunk-size with bare CR '5\\rhello'",
  ch(b"5\rhello\r\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-26", 1, "9112 §7.1", "negative/garbage chunk-size '-1'",
  ch(b"-1\r\nhello\r\n0\r\n\r\n"), "400 + close", R400)
P("K-27", 1, "9112 §7.1", "chunk-size followed by CR CR LF",
  ch(b"5\r\r\nhello\r\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("K-28", 1, "9112 §7.1.2", "trailer field with whitespace before colon",
  ch(b"5\r\nhello\r\n0\r\nX-T : a\r\n\r\n"), "400 + close", R400)
P("K-29", 1, "9112 §7.1.2", "trailer field name not a token",
  ch(b"5\r\nhello\r\n0\r\nX(T: a\r\n\r\n"), "400 + close", R400)
P("K-30", 1, "9112 §7.1.2 / §5.2", "trailer with obs-fold",
  ch(b"5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n"), "400 or fold", lambda r: accepted_or_rejected(r), note_fn=show_hdrs)
P("K-31", 1, "9112 §7.1.2", "trailer with bare CR in value",
  ch(b"5\r\nhello\r\n0\r\nX-T: a\rb\r\n\r\n"), "400 + close", R400, note_fn=show_hdrs)
P("K-32", 1, "9112 §7.1.2", "trailer section ended by bare LF",
  ch(b"5\r\nhello\r\n0\r\nX-T: a\n\n"), "400 or 200", lambda r: accepted_or_rejected(r), note_fn=show_hdrs)
P("K-33", 1, "9112 §7.1 / §2.2", "chunk-size line terminated by bare LF then data (LF-only chunked body)",
  ch(b"5\nhello\n0\n\n"), "400 + close", R400, note_fn=show_data)

# ---- trailers merged (9110 §6.5.1: MUST NOT merge into header section unless understood)
P("T-01", 1, "9110 §6.5.1", "trailer field is not merged into the header section",
  ch(b"5\r\nhello\r\n0\r\nX-Trailer: yes\r\n\r\n"), "200, X-Trailer not among headers",
  lambda r: OK200(r) and hdr_absent("X-Trailer")(r), note_fn=show_hdrs)
P("T-02", 1, "9110 §6.5.1 / §6.5.2", "trailer 'Content-Length: 100' (framing field, prohibited in trailers)",
  ch(b"5\r\nhello\r\n0\r\nContent-Length: 100\r\n\r\n"), "200 ignoring it (or 400); never merged",
  lambda r: rejected(r) or (OK200(r) and hdr_absent("Content-Length")(r)), note_fn=show_hdrs)
P("T-03", 1, "9110 §6.5.1 / 9112 §3.2", "trailer 'Host: evil' (routing field in trailer)",
  ch(b"5\r\nhello\r\n0\r\nHost: evil\r\n\r\n"), "200 with Host 'x' only (or 400)",
  lambda r: rejected(r) or (OK200(r) and (echo_headers(r) or {}).get("Host") == "x"), note_fn=show_hdrs)
P("T-04", 1, "9110 §6.5.1", "trailer 'Transfer-Encoding: gzip'",
  ch(b"5\r\nhello\r\n0\r\nTransfer-Encoding: gzip\r\n\r\n"), "200 not merged (or 400)",
  lambda r: rejected(r) or (OK200(r) and (echo_headers(r) or {}).get("Transfer-Encoding") == "chunked"),
  note_fn=show_hdrs)

# ---- connection management: Upgrade / CONNECT / Connection (9110 §7.8, §9.3.6, 9112 §9.3)
NOT_PHANTOM = lambda r: not any(s == 404 for s in r["statuses"][1:]) and "404" not in (r["followup"] or "")
P("U-01", 1, "9110 §7.8", "Upgrade offered but not accepted: server MAY ignore it; the connection stays HTTP",
  b"GET /get HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n",
  "200, then the follow-up answered normally (or close)",
  lambda r: OK200(r) and ((r["followup"] or "").startswith("200(followup)") or r["end"] != "open" or
                          (r["followup"] or "").startswith("no response")))
P("U-02", 1, "9110 §7.8 / 9112 §9.3", "Upgrade request + pipelined request in the same packet",
  b"GET /get HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n"
  b"GET /get?pipelined=1 HTTP/1.1\r\nHost: x\r\n\r\n",
  "200 + 200 for /get?pipelined (or 200 + close); never a phantom response",
  lambda r: r["statuses"][:1] == [200] and (len(r["statuses"]) == 1 or (r["statuses"][1] == 200 and "pipelined" in r["bodies"][1]))
  and r["end"] != "open" or (r["statuses"] == [200, 200] and "pipelined" in r["bodies"][1]),
  note_fn=lambda r: f"second body={r['bodies'][1][:40]!r}" if len(r["bodies"]) > 1 else "")
P("U-03", 1, "9110 §9.3.6", "CONNECT (authority-form) not supported: 4xx/501 and close (tunnel bytes may follow)",
  b"CONNECT x:80 HTTP/1.1\r\nHost: x:80\r\n\r\n", "4xx/501 + close",
  lambda r: bool(r["statuses"]) and r["statuses"][0] >= 400 and len(r["statuses"]) == 1 and
  (r["end"] != "open" or (r["followup"] or "").startswith("no response")))
P("U-04", 1, "9110 §9.3.6", "CONNECT + pipelined bytes",
  b"CONNECT x:80 HTTP/1.1\r\nHost: x:80\r\n\r\nGET /get?pipelined=1 HTTP/1.1\r\nHost: x\r\n\r\n",
  "one 4xx/501 + close (no phantom second response)",
  lambda r: bool(r["statuses"]) and r["statuses"][0] >= 400 and len(r["statuses"]) == 1,
  note_fn=lambda r: f"bodies={[b[:20] for b in r['bodies']]}")
P("U-05", 1, "9110 §7.6.1 (llhttp 9.4.2 #866)", "'Connection: close<TAB>' must close after the response",
  get(extra=b"Connection: close\t\r\n"), "200 + close",
  lambda r: OK200(r) and (r["end"] != "open" or (r["followup"] or "").startswith("no response")))
P("U-06", 1, "9112 §3.2.2", "absolute-form target with matching Host MUST be accepted",
  b"GET http://x/get HTTP/1.1\r\nHost: x\r\n\r\n", "200", OK200)
P("U-07", 1, "9110 §10.1.1", "Expect: 100-continue with trailing OWS is still 100-continue",
  post(b"Expect: 100-continue \r\nContent-Length: 5\r\n", b"hello"), "200 (maybe after 100)",
  lambda r: 200 in r["statuses"])

# ---- llhttp regressions (part 2)
P("L-01", 2, "CVE-2024-27982 / llhttp 8.1.2, 9.2.1", "obs-fold line ' Content-Length: 5' after a field",
  b"POST /post HTTP/1.1\r\nHost: x\r\nFoo: bar\r\n Content-Length: 5\r\n\r\nhello", "400 + close", R400,
  note_fn=show_hdrs)
P("L-02", 2, "CVE-2024-27982 variant", "whitespace line first after request line ' Content-Length: 5'",
  b"POST /post HTTP/1.1\r\n Content-Length: 5\r\nHost: x\r\n\r\nhello", "400 + close", R400, note_fn=show_hdrs)
P("L-03", 2, "CVE-2024-27982 variant", "smuggle: 'Foo: bar\\r\\n Content-Length: 38' + GET in body",
  b"POST /post HTTP/1.1\r\nHost: x\r\nFoo: bar\r\n Content-Length: 39\r\n\r\n"
  b"GET /get?smuggled=1 HTTP/1.1\r\nHost: x\r\n\r\n", "400 + close; never a response to /get?smuggled",
  lambda r: rejected(r) and not any("smuggled" in b for b in r["bodies"]), note_fn=show_hdrs)
P("L-04", 2, "CVE-2023-30589 / llhttp 8.1.1", "empty header value ended by CR without LF",
  b"GET /get HTTP/1.1\r\nHost: x\r\nX-Foo:\rContent-Length: 5\r\n\r\nhello", "400 + close", R400)
P("L-05", 2, "CVE-2025-23167 (llhttp 9.x <9.3)", "'\\r\\n\\rX' accepted as end of headers",
  b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\rXGET /get?smuggled=1 HTTP/1.1\r\nHost: x\r\n\r\n",
  "400 + close", lambda r: rejected(r) and not any("smuggled" in b for b in r["bodies"]))
P("L-06", 2, "llhttp 9.2.0 (#258)", "empty header field name ': x'",
  get(extra=b": x\r\n"), "400 + close", R400, note_fn=show_hdrs)
P("L-07", 2, "llhttp 9.1.3 (#248/#253)", "chunk-ext two params with quoted value containing '\\\"'",
  ch(b'5;a="x\\"y";b=z\r\nhello\r\n0\r\n\r\n'), "200 'hello'", lambda r: OK200(r) and data_is("hello")(r),
  note_fn=show_data)
P("L-08", 2, "CVE-2022-32213 (llhttp 6.0.7)", "TE chunked with obs-fold ', identity' (folded list element)",
  post(TE + b"chunked\r\n , identity\r\n", CH), "400 + close", R400, note_fn=show_data)
P("L-09", 2, "CVE-2022-32214 (llhttp 6.0.7)", "bare LF as header delimiter in strict mode",
  b"POST /post HTTP/1.1\r\nHost: x\r\nX-Foo: a\nContent-Length: 5\r\n\r\nhello", "400 (or 200 'hello')",
  lambda r: accepted_or_rejected(r, data_is("hello")), note_fn=show_data)
P("L-10", 2, "CVE-2022-32215 (llhttp 6.0.7)", "multi-line Transfer-Encoding ('chunked' on a second TE field)",
  post(TE + b"identity\r\n" + TE + b"chunked\r\n", CH), "501/400 + close (or chunked)",
  lambda r: rejected(r, (400, 501)) or (OK200(r) and data_is("hello")(r)), note_fn=show_data)
P("L-11", 2, "CVE-2022-35256 (llhttp 6.0.10)", "header line terminated only by CR (no LF) before next field",
  b"GET /get HTTP/1.1\r\nHost: x\r\nX-Foo: a\rTransfer-Encoding: chunked\r\n\r\n", "400 + close", R400)
P("L-12", 2, "llhttp 9.0.1 (#239)", "all-LF request (MAY accept)",
  b"GET /get HTTP/1.1\nHost: x\n\n", "200 or 400", lambda r: accepted_or_rejected(r))
P("L-13", 2, "llhttp 9.1.0 (#245)", "spaces after chunk size (lenient flag added; strict default rejects)",
  ch(b"5  \r\nhello\r\n0\r\n\r\n"), "400 + close", R400, note_fn=show_data)
P("L-14", 2, "llhttp 9.4.x (#810)", "tab around Content-Length value",
  post(b"Content-Length:\t5\r\n", b"hello"), "200 'hello'", lambda r: OK200(r) and data_is("hello")(r))
P("L-15", 2, "llhttp 9.2.0 (#258)", "empty header name in trailer",
  ch(b"5\r\nhello\r\n0\r\n: x\r\n\r\n"), "400 + close", R400, note_fn=show_hdrs)


# ---------------------------------------------------------------- special probes (limits)
def special(port):
    out = {}
    # (a) many small header fields, under the 16 KiB byte limit
    for n in (1000, 3000, 5000):
        raw = b"GET /get HTTP/1.1\r\nHost: x\r\n" + b"".join(b"a:\r\n" for _ in range(n)) + b"\r\n"
        r = run_probe(port, raw, follow=False)
        out[f"S-01 {n} empty 'a:' fields ({len(raw)} bytes)"] = describe(r)
    raw = b"GET /get HTTP/1.1\r\nHost: x\r\n" + b"".join(b"a%d:\r\n" % i for i in range(3000)) + b"\r\n"
    r = run_probe(port, raw, follow=False)
    out[f"S-02 3000 distinct empty fields ({len(raw)} bytes)"] = describe(r)
    # uncounted bytes in the head: OWS before a value, empty lines before the request line
    raw = b"GET /get HTTP/1.1\r\nHost: x\r\nX-Pad:" + b" " * 1_000_000 + b"v\r\n\r\n"
    r = run_probe(port, raw, follow=True, first_timeout=5)
    out["S-03 1 MB of leading OWS in one field value (limit is 16 KiB)"] = describe(r) + " " + show_hdrs(r)[:120]
    raw = b"GET /get HTTP/1.1\r\nHost: x\r\nX-Pad: v" + b" " * 1_000_000 + b"w\r\n\r\n"
    r = run_probe(port, raw, follow=False, first_timeout=5)
    out["S-04 1 MB of inner spaces in one field value"] = describe(r)
    raw = b"\r\n" * 500_000 + get()
    r = run_probe(port, raw, follow=True, first_timeout=5)
    out["S-05 1 MB of CRLF before the request line"] = describe(r)
    raw = b"GET /get HTTP/1.1\r\nHost: x\r\nX-Pad: v" + b" " * 1_000_000 + b"\r\n\r\n"
    r = run_probe(port, raw, follow=True, first_timeout=5)
    out["S-06 1 MB of trailing OWS in one field value"] = describe(r)
    # method / version bytes
    raw = b"GET /get HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"v" * 17000 + b"\r\n\r\n"
    r = run_probe(port, raw, follow=False)
    out["S-07 17000-byte field value (control: expect 431)"] = describe(r)
    # (b) chunk extensions: 1 MB, 10 MB
    for size in (1 << 20, 10 << 20):
        raw = ch(b"5;ext=" + b"a" * size + b"\r\nhello\r\n0\r\n\r\n")
        t0 = time.time()
        r = run_probe(port, raw, follow=True, first_timeout=10)
        out[f"S-08 chunk extension of {size >> 20} MiB"] = describe(r) + f" ({time.time() - t0:.2f}s) " + show_data(r)
    # many chunks, each with an extension: body 5 bytes, 2 MB of framing
    raw = ch(b"".join(b"1;" + b"e" * 1000 + b"\r\nx\r\n" for _ in range(2000)) + b"0\r\n\r\n")
    r = run_probe(port, raw, follow=False, first_timeout=10)
    out["S-09 2000 one-byte chunks each with a 1000-byte extension (2 MB framing, 2000 body bytes)"] = \
        describe(r) + f" data_len={len(json_field(r['bodies'][0], 'data') or '') if r['bodies'] else None}"
    # (b2) zero-size chunk extensions on the last chunk
    raw = ch(b"5\r\nhello\r\n0;" + b"z" * (1 << 20) + b"\r\n\r\n")
    r = run_probe(port, raw, follow=False, first_timeout=10)
    out["S-10 1 MiB extension on the last chunk"] = describe(r)
    # (c) trailers: size limit shared with the head?
    raw = ch(b"5\r\nhello\r\n0\r\nX-T: " + b"t" * 20000 + b"\r\n\r\n")
    r = run_probe(port, raw, follow=False)
    out["S-11 20000-byte trailer field (head limit 16 KiB)"] = describe(r)
    raw = ch(b"5\r\nhello\r\n0\r\n" + b"".join(b"t%d: v\r\n" % i for i in range(2000)) + b"\r\n")
    r = run_probe(port, raw, follow=False)
    h = echo_headers(r) or {}
    out["S-12 2000 trailer fields"] = describe(r) + f" echoed_header_count={len(h)}"
    return out


# ---------------------------------------------------------------- main
def start_server():
    exe = os.environ.get("WEFT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "tools",
                                                 "weft", "weft")
    p = subprocess.Popen([exe, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    line = p.stdout.readline().decode()
    m = re.search(r":(\d+)/", line)
    if not m:
        p.kill()
        sys.exit("could not start server: " + line)
    return p, int(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    ap.add_argument("--only")
    ap.add_argument("--json")
    ap.add_argument("--no-special", action="store_true")
    ap.add_argument("--weft", help="the weft binary to start (default: $WEFT, else build/tools/weft/weft)")
    ap.add_argument("--known-failures", metavar="ID,...",
                    help="as a test: exit 1 if a probe outside this list fails, or one in it passes (update the list)")
    a = ap.parse_args()
    if a.weft:
        os.environ["WEFT"] = a.weft
    proc = None
    port = a.port
    if port is None:
        proc, port = start_server()
    only = set(a.only.split(",")) if a.only else None
    results = []
    try:
        for pr in PROBES:
            if only and pr["id"] not in only:
                continue
            res = run_probe(port, pr["raw"], **pr["kw"])
            ok = bool(pr["check"](res))
            note = pr["note_fn"](res) if pr["note_fn"] else ""
            results.append(dict(id=pr["id"], part=pr["part"], section=pr["section"], rule=pr["rule"],
                                raw=repr(pr["raw"]), expected=pr["expected"], observed=describe(res),
                                note=note, verdict="PASS" if ok else "FAIL", res=res))
            print(f"{pr['id']:6} {'PASS' if ok else 'FAIL'}  {describe(res)}  {note[:150]}")
            sys.stdout.flush()
        spec = {}
        if not a.no_special and not only:
            spec = special(port)
            for k, v in spec.items():
                print(f"{k}: {v}")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"probes": results, "special": spec}, f, indent=1)
    finally:
        if proc:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
    if a.known_failures is not None:
        known = set(filter(None, a.known_failures.split(",")))
        failed = {r["id"] for r in results if r["verdict"] == "FAIL"}
        unexpected, fixed = sorted(failed - known), sorted(known - failed)
        if unexpected:
            print("rfc_probe: failed, not known to:", ", ".join(unexpected))
        if fixed:
            print("rfc_probe: passes now, still listed as known failures:", ", ".join(fixed))
        if unexpected or fixed:
            sys.exit(1)


if __name__ == "__main__":
    main()
