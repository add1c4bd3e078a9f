# SPDX-License-Identifier: Apache-2.0
"""Test bed of real OpenSSH targets for the broker and rotation tests.

A Target is one real `/usr/sbin/sshd -D -e` on 127.0.0.1 and a free high port, with its own
config, fresh ed25519 host key and log in a temp dir. It runs in a private mount (and UTS)
namespace whose /etc, /home, /root, /run and /var/log are private copies in that temp dir, so
accounts, passwords, authorized_keys, wtmp/lastlog and whatever a session changes (chpasswd,
passwd, useradd run ON the target) never touch the host. sshd is the process unshare exec'd,
so the pid held here is sshd's; stop() ends it and every process left in its namespace.

    t = Target().start()                      # or: t1, t2 = start_targets(2)
    t.add_user("alice", password="pw1")
    key, pub, fp = ssh_client_key(tmpdir)
    t.add_user("bob", authorized_keys=[pub])
    p = t.ssh("bob", "id -un", key=key)       # CompletedProcess, bytes; 255 = ssh failed
    t.cleanup()

Every wait is bounded; every process is stopped by its pid; only 127.0.0.1 is used.
"""
import atexit
import ctypes
import ctypes.util
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

SSHD = "/usr/sbin/sshd"
SSH = "ssh"
SSH_KEYGEN = "ssh-keygen"
UNSHARE = "unshare"
HOST = "127.0.0.1"

START_TIMEOUT = 10.0  # seconds until port open and "SSH-2.0-" banner read
PORT_ATTEMPTS = 5  # fresh ports tried when sshd cannot bind (collision)
FIRST_UID = 20000  # uids given to test users by default (kept clear of usual host users)

# Host paths replaced by private copies inside each target's namespace.
PRIVATE_DIRS = ("/etc", "/home", "/root", "/run", "/var/log")

_NAME_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
_SALT_CHARS = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Inside the new namespace: private copies over the host dirs, own hostname, then sshd.
# Paths come as positional parameters so nothing needs quoting. LIBMOUNT_UTAB (set by the
# caller) keeps mount(8) from creating /run/mount on the host.
_NS_SCRIPT = """set -e
mount --bind "$1" /run
mount --bind "$2" /etc
mount --bind "$3" /home
mount --bind "$4" /root
mount --bind "$5" /var/log
hostname "$6"
unset LIBMOUNT_UTAB
exec /usr/sbin/sshd -D -e -f "$7"
"""

_ASKPASS = "#!/bin/sh\nprintf '%s\\n' \"$CUSTOS_TESTBED_PASSWORD\"\n"

_live = []  # started targets, cleaned up at exit if a test forgot
_live_lock = threading.Lock()
_crypt_lock = threading.Lock()
_counter = [0]


