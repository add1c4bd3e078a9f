#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Command and forwarding policy through the broker, with the real OpenSSH client and real
sshd targets: denied exec and subsystem with their reasons, held exec approved over SSH and
one that times out, a held exec denied from the CLI, typed shell lines checked best effort,
-L allowed only where the entitlement says, -R and -J refused."""
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time

from brokerbed import Stack, wait_eof
from harness import run_tests
from testbed import free_port, ssh_client_key

RULES = [
    {"exec": "rm -rf *", "action": "deny", "reason": "destructive; open a change ticket"},
    {"exec": "systemctl restart *", "action": "hold", "timeout": 120,
     "reason": "service restarts need a second pair of eyes"},
    {"exec": "reboot*", "action": "hold", "timeout": 10, "reason": "reboots are announced"},
    {"subsystem": "sftp", "action": "deny", "reason": "no file transfer on web servers"},
]


def policy_stack(forwarding=(), policy=None):
    """A Stack whose web-root entitlement carries RULES (or the members of `policy` instead),
    alice holding a grant under it; bob (the approver) gets a key."""
    st = Stack()
    try:
        ent = {"account": "root@web*", "max_duration": 7200,
               "approval": {"by": "manager", "count": 1}}
        ent.update(policy if policy is not None else
                   {"commands": RULES, "forwarding": list(forwarding)})
        st.c.ok("gov.role.update", {"name": "web-root", "entitlements": [ent]})
        key, pub, fp = ssh_client_key(st.vault.tmp, name="id_bob")
        st.c.ok("gov.identity.key.add", {"id": "bob", "key": pub})
        st.keys["bob"] = key
        st.grant()
        return st
    except BaseException:
        st.cleanup()
        raise


def wait_for(pred, limit=20, step=0.1):
    deadline = time.time() + limit
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def reap(*procs):
    """Stop the ssh clients a test started (by their process group) if still running."""
    for p in procs:
        if p and p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def held_session(st):
    held = st.c.ok("session.list", {"state": "held"})["sessions"]
    return held[0] if held else None


def test_role_policy_is_validated():
    st = Stack()
    try:
        bad = [
            ({"exec": "x", "subsystem": "y", "action": "deny"}, "exactly one"),
            ({"exec": "x", "action": "maybe"}, "allow, deny or hold"),
            ({"exec": "x", "action": "deny", "timeout": 30}, "only for action hold"),
            ({"exec": "x", "action": "hold", "timeout": 5}, "timeout"),
            ({"exec": "x\ny", "action": "deny"}, "printable"),
            ({"exec": "x", "action": "deny", "colour": "red"}, "unknown field"),
        ]
        for rule, why in bad:
            err = st.c.call("gov.role.update", {"name": "web-root", "entitlements": [
                {"account": "root@web*", "commands": [rule]}]})["error"]
            assert why in err["message"], (rule, err)
        err = st.c.call("gov.role.update", {"name": "web-root", "entitlements": [
            {"account": "root@web*", "forwarding": ["no-port"]}]})["error"]
        assert "HOST:PORT" in err["message"], err
        role = st.c.ok("gov.role.update", {"name": "web-root", "entitlements": [
            {"account": "root@web*", "commands": [{"exec": "reboot", "action": "hold"}]}]})
        ent = role["entitlements"][0]
        assert ent["commands"][0]["timeout"] == 300 and ent["commands_default"] == "allow"
        assert ent["forwarding"] == [], ent
    finally:
        st.cleanup()


def test_denied_exec_and_subsystem_show_their_reason():
    st = policy_stack()
    try:
        p = st.ssh("echo allowed-$((6*7))")
        assert p.returncode == 0 and p.stdout == b"allowed-42\n", p
        for cmd in ("rm -rf /tmp/custos-policy; echo ran", "  rm   -rf\t/tmp/x; echo ran"):
            p = st.ssh(cmd)
            assert p.returncode == 255, p
            assert b"destructive; open a change ticket" in p.stderr, p.stderr
            assert b"ran" not in p.stdout, p
        base = st.broker.ssh_argv("root@web01", None, st.keys["alice"])
        p = subprocess.run(base[:-1] + ["-s", base[-1], "sftp"], capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 255 and b"no file transfer on web servers" in p.stderr, p
        # The refusals are evidence: audited with the command.
        refused = [json.loads(line) for line in st.vault.cli(
            "audit", "export").stdout.decode().splitlines() if line.strip()]
        assert any(e.get("op") == "session.open" and e.get("result") == "refused"
                   and "rm" in json.dumps(e.get("detail", {})) for e in refused), refused[-5:]
    finally:
        st.cleanup()


def test_held_exec_approved_over_ssh_resumes():
    st = policy_stack()
    proc = None
    try:
        proc = st.broker.popen("root@web01", "systemctl restart nginx || echo ran-after-approval",
                               st.keys["alice"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL)
        sess = wait_for(lambda: held_session(st))
        assert sess, st.broker.logtext()[-2000:]
        rid = sess["hold"]
        req = st.c.ok("gov.request.get", {"id": rid})
        assert req["kind"] == "command" and req["approvers"] == ["bob"], req
        assert req["command"].startswith("systemctl restart nginx"), req
        me = lambda cmd, who: st.broker.ssh("custos", cmd, st.keys[who])  # noqa: E731
        # The requester cannot approve it; the approver sees it waiting for him.
        p = me("approve %s" % rid, "alice")
        assert p.returncode == 1 and b"approve" in p.stderr, p
        p = me("requests", "bob")
        assert b"run: systemctl restart nginx" in p.stdout and b"waiting for bob" in p.stdout, p
        p = me("requests --json", "bob")
        assert any(q["id"] == rid and q["state"] == "pending"
                   for q in json.loads(p.stdout)["requests"]), p.stdout
        p = me("approve %s go ahead" % rid, "bob")
        assert p.returncode == 0 and b"approved by bob" in p.stdout, p
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, (out, err, st.broker.logtext()[-2000:])
        assert out.endswith(b"ran-after-approval\n"), out
        assert b"needs approval" in err and rid.encode() in err, err
        s = wait_for(lambda: (lambda x: x if x["state"] == "closed" else None)(
            st.c.ok("session.get", {"session": sess["id"]})), limit=10)
        assert s and s["hold"] == rid and s["exit_status"] == 0, s
    finally:
        reap(proc)
        st.cleanup()


def test_held_exec_times_out_and_cli_denial_ends_another():
    st = policy_stack()
    procs = []
    try:
        t0 = time.time()
        late = st.broker.popen("root@web01", "reboot now; echo rebooted", st.keys["alice"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL)
        procs.append(late)
        wait_for(lambda: held_session(st))
        denied = st.broker.popen("root@web01", "systemctl restart db; echo restarted",
                                 st.keys["alice"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        procs.append(denied)
        rid = wait_for(lambda: [s["hold"] for s in st.c.ok(
            "session.list", {"state": "held"})["sessions"] if "systemctl" in s["command"]])
        assert rid, st.broker.logtext()[-2000:]
        p = st.vault.cli("gov", "deny", rid[0], "not", "during", "business", "hours",
                         "--as", "bob")
        assert p.returncode == 0, p
        out, err = denied.communicate(timeout=20)
        assert denied.returncode == 255 and b"restarted" not in out, (out, err)
        assert b"denied by bob: not during business hours" in err, err
        out, err = late.communicate(timeout=40)
        assert late.returncode == 255 and b"rebooted" not in out, (out, err)
        assert b"not approved within the time allowed" in err, err
        assert 9 <= time.time() - t0 < 35, time.time() - t0
        reqs = st.c.ok("gov.request.list", {})["requests"]
        states = {q["command"].split()[0]: q["state"] for q in reqs if q.get("kind") == "command"}
        assert states == {"reboot": "expired", "systemctl": "denied"}, states
    finally:
        reap(*procs)
        st.cleanup()


def test_closing_a_held_session_withdraws_its_request():
    st = policy_stack()
    proc = None
    try:
        proc = st.broker.popen("root@web01", "systemctl restart cache", st.keys["alice"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL)
        sess = wait_for(lambda: held_session(st))
        assert sess
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        q = wait_for(lambda: (lambda r: r if r["state"] != "pending" else None)(
            st.c.ok("gov.request.get", {"id": sess["hold"]})))
        assert q and q["state"] == "cancelled", q
    finally:
        reap(proc)
        st.cleanup()


class Pty:
    """The real ssh client on a pty, read with bounded waits."""

    def __init__(self, argv):
        import pty
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp(argv[0], argv)
        self.out = b""

    def read_until(self, token, limit=20, start=0):
        """Read until token shows up in the output after offset start."""
        deadline = time.time() + limit
        while token not in self.out[start:] and time.time() < deadline:
            r, _, _ = select.select([self.fd], [], [], 0.3)
            if r:
                try:
                    self.out += os.read(self.fd, 65536)
                except OSError:
                    break
        return token in self.out[start:]

    def type_line(self, text):
        """Type like a person: the text, wait for the shell's echo, then Enter."""
        mark = len(self.out)
        os.write(self.fd, text.encode())
        tail = text[-4:].encode()
        deadline = time.time() + 10
        while tail not in self.out[mark:] and time.time() < deadline:
            self.read_until(tail, 0.5)
        os.write(self.fd, b"\r")

    def wait(self):
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass


