#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Targets, accounts and secret versions through the CLI (human and --json) and the socket."""
import json
import os

from harness import Vault, run_tests

PASS = b"pw-for-object-tests"
SSH_KEY = (b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
           b"-----END OPENSSH PRIVATE KEY-----\n")


def j(v, *args, **kw):
    return json.loads(v.cli("--json", *args, **kw).stdout)


def test_target_crud():
    v = Vault().setup(PASS)
    try:
        t = j(v, "target", "create", "web01", "--host", "127.0.0.1", "--port", "2222",
              "--hostkey", "SHA256:abc", "--owner", "alice")
        assert t["name"] == "web01" and t["port"] == 2222 and t["connector"] == "ssh", t
        assert v.cli("target", "create", "web01", "--host", "x", check=False).returncode == 1
        t = j(v, "target", "update", "web01", "--port", "2200")
        assert t["port"] == 2200 and t["hostkey"] == "SHA256:abc", t
        assert [x["name"] for x in j(v, "target", "list")["targets"]] == ["web01"]
        human = v.cli("target", "list").stdout.decode()
        assert "web01" in human and "2200" in human, human
        p = v.cli("target", "create", "bad name", "--host", "h", check=False)
        assert p.returncode in (1, 2), p
        p = v.cli("target", "get", "nope", check=False)
        assert p.returncode == 1 and b"not found" in p.stderr, p
        v.cli("account", "create", "root@web01", "--kind", "password")
        p = v.cli("target", "delete", "web01", check=False)
        assert p.returncode == 1 and b"account" in p.stderr, p
        v.cli("account", "delete", "root@web01")
        v.cli("target", "delete", "web01")
        assert j(v, "target", "list")["targets"] == []
    finally:
        v.cleanup()


def test_accounts_need_a_target_and_valid_kind():
    v = Vault().setup(PASS)
    try:
        p = v.cli("account", "create", "root@ghost", "--kind", "password", check=False)
        assert p.returncode == 1 and b"not found" in p.stderr, p
        v.cli("target", "create", "db02", "--host", "127.0.0.1")
        p = v.cli("account", "create", "root@db02", "--kind", "telepathy", check=False)
        assert p.returncode != 0, p
        a = j(v, "account", "create", "postgres@db02", "--kind", "ssh-key")
        assert a["id"] == "postgres@db02" and a["kind"] == "ssh-key" and a["current"] is None, a
        assert [x["id"] for x in j(v, "account", "list", "--target", "db02")["accounts"]] == \
            ["postgres@db02"]
        p = v.cli("secret", "get", "postgres@db02", check=False)
        assert p.returncode == 1 and b"no current" in p.stderr, p
    finally:
        v.cleanup()


def test_versions_current_pending_previous():
    v = Vault().setup(PASS)
    try:
        v.cli("target", "create", "web01", "--host", "127.0.0.1")
        v.cli("account", "create", "root@web01", "--kind", "password")
        assert j(v, "secret", "put", "root@web01", input=b"one\n")["version"] == 1
        assert j(v, "secret", "put", "root@web01", input=b"two\n")["version"] == 2
        r = j(v, "secret", "put", "root@web01", "--pending", input=b"three\n")
        assert r["version"] == 3 and r["state"] == "pending", r
        assert v.cli("secret", "get", "root@web01").stdout == b"two"
        assert v.cli("secret", "get", "root@web01", "--version", "3").stdout == b"three"
        assert v.cli("secret", "get", "root@web01", "--version", "1").stdout == b"one"
        j(v, "secret", "promote", "root@web01")
        assert v.cli("secret", "get", "root@web01").stdout == b"three"
        # v1 was previous-of-previous: destroyed, not kept.
        p = v.cli("secret", "get", "root@web01", "--version", "1", check=False)
        assert p.returncode == 1, p
        assert v.cli("secret", "get", "root@web01", "--version", "2").stdout == b"two"
        h = j(v, "secret", "history", "root@web01")["versions"]
        states = {e["version"]: e["state"] for e in h}
        assert states == {1: "destroyed", 2: "previous", 3: "current"}, states
        assert all("value" not in e for e in h)
        p = v.cli("secret", "promote", "root@web01", check=False)
        assert p.returncode == 1 and b"pending" in p.stderr, p
        lst = j(v, "secret", "list")["secrets"]
        assert lst[0]["account"] == "root@web01" and lst[0]["current"] == 3, lst
        assert "three" not in json.dumps(lst)
    finally:
        v.cleanup()


def test_ssh_key_kept_byte_for_byte_from_file():
    v = Vault().setup(PASS)
    try:
        v.cli("target", "create", "web01", "--host", "127.0.0.1")
        v.cli("account", "create", "deploy@web01", "--kind", "ssh-key")
        path = os.path.join(v.tmp, "id_test")
        with open(path, "wb") as f:
            f.write(SSH_KEY)
        v.cli("secret", "put", "deploy@web01", "--from-file", path)
        assert v.cli("secret", "get", "deploy@web01").stdout.rstrip(b"\n") == SSH_KEY.rstrip(b"\n")
    finally:
        v.cleanup()


def test_help_everywhere():
    v = Vault()
    try:
        for args in (["--help"], ["vault", "--help"], ["secret", "put", "--help"],
                     ["target", "--help"], ["audit", "--help"], ["account", "--help"]):
            p = v.cli(*args)
            assert b"sage" in p.stdout, (args, p.stdout)
        assert v.cli("frobnicate", check=False).returncode == 2
        p = v.cli("vault", "status", check=False)  # no daemon running
        assert p.returncode == 3, p
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
