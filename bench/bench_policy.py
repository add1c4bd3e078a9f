#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What command policy costs, measured against the same broker without it, in one run.

    python3 bench/bench_policy.py [--quick]

1. Held exec: from the approver's gov.request.approve to the command's output reaching the
   admin (event push, session.resume, credential release, target log-in), next to the
   set-up of the same exec when nothing holds it.
2. Script on stdin without a pty: a shell runs `cat > /dev/null` and is then fed N lines of
   100 bytes. Under a filtering policy every line is kept back to its newline and checked
   against the rules before it is sent; without one the bytes pass through. Lines per second
   both ways and the ratio.

Uses tests/integration (vaultd, a namespaced sshd target, custos-broker, the real OpenSSH
client); binaries from $CUSTOS_BUILD_DIR (default ./build). Every process is stopped by pid,
every loop bounded; only 127.0.0.1.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault("CUSTOS_BUILD_DIR", os.path.abspath("build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from test_policy import policy_stack, wait_for  # noqa: E402


def held_latency(st, runs):
    """Seconds from approve to output, and plain exec set-up, interleaved."""
    held, plain = [], []
    for i in range(runs):
        t0 = time.time()
        p = st.ssh("echo plain-%d" % i)
        plain.append(time.time() - t0)
        assert p.returncode == 0, p
        proc = st.broker.popen("root@web01", "systemctl restart x%d 2>/dev/null; echo held-%d"
                               % (i, i), st.keys["alice"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            sess = wait_for(lambda: [s for s in st.c.ok("session.list", {"state": "held"})
                                     ["sessions"]], limit=20, step=0.02)
            assert sess, "no held session"
            t0 = time.time()
            st.c.ok("gov.request.approve", {"as": "bob", "id": sess[0]["hold"]})
            out, _ = proc.communicate(timeout=30)
            held.append(time.time() - t0)
            assert out.strip() == b"held-%d" % i, out
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return held, plain


def script_rate(st, lines):
    """Lines per second through a shell fed on stdin (no pty)."""
    body = b"cat > /dev/null\n" + (b"x" * 99 + b"\n") * lines
    t0 = time.time()
    p = st.ssh(None, input=body, timeout=300)
    dt = time.time() - t0
    assert p.returncode == 0, p
    return lines / dt, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    runs, lines = (3, 50000) if a.quick else (10, 400000)
    print("bench_policy: %d CPUs, load %s" % (os.cpu_count(),
                                               open("/proc/loadavg").read().split()[0]))
    st = policy_stack()
    try:
        held, plain = held_latency(st, runs)
        print("1. held exec, %d runs: approve -> output median %.0f ms (max %.0f); plain exec "
              "set-up median %.0f ms; ratio %.2f"
              % (runs, 1000 * statistics.median(held), 1000 * max(held),
                 1000 * statistics.median(plain),
                 statistics.median(held) / statistics.median(plain)), flush=True)
        filtered = [script_rate(st, lines) for _ in range(3)]
    finally:
        st.cleanup()
    # The same stack with a policy that cannot refuse: the broker does not filter.
    st = policy_stack(policy={})
    try:
        plain_rates = [script_rate(st, lines) for _ in range(3)]
    finally:
        st.cleanup()
    f = statistics.median(r for r, _ in filtered)
    u = statistics.median(r for r, _ in plain_rates)
    print("2. script on stdin, %d lines of 100 B, 3 runs each: filtered %.0f lines/s, "
          "unfiltered %.0f lines/s, ratio %.2f" % (lines, f, u, f / u))


if __name__ == "__main__":
    main()
