#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Governance administration: identities, keys, TOTP, roles, rules, SoD, HR sync, history."""
import json
import subprocess
import time

from harness import Vault, run_tests

PASS = b"pw-for-gov-admin-tests"


def ident(c, id, manager=None, **kw):
    args = {"id": id, "name": id.title(), "email": id + "@example.com"}
    if manager:
        args["manager"] = manager
    args.update(kw)
    return c.ok("gov.identity.create", args)


def roles_of(identity):
    return {a["role"]: a["source"] for a in identity["roles"]}


def make_key(tmp, name):
    path = "%s/%s_key" % (tmp, name)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name + "@laptop", "-f",
                    path], check=True)
    pub = open(path + ".pub").read().strip()
    fp = subprocess.run(["ssh-keygen", "-lf", path + ".pub"], capture_output=True,
                        check=True).stdout.decode().split()[1]
    return pub, fp


def audit(c):
    return c.ok("audit.export", {"limit": 10000})["entries"]


def error(c, op, args):
    ans = c.call(op, args)
    assert "error" in ans, "%s should fail -> %s" % (op, ans)
    return ans["error"]


def test_identity_crud_and_lifecycle():
    v = Vault().setup(PASS)
    try:
        c = v.connect()
        bob = ident(c, "bob", department="ops")
        assert bob["state"] == "active" and bob["source"] == "api" and bob["roles"] == []
        assert [e["state"] for e in bob["lifecycle"]] == ["active"]
        alice = ident(c, "alice", "bob", department="ops", title="SRE", groups=["oncall"],
                      state="pending")
        assert alice["state"] == "pending" and alice["manager"] == "bob", alice
        assert alice["groups"] == ["oncall"] and alice["keys"] == [] and alice["totp"] is False
        # Validation: every bad argument is "invalid", with a sentence.
        bad = [
            {"id": "-x", "name": "X", "email": "x@example.com"},
            {"id": "x", "name": "X", "email": "not-an-email"},
            {"id": "x", "email": "x@example.com"},
            {"id": "x", "name": "X", "email": "x@example.com", "state": "left"},
            {"id": "x", "name": "X", "email": "x@example.com", "groups": "oncall"},
            {"id": "x", "name": "X", "email": "x@example.com", "manager": "x"},
            {"id": "x", "name": "", "email": "x@example.com"},
            {"id": "x", "name": "X", "email": "x@example.com", "manger": "bob"},
        ]
        for args in bad:
            e = error(c, "gov.identity.create", args)
            assert e["code"] == "invalid" and e["message"], (args, e)
        e = error(c, "gov.identity.create", {"id": "x", "name": "X", "email": "x@example.com",
                                             "manager": "nobody"})
        assert e["code"] == "not_found" and "nobody" in e["message"], e
        assert c.err("gov.identity.create", {"id": "bob", "name": "B",
                                             "email": "b@example.com"}) == "exists"
        e = error(c, "gov.identity.get", {"id": "zed"})
        assert e["code"] == "not_found" and e["message"] == "identity zed not found", e
        # A cycle of managers is refused.
        e = error(c, "gov.identity.update", {"id": "bob", "manager": "alice"})
        assert e["code"] == "invalid" and "cycle" in e["message"], e
        # Update and list.
        alice = c.ok("gov.identity.update", {"id": "alice", "title": "Senior SRE"})
        assert alice["title"] == "Senior SRE" and alice["department"] == "ops"
        got = c.ok("gov.identity.get", {"id": "alice"})
        assert got["title"] == "Senior SRE"
        ids = [i["id"] for i in c.ok("gov.identity.list", {"department": "ops"})["identities"]]
        assert sorted(ids) == ["alice", "bob"], ids
        ids = [i["id"] for i in c.ok("gov.identity.list", {"state": "pending"})["identities"]]
        assert ids == ["alice"], ids
        assert c.err("gov.identity.list", {"state": "gone"}) == "invalid"
        assert c.err("gov.identity.update", {"id": "alice", "state": "active"}) == "invalid"
        # pending -> active -> suspended -> active; suspend needs a reason.
        assert c.ok("gov.identity.activate", {"id": "alice"})["state"] == "active"
        assert c.err("gov.identity.activate", {"id": "alice"}) == "bad_state"
        assert c.err("gov.identity.suspend", {"id": "alice"}) == "invalid"
        sub = v.connect()
        sub.ok("events.subscribe", {"types": ["identity.suspended", "identity.left"]})
        s = c.ok("gov.identity.suspend", {"id": "alice", "reason": "laptop stolen"})
        assert s["state"] == "suspended"
        ev = sub.recv()
        assert ev["event"] == "identity.suspended", ev
        assert ev["data"] == {"identity": "alice", "reason": "laptop stolen"}, ev
        assert c.ok("gov.identity.activate", {"id": "alice"})["state"] == "active"
        # leave is terminal.
        left = c.ok("gov.identity.leave", {"id": "alice", "reason": "resigned"})
        assert left["state"] == "left" and left["roles"] == []
        ev = sub.recv()
        assert ev["event"] == "identity.left" and ev["data"]["identity"] == "alice", ev
        assert [e["state"] for e in left["lifecycle"]] == [
            "pending", "active", "suspended", "active", "left"], left["lifecycle"]
        for op, args in (("gov.identity.activate", {"id": "alice"}),
                         ("gov.identity.suspend", {"id": "alice", "reason": "x"}),
                         ("gov.identity.leave", {"id": "alice", "reason": "x"}),
                         ("gov.identity.update", {"id": "alice", "title": "x"})):
            assert c.err(op, args) == "bad_state", op
        # An id is never reused.
        assert c.err("gov.identity.create", {"id": "alice", "name": "A",
                                             "email": "a@example.com"}) == "exists"
        # Each change is audited under its op.
        ops = [(e["op"], e.get("object")) for e in audit(c)]
        for op in ("gov.identity.create", "gov.identity.update", "gov.identity.activate",
                   "gov.identity.suspend", "gov.identity.leave"):
            assert (op, "alice") in ops, op
    finally:
        v.cleanup()


