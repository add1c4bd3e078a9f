#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""No secret value in clear in the LMDB file, mdb_dump, logs, audit export or backups."""
import os
import subprocess
import time

from harness import Skip, Vault, run_tests

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


NOBODY = 65534


def test_not_dumpable_and_no_core():
    """vaultd runs as a non-root uid here, so that being non-dumpable shows: the kernel
    makes /proc/PID/* root's and refuses the same uid reading its environ; a dumpable
    process's files would belong to its own uid and be readable by it."""
    v = Vault(extra_vault="socket_mode = 0666\n")
    try:
        for d, _, files in os.walk(v.tmp):
            os.chown(d, NOBODY, NOBODY)
            for f in files:
                os.chown(os.path.join(d, f), NOBODY, NOBODY)
        v.start(argv_prefix=["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                             "--clear-groups", "--"])
        pid = v.proc.pid
        with open("/proc/%d/status" % pid) as f:
            uid = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
        assert uid == [str(NOBODY)] * 4, uid
        with open("/proc/%d/limits" % pid) as f:
            core = [l for l in f if l.startswith("Max core file size")][0]
        assert core.split()[4:6] == ["0", "0"], core
        for name in ("environ", "mem", "maps", "status"):
            st = os.stat("/proc/%d/%s" % (pid, name))
            assert (st.st_uid, st.st_gid) == (0, 0), (name, st.st_uid, st.st_gid)
        p = subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                            "--clear-groups", "--", "cat", "/proc/%d/environ" % pid],
                           capture_output=True, timeout=10)
        assert p.returncode != 0 and b"Permission denied" in p.stderr, p
        # The same uid's own process (dumpable) for comparison: its files are its own.
        q = subprocess.Popen(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                              "--clear-groups", "--", "sleep", "10"])
        try:
            deadline = time.time() + 5
            while time.time() < deadline and os.stat("/proc/%d/environ" % q.pid).st_uid != NOBODY:
                time.sleep(0.02)
            assert os.stat("/proc/%d/environ" % q.pid).st_uid == NOBODY
        finally:
            q.kill()
            q.wait()
    finally:
        v.cleanup()


def test_secrets_in_locked_memory_once_unsealed():
    """Keys live in sodium_malloc memory, which is mlocked: VmLck grows at unseal (the KEK,
    the data key); a secbuf that were not locked would leave VmLck where it was."""
    v = Vault().start()
    try:
        with open("/proc/%d/maps" % v.proc.pid) as f:
            if "libasan" in f.read():
                raise Skip("ASan makes mlock a no-op: VmLck stays 0 in this build")

        def vmlck():
            with open("/proc/%d/status" % v.proc.pid) as f:
                line = [l for l in f if l.startswith("VmLck:")][0]
            assert line.split()[2] == "kB", line
            return int(line.split()[1])
        v.cli("vault", "init", "--passphrase", input=PASS + b"\n")
        sealed = vmlck()
        v.cli("vault", "unseal", input=PASS + b"\n")
        unsealed = vmlck()
        # Each secbuf is at least one locked page (4 kB) between its guard pages.
        assert unsealed >= sealed + 4, (sealed, unsealed)
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
