#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What the broker refuses and the limits it keeps, each as documented (docs/broker.md,
docs/command-policy.md), with the real OpenSSH client and real sshd targets: the vault
sealed, agent and X11 forwarding, environment variables, a second session channel,
max_session, keepalive, the -L/-R counts, -R 0, -D, and a real restart reaching
session.reset."""
import os
import signal
import socket
import struct
import subprocess
import threading
import time

from brokerbed import Broker, Stack, wait_eof
from harness import run_tests
from testbed import free_port

VAULT_PASS = b"broker-test-passphrase"


def wait_for(pred, limit=20, step=0.05):
    deadline = time.time() + limit
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def reap(*procs):
    for p in procs:
        if p and p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


class EchoServer:
    """Accepts up to `limit` connections on 127.0.0.1 and echoes each (bounded threads)."""

    def __init__(self, limit=32):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(64)
        self.srv.settimeout(30)
        self.port = self.srv.getsockname()[1]
        self.accepted = 0
        self.threads = []
        self.limit = limit
        self.stop = False
        t = threading.Thread(target=self._serve, daemon=True)
        t.start()
        self.threads.append(t)

    def _serve(self):
        try:
            while not self.stop and self.accepted < self.limit:
                c, _ = self.srv.accept()
                self.accepted += 1
                t = threading.Thread(target=self._echo, args=(c,), daemon=True)
                t.start()
        except OSError:
            pass

    @staticmethod
    def _echo(c):
        with c:
            c.settimeout(30)
            try:
                while True:
                    d = c.recv(4096)
                    if not d:
                        return
                    c.sendall(b"echo:" + d)
            except OSError:
                return

    def close(self):
        self.stop = True
        self.srv.close()


def forwarding_stack(forwarding=(), remote=(), extra=""):
    st = Stack(broker_extra=extra)
    try:
        st.c.ok("gov.role.update", {"name": "web-root", "entitlements": [
            {"account": "root@web*", "max_duration": 7200,
             "approval": {"by": "manager", "count": 1}, "forwarding": list(forwarding),
             "remote_forwarding": list(remote)}]})
        st.grant()
        return st
    except BaseException:
        st.cleanup()
        raise


def test_sealed_vault_refuses_with_its_reason_then_serves_again():
    st = Stack()
    try:
        st.grant()
        st.vault.cli("vault", "seal")
        p = st.ssh("echo in")
        assert p.returncode == 255 and p.stdout == b"", p
        assert b"the vault is sealed; try again once it is unsealed" in p.stderr, p
        st.vault.cli("vault", "unseal", input=VAULT_PASS + b"\n")
        assert st.c.ok("session.list", {})["sessions"] == []  # nothing was opened
        p = st.ssh("echo in-again")
        assert p.returncode == 0 and p.stdout == b"in-again\n", p
    finally:
        st.cleanup()


def test_agent_x11_and_environment_are_not_passed_on():
    st = Stack()
    agent = None
    try:
        st.grant()
        sock = os.path.join(st.vault.tmp, "agent.sock")
        agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        assert wait_for(lambda: os.path.exists(sock), 10), "ssh-agent did not start"
        cmd = "echo agent=${SSH_AUTH_SOCK:-none} display=${DISPLAY:-none} env=${LC_CUSTOS:-none}"
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        env["DISPLAY"] = "127.0.0.1:99"
        argv = st.broker.ssh_argv("root@web01", cmd, st.keys["alice"], options=[
            "ForwardAgent=" + sock, "ForwardX11=yes", "ForwardX11Trusted=yes",
            "SetEnv=LC_CUSTOS=leaked", "LogLevel=INFO"])
        p = subprocess.run(argv, capture_output=True, env=env, timeout=60,
                           stdin=subprocess.DEVNULL, start_new_session=True)
        assert p.returncode == 0, p
        # The target accepts LC_* (AcceptEnv): had the broker passed it, it would show.
        assert p.stdout == b"agent=none display=none env=none\n", p
        assert b"X11 forwarding request failed" in p.stderr, p.stderr
        # The same variable reaches the target directly, so the check above can fail.
        t = st.targets[0]
        q = t.ssh("root", "echo env=${LC_CUSTOS:-none}", password=t.root_password,
                  options=["SetEnv=LC_CUSTOS=direct"])
        assert q.stdout == b"env=direct\n", q
    finally:
        if agent:
            agent.kill()
            agent.wait()
        st.cleanup()


def test_second_session_channel_on_one_connection_is_refused():
    st = Stack()
    master = None
    try:
        st.grant()
        ctl = os.path.join(st.vault.tmp, "ctl")
        argv = st.broker.ssh_argv("root@web01", "echo first-ready; sleep 8", st.keys["alice"],
                                  options=["ControlMaster=yes", "ControlPath=" + ctl,
                                           "ControlPersist=no"])
        master = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        assert master.stdout.readline() == b"first-ready\n"
        assert wait_for(lambda: os.path.exists(ctl), 10), "no control socket"
        argv = st.broker.ssh_argv("root@web01", "echo second", st.keys["alice"],
                                  options=["ControlMaster=no", "ControlPath=" + ctl])
        p = subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL,
                           start_new_session=True)
        # The broker refuses the second session channel on the master's connection; the
        # OpenSSH client then falls back to a connection of its own for the command.
        assert b"Session open refused by peer" in p.stderr, p
        assert p.returncode == 0 and p.stdout == b"second\n", p
        s = st.c.ok("session.list", {})["sessions"]
        assert len(s) == 2 and s[0]["client"]["port"] != s[1]["client"]["port"], s
        out, err = master.communicate(timeout=30)
        assert master.returncode == 0, (out, err)
    finally:
        reap(master)
        st.cleanup()


def test_max_session_ends_a_busy_session():
    st = Stack(broker_extra="max_session = 2")
    try:
        st.grant()
        t0 = time.time()
        # Busy (output every 0.2 s), so idle_timeout could not be what ends it.
        p = st.ssh("for i in $(seq 50); do echo tick; sleep 0.2; done; echo late")
        took = time.time() - t0
        assert p.returncode == 255 and b"maximum session length reached" in p.stderr, p
        assert b"late" not in p.stdout and p.stdout.count(b"tick") >= 3, p
        assert 2 <= took < 6, took
        s = wait_for(lambda: [x for x in st.c.ok("session.list", {})["sessions"]
                              if x["state"] == "closed"])
        assert s and "maximum session length" in s[0]["end_reason"], s
    finally:
        st.cleanup()


def test_keepalive_probes_an_idle_session():
    st = Stack(broker_extra="keepalive = 1")
    try:
        st.grant()
        p = st.ssh("sleep 4; echo done", options=["LogLevel=DEBUG1"])
        assert p.returncode == 0 and p.stdout == b"done\n", p
        probes = p.stderr.count(b"client_input_global_request: rtype keepalive@openssh.com")
        assert probes >= 2, p.stderr[-3000:]
    finally:
        st.cleanup()
    st = Stack(broker_extra="keepalive = 0")
    try:
        st.grant()
        p = st.ssh("sleep 3; echo done", options=["LogLevel=DEBUG1"])
        assert p.returncode == 0 and b"keepalive@openssh.com" not in p.stderr, p.stderr[-3000:]
    finally:
        st.cleanup()


def test_local_forwards_are_limited_per_session():
    echo = EchoServer(limit=40)
    st = forwarding_stack(forwarding=["127.0.0.1:%d" % echo.port])
    proc = None
    conns = []
    try:
        lport = free_port()
        argv = st.broker.ssh_argv("root@web01", "sleep 20", st.keys["alice"], options=[
            "LocalForward=127.0.0.1:%d 127.0.0.1:%d" % (lport, echo.port)])
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        for i in range(16):
            c = None
            deadline = time.time() + 10
            while c is None and time.time() < deadline:
                try:
                    c = socket.create_connection(("127.0.0.1", lport), timeout=2)
                except OSError:
                    time.sleep(0.1)
            assert c is not None, "forward port not listening"
            c.settimeout(10)
            c.sendall(b"n%d" % i)
            assert c.recv(64) == b"echo:n%d" % i, i
            conns.append(c)
        c = socket.create_connection(("127.0.0.1", lport), timeout=2)
        assert wait_eof(c, time.time() + 5) is not None, "a 17th forward was not closed"
        c.close()
        # One ends: there is room again (once its channel has closed on both legs).
        conns.pop().close()

        def one_more():
            c = socket.create_connection(("127.0.0.1", lport), timeout=2)
            c.settimeout(5)
            try:
                c.sendall(b"again")
                if c.recv(64) == b"echo:again":
                    return c
            except OSError:
                pass
            c.close()
            return None
        c = wait_for(one_more, 10, 0.2)
        assert c, "no room for a forward after one ended"
        conns.append(c)
        for c in conns:
            c.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert b"too many forwards in this session" in err, err
    finally:
        for c in conns:
            c.close()
        reap(proc)
        echo.close()
        st.cleanup()


def test_remote_forwards_need_a_port_and_are_limited_per_session():
    ports = [free_port() for _ in range(5)]
    st = forwarding_stack(remote=["127.0.0.1:%d" % p for p in ports] + ["127.0.0.1:0"])
    try:
        tport = st.targets[0].port
        opts = ["RemoteForward=127.0.0.1:%d 127.0.0.1:%d" % (p, tport) for p in ports]
        p = st.ssh("sleep 2; echo done", options=opts + ["ExitOnForwardFailure=no"])
        assert p.returncode == 0 and p.stdout == b"done\n", p
        assert b"remote forwarding (-R) on 127.0.0.1:%d refused: too many in one session" \
            % ports[4] in p.stderr, p.stderr
        for q in ports[:4]:
            assert b"127.0.0.1:%d refused" % q not in p.stderr, (q, p.stderr)
        # -R 0 (the server picks the port): refused, the port must be given.
        p = st.ssh("sleep 1; echo done", options=[
            "RemoteForward=127.0.0.1:0 127.0.0.1:%d" % tport, "ExitOnForwardFailure=no"])
        assert p.returncode == 0 and p.stdout == b"done\n", p
        assert b"remote forwarding (-R) on 127.0.0.1:0 refused: the port must be given" \
            in p.stderr, p.stderr
    finally:
        st.cleanup()


def socks5_connect(port, host, dport, timeout=10):
    """A SOCKS5 CONNECT through ssh -D; (socket, reply code) - 0 is success."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(host) + struct.pack(">H", dport))
    head = b""
    try:
        while len(head) < 10:
            d = s.recv(10 - len(head))
            if not d:
                break
            head += d
    except (ConnectionResetError, socket.timeout):
        pass
    return s, (head[1] if len(head) >= 2 else None)


