#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kill -9 mid-burst loses no acknowledged write; corrupt and newer-schema envs are refused."""
import json
import os
import subprocess
import threading
import time

from harness import Vault, run_tests

PASS = b"pw-for-crash-tests"


def test_kill9_during_write_burst_keeps_every_acknowledged_write():
    burst_then_kill9(Vault().setup(PASS))


def test_kill9_with_delayed_sync_keeps_every_acknowledged_write():
    # sync_interval_ms > 0: commits reach the OS before the answer, so a crash of the
    # daemon (not of the machine) loses nothing acknowledged.
    burst_then_kill9(Vault(extra_vault="sync_interval_ms = 200\n").setup(PASS))


def burst_then_kill9(v):
    try:
        c = v.connect()
        c.ok("target.create", {"name": "web01", "host": "127.0.0.1"})
        for i in range(4):
            c.ok("account.create", {"id": "a%d@web01" % i, "kind": "password"})
        c.close()
        acked = {}  # account -> (version, value) of the last acknowledged put
        lock = threading.Lock()
        stop = threading.Event()

        def writer(i):
            w = v.connect()
            n = 0
            try:
                while not stop.is_set() and n < 5000:
                    val = "v-%d-%d" % (i, n)
                    r = w.call("secret.put", {"account": "a%d@web01" % i, "value": val})
                    if "result" in r:
                        with lock:
                            acked["a%d@web01" % i] = (r["result"]["version"], val)
                    n += 1
            except (OSError, EOFError, ValueError):
                pass

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        v.kill9()
        stop.set()
        for t in threads:
            t.join(30)
        assert len(acked) == 4, acked
        v.start()
        v.cli("vault", "unseal", input=PASS + b"\n")
        c = v.connect()
        for acct, (ver, val) in acked.items():
            got = c.ok("secret.get", {"account": acct})
            # The acknowledged write is there (a later, unacknowledged one may be too).
            assert got["version"] >= ver, (acct, got["version"], ver)
            if got["version"] == ver:
                assert got["value"] == val
            assert c.ok("secret.get", {"account": acct, "version": ver})["value"] == val
        assert c.ok("audit.verify")["ok"] is True
        c.close()
    finally:
        v.cleanup()


def test_corrupt_environment_is_refused_with_a_clear_message():
    v = Vault().setup(PASS)
    try:
        v.stop()
        path = os.path.join(v.data, "data.mdb")
        with open(path, "r+b") as f:
            f.seek(0)
            f.write(os.urandom(8192))
        rc = v.start(expect_fail=True)
        assert rc == 1, rc
        assert "corrupt" in v.logtext(), v.logtext()[-1000:]
        # Nothing was changed by the failed start.
        with open(path, "rb") as f:
            assert len(f.read()) > 8192
    finally:
        v.cleanup()


def test_truncated_environment_is_refused():
    v = Vault().setup(PASS)
    try:
        v.stop()
        path = os.path.join(v.data, "data.mdb")
        os.truncate(path, 100)
        assert v.start(expect_fail=True) == 1
        assert "corrupt" in v.logtext()
    finally:
        v.cleanup()


def test_newer_schema_is_refused():
    v = Vault().setup(PASS)
    try:
        v.stop()
        dump = subprocess.run(["mdb_dump", "-p", "-s", "meta", v.data], capture_output=True,
                              check=True).stdout.decode()
        assert '"version":1' in dump.replace(" ", ""), dump
        newer = dump.replace('"version": 1', '"version": 99').replace('"version":1',
                                                                       '"version":99')
        subprocess.run(["mdb_load", "-s", "meta", v.data], input=newer.encode(), check=True)
        assert v.start(expect_fail=True) == 1
        assert "newer" in v.logtext(), v.logtext()[-1000:]
    finally:
        v.cleanup()


def test_second_daemon_on_same_socket_refused():
    v = Vault().setup(PASS)
    v2 = Vault()
    try:
        open(v2.conf, "w").write(open(v.conf).read())
        rc = v2.start(expect_fail=True)
        assert rc == 1, rc
        assert "another vaultd is listening" in v2.logtext(), v2.logtext()[-2000:]
        assert json.loads(v.cli("--json", "vault", "status").stdout)["state"] == "unsealed"
    finally:
        v2.cleanup()  # its own temp dir (config and log), never the first vault's files
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
