#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Access reviews: campaigns snapshot what is held, reviewers decide, deadlines and reports."""
import csv
import io
import json
import os
import subprocess
import sys
import time

from harness import Vault, as_user, run_tests

PASS = b"pw-for-review-tests"
AUDITOR = 65534  # principal with the audit scope only
REVIEWER = 65533  # principal with the request scope, bound to identity "bob"



def make_vault(principals=False):
    extra = ""
    extra_vault = ""
    if principals:
        extra_vault = "socket_mode = 0666\n"
        extra = ("[principal auditor]\nuids = %d\nscopes = audit\n\n"
                 "[principal bobdesk]\nuids = %d\nscopes = request\nidentity = bob\n"
                 % (AUDITOR, REVIEWER))
    v = Vault(extra_vault=extra_vault, extra=extra)
    if principals:
        os.chmod(v.tmp, 0o755)  # other uids reach the socket; the data dir stays 0700
    return v.setup(PASS)


def ident(c, id, dept, manager=None):
    args = {"id": id, "name": id.capitalize(), "email": id + "@example.com", "department": dept}
    if manager:
        args["manager"] = manager
    return c.ok("gov.identity.create", args)


def build(c):
    """dana <- bob <- {alice, carl} in ops; erin (sec) runs campaigns; tom owns web01; zed in dev.

    sre (standing, root@web*) is held by alice, bob, carl and zed; web-jit (requestable,
    admin@web01, no approval) by alice, who holds a live grant from it.  Returns the grant id.
    """
    c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "owner": "tom"})
    c.ok("target.create", {"name": "web02", "host": "127.0.0.2"})
    c.ok("account.create", {"id": "root@web01", "kind": "password"})
    c.ok("account.create", {"id": "admin@web01", "kind": "password"})
    ident(c, "dana", "ops")
    ident(c, "bob", "ops", "dana")
    ident(c, "alice", "ops", "bob")
    ident(c, "carl", "ops", "bob")
    ident(c, "erin", "sec")
    ident(c, "tom", "infra")
    ident(c, "zed", "dev", "dana")
    c.ok("gov.role.create", {"name": "sre", "kind": "standing", "owner": "dana",
                             "entitlements": [{"account": "root@web*", "max_duration": 3600}]})
    c.ok("gov.role.create", {"name": "web-jit", "kind": "requestable",
                             "entitlements": [{"account": "admin@web01", "max_duration": 3600,
                                               "approval": {"by": "none"}}]})
    for who, role in [("alice", "sre"), ("alice", "web-jit"), ("bob", "sre"), ("carl", "sre"),
                      ("zed", "sre")]:
        c.ok("gov.identity.role.assign", {"id": who, "role": role})
    req = c.ok("gov.request.create", {"account": "admin@web01", "duration": 1800,
                                      "reason": "INC-1 disk full", "as": "alice"})
    assert req["state"] == "approved" and req["grant"], req
    c.ok("gov.evidence", {"identity": "alice", "account": "root@web01", "kind": "session",
                          "at": 1700000000})
    return req["grant"]


def by_key(items):
    return {(i["identity"], i["kind"], i["ref"]): i for i in items}


def roles_of(c, who):
    return [r["role"] for r in c.ok("gov.identity.get", {"id": who})["roles"]]


