#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""No secret value in clear in the LMDB file, mdb_dump, logs, audit export or backups."""
import os
import subprocess

from harness import Vault, run_tests

PASS = b"Passphrase-Canary-7731"
VALUES = [b"Canary-Password-%d-zq" % i for i in range(10)]


def test_no_secret_in_clear_anywhere():
    v = Vault(extra="[log]\nlevel = debug\n").setup(PASS)
    try:
        v.cli("target", "create", "web01", "--host", "127.0.0.1")
        for i, val in enumerate(VALUES):
            v.cli("account", "create", "u%d@web01" % i, "--kind", "password")
            v.cli("secret", "put", "u%d@web01" % i, input=val + b"\n")
            assert v.cli("secret", "get", "u%d@web01" % i).stdout == val
        v.cli("vault", "rekey")
        bk = os.path.join(v.tmp, "bk.mdb")
        v.cli("vault", "backup", bk)
        export = v.cli("audit", "export").stdout
        assert b"secret.get" in export and b"secret.put" in export
        v.cli("vault", "seal")
        v.stop()
        blobs = {
            "data.mdb": open(os.path.join(v.data, "data.mdb"), "rb").read(),
            "backup": open(bk, "rb").read(),
            "mdb_dump": subprocess.run(["mdb_dump", "-a", "-p", v.data], capture_output=True,
                                       check=True).stdout,
            "log": v.logtext().encode(),
            "audit export": export,
        }
        for name, blob in blobs.items():
            assert len(blob) > 0, name
            for secret in VALUES + [PASS]:
                assert secret not in blob, "%s holds %s in clear" % (name, secret)
                # nor hex-encoded
                assert secret.hex().encode() not in blob, name
    finally:
        v.cleanup()


def test_core_dumps_disabled():
    v = Vault().start()
    try:
        with open("/proc/%d/limits" % v.proc.pid) as f:
            core = [l for l in f if l.startswith("Max core file size")][0]
        assert core.split()[4] == "0", core
        status = open("/proc/%d/status" % v.proc.pid).read()
        # Not dumpable: /proc/PID/environ etc. become root-owned; check via the mem file owner.
        st = os.stat("/proc/%d/mem" % v.proc.pid)
        assert st.st_uid == 0, st
        assert "VmLck" in status
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
