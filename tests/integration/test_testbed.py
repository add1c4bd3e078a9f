#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The SSH target test bed: real sshd targets in private namespaces, real OpenSSH client."""
import base64
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time

from harness import run_tests
from testbed import Target, cmdline_pids, pid_alive, ssh_client_key, start_targets

HOST_FILES = ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/var/log/wtmp",
              "/var/log/lastlog", "/var/log/btmp")
HOST_DIRS = ("/home", "/root", "/run", "/etc")


def _snapshot():
    snap = {}
    for p in HOST_FILES:
        try:
            with open(p, "rb") as f:
                snap[p] = f.read()
        except FileNotFoundError:
            snap[p] = None
    for d in HOST_DIRS:
        snap[d + "/"] = sorted(os.listdir(d))
    snap["/root/.ssh/"] = sorted(os.listdir("/root/.ssh")) if os.path.isdir("/root/.ssh") else None
    return snap


def _out(p):
    assert p.returncode == 0, "ssh -> %d: %r %r" % (p.returncode, p.stdout, p.stderr)
    return p.stdout.decode()


class _Keys:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="custos-tb-keys-")

    def new(self, name):
        return ssh_client_key(self.dir, name)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def test_two_targets_distinct_and_pinned():
    ts = start_targets(2)
    try:
        a, b = ts
        assert a.port != b.port and a.port > 1024 and b.port > 1024
        assert a.hostkey_fp != b.hostkey_fp and a.host_pub != b.host_pub
        assert a.hostname != b.hostname
        for t in ts:
            assert t.host == "127.0.0.1"
            # the pid held is sshd itself, in its own mount namespace
            with open("/proc/%d/comm" % t.pid) as f:
                assert f.read().strip() == "sshd"
            assert t.mnt_ns and t.mnt_ns != os.readlink("/proc/self/ns/mnt")
            # the fingerprint is the one of the key the server presents
            kt, b64 = t.host_pub.split()[:2]
            assert kt == "ssh-ed25519"
            fp = "SHA256:" + base64.b64encode(
                hashlib.sha256(base64.b64decode(b64)).digest()).decode().rstrip("=")
            assert t.hostkey_fp == fp, (t.hostkey_fp, fp)
            assert t.known_hosts_line() == "[127.0.0.1]:%d %s %s" % (t.port, kt, b64)
            scan = subprocess.run(["ssh-keyscan", "-T", "5", "-t", "ed25519", "-p", str(t.port),
                                   "127.0.0.1"], capture_output=True, timeout=15)
            assert (kt + " " + b64).encode() in scan.stdout, scan
            with socket.create_connection(("127.0.0.1", t.port), timeout=5) as s:
                s.settimeout(5)
                assert s.recv(64).startswith(b"SSH-2.0-")
            # listening on 127.0.0.1 only
            with open(t.config) as f:
                conf = f.read()
            assert "ListenAddress 127.0.0.1:%d\n" % t.port in conf
            assert "MaxStartups 500:30:1000" in conf and "UsePAM no" in conf
        assert a.mnt_ns != b.mnt_ns
        # target a's pinned key is refused by the client when talking to b
        keys = _Keys()
        try:
            k, pub, _ = keys.new("k")
            b.add_user("carol", authorized_keys=[pub])
            assert _out(b.ssh("carol", "echo ok", key=k)) == "ok\n"
            kh = os.path.join(keys.dir, "kh")
            with open(kh, "w") as f:
                f.write("[127.0.0.1]:%d %s\n" % (b.port, " ".join(a.host_pub.split()[:2])))
            p = b.ssh("carol", "echo ok", key=k, known_hosts=kh)
            assert p.returncode == 255 and p.stdout == b"", p
            assert b"Host key verification failed" in p.stderr or b"CHANGED" in p.stderr, p
        finally:
            keys.cleanup()
    finally:
        for t in ts:
            t.cleanup()


