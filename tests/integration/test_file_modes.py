#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Files the daemons refuse: a data directory, lock.mdb, broker host key or config that group
or others may reach (refused, not warned about), and the API socket's mode and group, set on
the socket itself before bind."""
import os
import stat
import subprocess

from harness import Vault, run_tests
from brokerbed import Broker, PASS


def refused(vault, needle):
    rc = vault.start(expect_fail=True)
    text = vault.logtext()
    assert rc == 1, "vaultd exited %s, not 1:\n%s" % (rc, text)
    assert needle in text, "no %r in:\n%s" % (needle, text)
    assert not os.path.exists(vault.sock), "a socket was created although start was refused"


def test_data_dir_open_to_group_refused():
    v = Vault()
    try:
        os.mkdir(v.data, 0o750)
        os.chmod(v.data, 0o750)
        refused(v, "is open to group or others; refusing")
        os.chmod(v.data, 0o700)
        v.start()  # the same directory, fixed, is accepted
    finally:
        v.cleanup()


def test_data_dir_of_another_user_refused():
    v = Vault()
    try:
        os.mkdir(v.data, 0o700)
        os.chown(v.data, 4242, 4242)
        refused(v, "owned by uid 4242")
    finally:
        v.cleanup()


def test_lock_mdb_readable_by_others_refused():
    v = Vault().setup(PASS)
    try:
        assert v.stop() == 0
        lock = os.path.join(v.data, "lock.mdb")
        assert stat.S_IMODE(os.stat(lock).st_mode) == 0o600
        os.chmod(lock, 0o644)
        refused(v, "lock.mdb mode=644")
        os.chmod(lock, 0o600)
        v.start()
    finally:
        v.cleanup()


def test_config_writable_by_group_refused():
    v = Vault()
    try:
        os.chmod(v.conf, 0o664)
        refused(v, "is writable by its group (mode 0664); refusing")
        os.chmod(v.conf, 0o644)  # readable by all is fine: no secret belongs in it
        v.start()
    finally:
        v.cleanup()


def test_config_owned_by_another_user_refused():
    v = Vault()
    try:
        os.chown(v.conf, 4242, -1)
        refused(v, "owned by uid 4242, neither root nor this daemon")
    finally:
        v.cleanup()


def test_socket_mode_and_group_set_before_bind():
    # A umask of 0077 (the units' UMask=) would strip the group bits from a mode applied by
    # bind alone; the mode is exact and the group is the configured one.
    v = Vault(extra_vault="socket_mode = 0660\nsocket_group = 4243\n")
    try:
        v.proc = None
        old = os.umask(0o077)
        try:
            v.start()
        finally:
            os.umask(old)
        st = os.lstat(v.sock)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
        assert st.st_gid == 4243, st.st_gid
        # Agent sockets of key accounts are made in agents/, which nobody else can list.
        agents = os.path.join(os.path.dirname(v.sock), "agents")
        assert stat.S_IMODE(os.stat(agents).st_mode) == 0o711
        assert "lets every local user connect" not in v.logtext()
    finally:
        v.cleanup()


def test_socket_mode_open_to_others_warned():
    v = Vault(extra_vault="socket_mode = 0666\n")
    try:
        v.start()
        assert stat.S_IMODE(os.lstat(v.sock).st_mode) == 0o666
        assert "socket_mode 0666 lets every local user connect" in v.logtext(), v.logtext()
    finally:
        v.cleanup()


def test_unknown_socket_group_refused():
    v = Vault(extra_vault="socket_group = no-such-group-custos\n")
    try:
        refused(v, "socket_group no-such-group-custos: no such group")
    finally:
        v.cleanup()


def _broker_refused(b, needle):
    try:
        b.start()
    except AssertionError as e:
        assert "broker exited 1" in str(e), str(e)
        assert needle in str(e), str(e)
        return
    raise AssertionError("the broker started although it should have refused")


def test_broker_host_key_open_to_group_refused():
    v = Vault().setup(PASS)
    b = Broker(v)
    try:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", b.hostkey],
                       check=True, capture_output=True)
        os.chmod(b.hostkey, 0o640)
        _broker_refused(b, "must be a file of uid 0 with mode 0600 or stricter")
    finally:
        b.stop()
        v.cleanup()


def test_broker_config_writable_by_others_refused():
    v = Vault().setup(PASS)
    b = Broker(v)
    try:
        os.chmod(b.conf, 0o646)
        _broker_refused(b, "is writable by everyone (mode 0646); refusing")
    finally:
        b.stop()
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
