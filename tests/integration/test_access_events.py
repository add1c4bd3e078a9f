#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""access.changed: every change that can withdraw access is pushed to a broker-style subscriber
with what finds the affected sessions, and gov.authorize then refuses with its reason: a removed
key (key_removed, by grant and by standing role), a narrowed or unassigned role, a new SoD rule,
an SoD exception revoked or expired, an account or target deleted or changed, a suspended
identity, a revoked grant, a birthright role lost by an attribute change."""
import time

from harness import run_tests
from peers import Holder, Subscriber, make_key, shared_vault

HOSTKEY = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
BROKER = 65533


def world(v):
    """web01 and db02; alice holds a grant for root@web01, carol the standing ops-standing."""
    c = v.connect()
    c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "hostkey": HOSTKEY})
    c.ok("target.create", {"name": "db02", "host": "127.0.0.2", "hostkey": HOSTKEY})
    for a in ("root@web01", "admin@web01", "root@db02"):
        c.ok("account.create", {"id": a, "kind": "password"})
        c.ok("secret.put", {"account": a, "value": "pw-of-" + a})
    for ident, mgr in (("bob", None), ("olivia", None), ("alice", "bob"), ("carol", "bob")):
        args = {"id": ident, "name": ident.title(), "email": ident + "@example.com",
                "department": "ops"}
        if mgr:
            args["manager"] = mgr
        c.ok("gov.identity.create", args)
    c.ok("gov.role.create", {"name": "web-root", "kind": "requestable", "entitlements": [
        {"account": "root@web01", "max_duration": 7200,
         "approval": {"by": "manager", "count": 1}}]})
    c.ok("gov.role.create", {"name": "ops-standing", "kind": "standing", "entitlements": [
        {"account": "admin@web01", "max_duration": 3600},
        {"account": "root@db02", "max_duration": 3600}]})
    c.ok("gov.identity.role.assign", {"id": "alice", "role": "web-root"})
    c.ok("gov.identity.role.assign", {"id": "carol", "role": "ops-standing"})
    keys = {}
    for ident in ("alice", "carol"):
        pub, fp = make_key(v.tmp, ident)
        c.ok("gov.identity.key.add", {"id": ident, "key": pub})
        keys[ident] = (pub, fp)
    req = c.ok("gov.request.create", {"as": "alice", "account": "root@web01", "duration": 3600,
                                      "reason": "INC-9 disk full"})
    grant = c.ok("gov.request.approve", {"as": "bob", "id": req["id"]})["grant"]
    return c, keys, grant


def authorize(c, account, fp=None, identity=None):
    args = {"account": account}
    args.update({"fp": fp} if fp else {"identity": identity})
    return c.ok("gov.authorize", args)


def vault():
    return shared_vault(extra="[principal broker1]\nuids = %d\nscopes = authorize, broker\n"
                        % BROKER)


def changed(sub, reason, timeout=10):
    """The next access.changed event of this reason; its data."""
    return sub.next("access.changed", timeout, lambda d: d.get("reason") == reason)["data"]


def test_subscribe_lists_the_new_event_types():
    v = vault()
    try:
        sub = Subscriber(v)
        assert "access.changed" in sub.types and "identity.mfa_locked" in sub.types, sub.types
        only = Subscriber(v, ["access.changed"])
        assert only.types == ["access.changed"]
        only.close()
        sub.close()
    finally:
        v.cleanup()


def test_removed_key_is_announced_and_refused_for_grant_and_standing_access():
    v = vault()
    try:
        c, keys, grant = world(v)
        sub = Subscriber(v, ["access.changed"])
        afp, cfp = keys["alice"][1], keys["carol"][1]
        assert authorize(c, "root@web01", fp=afp)["via"] == "grant"
        assert authorize(c, "admin@web01", fp=cfp)["via"] == "standing"
        c.ok("gov.identity.key.remove", {"id": "alice", "fp": afp})
        assert changed(sub, "key_removed") == {"reason": "key_removed", "identity": "alice",
                                               "fp": afp}
        d = authorize(c, "root@web01", fp=afp)
        assert d["allow"] is False and d["reason"] == "key_removed", d
        assert d["identity"] == "alice" and afp in d["message"], d
        # The same for standing access.
        c.ok("gov.identity.key.remove", {"id": "carol", "fp": cfp})
        assert changed(sub, "key_removed")["fp"] == cfp
        d = authorize(c, "admin@web01", fp=cfp)
        assert d["allow"] is False and d["reason"] == "key_removed", d
        # session.open refuses it too, audited, no credential.
        d = c.ok("session.open", {"fp": afp, "account": "root@web01", "broker": "b1"})
        assert d["allow"] is False and d["reason"] == "key_removed" and "credential" not in d, d
        # A key never registered is still unknown_key; mfa.check knows no identity for either.
        assert authorize(c, "root@web01", fp="SHA256:never")["reason"] == "unknown_key"
        assert c.ok("gov.mfa.check", {"fp": afp}) == {"identity": None, "required": False}
        # The key may come back, and then it works again.
        c.ok("gov.identity.key.add", {"id": "alice", "key": keys["alice"][0]})
        assert authorize(c, "root@web01", fp=afp)["allow"] is True
        sub.close()
        c.close()
    finally:
        v.cleanup()


def test_role_narrowed_unassigned_deleted():
    v = vault()
    try:
        c, keys, grant = world(v)
        sub = Subscriber(v, ["access.changed"])
        assert authorize(c, "admin@web01", identity="carol")["allow"] is True
        c.ok("gov.role.update", {"name": "ops-standing", "entitlements": [
            {"account": "root@db02", "max_duration": 3600}]})
        d = changed(sub, "role_updated")
        assert d == {"reason": "role_updated", "role": "ops-standing", "identities": ["carol"],
                     "changed": ["entitlements"]}, d
        d = authorize(c, "admin@web01", identity="carol")
        assert d["allow"] is False and d["reason"] == "no_grant", d
        assert authorize(c, "root@db02", identity="carol")["via"] == "standing"
        c.ok("gov.identity.role.unassign", {"id": "carol", "role": "ops-standing"})
        assert changed(sub, "role_unassigned") == {"reason": "role_unassigned",
                                                   "identity": "carol", "role": "ops-standing"}
        assert authorize(c, "root@db02", identity="carol")["reason"] == "no_grant"
        c.ok("gov.role.delete", {"name": "ops-standing"})
        assert changed(sub, "role_deleted") == {"reason": "role_deleted", "role": "ops-standing",
                                                "identities": []}
        sub.close()
        c.close()
    finally:
        v.cleanup()


def test_new_sod_rule_and_ended_exceptions():
    v = vault()
    try:
        c, keys, grant = world(v)
        sub = Subscriber(v, ["access.changed"])
        rule = {"name": "web-vs-db", "a": "account:admin@web*", "b": "account:root@db*",
                "severity": "high", "owner": "olivia"}
        c.ok("gov.sod.create", rule)
        d = changed(sub, "sod_rule_created")
        assert d == {"reason": "sod_rule_created", "rule": "web-vs-db", "identities": ["carol"]}, d
        assert authorize(c, "admin@web01", identity="carol")["reason"] == "sod_exception_needed"
        # alice holds only one side: not named, not affected.
        assert authorize(c, "root@web01", identity="alice")["allow"] is True
        # An exception lets carol in; revoked early, it is announced and she is out again.
        x = c.ok("gov.sod.exception.create", {"as": "olivia", "rule": "web-vs-db",
                                              "identity": "carol", "reason": "migration",
                                              "duration": 3600})
        assert authorize(c, "admin@web01", identity="carol")["allow"] is True
        r = c.ok("gov.sod.exception.revoke", {"id": x["id"], "reason": "migration done"})
        assert r["revoked_by"] == "self" and r["ended_at"] and r["expires_at"] <= time.time(), r
        d = changed(sub, "sod_exception_revoked")
        assert d == {"reason": "sod_exception_revoked", "identity": "carol", "rule": "web-vs-db",
                     "exception": x["id"], "by": "self"}, d
        assert authorize(c, "admin@web01", identity="carol")["reason"] == "sod_exception_needed"
        assert c.err("gov.sod.exception.revoke", {"id": x["id"], "reason": "again"}) == \
            "bad_state"
        assert c.err("gov.sod.exception.revoke", {"id": "x-99", "reason": "no"}) == "not_found"
        # One that simply runs out is announced by the vault's timer at its expiry.
        x = c.ok("gov.sod.exception.create", {"as": "olivia", "rule": "web-vs-db",
                                              "identity": "carol", "reason": "short",
                                              "duration": 2})
        assert authorize(c, "admin@web01", identity="carol")["allow"] is True
        d = changed(sub, "sod_exception_expired", timeout=10)
        assert d == {"reason": "sod_exception_expired", "identity": "carol", "rule": "web-vs-db",
                     "exception": x["id"]}, d
        assert time.time() >= x["expires_at"]
        assert authorize(c, "admin@web01", identity="carol")["reason"] == "sod_exception_needed"
        ended = [e for e in c.ok("gov.sod.exception.list", {"identity": "carol"})["exceptions"]]
        assert all(e["live"] is False and e["ended_at"] for e in ended), ended
        sub.close()
        c.close()
    finally:
        v.cleanup()


def test_account_and_target_changes():
    v = vault()
    try:
        c, keys, grant = world(v)
        sub = Subscriber(v, ["access.changed"])
        c.ok("target.update", {"name": "web01", "hostkey": "SHA256:" + "B" * 43})
        assert changed(sub, "target_updated") == {"reason": "target_updated", "target": "web01",
                                                  "changed": ["hostkey"]}
        c.ok("target.update", {"name": "web01", "port": 22})  # no change: no event
        c.ok("account.update", {"id": "admin@web01", "kind": "ssh-key"})
        assert changed(sub, "account_updated") == {"reason": "account_updated",
                                                   "account": "admin@web01", "target": "web01",
                                                   "changed": ["kind"]}
        c.ok("account.delete", {"id": "root@db02"})
        assert changed(sub, "account_deleted") == {"reason": "account_deleted",
                                                   "account": "root@db02", "target": "db02"}
        d = authorize(c, "root@db02", fp=keys["carol"][1])
        assert d["allow"] is False and d["reason"] == "unknown_account", d
        c.ok("target.delete", {"name": "db02"})
        assert changed(sub, "target_deleted") == {"reason": "target_deleted", "target": "db02"}
        # Nothing else was announced on the way (the unchanged update above).
        assert [e for e in sub.drain() if e.get("event") == "access.changed"] == []
        sub.close()
        c.close()
    finally:
        v.cleanup()


def test_grants_identities_and_birthright_as_a_broker_sees_them():
    v = vault()
    try:
        c, keys, grant = world(v)
        # Subscribed as the broker's principal does it (scope authorize, its own uid).
        bsub = Holder(v, BROKER, [{"send": '{"id": 1, "op": "events.subscribe", "args": '
                                           '{"types": ["access.changed"]}}\n'}])
        assert bsub.results[0]["answer"]["result"]["subscribed"] == ["access.changed"]
        bsub.release()
        sub = Subscriber(v, ["access.changed"])
        c.ok("gov.grant.revoke", {"id": grant, "reason": "INC-9 closed"})
        assert changed(sub, "grant_revoked") == {"reason": "grant_revoked", "grant": grant,
                                                 "identity": "alice", "account": "root@web01",
                                                 "by": "self"}
        assert authorize(c, "root@web01", identity="alice")["reason"] == "grant_expired"
        # A birthright role lost by an attribute change is a role_unassigned.
        c.ok("gov.role.create", {"name": "db-standing", "kind": "standing", "entitlements": [
            {"account": "root@db02", "max_duration": 3600}]})
        c.ok("gov.rule.create", {"name": "ops-db", "match": {"department": "ops"},
                                 "roles": ["db-standing"]})
        assert authorize(c, "root@db02", identity="alice")["via"] == "standing"
        c.ok("gov.identity.update", {"id": "alice", "department": "sales"})
        assert changed(sub, "role_unassigned") == {"reason": "role_unassigned",
                                                   "identity": "alice", "role": "db-standing"}
        assert authorize(c, "root@db02", identity="alice")["reason"] == "no_grant"
        c.ok("gov.identity.suspend", {"id": "carol", "reason": "on leave"})
        assert changed(sub, "identity_suspended") == {"reason": "identity_suspended",
                                                      "identity": "carol"}
        assert authorize(c, "admin@web01", identity="carol")["reason"] == "identity_inactive"
        c.ok("gov.identity.leave", {"id": "carol", "reason": "left the company"})
        assert changed(sub, "identity_left") == {"reason": "identity_left", "identity": "carol"}
        sub.close()
        c.close()
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
