"""What the Python tests that start servers share: a free loopback port, waiting for a server to listen, and
recording failed expectations (check, failures)."""
import random
import socket
import sys
import time


def free_port():
    """A port free now, for a server started next. Picked below the kernel's ephemeral range, so that the
    outgoing connections of tests running beside this one (thousands at once) cannot take it before the
    server binds it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral_low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 0
    for _ in range(200):
        port = random.randrange(10000, ephemeral_low) if ephemeral_low > 11000 else 0
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def wait_listening(port, proc, what):
    """Returns once 127.0.0.1:port accepts; exits the test if `proc` dies or 20 s pass first."""
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited early with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not start listening on {port}")


failures = []  # what check() found wrong, in order; a test exits non-zero at its end if any


def check(cond, what):
    """Records `what` as a failure unless `cond` (and says so at once); nothing is printed on success."""
    if not cond:
        failures.append(what)
        print("FAIL:", what)
