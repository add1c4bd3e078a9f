#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A stand-in for systemctl and journalctl inside the install test's chroot (PID 1 there is not
systemd). It does for custos-*.service what systemd would, from the installed unit file and
its drop-ins: creates RuntimeDirectory= and StateDirectory= for User=, copies LoadCredential=
files into a private credentials directory, and starts ExecStart= under the unit's sandbox
(sandbox.py + sandbox_exec, as test_sandbox.py does). Pids go to /run/custos-test/UNIT.pid,
logs to /var/log/custos-test/UNIT.log (journalctl -u UNIT prints them).

    systemctl [--now] enable|disable|start|stop|restart|status|is-active UNIT...
    journalctl -u UNIT [-n N] [--no-pager]

`start` returns once the daemon logged "ready" (systemd returns at exec for Type=simple; the
install guide's next command must not race a daemon still starting)."""
import grp
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sandbox  # noqa: E402

STATE = "/run/custos-test"
LOGS = "/var/log/custos-test"


def unit_file(name):
    for d in ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    sys.exit("systemctl: Unit %s could not be found." % name)


def load(name):
    u = sandbox.Unit(unit_file(name))
    dropins = "/etc/systemd/system/%s.d" % name
    if os.path.isdir(dropins):
        for f in sorted(os.listdir(dropins)):
            if f.endswith(".conf"):
                extra = sandbox.Unit(os.path.join(dropins, f))
                for k, v in extra.service.items():
                    u.service.setdefault(k, []).extend(v)
    return u


def pidfile(name):
    return os.path.join(STATE, name + ".pid")


def running_pid(name):
    try:
        pid = int(open(pidfile(name)).read())
        os.kill(pid, 0)
        with open("/proc/%d/stat" % pid) as f:
            if f.read().split(")")[-1].split()[0] in ("Z", "X"):
                return None
        return pid
    except (OSError, ValueError):
        return None


def mkdir_owned(path, uid, gid, mode):
    os.makedirs(path, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def start(name):
    if running_pid(name):
        return
    u = load(name)
    pw = pwd.getpwnam(u.get("User"))
    gid = grp.getgrnam(u.get("Group")).gr_gid if u.get("Group") else pw.pw_gid
    groups = [grp.getgrnam(g).gr_gid for g in (u.get("SupplementaryGroups") or "").split()]
    os.makedirs(STATE, exist_ok=True)
    os.makedirs(LOGS, exist_ok=True)
    state = runtime = creds = None
    if u.get("StateDirectory"):
        state = "/var/lib/" + u.get("StateDirectory")
        if not os.path.isdir(state):
            mkdir_owned(state, pw.pw_uid, gid, int(u.get("StateDirectoryMode", "0755"), 8))
        else:
            os.chown(state, pw.pw_uid, gid)  # as systemd does for StateDirectory=
    if u.get("RuntimeDirectory"):
        runtime = "/run/" + u.get("RuntimeDirectory")
        mkdir_owned(runtime, pw.pw_uid, gid, int(u.get("RuntimeDirectoryMode", "0755"), 8))
    if u.service.get("LoadCredential"):
        creds = os.path.join(STATE, "credentials", name)
        shutil.rmtree(creds, ignore_errors=True)
        os.makedirs(creds)
        for spec in u.service["LoadCredential"]:
            cid, src = spec.split(":", 1)
            dst = os.path.join(creds, cid)
            shutil.copyfile(src, dst)
            os.chown(dst, pw.pw_uid, gid)
            os.chmod(dst, 0o400)
        os.chown(creds, pw.pw_uid, gid)
        os.chmod(creds, 0o500)
    host_run = None
    if not runtime and name == "custos-broker.service":
        host_run = ("/run/custos", "custos")  # vaultd's RuntimeDirectory, as on the host
    argv = sandbox.launcher_argv(u, STATE, pw.pw_uid, gid, groups, state_src=state,
                                 runtime_src=runtime, creds_src=creds, host_run=host_run,
                                 fresh_parents=False)
    argv += sandbox.exec_start(u)
    log = os.path.join(LOGS, name + ".log")
    with open(log, "ab") as lf:
        offset = lf.tell()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                             start_new_session=True)
    with open(pidfile(name), "w") as f:
        f.write(str(p.pid))
    deadline = time.time() + 20
    while time.time() < deadline:
        if p.poll() is not None:
            sys.stderr.write(open(log).read()[offset:])
            sys.exit("systemctl: %s failed: exit status %d" % (name, p.returncode))
        with open(log, "rb") as f:
            f.seek(offset)
            if b": ready " in f.read():
                return
        time.sleep(0.05)
    sys.exit("systemctl: %s did not become ready" % name)


def stop(name):
    pid = running_pid(name)
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 30
        while time.time() < deadline and running_pid(name):
            time.sleep(0.05)
        if running_pid(name):
            os.kill(pid, signal.SIGKILL)
    u = load(name)
    if u.get("RuntimeDirectory"):
        shutil.rmtree("/run/" + u.get("RuntimeDirectory"), ignore_errors=True)
    shutil.rmtree(os.path.join(STATE, "credentials", name), ignore_errors=True)


def status(name):
    pid = running_pid(name)
    print("● %s" % name)
    if not pid:
        print("     Active: inactive (dead)")
        return 3
    with open("/proc/%d/status" % pid) as f:
        uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
    print("     Active: active (running)\n   Main PID: %d (uid %s)" % (pid, uid))
    log = os.path.join(LOGS, name + ".log")
    if os.path.exists(log):
        print("".join(open(log).readlines()[-5:]), end="")
    return 0


def systemctl(args):
    now = "--now" in args
    args = [a for a in args if not a.startswith("-")]
    if not args:
        sys.exit("systemctl: no command")
    cmd, units = args[0], [u if u.endswith(".service") else u + ".service" for u in args[1:]]
    rc = 0
    for u in units:
        if cmd in ("start",) or (cmd == "enable" and now):
            start(u)
        elif cmd == "stop" or (cmd == "disable" and now):
            stop(u)
        elif cmd == "restart":
            stop(u)
            start(u)
        elif cmd == "status":
            rc = max(rc, status(u))
        elif cmd == "is-active":
            print("active" if running_pid(u) else "inactive")
            rc = max(rc, 0 if running_pid(u) else 3)
        elif cmd in ("enable", "disable", "daemon-reload"):
            pass
        else:
            sys.exit("systemctl: %s is not known to the test's systemctl" % cmd)
    return rc


def journalctl(args):
    unit = args[args.index("-u") + 1]
    unit = unit if unit.endswith(".service") else unit + ".service"
    n = int(args[args.index("-n") + 1]) if "-n" in args else 10
    log = os.path.join(LOGS, unit + ".log")
    if os.path.exists(log):
        print("".join(open(log).readlines()[-n:]), end="")
    return 0


if __name__ == "__main__":
    prog = os.path.basename(sys.argv[0])
    sys.exit(journalctl(sys.argv[1:]) if prog == "journalctl" else systemctl(sys.argv[1:]))