def test_campaign_snapshot_and_reviewers():
    v = make_vault()
    try:
        c = v.connect()
        grant = build(c)
        camp = c.ok("gov.campaign.create", {"name": "Q3 ops review",
                                            "scope": {"kind": "department", "value": "ops"},
                                            "duration": 3600, "as": "erin"})
        assert camp["id"].startswith("c-") and camp["state"] == "open", camp
        assert camp["created_by"] == "erin" and camp["on_deadline"] == "escalate", camp
        assert camp["items"] == 5, camp
        items = c.ok("gov.review.list", {"campaign": camp["id"]})["items"]
        k = by_key(items)
        assert set(k) == {("alice", "role", "sre"), ("alice", "role", "web-jit"),
                          ("bob", "role", "sre"), ("carl", "role", "sre"),
                          ("alice", "grant", grant)}, sorted(k)
        assert k[("alice", "role", "sre")]["reviewer"] == "bob"
        assert k[("bob", "role", "sre")]["reviewer"] == "dana"
        assert k[("alice", "grant", grant)]["reviewer"] == "tom"  # the target owner
        assert k[("alice", "grant", grant)]["account"] == "admin@web01"
        assert k[("alice", "role", "sre")]["account"] is None
        assert k[("alice", "role", "sre")]["evidence"]["last_session"] == 1700000000
        assert k[("carl", "role", "sre")]["evidence"]["last_session"] is None
        assert all(i["decision"] == "pending" and i["id"].startswith(camp["id"] + "/i-")
                   for i in items), items
        # Each reviewer sees their own items only.
        mine = c.ok("gov.review.list", {"as": "bob"})["items"]
        assert sorted((i["identity"], i["ref"]) for i in mine) == \
            [("alice", "sre"), ("alice", "web-jit"), ("carl", "sre")], mine
        assert [i["identity"] for i in c.ok("gov.review.list", {"as": "dana"})["items"]] == ["bob"]
        assert c.ok("gov.review.list", {"as": "carl"})["items"] == []
        got = c.ok("gov.campaign.get", {"id": camp["id"]})
        assert got["totals"] == {"pending": 5, "certified": 0, "revoked": 0, "escalated": 0}, got
        assert [x["id"] for x in c.ok("gov.campaign.list")["campaigns"]] == [camp["id"]]
        # Other scopes: a target with no accounts covers nothing.
        t = c.ok("gov.campaign.create", {"name": "web02", "duration": 60,
                                         "scope": {"kind": "target", "value": "web02"}})
        assert t["items"] == 0 and t["created_by"] == "self", t
        c.ok("account.create", {"id": "deploy@web02", "kind": "password"})
        c.ok("gov.role.create", {"name": "deployer", "kind": "standing",
                                 "entitlements": [{"account": "deploy@web02"}]})
        c.ok("gov.identity.role.assign", {"id": "carl", "role": "deployer"})
        t = c.ok("gov.campaign.create", {"name": "web02", "duration": 60,
                                         "scope": {"kind": "target", "value": "web02"}})
        assert t["items"] == 1, t
        [only] = c.ok("gov.review.list", {"campaign": t["id"]})["items"]
        assert (only["identity"], only["ref"]) == ("carl", "deployer"), only
        # root@web01 (sre x4), admin@web01 (web-jit, the grant); not deploy@web02.
        p = c.ok("gov.campaign.create", {"name": "priv", "duration": 60,
                                         "scope": {"kind": "privileged"}})
        assert p["items"] == 6, p
        t = c.ok("gov.campaign.create", {"name": "web01", "duration": 60,
                                         "scope": {"kind": "target", "value": "web01"}})
        assert t["items"] == 6, t
        assert len(c.ok("gov.campaign.list")["campaigns"]) == 5
        # Validation.
        for bad in [{"name": "x", "scope": {"kind": "planet"}},
                    {"name": "x", "scope": {"kind": "department"}},
                    {"name": "x", "scope": {"kind": "all", "value": "ops"}},
                    {"name": "", "scope": {"kind": "all"}},
                    {"name": "x", "scope": {"kind": "all"}, "on_deadline": "shrug"},
                    {"name": "x", "scope": {"kind": "all"}, "deadline": 5, "duration": 5},
                    {"name": "x", "scope": {"kind": "all"}, "duration": -1}]:
            assert c.err("gov.campaign.create", bad) == "invalid", bad
        assert c.err("gov.campaign.create", {"name": "x", "scope": {"kind": "target",
                                                                   "value": "nope"}}) == \
            "not_found"
        assert c.err("gov.campaign.get", {"id": "c-999"}) == "not_found"
    finally:
        v.cleanup()


