#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The demo stack, with the privilege split of a real install: a throw-away vault (unsealed),
a local sshd target on a high port in its own mount namespace with an account whose password
is vaulted, and the broker running as a uid of its own under an explicit principal (never
the vault's `self`). Identities alice (an admin) and bob (her manager), both with keys, so
requests and approvals over SSH can be tried. Prints the ssh lines to try; Ctrl-C (also when
the output goes through a pipe) or SIGTERM stops everything it started and removes its files.

    python3 scripts/demo.py [--port N]

Environment: CUSTOS_BUILD_DIR (default build/)."""
import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("CUSTOS_BUILD_DIR", os.path.join(ROOT, "build"))

from harness import BUILD, CLI, Vault  # noqa: E402
from testbed import Target, free_port, ssh_client_key  # noqa: E402

BROKER_BIN = os.path.join(BUILD, "broker", "custos-broker")
SCOPES = "authorize, broker, request, act_as"


def say(text=""):
    """print, but a closed pipe (Ctrl-C reached `| tee` first) never stops the clean-up."""
    try:
        print(text, flush=True)
    except (BrokenPipeError, OSError):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except OSError:
            pass


def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def unused_id(start=64000):
    """A number that is neither a user's nor a group's uid/gid on this host."""
    used = set()
    for name in ("/etc/passwd", "/etc/group"):
        with open(name) as f:
            used |= {int(l.split(":")[2]) for l in f if l.count(":") >= 2}
    while start in used:
        start += 1
    return start


class DemoBroker:
    """custos-broker as its own uid, from a copy of the binary in the demo's directory (the
    source tree may sit where that uid cannot reach, e.g. under /root)."""

    def __init__(self, tmp, vault_sock, port, uid):
        self.uid = uid
        self.port = port
        self.dir = os.path.join(tmp, "broker")
        os.mkdir(self.dir, 0o700)
        os.chown(self.dir, uid, uid)
        self.bin = os.path.join(tmp, "custos-broker")
        shutil.copy(BROKER_BIN, self.bin)
        os.chmod(self.bin, 0o755)
        self.conf = os.path.join(tmp, "broker.conf")
        self.hostkey = os.path.join(self.dir, "host_ed25519")
        self.log = os.path.join(tmp, "broker.log")
        self.known_hosts = os.path.join(tmp, "known_hosts")
        with open(self.conf, "w") as f:
            f.write("[broker]\nlisten = 127.0.0.1\nport = %d\nhost_key = %s\nvault_socket = %s\n"
                    "name = demo\n" % (port, self.hostkey, vault_sock))
        os.chmod(self.conf, 0o644)
        self.proc = None

    def start(self):
        def drop():
            os.setsid()  # Ctrl-C is the demo's to handle: it stops the broker in order
            os.setgroups([])
            os.setgid(self.uid)
            os.setuid(self.uid)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.bin, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf, preexec_fn=drop)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the broker exited %d:\n%s" % (
                    self.proc.returncode, open(self.log, errors="replace").read()[-2000:]))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(8) == b"SSH-2.0-":
                        break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError("the broker did not answer on port %d" % self.port)
        pub = subprocess.run(["ssh-keygen", "-y", "-f", self.hostkey], capture_output=True,
                             check=True).stdout.decode().strip()
        with open(self.known_hosts, "w") as f:
            f.write("[127.0.0.1]:%d %s\n" % (self.port, pub))
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0, help="broker port (default 2222 if free)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("demo: run as root (it starts sshd in its own mount namespace and the broker "
                 "as a uid of its own)")
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *a: stop.append(1))
    tmp = tempfile.mkdtemp(prefix="custos-demo-")
    os.chmod(tmp, 0o711)  # the broker's uid reaches its own files, lists nothing
    vault = target = broker = None
    try:
        port = args.port or (2222 if port_free(2222) else free_port())
        buid = unused_id()
        say("Starting the Custos demo stack in %s ..." % tmp)
        # vaultd (as root here) lets the broker's uid in through the socket's group and maps
        # it to a principal of its own: the broker is not the vault's `self`.
        vault = Vault(tmp=tmp, extra_vault="socket_group = %d\n" % buid,
                      extra="[principal broker]\nuids = %d\nscopes = %s\n\n"
                            "[principal admin]\nuids = 0\nscopes = all\n" % (buid, SCOPES))
        passphrase = secrets.token_urlsafe(24).encode()
        vault.setup(passphrase)
        del passphrase
        c = vault.connect()

        target = Target(hostname="web01").start()
        demo_pw = secrets.token_urlsafe(18)
        target.add_user("demo", password=demo_pw)
        root_pw = secrets.token_urlsafe(18)
        target.set_password("root", root_pw)
        c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "port": target.port,
                               "hostkey": target.hostkey_fp, "owner": "bob"})
        for account, pw in (("demo@web01", demo_pw), ("root@web01", root_pw)):
            c.ok("account.create", {"id": account, "kind": "password"})
            c.ok("secret.put", {"account": account, "value": pw})
        del demo_pw, root_pw

        keys = {}
        c.ok("gov.identity.create", {"id": "bob", "name": "Bob (alice's manager)",
                                     "email": "bob@example.com", "department": "ops"})
        c.ok("gov.identity.create", {"id": "alice", "name": "Alice (admin)", "manager": "bob",
                                     "email": "alice@example.com", "department": "ops"})
        for ident in ("alice", "bob"):
            key, pub, fp = ssh_client_key(tmp, name=ident + "_key", comment=ident + "@demo")
            c.ok("gov.identity.key.add", {"id": ident, "key": pub})
            keys[ident] = key
        c.ok("gov.role.create", {"name": "demo-web", "kind": "requestable", "entitlements": [
            {"account": "demo@web01", "max_duration": 28800, "approval": {"by": "none"},
             "commands": [
                 {"exec": "rm -rf *", "action": "deny",
                  "reason": "destructive; open a change ticket"},
                 {"exec": "*restart*", "action": "hold", "timeout": 600,
                  "reason": "restarts need your manager's approval"}]},
            {"account": "root@web01", "max_duration": 3600,
             "approval": {"by": "manager", "count": 1}}]})
        c.ok("gov.identity.role.assign", {"id": "alice", "role": "demo-web"})
        req = c.ok("gov.request.create", {"as": "alice", "account": "demo@web01",
                                          "duration": 28800, "reason": "demo"})

        broker = DemoBroker(tmp, vault.sock, port, buid).start()
        uid_line = open("/proc/%d/status" % broker.proc.pid).read().split("Uid:")[1].split()[0]
        with open(os.path.join(tmp, "ssh_config"), "w") as f:
            f.write("Host broker\n    HostName 127.0.0.1\n    Port %d\n"
                    "    UserKnownHostsFile %s\n    StrictHostKeyChecking yes\n"
                    "    IdentitiesOnly yes\n" % (broker.port, broker.known_hosts))
        alice = "ssh -F $D/ssh_config -i $D/alice_key"
        bob = "ssh -F $D/ssh_config -i $D/bob_key"
        line = alice + " demo@web01@broker"
        say("""
