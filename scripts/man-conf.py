#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write custos.conf(5) from docs/man/custos.conf.5.in and the daemons' key tables.

    man-conf.py TEMPLATE OUT VAULTD BROKER

VAULTD and BROKER are the built binaries; their --config-docs Markdown (the same text as
docs/config.md and docs/broker.md) becomes one .SS per section and one .TP per key, so the
man page cannot fall behind the tables."""
import re
import subprocess
import sys


def roff(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"`([^`]*)`", r"\\fB\1\\fR", text)


def sections(md):
    """[(heading, doc, [(key, type, default, description)])] from --config-docs Markdown."""
    out = []
    for block in re.split(r"^### ", md, flags=re.M)[1:]:
        lines = block.splitlines()
        head = lines[0].strip()
        doc = []
        rows = []
        for line in lines[1:]:
            if line.startswith("| `"):
                cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
                rows.append(cells)
            elif line.startswith("####"):
                break
            elif line and not line.startswith("|"):
                doc.append(line)
        out.append((head, " ".join(doc), rows))
    return out


def render(secs, skip_principal, only_principal=False):
    out = []
    for head, doc, rows in secs:
        is_principal = "principal" in head
        if (skip_principal and is_principal) or (only_principal and not is_principal):
            continue
        if not is_principal:
            out.append('.SS "%s"' % head.strip("`").replace("`", ""))
            out.append(roff(doc))
        for key, typ, default, desc in rows:
            out.append(".TP")
            out.append("%s (%s; default %s)" % (roff(key), roff(typ), roff(default)))
            out.append(roff(desc))
    return "\n".join(out)


def main():
    tmpl, dest, vaultd, broker = sys.argv[1:5]
    v = sections(subprocess.run([vaultd, "--config-docs"], capture_output=True, text=True,
                                check=True).stdout)
    b = sections(subprocess.run([broker, "--config-docs"], capture_output=True, text=True,
                                check=True).stdout)
    text = open(tmpl).read()
    text = text.replace("@VAULTD@", '.SH "VAULTD.CONF"\n' + render(v, True))
    text = text.replace("@PRINCIPAL@", render(v, False, only_principal=True))
    text = text.replace("@BROKER@", '.SH "BROKER.CONF"\n' + render(b, False))
    with open(dest, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