def test_password_and_key_users():
    ts = start_targets(2)
    keys = _Keys()
    try:
        k, pub, fp = keys.new("alice_key")
        k2, _, _ = keys.new("other_key")
        assert fp.startswith("SHA256:") and fp != keys.new("third_key")[2]
        for t in ts:
            uid = t.add_user("pwuser", password="S3cret-pw")
            t.add_user("keyuser", authorized_keys=[pub])
            assert t.user("pwuser")["uid"] == uid and t.user("pwuser")["home"] == "/home/pwuser"
            assert t.authorized_keys_of("keyuser") == [pub]
            assert _out(t.ssh("pwuser", "id -un", password="S3cret-pw")) == "pwuser\n"
            assert _out(t.ssh("keyuser", "id -un", key=k)) == "keyuser\n"
            assert _out(t.ssh("pwuser", "echo hello; pwd; hostname", password="S3cret-pw")) == \
                "hello\n/home/pwuser\n%s\n" % t.hostname
            assert _out(t.ssh("keyuser", "echo hello", key=k)) == "hello\n"
            # wrong password, wrong key
            assert t.ssh("pwuser", "true", password="nope").returncode == 255
            assert t.ssh("keyuser", "true", key=k2).returncode == 255
            assert "Accepted publickey for keyuser" in t.logtext()
            assert "Accepted key ED25519 %s" % fp in t.logtext()
    finally:
        keys.cleanup()
        for t in ts:
            t.cleanup()


def test_exit_status_stdin_stderr():
    keys = _Keys()
    t = Target().start()
    try:
        k, pub, _ = keys.new("k")
        t.add_user("u", authorized_keys=pub)
        assert t.ssh("u", "exit 7", key=k).returncode == 7
        assert t.ssh("u", "exit 0", key=k).returncode == 0
        p = t.ssh("u", "echo out; echo err >&2; exit 3", key=k)
        assert (p.returncode, p.stdout, p.stderr) == (3, b"out\n", b"err\n"), p
        p = t.ssh("u", "cat", key=k, input=b"abc\x00\xff\n")
        assert (p.returncode, p.stdout) == (0, b"abc\x00\xff\n"), p
    finally:
        t.cleanup()
        keys.cleanup()


def test_set_password_changes_private_shadow():
    t = Target().start()
    try:
        t.add_user("rot", password="old-Pass-1")
        before = t.password_of("rot")
        assert before.startswith("$6$") and t.password_matches("rot", "old-Pass-1")
        assert _out(t.ssh("rot", "id -un", password="old-Pass-1")) == "rot\n"
        t.set_password("rot", "new-Pass-2")
        after = t.password_of("rot")
        assert after != before and t.password_matches("rot", "new-Pass-2")
        assert not t.password_matches("rot", "old-Pass-1")
        assert t.ssh("rot", "id -un", password="old-Pass-1").returncode == 255
        assert _out(t.ssh("rot", "id -un", password="new-Pass-2")) == "rot\n"
        # root's password is settable; root logs in
        assert t.password_of("root") == "*"
        t.set_password("root", "root-Pass-3")
        assert _out(t.ssh("root", "id -un; echo $HOME", password="root-Pass-3")) == "root\n/root\n"
        # a rotation ON the target (chpasswd as root, like the SSH password connector)
        p = t.ssh("root", "chpasswd", password="root-Pass-3", input=b"rot:chp-Pass-4\n")
        assert p.returncode == 0, p
        assert t.password_matches("rot", "chp-Pass-4"), t.password_of("rot")
        assert t.ssh("rot", "true", password="new-Pass-2").returncode == 255
        assert _out(t.ssh("rot", "id -un", password="chp-Pass-4")) == "rot\n"
        # an authorized_keys swap by root on the target is visible from here
        keys = _Keys()
        try:
            k, pub, _ = keys.new("k")
            p = t.ssh("root", "mkdir -p ~rot/.ssh && cat > ~rot/.ssh/authorized_keys",
                      password="root-Pass-3", input=pub.encode() + b"\n")
            assert p.returncode == 0, p
            assert t.authorized_keys_of("rot") == [pub]
            assert _out(t.ssh("rot", "id -un", key=k)) == "rot\n"
        finally:
            keys.cleanup()
    finally:
        t.cleanup()