def test_keys_add_remove_and_duplicate_fingerprint():
    v = Vault().setup(PASS)
    try:
        c = v.connect()
        ident(c, "alice")
        ident(c, "bob")
        pub, fp = make_key(v.tmp, "alice")
        got = c.ok("gov.identity.key.add", {"id": "alice", "key": pub + "\n"})
        assert got == {"id": "alice", "fp": fp}, got
        keys = c.ok("gov.identity.get", {"id": "alice"})["keys"]
        assert keys == [{"key": pub, "fp": fp}], keys
        # The same key on another identity, or twice on one, is refused.
        e = error(c, "gov.identity.key.add", {"id": "bob", "key": pub})
        assert e["code"] == "exists" and "alice" in e["message"], e
        assert c.err("gov.identity.key.add", {"id": "alice", "key": pub}) == "exists"
        for bad in ("ssh-ed25519", "not a key at all", "ssh-ed25519 AAAA!!!! x", ""):
            assert c.err("gov.identity.key.add", {"id": "bob", "key": bad}) == "invalid", bad
        assert c.err("gov.identity.key.add", {"id": "zed", "key": pub}) == "not_found"
        # Removal frees the fingerprint for someone else.
        assert c.err("gov.identity.key.remove", {"id": "bob", "fp": fp}) == "not_found"
        assert c.err("gov.identity.key.remove", {"id": "bob", "fp": "MD5:xx"}) == "invalid"
        a = c.ok("gov.identity.key.remove", {"id": "alice", "fp": fp})
        assert a["keys"] == []
        assert c.ok("gov.identity.key.add", {"id": "bob", "key": pub})["fp"] == fp
        entries = [e for e in audit(c) if e["op"].startswith("gov.identity.key.")]
        assert [e["detail"]["fp"] for e in entries] == [fp, fp, fp], entries
    finally:
        v.cleanup()


