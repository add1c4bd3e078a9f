#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Small inconsistencies, each fixed with a test: unknown --state values refused like
`session list`; `--file-transfer` over SSH is a flag, not part of the reason; `grants` over
SSH lists live grants only; durations print one way (CLI, SSH, menu: gov_duration_format);
a failed connect says how to point the CLI at another socket; docs/api.md documents what
secret.history returns; the docs agree with the table on max_line's default."""
import json
import os
import re
import subprocess

from harness import CLI, VAULTD, run_tests
from brokerbed import PASS, Stack
from harness import Vault

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_unknown_states_are_refused():
    v = Vault().setup(PASS)
    try:
        for args, says in ((("gov", "grants", "--state", "bogus"), "active, expired or revoked"),
                           (("gov", "requests", "--state", "pendng"),
                            "pending, approved, denied, expired or cancelled"),
                           (("session", "list", "--state", "open"), "live, held or closed")):
            p = v.cli(*args, check=False)
            assert p.returncode == 2, (args, p)
            assert ("--state is " + says).encode() in p.stderr, (args, p.stderr)
            assert p.stdout == b"", p.stdout
        for args in (("gov", "grants", "--state", "revoked"),
                     ("gov", "requests", "--state", "pending")):
            assert v.cli(*args).returncode == 0
    finally:
        v.cleanup()


def test_ssh_request_flag_and_live_grants_and_durations():
    st = Stack()
    try:
        st.c.ok("gov.role.create", {"name": "web-copy", "kind": "requestable", "entitlements": [
            {"account": "root@web01", "max_duration": 7200, "file_transfer": True,
             "approval": {"by": "none"}}]})
        st.c.ok("gov.identity.role.assign", {"id": "alice", "role": "web-copy"})
        p = st.ssh("request root@web01 1h30m copy logs --file-transfer", account="custos")
        assert p.returncode == 0, p
        # One duration style, over SSH and in the CLI.
        assert re.search(rb"\b1h30m\b", p.stdout), p.stdout
        rid = re.search(rb"^(r-\d+)", p.stdout, re.M).group(1).decode()
        req = st.c.ok("gov.request.get", {"id": rid})
        assert req["reason"] == "copy logs", req
        grant = st.c.ok("gov.grant.get", {"id": req["grant"]})
        assert grant["file_transfer"] is True, grant
        assert re.search(r"\b1h30m\b", st.vault.cli("gov", "requests").stdout.decode())
        p = st.ssh("targets", account="custos")
        assert b"up to 2h, approval" in p.stdout and b"7200s" not in p.stdout, p.stdout
        # A flag alone is no reason.
        p = st.ssh("request root@web01 1h --file-transfer", account="custos")
        assert p.returncode != 0 and b"needs a reason" in p.stdout + p.stderr, p

        # grants: live ones only; a revoked grant is history.
        p = st.ssh("grants", account="custos")
        assert req["grant"].encode() in p.stdout, p.stdout
        st.c.ok("gov.grant.revoke", {"id": req["grant"], "reason": "done"})
        p = st.ssh("grants", account="custos")
        assert p.returncode == 0 and req["grant"].encode() not in p.stdout, p.stdout
        assert b"No live grants." in p.stdout, p.stdout
        out = st.vault.cli("gov", "grants", "--state", "revoked").stdout.decode()
        assert req["grant"] in out, out
    finally:
        st.cleanup()


def test_connect_failure_names_the_ways_to_another_socket():
    env = {k: v for k, v in os.environ.items() if k != "CUSTOS_SOCKET"}
    p = subprocess.run([CLI, "--socket", "/nonexistent/custos.sock", "vault", "status"],
                       capture_output=True, env=env, timeout=30)
    assert p.returncode == 3, p
    err = p.stderr.decode()
    assert "cannot connect to /nonexistent/custos.sock (--socket)" in err, err
    assert "--socket PATH or CUSTOS_SOCKET=PATH" in err, err
    p = subprocess.run([CLI, "vault", "status"], capture_output=True, timeout=30,
                       env=dict(env, CUSTOS_SOCKET="/nonexistent/env.sock"))
    assert "cannot connect to /nonexistent/env.sock ($CUSTOS_SOCKET)" in p.stderr.decode()


def test_docs_match_what_the_vault_says():
    v = Vault().setup(PASS)
    try:
        c = v.connect()
        c.ok("target.create", {"name": "h1", "host": "127.0.0.1"})
        c.ok("account.create", {"id": "root@h1", "kind": "password"})
        c.ok("secret.put", {"account": "root@h1", "value": "one"})
        c.ok("secret.put", {"account": "root@h1", "value": "two", "state": "pending"})
        c.ok("secret.promote", {"account": "root@h1"})
        hist = c.ok("secret.history", {"account": "root@h1"})
        keys = set()
        for ver in hist["versions"]:
            keys |= set(ver)
        api = open(os.path.join(ROOT, "docs", "api.md")).read()
        section = api.split("### secret.history")[1].split("\n### ")[0]
        documented = set(re.findall(r'"(\w+)"', section))
        assert "promoted_at" in keys and keys <= documented, (keys - documented, section)
    finally:
        v.cleanup()
    # max_line's default, as the key table says it, is what every doc says.
    table = subprocess.run([VAULTD, "--config-docs"], capture_output=True, text=True).stdout
    default = re.search(r"^\| `max_line` \| [^|]+ \| `(\w+)` \|", table, re.M).group(1)
    assert default == "1M", default
    for doc in ("api.md", "cli.md"):
        text = open(os.path.join(ROOT, "docs", doc)).read()
        stated = re.findall(r"max_line`[^.]*?\(([^)]*?)(\d+ [KM]iB)", text.replace("\n", " "))
        stated += re.findall(r"max_line`[^.]*?(default) (\d+ [KM]iB)", text.replace("\n", " "))
        assert stated and all(s[1] == "1 MiB" for s in stated), (doc, stated)


if __name__ == "__main__":
    run_tests(globals())