def _run(argv, input=None, timeout=20):
    p = subprocess.run(argv, input=input, capture_output=True, timeout=timeout,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if p.returncode != 0:
        raise AssertionError("%s -> %d: %s" % (" ".join(argv), p.returncode,
                                              p.stderr.decode(errors="replace")))
    return p.stdout.decode()


def free_port():
    """A free TCP port on 127.0.0.1 (bound to port 0, then closed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def key_fingerprint(path):
    """SHA256:... of a public (or private) key file, as `ssh-keygen -lf` prints it."""
    return _run([SSH_KEYGEN, "-lf", path]).split()[1]


def ssh_client_key(tmpdir, name="id_ed25519", comment="custos-testbed-client"):
    """New ed25519 client key pair in tmpdir -> (private key path, public line, fingerprint)."""
    path = os.path.join(tmpdir, name)
    for p in (path, path + ".pub"):
        if os.path.exists(p):
            os.unlink(p)
    _run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path])
    with open(path + ".pub") as f:
        pub = f.read().strip()
    return path, pub, key_fingerprint(path + ".pub")


# ---- password hashes (libcrypt through ctypes; `openssl passwd -6` as a fallback) -------------

def _libcrypt():
    for name in ("libcrypt.so.1", ctypes.util.find_library("crypt")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.crypt.restype = ctypes.c_char_p
        lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        return lib
    return None


_LIBCRYPT = _libcrypt()


def _crypt(password, setting):
    with _crypt_lock:  # crypt() returns a static buffer
        r = _LIBCRYPT.crypt(password.encode(), setting.encode())
    return r.decode() if r else None


def hash_password(password, salt=None):
    """SHA-512 crypt ($6$) hash, as in /etc/shadow."""
    salt = salt or "".join(secrets.choice(_SALT_CHARS) for _ in range(16))
    if _LIBCRYPT is not None:
        h = _crypt(password, "$6$" + salt + "$")
        if h and h.startswith("$6$"):
            return h
    return _run(["openssl", "passwd", "-6", "-salt", salt, "-stdin"],
                input=password.encode() + b"\n").strip()


def check_password(password, stored):
    """Whether password matches a shadow hash (any scheme libcrypt knows, e.g. $y$, $6$)."""
    if not stored or stored[0] != "$":
        return False
    if _LIBCRYPT is not None:
        return _crypt(password, stored) == stored
    m = re.match(r"^\$6\$([^$]+)\$", stored)
    return bool(m) and hash_password(password, m.group(1)) == stored


# ---- processes ---------------------------------------------------------------------------------

def _ns_of(pid, kind="mnt"):
    try:
        return os.readlink("/proc/%d/ns/%s" % (pid, kind))
    except OSError:
        return None


def _stat(pid):
    """(state, ppid) of a pid, or None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rfind(")") + 2:].split()
    return rest[0], int(rest[1])


def _pids():
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            out.append(int(d))
    return out


def _alive(pid):
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def pid_alive(pid):
    """Whether pid names a live (not zombie) process."""
    return _alive(pid)


def cmdline_pids(needle):
    """Live pids whose /proc/PID/cmdline contains needle (bytes or str)."""
    if isinstance(needle, str):
        needle = needle.encode()
    out = []
    for pid in _pids():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if needle in f.read() and _alive(pid):
                    out.append(pid)
        except OSError:
            pass
    return out


