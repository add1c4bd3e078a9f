#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Segregation of duties at each place it is checked: role assignment, request creation,
approval, auto-approval, break-glass and authorization (gov.authorize, session.open, a real
ssh through the broker). Each refusal is asserted with its documented reason and the state
it leaves (nothing created or changed); each action is allowed once the rule's owner has
granted an exception."""
import json

from brokerbed import Stack
from harness import Vault, run_tests

PASS = b"pw-for-sod-tests"
RULE = "web-vs-deploy"
HOSTKEY = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"


def world(v):
    """alice (manager bob, group oncall) holds deployer (standing, no access) and may request
    root@web*; the rule deployer vs root@web* belongs to dave."""
    c = v.connect()
    c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "hostkey": HOSTKEY})
    c.ok("account.create", {"id": "root@web01", "kind": "password"})
    c.ok("secret.put", {"account": "root@web01", "value": "sod-test-root-pw"})
    for ident, mgr, groups in (("bob", None, []), ("dave", None, []),
                               ("alice", "bob", ["oncall"])):
        args = {"id": ident, "name": ident.title(), "email": ident + "@example.com",
                "groups": groups}
        if mgr:
            args["manager"] = mgr
        c.ok("gov.identity.create", args)
    c.ok("gov.role.create", {"name": "web-root", "kind": "requestable", "entitlements": [
        {"account": "root@web*", "max_duration": 7200,
         "approval": {"by": "manager", "count": 1}, "break_glass": True}]})
    c.ok("gov.role.create", {"name": "deployer", "kind": "standing", "entitlements": []})
    c.ok("gov.role.create", {"name": "auditor", "kind": "standing", "entitlements": []})
    c.ok("gov.identity.role.assign", {"id": "alice", "role": "web-root"})
    c.ok("gov.identity.role.assign", {"id": "alice", "role": "deployer"})
    return c


def rule(c, a="role:deployer", b="account:root@web*"):
    return c.ok("gov.sod.create", {"name": RULE, "a": a, "b": b, "severity": "high",
                                   "owner": "dave"})


def exception(c, ident="alice"):
    x = c.ok("gov.sod.exception.create", {"as": "dave", "rule": RULE, "identity": ident,
                                          "reason": "migration cover", "duration": 86400})
    assert x["rule"] == RULE and x["identity"] == ident and x["approved_by"] == "dave", x
    return x


def sod_refused(e):
    """The documented refusal: code denied, reason sod_violation naming the rule, and a
    message naming the rule and its owner."""
    assert e["code"] == "denied", e
    assert e.get("reason") == "sod_violation" and e.get("rule") == RULE, e
    assert e["message"].startswith("sod_violation: rule %s (high)" % RULE), e
    assert "owner dave may grant an exception" in e["message"], e


def error(c, op, args):
    ans = c.call(op, args)
    assert "error" in ans, "%s should fail -> %s" % (op, ans)
    return ans["error"]


def changes(c, change):
    return [e for e in c.ok("audit.export", {"limit": 10000})["entries"]
            if (e.get("detail") or {}).get("change") == change]


def test_role_assignment():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        rule(c, b="role:auditor")
        sod_refused(error(c, "gov.identity.role.assign", {"id": "alice", "role": "auditor"}))
        roles = [r["role"] for r in c.ok("gov.identity.get", {"id": "alice"})["roles"]]
        assert "auditor" not in roles, roles
        assert not [e for e in changes(c, "role.assign") if e["detail"]["role"] == "auditor"]
        exception(c)
        c.ok("gov.identity.role.assign", {"id": "alice", "role": "auditor"})
        roles = [r["role"] for r in c.ok("gov.identity.get", {"id": "alice"})["roles"]]
        assert "auditor" in roles and "deployer" in roles, roles
        c.close()
    finally:
        v.cleanup()


def test_request_creation():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        rule(c)
        sod_refused(error(c, "gov.request.create", {"as": "alice", "account": "root@web01",
                                                    "duration": 600, "reason": "fix the disk"}))
        assert c.ok("gov.request.list", {})["requests"] == []
        assert changes(c, "request.create") == []
        exception(c)
        r = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                        "duration": 600, "reason": "fix the disk"})
        assert r["state"] == "pending" and r["approvers"] == ["bob"], r
        c.close()
    finally:
        v.cleanup()


def test_approval():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        r = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                        "duration": 600, "reason": "before the rule"})
        rule(c)  # the rule comes while the request waits: the approval is checked again
        sod_refused(error(c, "gov.request.approve", {"as": "bob", "id": r["id"]}))
        q = c.ok("gov.request.get", {"id": r["id"]})
        assert q["state"] == "pending" and q["approvals"] == [] and q["grant"] is None, q
        assert c.ok("gov.grant.list", {"identity": "alice"})["grants"] == []
        exception(c)
        q = c.ok("gov.request.approve", {"as": "bob", "id": r["id"]})
        assert q["state"] == "approved" and q["grant"], q
        assert c.ok("gov.grant.get", {"id": q["grant"]})["state"] == "active"
        c.close()
    finally:
        v.cleanup()


def test_auto_approval():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        c.ok("gov.auto.create", {"name": "oncall-web", "group": "oncall", "account": "root@web*",
                                 "max_duration": 1800})
        rule(c)
        sod_refused(error(c, "gov.request.create", {"as": "alice", "account": "root@web01",
                                                    "duration": 600, "reason": "paged at 3am"}))
        assert c.ok("gov.request.list", {})["requests"] == []
        assert c.ok("gov.grant.list", {"identity": "alice"})["grants"] == []
        exception(c)
        r = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                        "duration": 600, "reason": "paged at 3am"})
        assert r["state"] == "approved" and r["approvals"][0]["by"] == "auto:oncall-web", r
        assert c.ok("gov.grant.get", {"id": r["grant"]})["state"] == "active"
        c.close()
    finally:
        v.cleanup()


def test_break_glass():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        sub = v.connect()
        sub.ok("events.subscribe", {"types": ["alert.breakglass", "request.created"]})
        rule(c)
        sod_refused(error(c, "gov.breakglass", {"as": "alice", "account": "root@web01",
                                                "duration": 600, "reason": "site down"}))
        assert c.ok("gov.grant.list", {"identity": "alice"})["grants"] == []
        assert changes(c, "breakglass") == []
        # No alert went out: the next event is the one of a later, harmless action.
        c.ok("gov.identity.create", {"id": "erin", "name": "Erin", "email": "erin@example.com",
                                     "manager": "bob"})
        c.ok("gov.identity.role.assign", {"id": "erin", "role": "web-root"})
        c.ok("gov.request.create", {"as": "erin", "account": "root@web01", "duration": 600,
                                    "reason": "marker"})
        ev = sub.recv()
        assert ev["event"] == "request.created" and ev["data"]["requester"] == "erin", ev
        exception(c)
        g = c.ok("gov.breakglass", {"as": "alice", "account": "root@web01", "duration": 600,
                                    "reason": "site down"})
        assert g["kind"] == "break-glass" and g["state"] == "active", g
        ev = sub.recv()
        assert ev["event"] == "alert.breakglass" and ev["data"]["grant"] == g["id"], ev
        c.close()
        sub.close()
    finally:
        v.cleanup()


def test_authorization_and_session_open():
    v = Vault().setup(PASS)
    try:
        c = world(v)
        r = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                        "duration": 600, "reason": "before the rule"})
        gid = c.ok("gov.request.approve", {"as": "bob", "id": r["id"]})["grant"]
        rule(c)  # a standing violation now: deployer and a live grant on root@web01
        msg = "segregation-of-duties rule %s is violated; its owner must grant an exception" \
            % RULE
        auth = c.ok("gov.authorize", {"identity": "alice", "account": "root@web01"})
        assert auth == {"allow": False, "identity": "alice", "reason": "sod_exception_needed",
                        "message": msg}, auth
        d = c.ok("session.open", {"fp": "SHA256:none", "account": "root@web01"})
        assert d["allow"] is False and d["reason"] == "unknown_key", d
        pub = world_key(v, c)
        d = c.ok("session.open", {"fp": pub, "account": "root@web01", "broker": "b1"})
        assert d == {"allow": False, "identity": "alice", "reason": "sod_exception_needed",
                     "message": msg}, d
        assert c.ok("session.list", {})["sessions"] == []
        refused = [e for e in c.ok("audit.export", {"limit": 10000})["entries"]
                   if e["op"] == "session.open" and e["result"] == "refused"]
        assert refused[-1]["detail"]["reason"] == "sod_exception_needed", refused
        rep = c.ok("gov.sod.report", {})["violations"]
        assert rep == [{"identity": "alice", "rule": RULE, "severity": "high", "owner": "dave",
                        "exception": None}], rep
        x = exception(c)
        auth = c.ok("gov.authorize", {"identity": "alice", "account": "root@web01"})
        assert auth["allow"] is True and auth["grant"] == gid, auth
        d = c.ok("session.open", {"fp": pub, "account": "root@web01", "broker": "b1"})
        assert d["allow"] is True and d["credential"]["value"] == "sod-test-root-pw", d
        assert c.ok("gov.sod.report", {})["violations"][0]["exception"] == x["id"]
        c.close()
    finally:
        v.cleanup()


def world_key(v, c):
    from testbed import ssh_client_key
    _, pub, fp = ssh_client_key(v.tmp, name="id_alice")
    c.ok("gov.identity.key.add", {"id": "alice", "key": pub})
    return fp


def test_exception_expires():
    """An exception counts only until it expires: then the same access is refused again."""
    import time
    v = Vault().setup(PASS)
    try:
        c = world(v)
        r = c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                        "duration": 600, "reason": "before the rule"})
        c.ok("gov.request.approve", {"as": "bob", "id": r["id"]})
        rule(c)
        x = c.ok("gov.sod.exception.create", {"as": "dave", "rule": RULE, "identity": "alice",
                                              "reason": "two seconds", "duration": 2})
        auth = c.ok("gov.authorize", {"identity": "alice", "account": "root@web01"})
        assert auth["allow"] is True, auth
        while time.time() < x["expires_at"] + 0.2:
            time.sleep(0.1)
        auth = c.ok("gov.authorize", {"identity": "alice", "account": "root@web01"})
        assert auth["allow"] is False and auth["reason"] == "sod_exception_needed", auth
        live = c.ok("gov.sod.exception.list", {"identity": "alice"})["exceptions"]
        assert [e["live"] for e in live] == [False], live
        c.close()
    finally:
        v.cleanup()


def test_through_the_broker():
    """The same checks reached with the real OpenSSH client: a session (sod_exception_needed
    at session.open), a self-service request and a self-service approval (sod_violation),
    each allowed once dave's exception exists."""
    st = Stack()
    try:
        from testbed import ssh_client_key
        key, pub, _ = ssh_client_key(st.vault.tmp, name="id_bob")
        st.c.ok("gov.identity.key.add", {"id": "bob", "key": pub})
        st.keys["bob"] = key
        for ident in ("dave",):
            st.c.ok("gov.identity.create", {"id": ident, "name": ident,
                                            "email": ident + "@example.com"})
        st.c.ok("gov.role.create", {"name": "deployer", "kind": "standing",
                                    "entitlements": []})
        st.c.ok("gov.identity.role.assign", {"id": "alice", "role": "deployer"})
        gid = st.grant()
        pending = st.c.ok("gov.request.create", {"as": "alice", "account": "root@web01",
                                                 "duration": 600, "reason": "waits"})
        rule(st.c)
        me = lambda cmd, who: st.broker.ssh("custos", cmd, st.keys[who])  # noqa: E731

        p = st.ssh("echo in")
        assert p.returncode == 255 and p.stdout == b"", p
        assert b"segregation-of-duties rule %s is violated" % RULE.encode() in p.stderr, p
        assert st.c.ok("session.list", {"state": "live"})["sessions"] == []
        refused = [json.loads(l) for l in st.vault.cli("audit", "export").stdout.decode()
                   .splitlines() if '"session.open"' in l and '"refused"' in l]
        assert refused[-1]["detail"]["reason"] == "sod_exception_needed", refused[-1]

        p = me("request root@web01 30m another look", "alice")
        assert p.returncode == 1 and b"sod_violation: rule %s" % RULE.encode() in p.stderr, p
        p = me("approve %s ok" % pending["id"], "bob")
        assert p.returncode == 1 and b"sod_violation: rule %s" % RULE.encode() in p.stderr, p
        q = st.c.ok("gov.request.get", {"id": pending["id"]})
        assert q["state"] == "pending" and q["approvals"] == [], q
        assert len(st.c.ok("gov.request.list", {})["requests"]) == 2  # no new one

        exception(st.c)
        p = st.ssh("echo in-$((40+2))")
        assert p.returncode == 0 and p.stdout == b"in-42\n", p
        s = st.c.ok("session.list", {})["sessions"]
        assert [x["grant"] for x in s] == [gid], s
        p = me("request root@web01 30m another look --json", "alice")
        assert p.returncode == 0 and json.loads(p.stdout)["state"] == "pending", p
        p = me("approve %s ok" % pending["id"], "bob")
        assert p.returncode == 0 and b"approved by bob" in p.stdout, p
        assert st.c.ok("gov.request.get", {"id": pending["id"]})["state"] == "approved"
    finally:
        st.cleanup()


if __name__ == "__main__":
    run_tests(globals())
