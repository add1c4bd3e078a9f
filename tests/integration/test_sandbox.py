#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Both daemons under their units' sandbox (contrib/systemd/*.service.in), for real work.

The system-call allow list, the users, the empty capability bounding set, no_new_privs, the
read-only root with only StateDirectory= and RuntimeDirectory= writable, PrivateTmp=,
ProtectHome=, PrivateDevices=, ProtectProc=, PrivateNetwork=, UMask=, Limit*= and the
seccomp-based restrictions are read from the unit files at test time (sandbox.py) and applied
by tests/sandbox/sandbox_exec. vaultd runs as its own uid with socket_group, the broker as
another uid in that group; the test drives init, unseal, targets, password and key-account
sessions through the real ssh client and the broker (an agent socket made and given to the
broker's group per session), self-service over SSH, LMDB growth and a rekey, and an
unattended restart unsealed from a key file passed as a credential, and asserts that nothing
is killed (no SIGSYS: exit status 0 at SIGTERM, and clean logs). Uids and gids are numbers no
account on this host uses; nothing outside the test's temp dir is written."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import sandbox
from harness import BUILD, CLI, VAULTD, Conn, run_tests
from brokerbed import BROKER
from testbed import Target, free_port, ssh_client_key

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNITS = os.path.join(ROOT, "contrib", "systemd")


def free_ids(n, start=61000):
    """n consecutive numbers used by no user and no group on this host."""
    used = set()
    for name in ("/etc/passwd", "/etc/group"):
        with open(name) as f:
            used |= {int(l.split(":")[2]) for l in f if l.count(":") >= 2}
    i = start
    while any(i + k in used for k in range(n)):
        i += 1
    return list(range(i, i + n))


class Sandboxed:
    """One daemon run under its unit's sandbox; stopped by its pid."""

    def __init__(self, unit, tmp, name, uid, gid, groups, argv, **kw):
        self.unit, self.name = unit, name
        self.log = os.path.join(tmp, name + ".log")
        self.argv = sandbox.launcher_argv(unit, tmp, uid, gid, groups, **kw) + argv
        self.proc = None

    def start(self):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=self.logf)
        return self

    def logtext(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        """SIGTERM; the exit status (negative: the signal that killed it)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("%s did not stop on SIGTERM" % self.name)
        self.logf.close()
        return self.proc.returncode

    def uid(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("Uid:"):
                    return [int(x) for x in line.split()[1:]]
        return None


def wait_for(pred, what, timeout=20, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and not proc.alive():
            raise AssertionError("%s exited %s:\n%s" % (proc.name, proc.proc.returncode,
                                                        proc.logtext()[-3000:]))
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def connectable(path):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.close()
        return True
    except OSError:
        return False


class Bed:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="sandbox-", dir=BUILD)  # /tmp is PrivateTmp'd away
        os.chmod(self.tmp, 0o755)
        self.vuid, self.buid, self.cgid = free_ids(3)
        self.vunit = sandbox.Unit(os.path.join(UNITS, "custos-vaultd.service.in"))
        self.bunit = sandbox.Unit(os.path.join(UNITS, "custos-broker.service.in"))
        self.state_v = self.mkdir("state-vaultd", self.vuid, 0o700)
        self.run = self.mkdir("run-custos", self.vuid, int(self.vunit.get("RuntimeDirectoryMode"), 8))
        self.state_b = self.mkdir("state-broker", self.buid, 0o700)
        # A credential as systemd makes one without ACLs: the service user's, read-only.
        self.creds = self.mkdir("credentials", self.vuid, 0o500)
        key = os.path.join(self.creds, "vault.key")
        with open(key, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.chown(key, self.vuid, self.vuid)
        os.chmod(key, 0o400)
        self.sock = os.path.join(self.run, "vaultd.sock")
        self.vconf = os.path.join(self.tmp, "vaultd.conf")
        with open(self.vconf, "w") as f:
            f.write("[vault]\nsocket_group = %d\nargon2_ops = 1\nargon2_mem = 8M\n"
                    "key_file = ${CREDENTIALS_DIRECTORY}/vault.key\nauto_unseal = true\n"
                    "[log]\nlevel = debug\n"
                    "[principal admin]\nuids = 0\nscopes = all\n"
                    "[principal broker]\nuids = %d\nscopes = authorize, broker, request, act_as\n"
                    % (self.cgid, self.buid))
        self.port = free_port()
        self.bconf = os.path.join(self.tmp, "broker.conf")
        with open(self.bconf, "w") as f:
            f.write("[broker]\nlisten = 127.0.0.1\nport = %d\nloops = 2\nname = sandboxed\n"
                    "connect_timeout = 20\n[log]\nlevel = debug\n" % self.port)
        self.vaultd = self.broker = None
        self.targets = []

    def mkdir(self, name, uid, mode):
        p = os.path.join(self.tmp, name)
        os.mkdir(p)
        os.chown(p, uid, uid)
        os.chmod(p, mode)
        return p

    def start_vaultd(self, unit=None):
        self.vaultd = Sandboxed(unit or self.vunit, self.tmp, "vaultd", self.vuid, self.vuid,
                                [self.cgid], [VAULTD, "-c", self.vconf],
                                state_src=self.state_v, runtime_src=self.run,
                                creds_src=self.creds).start()
        return self.vaultd

    def wait_vaultd(self):
        wait_for(lambda: connectable(self.sock), "vaultd's socket", proc=self.vaultd)

    def start_broker(self):
        self.broker = Sandboxed(self.bunit, self.tmp, "broker", self.buid, self.buid,
                                [self.cgid], [BROKER, "-c", self.bconf],
                                state_src=self.state_b, host_run=(self.run, "custos")).start()

        def banner():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    return s.recv(8) == b"SSH-2.0-"
            except OSError:
                return False
        wait_for(banner, "the broker's banner", proc=self.broker)
        pub = subprocess.run(["ssh-keygen", "-y", "-f", os.path.join(self.state_b,
                                                                     "host_ed25519")],
                             capture_output=True, check=True).stdout.decode().strip()
        self.known_hosts = os.path.join(self.tmp, "known_hosts")
        with open(self.known_hosts, "w") as f:
            f.write("[127.0.0.1]:%d %s\n" % (self.port, pub))

    def cli(self, *args, input=None):
        p = subprocess.run([CLI, "--socket", self.sock] + list(args), input=input,
                           capture_output=True, timeout=60)
        assert p.returncode == 0, (args, p.stdout, p.stderr, self.vaultd.logtext()[-2000:])
        return p.stdout.decode()

    def ssh(self, key, account, command):
        argv = ["ssh", "-F", "/dev/null", "-p", str(self.port),
                "-o", "UserKnownHostsFile=" + self.known_hosts, "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-i", key, "-T",
                account + "@127.0.0.1", "--", command]
        return subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                              start_new_session=True)

    def cleanup(self):
        for d in (self.broker, self.vaultd):
            try:
                if d:
                    d.stop()
            except AssertionError:
                pass
        for t in self.targets:
            t.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)


def assert_clean(d, rc):
    text = d.logtext()
    assert not sandbox.killed_by_seccomp(rc), "%s was killed by SIGSYS:\n%s" % (d.name,
                                                                                text[-3000:])
    assert rc == 0, "%s exited %s:\n%s" % (d.name, rc, text[-3000:])
    for bad in ("Operation not permitted", "Bad system call", "Permission denied",
                "Address family not supported"):
        assert bad not in text, "%s logged %r:\n%s" % (d.name, bad, text[-3000:])


def test_units_list_only_what_the_sandbox_applies():
    # A setting added to a unit that sandbox.py does not apply would go untested: name it.
    for name in ("custos-vaultd.service.in", "custos-broker.service.in"):
        u = sandbox.Unit(os.path.join(UNITS, name))
        extra = set(u.not_applied()) - sandbox.NOT_APPLICABLE
        assert not extra, "%s: %s not applied by the sandbox test" % (name, sorted(extra))
        assert "fchown" not in u.syscalls() and "chown" not in u.syscalls()
    assert "fchownat" in sandbox.Unit(os.path.join(UNITS, "custos-vaultd.service.in")).syscalls()


def test_both_daemons_work_under_their_units():
    bed = Bed()
    try:
        v = bed.start_vaultd()
        bed.wait_vaultd()
        st = os.lstat(bed.sock)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (bed.vuid, bed.cgid, 0o660), st
        assert v.uid() == [bed.vuid] * 4, v.uid()
        bed.cli("vault", "init", "--keyfile")
        bed.cli("vault", "unseal", "--keyfile")
        c = Conn(bed.sock)

        t = Target(hostname="web01").start()
        bed.targets.append(t)
        t.root_password = "root-pw-" + os.urandom(6).hex()
        t.set_password("root", t.root_password)
        c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "port": t.port,
                               "hostkey": t.hostkey_fp})
        c.ok("account.create", {"id": "root@web01", "kind": "password"})
        c.ok("secret.put", {"account": "root@web01", "value": t.root_password})
        dkey = os.path.join(bed.tmp, "deploy_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dkey], check=True)
        t.add_user("deploy", authorized_keys=[open(dkey + ".pub").read().strip()])
        c.ok("account.create", {"id": "deploy@web01", "kind": "ssh-key"})
        c.ok("secret.put", {"account": "deploy@web01", "value": open(dkey).read()})
        for ident, mgr in (("bob", None), ("alice", "bob")):
            args = {"id": ident, "name": ident, "email": ident + "@example.com"}
            if mgr:
                args["manager"] = mgr
            c.ok("gov.identity.create", args)
        akey, apub, _ = ssh_client_key(bed.tmp, name="id_alice")
        c.ok("gov.identity.key.add", {"id": "alice", "key": apub})
        c.ok("gov.role.create", {"name": "web", "kind": "requestable", "entitlements": [
            {"account": "*@web01", "max_duration": 3600,
             "approval": {"by": "manager", "count": 1}}]})
        c.ok("gov.identity.role.assign", {"id": "alice", "role": "web"})
        for account in ("root@web01", "deploy@web01"):
            r = c.ok("gov.request.create", {"as": "alice", "account": account,
                                            "duration": 3600, "reason": "sandbox test"})
            c.ok("gov.request.approve", {"as": "bob", "id": r["id"]})

        bed.start_broker()
        b = bed.broker
        assert b.uid() == [bed.buid] * 4, b.uid()
        hk = os.stat(os.path.join(bed.state_b, "host_ed25519"))
        assert (hk.st_uid, hk.st_mode & 0o777) == (bed.buid, 0o600), hk

        p = bed.ssh(akey, "root@web01", "id -un")
        assert p.returncode == 0 and p.stdout == b"root\n", (p, b.logtext()[-3000:])
        # A key account: vaultd makes an agent socket the broker reaches through its group.
        for i in range(3):
            p = bed.ssh(akey, "deploy@web01", "echo key-%d" % i)
            assert p.returncode == 0 and p.stdout == b"key-%d\n" % i, (p, b.logtext()[-3000:],
                                                                      v.logtext()[-3000:])
        assert "served to uid %d" % bed.buid in v.logtext()
        # Self-service over SSH, acting for alice through the broker's own principal.
        p = bed.ssh(akey, "custos", "grants")
        assert p.returncode == 0 and b"deploy@web01" in p.stdout, p
        export = [json.loads(l) for l in bed.cli("audit", "export").splitlines() if l.strip()]
        opens = [e for e in export if e.get("op") == "session.open" and e.get("result") == "ok"]
        assert len(opens) == 4 and {e["principal"] for e in opens} == {"broker"}, opens

        # LMDB growth: 8 MiB of secrets in one go, then a rekey that rewrites all of them.
        size0 = os.path.getsize(os.path.join(bed.state_v, "data.mdb"))
        for i in range(300):  # 300 x 32 KiB, pipelined
            c.send("account.create", {"id": "bulk%d@web01" % i, "kind": "password"})
            c.send("secret.put", {"account": "bulk%d@web01" % i,
                                  "value": os.urandom(16 * 1024).hex()})
        for i in range(600):
            ans = c.recv()
            assert "result" in ans, ans
        c.close()
        bed.cli("vault", "rekey")
        size1 = os.path.getsize(os.path.join(bed.state_v, "data.mdb"))
        assert size1 > size0 + (8 << 20), (size0, size1)
        assert v.alive() and b.alive()

        # Unattended restart: sealed at start, unsealed from the credential at once.
        assert_clean(v, v.stop())
        v = bed.start_vaultd()
        bed.wait_vaultd()
        wait_for(lambda: "state:   unsealed" in bed.cli("vault", "status"), "auto-unseal",
                 proc=v)
        assert "auto-unseal" in v.logtext()
        deadline = time.time() + 20
        while True:  # the broker finds the restarted vault again
            p = bed.ssh(akey, "deploy@web01", "echo again")
            if p.returncode == 0 or time.time() > deadline:
                break
            time.sleep(0.5)
        assert p.returncode == 0 and p.stdout == b"again\n", (p, b.logtext()[-3000:])
        assert_clean(b, b.stop())
        assert_clean(v, v.stop())
    finally:
        bed.cleanup()


def test_unit_without_fchownat_is_killed():
    # The filter is the unit's, enforced: drop the line that allows socket_group and vaultd
    # dies of SIGSYS at start. (So the test above would catch a unit that lost it.)
    bed = Bed()
    try:
        u = sandbox.Unit(os.path.join(UNITS, "custos-vaultd.service.in"))
        u.service["SystemCallFilter"] = [l for l in u.service["SystemCallFilter"]
                                         if l != "fchownat"]
        v = bed.start_vaultd(u)
        rc = v.proc.wait(timeout=20)
        assert sandbox.killed_by_seccomp(rc), (rc, v.logtext())
    finally:
        bed.cleanup()


if __name__ == "__main__":
    import shutil
    import sys
    if not os.path.exists(sandbox.SANDBOX_EXEC) or not shutil.which("systemd-analyze"):
        print("1..0 # SKIP sandbox_exec (libseccomp-dev) or systemd-analyze (systemd) missing; "
              "bash scripts/install-deps.sh")
        sys.exit(0)
    run_tests(globals())
