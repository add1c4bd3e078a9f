#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Decisions that fail closed: an approval after the deadline is refused even right after an
unseal (no grant, no credential for session.resume); a session's end is recorded with the
broker's own end time and a second close changes nothing; every op the broker uses answers
not_initialized or sealed by the vault's state, and events.subscribe works in every state."""
import os
import threading
import time

from harness import Vault, as_user, run_tests
from peers import Subscriber, audit, make_key, restart, shared_vault, unseal

HOSTKEY = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
BROKER = 65533
HOLD = {"exec": "reboot*", "action": "hold", "timeout": 10, "reason": "reboots are announced"}


def world(v):
    """web01 with two accounts; alice (manager bob) holds a grant for root@web01 whose policy
    holds reboots for 10 s; carol holds admin@web01 standing."""
    c = v.connect()
    c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "hostkey": HOSTKEY})
    for a in ("root@web01", "admin@web01"):
        c.ok("account.create", {"id": a, "kind": "password"})
        c.ok("secret.put", {"account": a, "value": "pw-of-" + a})
    for ident, mgr in (("bob", None), ("alice", "bob"), ("carol", "bob")):
        args = {"id": ident, "name": ident.title(), "email": ident + "@example.com"}
        if mgr:
            args["manager"] = mgr
        c.ok("gov.identity.create", args)
    c.ok("gov.role.create", {"name": "web-root", "kind": "requestable", "entitlements": [
        {"account": "*@web01", "max_duration": 7200, "approval": {"by": "manager", "count": 1},
         "commands": [HOLD]}]})
    c.ok("gov.role.create", {"name": "web-admin", "kind": "standing", "entitlements": [
        {"account": "admin@web01", "max_duration": 3600}]})
    c.ok("gov.identity.role.assign", {"id": "alice", "role": "web-root"})
    c.ok("gov.identity.role.assign", {"id": "carol", "role": "web-admin"})
    fps = {}
    for ident in ("alice", "carol"):
        pub, fps[ident] = make_key(v.tmp, ident)
        c.ok("gov.identity.key.add", {"id": ident, "key": pub})
    req = c.ok("gov.request.create", {"as": "alice", "account": "root@web01", "duration": 3600,
                                      "reason": "INC-1 disk full"})
    grant = c.ok("gov.request.approve", {"as": "bob", "id": req["id"]})["grant"]
    return c, fps, grant


