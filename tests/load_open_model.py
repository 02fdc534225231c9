#!/usr/bin/env python3
"""`weft load` measured from outside: the open model's rate, its HdrHistogram log read back by an
independent decoder (hdr-histogram-js, tests/node), and the load spread over MPI ranks (mpirun with 2
and 4 ranks on this machine) against a real `weft serve` whose own counters say what it served.

    load_open_model.py WEFT [MPIRUN]    (without MPIRUN, the MPI checks are left out)
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

WEFT = sys.argv[1]
MPIRUN = sys.argv[2] if len(sys.argv) > 2 else None
HERE = os.path.dirname(os.path.abspath(__file__))
MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
MPI_FLAGS = ["--oversubscribe", "--bind-to", "none", "--mca", "btl_vader_single_copy_mechanism", "none"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_2xx(mport):
    text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=10).read().decode()
    m = re.search(r'^weft_http_server_responses_total\{class="2xx"\} (\d+)', text, re.M)
    return int(m.group(1)) if m else 0


def load(args, mpi_ranks=None, timeout=60):
    cmd = [WEFT, "load", *args]
    if mpi_ranks:
        cmd = [MPIRUN, *MPI_FLAGS, "-np", str(mpi_ranks), *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=MPI_ENV)


def main():
    port, mport = free_port(), free_port()
    serve = subprocess.Popen([WEFT, "serve", "-p", str(port), "--metrics-port", str(mport), "-t", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/get"
    try:
        for _ in range(100):
            try:
                served_2xx(mport)
                break
            except OSError:
                time.sleep(0.05)

        # The open model: R × duration requests, within 1%, each one counted by the server.
        before = served_2xx(mport)
        r = load([url, "-c", "8", "-d", "3s", "--rate", "1000", "--json", "--hdr-log", "/tmp/weft-load-test.hlog"])
        check(r.returncode == 0, f"a --rate run succeeds ({r.stderr.strip()[:200]})")
        out = json.loads(r.stdout)
        check(abs(out["requests"] - 3000) <= 30, f"--rate 1000 for 3 s sends 3000 ± 1% ({out['requests']})")
        check(out["rate"]["due"] == 3000 and out["rate"]["sent"] == out["requests"], f"due and sent: {out['rate']}")
        check(served_2xx(mport) - before == out["requests"], "the server answered as many as weft load counted")

        # The log, decoded by hdr-histogram-js, has weft's own count and percentiles (to the bucket).
        node = subprocess.run(["node", os.path.join(HERE, "node", "hdr_log_read.js"), "/tmp/weft-load-test.hlog"],
                              capture_output=True, text=True, timeout=60)
        check(node.returncode == 0, f"hdr-histogram-js reads the log ({node.stderr.strip()[:300]})")
        if node.returncode == 0:
            js = json.loads(node.stdout)
            check(js["count"] == out["requests"], f"the log holds every response ({js['count']})")
            for key in ("p50", "p90", "p99", "p999", "max"):
                ours = out["latency_ms"][key] * 1000
                theirs = js[key]
                check(abs(ours - theirs) <= max(2, ours * 0.002), f"{key}: weft {ours:.0f} µs, hdr-histogram-js {theirs} µs")

        if not MPIRUN:
            print("(no mpirun: the MPI checks are left out)")
            return
        # Spread over ranks: the report's total is the sum of the ranks', and what the server served.
        for ranks in (2, 4):
            before = served_2xx(mport)
            r = load([url, "-c", "8", "-n", "2001", "--json"], mpi_ranks=ranks)
            check(r.returncode == 0, f"mpirun -np {ranks} weft load succeeds ({r.stderr.strip()[-300:]})")
            if r.returncode != 0:
                continue
            out = json.loads(r.stdout)  # rank 0 alone prints
            check(out["ranks"] == ranks and out["requests"] == 2001, f"{ranks} ranks: 2001 responses in one report ({out['requests']})")
            check(served_2xx(mport) - before == 2001, f"{ranks} ranks: the server served 2001")
            check(sum(out["status"].values()) == 2001, "status counts add up")

        before = served_2xx(mport)
        r = load([url, "-c", "4", "-d", "2s", "--rate", "600", "--json"], mpi_ranks=2)
        out = json.loads(r.stdout) if r.returncode == 0 else {"requests": -1}
        check(abs(out["requests"] - 1200) <= 12, f"2 ranks at --rate 600 for 2 s send 1200 ± 1% ({out['requests']})")
        check(served_2xx(mport) - before == out["requests"], "the server served what 2 ranks counted")

        # A rank that cannot connect ends the job at once, with a message that names it (MPMD launch:
        # rank 1 gets a port nobody listens on).
        dead = f"http://127.0.0.1:{free_port()}/get"
        t0 = time.monotonic()
        r = subprocess.run([MPIRUN, *MPI_FLAGS, "-np", "1", WEFT, "load", url, "-d", "30s", ":",
                            "-np", "1", WEFT, "load", dead, "-d", "30s"],
                           capture_output=True, text=True, timeout=60, env=MPI_ENV)
        took = time.monotonic() - t0
        check(r.returncode != 0, "a rank that cannot connect fails the job")
        check("rank 1 cannot connect" in r.stderr, f"and says which rank ({r.stderr.strip()[:300]})")
        check(took < 15, f"without running the 30 s load ({took:.1f} s)")

        # A rank that dies mid-run ends the job: it never hangs.
        t0 = time.monotonic()
        job = subprocess.Popen([MPIRUN, *MPI_FLAGS, "-np", "2", WEFT, "load", url, "-c", "2", "-d", "30s"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=MPI_ENV,
                               start_new_session=True)
        time.sleep(2)
        children = subprocess.run(["pgrep", "-P", str(job.pid)], capture_output=True, text=True).stdout.split()
        victims = [p for p in children if "load" in open(f"/proc/{p}/cmdline").read()]
        check(len(victims) == 2, f"two ranks running ({victims})")
        if victims:
            os.kill(int(victims[-1]), signal.SIGKILL)
        try:
            _, err = job.communicate(timeout=30)
            took = time.monotonic() - t0
            check(job.returncode != 0, "a rank killed mid-run fails the job")
            check(took < 20, f"the job ends soon after ({took:.1f} s)")
            check("signal 9" in err or "Killed" in err, f"mpirun says what happened ({err.strip()[-300:]})")
        except subprocess.TimeoutExpired:
            os.killpg(job.pid, signal.SIGKILL)
            check(False, "a rank killed mid-run ends the job (it hung)")
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=10)
    print("load_open_model: %s" % ("OK" if not failures else f"{len(failures)} FAILED"))


if __name__ == "__main__":
    main()
    sys.exit(1 if failures else 0)