def test_totp_enroll_secret_never_in_audit_or_log():
    v = Vault(extra="[log]\nlevel = debug\n").setup(PASS)
    try:
        c = v.connect()
        ident(c, "alice")
        t = c.ok("gov.identity.totp.enroll", {"id": "alice"})
        secret = t["secret"]
        assert t["id"] == "alice" and len(secret) == 32, t
        assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), secret
        assert t["uri"] == "otpauth://totp/Custos:alice?secret=%s&issuer=Custos" % secret, t
        assert c.ok("gov.identity.get", {"id": "alice"})["totp"] is True
        # Re-enrolment replaces the secret.
        t2 = c.ok("gov.identity.totp.enroll", {"id": "alice"})
        assert t2["secret"] != secret
        assert c.err("gov.identity.totp.enroll", {"id": "zed"}) == "not_found"
        export = json.dumps(audit(c))
        assert "gov.identity.totp.enroll" in export
        c.ok("vault.seal")
        v.stop()
        for s in (secret, t2["secret"]):
            assert s not in export, "TOTP secret in the audit export"
            assert s not in v.logtext(), "TOTP secret in the log"
            assert s.encode() not in open(v.data + "/data.mdb", "rb").read()
    finally:
        v.cleanup()


def test_roles_crud_and_validation():
    v = Vault().setup(PASS)
    try:
        c = v.connect()
        ident(c, "carol")
        role = c.ok("gov.role.create", {"name": "web-root", "description": "root on web",
                                        "owner": "carol", "entitlements": [
                                            {"account": "root@web*", "max_duration": 14400,
                                             "break_glass": True}]})
        ent = role["entitlements"][0]
        assert role["kind"] == "requestable" and ent["approval"] == {"by": "manager", "count": 1}
        assert ent["file_transfer"] is False and ent["break_glass"] is True, role
        bad = [
            {"name": "r1", "kind": "forever", "entitlements": []},
            {"name": "r1", "entitlements": [{"account": "root"}]},
            {"name": "r1", "entitlements": [{"account": "root@web*", "max_duration": 0}]},
            {"name": "r1", "entitlements": [{"account": "root@web*",
                                             "approval": {"by": "manager", "count": 3}}]},
            {"name": "r1", "entitlements": [{"account": "root@web*",
                                             "approval": {"by": "group"}}]},
            {"name": "r1", "entitlements": [], "colour": "blue"},
            {"name": "bad name", "entitlements": []},
            {"name": "r1"},
        ]
        for args in bad:
            e = error(c, "gov.role.create", args)
            assert e["code"] == "invalid" and e["message"], (args, e)
        assert c.err("gov.role.create", {"name": "r1", "owner": "nobody",
                                         "entitlements": []}) == "not_found"
        assert c.err("gov.role.create", {"name": "web-root", "entitlements": []}) == "exists"
        assert c.ok("gov.role.get", {"name": "web-root"})["owner"] == "carol"
        e = error(c, "gov.role.get", {"name": "nope"})
        assert e["code"] == "not_found" and e["message"] == "role nope not found", e
        up = c.ok("gov.role.update", {"name": "web-root", "kind": "standing"})
        assert up["kind"] == "standing" and up["entitlements"][0]["account"] == "root@web*"
        assert c.err("gov.role.update", {"name": "web-root", "kind": "x"}) == "invalid"
        assert c.ok("gov.role.get", {"name": "web-root"})["kind"] == "standing"
        c.ok("gov.role.create", {"name": "dba", "entitlements": []})
        names = [r["name"] for r in c.ok("gov.role.list", {})["roles"]]
        assert names == ["dba", "web-root"], names
        # Refused while held.
        c.ok("gov.identity.role.assign", {"id": "carol", "role": "web-root"})
        e = error(c, "gov.role.delete", {"name": "web-root"})
        assert e["code"] == "bad_state" and "carol" in e["message"], e
        assert c.err("gov.identity.role.assign", {"id": "carol", "role": "nope"}) == "not_found"
        c.ok("gov.identity.role.unassign", {"id": "carol", "role": "web-root"})
        assert c.err("gov.identity.role.unassign", {"id": "carol",
                                                    "role": "web-root"}) == "not_found"
        assert c.ok("gov.role.delete", {"name": "web-root"}) == {"deleted": "web-root"}
        assert c.err("gov.role.get", {"name": "web-root"}) == "not_found"
        assert c.err("gov.role.delete", {"name": "web-root"}) == "not_found"
    finally:
        v.cleanup()