class Approver(threading.Thread):
    """Asks to approve `rid` as bob again and again until the vault is no longer sealed, so the
    first approval after the unseal lands before the vault's own timer can run."""

    def __init__(self, v, rid):
        super().__init__(daemon=True)
        self.c = v.connect()
        self.rid = rid
        self.answer = None

    def run(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            ans = self.c.call("gov.request.approve", {"as": "bob", "id": self.rid})
            if ans.get("error", {}).get("code") != "sealed":
                self.answer = ans
                return

    def result(self):
        self.join(70)
        self.c.close()
        assert self.answer is not None, "the approver never got past 'sealed'"
        return self.answer


def test_approval_after_the_deadline_is_refused_right_after_unseal():
    v = shared_vault(extra="[gov]\nrequest_timeout = 10\n")
    try:
        c, fps, grant = world(v)
        # An access request and a held command, both to be decided within 10 s.
        req = c.ok("gov.request.create", {"as": "alice", "account": "admin@web01",
                                          "duration": 600, "reason": "INC-2 check"})
        assert req["state"] == "pending" and req["decide_by"] - req["created_at"] == 10, req
        held = c.ok("session.open", {"fp": fps["alice"], "account": "root@web01", "broker": "b1",
                                     "kind": "exec", "command": "reboot now"})
        assert "hold" in held and "credential" not in held, held
        hold = held["hold"]["request"]
        c.close()
        # Both deadlines pass while vaultd is down; it comes back sealed.
        assert v.stop() == 0
        time.sleep(max(0.0, max(req["decide_by"], held["hold"]["expires_at"]) + 1.2 - time.time()))
        v.start()
        approvers = [Approver(v, req["id"]), Approver(v, hold)]
        for a in approvers:
            a.start()
        unseal(v)
        for a, rid in zip(approvers, (req["id"], hold)):
            ans = a.result()
            assert "result" not in ans, ans
            err = ans["error"]
            assert err["code"] == "bad_state" and err["reason"] == "request_expired", err
            assert err["request"] == rid and "expired" in err["message"], err
        c = v.connect()
        for rid in (req["id"], hold):
            r = c.ok("gov.request.get", {"id": rid})
            assert r["state"] == "expired" and r["decided_at"] and r["approvals"] == [], r
        # No grant for the expired request: alice still has only her first one.
        grants = c.ok("gov.grant.list", {"identity": "alice"})["grants"]
        assert [g["id"] for g in grants] == [grant], grants
        assert c.ok("gov.authorize", {"identity": "alice", "account": "admin@web01"})[
            "reason"] == "no_grant"
        # The held command gets no credential: refused, the session closed.
        res = c.ok("session.resume", {"session": held["session"]})
        assert res["allow"] is False and res["reason"] == "command_not_approved", res
        assert "credential" not in res and "value" not in str(res), res
        s = c.ok("session.get", {"session": held["session"]})
        assert s["state"] == "closed", s
        # Each expiry is audited once (by the approve that found it, or by the timer).
        exp = [e for e in audit(v) if (e.get("detail") or {}).get("change") == "request.expire"]
        assert sorted(e["detail"]["request"] for e in exp) == sorted([req["id"], hold]), exp
        assert all(e["op"] in ("gov.request.approve", "gov.tick") for e in exp), exp
        # Deny and cancel after the deadline say the same.
        e = c.call("gov.request.deny", {"as": "bob", "id": req["id"], "comment": "late"})
        assert e["error"]["reason"] == "request_expired", e
        e = c.call("gov.request.cancel", {"as": "alice", "id": req["id"]})
        assert e["error"]["reason"] == "request_expired", e
        c.close()
    finally:
        v.cleanup()


def test_overdue_request_is_expired_by_the_decider_not_only_the_timer():
    """Within the second of its deadline the timer may not have run: the decider expires it."""
    v = shared_vault(extra="[gov]\nrequest_timeout = 10\n")
    try:
        c, fps, grant = world(v)
        req = c.ok("gov.request.create", {"as": "alice", "account": "admin@web01",
                                          "duration": 600, "reason": "INC-3 check"})
        # Seal before the deadline: the timer is dropped, the request is still pending.
        c.ok("vault.seal")
        time.sleep(max(0.0, req["decide_by"] + 1.2 - time.time()))
        approver = Approver(v, req["id"])
        approver.start()
        unseal(v)
        ans = approver.result()
        assert ans["error"]["reason"] == "request_expired", ans
        assert c.ok("gov.request.get", {"id": req["id"]})["state"] == "expired"
        c.close()
    finally:
        v.cleanup()


def test_session_close_takes_the_brokers_end_time_once():
    v = shared_vault()
    try:
        c, fps, grant = world(v)
        open_ = lambda broker="b1": c.ok("session.open", {  # noqa: E731
            "fp": fps["carol"], "account": "admin@web01", "broker": broker})
        s1 = open_()
        started = c.ok("session.get", {"session": s1["session"]})["started_at"]
        # Out of range: refused, the session stays live.
        for bad, why in ((started - 10, "before the session started"),
                         (int(time.time()) + 120, "in the future")):
            e = c.call("session.close", {"session": s1["session"], "reason": "x",
                                         "ended_at": bad})
            assert e["error"]["code"] == "invalid" and why in e["error"]["message"], e
        assert c.err("session.close", {"session": s1["session"], "reason": "x",
                                       "ended_at": "soon"}) == "invalid"
        assert c.ok("session.get", {"session": s1["session"]})["state"] == "live"
        # The vault goes down while the session ends; the broker delivers the close later.
        ended = int(time.time())
        restart(v)
        unseal(v)
        time.sleep(1.1)
        c = v.connect()
        rec = c.ok("session.close", {"session": s1["session"], "reason": "client disconnected",
                                     "ended_at": ended, "exit_status": 3, "bytes_in": 10,
                                     "bytes_out": 20})
        assert rec["state"] == "closed" and rec["ended_at"] == ended, rec
        assert rec["exit_status"] == 3 and rec["bytes_in"] == 10 and rec["bytes_out"] == 20, rec
        # A second close (a retry) succeeds and changes nothing: the first figures stay.
        again = c.ok("session.close", {"session": s1["session"], "reason": "retry",
                                       "ended_at": ended + 1, "exit_status": 0, "bytes_in": 99})
        assert again == rec, (again, rec)
        closes = [e for e in audit(v) if e["op"] == "session.close"]
        assert len(closes) == 1 and closes[0]["detail"]["ended_at"] == ended, closes
        # A broker clock a little ahead is taken as the vault's now.
        s2 = open_()
        rec = c.ok("session.close", {"session": s2["session"], "reason": "done",
                                     "ended_at": int(time.time()) + 3})
        assert rec["ended_at"] <= int(time.time()), rec
        # session.reset (a broker restart) ends everything that broker held, live and held,
        # and a close the broker still had queued for one of them is answered as done.
        live = open_()
        other = open_("b2")
        alice_held = c.ok("session.open", {"fp": fps["alice"], "account": "root@web01",
                                           "broker": "b1", "kind": "exec",
                                           "command": "reboot"})
        assert "hold" in alice_held, alice_held
        res = c.ok("session.reset", {"broker": "b1"})
        assert sorted(res["sessions"]) == sorted([live["session"], alice_held["session"]]), res
        for sid in res["sessions"]:
            s = c.ok("session.get", {"session": sid})
            assert s["state"] == "closed" and s["end_reason"] == "broker restarted", s
        assert c.ok("gov.request.get",
                    {"id": alice_held["hold"]["request"]})["state"] == "cancelled"
        assert c.ok("session.get", {"session": other["session"]})["state"] == "live"
        late = c.ok("session.close", {"session": live["session"], "reason": "queued close",
                                      "ended_at": int(time.time())})
        assert late["end_reason"] == "broker restarted", late
        c.close()
    finally:
        v.cleanup()


BROKER_OPS = [
    ["gov.authorize", {"fp": "SHA256:x", "account": "root@web01"}],
    ["gov.mfa.check", {"fp": "SHA256:x"}],
    ["gov.totp.verify", {"identity": "alice", "code": "123456"}],
    ["session.open", {"fp": "SHA256:x", "account": "root@web01"}],
    ["session.close", {"session": "s-1", "reason": "x"}],
    ["gov.evidence", {"identity": "alice", "account": "root@web01", "kind": "session"}],
]


def test_each_vault_state_gives_its_own_code_to_the_broker():
    v = Vault(extra_vault="socket_mode = 0666\n",
              extra="[principal broker1]\nuids = %d\nscopes = authorize, broker\n" % BROKER)
    os.chmod(v.tmp, 0o755)
    try:
        v.start()
        # Subscribed before the vault even exists: events come once it does.
        sub = Subscriber(v)
        for state, code in (("uninitialized", "not_initialized"), ("sealed", "sealed")):
            if state == "sealed":
                v.cli("vault", "init", "--passphrase", input=b"pw-states\n")
            ans = as_user(v, BROKER, BROKER_OPS + [["events.subscribe", {}]])
            for (op, _), a in zip(BROKER_OPS, ans):
                assert a["error"]["code"] == code, (state, op, a)
                assert a["error"]["message"] == "%s: vault is %s" % (op, state), (state, op, a)
            assert "access.changed" in ans[-1]["result"]["subscribed"], ans[-1]
        v.cli("vault", "unseal", input=b"pw-states\n")
        ans = as_user(v, BROKER, BROKER_OPS[:1])
        assert ans[0]["result"]["allow"] is False and ans[0]["result"]["reason"] == "unknown_key"
        c = v.connect()
        c.ok("gov.identity.create", {"id": "zed", "name": "Zed", "email": "z@example.com"})
        c.ok("gov.identity.suspend", {"id": "zed", "reason": "test"})
        assert sub.next("identity.suspended")["data"]["identity"] == "zed"
        c.close()
        sub.close()
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
