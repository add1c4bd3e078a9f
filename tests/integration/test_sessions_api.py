#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""session.*: the broker's sessions, opened only against a live grant, audited, killed, reset."""
import json
import os
import subprocess
import sys

from harness import Vault, as_user, run_tests

PASS = b"pw-for-session-tests"
WEB_PW = "Web01-root-S3cret!x9"
ADMIN_PW = "Admin-standing-Pw#42"
NOKEY_PW = "NoHostKey-Pw-7761"
DEPLOY_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key-but-secret\n"
HOSTKEY = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
NOBODY = 65534
BROKER_UID = 65533



def make_key(tmp, name):
    path = "%s/%s_key" % (tmp, name)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name + "@laptop", "-f",
                    path], check=True)
    pub = open(path + ".pub").read().strip()
    fp = subprocess.run(["ssh-keygen", "-lf", path + ".pub"], capture_output=True,
                        check=True).stdout.decode().split()[1]
    return pub, fp


def make_vault():
    v = Vault(extra_vault="socket_mode = 0666\n",
              extra="[principal auditor]\nuids = %d\nscopes = audit\n\n"
                    "[principal broker1]\nuids = %d\nscopes = broker\n" % (NOBODY, BROKER_UID))
    os.chmod(v.tmp, 0o755)  # other uids reach the socket (the data dir stays 0700)
    return v.setup(PASS)


def world(v):
    """Targets (one without a pinned host key), accounts, identities, roles, keys."""
    c = v.connect()
    c.ok("target.create", {"name": "web01", "host": "127.0.0.1", "port": 2201,
                           "hostkey": HOSTKEY})
    c.ok("target.create", {"name": "db02", "host": "127.0.0.2", "hostkey": HOSTKEY})
    c.ok("target.create", {"name": "nokey01", "host": "127.0.0.3"})
    for a, kind in (("root@web01", "password"), ("admin@web01", "password"),
                    ("deploy@web01", "ssh-key"), ("root@db02", "password"),
                    ("root@nokey01", "password")):
        c.ok("account.create", {"id": a, "kind": kind})
    c.ok("secret.put", {"account": "root@web01", "value": "an-old-password-1"})
    c.ok("secret.put", {"account": "root@web01", "value": WEB_PW})
    c.ok("secret.put", {"account": "admin@web01", "value": ADMIN_PW})
    c.ok("secret.put", {"account": "root@nokey01", "value": NOKEY_PW})
    c.ok("secret.put", {"account": "deploy@web01", "value": DEPLOY_KEY})
    for ident, mgr in (("bob", None), ("alice", "bob"), ("carol", "bob")):
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
        {"account": "deploy@web01", "max_duration": 3600},
        {"account": "root@db02", "max_duration": 3600},
        {"account": "root@nokey01", "max_duration": 3600}]})
    c.ok("gov.identity.role.assign", {"id": "alice", "role": "web-root"})
    c.ok("gov.identity.role.assign", {"id": "carol", "role": "ops-standing"})
    pub, v.alice_fp = make_key(v.tmp, "alice")
    c.ok("gov.identity.key.add", {"id": "alice", "key": pub})
    pub, v.carol_fp = make_key(v.tmp, "carol")
    c.ok("gov.identity.key.add", {"id": "carol", "key": pub})
    return c


def grant(c, ident="alice", account="root@web01"):
    req = c.ok("gov.request.create", {"as": ident, "account": account, "duration": 3600,
                                      "reason": "INC-1 disk full"})
    return c.ok("gov.request.approve", {"as": "bob", "id": req["id"]})["grant"]


def audit(v):
    return [json.loads(l) for l in v.cli("audit", "export").stdout.decode().splitlines()]


def opens(v, result):
    return [e for e in audit(v) if e["op"] == "session.open" and e["result"] == result]


def test_open_refused_without_grant_and_audited():
    v = make_vault()
    try:
        c = world(v)
        d = c.ok("session.open", {"fp": v.alice_fp, "account": "root@web01", "broker": "b1",
                                  "client": {"addr": "192.0.2.7", "port": 50123}})
        assert d["allow"] is False and d["reason"] == "no_grant", d
        assert d["identity"] == "alice" and "request one" in d["message"], d
        assert "credential" not in d and "session" not in d, d
        d = c.ok("session.open", {"fp": "SHA256:unknown", "account": "root@web01"})
        assert d == {"allow": False, "reason": "unknown_key",
                     "message": "key SHA256:unknown is not registered to any identity"}, d
        refused = opens(v, "refused")
        assert len(refused) == 2, refused
        e = refused[0]
        assert e["object"] == "root@web01", e
        assert e["detail"] == {"identity": "alice", "fp": v.alice_fp, "broker": "b1",
                               "kind": "shell", "command": None, "client": "192.0.2.7",
                               "reason": "no_grant"}, e
        assert refused[1]["detail"]["reason"] == "unknown_key"
        assert "identity" not in refused[1]["detail"] or refused[1]["detail"]["identity"] is None
        assert c.ok("session.list")["sessions"] == []
        assert opens(v, "ok") == []
        c.close()
    finally:
        v.cleanup()