def test_birthright_on_create_and_on_update():
    v = Vault().setup(PASS)
    try:
        c = v.connect()
        c.ok("gov.role.create", {"name": "sre", "entitlements": []})
        c.ok("gov.role.create", {"name": "oncall-base", "entitlements": []})
        c.ok("gov.role.create", {"name": "extra", "entitlements": []})
        c.ok("gov.rule.create", {"name": "ops-sre", "match": {"department": "ops",
                                                               "title": "SRE*"},
                                 "roles": ["sre"]})
        c.ok("gov.rule.create", {"name": "oncall", "match": {"group": "oncall"},
                                 "roles": ["oncall-base"]})
        alice = ident(c, "alice", department="ops", title="SRE II")
        assert roles_of(alice) == {"sre": "rule:ops-sre"}, alice["roles"]
        c.ok("gov.identity.role.assign", {"id": "alice", "role": "extra"})
        # Mover: title and groups change; birthright recomputed, manual role kept.
        alice = c.ok("gov.identity.update", {"id": "alice", "title": "Manager",
                                             "groups": ["oncall"]})
        assert roles_of(alice) == {"extra": "manual", "oncall-base": "rule:oncall"}, alice
        alice = c.ok("gov.identity.update", {"id": "alice", "title": "SRE", "groups": []})
        assert roles_of(alice) == {"extra": "manual", "sre": "rule:ops-sre"}, alice
        assert c.ok("gov.identity.get", {"id": "alice"})["roles"] == alice["roles"]
    finally:
        v.cleanup()


def test_rule_create_and_delete_apply_to_everyone():
    v = Vault().setup(PASS)
    try:
        c = v.connect()
        c.ok("gov.role.create", {"name": "ops-base", "entitlements": []})
        ident(c, "alice", department="ops")
        ident(c, "bob", department="ops")
        ident(c, "carol", department="sales")
        assert c.err("gov.rule.create", {"name": "r", "match": {"department": "ops"},
                                         "roles": ["nope"]}) == "not_found"
        assert c.err("gov.rule.create", {"name": "r", "match": {"colour": "ops"},
                                         "roles": ["ops-base"]}) == "invalid"
        assert c.err("gov.rule.create", {"name": "r", "match": {},
                                         "roles": ["ops-base"]}) == "invalid"
        rule = {"name": "ops", "match": {"department": "ops"}, "roles": ["ops-base"]}
        assert c.ok("gov.rule.create", rule)["name"] == "ops"
        assert c.err("gov.rule.create", rule) == "exists"
        for who, has in (("alice", True), ("bob", True), ("carol", False)):
            got = roles_of(c.ok("gov.identity.get", {"id": who}))
            assert (got == {"ops-base": "rule:ops"}) if has else got == {}, (who, got)
        assert [r["name"] for r in c.ok("gov.rule.list", {})["rules"]] == ["ops"]
        # The role is in use by a rule: not deletable.
        assert c.err("gov.role.delete", {"name": "ops-base"}) == "bad_state"
        assert c.ok("gov.rule.delete", {"name": "ops"}) == {"deleted": "ops"}
        for who in ("alice", "bob"):
            assert c.ok("gov.identity.get", {"id": who})["roles"] == [], who
        assert c.err("gov.rule.delete", {"name": "ops"}) == "not_found"
        c.ok("gov.role.delete", {"name": "ops-base"})
    finally:
        v.cleanup()