def test_decisions_certify_revoke_and_refusals():
    v = make_vault()
    try:
        c = v.connect()
        grant = build(c)
        ev = v.connect()
        ev.ok("events.subscribe", {"types": ["review.revoked"]})
        camp = c.ok("gov.campaign.create", {"name": "Q3", "duration": 3600, "as": "erin",
                                            "scope": {"kind": "department", "value": "ops"}})
        k = by_key(c.ok("gov.review.list", {"campaign": camp["id"]})["items"])
        a_sre = k[("alice", "role", "sre")]["id"]
        c_sre = k[("carl", "role", "sre")]["id"]
        a_grant = k[("alice", "grant", grant)]["id"]

        # Only the reviewer decides; nobody reviews their own access: each refusal with its
        # reason, and the item stays undecided.
        for who in ("carl", "alice"):
            e = c.call("gov.review.decide", {"item": a_sre, "decision": "certify",
                                             "as": who})["error"]
            assert e == {"code": "denied", "message": "item %s is not assigned to %s"
                         % (a_sre, who)}, e
        assert c.err("gov.review.decide", {"item": a_sre, "decision": "certify"}) == "denied"
        item = [i for i in c.ok("gov.review.list", {"campaign": camp["id"]})["items"]
                if i["id"] == a_sre][0]
        assert item["decision"] == "pending" and item.get("decided_by") is None, item
        assert c.err("gov.review.decide", {"item": a_sre, "decision": "maybe",
                                           "as": "bob"}) == "invalid"
        assert c.err("gov.review.decide", {"item": c_sre, "decision": "revoke",
                                           "as": "bob"}) == "invalid"  # comment required
        assert c.err("gov.review.decide", {"item": camp["id"] + "/i-99", "decision": "certify",
                                           "as": "bob"}) == "not_found"

        it = c.ok("gov.review.decide", {"item": a_sre, "decision": "certify", "as": "bob",
                                        "comment": "on call"})
        assert it["decision"] == "certified" and it["decided_by"] == "bob", it
        assert it["comment"] == "on call" and isinstance(it["decided_at"], int), it
        assert c.err("gov.review.decide", {"item": a_sre, "decision": "revoke", "as": "bob",
                                           "comment": "changed my mind"}) == "bad_state"
        assert "sre" in roles_of(c, "alice")

        # Revoking a standing role takes the access away at once.
        allow = c.ok("gov.authorize", {"identity": "carl", "account": "root@web01"})
        assert allow["allow"] is True and allow["via"] == "standing", allow
        it = c.ok("gov.review.decide", {"item": c_sre, "decision": "revoke", "as": "bob",
                                        "comment": 'moved to "dev", no longer on call'})
        assert it["decision"] == "revoked", it
        assert "sre" not in roles_of(c, "carl")
        deny = c.ok("gov.authorize", {"identity": "carl", "account": "root@web01"})
        assert deny["allow"] is False, deny
        e = ev.recv()
        assert e["event"] == "review.revoked", e
        assert e["data"]["item"] == c_sre and e["data"]["identity"] == "carl", e
        assert e["data"]["kind"] == "role" and e["data"]["ref"] == "sre", e

        # Revoking a grant ends it, by the reviewer, with the campaign in the reason.
        assert c.ok("gov.authorize", {"identity": "alice", "account": "admin@web01"})["allow"]
        c.ok("gov.review.decide", {"item": a_grant, "decision": "revoke", "as": "tom",
                                   "comment": "incident over"})
        g = c.ok("gov.grant.get", {"id": grant})
        assert g["state"] == "revoked" and g["ended_by"] == "tom", g
        assert camp["id"] in g["end_reason"] and "incident over" in g["end_reason"], g
        assert c.ok("gov.authorize", {"identity": "alice",
                                      "account": "admin@web01"})["allow"] is False
        e = ev.recv()
        assert e["event"] == "review.revoked" and e["data"]["kind"] == "grant", e
        assert e["data"]["ref"] == grant, e

        got = c.ok("gov.campaign.get", {"id": camp["id"]})
        assert got["totals"] == {"pending": 2, "certified": 1, "revoked": 2, "escalated": 0}, got

        # Every decision is in the audit log.
        entries = c.ok("audit.export", {"limit": 10000})["entries"]
        decided = [x for x in entries if x["op"] == "gov.review.decide"
                   and (x.get("detail") or {}).get("change") == "review.decide"]
        assert sorted(x["object"] for x in decided) == sorted([a_sre, c_sre, a_grant]), decided

        # Closing now: pending items follow on_deadline (escalate by default).
        closed = c.ok("gov.campaign.close", {"id": camp["id"], "as": "erin"})
        assert closed["state"] == "closed" and closed["closed_at"], closed
        assert closed["totals"] == {"pending": 0, "certified": 1, "revoked": 2,
                                    "escalated": 2}, closed
        k = by_key(c.ok("gov.review.list", {"campaign": camp["id"]})["items"])
        jit = k[("alice", "role", "web-jit")]
        assert jit["reviewer"] == "dana" and jit["escalated_from"] == "bob", jit  # bob's manager
        top = k[("bob", "role", "sre")]
        assert top["reviewer"] == "erin" and top["escalated_from"] == "dana", top  # the creator
        assert c.err("gov.campaign.close", {"id": camp["id"]}) == "bad_state"
        # The new reviewer decides an escalated item; the old one no longer can.
        assert c.err("gov.review.decide", {"item": jit["id"], "decision": "certify",
                                           "as": "bob"}) == "denied"
        it = c.ok("gov.review.decide", {"item": jit["id"], "decision": "certify", "as": "dana"})
        assert it["decision"] == "certified" and it["comment"] is None, it
    finally:
        v.cleanup()


