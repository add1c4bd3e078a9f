#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""One set of defaults: every place that states a default path agrees with
include/custos/paths.h: the daemons' --sample-config and --config-docs, the committed samples,
the installed configs, the units (RuntimeDirectory=, StateDirectory=, ExecStart=),
docs/config.md and docs/broker.md, the CLI's --help and what it connects to, the man pages;
the man pages list what --help lists; the package and sysusers.d make the same users; the
bash completion offers the CLI's commands."""
import glob
import os
import re
import subprocess

from harness import BUILD, CLI, VAULTD, run_tests
from brokerbed import BROKER

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(*p):
    with open(os.path.join(ROOT, *p)) as f:
        return f.read()


def out(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, **kw).stdout


def header_paths():
    text = read("include", "custos", "paths.h")
    defs = dict(re.findall(r'^#define (CUSTOS_\w+) (.+)$', text, re.M))
    vals = {}
    for k, v in defs.items():  # "A" or OTHER "B"
        s = ""
        for tok in re.findall(r'"[^"]*"|\w+', v):
            s += tok.strip('"') if tok.startswith('"') else vals[tok]
        vals[k] = s
    return vals


P = header_paths()


def agree(what, found):
    """found: [(source, value)]; all must equal each other."""
    values = {v for _, v in found}
    assert len(values) == 1, "%s disagrees:\n%s" % (what, "\n".join(
        "  %-45s %s" % (s, v) for s, v in found))


def sample_value(text, key):
    m = re.search(r"^#?%s = (.*)$" % re.escape(key), text, re.M)
    return m.group(1) if m else None


def md_default(text, key):
    m = re.search(r"^\| `%s` \| [^|]+ \| `([^`]*)` \|" % re.escape(key), text, re.M)
    return m.group(1) if m else None


def unit(name):
    return dict(re.findall(r"^(\w+)=(.*)$", read("contrib", "systemd", name + ".service.in"),
                           re.M))


def test_vault_data_dir():
    vs = out([VAULTD, "--sample-config"])
    u = unit("custos-vaultd")
    agree("vault data directory", [
        ("include/custos/paths.h", P["CUSTOS_VAULT_DIR"]),
        ("custos-vaultd --sample-config", sample_value(vs, "data_dir")),
        ("contrib/config/vaultd.conf.sample", sample_value(read("contrib", "config",
                                                                "vaultd.conf.sample"),
                                                           "data_dir")),
        ("docs/config.md", md_default(read("docs", "config.md"), "data_dir")),
        ("custos-vaultd --config-docs", md_default(out([VAULTD, "--config-docs"]), "data_dir")),
        ("custos-vaultd.service StateDirectory=", "/var/lib/" + u["StateDirectory"]),
        ("custos-vaultd.8 FILES", "/var/lib/custos" if "\n.I /var/lib/custos\n" in read(
            "docs", "man", "custos-vaultd.8") else "(missing)"),
    ])


def test_socket_path():
    u = unit("custos-vaultd")
    env = {k: v for k, v in os.environ.items() if k != "CUSTOS_SOCKET"}
    cli_help = re.search(r"--socket PATH\s+vaultd socket \(default: \$CUSTOS_SOCKET, else (\S+)\)",
                         out([CLI, "--help"])).group(1)
    p = subprocess.run([CLI, "--timeout", "2", "vault", "status"], capture_output=True,
                       text=True, env=env, timeout=30)
    m = re.search(r"cannot connect to (\S+) \(the default\)", p.stderr)
    found = [
        ("include/custos/paths.h", P["CUSTOS_SOCKET_PATH"]),
        ("custos-vaultd --sample-config", sample_value(out([VAULTD, "--sample-config"]),
                                                       "socket")),
        ("contrib/config/vaultd.conf.sample", sample_value(read("contrib", "config",
                                                                "vaultd.conf.sample"), "socket")),
        ("custos-broker --sample-config", sample_value(out([BROKER, "--sample-config"]),
                                                       "vault_socket")),
        ("contrib/config/broker.conf.sample", sample_value(read("contrib", "config",
                                                                "broker.conf.sample"),
                                                           "vault_socket")),
        ("docs/config.md", md_default(read("docs", "config.md"), "socket")),
        ("docs/broker.md", md_default(read("docs", "broker.md"), "vault_socket")),
        ("docs/cli.md", re.search(r"else `(/[^`]+)`", read("docs", "cli.md")).group(1)),
        ("custos --help", cli_help),
        ("custos.1", "/run/custos/vaultd.sock" if "/run/custos/vaultd.sock" in read(
            "docs", "man", "custos.1") else "(missing)"),
        ("custos-vaultd.service RuntimeDirectory=",
         "/run/%s/vaultd.sock" % u["RuntimeDirectory"]),
    ]
    if m:  # unless something listens there on this machine
        found.append(("custos without --socket connects to", m.group(1)))
    agree("vaultd socket", found)