def test_sod_blocks_assignment_until_owner_grants_exception():
    v = Vault().setup(PASS)
    try:
        c = v.connect()
        for who in ("dave", "carol", "alice"):
            ident(c, who)
        c.ok("gov.role.create", {"name": "deployer", "entitlements": []})
        c.ok("gov.role.create", {"name": "auditor", "entitlements": []})
        assert c.err("gov.sod.create", {"name": "s", "a": "role:deployer", "b": "role:deployer",
                                        "owner": "dave"}) == "invalid"
        assert c.err("gov.sod.create", {"name": "s", "a": "deployer", "b": "role:auditor",
                                        "owner": "dave"}) == "invalid"
        assert c.err("gov.sod.create", {"name": "s", "a": "role:deployer", "b": "role:auditor",
                                        "owner": "nobody"}) == "not_found"
        rule = c.ok("gov.sod.create", {"name": "deploy-vs-audit", "a": "role:deployer",
                                       "b": "role:auditor", "severity": "high",
                                       "owner": "dave"})
        assert rule["severity"] == "high"
        assert [r["name"] for r in c.ok("gov.sod.list", {})["rules"]] == ["deploy-vs-audit"]
        c.ok("gov.identity.role.assign", {"id": "alice", "role": "deployer"})
        e = error(c, "gov.identity.role.assign", {"id": "alice", "role": "auditor"})
        assert e["code"] == "denied" and "deploy-vs-audit" in e["message"], e
        assert "auditor" not in roles_of(c.ok("gov.identity.get", {"id": "alice"}))
        # Only the owner, acting as themselves, may grant an exception.
        x = {"rule": "deploy-vs-audit", "identity": "alice", "reason": "audit cover",
             "duration": 7 * 86400}
        e = error(c, "gov.sod.exception.create", dict(x, **{"as": "carol"}))
        assert e["code"] == "denied", e
        assert e["message"] == "only the rule's owner (dave) may grant an exception", e
        e = error(c, "gov.sod.exception.create", x)  # no acting identity at all
        assert e["code"] == "denied", e
        for bad in ({"reason": ""}, {"duration": 0}, {"duration": 91 * 86400},
                    {"rule": "nope"}, {"identity": "zed"}):
            code = c.err("gov.sod.exception.create", dict(x, **bad, **{"as": "dave"}))
            assert code in ("invalid", "not_found"), (bad, code)
        exc = c.ok("gov.sod.exception.create", dict(x, **{"as": "dave"}))
        assert exc["id"].startswith("x-") and exc["approved_by"] == "dave", exc
        assert exc["expires_at"] - exc["created_at"] == 7 * 86400, exc
        c.ok("gov.identity.role.assign", {"id": "alice", "role": "auditor"})
        assert set(roles_of(c.ok("gov.identity.get", {"id": "alice"}))) == {"deployer",
                                                                            "auditor"}
        listed = c.ok("gov.sod.exception.list", {"identity": "alice"})["exceptions"]
        assert [e["id"] for e in listed] == [exc["id"]] and listed[0]["live"] is True, listed
        assert c.ok("gov.sod.exception.list", {"identity": "carol"})["exceptions"] == []
        rep = c.ok("gov.sod.report", {})["violations"]
        assert rep == [{"identity": "alice", "rule": "deploy-vs-audit", "severity": "high",
                        "owner": "dave", "exception": exc["id"]}], rep
        assert c.ok("gov.sod.delete", {"name": "deploy-vs-audit"}) == {
            "deleted": "deploy-vs-audit"}
        assert c.ok("gov.sod.report", {})["violations"] == []
    finally:
        v.cleanup()


def test_sod_report_lists_standing_violation():
    v = Vault().setup(PASS)
    try:
        c = v.connect()
        c.ok("target.create", {"name": "audit01", "host": "127.0.0.1"})
        c.ok("account.create", {"id": "root@audit01", "kind": "password"})
        ident(c, "dave")
        ident(c, "bob")
        c.ok("gov.role.create", {"name": "deployer", "entitlements": []})
        c.ok("gov.role.create", {"name": "audit-root", "kind": "standing", "entitlements": [
            {"account": "root@audit*"}]})
        c.ok("gov.identity.role.assign", {"id": "bob", "role": "deployer"})
        c.ok("gov.identity.role.assign", {"id": "bob", "role": "audit-root"})
        # The rule comes after the access: the report finds it.
        c.ok("gov.sod.create", {"name": "deploy-vs-audit", "a": "role:deployer",
                                "b": "account:root@audit*", "owner": "dave"})
        rep = c.ok("gov.sod.report", {})["violations"]
        assert rep == [{"identity": "bob", "rule": "deploy-vs-audit", "severity": "medium",
                        "owner": "dave", "exception": None}], rep
    finally:
        v.cleanup()


