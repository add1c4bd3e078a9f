#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The vault socket against local users and careless clients: peers of no principal closed at
accept, connections capped per uid, short line limit for most callers, silent connections
closed while the broker's subscription stays, and a half-closing client answered in full."""
import json
import os
import socket
import subprocess
import time

from harness import run_tests
from peers import Holder, Subscriber, audit, shared_vault

NOBODY = 65534   # principal "reader": read only
BROKER = 65533   # principal "broker1": authorize, broker (the broker's scopes)
STRANGER = 65532  # no principal at all
READER2 = 65531  # principal "reader2": read, another uid

PRINCIPALS = ("[principal reader]\nuids = %d\nscopes = read\n\n"
              "[principal reader2]\nuids = %d\nscopes = read\n\n"
              "[principal broker1]\nuids = %d\nscopes = authorize, broker\n"
              % (NOBODY, READER2, BROKER))
STATUS = '{"id": 1, "op": "vault.status"}\n'


def vault(api=""):
    return shared_vault(extra="[api]\n%s\n%s" % (api, PRINCIPALS))


def test_no_principal_is_closed_at_accept_and_cannot_take_the_slots():
    v = vault("max_clients = 6\n")
    held = None
    try:
        # Twenty connections of a uid that is no principal, all kept open by the child.
        held = Holder(v, STRANGER, [{"send": STATUS}] * 20)
        for r in held.results:
            assert r["closed"] is True, r
            # Told why in one line (when the socket took it), never served.
            if r["answer"] is not None:
                assert r["answer"]["error"]["code"] == "denied", r
                assert "no principal" in r["answer"]["error"]["message"], r
                assert "result" not in r["answer"], r
        assert any(r["answer"] for r in held.results), held.results
        # With the stranger's connections still open on its side, every slot is free.
        others = [v.connect() for _ in range(5)]
        for c in others:
            assert c.ok("vault.status")["state"] == "unsealed"
        peer = Holder(v, NOBODY, [{"send": STATUS}])
        assert peer.results[0]["answer"]["result"]["state"] == "unsealed", peer.results
        assert peer.results[0]["closed"] is False, peer.results
        peer.release()
        for c in others:
            c.close()
        # One log line for the flood, not twenty (rate-limited), naming the uid.
        log = v.logtext()
        refused = [l for l in log.splitlines() if "is no principal of this vault" in l]
        assert 1 <= len(refused) <= 2, refused
        assert "uid=%d" % STRANGER in refused[0], refused
        # Nothing of it reached the audit trail (no forced fsyncs for strangers).
        assert not [e for e in audit(v) if e.get("uid") == STRANGER]
    finally:
        if held:
            held.release()
        v.cleanup()


def test_a_principals_uid_is_capped_and_others_are_still_served():
    v = vault("max_clients_per_uid = 4\nmax_clients = 64\n")
    held = None
    try:
        held = Holder(v, NOBODY, [{"send": STATUS}] * 6)
        served = [r for r in held.results if r["answer"] and "result" in r["answer"]]
        refused = held.results[4:]
        assert len(served) == 4 and all(not r["closed"] for r in held.results[:4]), held.results
        for r in refused:
            assert r["closed"] is True, r
            assert r["answer"]["error"]["code"] == "busy", r
            assert "max_clients_per_uid" in r["answer"]["error"]["message"], r
        # Another uid, the broker's, and the daemon's own are not affected.
        other = Holder(v, READER2, [{"send": STATUS}] * 2)
        assert all("result" in r["answer"] and not r["closed"] for r in other.results), other.results
        other.release()
        broker = Holder(v, BROKER, [{"send": STATUS}])
        assert "result" in broker.results[0]["answer"], broker.results
        broker.release()
        own = [v.connect() for _ in range(6)]  # the daemon's own uid is not counted
        assert all(c.ok("vault.status")["state"] == "unsealed" for c in own)
        for c in own:
            c.close()
        assert "holds 4 connections (max_clients_per_uid)" in v.logtext()
        # Released, the uid gets its slots back.
        held.release()
        held = None
        deadline = time.time() + 10
        while True:
            again = Holder(v, NOBODY, [{"send": STATUS}] * 4)
            ok = all(r["answer"] and "result" in r["answer"] for r in again.results)
            again.release()
            if ok or time.time() > deadline:
                break
            time.sleep(0.2)
        assert ok, again.results
    finally:
        if held:
            held.release()
        v.cleanup()