def test_typed_lines_in_a_shell_are_checked():
    st = policy_stack()
    t = None
    try:
        t = Pty(st.broker.ssh_argv("root@web01", None, st.keys["alice"], tty=True))
        t.type_line("echo fine-$((1+1))")
        assert t.read_until(b"fine-2"), t.out[-2000:]
        t.type_line("rm -rf /tmp/custos-typed; echo removed-$((2+2))")
        assert t.read_until(b"destructive; open a change ticket"), t.out[-2000:]
        assert b"removed-4" not in t.out
        # ^O (operate-and-get-next) would run the line too: checked like Enter.
        mark = len(t.out)
        os.write(t.fd, b"rm -rf /tmp/custos-o")
        t.read_until(b"custos-o", 5)
        os.write(t.fd, b"\x0f")
        assert t.read_until(b"destructive", 10, start=mark), t.out[-2000:]
        t.type_line("echo still-here-$((3+3))")
        assert t.read_until(b"still-here-6"), t.out[-2000:]
        # A held line runs once approved.
        t.type_line("systemctl restart web 2>/dev/null; echo typed-held-$((3*3))")
        assert t.read_until(b"needs approval"), t.out[-2000:]
        assert b"typed-held-9" not in t.out
        rid = wait_for(lambda: [q["id"] for q in st.c.ok("gov.request.list", {})["requests"]
                                if q.get("kind") == "command" and q["state"] == "pending"])
        assert rid, t.out[-2000:]
        st.c.ok("gov.request.approve", {"as": "bob", "id": rid[0], "comment": "ok"})
        assert t.read_until(b"typed-held-9"), t.out[-2000:]
        # Deny decisions are audited with the line.
        entries = [json.loads(x) for x in st.vault.cli("audit", "export").stdout.decode()
                   .splitlines() if x.strip()]
        cmds = [e for e in entries if e.get("op") == "session.command"]
        assert any("rm -rf /tmp/custos-typed" in json.dumps(e) and '"deny"' in json.dumps(e)
                   for e in cmds), cmds
        os.write(t.fd, b"exit 4\r")
        assert t.wait() == 4
        t = None
    finally:
        if t:
            t.kill()
        st.cleanup()