CSV1 = """id,name,email,department,title,manager,groups,status
bob,Bob Boss,bob@example.com,ops,Head of Ops,,,
alice,Alice Liddell,alice@example.com,ops,SRE,bob,oncall;dev,active
carol,"Carol, C.",carol@example.com,sales,Rep,bob,,
erin,Erin,erin@example.com,ops,SRE,bob,,suspended
"""


def test_hr_sync_joiners_movers_leavers_csv_and_json():
    v = Vault().setup(PASS)
    try:
        c = v.connect()
        c.ok("gov.role.create", {"name": "sre", "entitlements": []})
        c.ok("gov.rule.create", {"name": "ops-sre", "match": {"department": "ops",
                                                               "title": "SRE*"},
                                 "roles": ["sre"]})
        ident(c, "manual-person")  # not from HR: never a leaver
        # Dry run: the plan, nothing applied.
        dry = c.ok("gov.sync", {"format": "csv", "data": CSV1, "dry_run": True})
        assert dry["applied"] is False, dry
        assert sorted(j["id"] for j in dry["plan"]["joiners"]) == ["alice", "bob", "carol",
                                                                   "erin"], dry
        assert c.err("gov.identity.get", {"id": "alice"}) == "not_found"
        res = c.ok("gov.sync", {"format": "csv", "data": CSV1})
        assert res["applied"] is True and len(res["plan"]["joiners"]) == 4, res
        alice = c.ok("gov.identity.get", {"id": "alice"})
        assert alice["source"] == "hr" and alice["manager"] == "bob", alice
        assert alice["groups"] == ["dev", "oncall"] and alice["state"] == "active", alice
        assert roles_of(alice) == {"sre": "rule:ops-sre"}, alice
        assert c.ok("gov.identity.get", {"id": "carol"})["name"] == "Carol, C."
        assert c.ok("gov.identity.get", {"id": "erin"})["state"] == "suspended"
        # Same file again: nothing to do.
        again = c.ok("gov.sync", {"format": "csv", "data": CSV1})
        plan = again["plan"]
        assert plan["joiners"] == [] and plan["movers"] == [] and plan["leavers"] == [], plan
        assert plan["unchanged"] == 4, plan
        # JSON: alice moves (no longer SRE), carol is gone, dave joins, erin back to active.
        data = json.dumps([
            {"id": "bob", "name": "Bob Boss", "email": "bob@example.com", "department": "ops",
             "title": "Head of Ops"},
            {"id": "alice", "name": "Alice Liddell", "email": "alice@example.com",
             "department": "ops", "title": "Team Lead", "manager": "bob",
             "groups": "oncall;dev"},
            {"id": "dave", "name": "Dave", "email": "dave@example.com", "department": "ops",
             "title": "SRE", "manager": "alice"},
            {"id": "erin", "name": "Erin", "email": "erin@example.com", "department": "ops",
             "title": "SRE", "manager": "bob", "status": "active"},
        ])
        res = c.ok("gov.sync", {"format": "json", "data": data})
        plan = res["plan"]
        assert [j["id"] for j in plan["joiners"]] == ["dave"], plan
        assert sorted(m["id"] for m in plan["movers"]) == ["alice", "erin"], plan
        assert plan["leavers"] == ["carol"], plan
        alice = c.ok("gov.identity.get", {"id": "alice"})
        assert alice["title"] == "Team Lead" and alice["roles"] == [], alice
        assert roles_of(c.ok("gov.identity.get", {"id": "dave"})) == {"sre": "rule:ops-sre"}
        assert c.ok("gov.identity.get", {"id": "carol"})["state"] == "left"
        assert c.ok("gov.identity.get", {"id": "erin"})["state"] == "active"
        assert c.ok("gov.identity.get", {"id": "manual-person"})["state"] == "active"
        # One audit entry per change, plus a summary.
        changes = [(e.get("object"), e["detail"]["change"]) for e in audit(c)
                   if e["op"] == "gov.sync" and "detail" in e and
                   e["detail"].get("change") in ("joiner", "mover", "leaver", "summary")]
        assert ("dave", "joiner") in changes and ("alice", "mover") in changes, changes
        assert ("carol", "leaver") in changes and ("erin", "mover") in changes, changes
        assert sum(1 for o, ch in changes if ch == "summary") == 3, changes
    finally:
        v.cleanup()


