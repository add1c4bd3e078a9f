# SPDX-License-Identifier: Apache-2.0
"""Run a daemon under its systemd unit's sandbox without systemd (PID 1 here is not systemd).

Unit(path) reads a unit file (or a contrib/systemd/*.service.in template); launcher_argv()
turns its [Service] settings into tests/sandbox/sandbox_exec options. The system-call allow
list is computed here, at test time, from the unit's SystemCallFilter= lines with the sets
that `systemd-analyze syscall-filter` lists, following systemd's rules: the first line is an
allow list, a later `~` line removes from it, a later plain line adds to it. So a change to a
unit is what the sandbox test checks. What cannot be applied without systemd (cgroup-based
settings, ProtectKernel*, ProtectClock, ProtectControlGroups, ProtectHostname, IP accounting)
is listed by Unit.not_applied()."""
import os
import re
import subprocess

BUILD = os.environ.get("CUSTOS_BUILD_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
SANDBOX_EXEC = os.environ.get("CUSTOS_SANDBOX_EXEC") or os.path.join(BUILD, "tests", "sandbox",
                                                                      "sandbox_exec")

# Applied by launcher_argv, or meaningless for the test (Type=, Restart*, Description ...).
_HANDLED = {
    "User", "Group", "SupplementaryGroups", "ExecStart", "RuntimeDirectory",
    "RuntimeDirectoryMode", "StateDirectory", "StateDirectoryMode", "LimitCORE", "LimitMEMLOCK",
    "LimitNOFILE", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp",
    "PrivateDevices", "PrivateNetwork", "ProtectProc", "RestrictAddressFamilies",
    "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality",
    "MemoryDenyWriteExecute", "SystemCallArchitectures", "SystemCallFilter",
    "CapabilityBoundingSet", "AmbientCapabilities", "UMask", "LoadCredential",
    "Type", "Restart", "RestartSec", "KillSignal", "TimeoutStopSec", "ProcSubset",
    "PrivateMounts", "RemoveIPC", "ReadWritePaths",
}
# What only systemd can apply (kernel tunables and modules through its own mounts and
# capabilities, cgroup BPF, the clock and hostname through capabilities the users lack anyway).
NOT_APPLICABLE = {"ProtectClock", "ProtectControlGroups", "ProtectHostname", "ProtectKernelLogs",
                  "ProtectKernelModules", "ProtectKernelTunables", "IPAddressDeny"}


class Unit:
    def __init__(self, path, subst=None):
        self.path = path
        self.service = {}  # key -> [values, in order]
        section = None
        subst = subst or {"@SBINDIR@": "/usr/sbin", "@SYSCONFDIR@": "/etc/custos",
                          "@DOCDIR@": "/usr/share/doc/custos"}
        with open(path) as f:
            for raw in f:
                line = raw.strip()
                for k, v in subst.items():
                    line = line.replace(k, v)
                if not line or line[0] in "#;":
                    continue
                if line.startswith("["):
                    section = line.strip("[]")
                    continue
                if section == "Service" and "=" in line:
                    k, v = line.split("=", 1)
                    self.service.setdefault(k.strip(), []).append(v.strip())

    def get(self, key, default=None):
        v = self.service.get(key)
        return v[-1] if v else default

    def yes(self, key):
        return (self.get(key) or "").lower() in ("yes", "true", "1", "on", "strict", "invisible")

    def not_applied(self):
        return sorted(k for k in self.service if k not in _HANDLED)

    def syscalls(self):
        """The allowed system-call names: SystemCallFilter= resolved as systemd does."""
        lines = self.service.get("SystemCallFilter", [])
        if not lines or lines[0].startswith("~"):
            raise AssertionError("%s: SystemCallFilter= must start with an allow list" % self.path)
        sets = syscall_sets()
        allowed = set()
        for i, line in enumerate(lines):
            deny = line.startswith("~")
            names = set()
            for item in line.lstrip("~").split():
                names |= expand(item, sets)
            if i == 0 or not deny:
                allowed |= names
            else:
                allowed -= names
        return sorted(allowed)


_SETS = None


def syscall_sets():
    """{"@set": ["call" or "@nested", ...]} from systemd-analyze syscall-filter."""
    global _SETS
    if _SETS is None:
        out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True,
                             text=True, timeout=60, check=True).stdout
        _SETS = {}
        cur = None
        for line in out.splitlines():
            if line.startswith("@"):
                cur = _SETS.setdefault(line.split()[0], [])
            elif cur is not None and line.strip() and not line.strip().startswith("#"):
                cur.append(line.split()[0])
    return _SETS


def expand(item, sets, depth=0):
    if not item.startswith("@"):
        return {item}
    if item not in sets or depth > 8:
        raise AssertionError("unknown system call set %s" % item)
    out = set()
    for x in sets[item]:
        out |= expand(x, sets, depth + 1)
    return out


