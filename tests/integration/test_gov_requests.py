#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Requests -> approvals -> JIT grants -> expiry by the timer, events, break-glass, authorize."""
import json
import subprocess
import time

from harness import Vault, run_tests

PASS = b"pw-for-gov-request-tests"


def make_key(tmp):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@laptop", "-f",
                    tmp + "/alice_key"], check=True)
    pub = open(tmp + "/alice_key.pub").read().strip()
    fp = subprocess.run(["ssh-keygen", "-lf", tmp + "/alice_key.pub"], capture_output=True,
                        check=True).stdout.decode().split()[1]
    return pub, fp


def world(v):
    """Targets, accounts, identities (bob manages alice and carol), roles."""
    c = v.connect()
    c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "owner": "olivia"})
    c.ok("target.create", {"name": "db02", "host": "127.0.0.1"})
    for a in ("root@web01", "root@db02", "admin@web01"):
        c.ok("account.create", {"id": a, "kind": "password"})
    for ident, mgr, groups in (("bob", None, []), ("olivia", None, []),
                               ("alice", "bob", ["oncall"]), ("carol", "bob", []),
                               ("dave", "bob", [])):
        args = {"id": ident, "name": ident.title(), "email": ident + "@example.com",
                "department": "ops", "groups": groups}
        if mgr:
            args["manager"] = mgr
        c.ok("gov.identity.create", args)
    c.ok("gov.role.create", {"name": "web-root", "kind": "requestable", "entitlements": [
        {"account": "root@web*", "max_duration": 7200,
         "approval": {"by": "manager", "count": 1}, "break_glass": True}]})
    c.ok("gov.role.create", {"name": "db-root", "kind": "requestable", "entitlements": [
        {"account": "root@db*", "max_duration": 3600,
         "approval": {"by": "group", "group": "dba", "count": 2}}]})
    c.ok("gov.role.create", {"name": "web-admin-standing", "kind": "standing", "entitlements": [
        {"account": "admin@web01", "max_duration": 3600}]})
    c.ok("gov.role.create", {"name": "quick", "kind": "requestable", "entitlements": [
        {"account": "admin@web01", "max_duration": 3600, "approval": {"by": "none"}}]})
    for ident in ("alice", "carol", "dave"):
        c.ok("gov.identity.role.assign", {"id": ident, "role": "web-root"})
    pub, v.alice_fp = make_key(v.tmp)
    assert c.ok("gov.identity.key.add", {"id": "alice", "key": pub})["fp"] == v.alice_fp
    return c