def test_open_with_grant_list_kill_close():
    v = make_vault()
    try:
        c = world(v)
        gid = grant(c)
        g = c.ok("gov.grant.get", {"id": gid})
        d = c.ok("session.open", {"fp": v.alice_fp, "account": "root@web01", "broker": "b1",
                                  "kind": "exec", "command": "df -h /var; uptime",
                                  "client": {"addr": "2001:db8::7", "port": 40000}})
        assert d["allow"] is True, d
        assert d["credential"] == {"kind": "password", "value": WEB_PW}, d
        sid = d["session"]
        assert sid.startswith("s-"), d
        assert d["identity"] == "alice" and d["account"] == "root@web01", d
        assert d["via"] == "grant" and d["grant"] == gid, d
        assert d["expires_at"] == g["expires_at"], (d, g)
        assert d["file_transfer"] is False, d
        assert d["target"] == {"name": "web01", "host": "127.0.0.1", "port": 2201,
                               "hostkey": HOSTKEY}, d
        assert set(d) == {"allow", "session", "identity", "account", "grant", "via", "expires_at",
                          "file_transfer", "policy", "target", "credential"}, d
        # The release is audited: who, from where, to run what; never the value.
        ok = opens(v, "ok")
        assert len(ok) == 1, ok
        assert ok[0]["object"] == "root@web01"
        det = ok[0]["detail"]
        assert det["session"] == sid and det["identity"] == "alice" and det["grant"] == gid, det
        assert det["via"] == "grant" and det["kind"] == "exec", det
        assert det["command"] == "df -h /var; uptime" and det["client"] == "2001:db8::7", det
        assert det["version"] == 2, det
        # Usage evidence for reviews.
        usage = c.ok("gov.history", {"identity": "alice"})["usage"]
        assert any(u.get("account") == "root@web01" and u.get("last_session") for u in usage), \
            usage
        # Listed, with filters.
        ls = c.ok("session.list")["sessions"]
        assert [s["id"] for s in ls] == [sid], ls
        s = ls[0]
        assert s["state"] == "live" and s["identity"] == "alice" and s["target"] == "web01", s
        assert s["client"] == {"addr": "2001:db8::7", "port": 40000} and s["broker"] == "b1", s
        assert s["ended_at"] is None and s["end_reason"] is None and s["started_at"], s
        assert s["expires_at"] == g["expires_at"] and s["fp"] == v.alice_fp, s
        assert WEB_PW not in json.dumps(ls)
        assert c.ok("session.list", {"state": "closed"})["sessions"] == []
        assert c.ok("session.list", {"identity": "carol"})["sessions"] == []
        assert len(c.ok("session.list", {"account": "root@web01", "state": "live"})["sessions"]) == 1
        assert c.err("session.list", {"state": "dead"}) == "invalid"
        assert c.ok("session.get", {"session": sid})["id"] == sid
        assert c.err("session.get", {"session": "s-999"}) == "not_found"
        # Kill: pushed to the broker, which ends the session; it stays live until then.
        sub = v.connect()
        assert sub.ok("events.subscribe", {"types": ["session.kill"]})["subscribed"] == [
            "session.kill"]
        assert c.err("session.kill", {"session": sid}) == "invalid"  # reason required
        k = c.ok("session.kill", {"session": sid, "reason": "INC-7 suspicious"})
        assert k["state"] == "live" and k["kill_requested_at"], k
        assert k["kill_reason"] == "INC-7 suspicious" and k["kill_requested_by"] == "self", k
        ev = sub.recv()
        assert ev["event"] == "session.kill", ev
        assert ev["data"] == {"session": sid, "identity": "alice", "account": "root@web01",
                              "broker": "b1", "reason": "INC-7 suspicious", "by": "self"}, ev
        assert c.ok("session.get", {"session": sid})["state"] == "live"
        # The broker closes it.
        cl = c.ok("session.close", {"session": sid, "reason": "killed by governance",
                                    "exit_status": 143, "signal": "TERM", "bytes_in": 120,
                                    "bytes_out": 4096})
        assert cl["state"] == "closed" and cl["ended_at"] >= cl["started_at"], cl
        assert cl["end_reason"] == "killed by governance", cl
        assert (cl["exit_status"], cl["signal"], cl["bytes_in"], cl["bytes_out"]) == (
            143, "TERM", 120, 4096), cl
        # Idempotent: the same record, nothing changes, nothing audited.
        n = len(audit(v))
        again = c.ok("session.close", {"session": sid, "reason": "retry"})
        assert again == cl, (again, cl)
        assert len(audit(v)) == n
        assert c.err("session.close", {"session": "s-999", "reason": "x"}) == "not_found"
        assert c.err("session.close", {"session": sid}) == "invalid"  # reason required
        assert c.err("session.kill", {"session": sid, "reason": "too late"}) == "bad_state"
        assert c.ok("session.list", {"state": "closed"})["sessions"][0]["id"] == sid
        ops = [e["op"] for e in audit(v)]
        for op in ("session.open", "session.kill", "session.close"):
            assert op in ops, op
        # A second session gets the next id.
        d2 = c.ok("session.open", {"fp": v.alice_fp, "account": "root@web01"})
        assert d2["allow"] is True and d2["session"] != sid, d2
        s2 = c.ok("session.get", {"session": d2["session"]})
        assert s2["kind"] == "shell" and s2["broker"] is None and s2["client"] is None, s2
        c.close()
        sub.close()
    finally:
        v.cleanup()


