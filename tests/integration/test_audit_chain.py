#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Audit log: every change and release recorded; verify detects tampering; export as JSON lines."""
import json
import os
import shutil
import subprocess

from harness import Vault, run_tests

PASS = b"pw-for-audit-tests"


def populate(v):
    v.cli("target", "create", "web01", "--host", "127.0.0.1")
    v.cli("account", "create", "root@web01", "--kind", "password")
    for i in range(80):
        v.cli("secret", "put", "root@web01", input=b"value-%d\n" % i) if i % 8 == 0 else None
    c = v.connect()
    for i in range(70):
        c.ok("target.update", {"name": "web01", "port": 1000 + i})
    c.ok("secret.get", {"account": "root@web01"})
    c.close()


def export(v):
    return [json.loads(l) for l in v.cli("audit", "export").stdout.decode().splitlines() if l]


def test_entries_and_verify():
    v = Vault().setup(PASS)
    try:
        populate(v)
        entries = export(v)
        ops = [e["op"] for e in entries]
        assert ops[0] == "vault.init" and "vault.unseal" in ops
        assert ops.count("target.update") == 70 and "secret.get" in ops
        assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
        rel = [e for e in entries if e["op"] == "secret.get"][0]
        assert rel["object"] == "root@web01" and rel["principal"] == "self", rel
        assert "value" not in json.dumps(rel.get("detail", {}))
        out = v.cli("--json", "audit", "verify").stdout
        rep = json.loads(out)
        assert rep["ok"] is True and rep["entries"] == len(entries) and rep["checkpoints"] >= 1, rep
        # Paging through the socket.
        c = v.connect()
        page = c.ok("audit.export", {"after": 10, "limit": 5})
        assert [e["seq"] for e in page["entries"]] == [11, 12, 13, 14, 15]
        assert page["next"] == 15
        c.close()
    finally:
        v.cleanup()


def tamper(v, edit):
    """Stop vaultd, rewrite the audit table with edit([(key, value) bytes pairs]), restart.

    Debian's lmdb-utils has no mdb_drop, so the whole environment is dumped (hex form:
    the printable form of lmdb-utils 0.9.24 does not always load back) and loaded into a
    fresh one, with the audit table edited on the way.
    """
    v.cli("vault", "seal")
    v.stop()
    dump = subprocess.run(["mdb_dump", "-a", v.data], capture_output=True,
                          check=True).stdout.decode()
    out = []
    for section in dump.split("VERSION=")[1:]:
        section = "VERSION=" + section
        head, _, body = section.partition("HEADER=END\n")
        lines = body.split("\n")
        data_end = lines.index("DATA=END")
        pairs = [(bytes.fromhex(lines[i].strip()), bytes.fromhex(lines[i + 1].strip()))
                 for i in range(0, data_end, 2)]
        if "database=audit\n" in head:
            pairs = edit(pairs)
        out.append(head + "HEADER=END\n" +
                   "".join(" %s\n %s\n" % (k.hex(), val.hex()) for k, val in pairs) +
                   "DATA=END\n")
    fresh = os.path.join(v.tmp, "fresh")
    os.makedirs(fresh)
    p = subprocess.run(["mdb_load", fresh], input="".join(out).encode(), capture_output=True)
    assert p.returncode == 0, p.stderr
    os.replace(os.path.join(fresh, "data.mdb"), os.path.join(v.data, "data.mdb"))
    os.unlink(os.path.join(v.data, "lock.mdb"))
    shutil.rmtree(fresh)
    v.start()
    v.cli("vault", "unseal", input=PASS + b"\n")


def verify(v):
    p = v.cli("--json", "audit", "verify", check=False)
    return p.returncode, json.loads(p.stdout)


def test_changed_entry_detected():
    v = Vault().setup(PASS)
    try:
        populate(v)

        def edit(pairs):
            k, val = pairs[20]
            assert b"target.update" in val, val
            return pairs[:20] + [(k, val.replace(b"target.update", b"target.updatE"))] + pairs[21:]
        tamper(v, edit)
        rc, rep = verify(v)
        assert rc == 1 and rep["ok"] is False and rep["error"]["seq"] == 21, rep
    finally:
        v.cleanup()


def test_removed_entry_detected():
    v = Vault().setup(PASS)
    try:
        populate(v)
        tamper(v, lambda pairs: pairs[:30] + pairs[31:])
        rc, rep = verify(v)
        assert rc == 1 and rep["ok"] is False and rep["error"]["seq"] in (31, 32), rep
    finally:
        v.cleanup()


def test_reordered_entries_detected():
    v = Vault().setup(PASS)
    try:
        populate(v)

        def edit(pairs):
            p = list(pairs)
            (k1, v1), (k2, v2) = p[40], p[41]
            p[40], p[41] = (k1, v2), (k2, v1)
            return p
        tamper(v, edit)
        rc, rep = verify(v)
        assert rc == 1 and rep["ok"] is False and rep["error"]["seq"] == 41, rep
    finally:
        v.cleanup()


def test_truncated_tail_detected():
    v = Vault().setup(PASS)
    try:
        populate(v)
        # Drop the last three entries (the seal and two before it).
        tamper(v, lambda pairs: pairs[:-3])
        rc, rep = verify(v)
        assert rc == 1 and rep["ok"] is False, rep
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