def test_request_approve_grant_authorize_and_no_self_approval():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        # Not eligible: no role covers db02 for dave.
        assert c.err("gov.request.create", {"as": "dave", "account": "root@db02",
                                            "duration": 600, "reason": "look"}) == "denied"
        # Too long for the entitlement.
        ans = c.call("gov.request.create", {"as": "alice", "account": "root@web01",
                                             "duration": 99999, "reason": "too long"})
        assert ans["error"]["code"] == "denied", ans
        req = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                          "duration": 3600, "reason": "INC-1 disk full"})
        assert req["state"] == "pending" and req["approvers"] == ["bob"], req
        auth = c.ok("gov.authorize", {"identity": "alice", "account": "root@web01"})
        assert auth["allow"] is False and auth["reason"] == "no_grant", auth
        # Self-approval refused; a non-approver refused: each with its reason, nothing changed.
        e = c.call("gov.request.approve", {"as": "alice", "id": req["id"]})["error"]
        assert e == {"code": "denied", "message": "nobody approves their own request"}, e
        e = c.call("gov.request.approve", {"as": "carol", "id": req["id"]})["error"]
        assert e == {"code": "denied", "message": "carol is not an approver of request %s"
                     % req["id"]}, e
        q = c.ok("gov.request.get", {"id": req["id"]})
        assert q["state"] == "pending" and q["approvals"] == [] and q["grant"] is None, q
        assert c.ok("gov.grant.list", {"identity": "alice"})["grants"] == []
        done = c.ok("gov.request.approve", {"as": "bob", "id": req["id"], "comment": "ok"})
        assert done["state"] == "approved" and done["grant"], done
        # Authorized by key fingerprint, with the grant.
        auth = c.ok("gov.authorize", {"fp": v.alice_fp, "account": "root@web01"})
        assert auth["allow"] is True and auth["via"] == "grant" and auth["grant"] == done["grant"]
        # Approving twice is refused (no longer pending).
        assert c.err("gov.request.approve", {"as": "bob", "id": req["id"]}) == "denied"
        # Unknown key, unknown account.
        auth = c.ok("gov.authorize", {"fp": "SHA256:nope", "account": "root@web01"})
        assert auth["reason"] == "unknown_key", auth
        auth = c.ok("gov.authorize", {"identity": "alice", "account": "root@nowhere"})
        assert auth["reason"] == "unknown_account", auth
        # Standing role: allowed without a grant.
        c.ok("gov.identity.role.assign", {"id": "carol", "role": "web-admin-standing"})
        auth = c.ok("gov.authorize", {"identity": "carol", "account": "admin@web01"})
        assert auth["allow"] is True and auth["via"] == "standing", auth
        # Audit trail has the whole story.
        ops = [json.loads(l) for l in v.cli("audit", "export").stdout.decode().splitlines()]
        changes = [(e.get("detail") or {}).get("change") for e in ops]
        for ch in ("request.create", "request.approve", "grant.create"):
            assert ch in changes, ch
        c.close()
    finally:
        v.cleanup()


def test_revoked_grant_reads_grant_expired_and_subscriber_sees_it():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        sub = v.connect()
        assert "grant.expired" in sub.ok("events.subscribe", {"types": ["grant.expired",
                                                                         "grant.created"]})["subscribed"]
        req = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                          "duration": 60, "reason": "short one"})
        c.ok("gov.request.approve", {"as": "bob", "id": req["id"]})
        ev = sub.recv()
        assert ev["event"] == "grant.created", ev
        gid = ev["data"]["grant"]
        # Ended early by a revoke (the timer's own expiry: test_timer_expires_grant_*).
        c.ok("gov.grant.revoke", {"id": gid, "reason": "done early"})
        assert c.ok("gov.grant.get", {"id": gid})["state"] == "revoked"
        auth = c.ok("gov.authorize", {"identity": "alice", "account": "root@web01"})
        assert auth["allow"] is False and auth["reason"] == "grant_expired", auth
        c.close()
        sub.close()
    finally:
        v.cleanup()


def test_timer_expires_grant_within_a_second():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        sub = v.connect()
        sub.ok("events.subscribe", {"types": ["grant.expired"]})
        req = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                          "duration": 60, "reason": "timer test"})
        g = c.ok("gov.request.approve", {"as": "bob", "id": req["id"]})["grant"]
        grant = c.ok("gov.grant.get", {"id": g})
        sub.s.settimeout(75)
        ev = sub.recv()
        late = time.time() - grant["expires_at"]
        assert ev["event"] == "grant.expired" and ev["data"]["grant"] == g, ev
        assert -0.5 < late < 1.0, late
        assert ev["data"]["by"] == "timer", ev
        got = c.ok("gov.grant.get", {"id": g})
        assert got["state"] == "expired", got
        auth = c.ok("gov.authorize", {"identity": "alice", "account": "root@web01"})
        assert auth["reason"] == "grant_expired", auth
        ends = [e for e in c.ok("audit.export", {"limit": 10000})["entries"]
                if (e.get("detail") or {}).get("grant") == g and
                e["detail"].get("change", "").startswith("grant.")]
        assert [e["detail"]["change"] for e in ends] == ["grant.create", "grant.expire"], ends
        assert ends[-1]["principal"] == "timer" and ends[-1]["detail"]["by"] == "timer", ends
        c.close()
        sub.close()
    finally:
        v.cleanup()