class Target:
    """One real sshd in its own temp dir and private mount + UTS namespace."""

    def __init__(self, hostname=None, extra_config="", login_grace_time=20, tmp=None):
        _counter[0] += 1
        self.hostname = hostname or "custos-tb%d" % _counter[0]
        self.extra_config = extra_config
        self.login_grace_time = login_grace_time
        self.host = HOST
        self.port = None
        self.proc = None
        self.pid = None
        self.mnt_ns = None
        self._logf = None
        self._lock = threading.Lock()  # serializes edits of the private account files
        self.tmp = tmp or tempfile.mkdtemp(prefix="custos-tb-", dir=self._tmp_base())
        for p in PRIVATE_DIRS:
            if os.path.realpath(self.tmp).startswith(p + "/"):
                raise AssertionError("target temp dir %s must not lie under %s" % (self.tmp, p))
        self.etc = os.path.join(self.tmp, "etc")  # private /etc
        self.home = os.path.join(self.tmp, "home")  # private /home
        self.root_home = os.path.join(self.tmp, "roothome")  # private /root
        self.run = os.path.join(self.tmp, "run")  # private /run
        self.varlog = os.path.join(self.tmp, "varlog")  # private /var/log
        self.config = os.path.join(self.tmp, "sshd_config")
        self.hostkey = os.path.join(self.tmp, "ssh_host_ed25519_key")
        self.log = os.path.join(self.tmp, "sshd.log")
        self.known_hosts = os.path.join(self.tmp, "known_hosts")
        self.askpass = os.path.join(self.tmp, "askpass.sh")
        self._ns_fd = None  # holds the namespace so its id cannot be reused while we look
        with _live_lock:
            _live.append(self)  # so that cleanup_all() at exit removes the temp dir too
        self._prepare()

    @staticmethod
    def _tmp_base():
        base = tempfile.gettempdir()
        real = os.path.realpath(base)
        if any(real == p or real.startswith(p + "/") for p in PRIVATE_DIRS):
            base = "/tmp"
        return base

    # -- setup -----------------------------------------------------------------------------------

    def _prepare(self):
        _run(["cp", "-a", "/etc", self.etc], timeout=60)
        os.chmod(self.etc, 0o755)
        # No copy of the host's own host keys in the temp dir, and no host password hash:
        # root keeps key login ("*"), every other account with a password is locked.
        for n in os.listdir(os.path.join(self.etc, "ssh")):
            if n.startswith("ssh_host_"):
                os.unlink(os.path.join(self.etc, "ssh", n))
        self._scrub_hashes("shadow", lambda f: "*" if f[0] == "root" else "!")
        self._scrub_hashes("gshadow", lambda f: "!")
        with open(os.path.join(self.etc, "hostname"), "w") as f:
            f.write(self.hostname + "\n")
        for d, mode in ((self.home, 0o755), (self.root_home, 0o700), (self.run, 0o755),
                        (self.varlog, 0o755)):
            os.mkdir(d)
            os.chmod(d, mode)
        os.mkdir(os.path.join(self.run, "sshd"))  # privilege separation dir
        os.chmod(os.path.join(self.run, "sshd"), 0o755)
        os.mkdir(os.path.join(self.run, "lock"))
        os.chmod(os.path.join(self.run, "lock"), 0o1777)
        os.symlink("/dev/shm", os.path.join(self.run, "shm"))
        utmp_gid = self._gid_of_group("utmp")
        for path in (os.path.join(self.run, "utmp"), os.path.join(self.varlog, "wtmp"),
                     os.path.join(self.varlog, "btmp"), os.path.join(self.varlog, "lastlog")):
            open(path, "wb").close()
            os.chmod(path, 0o660 if path.endswith("btmp") else 0o664)
            if utmp_gid is not None:
                os.chown(path, 0, utmp_gid)
        _run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C",
              "custos-testbed-host-" + self.hostname, "-f", self.hostkey])
        with open(self.hostkey + ".pub") as f:
            self.host_pub = f.read().strip()
        self.hostkey_fp = key_fingerprint(self.hostkey + ".pub")
        with open(self.askpass, "w") as f:
            f.write(_ASKPASS)
        os.chmod(self.askpass, 0o700)

    def _scrub_hashes(self, name, repl):
        def edit(lines):
            out = []
            for line in lines:
                f = line.split(":")
                if len(f) > 1 and (f[1] not in ("", "*", "!", "!*") or f[0] == "root"):
                    f[1] = repl(f)
                out.append(":".join(f))
            return out
        self._edit(name, edit)

    def _write_config(self):
        lines = [self.extra_config.strip(),  # first value wins in sshd_config
                 "ListenAddress %s:%d" % (HOST, self.port),
                 "AddressFamily inet",
                 "HostKey %s" % self.hostkey,
                 "PidFile none",
                 "UsePAM no",
                 "PasswordAuthentication yes",
                 "KbdInteractiveAuthentication no",
                 "PubkeyAuthentication yes",
                 "PermitRootLogin yes",
                 "PermitEmptyPasswords no",
                 "StrictModes no",
                 "LogLevel VERBOSE",
                 "LoginGraceTime %d" % self.login_grace_time,
                 "MaxStartups 500:30:1000",
                 "MaxSessions 50",
                 "UseDNS no",
                 "PrintMotd no",
                 "PrintLastLog no",
                 "X11Forwarding no",
                 "AuthorizedKeysFile .ssh/authorized_keys",
                 "AcceptEnv LANG LC_*",
                 "Subsystem sftp internal-sftp",
                 ""]
        with open(self.config, "w") as f:
            f.write("\n".join(l for l in lines if l is not None))

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self):
        last = ""
        for _ in range(PORT_ATTEMPTS):
            self.port = free_port()
            self._write_config()
            r = self._start_once()
            if r is True:
                return self
            last = r
            if "Address already in use" not in r and "Cannot bind" not in r:
                break
        raise AssertionError("sshd did not start (port %s):\n%s" % (self.port, last))

    def _start_once(self):
        """True once sshd listens and sent its banner; else the log text (sshd stopped)."""
        offset = os.path.getsize(self.log) if os.path.exists(self.log) else 0
        self._logf = open(self.log, "ab")
        argv = [UNSHARE, "--mount", "--uts", "--propagation", "private", "--",
                "/bin/sh", "-c", _NS_SCRIPT, "custos-testbed",
                self.run, self.etc, self.home, self.root_home, self.varlog, self.hostname,
                self.config]
        env = dict(os.environ, LIBMOUNT_UTAB=os.path.join(self.tmp, "libmount", "utab"))
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=self._logf, env=env)
        self.pid = self.proc.pid
        self._forget_ns()
        want = ("Server listening on %s port %d" % (HOST, self.port)).encode()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._close_log()
                return self._logtail(offset) or "exit %d" % self.proc.returncode
            if self.mnt_ns is None and self._comm() == "sshd":
                self._hold_ns()
            if self.mnt_ns and want in self._logtail(offset).encode() and self._banner():
                with open(self.known_hosts, "w") as f:
                    f.write(self.known_hosts_line() + "\n")
                return True
            time.sleep(0.01)
        text = self._logtail(offset)
        self._stop_proc()
        raise AssertionError("sshd not ready in %.0fs (pid %d, comm %r):\n%s"
                             % (START_TIMEOUT, self.pid, self._comm(), text))

    def _hold_ns(self):
        try:
            fd = os.open("/proc/%d/ns/mnt" % self.pid, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        ns = _ns_of(self.pid)
        if ns and ns != _ns_of(os.getpid()) and self._comm() == "sshd":
            self._ns_fd, self.mnt_ns = fd, ns
        else:
            os.close(fd)

    def _forget_ns(self):
        if self._ns_fd is not None:
            os.close(self._ns_fd)
        self._ns_fd = None
        self.mnt_ns = None

    def _comm(self):
        try:
            with open("/proc/%d/comm" % self.pid) as f:
                return f.read().strip()
        except OSError:
            return None

    def _banner(self):
        try:
            with socket.create_connection((HOST, self.port), timeout=2) as s:
                s.settimeout(2)
                buf = b""
                while b"\n" not in buf and len(buf) < 256:
                    d = s.recv(256)
                    if not d:
                        break
                    buf += d
                return buf.startswith(b"SSH-2.0-")
        except OSError:
            return False

    def _logtail(self, offset=0):
        try:
            with open(self.log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def logtext(self):
        return self._logtail(0)

    def _close_log(self):
        if self._logf:
            self._logf.close()
            self._logf = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def namespace_pids(self):
        """Pids left in this target's namespace or below its sshd (sessions, shells)."""
        if not self.mnt_ns or self.mnt_ns == _ns_of(os.getpid()):
            return []  # never match the host's own namespace
        pids = set()
        parents = {}
        for pid in _pids():
            st = _stat(pid)
            if st is None or st[0] in ("Z", "X"):
                continue
            parents[pid] = st[1]
            if _ns_of(pid) == self.mnt_ns:
                pids.add(pid)
        if self.running():  # while unreaped, self.pid cannot name another process
            frontier = {self.pid}
            for _ in range(64):  # descendants of sshd, bounded depth
                nxt = {p for p, pp in parents.items() if pp in frontier and p not in pids}
                if not nxt:
                    break
                pids |= nxt
                frontier = nxt
        pids.discard(os.getpid())
        return sorted(pids)

    def _stop_proc(self, timeout=5):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._close_log()
        return self.proc.returncode

    def kill_sessions(self, timeout=3):
        """SIGTERM, then SIGKILL, every process left in the namespace; bounded."""
        deadline = time.monotonic() + timeout
        termed = set()
        killed_at = None
        while time.monotonic() < deadline:
            running = self.running()
            left = [p for p in self.namespace_pids() if p != self.pid or not running]
            if not left:
                if not running:
                    self._forget_ns()
                return
            for p in left:
                sig = signal.SIGTERM
                if p in termed and (killed_at is None or time.monotonic() >= killed_at):
                    sig = signal.SIGKILL
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
                termed.add(p)
            if killed_at is None:
                killed_at = time.monotonic() + 0.5  # interactive shells ignore SIGTERM
            time.sleep(0.02)
        left = self.namespace_pids()
        if left:
            raise AssertionError("target processes survived SIGKILL: %s" % left)

    def stop(self, timeout=5, kill_sessions=True):
        """SIGTERM sshd (SIGKILL after timeout); by default also end every session process."""
        rc = self._stop_proc(timeout)
        if kill_sessions:
            self.kill_sessions()
        return rc

    def kill9(self):
        """Crash the listener: SIGKILL sshd only (sessions live on until stop/cleanup)."""
        if self.running():
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._close_log()

    def restart(self):
        """Stop the listener (sessions end) and start again on the same port and host key."""
        self.stop()
        self._write_config()
        for _ in range(PORT_ATTEMPTS):
            r = self._start_once()
            if r is True:
                return self
            if "Address already in use" not in r and "Cannot bind" not in r:
                break
            time.sleep(0.2)  # a client may hold the port for a moment
        raise AssertionError("sshd did not restart on port %d:\n%s" % (self.port, r))

    def cleanup(self):
        try:
            self.stop()
        finally:
            try:
                self.kill_sessions()
            finally:
                self._forget_ns()
            with _live_lock:
                if self in _live:
                    _live.remove(self)
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.cleanup()

    # -- host key --------------------------------------------------------------------------------

    def known_hosts_line(self):
        """The pinned key as a known_hosts line: `[127.0.0.1]:PORT ssh-ed25519 AAAA...`."""
        kt, b64 = self.host_pub.split()[:2]
        return "[%s]:%d %s %s" % (HOST, self.port, kt, b64)

    # -- private account files -------------------------------------------------------------------

    def path(self, ns_path):
        """Host path of a file as the target sees it (under its private /etc, /home, ...)."""
        m = {"/etc": self.etc, "/home": self.home, "/root": self.root_home, "/run": self.run,
             "/var/log": self.varlog}
        for k, v in m.items():
            if ns_path == k or ns_path.startswith(k + "/"):
                return v + ns_path[len(k):]
        raise ValueError("%s is not in a private directory of the target" % ns_path)

    def _read(self, name):
        with open(os.path.join(self.etc, name)) as f:
            return f.read().splitlines()

    def _edit(self, name, fn):
        """Rewrite etc/NAME atomically (same mode and owner) with fn(lines) -> lines."""
        path = os.path.join(self.etc, name)
        if not os.path.exists(path):
            return
        with self._lock:
            st = os.stat(path)
            lines = fn(self._read(name))
            tmp = path + ".custos-tb"
            with open(tmp, "w") as f:
                f.write("".join(l + "\n" for l in lines))
            os.chmod(tmp, st.st_mode & 0o7777)
            os.chown(tmp, st.st_uid, st.st_gid)
            os.replace(tmp, path)

    def _entry(self, name, user):
        for line in self._read(name):
            f = line.split(":")
            if f[0] == user:
                return f
        return None

    def _gid_of_group(self, group):
        f = self._entry("group", group)
        return int(f[2]) if f else None

    def user(self, name):
        """passwd fields of a target user as a dict, or None."""
        f = self._entry("passwd", name)
        if not f:
            return None
        return {"name": f[0], "uid": int(f[2]), "gid": int(f[3]), "home": f[5], "shell": f[6]}

    def add_user(self, name, password=None, uid=None, authorized_keys=None, shell="/bin/bash",
                 groups=()):
        """Create an account in the target's private /etc (home under its private /home).

        password=None leaves the account without one ("*": key login only). authorized_keys
        is a list of public key lines (or one string). groups: existing groups to join.
        Returns the uid."""
        if not _NAME_RE.match(name):
            raise ValueError("bad user name %r" % name)
        if self._entry("passwd", name):
            raise ValueError("user %s exists on the target" % name)
        uids = {int(l.split(":")[2]) for l in self._read("passwd") if l.count(":") >= 6}
        gids = {int(l.split(":")[2]) for l in self._read("group") if l.count(":") >= 3}
        if uid is None:
            uid = FIRST_UID
            while uid in uids or uid in gids:
                uid += 1
        gid = uid if uid not in gids else max(gids | {FIRST_UID}) + 1
        home = "/home/" + name
        h = hash_password(password) if password is not None else "*"
        days = int(time.time() // 86400)
        self._edit("passwd", lambda ls: ls + ["%s:x:%d:%d:%s:%s:%s" % (name, uid, gid, name,
                                                                      home, shell)])
        self._edit("group", lambda ls: ls + ["%s:x:%d:" % (name, gid)])
        self._edit("shadow", lambda ls: ls + ["%s:%s:%d:0:99999:7:::" % (name, h, days)])
        self._edit("gshadow", lambda ls: ls + ["%s:!::" % name])
        for g in groups:
            self._join_group(name, g)
        hp = self.path(home)
        os.mkdir(hp)
        os.chmod(hp, 0o750)
        os.chown(hp, uid, gid)
        if authorized_keys is not None:
            self.set_authorized_keys(name, authorized_keys)
        return uid

    def _join_group(self, user, group):
        def edit(lines):
            out = []
            for l in lines:
                f = l.split(":")
                if f[0] == group:
                    members = [m for m in f[-1].split(",") if m]
                    if user not in members:
                        members.append(user)
                    f[-1] = ",".join(members)
                out.append(":".join(f))
            return out
        if not self._entry("group", group):
            raise ValueError("no group %s on the target" % group)
        self._edit("group", edit)
        self._edit("gshadow", edit)

    def remove_user(self, name):
        """Delete an account and its home from the target."""
        u = self.user(name)
        if not u:
            raise ValueError("no user %s on the target" % name)
        for n in ("passwd", "shadow", "group", "gshadow"):
            self._edit(n, lambda ls: [l for l in ls if l.split(":")[0] != name])
        if u["home"].startswith("/home/"):
            shutil.rmtree(self.path(u["home"]), ignore_errors=True)

    def set_password(self, name, password):
        """Set (password str) or lock-for-password (None -> "*") a target account's password."""
        if not self._entry("shadow", name):
            raise ValueError("no user %s on the target" % name)
        h = hash_password(password) if password is not None else "*"
        days = str(int(time.time() // 86400))

        def edit(lines):
            out = []
            for l in lines:
                f = l.split(":")
                if f[0] == name:
                    f[1] = h
                    f[2] = days
                out.append(":".join(f))
            return out
        self._edit("shadow", edit)

    def password_of(self, name):
        """The hash field of the target's private /etc/shadow for name (None: no such user)."""
        f = self._entry("shadow", name)
        return f[1] if f else None

    def password_matches(self, name, password):
        """Whether the target's shadow holds password for name (also for $y$ from chpasswd)."""
        return check_password(password, self.password_of(name))

    def _home_of(self, name):
        u = self.user(name)
        if not u:
            raise ValueError("no user %s on the target" % name)
        return u, self.path(u["home"])

    def set_authorized_keys(self, name, keys):
        """Replace ~name/.ssh/authorized_keys on the target (list of lines or one string)."""
        u, home = self._home_of(name)
        if isinstance(keys, str):
            keys = [keys]
        d = os.path.join(home, ".ssh")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o700)
        os.chown(d, u["uid"], u["gid"])
        path = os.path.join(d, "authorized_keys")
        tmp = path + ".custos-tb"
        with open(tmp, "w") as f:
            f.write("".join(k.strip() + "\n" for k in keys))
        os.chmod(tmp, 0o600)
        os.chown(tmp, u["uid"], u["gid"])
        os.replace(tmp, path)

    def authorized_keys_of(self, name):
        """Lines of ~name/.ssh/authorized_keys on the target ([] if absent)."""
        _, home = self._home_of(name)
        try:
            with open(os.path.join(home, ".ssh", "authorized_keys")) as f:
                return [l.strip() for l in f if l.strip()]
        except FileNotFoundError:
            return []

    # -- client ----------------------------------------------------------------------------------

    def ssh_argv(self, user, command, password=None, key=None, known_hosts=None,
                 options=()):
        """(argv, env) of a real OpenSSH client call to this target with the pinned host key."""
        if password is None and key is None:
            raise ValueError("ssh() needs a password or a key")
        if known_hosts is None:
            known_hosts = self.known_hosts  # written once the port is known
        methods = ([] if key is None else ["publickey"]) + \
                  ([] if password is None else ["password"])
        argv = [SSH, "-F", "/dev/null", "-T", "-p", str(self.port),
                "-o", "UserKnownHostsFile=" + known_hosts,
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes",
                "-o", "HostKeyAlgorithms=ssh-ed25519",
                "-o", "BatchMode=" + ("no" if password is not None else "yes"),
                "-o", "PreferredAuthentications=" + ",".join(methods),
                "-o", "PubkeyAuthentication=" + ("yes" if key else "no"),
                "-o", "PasswordAuthentication=" + ("yes" if password is not None else "no"),
                "-o", "KbdInteractiveAuthentication=no",
                "-o", "NumberOfPasswordPrompts=1",
                "-o", "IdentitiesOnly=yes",
                "-o", "IdentityAgent=none",
                "-o", "ConnectTimeout=10",
                "-o", "LogLevel=ERROR"]
        if key:
            argv += ["-i", key]
        for o in options:
            argv += ["-o", o]
        argv += ["-l", user, HOST, "--", command]
        env = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "DISPLAY")}
        if password is not None:
            env.update(SSH_ASKPASS=self.askpass, SSH_ASKPASS_REQUIRE="force",
                       CUSTOS_TESTBED_PASSWORD=password)
        return argv, env

    def ssh(self, user, command, password=None, key=None, timeout=30, input=None,
            known_hosts=None, options=()):
        """Run command on the target as user with the real OpenSSH client (no tty, own
        session). Returns subprocess.CompletedProcess with bytes stdout/stderr; returncode is
        the remote exit status, 255 when ssh itself failed (auth, host key, connect)."""
        argv, env = self.ssh_argv(user, command, password, key, known_hosts, options)
        return subprocess.run(argv, input=input, capture_output=True, env=env, timeout=timeout,
                              start_new_session=True,
                              stdin=subprocess.DEVNULL if input is None else None)


def start_targets(n, hostnames=None, **kwargs):
    """Start n targets (hostnames custos-tb<k> unless given); all cleaned up on failure."""
    out = []
    try:
        for i in range(n):
            t = Target(hostname=hostnames[i] if hostnames else None, **kwargs)
            out.append(t)
            t.start()
    except BaseException:
        for t in out:
            t.cleanup()
        raise
    return out


def cleanup_all():
    with _live_lock:
        targets = list(_live)
    for t in targets:
        try:
            t.cleanup()
        except Exception:
            pass


def _on_sigterm(signum, frame):
    cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


atexit.register(cleanup_all)
# A test killed by SIGTERM (e.g. a meson timeout) still stops its targets, unless the program
# installed its own handler. SIGKILL of the test process leaves them running.
if threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _on_sigterm)
