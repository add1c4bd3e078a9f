#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""TOTP brute force: wrong codes are counted per identity in the vault, waits double, the
identity locks (even the right code is refused), every failure and the lock are audited, the
lock is pushed to subscribers and survives a reconnect and a vaultd restart."""
import json
import time

from harness import run_tests
from peers import Subscriber, audit, make_key, restart, shared_vault, totp, unseal, wrong_totp

# Defaults but for the lock, kept short so the test sees it end.
MFA = "[mfa]\nlock_time = 8\nmax_lock_time = 60\n"


def enrolled(v):
    c = v.connect()
    c.ok("gov.identity.create", {"id": "alice", "name": "Alice", "email": "a@example.com"})
    secret = c.ok("gov.identity.totp.enroll", {"id": "alice"})["secret"]
    pub, fp = make_key(v.tmp, "alice")
    c.ok("gov.identity.key.add", {"id": "alice", "key": pub})
    c.close()
    return secret, fp


def verify(v, code):
    """One attempt on a fresh connection each time: reconnecting must not reset anything."""
    c = v.connect()
    try:
        return c.ok("gov.totp.verify", {"identity": "alice", "code": code})
    finally:
        c.close()


def test_wrong_codes_wait_then_lock_across_reconnects_and_restart():
    v = shared_vault(extra=MFA)
    try:
        secret, fp = enrolled(v)
        sub = Subscriber(v, ["identity.mfa_locked"])
        wrong = wrong_totp(secret)
        # Two typing mistakes are free: no wait.
        for _ in range(2):
            assert verify(v, wrong) == {"ok": False, "reason": "wrong_code"}
        # The third costs a second ...
        assert verify(v, wrong) == {"ok": False, "reason": "wrong_code", "retry_after": 1}
        # ... during which even the right code is not looked at (and not counted).
        assert verify(v, totp(secret)) == {"ok": False, "reason": "throttled", "retry_after": 1}
        time.sleep(1.1)
        assert verify(v, wrong) == {"ok": False, "reason": "wrong_code", "retry_after": 2}
        assert verify(v, wrong)["reason"] == "throttled"
        time.sleep(2.1)
        # The fifth wrong code within the window locks alice's codes for lock_time.
        t_lock = time.time()
        res = verify(v, wrong)
        assert res["ok"] is False and res["reason"] == "wrong_code" and res["locked"] is True, res
        assert res["retry_after"] == 8 and abs(res["locked_until"] - (t_lock + 8)) <= 2, res
        ev = sub.next("identity.mfa_locked")["data"]
        assert ev["identity"] == "alice" and ev["failures"] == 5, ev
        assert ev["lock_seconds"] == 8 and ev["locks"] == 1, ev
        assert ev["locked_until"] == res["locked_until"], (ev, res)
        # Locked: the right code is refused with its own reason, on a new connection.
        res = verify(v, totp(secret))
        assert res["ok"] is False and res["reason"] == "locked", res
        assert 1 <= res["retry_after"] <= 8 and res["locked_until"] == ev["locked_until"], res
        c = v.connect()
        chk = c.ok("gov.mfa.check", {"fp": fp})
        assert chk["identity"] == "alice" and chk["required"] is True, chk
        assert chk["locked"] is True and 1 <= chk["retry_after"] <= 8, chk
        c.close()
        sub.close()
        # A restart does not lift it: the count is in the vault, not in memory.
        restart(v)
        unseal(v)
        res = verify(v, totp(secret))
        assert res["ok"] is False and res["reason"] == "locked", res
        # Once the lock is over the right code is accepted, and everything is forgotten.
        time.sleep(max(0.0, res["locked_until"] + 1 - time.time()))
        assert verify(v, totp(secret)) == {"ok": True}
        c = v.connect()
        assert c.ok("gov.mfa.check", {"fp": fp})["locked"] is False
        c.close()
        assert verify(v, wrong) == {"ok": False, "reason": "wrong_code"}  # free again
        # Every attempt is audited with its reason, the lock on its own; never a code.
        entries = audit(v)
        tries = [e for e in entries if (e.get("detail") or {}).get("change") == "mfa.totp"]
        reasons = [(e["result"], e["detail"].get("reason")) for e in tries]
        assert reasons == ([("refused", "wrong_code")] * 3 + [("refused", "throttled")] +
                           [("refused", "wrong_code"), ("refused", "throttled"),
                            ("refused", "wrong_code"), ("refused", "locked"),
                            ("refused", "locked"), ("ok", None), ("refused", "wrong_code")]), \
            reasons
        assert [e["detail"]["failures"] for e in tries if e["detail"].get("reason") ==
                "wrong_code"] == [1, 2, 3, 4, 5, 1], tries
        locks = [e for e in entries if (e.get("detail") or {}).get("change") == "mfa.lock"]
        assert len(locks) == 1 and locks[0]["object"] == "alice", locks
        assert locks[0]["detail"]["lock_seconds"] == 8, locks
        for e in tries + locks:
            assert "code" not in e["detail"] and wrong not in json.dumps(e["detail"]), e
        assert "TOTP locked for 8s after 5 wrong codes" in v.logtext()
    finally:
        v.cleanup()


def test_lock_is_per_identity_and_reenrolment_clears_it():
    v = shared_vault(extra=MFA + "free_failures = 0\ndelay = 0\nmax_failures = 2\n")
    try:
        secret, _ = enrolled(v)
        c = v.connect()
        c.ok("gov.identity.create", {"id": "bob", "name": "Bob", "email": "b@example.com"})
        bob = c.ok("gov.identity.totp.enroll", {"id": "bob"})["secret"]
        for _ in range(2):
            verify(v, wrong_totp(secret))
        assert verify(v, totp(secret))["reason"] == "locked"
        # bob is not alice.
        assert c.ok("gov.totp.verify", {"identity": "bob", "code": totp(bob)}) == {"ok": True}
        # A new secret makes old guesses meaningless: the lock goes with the old one.
        secret = c.ok("gov.identity.totp.enroll", {"id": "alice"})["secret"]
        assert verify(v, totp(secret)) == {"ok": True}
        # An identity without TOTP has nothing to guess: refused, never counted.
        c.ok("gov.identity.create", {"id": "carol", "name": "Carol", "email": "c@example.com"})
        for _ in range(4):
            assert c.ok("gov.totp.verify", {"identity": "carol", "code": "123456"}) == \
                {"ok": False, "reason": "not_enrolled"}
        c.close()
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
