#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The per-session SSH agent socket vaultd serves for a key account (docs/api.md): at most
4 signatures and 32 messages, only the caller's uid, nothing signed while the vault is
sealed, closed after 60 s without a message. Spoken to with a small agent-protocol client
(draft-miller-ssh-agent), as libssh would."""
import os
import socket
import struct
import subprocess
import time

from harness import Vault, as_user, run_tests

PASS = b"pw-for-agent-tests"
HOSTKEY = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
BROKER_UID = 65533
REQUEST_IDENTITIES, IDENTITIES_ANSWER, SIGN_REQUEST, SIGN_RESPONSE, FAILURE = 11, 12, 13, 14, 5


def make_vault():
    v = Vault(extra_vault="socket_mode = 0666\n",
              extra="[principal broker1]\nuids = %d\nscopes = broker\n" % BROKER_UID)
    os.chmod(v.tmp, 0o755)  # the broker uid reaches the socket (the data dir stays 0700)
    v.setup(PASS)
    c = v.connect()
    c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "hostkey": HOSTKEY})
    c.ok("account.create", {"id": "deploy@web01", "kind": "ssh-key"})
    key = os.path.join(v.tmp, "deploy_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    c.ok("secret.put", {"account": "deploy@web01", "value": open(key).read()})
    c.ok("gov.identity.create", {"id": "carol", "name": "Carol", "email": "c@example.com"})
    c.ok("gov.role.create", {"name": "ops", "kind": "standing", "entitlements": [
        {"account": "deploy@web01", "max_duration": 3600}]})
    c.ok("gov.identity.role.assign", {"id": "carol", "role": "ops"})
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    os.path.join(v.tmp, "carol")], check=True)
    pub = open(os.path.join(v.tmp, "carol.pub")).read().strip()
    v.fp = c.ok("gov.identity.key.add", {"id": "carol", "key": pub})["fp"]
    c.close()
    return v


def open_agent(v, c):
    d = c.ok("session.open", {"fp": v.fp, "account": "deploy@web01", "broker": "b1"})
    assert d["allow"] is True and d["credential"]["kind"] == "agent", d
    return d["session"], d["credential"]["socket"]


class Agent:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(10)
        self.s.connect(path)

    def call(self, body):
        """Send one message; its answer (type, payload), or None once vaultd closed."""
        try:
            self.s.sendall(struct.pack(">I", len(body)) + body)
            head = self._read(4)
            if head is None:
                return None
            return self._parse(self._read(struct.unpack(">I", head)[0]))
        except (BrokenPipeError, ConnectionResetError):
            return None

    def _read(self, n):
        out = b""
        while len(out) < n:
            d = self.s.recv(n - len(out))
            if not d:
                return None
            out += d
        return out

    @staticmethod
    def _parse(msg):
        return (msg[0], msg[1:]) if msg else None

    def identities(self):
        ans = self.call(bytes([REQUEST_IDENTITIES]))
        assert ans and ans[0] == IDENTITIES_ANSWER, ans
        n = struct.unpack(">I", ans[1][:4])[0]
        assert n == 1, ans
        blen = struct.unpack(">I", ans[1][4:8])[0]
        return ans[1][8:8 + blen]

    def sign(self, blob, data=b"session-id-and-userauth-request"):
        body = bytes([SIGN_REQUEST]) + struct.pack(">I", len(blob)) + blob + \
            struct.pack(">I", len(data)) + data + struct.pack(">I", 0)
        return self.call(body)

    def close(self):
        self.s.close()


def is_signature(ans):
    if not ans or ans[0] != SIGN_RESPONSE:
        return False
    sig = ans[1][4:]
    return sig[:4] == struct.pack(">I", 11) and sig[4:15] == b"ssh-ed25519" and \
        struct.unpack(">I", sig[15:19])[0] == 64 and len(sig) == 19 + 64


def signs(c, sid):
    return [e for e in c.ok("audit.export", {"limit": 10000})["entries"]
            if e["op"] == "session.sign" and e["detail"] == {"session": sid}]


def test_four_signatures_then_failure():
    v = make_vault()
    try:
        c = v.connect()
        sid, path = open_agent(v, c)
        a = Agent(path)
        blob = a.identities()
        assert not os.path.exists(path)  # one connection: the file went with it
        assert blob[4:15] == b"ssh-ed25519", blob
        for i in range(4):
            assert is_signature(a.sign(blob, b"data-%d" % i)), i
        assert a.sign(blob) == (FAILURE, b"")
        assert a.sign(blob) == (FAILURE, b"")
        # Each signature is audited, queued right after it was given (not before).
        deadline = time.time() + 5
        while len(signs(c, sid)) < 4 and time.time() < deadline:
            time.sleep(0.05)
        assert len(signs(c, sid)) == 4, signs(c, sid)
        assert a.identities() == blob  # still served, only no more signatures
        a.close()
        c.close()
    finally:
        v.cleanup()


def test_thirty_two_messages_then_closed():
    v = make_vault()
    try:
        c = v.connect()
        _, path = open_agent(v, c)
        a = Agent(path)
        for i in range(32):
            a.identities()
        assert a.call(bytes([REQUEST_IDENTITIES])) is None  # the 33rd: closed, no answer
        a.close()
        c.close()
        assert "too many messages" in v.logtext()
    finally:
        v.cleanup()


def test_only_the_callers_uid_is_served():
    """The broker's uid opened the session: a connection from another uid (root here) is
    refused and the agent is gone, so the broker cannot be raced for it either."""
    v = make_vault()
    try:
        [d] = as_user(v, BROKER_UID, [["session.open", {"fp": v.fp, "account": "deploy@web01",
                                                        "broker": "b1"}]])
        path = d["result"]["credential"]["socket"]
        st = os.stat(path)
        assert st.st_uid == BROKER_UID and st.st_mode & 0o777 == 0o600, (st.st_uid, st.st_mode)
        a = Agent(path)  # root may connect (no file permission stops it); vaultd refuses it
        assert a.call(bytes([REQUEST_IDENTITIES])) is None
        a.close()
        deadline = time.time() + 5
        while os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(path), "the agent socket outlived a wrong peer"
        assert "connection from uid 0 refused (served to uid %d only)" % BROKER_UID \
            in v.logtext()
        c = v.connect()
        assert signs(c, d["result"]["session"]) == []
        c.close()
    finally:
        v.cleanup()


def test_nothing_signed_while_sealed():
    v = make_vault()
    try:
        c = v.connect()
        sid, path = open_agent(v, c)
        a = Agent(path)
        blob = a.identities()
        c.ok("vault.seal")
        assert a.sign(blob) in (None, (FAILURE, b"")), "signed while sealed"
        a.close()
        v.cli("vault", "unseal", input=PASS + b"\n")
        assert signs(c, sid) == []
        c.close()
    finally:
        v.cleanup()


def test_closed_after_sixty_seconds_without_a_message():
    v = make_vault()
    try:
        c = v.connect()
        _, path = open_agent(v, c)
        _, never = open_agent(v, c)  # never connected to: its file goes after the same time
        a = Agent(path)
        a.identities()
        t0 = time.time()
        a.s.settimeout(75)
        try:
            got = a.s.recv(1)
        except ConnectionResetError:
            got = b""
        took = time.time() - t0
        assert got == b"" and 59 <= took < 65, (got, took)
        a.close()
        deadline = time.time() + 5
        while os.path.exists(never) and time.time() < deadline:
            time.sleep(0.1)
        assert not os.path.exists(never), "an unused agent socket outlived its idle time"
        c.close()
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