def test_allow_list_shell_refuses_lines_it_cannot_follow():
    """With commands_default deny: a line recalled from history is refused (unknown), an
    allow rule's * never lets shell syntax through, and ^U after cursor keys does not make a
    line known again."""
    st = policy_stack(policy={"commands_default": "deny",
                              "commands": [{"exec": "expr *", "action": "allow"}]})
    t = None
    try:
        t = Pty(st.broker.ssh_argv("root@web01", None, st.keys["alice"], tty=True))
        t.type_line("expr 40 + 2")
        assert t.read_until(b"42\r\n"), t.out[-2000:]
        t.type_line("id -un")
        assert t.read_until(b"not among the commands allowed"), t.out[-2000:]
        mark = len(t.out)
        t.type_line("expr 1 + 1; id -un")
        assert t.read_until(b"not among the commands allowed", start=mark), t.out[-2000:]
        assert b"\r\nroot\r\n" not in t.out[mark:], t.out[-2000:]
        # Home, then ^U: readline keeps what was after the cursor; the broker cannot know it.
        mark = len(t.out)
        os.write(t.fd, b"id -un")
        t.read_until(b"id -un", 5, start=mark)
        os.write(t.fd, b"\x1b[H\x15\r")
        assert t.read_until(b"cannot follow", start=mark), t.out[-2000:]
        assert b"\r\nroot\r\n" not in t.out[mark:], t.out[-2000:]
        os.write(t.fd, b"\x1b[A")  # up arrow: the shell recalls a line the broker cannot see
        time.sleep(0.3)
        os.write(t.fd, b"\r")
        assert t.read_until(b"cannot follow"), t.out[-2000:]
        # exec outside the allow list is refused at once.
        p = st.ssh("id -un")
        assert p.returncode == 255 and b"allows only listed commands" in p.stderr, p
        p = st.ssh("expr 1 + 1; id -un")
        assert p.returncode == 255 and p.stdout == b"", p
        # A command that is not UTF-8 is refused before it is checked or audited.
        p = st.ssh("expr 1 + 1 #\udcff".encode("utf-8", "surrogateescape").decode(
            "utf-8", "surrogateescape"))
        assert p.returncode == 255 and b"not valid UTF-8" in p.stderr, p
        os.write(t.fd, b"\x04")
        t.wait()
        t = None
    finally:
        if t:
            t.kill()
        st.cleanup()


