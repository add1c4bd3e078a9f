#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Error codes at the API, each reached for real: not_initialized, full (a backup onto a full
filesystem), audit_failed (a release whose audit entry cannot be made durable answers no
value), tampered (a sealed value changed, or moved to another record, in data.mdb)."""
import os
import subprocess

from harness import Vault, run_tests
from testbed import ssh_client_key

PASS = b"pw-for-api-error-tests"
HOSTKEY = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"


def error(c, op, args=None):
    ans = c.call(op, args)
    assert "error" in ans and "result" not in ans, "%s should fail -> %s" % (op, ans)
    return ans["error"]


def test_not_initialized_until_init():
    v = Vault().start()
    try:
        c = v.connect()
        assert c.ok("vault.status")["state"] == "uninitialized"
        for op, args in (("target.list", {}), ("secret.get", {"account": "root@web01"}),
                         ("vault.unseal", {"passphrase": "x"}), ("gov.identity.list", {})):
            e = error(c, op, args)
            assert e["code"] == "not_initialized", (op, e)
        c.ok("vault.init", {"method": "passphrase", "passphrase": PASS.decode()})
        assert error(c, "target.list", {})["code"] == "sealed"
        c.close()
    finally:
        v.cleanup()


def test_backup_onto_a_full_filesystem_is_full():
    """vaultd runs in its own mount namespace where small/ is a 64 KiB tmpfs: the backup
    (the whole environment, more than that) meets ENOSPC."""
    v = Vault()
    small = os.path.join(v.tmp, "small")
    os.mkdir(small)
    try:
        v.start(argv_prefix=["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                             'mount -t tmpfs -o size=64k custos-small "$0" && exec "$@"',
                             small])
        v.cli("vault", "init", "--passphrase", input=PASS + b"\n")
        v.cli("vault", "unseal", input=PASS + b"\n")
        c = v.connect()
        c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "meta": {"pad": "p" * 60000}})
        e = error(c, "vault.backup", {"path": os.path.join(small, "b.mdb")})
        assert e["code"] == "full", e
        assert c.ok("vault.status")["state"] == "unsealed"
        assert c.ok("target.get", {"name": "web01"})["name"] == "web01"
        c.close()
    finally:
        v.cleanup()


def test_release_whose_audit_cannot_be_made_durable_answers_no_value():
    """With a 1 MiB map, writes are made until the map is full: every release after that
    (secret.get, session.open) answers audit_failed and never the value; nothing that was
    answered is missing from the audit chain."""
    v = Vault(extra_vault="map_size = 1M\n").setup(PASS)
    try:
        c = v.connect()
        c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "hostkey": HOSTKEY})
        c.ok("account.create", {"id": "root@web01", "kind": "password"})
        c.ok("secret.put", {"account": "root@web01", "value": "precious-root-pw"})
        c.ok("gov.identity.create", {"id": "carol", "name": "Carol", "email": "c@example.com"})
        c.ok("gov.role.create", {"name": "ops", "kind": "standing", "entitlements": [
            {"account": "root@web01", "max_duration": 3600}]})
        c.ok("gov.identity.role.assign", {"id": "carol", "role": "ops"})
        _, pub, fp = ssh_client_key(v.tmp, name="id_carol")
        c.ok("gov.identity.key.add", {"id": "carol", "key": pub})
        # Fill the map with 8000-byte values until a write cannot be made durable.
        full = None
        for i in range(400):
            ans = c.call("account.create", {"id": "f%d@web01" % i, "kind": "password"})
            if "error" not in ans:
                ans = c.call("secret.put", {"account": "f%d@web01" % i, "value": "v" * 8000})
            if "error" in ans:
                full = ans["error"]
                break
        assert full is not None, "the 1 MiB map never filled"
        # A write meets the end of the map in its own transaction (full) or when the batch
        # is committed (audit_failed: nothing of the batch is durable).
        assert full in ({"code": "full", "message": "storage is full"},
                        {"code": "audit_failed", "message": "the change could not be made "
                         "durable (storage is full)"}), full
        # Releases: served while a page is left, then audit_failed, never a value.
        served = 0
        for _ in range(400):
            ans = c.call("secret.get", {"account": "root@web01"})
            if "error" in ans:
                break
            assert ans["result"]["value"] == "precious-root-pw", ans
            served += 1
        assert ans["error"]["code"] == "audit_failed", ans
        assert "precious-root-pw" not in str(ans), ans
        for _ in range(3):
            e = error(c, "secret.get", {"account": "root@web01"})
            assert e["code"] == "audit_failed" and "precious" not in str(e), e
        e = error(c, "session.open", {"fp": fp, "account": "root@web01", "broker": "b1"})
        assert e["code"] == "audit_failed" and "precious" not in str(e), e
        assert c.ok("session.list", {})["sessions"] == []
        # The chain holds exactly the releases that were answered.
        rep = c.ok("audit.verify", {})
        assert rep["ok"] is True, rep
        gets = [x for x in c.ok("audit.export", {"limit": 10000})["entries"]
                if x["op"] == "secret.get"]
        assert len(gets) == served, (len(gets), served)
        assert not [x for x in c.ok("audit.export", {"limit": 10000})["entries"]
                    if x["op"] == "session.open"]
        c.close()
        assert "precious-root-pw" not in v.logtext()
    finally:
        v.cleanup()


def sealed_value(v, key):
    """The sealed bytes (nonce||ct||tag) of a secrets record, read with mdb_dump (stopped)."""
    dump = subprocess.run(["mdb_dump", "-s", "secrets", v.data], capture_output=True,
                          check=True).stdout.decode()
    body = dump.split("HEADER=END\n", 1)[1].split("DATA=END")[0].split()
    pairs = {bytes.fromhex(body[i]): bytes.fromhex(body[i + 1]) for i in range(0, len(body), 2)}
    [val] = [val for k, val in pairs.items() if k.startswith(key + b"\0")]
    return val


def tampered_world(v):
    c = v.connect()
    c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "hostkey": HOSTKEY})
    for a, pw in (("root@web01", "root-pw-0123456789"), ("admin@web01", "admn-pw-0123456789")):
        c.ok("account.create", {"id": a, "kind": "password"})
        c.ok("secret.put", {"account": a, "value": pw})
    c.ok("gov.identity.create", {"id": "carol", "name": "Carol", "email": "c@example.com"})
    c.ok("gov.role.create", {"name": "ops", "kind": "standing", "entitlements": [
        {"account": "*@web01", "max_duration": 3600}]})
    c.ok("gov.identity.role.assign", {"id": "carol", "role": "ops"})
    _, pub, fp = ssh_client_key(v.tmp, name="id_carol")
    c.ok("gov.identity.key.add", {"id": "carol", "key": pub})
    assert c.ok("session.open", {"fp": fp, "account": "root@web01"})["allow"] is True
    c.close()
    v.cli("vault", "seal")
    v.stop()
    return fp


def check_refused(v, fp, account):
    v.start()
    v.cli("vault", "unseal", input=PASS + b"\n")
    c = v.connect()
    n = len(c.ok("audit.export", {"limit": 10000})["entries"])
    e = error(c, "secret.get", {"account": account})
    assert e == {"code": "tampered", "message": "secret %s version 1 cannot be opened"
                 % account}, e
    e = error(c, "session.open", {"fp": fp, "account": account, "broker": "b1"})
    assert e == {"code": "tampered", "message": "secret %s version 1 cannot be opened"
                 % account}, e
    # Nothing was released: no release audited, no session opened.
    new = c.ok("audit.export", {"limit": 10000})["entries"][n:]
    assert not [x for x in new if x["op"] in ("secret.get", "session.open")], new
    assert [s["account"] for s in c.ok("session.list", {})["sessions"]] == ["root@web01"]
    assert "sealed value fails authentication" in v.logtext()
    c.close()


def test_changed_sealed_value_is_refused_as_tampered():
    v = Vault().setup(PASS)
    try:
        fp = tampered_world(v)
        val = sealed_value(v, b"root@web01")
        bad = bytearray(val)
        bad[len(bad) // 2] ^= 0x01  # one bit of the ciphertext
        v.patch_data(val, bytes(bad))
        check_refused(v, fp, "root@web01")
        c = v.connect()
        assert c.ok("secret.get", {"account": "admin@web01"})["value"] == "admn-pw-0123456789"
        c.close()
    finally:
        v.cleanup()


def test_sealed_value_moved_to_another_record_is_refused_as_tampered():
    """A valid ciphertext under the vault's key, copied over another account's: the record
    name is the associated data, so it does not open there."""
    v = Vault().setup(PASS)
    try:
        fp = tampered_world(v)
        root, admin = sealed_value(v, b"root@web01"), sealed_value(v, b"admin@web01")
        assert len(root) == len(admin) and root != admin
        v.patch_data(admin, root)
        check_refused(v, fp, "admin@web01")
        c = v.connect()
        assert c.ok("secret.get", {"account": "root@web01"})["value"] == "root-pw-0123456789"
        c.close()
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
