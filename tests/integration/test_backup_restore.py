#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hot backup, restore, and refusal of bad backup files."""
import json
import os

from harness import Vault, run_tests

PASS = b"pw-for-backup-tests"


def test_backup_restore_round_trip():
    v = Vault().setup(PASS)
    try:
        v.cli("target", "create", "web01", "--host", "127.0.0.1")
        v.cli("account", "create", "root@web01", "--kind", "password")
        v.cli("secret", "put", "root@web01", input=b"before-backup\n")
        bk = os.path.join(v.tmp, "backup.mdb")
        out = json.loads(v.cli("--json", "vault", "backup", bk).stdout)
        assert out["bytes"] > 0 and os.stat(bk).st_mode & 0o077 == 0
        with open(bk, "rb") as f:
            assert b"before-backup" not in f.read()
        p = v.cli("vault", "backup", bk, check=False)
        assert p.returncode == 1 and b"exists" in p.stderr, p
        v.cli("secret", "put", "root@web01", input=b"after-backup\n")
        v.cli("target", "create", "web02", "--host", "127.0.0.2")
        v.cli("vault", "restore", bk)
        st = json.loads(v.cli("--json", "vault", "status").stdout)
        assert st["state"] == "sealed", st
        v.cli("vault", "unseal", input=PASS + b"\n")
        assert v.cli("secret", "get", "root@web01").stdout == b"before-backup"
        assert [t["name"] for t in json.loads(
            v.cli("--json", "target", "list").stdout)["targets"]] == ["web01"]
        # The restore is in the audit trail (recorded at the unseal that follows it).
        export = v.cli("audit", "export").stdout.decode()
        assert "restored_from" in export, export[-2000:]
        assert v.cli("audit", "verify").returncode == 0
    finally:
        v.cleanup()


def test_restore_refuses_garbage_and_keeps_serving():
    v = Vault().setup(PASS)
    try:
        v.cli("target", "create", "web01", "--host", "127.0.0.1")
        junk = os.path.join(v.tmp, "junk.mdb")
        with open(junk, "wb") as f:
            f.write(os.urandom(65536))
        p = v.cli("vault", "restore", junk, check=False)
        assert p.returncode == 1, p
        assert b"not a usable" in p.stderr, p.stderr
        p = v.cli("vault", "restore", os.path.join(v.tmp, "missing.mdb"), check=False)
        assert p.returncode == 1, p
        p = v.cli("vault", "restore", "relative.mdb", check=False)
        assert p.returncode in (1, 2), p
        st = json.loads(v.cli("--json", "vault", "status").stdout)
        assert st["state"] == "unsealed"
        assert v.cli("target", "get", "web01").returncode == 0
    finally:
        v.cleanup()


def test_backup_opens_in_a_fresh_daemon():
    v = Vault().setup(PASS)
    v2 = Vault()
    try:
        v.cli("target", "create", "web01", "--host", "127.0.0.1")
        v.cli("account", "create", "root@web01", "--kind", "password")
        v.cli("secret", "put", "root@web01", input=b"carried-over\n")
        bk = os.path.join(v2.tmp, "b.mdb")
        v.cli("vault", "backup", bk)
        v2.start()
        # Disaster recovery: restore into a daemon that was never initialised.
        v2.cli("vault", "restore", bk)
        assert json.loads(v2.cli("--json", "vault", "status").stdout)["state"] == "sealed"
        v2.cli("vault", "unseal", input=PASS + b"\n")
        assert v2.cli("secret", "get", "root@web01").stdout == b"carried-over"
    finally:
        v.cleanup()
        v2.cleanup()


if __name__ == "__main__":
    run_tests(globals())