def test_deadline_revokes_through_the_timer():
    v = make_vault()
    try:
        c = v.connect()
        grant = build(c)
        esc = c.ok("gov.campaign.create", {"name": "late", "as": "erin",
                                           "scope": {"kind": "department", "value": "ops"},
                                           "deadline": int(time.time()) - 10})
        camp = c.ok("gov.campaign.create", {"name": "overdue", "scope": {"kind": "all"},
                                            "deadline": int(time.time()) - 10,
                                            "on_deadline": "revoke"})
        assert camp["items"] == 6, camp  # 4 x sre, web-jit, the grant
        t0 = time.time()
        while time.time() < t0 + 5:
            got = c.ok("gov.campaign.get", {"id": camp["id"]})
            if got["state"] == "closed":
                break
            time.sleep(0.1)
        assert got["state"] == "closed" and got["closed_by"] == "deadline", got
        assert time.time() - t0 < 2.5, time.time() - t0
        # The escalating one closed too: every pending item went one level up.
        late = c.ok("gov.campaign.get", {"id": esc["id"]})
        assert late["state"] == "closed" and late["totals"]["escalated"] == 5, late
        k = by_key(c.ok("gov.review.list", {"campaign": esc["id"]})["items"])
        assert k[("carl", "role", "sre")]["reviewer"] == "dana", k  # bob's manager
        assert k[("bob", "role", "sre")]["reviewer"] == "erin", k  # dana has none: the creator
        g = k[("alice", "grant", grant)]
        assert g["escalated_from"] == "tom" and g["reviewer"] == "erin", g
        assert got["totals"] == {"pending": 0, "certified": 0, "revoked": 6, "escalated": 0}, got
        for who in ["alice", "bob", "carl", "zed"]:
            assert roles_of(c, who) == [], who
        items = c.ok("gov.review.list", {"campaign": camp["id"]})["items"]
        assert all(i["decided_by"] == "deadline" for i in items), items
        grants = c.ok("gov.grant.list", {"identity": "alice"})["grants"]
        assert all(g["state"] == "revoked" for g in grants) and grants, grants
        assert c.ok("gov.authorize", {"identity": "zed", "account": "root@web01"})["allow"] is False
        # Still closed after a restart (the timer does not fire twice or reopen it).
        v.stop()
        v.start()
        v.cli("vault", "unseal", input=PASS + b"\n")
        c = v.connect()
        again = c.ok("gov.campaign.get", {"id": camp["id"]})
        assert again["closed_at"] == got["closed_at"] and again["totals"] == got["totals"], again
    finally:
        v.cleanup()