def test_timer_loaded_at_unseal_expires_grant_at_its_time():
    """The deadlines are loaded at unseal: a grant whose end was moved 3 s ahead in data.mdb
    (vaultd stopped) is expired by the timer at that second, with its event and audit entry."""
    v = Vault().setup(PASS)
    try:
        c = world(v)
        req = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                          "duration": 3600, "reason": "restart test"})
        g = c.ok("gov.grant.get", {"id": c.ok("gov.request.approve",
                                                {"as": "bob", "id": req["id"]})["grant"]})
        c.close()
        v.cli("vault", "seal")
        v.stop()
        soon = int(time.time()) + 3
        v.patch_data(b'"expires_at":%d' % g["expires_at"], b'"expires_at":%d' % soon)
        v.start()
        v.cli("vault", "unseal", input=PASS + b"\n")
        c = v.connect()
        sub = v.connect()
        sub.ok("events.subscribe", {"types": ["grant.expired"]})
        assert c.ok("gov.grant.get", {"id": g["id"]})["state"] == "active"
        auth = c.ok("gov.authorize", {"identity": "alice", "account": "root@web01"})
        assert auth["allow"] is True and auth["expires_at"] == soon, auth
        sub.s.settimeout(10)
        ev = sub.recv()
        late = time.time() - soon
        assert ev["event"] == "grant.expired" and ev["data"]["grant"] == g["id"], ev
        assert ev["data"]["by"] == "timer" and -0.5 < late < 1.0, (ev, late)
        assert c.ok("gov.grant.get", {"id": g["id"]})["state"] == "expired"
        auth = c.ok("gov.authorize", {"identity": "alice", "account": "root@web01"})
        assert auth["allow"] is False and auth["reason"] == "grant_expired", auth
        exp = [e for e in c.ok("audit.export", {"limit": 10000})["entries"]
               if (e.get("detail") or {}).get("change") == "grant.expire"]
        assert len(exp) == 1 and exp[0]["detail"]["grant"] == g["id"], exp
        c.close()
        sub.close()
    finally:
        v.cleanup()


def test_request_not_decided_in_time_expires_and_cannot_be_approved():
    """A pending request expires at decide_by (24 h after creation): the deadline is moved
    into the past in data.mdb while vaultd is stopped, so the timer loaded at unseal expires
    it at once."""
    v = Vault().setup(PASS)
    try:
        c = world(v)
        req = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                          "duration": 600, "reason": "nobody answers"})
        assert req["decide_by"] - req["created_at"] == 86400, req
        c.close()
        v.cli("vault", "seal")
        v.stop()
        past = int(time.time()) - 10
        v.patch_data(b'"decide_by":%d' % req["decide_by"], b'"decide_by":%d' % past)
        v.start()
        v.cli("vault", "unseal", input=PASS + b"\n")
        c = v.connect()
        deadline = time.time() + 5
        while time.time() < deadline:
            q = c.ok("gov.request.get", {"id": req["id"]})
            if q["state"] != "pending":
                break
            time.sleep(0.05)
        assert q["state"] == "expired" and q["decided_at"] and q["grant"] is None, q
        # Refused by the decider itself (issue 9), with the reason and the deadline.
        e = c.call("gov.request.approve", {"as": "bob", "id": req["id"]})["error"]
        assert e["code"] == "bad_state" and e["reason"] == "request_expired", e
        assert e["request"] == req["id"] and e["decide_by"] == past, e
        assert c.ok("gov.grant.list", {"identity": "alice"})["grants"] == []
        exp = [e for e in c.ok("audit.export", {"limit": 10000})["entries"]
               if (e.get("detail") or {}).get("change") == "request.expire"]
        assert len(exp) == 1 and exp[0]["detail"]["request"] == req["id"], exp
        assert exp[0]["principal"] == "timer", exp
        c.close()
    finally:
        v.cleanup()