BAD_CSV = """id,name,email,department,title,manager,groups,status
ok1,Okay,ok1@example.com,ops,,,,
bad1,No Mail,,ops,,,,
ok1,Twice,ok1b@example.com,ops,,,,
ok2,Lost,ok2@example.com,ops,,ghost,,
cyc1,Cycle One,c1@example.com,ops,,cyc2,,
cyc2,Cycle Two,c2@example.com,ops,,cyc1,,
"""


def test_hr_sync_malformed_file_refused_whole():
    v = Vault().setup(PASS)
    try:
        c = v.connect()
        for dry in (True, False):
            e = error(c, "gov.sync", {"format": "csv", "data": BAD_CSV, "dry_run": dry})
            assert e["code"] == "invalid", e
            assert "nothing applied" in e["message"], e
            lines = {x["line"] for x in e["errors"]}
            # bad row (3), duplicate id (4), unknown manager (5), manager cycle (6/7)
            assert lines == {3, 4, 5, 6, 7}, e["errors"]
            assert all(x["message"] for x in e["errors"]), e["errors"]
            assert e["message"].startswith("HR file refused: %d error" % len(e["errors"])), e
        assert c.ok("gov.identity.list", {})["identities"] == []
        # JSON: the array index + 1.
        data = json.dumps([{"id": "a1", "name": "A", "email": "a1@example.com"},
                           {"id": "bad id", "name": "B", "email": "b@example.com"}])
        e = error(c, "gov.sync", {"format": "json", "data": data})
        assert e["code"] == "invalid" and [x["line"] for x in e["errors"]] == [2], e
        e = error(c, "gov.sync", {"format": "json", "data": "{not json"})
        assert e["code"] == "invalid" and e["errors"], e
        assert c.err("gov.sync", {"format": "xml", "data": "x"}) == "invalid"
        assert c.err("gov.sync", {"format": "csv"}) == "invalid"
        assert c.ok("gov.identity.list", {})["identities"] == []
        assert not [e for e in audit(c) if e["op"] == "gov.sync"]
    finally:
        v.cleanup()


def test_leaver_revokes_grants_and_queues_rotation():
    v = Vault().setup(PASS)
    try:
        c = v.connect()
        c.ok("target.create", {"name": "web01", "host": "127.0.0.1"})
        c.ok("target.create", {"name": "db02", "host": "127.0.0.1"})
        for a in ("root@web01", "admin@web01", "root@db02", "app@db02"):
            c.ok("account.create", {"id": a, "kind": "password"})
        ident(c, "bob")
        ident(c, "alice", "bob")
        c.ok("gov.role.create", {"name": "web-root", "entitlements": [
            {"account": "root@web*", "max_duration": 3600}]})
        c.ok("gov.role.create", {"name": "quick", "entitlements": [
            {"account": "app@db02", "max_duration": 3600, "approval": {"by": "none"}}]})
        c.ok("gov.identity.role.assign", {"id": "alice", "role": "web-root"})
        c.ok("gov.identity.role.assign", {"id": "alice", "role": "quick"})
        req = c.ok("gov.request.create", {"as": "alice", "account": "app@db02",
                                          "duration": 600, "reason": "deploy"})
        assert req["state"] == "approved" and req["grant"], req
        who = c.ok("gov.who_could", {"account": "app@db02", "at": int(time.time())})
        assert {"identity": "alice", "via": "grant", "grant": req["grant"]} in who["identities"]
        # quick is gone before she leaves: only the grant still names app@db02.
        c.ok("gov.identity.role.unassign", {"id": "alice", "role": "quick"})
        sub = v.connect()
        sub.ok("events.subscribe", {"types": ["identity.left", "grant.revoked"]})
        left = c.ok("gov.identity.leave", {"id": "alice", "reason": "resigned"})
        assert left["state"] == "left" and left["roles"] == [], left
        seen = {}
        for _ in range(2):
            ev = sub.recv()
            seen[ev["event"]] = ev["data"]
        assert seen["grant.revoked"]["grant"] == req["grant"], seen
        assert seen["identity.left"] == {"identity": "alice", "reason": "resigned"}, seen
        g = c.ok("gov.grant.get", {"id": req["grant"]})
        assert g["state"] == "revoked", g
        q = c.ok("rotate.queue.list", {})["queue"]
        assert sorted(e["account"] for e in q) == ["app@db02", "root@web01"], q
        assert all(e["reason"] == "leaver:alice" and e["state"] == "queued" and
                   e["done_at"] is None and e["requested_at"] for e in q), q
        # Completing entries.
        assert c.err("rotate.queue.done", {"id": "q-999"}) == "not_found"
        assert c.err("rotate.queue.done", {"id": q[0]["id"], "result": "maybe"}) == "invalid"
        d = c.ok("rotate.queue.done", {"id": q[0]["id"], "result": "skipped"})
        assert d["state"] == "done" and d["result"] == "skipped" and d["done_at"], d
        assert c.err("rotate.queue.done", {"id": q[0]["id"]}) == "bad_state"
        assert c.ok("rotate.queue.done", {"id": q[1]["id"]})["result"] == "rotated"
        assert c.ok("rotate.queue.list", {"state": "queued"})["queue"] == []
        assert len(c.ok("rotate.queue.list", {"state": "done"})["queue"]) == 2
        assert c.err("rotate.queue.list", {"state": "x"}) == "invalid"
        assert c.err("gov.identity.role.assign", {"id": "alice", "role": "web-root"}) == \
            "bad_state"
    finally:
        v.cleanup()


