# SPDX-License-Identifier: Apache-2.0
"""A whole stack for broker tests: vaultd (harness.Vault), sshd targets (testbed.Target),
identities with real client keys, and a real custos-broker reached with the real OpenSSH
client. Every process is stopped by pid; only 127.0.0.1 is used."""
import json
import os
import signal
import socket
import subprocess
import time

from harness import BUILD, Vault, sanitizer_report
from testbed import Target, free_port, ssh_client_key

BROKER = os.path.join(BUILD, "broker", "custos-broker")
PASS = b"broker-test-passphrase"


def wait_eof(s, deadline):
    """Seconds until the peer closed s (EOF or reset), or None if it was still open at the
    deadline (never counted as closed). What the broker sent before is discarded."""
    t0 = time.time()
    while time.time() < deadline:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            if s.recv(65536) == b"":
                return time.time() - t0
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return time.time() - t0
    return None


class Broker:
    def __init__(self, vault, extra=""):
        self.vault = vault
        self.tmp = vault.tmp
        self.port = free_port()
        self.conf = os.path.join(self.tmp, "broker.conf")
        self.hostkey = os.path.join(self.tmp, "broker_host_ed25519")
        self.log = os.path.join(self.tmp, "broker.log")
        self.known_hosts = os.path.join(self.tmp, "broker_known_hosts")
        with open(self.conf, "w") as f:
            f.write("[broker]\nlisten = 127.0.0.1\nport = %d\nhost_key = %s\nvault_socket = %s\n"
                    "name = test\nloops = 2\nconnect_timeout = 20\n%s\n[log]\nlevel = debug\n"
                    % (self.port, self.hostkey, vault.sock, extra))
        self.proc = None

    def start(self):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([BROKER, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("broker exited %d:\n%s" % (self.proc.returncode,
                                                                self.logtext()))
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                banner = s.recv(64)
                s.close()
                if banner.startswith(b"SSH-2.0-"):
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise AssertionError("broker did not answer")
        pub = subprocess.run(["ssh-keygen", "-y", "-f", self.hostkey], capture_output=True,
                             check=True).stdout.decode().strip()
        with open(self.known_hosts, "w") as f:
            f.write("[127.0.0.1]:%d %s\n" % (self.port, pub))
        return self

    def stop(self, timeout=15):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("broker did not stop on SIGTERM")
        self.logf.close()
        return rc

    def logtext(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def check(self):
        """Stop the broker; the problems of every run it had: an exit status other than 0
        (or a start that failed), a sanitizer report in its log. A list of strings."""
        problems = []
        try:
            rc = self.stop()
            if rc not in (0, None):
                problems.append("broker exited %s:\n%s" % (rc, self.logtext()[-3000:]))
        except AssertionError as e:
            problems.append(str(e))
        rep = sanitizer_report(self.logtext())
        if rep is not None:
            problems.append("broker: sanitizer report in its log:\n" + rep)
        return problems

    def ssh_argv(self, account, command=None, key=None, tty=False, options=()):
        argv = ["ssh", "-F", "/dev/null", "-p", str(self.port)]
        for o in options:  # first: OpenSSH keeps the first value given for an option
            argv += ["-o", o]
        argv += ["-o", "UserKnownHostsFile=" + self.known_hosts,
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
                "-i", key, "-tt" if tty else "-T"]
        argv += [account + "@127.0.0.1"]
        if command is not None:
            argv += ["--", command]
        return argv

    def ssh(self, account, command, key, timeout=60, input=None, tty=False, options=()):
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        return subprocess.run(self.ssh_argv(account, command, key, tty, options), input=input,
                              capture_output=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL if input is None else None,
                              start_new_session=True)

    def popen(self, account, command, key, **kw):
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        return subprocess.Popen(self.ssh_argv(account, command, key), env=env,
                                start_new_session=True, **kw)

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


class Stack:
    """vault + one target (web01) + identities alice (grant-able) and bob (manager) + broker."""

    def __init__(self, broker_extra="", targets=1):
        self.vault = Vault().setup(PASS)
        self.targets = []
        self.broker = None
        try:
            self.c = self.vault.connect()
            for i in range(targets):
                t = Target().start()
                name = "web%02d" % (i + 1)
                t.root_password = "root-pw-%d-%s" % (i, os.urandom(6).hex())
                t.set_password("root", t.root_password)
                self.targets.append(t)
                self.c.ok("target.create", {"name": name, "host": "127.0.0.1", "port": t.port,
                                            "hostkey": t.hostkey_fp})
                self.c.ok("account.create", {"id": "root@" + name, "kind": "password"})
                self.c.ok("secret.put", {"account": "root@" + name, "value": t.root_password})
            for ident, mgr in (("bob", None), ("alice", "bob"), ("carol", "bob")):
                args = {"id": ident, "name": ident, "email": ident + "@example.com"}
                if mgr:
                    args["manager"] = mgr
                self.c.ok("gov.identity.create", args)
            self.c.ok("gov.role.create", {"name": "web-root", "kind": "requestable",
                                          "entitlements": [{"account": "root@web*",
                                                            "max_duration": 7200,
                                                            "approval": {"by": "manager",
                                                                         "count": 1}}]})
            self.keys = {}
            for ident in ("alice", "carol"):
                self.c.ok("gov.identity.role.assign", {"id": ident, "role": "web-root"})
                key, pub, fp = ssh_client_key(self.vault.tmp, name="id_" + ident)
                self.c.ok("gov.identity.key.add", {"id": ident, "key": pub})
                self.keys[ident] = key
            self.broker = Broker(self.vault, broker_extra).start()
        except BaseException:
            self.cleanup()
            raise

    def grant(self, ident="alice", account="root@web01", duration=3600):
        r = self.c.ok("gov.request.create", {"as": ident, "account": account,
                                             "duration": duration, "reason": "broker test"})
        return self.c.ok("gov.request.approve", {"as": "bob", "id": r["id"]})["grant"]

    def ssh(self, command, ident="alice", account="root@web01", **kw):
        return self.broker.ssh(account, command, self.keys[ident], **kw)

    def cleanup(self):
        """Stop everything; a broker or vaultd that did not exit cleanly (or that a sanitizer
        reported on) fails the test, after everything else is stopped."""
        problems = []
        if self.broker:
            problems += self.broker.check()
        for t in self.targets:
            t.cleanup()
        try:
            self.vault.cleanup()
        except AssertionError as e:
            problems.append(str(e))
        if problems:
            raise AssertionError("\n".join(problems))