def test_kill_and_close_reasons_have_length_limits():
    """session.kill: reason 3-500; session.close: reason 1-500 bytes; out of bounds is
    invalid with its message and changes nothing."""
    v = make_vault()
    try:
        c = world(v)
        sid = c.ok("session.open", {"fp": v.carol_fp, "account": "admin@web01",
                                    "broker": "b1"})["session"]
        for r in ("ab", "x" * 501):
            e = c.call("session.kill", {"session": sid, "reason": r})["error"]
            assert e == {"code": "invalid", "message": "reason must be 3 to 500 characters"}, e
        s = c.ok("session.get", {"session": sid})
        assert s["kill_requested_at"] is None and s["kill_reason"] is None, s
        for r in ("abc", "y" * 500):
            assert c.ok("session.kill", {"session": sid, "reason": r})["kill_reason"] == r
        for r in ("", "z" * 501):
            e = c.call("session.close", {"session": sid, "reason": r})["error"]
            assert e == {"code": "invalid", "message": '"reason" must be 1 to 500 bytes'}, e
        assert c.ok("session.get", {"session": sid})["state"] == "live"
        cl = c.ok("session.close", {"session": sid, "reason": "w" * 500})
        assert cl["state"] == "closed" and cl["end_reason"] == "w" * 500, cl
        sid2 = c.ok("session.open", {"fp": v.carol_fp, "account": "admin@web01"})["session"]
        assert c.ok("session.close", {"session": sid2, "reason": "q"})["end_reason"] == "q"
        c.close()
    finally:
        v.cleanup()


def test_refusals_after_authorization():
    v = make_vault()
    try:
        c = world(v)
        d = c.ok("session.open", {"fp": v.carol_fp, "account": "root@nokey01"})
        assert d == {"allow": False, "reason": "no_hostkey", "identity": "carol",
                     "message": "target nokey01 has no pinned host key; set it with custos "
                                "target update nokey01 --hostkey SHA256:..."}, d
        d = c.ok("session.open", {"fp": v.carol_fp, "account": "deploy@web01"})
        # A key account whose secret is no usable ed25519 key: refused, and no socket made.
        assert d == {"allow": False, "reason": "key_unusable", "identity": "carol",
                     "message": "the key of account deploy@web01 cannot be used: not an "
                                "OpenSSH private key (openssh-key-v1)"}, d
        d = c.ok("session.open", {"fp": v.carol_fp, "account": "root@db02"})
        assert d["allow"] is False and d["reason"] == "no_credential", d
        reasons = [e["detail"]["reason"] for e in opens(v, "refused")]
        assert reasons == ["no_hostkey", "key_unusable", "no_credential"], reasons
        assert c.ok("session.list")["sessions"] == []
        # Once the host key is pinned, the same request opens a session.
        c.ok("target.update", {"name": "nokey01", "hostkey": HOSTKEY})
        d = c.ok("session.open", {"fp": v.carol_fp, "account": "root@nokey01"})
        assert d["allow"] is True and d["credential"]["value"] == NOKEY_PW, d
        # Bad arguments are errors, not refusals.
        for args in ({"account": "root@web01"},
                     {"fp": v.carol_fp},
                     {"fp": v.carol_fp, "account": "admin@web01", "kind": "tunnel"},
                     {"fp": v.carol_fp, "account": "admin@web01", "command": "x" * 4097},
                     {"fp": v.carol_fp, "account": "admin@web01", "client": "1.2.3.4"},
                     {"fp": v.carol_fp, "account": "admin@web01", "client": {"port": 22}},
                     {"fp": v.carol_fp, "account": "admin@web01",
                      "client": {"addr": "1.2.3.4", "port": 70000}},
                     {"fp": v.carol_fp, "account": "admin@web01", "broker": "bad name"}):
            assert c.err("session.open", args) == "invalid", args
        d = c.ok("session.open", {"fp": v.carol_fp, "account": "admin@web01", "kind": "exec",
                                  "command": "y" * 4096})
        assert d["allow"] is True, d
        c.close()
    finally:
        v.cleanup()