def test_typed_ctrl_w_ctrl_c_on_a_held_line_and_the_rest_of_a_paste():
    """The line editor follows ^W as the shell does; ^C withdraws a held line's request; the
    lines pasted after a refused one are dropped."""
    st = policy_stack()
    t = None
    try:
        t = Pty(st.broker.ssh_argv("root@web01", None, st.keys["alice"], tty=True))
        def prompt(start):
            """Wait for the shell's prompt after start: keys typed ahead of it reach the
            kernel's line discipline, whose ^W differs from readline's (best effort)."""
            assert t.read_until(b":~# ", start=start), t.out[-2000:]
            return len(t.out)
        t.type_line("echo ready-$((1+1))")
        assert t.read_until(b"ready-2"), t.out[-2000:]
        mark = prompt(t.out.index(b"ready-2"))
        # ^W erases back over words: what runs is what the broker checks.
        os.write(t.fd, b"rm -rf /tmp/custos-w")
        t.read_until(b"custos-w", 5, start=mark)
        os.write(t.fd, b"\x17\x17\x17")
        t.type_line("echo w-$((2+3))")
        assert t.read_until(b"w-5", start=mark), t.out[-2000:]
        assert b"destructive" not in t.out[mark:], t.out[-2000:]
        mark = prompt(t.out.index(b"w-5", mark))
        os.write(t.fd, b"echo harmless ")
        t.read_until(b"harmless ", 5, start=mark)
        os.write(t.fd, b"\x17\x17")
        t.type_line("rm -rf /tmp/custos-w2; echo w2-$((3+3))")
        assert t.read_until(b"destructive; open a change ticket", start=mark), t.out[-2000:]
        assert b"w2-6" not in t.out[mark:]
        # The broker's refusal and the shell's new prompt (after its ^C) come in either
        # order; mark was taken after the last prompt, so the next one is the new one.
        mark = prompt(mark)
        # ^C on a held line: its request is withdrawn, the line never runs.
        t.type_line("systemctl restart web-c 2>/dev/null; echo held-c-$((4+4))")
        assert t.read_until(b"needs approval", start=mark), t.out[-2000:]
        rid = wait_for(lambda: [q["id"] for q in st.c.ok("gov.request.list", {})["requests"]
                                if q.get("kind") == "command" and q["state"] == "pending"])
        assert rid, t.out[-2000:]
        os.write(t.fd, b"\x03")
        q = wait_for(lambda: (lambda r: r if r["state"] != "pending" else None)(
            st.c.ok("gov.request.get", {"id": rid[0]})), 10)
        assert q and q["state"] == "cancelled", q
        t.type_line("echo after-c-$((5+5))")
        assert t.read_until(b"after-c-10", start=mark), t.out[-2000:]
        assert b"held-c-8" not in t.out[mark:], t.out[-2000:]
        mark = prompt(t.out.index(b"after-c-10", mark))
        # A paste: the line before the refused one runs, the refused one and the rest not.
        os.write(t.fd, b"echo p1-$((1+1))\rrm -rf /tmp/custos-p; echo p2-$((2+2))\r"
                       b"echo p3-$((3+3))\r")
        # Refused (pasted ahead of the echo, it is refused as a line not echoed yet). The
        # line before it runs unless the ^C that discards the refused line reaches the shell
        # first (a paste faster than the echo): either way nothing after it runs.
        assert t.read_until(b"the policy refuses it", start=mark) or \
            b"destructive" in t.out[mark:], t.out[-2000:]
        # What follows a refused line is not sent: after the shell's prompt is back and the
        # output has been quiet for a second, neither later line has run.
        deadline = time.time() + 10
        while time.time() < deadline:
            n = len(t.out)
            t.read_until(b"\0never\0", 1.0, start=n)
            if len(t.out) == n and b":~# " in t.out[-300:]:
                break
        tail = t.out[mark:]
        assert b":~# " in t.out[-300:], tail
        assert b"p2-4" not in tail and b"p3-6" not in tail, tail
    finally:
        if t:
            t.kill()
        st.cleanup()