def launcher_argv(unit, tmp, uid, gid, groups=(), state_src=None, runtime_src=None,
                  creds_src=None, host_run=None, chroot=None, env=(), fresh_parents=True):
    """sandbox_exec argv (up to and with "--") for unit. state_src/runtime_src/creds_src are
    host directories bound where the unit's StateDirectory=, RuntimeDirectory= and
    $CREDENTIALS_DIRECTORY would be; host_run=(src, name) stands for another unit's
    RuntimeDirectory that this one uses (the broker reaching /run/custos); with chroot, paths
    are inside that root. fresh_parents mounts a tmpfs on /var/lib and /run first, so that
    the host's own are neither seen nor written (the sandbox test); the install test's
    systemctl runs in a chroot whose /var/lib and /run are its own."""
    base = chroot or ""
    argv = [SANDBOX_EXEC, "--uid", str(uid), "--gid", str(gid)]
    if groups:
        argv += ["--groups", ",".join(str(g) for g in groups)]
    if unit.get("UMask"):
        argv += ["--umask", unit.get("UMask")]
    for key, name in (("LimitCORE", "core"), ("LimitNOFILE", "nofile"),
                      ("LimitMEMLOCK", "memlock")):
        v = unit.get(key)
        if v is not None:
            m = re.match(r"^(\d+)([KMG]?)$", v)
            n = int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)]
            argv += ["--rlimit", "%s=%d" % (name, n)]
    if unit.yes("PrivateNetwork"):
        argv += ["--netns"]
    if unit.get("ProtectSystem") == "strict":
        argv += ["--ro-root", base + "/" if base else "/"]
    if unit.yes("PrivateTmp"):
        argv += ["--tmpfs", base + "/tmp:1777", "--tmpfs", base + "/var/tmp:1777"]
    if unit.yes("ProtectHome"):
        for d in ("/home", "/root", "/run/user"):
            argv += ["--inaccessible", base + d]
    if unit.yes("PrivateDevices"):
        argv += ["--private-devices", base + "/dev"]
    if unit.get("ProtectProc") == "invisible":
        argv += ["--proc-invisible", base + "/proc"]
        if unit.get("ProcSubset") == "pid":
            argv += ["--proc-subset-pid"]
    # PrivateMounts= and RemoveIPC=: the launcher's own mount namespace is private, and the
    # test removes the users' IPC with them (they own none: nothing of theirs survives).
    # StateDirectory= and RuntimeDirectory= under a tmpfs where the host has none, so the
    # host's /var/lib and /run are never written to.
    for path in unit.get("ReadWritePaths", "").split():
        optional = path.startswith("-")
        path = path.lstrip("-")
        if os.path.isdir(base + path):
            argv += ["--bind", "%s%s:%s%s" % (base, path, base, path)]
        elif not optional:
            raise AssertionError("ReadWritePaths=%s does not exist" % path)
    if state_src and unit.get("StateDirectory"):
        if not chroot and fresh_parents:
            argv += ["--tmpfs", "/var/lib:0755"]
        argv += ["--bind", "%s:%s/var/lib/%s" % (state_src, base, unit.get("StateDirectory"))]
    if runtime_src and unit.get("RuntimeDirectory"):
        host_run = (runtime_src, unit.get("RuntimeDirectory"))
    if host_run:
        if not chroot and fresh_parents:
            argv += ["--tmpfs", "/run:0755"]
        argv += ["--bind", "%s:%s/run/%s" % (host_run[0], base, host_run[1])]
    if creds_src:
        name = os.path.basename(unit.get("ExecStart").split()[0])
        dst = "/run/credentials/%s.service" % name
        argv += ["--bind", "%s:%s%s" % (creds_src, base, dst),
                 "--setenv", "CREDENTIALS_DIRECTORY=" + dst]
    if chroot:
        argv += ["--chroot", chroot]
    for e in env:
        argv += ["--setenv", e]
    if unit.yes("NoNewPrivileges"):
        argv += ["--no-new-privs"]
    if unit.get("CapabilityBoundingSet", None) == "":
        argv += ["--empty-capbset"]
    elif unit.get("CapabilityBoundingSet") is not None:
        raise AssertionError("%s: only an empty CapabilityBoundingSet= is applied here"
                             % unit.path)
    if unit.get("AmbientCapabilities"):
        raise AssertionError("%s: AmbientCapabilities= is not applied here" % unit.path)
    if unit.get("RestrictAddressFamilies"):
        argv += ["--families", ",".join(unit.get("RestrictAddressFamilies").split())]
    for key, opt in (("MemoryDenyWriteExecute", "--mdwe"), ("LockPersonality",
                                                            "--lock-personality"),
                     ("RestrictNamespaces", "--restrict-namespaces"),
                     ("RestrictRealtime", "--restrict-realtime"),
                     ("RestrictSUIDSGID", "--restrict-suid-sgid")):
        if unit.yes(key):
            argv += [opt]
    if unit.get("SystemCallArchitectures") not in (None, "native"):
        raise AssertionError("SystemCallArchitectures=%s" % unit.get("SystemCallArchitectures"))
    if unit.service.get("SystemCallFilter"):
        path = os.path.join(tmp, "syscalls-%s.txt" % os.path.basename(unit.path))
        with open(path, "w") as f:
            f.write("\n".join(unit.syscalls()) + "\n")
        argv += ["--syscalls", path]
    return argv + ["--"]


def exec_start(unit):
    """ExecStart= as argv."""
    return unit.get("ExecStart").split()


def killed_by_seccomp(returncode):
    return returncode == -31  # SIGSYS