def test_half_sent_huge_line_is_cut_at_the_short_limit():
    v = vault()
    held = None
    try:
        # A read-only principal: its ops need short lines only.  200 KiB without a newline is
        # answered too_long at 64 KiB, at once, while the line is still unfinished, and the
        # rest of it is dropped as it comes (never buffered).
        big = '{"id": 1, "op": "vault.status", "pad": "' + "a" * (200 << 10)
        plan = [{"send": big, "wait": 5, "close_wait": 0.1}] * 10
        held = Holder(v, NOBODY, plan)
        for r in held.results:
            assert r["answer"] and r["answer"]["error"]["code"] == "too_long", r
            assert "at most 65536 bytes" in r["answer"]["error"]["message"], r
            assert r["closed"] is False, r
        held.release()
        held = None
        # The connection stays usable once the line ends.
        peer = Holder(v, NOBODY, [{"send": big + '"}\n' + STATUS}])
        assert peer.results[0]["answer"]["error"]["code"] == "too_long", peer.results
        peer.release()
        # The daemon's own uid (and write/gov principals) still get max_line (1 MiB).
        c = v.connect()
        c.send_raw(('{"id": 9, "op": "vault.status", "pad": "' + "a" * (400 << 10) + '"}\n')
                   .encode())
        ans = c.recv()
        assert ans["id"] == 9 and ans["result"]["state"] == "unsealed", ans
        c.close()
    finally:
        if held:
            held.release()
        v.cleanup()


