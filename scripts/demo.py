#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The demo stack: a throw-away vault (unsealed), a local sshd target on a high port in its own
mount namespace with a demo account whose password is vaulted, the broker, a demo identity
with a generated key and a live grant. Prints the ssh line to try; Ctrl-C stops everything."""
import json
import os
import secrets
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("CUSTOS_BUILD_DIR", os.path.join(ROOT, "build"))

from brokerbed import Broker  # noqa: E402
from harness import CLI, Vault  # noqa: E402
from testbed import Target, ssh_client_key  # noqa: E402


def main():
    tmp = tempfile.mkdtemp(prefix="custos-demo-")
    os.chmod(tmp, 0o700)
    vault = target = broker = None
    stop = []
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    try:
        print("Starting the Custos demo stack in %s ..." % tmp)
        vault = Vault(tmp=tmp)
        passphrase = secrets.token_urlsafe(24).encode()
        vault.setup(passphrase)
        c = vault.connect()

        target = Target(hostname="web01").start()
        demo_pw = secrets.token_urlsafe(18)
        target.add_user("demo", password=demo_pw)
        c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "port": target.port,
                               "hostkey": target.hostkey_fp, "owner": "you"})
        c.ok("account.create", {"id": "demo@web01", "kind": "password"})
        c.ok("secret.put", {"account": "demo@web01", "value": demo_pw})
        del demo_pw

        key, pub, fp = ssh_client_key(tmp, name="demo_key", comment="custos-demo")
        c.ok("gov.identity.create", {"id": "boss", "name": "Demo Approver",
                                     "email": "boss@example.com", "department": "ops"})
        c.ok("gov.identity.create", {"id": "you", "name": "Demo Admin", "manager": "boss",
                                     "email": "you@example.com", "department": "ops"})
        c.ok("gov.identity.key.add", {"id": "you", "key": pub})
        c.ok("gov.role.create", {"name": "demo-web", "kind": "requestable",
                                 "entitlements": [{
                                     "account": "*@web01", "max_duration": 28800,
                                     "approval": {"by": "none"},
                                     "commands": [
                                         {"exec": "rm -rf *", "action": "deny",
                                          "reason": "destructive; open a change ticket"},
                                         {"exec": "*restart*", "action": "hold", "timeout": 600,
                                          "reason": "restarts need your manager's approval"}]}]})
        c.ok("gov.identity.role.assign", {"id": "you", "role": "demo-web"})
        req = c.ok("gov.request.create", {"as": "you", "account": "demo@web01",
                                          "duration": 28800, "reason": "demo"})

        broker = Broker(vault)
        broker.start()
        line = ("ssh -p %d -i %s -o UserKnownHostsFile=%s demo@web01@127.0.0.1"
                % (broker.port, key, broker.known_hosts))
        print("""
Custos demo is running.

  vault     %s (unsealed; passphrase in memory only)
  target    web01 = sshd on 127.0.0.1:%d, account demo (its password is in the vault only)
  broker    127.0.0.1:%d, you = identity "you", key %s
  grant     %s for demo@web01, 8 hours

Try it:

  %s
  %s -- 'id; hostname'
  %s -- 'rm -rf /tmp/x'            # refused by the command policy, with its reason
  %s -- 'echo restart web'         # held: approve it as your manager (below)
  %s -tt custos@127.0.0.1          # the self-service menu (or: custos@... help)

Watch it from another terminal:

  export CUSTOS_SOCKET=%s
  %s session list
  %s gov grants
  %s audit export | tail -n 5
  %s gov requests --state pending             # a held command shows as "run: ..."
  %s gov approve r-N ok --as boss              # boss is your manager

Ctrl-C stops everything this started.
""" % (vault.sock, target.port, broker.port, fp, req["grant"], line, line, line, line,
       line.rsplit(" ", 1)[0], vault.sock, CLI, CLI, CLI, CLI, CLI))
        sys.stdout.flush()
        while not stop:
            for name, p in (("vaultd", vault.proc), ("broker", broker.proc)):
                if p.poll() is not None:
                    print("%s exited (%d); stopping." % (name, p.returncode))
                    stop.append(1)
            time.sleep(0.5)
    finally:
        print("\nStopping ...")
        for f in (lambda: broker and broker.stop(), lambda: target and target.cleanup(),
                  lambda: vault and vault.cleanup()):
            try:
                f()
            except Exception as e:  # noqa: BLE001
                print("  cleanup: %s" % e)
        print("Stopped; %s removed." % tmp)


if __name__ == "__main__":
    main()
