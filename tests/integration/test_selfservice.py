#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Self-service through the broker: reviewers and approvers over `ssh custos@broker COMMAND`,
and the interactive menu on a real pty (`ssh -tt custos@broker`)."""
import json
import os
import pty
import re
import select
import signal
import time

from brokerbed import Stack
from harness import run_tests
from testbed import ssh_client_key

PROMPT = b"Number to connect or request, r to refresh, q to quit: "


def give_key(st, ident):
    key, pub, fp = ssh_client_key(st.vault.tmp, name="id_" + ident)
    st.c.ok("gov.identity.key.add", {"id": ident, "key": pub})
    st.keys[ident] = key
    return key


def me(st, who, cmd):
    return st.broker.ssh("custos", cmd, st.keys[who])


def refused(p, status, text):
    """A one-line refusal on stderr with that exit status, nothing on stdout."""
    assert p.returncode == status, p
    assert text in p.stderr and p.stdout == b"", p
    assert len(p.stderr.strip().splitlines()) == 1, p


def test_reviewer_certifies_and_revokes_over_ssh():
    st = Stack()
    try:
        give_key(st, "bob")
        camp = st.c.ok("gov.campaign.create", {"name": "Q3 web review", "duration": 3600,
                                               "scope": {"kind": "all"}})
        items = {i["identity"]: i for i in
                 st.c.ok("gov.review.list", {"campaign": camp["id"]})["items"]}
        # alice and carol hold web-root; their manager bob reviews both.
        assert set(items) == {"alice", "carol"}, items
        assert all(i["reviewer"] == "bob" for i in items.values()), items
        a, c = items["alice"]["id"], items["carol"]["id"]

        p = me(st, "bob", "reviews")
        assert p.returncode == 0, p
        lines = p.stdout.decode().splitlines()
        assert len(lines) == 2, lines
        for item, who in ((a, "alice"), (c, "carol")):
            [line] = [l for l in lines if l.startswith(item + " ")]
            assert who in line and "role web-root" in line and "pending" in line, line
        p = me(st, "bob", "--json reviews")
        assert p.returncode == 0, p
        got = json.loads(p.stdout)["items"]
        assert sorted(i["id"] for i in got) == sorted([a, c]), got
        assert all(i["decision"] == "pending" and i["kind"] == "role" for i in got), got
        # alice reviews nothing; nor may she decide bob's items.
        p = me(st, "alice", "reviews")
        assert p.returncode == 0 and p.stdout == b"No open reviews.\n", p
        assert json.loads(me(st, "alice", "reviews --json").stdout) == {"items": []}
        refused(me(st, "alice", "certify %s mine" % a), 1, b"not assigned to alice")

        # revoke needs a comment: a usage error, before the vault is asked.
        refused(me(st, "bob", "revoke %s" % c), 2, b"revoke needs a comment")
        refused(me(st, "bob", "certify"), 2, b"usage: certify ITEM")
        refused(me(st, "bob", "certify c-999/i-1 ok"), 1, b"c-999/i-1")

        p = me(st, "bob", "certify %s still on call" % a)
        assert p.returncode == 0, p
        assert p.stdout.startswith(a.encode() + b" "), p
        assert b"certified by bob: still on call" in p.stdout, p
        p = me(st, "bob", "revoke %s left the web team --json" % c)
        assert p.returncode == 0, p
        dec = json.loads(p.stdout)
        assert dec["id"] == c and dec["decision"] == "revoked", dec
        assert dec["comment"] == "left the web team" and dec["decided_by"] == "bob", dec
        refused(me(st, "bob", "certify %s again" % a), 1, b"already")

        # The decisions are the vault's: visible to the campaign's owner, and applied.
        items = {i["id"]: i for i in
                 st.c.ok("gov.review.list", {"campaign": camp["id"]})["items"]}
        assert items[a]["decision"] == "certified" and items[a]["comment"] == "still on call"
        assert items[c]["decision"] == "revoked" and items[c]["decided_by"] == "bob"
        roles = [r["role"] for r in st.c.ok("gov.identity.get", {"id": "carol"})["roles"]]
        assert "web-root" not in roles, roles
        p = me(st, "bob", "reviews")
        assert p.returncode == 0 and p.stdout == b"No open reviews.\n", p
        assert b"reviews" in me(st, "bob", "help").stdout
    finally:
        st.cleanup()


def test_approver_approves_and_denies_over_ssh():
    st = Stack()
    try:
        give_key(st, "bob")
        p = me(st, "alice", "request root@web01 30m INC-7 rotate logs --json")
        assert p.returncode == 0, p
        req = json.loads(p.stdout)
        assert req["state"] == "pending" and req["approvers"] == ["bob"], req

        # bob sees it waiting for him, plain and as JSON.
        p = me(st, "bob", "requests")
        assert p.returncode == 0, p
        [line] = [l for l in p.stdout.decode().splitlines() if l.startswith(req["id"] + " ")]
        assert "pending" in line and "alice" in line and "root@web01" in line, line
        assert "waiting for bob" in line, line
        got = json.loads(me(st, "bob", "requests --json").stdout)["requests"]
        assert [(q["id"], q["state"]) for q in got] == [(req["id"], "pending")], got

        p = me(st, "bob", "approve %s go ahead" % req["id"])
        assert p.returncode == 0, p
        assert b"approved" in p.stdout and b"approved by bob" in p.stdout, p
        assert b"-> grant g-" in p.stdout, p
        p = me(st, "alice", "requests")
        assert p.returncode == 0 and b"approved by bob" in p.stdout, p
        p = st.ssh("echo in-$((40+2))")
        assert p.returncode == 0 and p.stdout == b"in-42\n", p

        # A second request: deny needs a comment; with one, it is denied.
        r2 = json.loads(me(st, "alice", "request root@web01 1h INC-8 more logs --json").stdout)
        refused(me(st, "bob", "deny %s" % r2["id"]), 2, b"deny needs a comment")
        refused(me(st, "alice", "approve %s" % r2["id"]), 1, b"approve")
        p = me(st, "bob", "deny %s use the runbook --json" % r2["id"])
        assert p.returncode == 0, p
        denied = json.loads(p.stdout)
        assert denied["id"] == r2["id"] and denied["state"] == "denied", denied
        assert denied["denial"]["comment"] == "use the runbook", denied
        mine = {q["id"]: q for q in
                json.loads(me(st, "alice", "requests --json").stdout)["requests"]}
        assert mine[r2["id"]]["state"] == "denied" and mine[req["id"]]["state"] == "approved"
        p = me(st, "alice", "requests")
        assert b"denied by bob: use the runbook" in p.stdout, p
        # Nothing left waiting for bob.
        assert b"pending" not in me(st, "bob", "requests").stdout
    finally:
        st.cleanup()


class Terminal:
    """ssh -tt on a real pty: the admin's raw terminal, read with bounded waits."""

    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ.pop("SSH_AUTH_SOCK", None)
            os.execvp(argv[0], argv)
        self.out = b""
        self.status = None

    def read_until(self, pattern, limit=20):
        """Read until the regex `pattern` matches output after what was consumed; its match."""
        rx = re.compile(pattern)
        deadline = time.time() + limit
        while True:
            m = rx.search(self.out)
            if m:
                self.seen, self.out = self.out[:m.end()], self.out[m.end():]
                return m
            if time.time() > deadline:
                raise AssertionError("no %r in output: %r" % (pattern, self.out[-3000:]))
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError("terminal closed before %r: %r"
                                         % (pattern, self.out[-3000:]))
                self.out += data

    def type(self, data, pause=0.0):
        os.write(self.fd, data)
        if pause:
            time.sleep(pause)

    def wait(self, limit=20):
        deadline = time.time() + limit
        while time.time() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
                return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
            try:  # keep draining so ssh never blocks on a full pty
                r, _, _ = select.select([self.fd], [], [], 0.1)
                if r:
                    self.out += os.read(self.fd, 65536)
            except OSError:
                time.sleep(0.05)
        raise AssertionError("ssh did not end: %r" % self.out[-3000:])

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.status = -1
        try:
            os.close(self.fd)
        except OSError:
            pass