def test_report_json_and_csv():
    v = make_vault()
    try:
        c = v.connect()
        build(c)
        camp = c.ok("gov.campaign.create", {"name": "Q3", "duration": 3600, "as": "erin",
                                            "scope": {"kind": "department", "value": "ops"}})
        k = by_key(c.ok("gov.review.list", {"campaign": camp["id"]})["items"])
        c.ok("gov.review.decide", {"item": k[("carl", "role", "sre")]["id"], "as": "bob",
                                   "decision": "revoke",
                                   "comment": 'left "ops", see HR-12\nsecond line'})
        c.ok("gov.review.decide", {"item": k[("alice", "role", "sre")]["id"], "as": "bob",
                                   "decision": "certify", "comment": "=cmd|' /C calc'!A0"})
        rep = c.ok("gov.campaign.report", {"id": camp["id"]})
        assert rep["campaign"]["id"] == camp["id"], rep
        assert rep["totals"] == {"pending": 3, "certified": 1, "revoked": 1, "escalated": 0}, rep
        assert len(rep["items"]) == 5
        for it in rep["items"]:
            for f in ["identity", "kind", "ref", "account", "reviewer", "decision", "comment",
                      "decided_by", "decided_at", "evidence"]:
                assert f in it, (f, it)
        assert [int(i["id"].rsplit("-", 1)[1]) for i in rep["items"]] == [1, 2, 3, 4, 5]
        text = c.ok("gov.campaign.report", {"id": camp["id"], "format": "csv"})["csv"]
        assert text.startswith("item,identity,kind,ref,account,reviewer,decision,comment,"
                               "decided_by,decided_at,"), text
        assert text.endswith("\r\n") and text.split("\n", 1)[0].endswith("\r"), text
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert len(rows) == 6 and all(len(r) == len(rows[0]) for r in rows), rows
        col = {n: i for i, n in enumerate(rows[0])}
        by_id = {r[col["item"]]: r for r in rows[1:]}
        carl = by_id[k[("carl", "role", "sre")]["id"]]
        assert carl[col["comment"]] == 'left "ops", see HR-12\nsecond line', carl
        assert carl[col["decision"]] == "revoked" and carl[col["decided_by"]] == "bob", carl
        alice = by_id[k[("alice", "role", "sre")]["id"]]
        assert alice[col["comment"]] == "'=cmd|' /C calc'!A0", alice  # not a formula
        assert alice[col["last_session"]] == "1700000000", alice
        assert '"left ""ops"", see HR-12\nsecond line"' in text
        assert c.err("gov.campaign.report", {"id": camp["id"], "format": "xml"}) == "invalid"
        assert c.err("gov.campaign.report", {"id": "c-404"}) == "not_found"
    finally:
        v.cleanup()


def test_scopes_of_review_ops():
    v = make_vault(principals=True)
    try:
        c = v.connect()
        build(c)
        camp = c.ok("gov.campaign.create", {"name": "Q3", "duration": 3600,
                                            "scope": {"kind": "department", "value": "ops"}})
        k = by_key(c.ok("gov.review.list", {"campaign": camp["id"]})["items"])
        ans = as_user(v, AUDITOR, [
            ["gov.campaign.report", {"id": camp["id"]}],
            ["gov.campaign.report", {"id": camp["id"], "format": "csv"}],
            ["gov.campaign.get", {"id": camp["id"]}],
            ["gov.review.list", {}],
            ["gov.review.decide", {"item": k[("carl", "role", "sre")]["id"],
                                   "decision": "certify", "as": "bob"}],
        ])
        assert ans[0]["result"]["totals"]["pending"] == 5, ans[0]
        assert ans[1]["result"]["csv"].startswith("item,"), ans[1]
        for a in ans[2:]:
            assert a["error"]["code"] == "denied", a
        # A principal bound to bob: sees bob's items, decides them, nothing else.
        ans = as_user(v, REVIEWER, [
            ["gov.review.list", {}],
            ["gov.review.decide", {"item": k[("carl", "role", "sre")]["id"],
                                   "decision": "certify"}],
            ["gov.review.decide", {"item": k[("bob", "role", "sre")]["id"],
                                   "decision": "certify"}],
            ["gov.review.list", {"as": "dana"}],
            ["gov.campaign.report", {"id": camp["id"]}],
            ["gov.campaign.close", {"id": camp["id"]}],
        ])
        assert sorted(i["identity"] for i in ans[0]["result"]["items"]) == \
            ["alice", "alice", "carl"], ans[0]
        assert ans[1]["result"]["decision"] == "certified", ans[1]
        for a in ans[2:]:
            assert a["error"]["code"] == "denied", a
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
