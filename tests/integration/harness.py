# SPDX-License-Identifier: Apache-2.0
"""Integration test harness: real custos-vaultd processes in temp dirs, real CLI, raw socket.

Every process started here is stopped by its pid; every loop is bounded in count and time.
Tests are plain functions named test_*; run_tests() prints TAP and exits non-zero on failure.
A test that cannot run raises Skip("why"): it is reported as `ok N - name # SKIP why`, which
scripts/test.sh counts as a skip, never as a pass. Every daemon a test starts is checked when
it is cleaned up: an exit status other than the one the test asked for, or a sanitizer report
in its log, fails the test.
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

# What ASan, LSan and UBSan print when they find something (UBSan with halt_on_error=0 too).
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: AddressSanitizer", "Sanitizer")


class Skip(Exception):
    """Raised by a test that cannot run here; reported as TAP `# SKIP reason`."""


def sanitizer_report(text):
    """The first sanitizer report in a daemon's log (with some context), or None."""
    for mark in SANITIZER_MARKS:
        i = text.find(mark)
        if i >= 0:
            return text[max(0, i - 200):i + 3000]
    return None


def daemon_problem(name, rc, expected, log):
    """Why a stopped daemon fails its test (exit status or sanitizer report), or None."""
    rep = sanitizer_report(log)
    if rep is not None:
        return "%s: sanitizer report in its log:\n%s" % (name, rep)
    if rc not in expected:
        return "%s exited %s (expected %s):\n%s" % (name, rc, " or ".join(map(str, expected)),
                                                   log[-3000:])
    return None


class Vault:
    """One custos-vaultd in its own temp dir."""

    def __init__(self, extra_vault="", extra="", tmp=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="custos-it-")
        self.data = os.path.join(self.tmp, "data")
        self.sock = os.path.join(self.tmp, "vaultd.sock")
        self.conf = os.path.join(self.tmp, "vaultd.conf")
        self.log = os.path.join(self.tmp, "vaultd.log")
        self.proc = None
        self.problems = []  # exit statuses and sanitizer reports found so far
        self._exit_seen = True  # the last process's end was checked (none started yet)
        with open(self.conf, "w") as f:
            f.write("[vault]\ndata_dir = %s\nsocket = %s\n%s%s\n%s\n"
                    % (self.data, self.sock, FAST_KDF, extra_vault, extra))

    def start(self, wait=True, expect_fail=False, argv_prefix=()):
        """Start vaultd (argv_prefix: e.g. an unshare wrapper that execs it). expect_fail: it
        must exit at start; its exit status is returned (the test asserts it)."""
        self._check_exit()  # a previous run that ended unnoticed
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(list(argv_prefix) + [VAULTD, "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=self.logf)
        self._exit_seen = False
        if expect_fail:
            try:
                rc = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._exit_seen = True
                raise AssertionError("vaultd did not refuse to start")
            self.logf.close()
            self._exit_seen = True
            if rc < 0:  # a signal (abort_on_error, a crash) is never a clean refusal
                self.problems.append("vaultd died of signal %d at a refused start:\n%s"
                                     % (-rc, self.logtext()[-3000:]))
            return rc
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

    def _check_exit(self):
        """A process that ended on its own (not by stop/kill9) is a problem unless it was 0."""
        if self.proc is None or self._exit_seen or self.proc.poll() is None:
            return
        self._exit_seen = True
        self.logf.close()
        self.problems.append("vaultd exited %d by itself:\n%s"
                             % (self.proc.returncode, self.logtext()[-3000:]))

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stop vaultd by its pid; it must exit 0 (else the test fails at cleanup)."""
        if not self.proc:
            return None
        if self.proc.poll() is not None:
            self._check_exit()
            return self.proc.returncode
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._exit_seen = True
            self.problems.append("vaultd did not stop on signal %d" % sig)
            raise AssertionError("vaultd did not stop on signal %d" % sig)
        self.logf.close()
        self._exit_seen = True
        if rc != 0:
            self.problems.append("vaultd exited %d on signal %d:\n%s"
                                 % (rc, sig, self.logtext()[-3000:]))
        return rc

    def kill9(self):
        """Crash vaultd on purpose (SIGKILL): the one end that need not be clean."""
        self.proc.kill()
        self.proc.wait()
        self.logf.close()
        self._exit_seen = True

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
        rep = sanitizer_report(p.stderr.decode(errors="replace"))
        if rep is not None or p.returncode < 0:
            raise AssertionError("custos %s -> %d, sanitizer report or signal:\n%s"
                                 % (" ".join(args), p.returncode, rep or ""))
        if check and p.returncode != 0:
            raise AssertionError("custos %s -> %d\nstdout: %s\nstderr: %s" % (
                " ".join(args), p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace")))
        return p

    def connect(self):
        return Conn(self.sock)

    def patch_data(self, old, new):
        """Edit data.mdb in place while vaultd is stopped: every occurrence of the bytes `old`
        (LMDB keeps older copies of a page too) becomes `new`, of the same length. Objects
        are stored as compact JSON with sorted keys (store.c), e.g. b'"decide_by":1767225600'.
        Returns how many were changed (at least one, or AssertionError)."""
        assert self.proc is None or self.proc.poll() is not None, "vaultd must be stopped"
        assert len(old) == len(new), (old, new)
        path = os.path.join(self.data, "data.mdb")
        with open(path, "rb") as f:
            raw = f.read()
        n = raw.count(old)
        assert n > 0, "%r not found in data.mdb" % old
        with open(path, "r+b") as f:
            f.write(raw.replace(old, new))
        return n

    def cleanup(self):
        """Stop vaultd, check how it ended and its log for sanitizer reports, remove the temp
        dir; raise AssertionError (after removing it) if anything was wrong."""
        try:
            if self.proc and self.proc.poll() is None:
                self.stop()
            self._check_exit()
        except AssertionError:
            pass  # recorded in self.problems
        rep = sanitizer_report(self.logtext())
        if rep is not None:
            self.problems.append("vaultd: sanitizer report in its log:\n" + rep)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.problems:
            problems, self.problems = self.problems, []
            raise AssertionError("\n".join(problems))

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
    """Run every test_* function, in name order, as TAP. CUSTOS_TEST_ONLY=SUBSTRING (for a
    developer; scripts/test.sh refuses to run with it set) reports the others as skipped."""
    tests = [(n, f) for n, f in sorted(module_globals.items())
             if n.startswith("test_") and callable(f)]
    only = os.environ.get("CUSTOS_TEST_ONLY")
    print("1..%d" % len(tests))
    failed = 0
    for i, (name, fn) in enumerate(tests, 1):
        if only and only not in name:
            print("ok %d - %s # SKIP not selected by CUSTOS_TEST_ONLY=%s" % (i, name, only))
            continue
        t0 = time.time()
        try:
            fn()
            print("ok %d - %s (%.2fs)" % (i, name, time.time() - t0))
        except Skip as e:
            print("ok %d - %s # SKIP %s" % (i, name, str(e) or "no reason given"))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        sys.stdout.flush()
    sys.exit(1 if failed else 0)