def test_two_person_rule_and_reciprocal_approval_refused():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        for ident in ("erin", "frank", "gina"):
            c.ok("gov.identity.create", {"id": ident, "name": ident, "email": ident + "@x.io",
                                         "groups": ["dba"]})
            c.ok("gov.identity.role.assign", {"id": ident, "role": "db-root"})
        r1 = c.ok("gov.request.create", {"as": "erin", "account": "root@db02",
                                         "duration": 600, "reason": "erin needs it"})
        assert sorted(r1["approvers"]) == ["frank", "gina"], r1
        a = c.ok("gov.request.approve", {"as": "frank", "id": r1["id"]})
        assert a["state"] == "pending" and a["grant"] is None  # a second person is needed
        e = c.call("gov.request.approve", {"as": "frank", "id": r1["id"]})["error"]
        assert e == {"code": "denied", "message": "frank already approved request %s; a second "
                     "approver is needed" % r1["id"]}, e
        q = c.ok("gov.request.get", {"id": r1["id"]})
        assert q["state"] == "pending" and [x["by"] for x in q["approvals"]] == ["frank"], q
        # frank files his own; erin (whose request frank approved) may not approve it.
        r2 = c.ok("gov.request.create", {"as": "frank", "account": "root@db02",
                                         "duration": 600, "reason": "frank needs it"})
        e = c.call("gov.request.approve", {"as": "erin", "id": r2["id"]})["error"]
        assert e == {"code": "denied", "message": "frank approved your request %s; two-person "
                     "requests cannot be approved in return" % r1["id"]}, e
        q = c.ok("gov.request.get", {"id": r2["id"]})
        assert q["state"] == "pending" and q["approvals"] == [], q
        assert c.ok("gov.request.approve", {"as": "gina", "id": r1["id"]})["state"] == "approved"
        assert c.ok("gov.grant.list", {"identity": "erin"})["grants"][0]["state"] == "active"
        assert c.ok("gov.grant.list", {"identity": "frank"})["grants"] == []
        c.close()
    finally:
        v.cleanup()


def test_auto_approval_and_no_approval_policy():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        c.ok("gov.auto.create", {"name": "oncall-web", "group": "oncall", "account": "root@web*",
                                 "max_duration": 1800})
        r = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                        "duration": 1200, "reason": "paged at 3am"})
        assert r["state"] == "approved" and r["approvals"][0]["by"] == "auto:oncall-web", r
        # Longer than the auto rule allows: back to the manager.
        r = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                        "duration": 3600, "reason": "long job"})
        assert r["state"] == "pending"
        c.ok("gov.identity.role.assign", {"id": "dave", "role": "quick"})
        r = c.ok("gov.request.create", {"as": "dave", "account": "admin@web01",
                                        "duration": 600, "reason": "quick look"})
        assert r["state"] == "approved", r
        c.close()
    finally:
        v.cleanup()


