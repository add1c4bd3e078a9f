#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Debian package, installed for real, and docs/install.md run as written.

The package is built from this tree (scripts/build-deb.sh). Everything else happens in a
private mount namespace: a chroot on an overlay of / (upper and work dirs on a tmpfs in the
test's temp dir), with its own /run and /tmp. There `apt-get install ./custos_*.deb` runs the
maintainer scripts (the users and group are created in the chroot's /etc only), and the
install guide's `sh test` blocks run in order, as root on the vault host or as alice on her
machine (the same chroot), with the guide's example values replaced by the test bed's: a real
sshd target (testbed.Target), free ports. systemctl there is tests/integration/
fake_systemctl.py, which starts each daemon from its installed unit, as its own user, under
the unit's sandbox. Then purge is checked both ways (vault data kept by default, removed when
debconf says so). Nothing of the host's accounts or files is touched; the namespace, and with
it every mount, ends with the test."""
import ctypes
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import sandbox
from harness import BUILD
from testbed import Target, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(ROOT, "docs", "install.md")
CLONE_NEWNS = 0x00020000
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def tap(n):
    print("1..%d" % n)
    sys.stdout.flush()


def skip(why):
    print("1..0 # SKIP %s" % why)
    sys.exit(0)


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 300)
    p = subprocess.run(argv, **kw)
    if p.returncode != 0:
        raise AssertionError("%s -> %d\n%s\n%s" % (" ".join(argv), p.returncode,
                                                   (p.stdout or b"")[-3000:].decode(errors="replace"),
                                                   (p.stderr or b"")[-3000:].decode(errors="replace")))
    return p


def doc_blocks(text):
    """[(attrs dict, body)] of the ```sh test fences, in order."""
    out = []
    for m in re.finditer(r"^```sh test([^\n]*)\n(.*?)^```", text, re.M | re.S):
        attrs = dict(a.split("=", 1) for a in m.group(1).split())
        out.append((attrs, m.group(2)))
    return out


class Chroot:
    def __init__(self, tmp):
        self.tmp = tmp
        self.root = os.path.join(tmp, "ovl", "root")
        self.env = dict(os.environ, LIBMOUNT_UTAB=os.path.join(tmp, "utab"))

    def mount(self, *args):
        run(["mount"] + list(args), env=self.env)

    def setup(self):
        ovl = os.path.join(self.tmp, "ovl")
        os.mkdir(ovl)
        self.mount("-t", "tmpfs", "-o", "mode=0755,size=2g", "custos-install", ovl)
        for d in ("upper", "work", "root"):
            os.mkdir(os.path.join(ovl, d))
        self.mount("-t", "overlay", "custos-install-root", "-o",
                   "lowerdir=/,upperdir=%s/upper,workdir=%s/work" % (ovl, ovl), self.root)
        self.mount("-t", "proc", "proc", self.path("/proc"))
        self.mount("--rbind", "/dev", self.path("/dev"))
        self.mount("--make-rslave", self.path("/dev"))
        for d in ("/run", "/tmp"):
            self.mount("-t", "tmpfs", "-o", "mode=1777" if d == "/tmp" else "mode=0755",
                       "custos-install" + d.replace("/", "-"), self.path(d))
        # The test's systemctl and journalctl, ahead of anything real on PATH.
        lib = self.path("/usr/local/lib/custos-test")
        os.makedirs(lib, exist_ok=True)
        for f in ("fake_systemctl.py", "sandbox.py"):
            shutil.copy(os.path.join(HERE, f), lib)
        shutil.copy(sandbox.SANDBOX_EXEC, lib)
        for name in ("systemctl", "journalctl"):
            link = self.path("/usr/local/sbin/" + name)
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink("/usr/local/lib/custos-test/fake_systemctl.py", link)
        os.chmod(os.path.join(lib, "fake_systemctl.py"), 0o755)

    def path(self, p):
        return self.root + p

    def sh(self, script, user="root", stdin=None, check=True, timeout=300):
        home = "/root" if user == "root" else "/home/" + user
        env = {"PATH": PATH, "HOME": home, "USER": user, "LANG": "C.UTF-8",
               "DEBIAN_FRONTEND": "noninteractive", "TERM": "dumb",
               "CUSTOS_SANDBOX_EXEC": "/usr/local/lib/custos-test/sandbox_exec"}
        argv = ["chroot"]
        if user != "root":
            argv += ["--userspec=%s:%s" % (user, user)]
        argv += [self.root, "/bin/bash", "-euo", "pipefail", "-c", "cd ~ && " + script]
        p = subprocess.run(argv, input=stdin, capture_output=True, env=env, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("in the chroot as %s:\n%s\n-> %d\nstdout:\n%s\nstderr:\n%s\n%s"
                                 % (user, script, p.returncode,
                                    p.stdout.decode(errors="replace")[-3000:],
                                    p.stderr.decode(errors="replace")[-3000:], self.logs()))
        return p

    def logs(self):
        out = []
        d = self.path("/var/log/custos-test")
        if os.path.isdir(d):
            for f in sorted(os.listdir(d)):
                out.append("--- %s\n%s" % (f, open(os.path.join(d, f), errors="replace")
                                           .read()[-2000:]))
        return "\n".join(out)

    def user(self, name):
        with open(self.path("/etc/passwd")) as f:
            for line in f:
                x = line.split(":")
                if x[0] == name:
                    return int(x[2]), int(x[3])
        return None

    def group(self, name):
        with open(self.path("/etc/group")) as f:
            for line in f:
                x = line.split(":")
                if x[0] == name:
                    return int(x[2])
        return None

    def daemon_pid(self, unit):
        try:
            return int(open(self.path("/run/custos-test/%s.pid" % unit)).read())
        except (OSError, ValueError):
            return None

    def stop_daemons(self):
        for unit in ("custos-broker.service", "custos-vaultd.service"):
            pid = self.daemon_pid(unit)
            if not pid:
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.time() + 20
            while time.time() < deadline and os.path.exists("/proc/%d" % pid):
                try:
                    if open("/proc/%d/stat" % pid).read().split(")")[-1].split()[0] == "Z":
                        break
                except OSError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def proc_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def main():
    if os.geteuid() != 0:
        skip("needs root (mount namespace, overlay, chroot)")
    for tool in ("dpkg-buildpackage", "dh", "systemd-analyze"):
        if not shutil.which(tool):
            skip("%s is not installed (bash scripts/install-deps.sh)" % tool)
    if not os.path.exists(sandbox.SANDBOX_EXEC):
        skip("tests/sandbox/sandbox_exec was not built (libseccomp-dev missing)")
    tests = ["package_builds", "install_guide_runs_in_a_chroot", "purge_keeps_data_by_default",
             "purge_removes_data_when_asked"]
    tap(len(tests))
    tmp = tempfile.mkdtemp(prefix="custos-install-")
    os.chmod(tmp, 0o755)
    results = []
    target = None
    ch = None

    def report(i, name, fn):
        t0 = time.time()
        try:
            fn()
            print("ok %d - %s (%.1fs)" % (i, name, time.time() - t0))
            return True
        except Exception:
            import traceback
            print("not ok %d - %s" % (i, name))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            return False
        finally:
            sys.stdout.flush()

    state = {}

    def build():
        out = run(["bash", os.path.join(ROOT, "scripts", "build-deb.sh"),
                   os.path.join(tmp, "deb")], timeout=900).stdout.decode().strip().splitlines()
        state["deb"] = out[-1]
        assert os.path.basename(state["deb"]) == "custos_0.1.0_amd64.deb", state["deb"]
        listing = run(["dpkg-deb", "-c", state["deb"]]).stdout.decode()
        for path in ("./usr/sbin/custos-vaultd", "./usr/sbin/custos-broker", "./usr/bin/custos",
                     "./lib/systemd/system/custos-vaultd.service",
                     "./lib/systemd/system/custos-broker.service", "./etc/custos/vaultd.conf",
                     "./etc/custos/broker.conf", "./usr/share/man/man1/custos.1.gz",
                     "./usr/share/man/man5/custos.conf.5.gz",
                     "./usr/share/man/man8/custos-vaultd.8.gz",
                     "./usr/share/man/man8/custos-broker.8.gz",
                     "./usr/share/bash-completion/completions/custos",
                     "./usr/share/doc/custos/install.md"):
            assert path in listing, "%s missing from the package:\n%s" % (path, listing)

    def guide():
        nonlocal target, ch
        assert "deb" in state, "no package"
        if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
        run(["mount", "--make-rprivate", "/"], env=dict(os.environ,
                                                        LIBMOUNT_UTAB=os.path.join(tmp, "utab")))
        ch = Chroot(tmp)
        ch.setup()
        shutil.copy(state["deb"], ch.path("/root/"))
        target = Target(hostname="web01").start()
        root_pw = "web01-root-" + os.urandom(8).hex()
        target.set_password("root", root_pw)
        broker_port = free_port()
        subst = [("10.0.0.5", "127.0.0.1"), ("TARGET_PORT=22", "TARGET_PORT=%d" % target.port),
                 ("SHA256:REPLACE-WITH-THE-TARGETS-FINGERPRINT", target.hostkey_fp),
                 ("broker.example.com", "127.0.0.1"), ("2222", str(broker_port))]
        # "alice's machine": the same chroot, her own account there.
        ch.sh("useradd -m -s /bin/bash alice && install -d -m 700 -o alice -g alice "
              "/home/alice/.ssh")
        env_values = {"ROOT_PW": root_pw}
        blocks = doc_blocks(open(DOC).read())
        assert len(blocks) >= 20, "install.md has only %d test blocks" % len(blocks)
        outputs = []
        installed = False
        for attrs, body in blocks:
            for a, b in subst:
                body = body.replace(a, b)
            if "2222" in body:
                raise AssertionError("unsubstituted port in:\n" + body)
            stdin = None
            if "stdin" in attrs:
                stdin = (env_values[attrs["stdin"]] + "\n").encode()
            p = ch.sh(body, user=attrs.get("as", "root"), stdin=stdin)
            outputs.append((body, p.stdout.decode(errors="replace")))
            if "apt-get install" in body and not installed:
                # The test bed's one change to the guide's files: a free port for 2222.
                installed = True
                ch.sh("sed -i 's/^port = 2222$/port = %d/' /etc/custos/broker.conf && "
                      "grep -q '^port = %d$' /etc/custos/broker.conf" % (broker_port, broker_port))
            if "vault init --shamir" in body:
                shares = open(ch.path("/root/custos-shares.txt")).read().splitlines()
                assert len(shares) == 3, shares
                for line in shares:
                    m = re.match(r"^Share (\d) of 3: (\S+)$", line)
                    assert m, line
                    env_values["SHARE_" + m.group(1)] = m.group(2)
            if "enable --now custos-broker" in body:
                check_daemons(ch)
        text = "\n".join(o for _, o in outputs)
        # What the guide promises, checked on what it printed.
        assert "custos:x:" in text and "custos-broker:x:" in text and "custos-clients:x:" in text
        assert "state:   uninitialized" in text.replace("state:        ", "state:   ")
        assert re.search(r"^root\nweb01$", text, re.M), text[-3000:]
        assert "still here" in text
        assert "custos-backup.mdb" in text
        # The broker's sessions were opened under its own principal, not the vault's self.
        export = ch.sh("custos audit export").stdout.decode()
        assert '"op":"session.open"' in export.replace(" ", ""), export[-2000:]
        for line in export.splitlines():
            if '"session.open"' in line:
                assert '"principal":"broker"' in line.replace(" ", ""), line
        ch.stop_daemons()

    def purge_default():
        assert ch is not None, "no chroot"
        ch.stop_daemons()
        assert os.path.isdir(ch.path("/var/lib/custos"))
        p = ch.sh("dpkg --purge custos")
        assert os.path.isdir(ch.path("/var/lib/custos")), "the vault's data went with purge"
        assert os.path.exists(ch.path("/var/lib/custos/data.mdb"))
        assert "the vault's data is kept in /var/lib/custos" in p.stderr.decode(), p.stderr
        assert not os.path.exists(ch.path("/etc/custos/vaultd.conf"))
        assert not os.path.exists(ch.path("/var/lib/custos-broker"))
        assert ch.user("custos") is not None, "a kept vault keeps its user"
        assert ch.user("custos-broker") is None and ch.group("custos-clients") is None
        # The host was never touched.
        for name in ("custos", "custos-broker"):
            try:
                pwd.getpwnam(name)
                raise AssertionError("user %s exists on the host" % name)
            except KeyError:
                pass
        assert not os.path.exists("/etc/custos") and not os.path.exists("/var/lib/custos")

    def purge_asked():
        assert ch is not None, "no chroot"
        ch.sh("apt-get install -y ./custos_0.1.0_amd64.deb")
        assert ch.user("custos-broker") is not None and ch.group("custos-clients") is not None
        ch.sh("echo 'custos custos/purge_vault_data boolean true' | debconf-set-selections && "
              "dpkg --purge custos")
        assert not os.path.exists(ch.path("/var/lib/custos"))
        for u in ("custos", "custos-broker"):
            assert ch.user(u) is None, "user %s left after purge" % u
        assert ch.group("custos-clients") is None and ch.group("custos") is None

    try:
        for i, (name, fn) in enumerate(zip(tests, (build, guide, purge_default, purge_asked)),
                                       1):
            results.append(report(i, name, fn))
    finally:
        if ch:
            ch.stop_daemons()
        if target:
            target.cleanup()
        if ch:
            subprocess.run(["umount", "-R", "-l", ch.root], capture_output=True, env=ch.env)
            subprocess.run(["umount", "-l", os.path.join(tmp, "ovl")], capture_output=True,
                           env=ch.env)
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if all(results) else 1)


def check_daemons(ch):
    """Both daemons run from the installed files, each as its own user, not root."""
    v = ch.daemon_pid("custos-vaultd.service")
    b = ch.daemon_pid("custos-broker.service")
    assert v and b, "no pids"
    vuid = ch.user("custos")[0]
    buid = ch.user("custos-broker")[0]
    assert proc_uid(v) == vuid and proc_uid(b) == buid, (proc_uid(v), proc_uid(b), vuid, buid)
    assert vuid != buid and 0 not in (vuid, buid)
    for pid, exe in ((v, "/usr/sbin/custos-vaultd"), (b, "/usr/sbin/custos-broker")):
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            assert f.read().split(b"\0")[0] == exe.encode()
    st = os.lstat(ch.path("/run/custos/vaultd.sock"))
    assert st.st_gid == ch.group("custos-clients") and st.st_mode & 0o777 == 0o660, st


if __name__ == "__main__":
    main()
