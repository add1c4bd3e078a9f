#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""init / unseal / seal / status / rekey through the CLI, all three key methods."""
import json
import os
import signal

from harness import Vault, run_tests

PASS = b"correct horse battery staple"


def status(v):
    return json.loads(v.cli("--json", "vault", "status").stdout)


def test_passphrase_lifecycle():
    v = Vault()
    try:
        v.start()
        assert status(v)["state"] == "uninitialized"
        # Everything but status/init is refused before init.
        p = v.cli("secret", "list", check=False)
        assert p.returncode == 4, p
        v.cli("vault", "init", "--passphrase", input=PASS + b"\n")
        assert status(v)["state"] == "sealed"
        p = v.cli("vault", "init", "--passphrase", input=PASS + b"\n", check=False)
        assert p.returncode != 0 and b"already" in p.stderr, p
        p = v.cli("target", "list", check=False)
        assert p.returncode == 4 and b"sealed" in p.stderr, p
        # Wrong passphrase: refused, exit 5, still sealed, no secret in the output.
        p = v.cli("vault", "unseal", input=b"Not-The-Passphrase-42\n", check=False)
        assert p.returncode == 5, p
        assert b"Not-The-Passphrase-42" not in p.stderr + p.stdout
        assert status(v)["state"] == "sealed"
        v.cli("vault", "unseal", input=PASS + b"\n")
        assert status(v)["state"] == "unsealed"
        v.cli("target", "create", "web01", "--host", "127.0.0.1", "--port", "2201")
        v.cli("account", "create", "root@web01", "--kind", "password")
        v.cli("secret", "put", "root@web01", input=b"s3cr3t-Value\n")
        assert v.cli("secret", "get", "root@web01").stdout.strip() == b"s3cr3t-Value"
        v.cli("vault", "seal")
        assert status(v)["state"] == "sealed"
        p = v.cli("secret", "get", "root@web01", check=False)
        assert p.returncode == 4, p
        # Restart: still sealed, the passphrase opens it, data is there.
        assert v.stop() == 0
        v.start()
        assert status(v)["state"] == "sealed"
        v.cli("vault", "unseal", input=PASS + b"\n")
        assert v.cli("secret", "get", "root@web01").stdout.strip() == b"s3cr3t-Value"
        # The log never holds the passphrase or the value.
        log = v.logtext()
        assert PASS.decode() not in log and "s3cr3t-Value" not in log
    finally:
        v.cleanup()


def test_keyfile_and_auto_unseal():
    v = Vault()
    keyfile = os.path.join(v.tmp, "vault.key")
    with open(v.conf, "a") as f:
        f.write("\n")
    conf = open(v.conf).read().replace("[vault]\n", "[vault]\nkey_file = %s\n" % keyfile, 1)
    open(v.conf, "w").write(conf)
    try:
        v.start()
        v.cli("vault", "init", "--keyfile")
        st = os.stat(keyfile)
        assert st.st_mode & 0o077 == 0, oct(st.st_mode)
        v.cli("vault", "unseal", "--keyfile")
        assert status(v)["state"] == "unsealed"
        v.stop()
        # auto_unseal at start-up from the key file
        open(v.conf, "w").write(conf.replace("[vault]\n", "[vault]\nauto_unseal = true\n", 1))
        v.start()
        for _ in range(100):
            if status(v)["state"] == "unsealed":
                break
            import time
            time.sleep(0.05)
        assert status(v)["state"] == "unsealed"
        v.stop()
        # A key file readable by others is refused.
        os.chmod(keyfile, 0o644)
        open(v.conf, "w").write(conf)
        v.start()
        p = v.cli("vault", "unseal", "--keyfile", check=False)
        assert p.returncode != 0 and status(v)["state"] == "sealed", p
        os.chmod(keyfile, 0o600)
        # A different key is refused as auth_failed.
        with open(keyfile, "w") as f:
            f.write("00" * 32)
        p = v.cli("vault", "unseal", "--keyfile", check=False)
        assert p.returncode == 5, p
    finally:
        v.cleanup()


def test_shamir_k_of_n_from_different_callers():
    v = Vault()
    try:
        v.start()
        out = json.loads(v.cli("--json", "vault", "init", "--shamir", "5/3").stdout)
        shares = out["shares"]
        assert len(shares) == 5 and len(set(shares)) == 5
        # Two shares: still sealed; a repeated share is not counted.
        v.cli("vault", "unseal", "--share", input=shares[0].encode() + b"\n")
        p = v.cli("vault", "unseal", "--share", input=shares[0].encode() + b"\n", check=False)
        assert p.returncode == 1 and b"was given already (invalid)" in p.stderr, p
        v.cli("vault", "unseal", "--share", input=shares[3].encode() + b"\n")
        st = status(v)
        assert st["state"] == "sealed" and st["shares_given"] == 2, st
        # A mistyped share is refused by its check digits.
        bad = shares[4][:-3] + ("0" if shares[4][-3] != "0" else "1") + shares[4][-2:]
        p = v.cli("vault", "unseal", "--share", input=bad.encode() + b"\n", check=False)
        assert p.returncode == 1 and b"malformed or mistyped (parse)" in p.stderr, p
        assert status(v)["shares_given"] == 2
        # Third share from a raw socket client (another caller).
        c = v.connect()
        res = c.ok("vault.unseal", {"share": shares[4]})
        assert res["state"] == "unsealed", res
        c.close()
        v.cli("vault", "seal")
        # Shares from another vault's split do not open this one.
        v2 = Vault()
        try:
            v2.start()
            other = json.loads(v2.cli("--json", "vault", "init", "--shamir", "5/3").stdout)
            c = v.connect()
            c.ok("vault.unseal", {"share": other["shares"][0]})
            c.ok("vault.unseal", {"share": other["shares"][1]})
            assert c.err("vault.unseal", {"share": other["shares"][2]}) == "auth_failed"
            c.close()
        finally:
            v2.cleanup()
        # A share of a split with another threshold is refused outright, not counted.
        v3 = Vault()
        try:
            v3.start()
            odd = json.loads(v3.cli("--json", "vault", "init", "--shamir", "3/2").stdout)
            c = v.connect()
            e = c.call("vault.unseal", {"share": odd["shares"][0]})["error"]
            assert e == {"code": "invalid", "message": "share does not fit this vault or was "
                         "given already"}, e
            c.close()
        finally:
            v3.cleanup()
        st = status(v)
        assert st["state"] == "sealed" and st["shares_given"] == 0, st
    finally:
        v.cleanup()


def test_rekey_keeps_every_secret():
    v = Vault().setup(PASS)
    try:
        v.cli("target", "create", "db02", "--host", "127.0.0.1")
        for i in range(20):
            v.cli("account", "create", "u%d@db02" % i, "--kind", "password")
            v.cli("secret", "put", "u%d@db02" % i, input=b"value-%d\n" % i)
        out = json.loads(v.cli("--json", "vault", "rekey").stdout)
        assert out["reencrypted"] >= 20, out
        for i in range(20):
            assert v.cli("secret", "get", "u%d@db02" % i).stdout.strip() == b"value-%d" % i
        v.cli("vault", "seal")
        v.cli("vault", "unseal", input=PASS + b"\n")
        assert v.cli("secret", "get", "u7@db02").stdout.strip() == b"value-7"
    finally:
        v.cleanup()


def test_sigterm_is_clean_and_sigint_too():
    v = Vault().setup(PASS)
    try:
        assert v.stop(signal.SIGTERM) == 0
        assert not os.path.exists(v.sock)
        v.start()
        assert v.stop(signal.SIGINT) == 0
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