def test_dynamic_forward_checks_each_destination():
    echo = EchoServer()
    st = forwarding_stack(forwarding=["127.0.0.1:%d" % echo.port])
    proc = None
    try:
        dport = free_port()
        argv = st.broker.ssh_argv("root@web01", "sleep 10", st.keys["alice"], options=[
            "DynamicForward=127.0.0.1:%d" % dport])
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        assert wait_for(lambda: _listening(dport), 10), "no SOCKS listener"
        s, code = socks5_connect(dport, "127.0.0.1", echo.port)
        assert code == 0, code
        s.sendall(b"socks")
        assert s.recv(64) == b"echo:socks"
        s.close()
        s, code = socks5_connect(dport, "127.0.0.1", st.targets[0].port)
        assert code != 0, code  # refused: never connected to the target's sshd
        s.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert b"forwarding to 127.0.0.1:%d refused" % st.targets[0].port in err, err
    finally:
        reap(proc)
        echo.close()
        st.cleanup()


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_broker_restart_resets_the_sessions_it_left_live():
    """A broker killed with SIGKILL cannot close its sessions: the next one to start under
    the same name calls session.reset, which closes them as "broker restarted"."""
    st = Stack()
    proc = None
    try:
        st.grant()
        proc = st.broker.popen("root@web01", "echo started; sleep 60", st.keys["alice"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.readline() == b"started\n"
        [live] = st.c.ok("session.list", {"state": "live"})["sessions"]
        assert live["broker"] == "test", live
        st.broker.proc.kill()
        st.broker.proc.wait()
        st.broker.logf.close()
        reap(proc)
        assert st.c.ok("session.get", {"session": live["id"]})["state"] == "live"
        st.broker = Broker(st.vault)  # same name ("test"), a new port
        st.broker.start()
        s = wait_for(lambda: (lambda x: x if x["state"] == "closed" else None)(
            st.c.ok("session.get", {"session": live["id"]})), 10)
        assert s and s["end_reason"] == "broker restarted", s
        resets = [e for e in st.c.ok("audit.export", {"limit": 10000})["entries"]
                  if e["op"] == "session.reset"]
        assert any(e["detail"]["sessions"] == [live["id"]] for e in resets), resets
        assert st.ssh("echo after").stdout == b"after\n"
    finally:
        reap(proc)
        st.cleanup()


if __name__ == "__main__":
    run_tests(globals())
