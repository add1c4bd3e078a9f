#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""custos-broker against its peers, in one run on one stack.

    python3 bench/bench_broker.py [--quick]

Starts (via tests/integration/brokerbed.py) a vault, one sshd target and custos-broker, plus
a second sshd as the jump host of OpenSSH's own relay, and compares three paths to the same
target account (root on the target):

  direct   ssh to the target (key auth with a bench key)
  -J       ssh -J through the jump host (key auth on both hops)
  broker   ssh to custos-broker (alice's key; the broker logs in with the vaulted password)

Every hop is forced to chacha20-poly1305@openssh.com and curve25519-sha256 (client options
and both sshd configs; libssh 0.10 has no sntrup761). Measured: bulk throughput, session
set-up, the broker's own vault work, keystroke echo latency, and memory per idle session.

Binaries come from $CUSTOS_BUILD_DIR (default ./build). Every process started here is stopped
by its pid; every loop is bounded in count and time; only 127.0.0.1 is used.
"""
import argparse
import os
import platform
import pty
import resource
import select
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault("CUSTOS_BUILD_DIR", os.path.abspath("build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from brokerbed import Stack  # noqa: E402
from harness import Conn  # noqa: E402
from testbed import Target, key_fingerprint, ssh_client_key  # noqa: E402

CIPHER = "chacha20-poly1305@openssh.com"
KEX = "curve25519-sha256"
SSHD_CRYPTO = "Ciphers %s\nKexAlgorithms %s\n" % (CIPHER, KEX)
PATHS = ("direct", "-J", "broker")
HOSTS = {"direct": "bdirect", "-J": "brelayed", "broker": "bbroker"}
MiB = 1 << 20


# ---- small helpers ---------------------------------------------------------------------------

def pct(xs, p):
    """Nearest-rank percentile of a list (p in 0..100)."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def ns_procs(mnt_ns):
    """(pid, comm) of every live process in a mount namespace."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        try:
            if os.readlink("/proc/%d/ns/mnt" % pid) != mnt_ns:
                continue
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        if rest[0] in ("Z", "X"):
            continue
        out.append((pid, st[st.find("(") + 1:st.rfind(")")]))
    return out


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def clean_env():
    return {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "DISPLAY")}


def stop_pids(pids, timeout=10):
    """SIGTERM every pid we started, SIGKILL what is left after timeout; reap."""
    for p in pids:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    for p in pids:
        left = max(0.0, deadline - time.monotonic())
        try:
            p.wait(timeout=left)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


# ---- the bench bed ---------------------------------------------------------------------------

class Bed:
    def __init__(self):
        self.st = Stack()
        self.jump = None
        try:
            self.st.grant(duration=7200)
            self.t = self.st.targets[0]
            # Same cipher and KEX on the target sshd (serves all three paths) and the jump host.
            self.t.extra_config = SSHD_CRYPTO
            self.t.restart()
            self.tmp = self.st.vault.tmp
            self.key, pub, _ = ssh_client_key(self.tmp, name="id_bench")
            self.t.set_authorized_keys("root", [pub])
            self.jump = Target(extra_config=SSHD_CRYPTO).start()
            self.jump.add_user("jumper", authorized_keys=[pub], shell="/bin/sh")
            self.alice_key = self.st.keys["alice"]
            self.alice_fp = key_fingerprint(self.alice_key + ".pub")
            self.write_client_config()
        except BaseException:
            self.cleanup()
            raise

    def write_client_config(self):
        self.known_hosts = os.path.join(self.tmp, "bench_known_hosts")
        with open(self.st.broker.known_hosts) as f:
            broker_line = f.read().strip()
        with open(self.known_hosts, "w") as f:
            f.write(self.t.known_hosts_line() + "\n" + self.jump.known_hosts_line() + "\n" +
                    broker_line + "\n")
        self.cfg = os.path.join(self.tmp, "bench_ssh_config")
        # ssh_config: the first value obtained wins, so host blocks come before "Host *".
        with open(self.cfg, "w") as f:
            f.write("""Host bjump
  HostName 127.0.0.1
  Port {jport}
  User jumper
  IdentityFile {key}
Host bdirect
  HostName 127.0.0.1
  Port {tport}
  User root
  IdentityFile {key}
Host brelayed
  HostName 127.0.0.1
  Port {tport}
  User root
  IdentityFile {key}
  ProxyJump bjump
Host bbroker
  HostName 127.0.0.1
  Port {bport}
  User root@web01
  IdentityFile {akey}
Host *
  Ciphers {cipher}
  KexAlgorithms {kex}
  HostKeyAlgorithms ssh-ed25519
  UserKnownHostsFile {kh}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  IdentitiesOnly yes
  IdentityAgent none
  PasswordAuthentication no
  KbdInteractiveAuthentication no
  ControlMaster no
  ControlPath none
  ConnectTimeout 10
  EscapeChar none
  LogLevel ERROR
""".format(jport=self.jump.port, tport=self.t.port, bport=self.st.broker.port, key=self.key,
           akey=self.alice_key, cipher=CIPHER, kex=KEX, kh=self.known_hosts))

    def argv(self, path, command, tty=False):
        return ["ssh", "-F", self.cfg, "-tt" if tty else "-T", HOSTS[path], "--", command]

    def run(self, path, command, timeout, stdout=subprocess.DEVNULL):
        return subprocess.run(self.argv(path, command), stdin=subprocess.DEVNULL, stdout=stdout,
                              stderr=subprocess.PIPE, timeout=timeout, env=clean_env(),
                              start_new_session=True)

    def cleanup(self):
        try:
            if self.jump:
                self.jump.cleanup()
        finally:
            self.st.cleanup()


# ---- 1. throughput ---------------------------------------------------------------------------

def bench_throughput(bed, size, runs):
    res = {p: [] for p in PATHS}
    # One untimed check per path that the bytes arrive whole.
    check = 32 * MiB
    for p in PATHS:
        r = bed.run(p, "head -c %d /dev/zero" % check, timeout=60, stdout=subprocess.PIPE)
        if r.returncode != 0 or len(r.stdout) != check:
            raise AssertionError("%s: %d bytes of %d, rc %d: %s" % (
                p, len(r.stdout), check, r.returncode, r.stderr.decode(errors="replace")))
    for i in range(runs):
        for p in PATHS:
            t0 = time.monotonic()
            try:
                r = bed.run(p, "head -c %d /dev/zero" % size, timeout=180)
                ok = r.returncode == 0
                err = r.stderr.decode(errors="replace").strip()
            except subprocess.TimeoutExpired:
                ok, err = False, "timed out after 180 s"
            dt = time.monotonic() - t0
            if not ok:
                print("  throughput %s run %d FAILED: %s" % (p, i + 1, err))
                continue
            res[p].append(size / dt / 1e6)
            print("  throughput run %d %-6s %7.1f MB/s (%.2f s, load %s)"
                  % (i + 1, p, size / dt / 1e6, dt, loadavg()), flush=True)
    return res


# ---- 2. set-up -------------------------------------------------------------------------------

def bench_setup(bed, n):
    res = {p: [] for p in PATHS}
    for p in PATHS:  # warm-up
        bed.run(p, "true", timeout=30)
    for i in range(n):
        for p in PATHS:
            t0 = time.monotonic()
            r = bed.run(p, "true", timeout=30)
            dt = (time.monotonic() - t0) * 1000
            if r.returncode == 0:
                res[p].append(dt)
            else:
                print("  setup %s FAILED: %s" % (p, r.stderr.decode(errors="replace").strip()))
    return res


def bench_vault_work(bed, n):
    """session.open (authorization + credential release, audited) and session.close, timed
    on a direct vault socket connection: the broker's own work per session."""
    c = Conn(bed.st.vault.sock)
    opens, closes = [], []
    try:
        for i in range(n):
            t0 = time.perf_counter()
            d = c.ok("session.open", {"fp": bed.alice_fp, "account": "root@web01",
                                      "broker": "bench", "kind": "exec", "command": "true",
                                      "client": {"addr": "127.0.0.1", "port": 40000 + i}})
            t1 = time.perf_counter()
            if not d.get("allow"):
                raise AssertionError("session.open refused: %s" % d)
            c.ok("session.close", {"session": d["session"], "reason": "bench",
                                   "exit_status": 0})
            t2 = time.perf_counter()
            opens.append((t1 - t0) * 1000)
            closes.append((t2 - t1) * 1000)
    finally:
        c.close()
    return opens, closes


# ---- 3. keystroke echo latency ----------------------------------------------------------------

class EchoSession:
    """ssh -tt on a pty running `stty raw -echo; cat` remotely: every byte comes back."""

    def __init__(self, bed, path):
        self.path = path
        argv = bed.argv(path, "stty raw -echo; echo READY; exec cat", tty=True)
        env = clean_env()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)

    def wait_ready(self, timeout=30):
        buf = b""
        deadline = time.monotonic() + timeout
        while b"READY" not in buf and time.monotonic() < deadline:
            r, _, _ = select.select([self.fd], [], [], 0.5)
            if r:
                try:
                    d = os.read(self.fd, 4096)
                except OSError:
                    break
                if not d:
                    break
                buf += d
        if b"READY" not in buf:
            raise AssertionError("%s: no READY from the remote cat: %r" % (self.path, buf[-300:]))

    def drain(self):
        while select.select([self.fd], [], [], 0.05)[0]:
            try:
                if not os.read(self.fd, 4096):
                    break
            except OSError:
                break

    def echo(self, b, timeout=2.0):
        """Milliseconds from writing byte b until it is read back, or None if lost."""
        t0 = time.perf_counter()
        os.write(self.fd, b)
        got = b""
        limit = t0 + timeout
        while b not in got:
            left = limit - time.perf_counter()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    d = os.read(self.fd, 64)
                except OSError:
                    return None
                if not d:
                    return None
                got += d
        return (time.perf_counter() - t0) * 1000

    def close(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if os.waitpid(self.pid, os.WNOHANG)[0] == self.pid:
                break
            time.sleep(0.02)
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def bench_echo(bed, count, gap):
    """All three sessions open at once; each gets one byte every `gap` seconds, the three
    paths taking turns in slots gap/3 apart, so that load drifts hit them alike."""
    sess = {}
    lat = {p: [] for p in PATHS}
    try:
        for p in PATHS:
            sess[p] = EchoSession(bed, p)
        for p in PATHS:
            sess[p].wait_ready()
        time.sleep(0.3)  # the line end after READY arrives; drop it
        for p in PATHS:
            sess[p].drain()
        slot = gap / len(PATHS)
        t_start = time.perf_counter()
        for i in range(count):
            for k, p in enumerate(PATHS):
                wait = t_start + (i * len(PATHS) + k) * slot - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                ms = sess[p].echo(bytes([0x61 + i % 26]))
                if ms is None:
                    raise AssertionError("%s: echo of byte %d lost" % (p, i))
                lat[p].append(ms)
    finally:
        for s in sess.values():
            s.close()
    return lat


# ---- 4. idle memory ---------------------------------------------------------------------------

def live_sessions(bed):
    c = Conn(bed.st.vault.sock, timeout=30)
    try:
        return len(c.ok("session.list", {"state": "live"})["sessions"])
    finally:
        c.close()


def count_sleeps(mnt_ns, arg):
    """Processes `sleep ARG` in the target's namespace (one per established session)."""
    n = []
    for pid, c in ns_procs(mnt_ns):
        if c != "sleep":
            continue
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if f.read().split(b"\0")[1:2] == [arg.encode()]:
                    n.append(pid)
        except OSError:
            pass
    return n


def open_idle(bed, n_want, batch, end, errf, t_start, arg):
    """Open up to n_want `sleep 600` sessions through the broker, batch by batch, each batch
    waited for until its sleeps run on the target. -> (clients, established, note)."""
    t, bpid = bed.t, bed.st.broker.proc.pid
    clients = []
    established = 0
    note = ""
    while len(clients) < n_want and time.monotonic() < end:
        k = min(batch, n_want - len(clients))
        for _ in range(k):
            clients.append(subprocess.Popen(bed.argv("broker", "sleep " + arg),
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=errf, env=clean_env(),
                                            start_new_session=True))
        bdead = min(end, time.monotonic() + 90)
        while time.monotonic() < bdead:
            established = len(count_sleeps(t.mnt_ns, arg))
            dead = sum(1 for p in clients if p.poll() is not None)
            if established + dead >= len(clients):
                break
            time.sleep(0.3)
        dead = sum(1 for p in clients if p.poll() is not None)
        print("  idle sessions: %d started, %d established, %d client exits, %.0f s, "
              "broker PSS %d KiB, load %s" % (len(clients), established, dead,
                                              time.monotonic() - t_start, pss_kib(bpid),
                                              loadavg()), flush=True)
        if dead > max(10, len(clients) // 20):
            note = "stopped: %d clients failed (see stderr sample)" % dead
            break
    if len(clients) < n_want and not note:
        note = "stopped at the time budget"
    return clients, established, note


def wait_no_live(bed, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not live_sessions(bed):
            return True
        time.sleep(0.5)
    return False


def bench_memory(bed, n_want, batch, budget):
    st, t = bed.st, bed.t
    # A fresh broker process, so that earlier bulk runs' freed heap does not hide growth.
    st.broker.stop()
    st.broker.start()
    for _ in range(2):
        bed.run("broker", "true", timeout=30)
    wait_no_live(bed, 30)
    time.sleep(1)
    bpid = st.broker.proc.pid
    before = pss_kib(bpid)
    before_rss = rss_kib(bpid)
    errpath = os.path.join(bed.tmp, "idle_clients.err")
    errf = open(errpath, "ab")
    t_start = time.monotonic()
    end = t_start + budget
    clients = []
    try:
        clients, established, note = open_idle(bed, n_want, batch, end, errf, t_start, "600")
        if note == "stopped at the time budget":
            note += " (%d s)" % budget
        time.sleep(2)
        established = len(count_sleeps(t.mnt_ns, "600"))
        vlive = live_sessions(bed)
        after = pss_kib(bpid)
        after_rss = rss_kib(bpid)
        sshd_pss = other_pss = 0
        nsshd = 0
        for pid, c in ns_procs(t.mnt_ns):
            if pid == t.pid:
                continue  # the listener
            if c == "sshd":
                sshd_pss += pss_kib(pid)
                nsshd += 1
            else:
                other_pss += pss_kib(pid)
        client_pss = sum(pss_kib(p.pid) for p in clients if p.poll() is None)
        threads = len(os.listdir("/proc/%d/task" % bpid))
        fds = len(os.listdir("/proc/%d/fd" % bpid))
    finally:
        stop_pids(clients, timeout=20)
    # Closed: does the broker give the memory back, and does a second round reuse it?
    closed_ok = wait_no_live(bed, 60)
    # Once the broker closes a session's target leg, that sshd ends (wait for it, bounded);
    # a `sleep` without a tty outlives its sshd (as with plain OpenSSH): end those by pid.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sshd_left = [p for p, c in ns_procs(t.mnt_ns) if c == "sshd" and p != t.pid]
        if not sshd_left:
            break
        time.sleep(0.5)
    for pid in count_sleeps(t.mnt_ns, "600"):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(1)
    after_close = pss_kib(bpid)
    fds_closed = len(os.listdir("/proc/%d/fd" % bpid))
    n2 = min(n_want, 200)
    clients2 = []
    try:
        clients2, est2, _ = open_idle(bed, n2, batch, time.monotonic() + 120, errf,
                                      time.monotonic(), "599")
        time.sleep(2)
        est2 = len(count_sleeps(t.mnt_ns, "599"))
        after2 = pss_kib(bpid)
    finally:
        stop_pids(clients2, timeout=20)
        errf.close()
    wait_no_live(bed, 60)
    try:
        with open(errpath, "rb") as f:
            sample = f.read()[-600:].decode(errors="replace")
    except OSError:
        sample = ""
    n = established
    return {"n": n, "want": n_want, "vault_live": vlive, "before": before, "after": after,
            "before_rss": before_rss, "after_rss": after_rss,
            "per": (after - before) / n if n else None,
            "sshd_per": sshd_pss / nsshd if nsshd else None, "nsshd": nsshd,
            "other_per": other_pss / n if n else None,
            "client_per": client_pss / n if n else None, "threads": threads, "fds": fds,
            "note": note, "stderr": sample, "after_close": after_close, "closed_ok": closed_ok,
            "sshd_left": len(sshd_left), "fds_closed": fds_closed,
            "n2": est2, "after2": after2}


# ---- main ------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="128 MiB, 200 idle sessions")
    ap.add_argument("--sessions", type=int, help="idle sessions to open (default 1000/200)")
    a = ap.parse_args()
    quick = a.quick
    size = (128 if quick else 1024) * MiB
    n_idle = a.sessions or (200 if a.quick else 1000)
    runs, n_setup, n_vault, n_echo, gap = 3, 20, 50, 200, 0.020

    # Room for 1,000 clients plus both legs in the broker: children inherit the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(hard, 65536)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]

    t_all = time.monotonic()
    print("bench_broker: %s, %d CPUs, load %s, RLIMIT_NOFILE %d, build %s" % (
        platform.node(), os.cpu_count(), loadavg(), nofile, os.environ["CUSTOS_BUILD_DIR"]))
    print("  ssh: %s" % subprocess.run(["ssh", "-V"], capture_output=True).stderr.decode().strip())
    bed = Bed()
    results, errors = {}, {}

    def phase(name, fn, *args):
        """Run one step; a failure is reported in the summary instead of ending the run."""
        try:
            results[name] = fn(*args)
        except Exception as e:  # noqa: BLE001 (report, then go on with the next step)
            errors[name] = "%s: %s" % (type(e).__name__, str(e)[:300])
            print("  FAILED: %s" % errors[name], flush=True)

    try:
        print("1. throughput: head -c %d MiB /dev/zero > /dev/null, %d interleaved runs"
              % (size // MiB, runs), flush=True)
        phase("tp", bench_throughput, bed, size, runs)
        print("2. set-up: ssh ... true, %d interleaved runs" % n_setup, flush=True)
        phase("setup", bench_setup, bed, n_setup)
        for p in PATHS:
            xs = results.get("setup", {}).get(p, [])
            print("  %-6s median %.0f ms, p90 %.0f ms (n=%d)" % (p, med(xs), pct(xs, 90),
                                                               len(xs)))
        print("   vault session.open + session.close, %d times" % n_vault, flush=True)
        phase("vault", bench_vault_work, bed, n_vault)
        print("3. keystroke echo: %d bytes per path, %d ms apart, the paths interleaved"
              % (n_echo, gap * 1000), flush=True)
        phase("echo", bench_echo, bed, n_echo, gap)
        for p in PATHS:
            xs = results.get("echo", {}).get(p, [])
            print("  %-6s p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (n=%d)"
                  % (p, pct(xs, 50), pct(xs, 90), pct(xs, 99), max(xs or [float("nan")]),
                     len(xs)), flush=True)
        print("4. idle memory: %d sessions through the broker, batches of 50" % n_idle,
              flush=True)
        phase("mem", bench_memory, bed, n_idle, 50, 240 if quick else 420)
        # The broker's own complaints during the run (journald priorities: 3 err, 4 warning).
        bad = [l for l in bed.st.broker.logtext().splitlines() if l[:3] in ("<2>", "<3>", "<4>")]
        results["log"] = (len(bad), bad[-3:])
    finally:
        bed.cleanup()
    sys.exit(report(results, errors, size, nofile, time.monotonic() - t_all))


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def report(r, errors, size, nofile, elapsed):
    rows = []
    nan = float("nan")
    if "tp" in r:
        tp = {p: med(v) for p, v in r["tp"].items()}
        rows.append(("bulk %d MiB, MB/s (median of %d)" % (size // MiB, len(r["tp"]["broker"])),
                     "%.0f" % tp["direct"], "%.0f" % tp["-J"], "%.0f" % tp["broker"],
                     "%.2f× -J, %.2f× direct" % (tp["broker"] / tp["-J"],
                                                 tp["broker"] / tp["direct"]),
                     "≥ 0.9× -J", tp["broker"] >= 0.9 * tp["-J"]))
    if "setup" in r:
        su = {p: med(v) for p, v in r["setup"].items()}
        s90 = {p: pct(v, 90) for p, v in r["setup"].items()}
        rows.append(("set-up `true`, median ms (n=%d)" % len(r["setup"]["broker"]),
                     "%.0f" % su["direct"], "%.0f" % su["-J"], "%.0f" % su["broker"],
                     "%.2f× -J" % (su["broker"] / su["-J"]), "≤ 1.1× -J",
                     su["broker"] <= 1.1 * su["-J"]))
        rows.append(("set-up `true`, p90 ms", "%.0f" % s90["direct"], "%.0f" % s90["-J"],
                     "%.0f" % s90["broker"], "%.2f× -J" % (s90["broker"] / s90["-J"]),
                     "report", None))
    if "vault" in r:
        opens, closes = r["vault"]
        own = med(opens)
        rows.append(("broker's own work: vault session.open (authorize + credential), median ms",
                     "", "", "%.2f (p90 %.2f)" % (own, pct(opens, 90)),
                     "close %.2f ms" % med(closes), "< 15 ms", own < 15))
    if "echo" in r:
        e = r["echo"]
        for q in (50, 99):
            d, j, b = pct(e["direct"], q), pct(e["-J"], q), pct(e["broker"], q)
            rows.append(("keystroke echo p%d, ms (n=%d each)" % (q, len(e["broker"])),
                         "%.2f" % d, "%.2f" % j, "%.2f" % b,
                         "%.2f× -J; over direct: -J %+.2f, broker %+.2f" % (b / j, j - d, b - d),
                         "≤ 1.1× -J", b <= 1.1 * j))
    m = r.get("mem")
    if m and m["n"]:
        rows.append(("idle memory per session, PSS KiB (N=%d)" % m["n"], "",
                     "sshd %.0f" % (m["sshd_per"] or nan), "%.0f" % m["per"],
                     "%.3f× sshd" % (m["per"] / (m["sshd_per"] or nan)), "≤ 200 KiB",
                     m["per"] <= 200 and m["n"] >= m["want"]))
        rows.append(("target legs closed once the %d admins left (sshd left, broker fds)"
                     % m["n"], "", "", "%d, %d" % (m["sshd_left"], m["fds_closed"]), "",
                     "0 sshd left", m["sshd_left"] == 0))
    for name, err in errors.items():
        rows.append(("%s: NOT MEASURED (%s)" % (name, err[:60]), "", "", "", "", "", False))
    print()
    print("%-72s %9s %9s %17s  %-44s %-11s %s" % ("what", "direct", "-J", "broker", "ratio",
                                                  "target", "result"))
    for w, d, j, b, ratio, target, ok in rows:
        print("%-72s %9s %9s %17s  %-44s %-11s %s"
              % (w, d, j, b, ratio, target, "-" if ok is None else "PASS" if ok else "MISS"))
    print()
    if m and m["n"]:
        print("memory detail: broker PSS %d -> %d KiB (RSS %d -> %d KiB), %.1f KiB/session; "
              "%d threads, %d fds at N=%d; vault live sessions %d; target sshd session procs "
              "%d (%.0f KiB each; one per root login), shell+sleep %.0f KiB/session, ssh "
              "client %.0f KiB/session; N wanted %d%s"
              % (m["before"], m["after"], m["before_rss"], m["after_rss"], m["per"],
                 m["threads"], m["fds"], m["n"], m["vault_live"], m["nsshd"],
                 m["sshd_per"] or nan, m["other_per"], m["client_per"], m["want"],
                 ("; " + m["note"]) if m["note"] else ""))
        print("after close: vault shows %s; target sshd session processes left: %d; broker "
              "fds %d, PSS %d KiB; a second round of %d idle sessions -> %d KiB (%+.1f "
              "KiB/session over the closed state)"
              % ("all closed" if m["closed_ok"] else "NOT all closed in 60 s", m["sshd_left"],
                 m["fds_closed"], m["after_close"], m["n2"], m["after2"],
                 (m["after2"] - m["after_close"]) / m["n2"] if m["n2"] else nan))
    elif m:
        print("memory: no idle session was established. %s" % m["note"])
    if m and m["note"] and m["stderr"]:
        print("client stderr sample: %s" % m["stderr"].strip()[-400:])
    for p in PATHS:
        print("raw %-6s MB/s %s" % (p, " ".join("%.0f" % x for x in r.get("tp", {}).get(p, []))))
    nbad, last = r.get("log", (0, []))
    print("broker log: %d error/warning lines%s" % (nbad, "".join("\n  " + l[:200] for l in last)))
    print("RLIMIT_NOFILE %d; total %.0f s; load at end %s" % (nofile, elapsed, loadavg()))
    return 1 if errors else 0


if __name__ == "__main__":
    main()