def test_standing_role_session():
    v = make_vault()
    try:
        c = world(v)
        d = c.ok("session.open", {"fp": v.carol_fp, "account": "admin@web01", "broker": "b1"})
        assert d["allow"] is True and d["via"] == "standing", d
        assert d["grant"] is None and d["expires_at"] is None, d
        assert d["credential"] == {"kind": "password", "value": ADMIN_PW}, d
        s = c.ok("session.get", {"session": d["session"]})
        assert s["via"] == "standing" and s["role"] == "ops-standing", s
        assert s["expires_at"] is None and s["grant"] is None, s
        c.close()
    finally:
        v.cleanup()


def test_credential_never_in_audit_or_log():
    v = make_vault()
    try:
        c = world(v)
        grant(c)
        for fp, acct in ((v.alice_fp, "root@web01"), (v.carol_fp, "admin@web01"),
                         (v.carol_fp, "deploy@web01")):
            c.ok("session.open", {"fp": fp, "account": acct, "broker": "b1",
                                  "client": {"addr": "192.0.2.1", "port": 1}})
        sub = v.connect()
        sub.ok("events.subscribe", {})
        sid = c.ok("session.list", {"state": "live"})["sessions"][0]["id"]
        c.ok("session.kill", {"session": sid, "reason": "check the log"})
        assert sub.recv()["event"] == "session.kill"
        c.ok("session.close", {"session": sid, "reason": "done"})
        c.ok("session.reset", {"broker": "b1"})
        exported = v.cli("audit", "export").stdout.decode()
        assert "session.open" in exported
        assert v.cli("audit", "verify").returncode == 0
        c.close()
        sub.close()
        v.stop()
        log = v.logtext()
        for secret in (WEB_PW, ADMIN_PW, DEPLOY_KEY.splitlines()[1]):
            assert secret not in exported, secret
            assert secret not in log, secret
        with open(os.path.join(v.data, "data.mdb"), "rb") as f:
            raw = f.read()
        assert WEB_PW.encode() not in raw and ADMIN_PW.encode() not in raw
    finally:
        v.cleanup()


def test_reset_closes_live_sessions_of_that_broker():
    v = make_vault()
    try:
        c = world(v)
        ids = {}
        for broker in ("b1", "b1", "b2", "b1"):
            d = c.ok("session.open", {"fp": v.carol_fp, "account": "admin@web01",
                                      "broker": broker})
            ids.setdefault(broker, []).append(d["session"])
        c.ok("session.close", {"session": ids["b1"][2], "reason": "logout"})
        res = c.ok("session.reset", {"broker": "b1"})
        assert res == {"broker": "b1", "closed": 2, "sessions": ids["b1"][:2]}, res
        for sid in ids["b1"][:2]:
            s = c.ok("session.get", {"session": sid})
            assert s["state"] == "closed" and s["end_reason"] == "broker restarted", s
        assert c.ok("session.get", {"session": ids["b1"][2]})["end_reason"] == "logout"
        assert c.ok("session.get", {"session": ids["b2"][0]})["state"] == "live"
        assert c.ok("session.reset", {"broker": "b1"}) == {"broker": "b1", "closed": 0,
                                                           "sessions": []}
        resets = [e for e in audit(v) if e["op"] == "session.reset"]
        assert [e["detail"]["closed"] for e in resets] == [2, 0], resets
        assert c.err("session.reset", {}) == "invalid"
        # Listed oldest first, by number (s-10 after s-9, not after s-1).
        for _ in range(8):
            c.ok("session.open", {"fp": v.carol_fp, "account": "admin@web01"})
        got = [s["id"] for s in c.ok("session.list")["sessions"]]
        assert got == ["s-%d" % i for i in range(1, 13)], got
        c.close()
    finally:
        v.cleanup()


