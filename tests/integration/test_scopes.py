#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""SO_PEERCRED principals and scopes: ops outside a principal's scopes are refused."""
import json
import os
import subprocess
import sys

from harness import CLI, Vault, as_user, run_tests

PASS = b"pw-for-scope-tests"
NOBODY = 65534



def make_vault():
    v = Vault(extra_vault="socket_mode = 0666\n",
              extra="[principal reader]\nuids = %d\nscopes = read\n\n"
                    "[principal opener]\nuids = 65533\nscopes = unseal, status\n" % NOBODY)
    os.chmod(v.tmp, 0o755)  # let other uids reach the socket (the data dir stays 0700)
    return v


def test_reader_reads_but_cannot_release_or_write():
    v = make_vault().setup(PASS)
    try:
        c = v.connect()
        c.ok("target.create", {"name": "web01", "host": "127.0.0.1"})
        c.ok("account.create", {"id": "root@web01", "kind": "password"})
        c.ok("secret.put", {"account": "root@web01", "value": "topsecret"})
        ans = as_user(v, NOBODY, [
            ["target.list", {}],
            ["vault.status", {}],
            ["secret.get", {"account": "root@web01"}],
            ["secret.put", {"account": "root@web01", "value": "x"}],
            ["vault.seal", {}],
            ["audit.export", {}],
            ["secret.history", {"account": "root@web01"}],
        ])
        assert ans[0]["result"]["targets"][0]["name"] == "web01", ans[0]
        assert ans[1]["result"]["state"] == "unsealed", ans[1]
        for a in ans[2:6]:
            assert a["error"]["code"] == "denied", a
        assert "topsecret" not in json.dumps(ans)
        assert "versions" in ans[6]["result"]
        assert c.ok("vault.status")["state"] == "unsealed"  # seal was refused
        assert "refused: scope" in v.logtext()
    finally:
        v.cleanup()


_NO_PRINCIPAL_CLIENT = r'''
import json, os, socket, sys
os.setgroups([]); os.setgid(int(sys.argv[2])); os.setuid(int(sys.argv[2]))
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
buf = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(json.dumps(buf.decode()))
'''


def test_unknown_uid_is_refused_everything():
    """A uid of no principal is told why in one line and the connection is closed at once
    (issue 9: it must not hold a slot): it is not even read."""
    v = make_vault().setup(PASS)
    try:
        p = subprocess.run([sys.executable, "-c", _NO_PRINCIPAL_CLIENT, v.sock, "65532"],
                           capture_output=True, timeout=30)
        assert p.returncode == 0, p.stderr
        text = json.loads(p.stdout)
        lines = [json.loads(l) for l in text.splitlines() if l]
        assert len(lines) == 1, text  # the refusal, then EOF
        assert lines[0]["error"]["code"] == "denied", lines
        assert "no principal of this vault" in lines[0]["error"]["message"], lines
    finally:
        v.cleanup()


def test_unseal_only_principal():
    v = make_vault()
    try:
        v.start()
        v.cli("vault", "init", "--passphrase", input=PASS + b"\n")
        ans = as_user(v, 65533, [
            ["vault.init", {"method": "passphrase", "passphrase": "x"}],
            ["vault.unseal", {"passphrase": PASS.decode()}],
            ["target.list", {}],
            ["vault.seal", {}],
        ])
        assert ans[0]["error"]["code"] == "denied", ans[0]
        assert ans[1]["result"]["state"] == "unsealed", ans[1]
        assert ans[2]["error"]["code"] == "denied", ans[2]
        assert ans[3]["error"]["code"] == "denied", ans[3]
    finally:
        v.cleanup()


def test_cli_exit_code_for_denied():
    v = make_vault().setup(PASS)
    try:
        env = dict(os.environ, CUSTOS_SOCKET=v.sock)
        p = subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                            "--clear-groups", CLI, "vault", "seal"],
                           capture_output=True, env=env, timeout=30)
        assert p.returncode == 5, p
        assert b"denied" in p.stderr or b"permission" in p.stderr.lower(), p.stderr
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