def test_broker_host_key():
    u = unit("custos-broker")
    agree("broker host key", [
        ("include/custos/paths.h", P["CUSTOS_BROKER_HOST_KEY"]),
        ("custos-broker --sample-config", sample_value(out([BROKER, "--sample-config"]),
                                                       "host_key")),
        ("contrib/config/broker.conf.sample", sample_value(read("contrib", "config",
                                                                "broker.conf.sample"),
                                                           "host_key")),
        ("docs/broker.md", md_default(read("docs", "broker.md"), "host_key")),
        ("custos-broker.service StateDirectory=",
         "/var/lib/%s/host_ed25519" % u["StateDirectory"]),
        ("custos-broker.8", P["CUSTOS_BROKER_HOST_KEY"] if P["CUSTOS_BROKER_HOST_KEY"] in read(
            "docs", "man", "custos-broker.8") else "(missing)"),
        ("docs/install.md", P["CUSTOS_BROKER_HOST_KEY"] if P["CUSTOS_BROKER_HOST_KEY"] in read(
            "docs", "install.md") else "(missing)"),
    ])


def test_installed_configs_keep_the_defaults():
    # The configs the package puts in /etc/custos may set other keys, never another path.
    for name, keys in (("vaultd.conf", ("data_dir", "socket")),
                       ("broker.conf", ("host_key", "vault_socket"))):
        text = read("contrib", "config", name)
        for k in keys:
            assert not re.search(r"^%s\s*=" % k, text, re.M), "%s sets %s" % (name, k)
    # ... and they load, with the users the package creates (checked by test_install).


def test_config_file_location():
    vhelp = out([VAULTD, "--help"])
    bhelp = out([BROKER, "--help"])
    vdef = re.search(r"default (\S+)/vaultd\.conf", vhelp).group(1)
    bdef = re.search(r"default (\S+)/broker\.conf", bhelp).group(1)
    built = {}
    for n in ("custos-vaultd", "custos-broker"):
        with open(os.path.join(BUILD, "contrib", n + ".service")) as f:
            built[n] = re.search(r"^ExecStart=(\S+) -c (\S+)/\w+\.conf$", f.read(), re.M)
    agree("configuration directory", [
        ("custos-vaultd --help", vdef), ("custos-broker --help", bdef),
        ("built custos-vaultd.service", built["custos-vaultd"].group(2)),
        ("built custos-broker.service", built["custos-broker"].group(2)),
    ])
    for n, exe in (("custos-vaultd", VAULTD), ("custos-broker", BROKER)):
        assert built[n].group(1).endswith("/sbin/" + n)


def long_options(text):
    return set(re.findall(r"(?<![\w-])--([a-z][a-z-]+)", text.replace("\\-", "-")))


def test_man_pages_list_what_help_lists():
    for exe, page in ((VAULTD, "custos-vaultd.8"), (BROKER, "custos-broker.8"),
                      (CLI, "custos.1")):
        helptext = out([exe, "--help"])
        man = read("docs", "man", page)
        opts_section = man.split(".SH OPTIONS")[1].split("\n.SH ")[0]
        h, m = long_options(helptext.split("Secrets")[0]), long_options(opts_section)
        assert h == m, "%s: --help has %s, the man page %s" % (page, sorted(h - m),
                                                               sorted(m - h))
    cmds = re.findall(r"^  ([a-z]+) {2,}", out([CLI, "--help"]).split("Commands:")[1]
                      .split("\n\n")[0], re.M)
    man = read("docs", "man", "custos.1")
    for c in cmds:
        assert "\n.B %s\n" % c in man, "custos.1 lacks command %s" % c
    # custos.conf(5) is generated from the key tables: every key is in it.
    gen = open(os.path.join(BUILD, "docs", "custos.conf.5")).read().replace("\\-", "-")
    for exe in (VAULTD, BROKER):
        docs = out([exe, "--config-docs"]).split("#### Scopes")[0]
        keys = re.findall(r"^\| `(\w+)` \|", docs, re.M)
        assert len(keys) > 10, keys
        for key in keys:
            assert "\n\\fB%s\\fR (" % key in gen, "custos.conf.5 lacks %s" % key


def test_users_are_the_same_everywhere():
    postinst = read("debian", "custos.postinst")
    sysusers = read("contrib", "sysusers", "custos.conf")
    want = {"custos", "custos-broker", "custos-clients"}
    pkg = set(re.findall(r"getent (?:passwd|group) (\S+) >/dev/null", postinst))
    sysu = set(re.findall(r"^[ug] (\S+)", sysusers, re.M))
    assert pkg == want and sysu == want, (pkg, sysu)
    for name in ("custos-vaultd", "custos-broker"):
        u = unit(name)
        assert u["User"] in want and "custos-clients" in u["SupplementaryGroups"], u


def test_bash_completion_offers_the_commands():
    comp = os.path.join(ROOT, "contrib", "bash-completion", "custos")
    script = ('source "$1"; COMP_WORDS=("$2" ""); COMP_CWORD=1; _custos; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    got = out(["bash", "-c", script, "_", comp, CLI]).split()
    cmds = re.findall(r"^  ([a-z]+) {2,}", out([CLI, "--help"]).split("Commands:")[1]
                      .split("\n\n")[0], re.M)
    assert got == cmds and "vault" in got, (got, cmds)
    script = ('source "$1"; COMP_WORDS=("$2" vault init --); COMP_CWORD=3; _custos; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    assert "--shamir" in out(["bash", "-c", script, "_", comp, CLI]).split()


if __name__ == "__main__":
    run_tests(globals())