def test_script_line_longer_than_1024_bytes_is_refused():
    st = policy_stack()
    try:
        ok = b"echo " + b"y" * 1019  # 1024 bytes: checked, allowed
        assert len(ok) == 1024
        p = st.ssh(None, input=b"echo one\n" + ok + b"\necho two\n")
        assert p.returncode == 0 and p.stdout == b"one\n" + b"y" * 1019 + b"\ntwo\n", p
        long = b"echo " + b"x" * 1020  # 1025 bytes
        p = st.ssh(None, input=b"echo one\n" + long + b"\necho two\n")
        assert p.returncode == 255 and p.stdout == b"one\n", p
        assert b"a line longer than 1024 bytes cannot be checked" in p.stderr, p.stderr
        assert b"the rest of the input is not sent" in p.stderr, p.stderr
    finally:
        st.cleanup()


def test_held_session_asks_again_when_the_decision_event_is_lost():
    """The approval is made while the broker cannot hear it (stopped, its vault connection
    gone with a vault restart): only the held session's own re-poll (every 5 s) resumes it."""
    st = policy_stack()
    proc = None
    broker = st.broker.proc.pid
    try:
        proc = st.broker.popen("root@web01", "systemctl restart nginx || echo resumed-$((6*7))",
                               st.keys["alice"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL)
        sess = wait_for(lambda: held_session(st))
        assert sess, st.broker.logtext()[-2000:]
        os.kill(broker, signal.SIGSTOP)
        try:
            st.c.close()
            st.vault.stop()
            st.vault.start()
            st.vault.cli("vault", "unseal", input=b"broker-test-passphrase\n")
            st.c = st.vault.connect()
            st.c.ok("gov.request.approve", {"as": "bob", "id": sess["hold"]})  # nobody hears
        finally:
            os.kill(broker, signal.SIGCONT)
        t0 = time.time()
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and out.endswith(b"resumed-42\n"), (out, err)
        assert time.time() - t0 < 12, time.time() - t0
        s = wait_for(lambda: (lambda x: x if x["state"] == "closed" else None)(
            st.c.ok("session.get", {"session": sess["id"]})), limit=10)
        assert s and s["exit_status"] == 0, s
    finally:
        os.kill(broker, signal.SIGCONT)
        reap(proc)
        st.cleanup()


def echo_server():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(30)

    def serve():
        try:
            c, _ = srv.accept()
            with c:
                c.settimeout(10)
                data = c.recv(1024)
                c.sendall(b"echo:" + data)
        except OSError:
            pass
        finally:
            srv.close()
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return srv.getsockname()[1], th


def connect_retry(port, limit=10):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            time.sleep(0.2)
    raise AssertionError("nothing listens on %d" % port)


def test_local_forward_only_where_the_entitlement_allows():
    eport, th = echo_server()
    st = policy_stack(forwarding=["127.0.0.1:%d" % eport])
    procs = []
    try:
        ok_port, bad_port = free_port(), free_port()
        argv = st.broker.ssh_argv("root@web01", "sleep 5", st.keys["alice"], options=[
            "LocalForward=127.0.0.1:%d 127.0.0.1:%d" % (ok_port, eport),
            "LocalForward=127.0.0.1:%d 127.0.0.1:%d" % (bad_port, st.targets[0].port)])
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        procs.append(proc)
        c = connect_retry(ok_port)
        c.settimeout(10)
        c.sendall(b"ping")
        try:
            got = c.recv(64)
        except OSError as e:
            got = repr(e).encode()
        assert got == b"echo:ping", (got, st.broker.logtext()[-3000:])
        c.close()
        c = connect_retry(bad_port)
        # Refused: closed (EOF) without a byte from the target; still open after 5 s fails.
        assert wait_eof(c, time.time() + 5) is not None, "refused forward not closed"
        c.close()
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, (out, err)
        assert b"forwarding to 127.0.0.1:%d refused" % st.targets[0].port in err, err
        audit = st.vault.cli("audit", "export").stdout.decode()
        assert '"forward_port":%d' % eport in audit.replace(" ", ""), audit[-2000:]
    finally:
        reap(*procs)
        st.cleanup()


def test_remote_forward_only_where_the_entitlement_allows():
    """-R: the target listens (as the entitlement allows) and its connections come back
    through the broker to a service on the admin's side."""
    eport, th = echo_server()
    rport = free_port()
    st = policy_stack(policy={"remote_forwarding": ["127.0.0.1:%d" % rport]})
    proc = None
    try:
        argv = st.broker.ssh_argv("root@web01", "sleep 6", st.keys["alice"], options=[
            "RemoteForward=127.0.0.1:%d 127.0.0.1:%d" % (rport, eport)])
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        c = connect_retry(rport)  # the target's sshd listens there (same network namespace)
        c.settimeout(10)
        c.sendall(b"pong")
        assert c.recv(64) == b"echo:pong", st.broker.logtext()[-2000:]
        c.close()
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, (out, err)
        audit = st.vault.cli("audit", "export").stdout.decode().replace(" ", "")
        assert '"forward_kind":"remote"' in audit and '"forward_port":%d' % rport in audit
    finally:
        reap(proc)
        st.cleanup()


def test_jump_only_as_an_account_and_where_the_entitlement_allows():
    """-J / -W (direct-tcpip with no session channel): as custos@ refused; as ACCOUNT@TARGET
    a forward-only session whose forward leaves from the target, only where allowed."""
    eport, th = echo_server()
    st = policy_stack(forwarding=["127.0.0.1:%d" % eport])
    try:
        tport = st.targets[0].port

        def jump(user, dest, data=b""):
            argv = st.broker.ssh_argv(user, None, st.keys["alice"])
            argv = argv[:-1] + ["-W", dest, argv[-1]]
            return subprocess.run(argv, input=data, capture_output=True, timeout=30)
        p = jump("custos", "127.0.0.1:%d" % eport)
        assert p.returncode == 255 and p.stdout == b"", p
        # Checked once the vault has answered: the channel just closes (no reason can be
        # shown without a session channel), and the refusal is audited.
        p = jump("root@web01", "127.0.0.1:%d" % tport)
        assert p.stdout == b"", p
        # The broker reports the refusal to the vault after closing the channel: wait for it.
        deadline = time.time() + 10
        while True:
            audit = st.vault.cli("audit", "export").stdout.decode().replace(" ", "")
            if ('"forward_port":%d' % tport in audit and '"action":"deny"' in audit or
                    time.time() > deadline):
                break
            time.sleep(0.2)
        assert '"forward_port":%d' % tport in audit and '"action":"deny"' in audit, audit[-1500:]
        p = jump("root@web01", "127.0.0.1:%d" % eport, b"jumped")
        assert p.stdout == b"echo:jumped", (p, st.broker.logtext()[-2000:])
        sessions = st.c.ok("session.list", {})["sessions"]
        assert any(x["kind"] == "forward" and x["state"] == "closed" for x in sessions), sessions
        # A real -J through a config naming the broker (as custos@) as the jump host.
        cfg = os.path.join(st.vault.tmp, "jump_config")
        with open(cfg, "w") as f:
            f.write("Host broker\n  HostName 127.0.0.1\n  Port %d\n  User custos\n"
                    "  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n"
                    "  StrictHostKeyChecking yes\n  BatchMode yes\n"
                    "Host *\n  IdentityAgent none\n  BatchMode yes\n"
                    "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
                    % (st.broker.port, st.keys["alice"], st.broker.known_hosts))
        p = subprocess.run(["ssh", "-F", cfg, "-J", "broker", "-p", str(tport),
                            "-o", "ConnectTimeout=10", "root@127.0.0.1", "echo through"],
                           capture_output=True, timeout=40, stdin=subprocess.DEVNULL)
        assert p.returncode == 255 and b"through" not in p.stdout, p
        assert b"administratively prohibited" in p.stderr or b"forwarding failed" in p.stderr, p
        # -R outside remote_forwarding: refused, told on stderr; the session itself goes on.
        rport = free_port()
        tport = st.targets[0].port
        p = st.ssh("sleep 1; echo done", options=[
            "RemoteForward=127.0.0.1:%d 127.0.0.1:%d" % (rport, tport),
            "ExitOnForwardFailure=no"])
        assert p.returncode == 0 and p.stdout == b"done\n", p
        assert b"remote forwarding (-R) on 127.0.0.1:%d refused" % rport in p.stderr, p.stderr
        try:
            socket.create_connection(("127.0.0.1", rport), timeout=1).close()
            raise AssertionError("the target listens on %d" % rport)
        except OSError:
            pass
    finally:
        st.cleanup()


def test_script_on_stdin_stops_at_a_refused_line_and_waits_at_a_held_one():
    """Without a pty lines are kept back whole: a refused line never reaches the shell."""
    st = policy_stack()
    proc = None
    try:
        p = st.ssh(None, input=b"echo one\nrm -rf /tmp/custos-script; echo removed\necho two\n")
        assert p.stdout == b"one\n", p
        assert b"destructive; open a change ticket" in p.stderr, p.stderr
        assert b"the rest of the input is not sent" in p.stderr, p.stderr
        assert p.returncode == 255, p
        # A line continued with a backslash is checked as the shell joins it; a NUL byte
        # (which the shell drops, and which would cut the check short) makes a line unknown.
        for body in (b"rm \\\n-rf /tmp/custos-cont; echo cont-ran\n",
                     b"true\x00; echo nul-ran\n"):
            p = st.ssh(None, input=b"echo first\n" + body)
            assert p.stdout == b"first\n" and p.returncode == 255, (body, p)
        # A held line: the script waits, then goes on in order once approved.
        proc = st.broker.popen("root@web01", None, st.keys["alice"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdin.write(b"echo before\nsystemctl restart api 2>/dev/null; echo held-ran\n"
                         b"echo after\n")
        proc.stdin.close()
        proc.stdin = None  # closed: EOF after the three lines
        rid = wait_for(lambda: [q["id"] for q in st.c.ok("gov.request.list", {})["requests"]
                                if q.get("kind") == "command" and q["state"] == "pending"])
        assert rid, st.broker.logtext()[-2000:]
        q = st.c.ok("gov.request.get", {"id": rid[0]})
        assert q["command_kind"] == "shell" and q["command"].startswith("systemctl restart api")
        st.c.ok("gov.request.approve", {"as": "bob", "id": rid[0]})
        out, err = proc.communicate(timeout=30)
        assert out == b"before\nheld-ran\nafter\n", (out, err)
        assert proc.returncode == 0, (out, err)
    finally:
        reap(proc)
        st.cleanup()


def test_hold_nobody_can_approve_is_a_refusal_with_its_reason():
    st = policy_stack(policy={"commands": [{"exec": "reboot*", "action": "hold",
                                            "approval": {"by": "group", "group": "ghosts"}}]})
    try:
        p = st.ssh("reboot now; echo rebooted")
        assert p.returncode == 255 and b"rebooted" not in p.stdout, p
        assert b"nobody can approve it" in p.stderr, p.stderr
        assert not [q for q in st.c.ok("gov.request.list", {})["requests"]
                    if q.get("kind") == "command"]
    finally:
        st.cleanup()


if __name__ == "__main__":
    run_tests(globals())