def test_host_accounts_untouched():
    before = _snapshot()
    t = Target().start()
    try:
        t.add_user("hostcheck", password="pw-A")
        t.set_password("hostcheck", "pw-B")
        t.set_password("root", "root-pw")
        assert _out(t.ssh("hostcheck", "id -un", password="pw-B")) == "hostcheck\n"
        script = (b"set -e\n"
                  b"useradd -m -s /bin/sh made_on_target\n"
                  b"echo 'made_on_target:Xy-12345' | chpasswd\n"
                  b"echo 'root:root-pw2' | chpasswd\n"
                  b"mkdir -p /root/.ssh && echo 'ssh-ed25519 AAAA x' > /root/.ssh/authorized_keys\n"
                  b"grep -c made_on_target /etc/passwd /etc/shadow\n")
        p = t.ssh("root", "sh -s", password="root-pw", input=script)
        assert p.returncode == 0, p
        assert t.user("made_on_target")["home"] == "/home/made_on_target"
        assert os.path.isdir(t.path("/home/made_on_target"))
        assert t.password_matches("made_on_target", "Xy-12345")
        assert t.password_matches("root", "root-pw2")
        assert _out(t.ssh("made_on_target", "id -un", password="Xy-12345")) == "made_on_target\n"
    finally:
        t.cleanup()
    after = _snapshot()
    for k in before:
        assert before[k] == after[k], "host %s changed" % k
    with open("/etc/passwd") as f:
        assert "made_on_target" not in f.read()


def test_stop_leaves_no_process():
    keys = _Keys()
    t = Target().start()
    client = None
    try:
        k, pub, _ = keys.new("k")
        t.add_user("sess", authorized_keys=[pub])
        argv, env = t.ssh_argv("sess", "echo started; exec sleep 60", key=k)
        client = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  start_new_session=True)
        assert client.stdout.readline() == b"started\n"
        live = t.namespace_pids()
        assert t.pid in live and len(live) >= 3, live  # listener, session sshd(s), sleep
        assert cmdline_pids(t.config)
        t.stop()
        assert not cmdline_pids(t.config)
        assert not [p for p in live if pid_alive(p)], live
        assert t.namespace_pids() == []
        client.wait(timeout=10)  # the session ended with the target
        assert not t.running()
        tmp = t.tmp
        t.cleanup()
        assert not os.path.exists(tmp)
        t.cleanup()  # idempotent
    finally:
        if client and client.poll() is None:
            client.kill()
            client.wait()
        if client:
            client.stdout.close()
            client.stderr.close()
        t.cleanup()
        keys.cleanup()


def test_many_concurrent_preauth_connections():
    """MaxStartups lets 60 unauthenticated connections in at once (10:30:100 would drop)."""
    t = Target().start()
    socks = []
    try:
        for _ in range(60):
            s = socket.create_connection(("127.0.0.1", t.port), timeout=10)
            s.settimeout(10)
            socks.append(s)
        deadline = time.monotonic() + 15
        for s in socks:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            assert s.recv(64).startswith(b"SSH-2.0-")
    finally:
        for s in socks:
            s.close()
        t.cleanup()


def test_restart_same_port_and_key():
    keys = _Keys()
    t = Target().start()
    try:
        k, pub, _ = keys.new("k")
        t.add_user("u", authorized_keys=[pub])
        port, fp, pid = t.port, t.hostkey_fp, t.pid
        t.restart()
        assert (t.port, t.hostkey_fp) == (port, fp) and t.pid != pid
        assert _out(t.ssh("u", "id -un", key=k)) == "u\n"
        t.remove_user("u")
        assert t.user("u") is None and t.ssh("u", "true", key=k).returncode == 255
    finally:
        t.cleanup()
        keys.cleanup()


if __name__ == "__main__":
    run_tests(globals())
