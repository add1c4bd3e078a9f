# SPDX-License-Identifier: Apache-2.0
"""Integration test harness: real custos-vaultd processes in temp dirs, real CLI, raw socket.

Every process started here is stopped by its pid; every loop is bounded in count and time.
Tests are plain functions named test_*; run_tests() prints TAP and exits non-zero on failure.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

BUILD = os.environ.get("CUSTOS_BUILD_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
VAULTD = os.path.join(BUILD, "vaultd", "custos-vaultd")
CLI = os.path.join(BUILD, "cli", "custos")

# Small Argon2 limits keep the suite fast; the default limits are measured in bench/.
FAST_KDF = "argon2_ops = 1\nargon2_mem = 8M\n"


class Vault:
    """One custos-vaultd in its own temp dir."""

    def __init__(self, extra_vault="", extra="", tmp=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="custos-it-")
        self.data = os.path.join(self.tmp, "data")
        self.sock = os.path.join(self.tmp, "vaultd.sock")
        self.conf = os.path.join(self.tmp, "vaultd.conf")
        self.log = os.path.join(self.tmp, "vaultd.log")
        self.proc = None
        with open(self.conf, "w") as f:
            f.write("[vault]\ndata_dir = %s\nsocket = %s\n%s%s\n%s\n"
                    % (self.data, self.sock, FAST_KDF, extra_vault, extra))

    def start(self, wait=True, expect_fail=False):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([VAULTD, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf)
        if expect_fail:
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("vaultd did not refuse to start")
        if wait:
            deadline = time.time() + 20
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError("vaultd exited %d at start:\n%s"
                                         % (self.proc.returncode, self.logtext()))
                if os.path.exists(self.sock):
                    try:
                        s = socket.socket(socket.AF_UNIX)
                        s.connect(self.sock)
                        s.close()
                        return self
                    except OSError:
                        pass
                time.sleep(0.02)
            raise AssertionError("vaultd socket did not appear")
        return self

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("vaultd did not stop on signal %d" % sig)
        self.logf.close()
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.logf.close()

    def logtext(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def cli(self, *args, input=None, check=True, env=None, timeout=60):
        e = dict(os.environ, CUSTOS_SOCKET=self.sock)
        if env:
            e.update(env)
        p = subprocess.run([CLI] + list(args), input=input, capture_output=True, env=e,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("custos %s -> %d\nstdout: %s\nstderr: %s" % (
                " ".join(args), p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace")))
        return p

    def connect(self):
        return Conn(self.sock)

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # Convenience: an initialised, unsealed vault (passphrase method).
    def setup(self, passphrase=b"correct horse battery staple"):
        self.start()
        self.cli("vault", "init", "--passphrase", input=passphrase + b"\n")
        self.cli("vault", "unseal", input=passphrase + b"\n")
        return self


class Conn:
    """A raw NDJSON connection."""

    def __init__(self, path, timeout=10):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.next_id = 1

    def send_raw(self, data):
        self.s.sendall(data)

    def send(self, op, args=None, id=None):
        if id is None:
            id = self.next_id
            self.next_id += 1
        msg = {"id": id, "op": op}
        if args is not None:
            msg["args"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        return id

    def recv(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, op, args=None):
        id = self.send(op, args)
        ans = self.recv()
        assert ans.get("id") == id, ans
        return ans

    def ok(self, op, args=None):
        ans = self.call(op, args)
        assert "result" in ans, "%s -> %s" % (op, ans)
        return ans["result"]

    def err(self, op, args=None):
        ans = self.call(op, args)
        assert "error" in ans, "%s should fail -> %s" % (op, ans)
        return ans["error"]["code"]

    def close(self):
        self.s.close()


_AS_USER_CLIENT = r'''
import json, os, socket, sys
os.setgroups([]); os.setgid(int(sys.argv[2])); os.setuid(int(sys.argv[3]))
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
out = []
for i, line in enumerate(sys.stdin):
    op, args = json.loads(line)
    s.sendall(json.dumps({"id": i, "op": op, "args": args}).encode() + b"\n")
    buf = b""
    while b"\n" not in buf:
        d = s.recv(65536)
        if not d: break
        buf += d
    out.append(json.loads(buf.split(b"\n")[0]))
print(json.dumps(out))
'''


def as_user(vault, uid, calls, gid=None):
    """Send [op, args] calls to the vault as another uid (SO_PEERCRED principals); the answers."""
    p = subprocess.run([sys.executable, "-c", _AS_USER_CLIENT, vault.sock,
                        str(uid if gid is None else gid), str(uid)],
                       input="".join(json.dumps(c) + "\n" for c in calls).encode(),
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def run_tests(module_globals):
    tests = [(n, f) for n, f in sorted(module_globals.items())
             if n.startswith("test_") and callable(f)]
    only = os.environ.get("CUSTOS_TEST_ONLY")
    if only:
        tests = [(n, f) for n, f in tests if only in n]
    print("1..%d" % len(tests))
    failed = 0
    for i, (name, fn) in enumerate(tests, 1):
        t0 = time.time()
        try:
            fn()
            print("ok %d - %s (%.2fs)" % (i, name, time.time() - t0))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        sys.stdout.flush()
    sys.exit(1 if failed else 0)