Custos demo is running.

  vault     %s (unsealed; passphrase in memory only), as root
  target    web01 = sshd on 127.0.0.1:%d; accounts demo and root (passwords in the vault only)
  broker    127.0.0.1:%d, as uid %s, principal "broker" (scopes %s)
  alice     admin, key %s; grant %s for demo@web01 (8 hours)
  bob       alice's manager, key %s

Try it (ssh_config names the broker "broker": 127.0.0.1 port %d, its host key pinned):

  export D=%s
  %s
  %s -- 'id; hostname'
  %s -- 'rm -rf /tmp/x'      # refused by the command policy, with its reason
  %s -- 'echo restart web'   # held until bob approves it, from another terminal:
  %s custos@broker requests --to-approve
  %s custos@broker approve r-N ok
  %s custos@broker request root@web01 1h disk full   # root needs bob's approval too
  %s -tt custos@broker    # the self-service menu (or: custos@broker help)

Watch it from another terminal:

  export CUSTOS_SOCKET=%s
  %s session list
  %s gov grants
  %s audit export | tail -n 5

Ctrl-C stops everything this started.
""" % (vault.sock, target.port, broker.port, uid_line, SCOPES, keys["alice"], req["grant"],
       keys["bob"], broker.port, tmp, line, line, line, line, bob, bob, alice, alice,
       vault.sock, CLI, CLI, CLI))
        while not stop:
            for name, p in (("vaultd", vault.proc), ("broker", broker.proc)):
                if p.poll() is not None:
                    say("%s exited (%d); stopping." % (name, p.returncode))
                    stop.append(1)
            time.sleep(0.2)
    finally:
        # From here on no signal interrupts the clean-up, and no closed pipe does either.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        say("\nStopping ...")
        for f in (lambda: broker and broker.stop(), lambda: target and target.cleanup(),
                  lambda: vault and vault.cleanup()):
            try:
                f()
            except Exception as e:  # noqa: BLE001
                say("  cleanup: %s" % e)
        shutil.rmtree(tmp, ignore_errors=True)
        say("Stopped; %s removed." % tmp)


if __name__ == "__main__":
    main()