def menu(st, terms, who="alice", key=None, ready=True):
    """`ssh -tt custos@broker` as `who` (or with `key`), kept in terms; at its prompt if ready."""
    t = Terminal(st.broker.ssh_argv("custos", None, key or st.keys[who], tty=True))
    terms.append(t)
    if ready:
        t.read_until(re.escape(PROMPT))
    return t


def test_menu_requests_then_connects_on_the_same_pty():
    st = Stack()
    terms = []
    try:
        term = menu(st, terms, ready=False)
        m = term.read_until(rb"Reachable now:\r\n((?:.*\r\n)*?)You may request:\r\n"
                            rb"((?:.*\r\n)*?)" + re.escape(PROMPT))
        assert b"(nothing)" in m.group(1), m.group(0)
        assert b"Custos self-service for alice" in term.seen, term.seen
        n = re.search(rb"(\d+)\) root@web\* +up to 2h, approval by manager \(role web-root\)",
                      m.group(2))
        assert n, m.group(0)
        # Line editing on the raw pty: a bad choice, an arrow key, erase, Ctrl-U.
        term.type(b"9x\x7f\x7f\x1b[A" + n.group(1) + b"\r")
        term.read_until(re.escape(b"Account [root@web*]: "))
        term.type(b"root@web*\r")
        term.read_until(rb"no wildcards.*\r\n" + re.escape(b"Account [root@web*]: "))
        term.type(b"root@web01\r")
        term.read_until(re.escape(b"Duration (e.g. 30m, 4h) [1h]: "))
        term.type(b"9h\r")
        term.read_until(rb"At most 2h for root@web\*\.\r\nDuration")
        term.type(b"forever\x15" + b"30m\r")
        term.read_until(b"Reason: ")
        term.type(b"x\r")
        term.read_until(rb"A reason is needed.*\r\nReason: ")
        term.type(b"MENU-9 chekc\x08\x08ck logs\x1b[D\x1bOB\r")
        m = term.read_until(rb"Request filed:\r\n(r-\d+) +pending +alice +root@web01 +30m +"
                            rb"waiting for bob\r\n")
        rid = m.group(1).decode()
        term.read_until(re.escape(PROMPT))
        [q] = [q for q in st.c.ok("gov.request.list")["requests"] if q["id"] == rid]
        assert q["state"] == "pending" and q["reason"] == "MENU-9 check logs", q
        assert q["account"] == "root@web01" and q["duration"] == 1800, q

        # Approved meanwhile: r shows the grant, which connects on this same pty.
        st.c.ok("gov.request.approve", {"as": "bob", "id": rid, "comment": "ok"})
        term.type(b"r\r")
        m = term.read_until(rb"(\d+)\) root@web01 +grant (g-\d+) until .*\r\n(?:.*\r\n)*?"
                            + re.escape(PROMPT))
        term.type(m.group(1) + b"\r")
        term.read_until(rb"Connecting to root@web01 \.\.\.\r\n")
        term.type(b"echo MARK-$((6*7))\r")
        term.read_until(b"MARK-42")
        term.type(b"exit 3\r")
        assert term.wait() == 3, term.out[-2000:]
        sessions = st.c.ok("session.list", {"identity": "alice"})["sessions"]
        assert [s["account"] for s in sessions] == ["root@web01"], sessions
    finally:
        for t in terms:
            t.close()
        st.cleanup()