def test_scopes():
    v = make_vault()
    try:
        c = world(v)
        grant(c)
        auditor = as_user(v, NOBODY, [
            ["session.open", {"fp": v.alice_fp, "account": "root@web01"}],
            ["session.close", {"session": "s-1", "reason": "x"}],
            ["session.reset", {"broker": "b1"}],
            ["session.kill", {"session": "s-1", "reason": "nope"}],
            ["session.list", {}],
        ])
        for a in auditor[:4]:
            assert a["error"]["code"] == "denied", a
        assert auditor[4]["result"] == {"sessions": []}, auditor[4]
        broker = as_user(v, BROKER_UID, [
            ["session.reset", {"broker": "b1"}],
            ["session.open", {"fp": v.alice_fp, "account": "root@web01", "broker": "b1"}],
            ["session.list", {}],
            ["session.get", {"session": "s-1"}],
            ["session.kill", {"session": "s-1", "reason": "nope"}],
            ["secret.get", {"account": "root@web01"}],
            ["gov.authorize", {"fp": v.alice_fp, "account": "root@web01"}],
            ["session.close", {"session": "s-1", "reason": "logout", "bytes_in": 1}],
        ])
        assert broker[0]["result"]["closed"] == 0, broker[0]
        assert broker[1]["result"]["credential"]["value"] == WEB_PW, broker[1]
        for a in broker[2:7]:
            assert a["error"]["code"] == "denied", a
        assert broker[7]["result"]["state"] == "closed", broker[7]
        e = opens(v, "ok")[0]
        assert e["principal"] == "broker1" and e["uid"] == BROKER_UID, e
        c.close()
    finally:
        v.cleanup()


def test_cli():
    v = make_vault()
    try:
        c = world(v)
        d = c.ok("session.open", {"fp": v.carol_fp, "account": "admin@web01", "broker": "b1",
                                  "client": {"addr": "192.0.2.9", "port": 2222}})
        sid = d["session"]
        c.ok("session.open", {"fp": v.carol_fp, "account": "admin@web01", "broker": "b1",
                              "client": {"addr": "2001:db8::1", "port": 22}})
        js = json.loads(v.cli("--json", "session", "list").stdout)
        assert [s["id"] for s in js["sessions"]] == [sid, "s-2"], js
        js = json.loads(v.cli("session", "list", "--state", "live", "--identity", "carol",
                              "--account", "admin@web01", "--json").stdout)
        assert len(js["sessions"]) == 2, js
        out = v.cli("session", "list").stdout.decode()
        lines = out.splitlines()
        assert lines[0].split() == ["ID", "IDENTITY", "ACCOUNT", "VIA", "STARTED", "STATE",
                                    "CLIENT"], out
        assert "192.0.2.9:2222" in out and "[2001:db8::1]:22" in out, out
        assert "standing" in lines[1] and "live" in lines[1], out
        assert ADMIN_PW not in out
        out = v.cli("session", "list", "--state", "closed").stdout.decode()
        assert len(out.splitlines()) == 1 and out.startswith("ID "), out  # header only
        assert v.cli("session", "list", "--state", "dead", check=False).returncode == 2
        out = v.cli("session", "show", sid).stdout.decode()
        assert out.splitlines()[0].split() == ["id:", sid], out
        assert "192.0.2.9:2222" in out and "admin@web01" in out, out
        assert json.loads(v.cli("--json", "session", "show", sid).stdout)["id"] == sid
        p = v.cli("session", "show", "s-99", check=False)
        assert p.returncode == 1 and b"not_found" in p.stderr, p
        assert v.cli("session", "kill", sid, check=False).returncode == 2  # --reason missing
        assert v.cli("session", "show", check=False).returncode == 2
        out = v.cli("session", "kill", sid, "--reason", "INC-9 audit").stdout.decode()
        assert sid in out and "requested" in out, out
        k = json.loads(v.cli("--json", "session", "kill", sid, "--reason", "again").stdout)
        assert k["kill_reason"] == "again", k
        c.ok("session.close", {"session": sid, "reason": "killed"})
        p = v.cli("session", "kill", sid, "--reason", "too late", check=False)
        assert p.returncode == 1 and b"bad_state" in p.stderr, p
        assert v.cli("session", "--help").returncode == 0
        assert v.cli("session", "list", "--help").returncode == 0
        # Sealed: status 4.
        v.cli("vault", "seal")
        assert v.cli("session", "list", check=False).returncode == 4
        c.close()
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