def test_history_and_who_could_at_a_past_time():
    v = Vault().setup(PASS)
    try:
        c = v.connect()
        c.ok("target.create", {"name": "web01", "host": "127.0.0.1"})
        c.ok("account.create", {"id": "admin@web01", "kind": "password"})
        ident(c, "alice", department="ops")
        c.ok("gov.role.create", {"name": "web-admin", "kind": "standing", "entitlements": [
            {"account": "admin@web*"}]})
        c.ok("gov.role.create", {"name": "web-req", "entitlements": [
            {"account": "admin@web*"}]})
        c.ok("gov.identity.role.assign", {"id": "alice", "role": "web-req"})
        c.ok("gov.identity.role.assign", {"id": "alice", "role": "web-admin"})
        time.sleep(2.2)
        c.ok("gov.identity.role.unassign", {"id": "alice", "role": "web-admin"})
        c.ok("gov.identity.suspend", {"id": "alice", "reason": "leave of absence"})
        h = c.ok("gov.history", {"identity": "alice"})
        assert h["identity"] == "alice"
        assert [e["state"] for e in h["lifecycle"]] == ["active", "suspended"], h
        rows = {a["role"]: a for a in h["assignments"]}
        held = rows["web-admin"]
        assert held["source"] == "manual" and held["until"] is not None, h
        assert held["until"] - held["from"] >= 2, held
        assert rows["web-req"]["until"] is None, rows
        assert h["requests"] == [] and h["grants"] == [] and h["usage"] == [], h
        inside = held["from"] + 1
        who = c.ok("gov.who_could", {"account": "admin@web01", "at": inside})
        assert who["account"] == "admin@web01" and who["at"] == inside
        assert who["identities"] == [{"identity": "alice", "via": "standing",
                                      "role": "web-admin"}], who
        for at in (held["from"] - 5, held["until"], held["until"] + 60):
            who = c.ok("gov.who_could", {"account": "admin@web01", "at": at})
            assert who["identities"] == [], (at, who)
        # A requestable role is not standing access.
        assert c.ok("gov.who_could", {"account": "admin@web02", "at": inside})["identities"] \
            == [{"identity": "alice", "via": "standing", "role": "web-admin"}]
        assert c.err("gov.who_could", {"account": "admin", "at": inside}) == "invalid"
        assert c.err("gov.who_could", {"account": "admin@web01"}) == "invalid"
        assert c.err("gov.history", {"identity": "zed"}) == "not_found"
    finally:
        v.cleanup()


run_tests(globals())
