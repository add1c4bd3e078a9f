#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""scripts/demo.py as a newcomer runs it, with its output through a pipe: the printed ssh line
works, the broker runs as a uid of its own under its own principal (not the vault's `self`),
bob approves alice's held command over SSH, and Ctrl-C sent to the whole pipe (its process
group) stops every process the demo started and removes its directory."""
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

from harness import CLI, run_tests
from testbed import cmdline_pids, free_port, pid_alive

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_until(p, marker, timeout):
    out = b""
    deadline = time.time() + timeout
    while marker not in out:
        left = deadline - time.time()
        if left <= 0 or p.poll() is not None:
            raise AssertionError("demo output so far (exit %s):\n%s" % (
                p.poll(), out.decode(errors="replace")))
        r, _, _ = select.select([p.stdout], [], [], min(left, 1))
        if r:
            d = os.read(p.stdout.fileno(), 65536)
            if not d:
                continue
            out += d
    return out.decode()


def sh(d, line, timeout=60):
    return subprocess.run(["bash", "-c", line], env=dict(os.environ, D=d), capture_output=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, start_new_session=True)


def test_demo_through_a_pipe():
    port = free_port()
    p = subprocess.Popen(["bash", "-c", "python3 scripts/demo.py --port %d 2>&1 | cat" % port],
                         cwd=ROOT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    d = None
    try:
        text = read_until(p, b"Ctrl-C stops everything this started.", 120)
        d = re.search(r"^  export D=(\S+)$", text, re.M).group(1)
        sock = re.search(r"^  export CUSTOS_SOCKET=(\S+)$", text, re.M).group(1)
        line = re.search(r"^  (ssh -F \$D/ssh_config -i \$D/alice_key demo@web01@broker)$", text,
                         re.M).group(1)
        assert "127.0.0.1:%d" % port in text

        # The broker: a uid of its own, not root, and the uid the demo printed.
        pids = [x for x in cmdline_pids(d + "/custos-broker") if x != p.pid]
        assert len(pids) == 1, pids
        with open("/proc/%d/status" % pids[0]) as f:
            uids = [int(x) for x in f.read().split("Uid:")[1].split()[:4]]
        assert uids[0] != 0 and len(set(uids)) == 1, uids
        assert "as uid %d, principal \"broker\"" % uids[0] in text

        # The printed line, as printed.
        r = sh(d, line + " -- 'id -un; hostname'")
        assert r.returncode == 0 and r.stdout == b"demo\nweb01\n", r

        # A held command, approved by bob over SSH.
        bob = line.replace("alice_key", "bob_key").replace("demo@web01@broker", "custos@broker")
        held = subprocess.Popen(["bash", "-c", line + " -- 'echo restart web'"],
                                env=dict(os.environ, D=d), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            rid = None
            deadline = time.time() + 30
            while rid is None and time.time() < deadline:
                r = sh(d, bob + " requests --to-approve")
                m = re.search(rb"\b(r-\d+)\b", r.stdout)
                rid = m and m.group(1).decode()
                time.sleep(0.3)
            assert rid, r
            r = sh(d, bob + " approve %s ok" % rid)
            assert r.returncode == 0, r
            out, err = held.communicate(timeout=30)
            assert held.returncode == 0 and out == b"restart web\n", (out, err)
        finally:
            if held.poll() is None:
                held.kill()
                held.wait()

        # Every session.open was the broker's own principal.
        export = subprocess.run([CLI, "audit", "export"], env=dict(os.environ,
                                                                   CUSTOS_SOCKET=sock),
                                capture_output=True, timeout=30).stdout.decode()
        opens = [json.loads(l) for l in export.splitlines() if '"session.open"' in l]
        assert opens and {e["principal"] for e in opens} == {"broker"}, opens

        # Ctrl-C reaches the whole pipe: `cat` dies first, the demo must still clean up.
        os.killpg(p.pid, signal.SIGINT)
        p.wait(timeout=60)
        deadline = time.time() + 10
        while time.time() < deadline and (cmdline_pids(d) or os.path.exists(d)):
            time.sleep(0.1)
        assert not os.path.exists(d), "%s left behind" % d
        assert not cmdline_pids(d), cmdline_pids(d)
        assert not pid_alive(pids[0])
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=60)
        for pid in cmdline_pids(d) if d else []:
            os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    run_tests(globals())