def test_breakglass_alerts_and_queues_rotation():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        sub = v.connect()
        sub.ok("events.subscribe", {"types": ["alert.breakglass", "rotation.queued"]})
        assert c.err("gov.breakglass", {"as": "alice", "account": "root@web01",
                                        "duration": 600, "reason": ""}) == "invalid"
        g = c.ok("gov.breakglass", {"as": "alice", "account": "root@web01", "duration": 600,
                                    "reason": "site down, manager unreachable"})
        assert g["kind"] == "break-glass" and g["state"] == "active", g
        ev = sub.recv()
        assert ev["event"] == "alert.breakglass" and ev["data"]["identity"] == "alice", ev
        # A post-hoc review item for the use, not for alice herself to decide.
        items = c.ok("gov.review.list", {"campaign": "breakglass"})["items"]
        item = [i for i in items if i["ref"] == g["id"]][0]
        assert item["decision"] == "pending" and item["reviewer"] in ("olivia", "bob"), item
        assert c.err("gov.review.decide", {"as": "alice", "item": item["id"],
                                           "decision": "certify"}) == "denied"
        c.ok("gov.review.decide", {"as": item["reviewer"], "item": item["id"],
                                   "decision": "certify", "comment": "justified"})
        # Not allowed where the entitlement has no break_glass flag.
        c.ok("gov.identity.role.assign", {"id": "dave", "role": "quick"})
        assert c.err("gov.breakglass", {"as": "dave", "account": "admin@web01",
                                        "duration": 600, "reason": "nope nope"}) == "denied"
        c.ok("gov.grant.revoke", {"id": g["id"], "reason": "incident over"})
        ev = sub.recv()
        assert ev["event"] == "rotation.queued" and ev["data"]["account"] == "root@web01", ev
        q = c.ok("rotate.queue.list", {})["queue"]
        assert any(e["account"] == "root@web01" and e["state"] == "queued" for e in q), q
        c.close()
        sub.close()
    finally:
        v.cleanup()


def test_deny_cancel_and_visibility():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        r = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                        "duration": 600, "reason": "to be denied"})
        assert c.err("gov.request.deny", {"as": "bob", "id": r["id"]}) == "invalid"  # comment
        d = c.ok("gov.request.deny", {"as": "bob", "id": r["id"], "comment": "use the runbook"})
        assert d["state"] == "denied" and d["denial"]["by"] == "bob", d
        r2 = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                         "duration": 600, "reason": "to be cancelled"})
        assert c.err("gov.request.cancel", {"as": "carol", "id": r2["id"]}) == "denied"
        assert c.ok("gov.request.cancel", {"as": "alice", "id": r2["id"]})["state"] == "cancelled"
        mine = c.ok("gov.request.list", {"as": "alice", "mine": True})["requests"]
        assert {q["id"] for q in mine} == {r["id"], r2["id"]}
        assert c.err("gov.request.get", {"as": "dave", "id": r["id"]}) == "denied"
        todo = c.ok("gov.me", {"as": "bob"})
        assert todo["requests_to_approve"] == [], todo
        c.close()
    finally:
        v.cleanup()


def test_suspended_identity_loses_grants_and_requests():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        sub = v.connect()
        sub.ok("events.subscribe", {})
        r = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                        "duration": 600, "reason": "before suspension"})
        c.ok("gov.request.approve", {"as": "bob", "id": r["id"]})
        c.ok("gov.identity.suspend", {"id": "alice", "reason": "investigation"})
        auth = c.ok("gov.authorize", {"identity": "alice", "account": "root@web01"})
        assert auth["allow"] is False and auth["reason"] == "identity_inactive", auth
        assert c.err("gov.request.create", {"as": "alice", "account": "root@web01",
                                            "duration": 600, "reason": "again"}) == "bad_state"
        seen = set()
        deadline = time.time() + 5
        sub.s.settimeout(5)
        while time.time() < deadline and not {"grant.revoked", "identity.suspended"} <= seen:
            seen.add(sub.recv()["event"])
        assert {"grant.revoked", "identity.suspended"} <= seen, seen
        c.close()
        sub.close()
    finally:
        v.cleanup()


def test_cli_gov_request_flow():
    v = Vault().setup(PASS)
    try:
        world(v).close()
        p = v.cli("--json", "gov", "request", "root@web01", "30m", "fix", "the", "disk",
                  "--as", "alice")
        req = json.loads(p.stdout)
        assert req["state"] == "pending" and req["reason"] == "fix the disk", req
        p = v.cli("gov", "approve", req["id"], "--as", "alice", check=False)
        assert p.returncode == 5, p  # self-approval
        v.cli("gov", "approve", req["id"], "looks", "fine", "--as", "bob")
        out = v.cli("gov", "grants", "--identity", "alice").stdout.decode()
        assert "root@web01" in out and "active" in out, out
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