def test_menu_quits_and_refuses_unknown_keys():
    st = Stack()
    terms = []
    try:
        t = menu(st, terms, "carol")
        t.type(b"q\r")
        t.read_until(b"Bye.")
        assert t.wait() == 0
        t = menu(st, terms, "carol")
        t.type(b"42\r")
        t.read_until(b"Type a number from the list, r or q.\r\n" + re.escape(PROMPT))
        t.type(b"\x04")
        assert t.wait() == 0
        # Ctrl-C in the middle of a request: the menu ends, nothing is filed.
        t = menu(st, terms, "carol")
        t.type(b"1\r")
        t.read_until(b"Account")
        t.type(b"root@web01\r")
        t.read_until(b"Duration")
        t.type(b"\x03")
        assert t.wait() == 130
        assert st.c.ok("gov.request.list")["requests"] == []
        # A key that belongs to nobody: one line, exit status 1.
        key, _, _ = ssh_client_key(st.vault.tmp, name="id_nobody")
        t = menu(st, terms, key=key, ready=False)
        assert t.wait() == 1
        assert b"not registered to any identity" in t.out, t.out
        assert PROMPT not in t.out
        # Hanging up while the menu waits for input leaves the broker serving.
        t = menu(st, terms, "carol")
        t.close()
        p = me(st, "carol", "targets")
        assert p.returncode == 0 and b"root@web*" in p.stdout, p
    finally:
        for t in terms:
            t.close()
        st.cleanup()


def test_menu_gone_while_the_vault_has_not_answered():
    st = Stack()
    terms = []
    vault = st.vault.proc.pid
    try:
        for how in (b"hangup", b"\x03"):
            t = menu(st, terms)
            os.kill(vault, signal.SIGSTOP)  # gov.me stays unanswered
            try:
                t.type(b"r\r")
                t.read_until(rb"r\r\n")
                t.type(b"1\r")  # typed ahead while the vault is asked: dropped
                if how == b"hangup":
                    t.close()
                else:
                    t.type(how)
                    assert t.wait() == 130
                time.sleep(0.5)  # the broker ends the session, the call still pending
            finally:
                os.kill(vault, signal.SIGCONT)
        # The late answers found nothing to write to; the broker still serves.
        p = me(st, "alice", "targets")
        assert p.returncode == 0 and b"root@web*" in p.stdout, p
        assert st.broker.stop() == 0
        assert "Sanitizer" not in st.broker.logtext(), st.broker.logtext()[-3000:]
    finally:
        os.kill(vault, signal.SIGCONT)
        for t in terms:
            t.close()
        st.cleanup()


if __name__ == "__main__":
    run_tests(globals())