def test_silent_connection_is_closed_while_the_broker_subscription_stays():
    v = vault("quiet_timeout = 2\n")
    held = bsub = keep = None
    try:
        sub = Subscriber(v)  # the daemon's own uid: exempt
        # A broker principal's event link: exempt however long it is silent.
        bsub = Holder(v, BROKER, [{"send": '{"id": 1, "op": "events.subscribe"}\n',
                                   "close_wait": 4.5}])
        assert bsub.results[0]["answer"]["result"]["subscribed"], bsub.results
        assert bsub.results[0]["closed"] is False, bsub.results
        # A reader that says nothing after its answer: closed once silent for 2 s.
        t0 = time.time()
        held = Holder(v, NOBODY, [{"send": STATUS, "close_wait": 6}])
        took = time.time() - t0
        assert held.results[0]["answer"]["result"]["state"] == "unsealed", held.results
        assert held.results[0]["closed"] is True, held.results
        assert 1.5 <= took <= 5.5, took
        assert "silent for 2s, disconnecting" in v.logtext()
        # Empty lines are keep-alives: a reader that sends one each second stays.
        keep = subprocess.Popen(["python3", "-c", KEEPALIVE, v.sock, str(NOBODY)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = keep.communicate(timeout=30)
        assert keep.returncode == 0, err
        assert json.loads(out)["result"]["state"] == "unsealed", out
        # The subscriber, silent all along, still gets events.
        c = v.connect()
        c.ok("gov.identity.create", {"id": "zed", "name": "Zed", "email": "zed@example.com"})
        c.ok("gov.identity.suspend", {"id": "zed", "reason": "test"})
        assert sub.next("identity.suspended")["data"]["identity"] == "zed"
        c.close()
        sub.close()
    finally:
        for h in (held, bsub):
            if h:
                h.release()
        if keep and keep.poll() is None:
            keep.kill()
            keep.wait()
        v.cleanup()


KEEPALIVE = r'''
import json, os, socket, sys, time
os.setgroups([]); os.setgid(int(sys.argv[2])); os.setuid(int(sys.argv[2]))
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
for _ in range(5):
    s.sendall(b"\n"); time.sleep(1)
s.sendall(b'{"id": 3, "op": "vault.status"}\n')
buf = b""
while b"\n" not in buf:
    d = s.recv(65536)
    if not d: sys.exit("closed")
    buf += d
print(buf.split(b"\n")[0].decode())
'''


def world(v):
    c = v.connect()
    c.ok("target.create", {"name": "web01", "host": "127.0.0.1"})
    c.ok("account.create", {"id": "root@web01", "kind": "password"})
    c.ok("secret.put", {"account": "root@web01", "value": "pw-one-Xy7"})
    return c


def test_socat_pipe_gets_every_answer():
    v = vault()
    try:
        c = world(v)
        lines = [
            {"id": 1, "op": "secret.get", "args": {"account": "root@web01"}},
            {"id": 2, "op": "secret.put", "args": {"account": "root@web01",
                                                   "value": "pw-two-Qr4"}},
            {"id": 3, "op": "audit.verify"},
        ]
        # docs/api.md's recipe, as is: printf ... | socat - UNIX-CONNECT:...
        p = subprocess.run(["socat", "-", "UNIX-CONNECT:" + v.sock],
                           input="".join(json.dumps(l) + "\n" for l in lines).encode(),
                           capture_output=True, timeout=30)
        got = [json.loads(l) for l in p.stdout.splitlines()]
        assert [a["id"] for a in got] == [1, 2, 3], p
        assert got[0]["result"]["value"] == "pw-one-Xy7", got[0]
        assert got[1]["result"]["version"] == 2, got[1]
        assert got[2]["result"]["ok"] is True, got[2]
        assert c.ok("secret.get", {"account": "root@web01"})["value"] == "pw-two-Qr4"
        c.close()
    finally:
        v.cleanup()


def test_shutdown_write_side_answers_loop_read_write_and_threadpool_ops():
    v = vault()
    try:
        c = world(v)
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(20)
        s.connect(v.sock)
        reqs = [
            {"id": 1, "op": "vault.status"},                                   # loop
            {"id": 2, "op": "target.list"},                                    # read txn
            {"id": 3, "op": "secret.put", "args": {"account": "root@web01",
                                                   "value": "pw-three-Zt9"}},  # writer
            {"id": 4, "op": "secret.get", "args": {"account": "root@web01"}},  # audited release
            {"id": 5, "op": "audit.verify"},                                   # writer, walks
            {"id": 6, "op": "vault.backup", "args": {"path": v.tmp + "/b.mdb"}},  # threadpool
            {"id": 7, "op": "vault.status"},
        ]
        s.sendall("".join(json.dumps(r) + "\n" for r in reqs).encode() +
                  b'{"id": 8, "op": "vault.sta')  # no newline: answered, not run
        s.shutdown(socket.SHUT_WR)
        buf = b""
        deadline = time.time() + 20
        while time.time() < deadline:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        else:
            raise AssertionError("the vault never closed the half-closed connection")
        got = [json.loads(l) for l in buf.splitlines()]
        assert [a["id"] for a in got] == [1, 2, 3, 4, 5, 6, 7, None], got
        assert all("result" in a for a in got[:7]), got
        assert got[3]["result"]["value"] == "pw-three-Zt9", got[3]
        assert got[5]["result"]["bytes"] > 0 and os.path.exists(v.tmp + "/b.mdb"), got[5]
        assert got[7]["error"]["code"] == "parse", got[7]
        assert "newline" in got[7]["error"]["message"], got[7]
        s.close()
        # The release was audited once, and answered.
        rel = [e for e in audit(v) if e["op"] == "secret.get"]
        assert len(rel) == 1, rel
        c.close()
    finally:
        v.cleanup()


if __name__ == "__main__":
    run_tests(globals())
