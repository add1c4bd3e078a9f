# SPDX-License-Identifier: Apache-2.0
"""Helpers of the enforcement tests (issue 9): vault clients as other uids that hold their
connections, event subscribers, TOTP codes, SSH keys.

Every child process started here is stopped by its pid; every wait is bounded in time.
"""
import base64
import hashlib
import hmac
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

from harness import Vault

# A child that becomes another uid, opens connections one by one and, for each, optionally
# sends bytes, then reports what came back and whether the vault closed it.  It keeps every
# connection open until its stdin closes, so the vault sees them held.
_HOLDER = r'''
import json, os, socket, sys, time
path, gid, uid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
plan = json.loads(sys.stdin.readline())
os.setgroups([]); os.setgid(gid); os.setuid(uid)
socks, out = [], []
for step in plan:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    try:
        s.connect(path)
    except OSError as e:
        out.append({"connect_error": str(e)}); continue
    socks.append(s)
    send_error = None
    if step.get("send"):
        try:
            s.sendall(step["send"].encode())
        except OSError as e:
            send_error = str(e)  # closed already: what it said may still be there to read
    got, closed = b"", False
    deadline = time.time() + step.get("wait", 5)
    while b"\n" not in got and time.time() < deadline:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            closed = True; break
        if not d:
            closed = True; break
        got += d
    if not closed:
        s.settimeout(step.get("close_wait", 0.3))
        try:
            closed = s.recv(1, socket.MSG_PEEK) == b""
        except socket.timeout:
            pass
        except OSError:
            closed = True
    line = got.split(b"\n")[0]
    out.append({"answer": json.loads(line) if line else None, "closed": closed,
                "send_error": send_error})
print(json.dumps(out), flush=True)
sys.stdin.read()
'''


class Holder:
    """Connections held by another uid: Holder(vault, uid, plan) runs `plan` (a list of
    {"send": text?, "wait": s?, "close_wait": s?}) as `uid` and keeps the connections open until
    release().  .results is one {"answer", "closed"} per step."""

    def __init__(self, vault, uid, plan, gid=None, timeout=60):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, vault.sock, str(uid if gid is None else gid),
             str(uid)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.proc.stdin.write(json.dumps(plan).encode() + b"\n")
        self.proc.stdin.flush()
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            self.release()
            raise AssertionError("the holder child did not report within %ds" % timeout)
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().decode(errors="replace")
            self.release()
            raise AssertionError("the holder child failed: " + err)
        self.results = json.loads(line)

    def release(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()


def shared_vault(extra="", passphrase=b"pw-for-enforcement-tests"):
    """An unsealed vault whose socket other uids can reach (the data dir stays 0700)."""
    v = Vault(extra_vault="socket_mode = 0666\n", extra=extra)
    os.chmod(v.tmp, 0o755)
    v.passphrase = passphrase
    return v.setup(passphrase)


def unseal(v):
    v.cli("vault", "unseal", input=v.passphrase + b"\n")


def restart(v):
    """Stop vaultd (by its pid) and start it again: it comes back sealed."""
    assert v.stop() == 0
    v.start()


class Subscriber:
    """A broker-style event link: one connection, events.subscribe, events read as they come."""

    def __init__(self, vault, types=None):
        self.c = vault.connect()
        res = self.c.ok("events.subscribe", {"types": types} if types else {})
        self.types = res["subscribed"]

    def next(self, event, timeout=10, pred=None):
        """The next event of type `event` (skipping others) for which pred(data) holds."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.c.s.settimeout(max(0.05, deadline - time.time()))
            try:
                msg = self.c.recv()
            except socket.timeout:
                break
            if msg.get("event") == event and (pred is None or pred(msg["data"])):
                return msg
        raise AssertionError("no %s event within %ss" % (event, timeout))

    def drain(self, wait=0.3):
        """Every event that arrives within `wait` seconds."""
        out = []
        deadline = time.time() + wait
        while time.time() < deadline:
            self.c.s.settimeout(max(0.05, deadline - time.time()))
            try:
                out.append(self.c.recv())
            except socket.timeout:
                break
        return out

    def close(self):
        self.c.close()


def make_key(tmp, name):
    path = os.path.join(tmp, name + "_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name + "@laptop", "-f",
                    path], check=True)
    pub = open(path + ".pub").read().strip()
    fp = subprocess.run(["ssh-keygen", "-lf", path + ".pub"], capture_output=True,
                        check=True).stdout.decode().split()[1]
    return pub, fp


def totp(secret_b32, t=None, step=0):
    """RFC 6238 code (HMAC-SHA1, 30 s, 6 digits) of the base32 secret at time t + step*30."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if t is None else t) // 30) + step
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def wrong_totp(secret_b32):
    """A code that matches no step of the vault's window (now and one step each way)."""
    valid = {totp(secret_b32, step=s) for s in (-2, -1, 0, 1, 2)}
    n = 0
    while "%06d" % n in valid:
        n += 1
    return "%06d" % n


def audit(v):
    return [json.loads(l) for l in v.cli("audit", "export").stdout.decode()
            .splitlines()]
