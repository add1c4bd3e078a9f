#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The mutant run: each tests/mutants/*.mutant is one deliberate bug in a check that guards
# access or evidence. Each is applied to a scratch copy of the tree (never the real one),
# built in one reused build directory, and the tests it names are run: KILLED when one of
# them fails, SURVIVED when all pass. Any survivor, or a mutant that does not apply or
# build (BROKEN), fails the run. docs/hacking.md explains the format and how to add one.
#
#   bash scripts/mutants.sh            # every mutant
#   bash scripts/mutants.sh --fast     # those marked `fast: yes` (what scripts/test.sh runs)
#   bash scripts/mutants.sh NAME...    # the named ones (file names without .mutant)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/build-mutants # scratch copy and its build dir (ignored by git: /build*/)
src=$work/src
bld=$work/build

mode=all
names=()
for a in "$@"; do
  case $a in
    --fast) mode=fast ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "mutants.sh: unknown option $a" >&2; exit 2 ;;
    *) names+=("$a") ;;
  esac
done

start=$(date +%s)
mkdir -p "$work"
# The scratch copy: the working tree's files (tracked and new, not ignored), mtimes kept so
# that an unchanged file is not rebuilt; files gone from the tree are removed from it.
rm -rf "$src.new"
mkdir -p "$src.new"
git ls-files -z -c -o --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$src.new" ||
  { echo "mutants: cannot copy the tree"; exit 1; }
if [ -d "$src" ]; then
  # Keep the old copy's inodes where the content is the same (mtime too), so ninja reuses.
  (cd "$src.new" && find . -type f -print0) | while IFS= read -r -d '' f; do
    if [ -f "$src/$f" ] && cmp -s "$src/$f" "$src.new/$f"; then
      touch -r "$src/$f" "$src.new/$f"
    fi
  done
  rm -rf "$src"
fi
mv "$src.new" "$src"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unset CUSTOS_TEST_ONLY
if [ ! -f "$bld/build.ninja" ]; then
  meson setup "$bld" "$src" -Dwerror=true >"$work/setup.log" 2>&1 ||
    { cat "$work/setup.log"; echo "mutants: meson setup failed"; exit 1; }
fi

python3 - "$root" "$src" "$bld" "$mode" "${names[@]}" <<'PY'
import glob, json, os, re, subprocess, sys, tempfile, time

root, src, bld, mode = sys.argv[1:5]
only = sys.argv[5:]
SEARCH = ("common", "vaultd", "broker", "cli", "include")  # where a mutant may change code
KEYS = {"check", "tests", "fast"}  # and find/replace, find2/replace2, ... (applied in order)


def parse(path):
    m, key = {}, None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.startswith((" ", "\t")) and key:  # continuation of the previous value
                m[key] += "\n" + line.strip()
                continue
            k, sep, v = line.partition(":")
            k = k.strip()
            if not sep or not (k in KEYS or re.fullmatch(r"(find|replace)[2-9]?", k)):
                raise SystemExit("%s:%d: expected KEY: VALUE (check, find, replace, tests, "
                                 "fast; find2/replace2 ...)" % (path, n))
            key = k
            m[key] = v.strip()
    for k in ("check", "find", "replace", "tests"):
        if k not in m or (k != "replace" and not m[k]):
            raise SystemExit("%s: no %s:" % (path, k))
    # \n and \t in find/replace stand for a newline and a tab (for a change across lines).
    m["edits"] = []
    for suffix in [""] + [str(i) for i in range(2, 10)]:
        if "find" + suffix not in m:
            continue
        if "replace" + suffix not in m:
            raise SystemExit("%s: find%s without replace%s" % (path, suffix, suffix))
        m["edits"].append(tuple(m[k].replace("\\n", "\n").replace("\\t", "\t")
                                for k in ("find" + suffix, "replace" + suffix)))
    m["tests"] = m["tests"].split()
    m["name"] = os.path.basename(path)[:-len(".mutant")]
    return m


def locate(pattern):
    """The one file under SEARCH holding `pattern`, exactly once; else an error string."""
    hits = []
    for top in SEARCH:
        for d, _, files in os.walk(os.path.join(src, top)):
            for fn in files:
                if not fn.endswith((".c", ".h")):
                    continue
                p = os.path.join(d, fn)
                with open(p, encoding="utf-8", errors="surrogateescape") as f:
                    n = f.read().count(pattern)
                if n:
                    hits.append((os.path.relpath(p, src), n))
    if len(hits) != 1 or hits[0][1] != 1:
        return None, "the pattern must occur exactly once in one file; found %s" % (
            ", ".join("%s (%d)" % h for h in hits) or "nowhere")
    return hits[0][0], None


def build():
    p = subprocess.run(["ninja", "-C", bld], capture_output=True, text=True)
    return p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]


def run_test(t):
    """Run one test (meson name, or INTEGRATION:SCENARIO); (passed, output tail)."""
    name, _, scenario = t.partition(":")
    env = dict(os.environ)
    env.pop("CUSTOS_TEST_ONLY", None)
    if scenario:
        env["CUSTOS_TEST_ONLY"] = scenario
    with tempfile.TemporaryDirectory(prefix="custos-mut-") as tmp:
        os.chmod(tmp, 0o755)  # tests run daemons as other uids, which must reach their dirs
        env["TMPDIR"] = tmp
        try:
            p = subprocess.run(["meson", "test", "-C", bld, "--no-rebuild", "--print-errorlogs",
                                name], capture_output=True, text=True, env=env, timeout=900)
        except subprocess.TimeoutExpired:
            return False, "timed out"
    out = p.stdout + p.stderr
    if p.returncode == 0:
        log = os.path.join(bld, "meson-logs", "testlog.json")
        ran = 0
        for line in open(log):
            r = json.loads(line)
            so = r.get("stdout") or ""
            ran += sum(1 for l in so.splitlines() if l.startswith("ok ") and "# SKIP" not in l)
            if not any(l.startswith(("ok ", "not ok ")) for l in so.splitlines()) and \
                    r.get("result") == "OK":
                ran += 1
        if ran == 0:
            return None, "no check ran (a scenario name that matches nothing?)\n" + out[-2000:]
    return p.returncode == 0, out[-4000:]


files = sorted(glob.glob(os.path.join(root, "tests", "mutants", "*.mutant")))
mutants = [parse(f) for f in files]
if only:
    unknown = set(only) - {m["name"] for m in mutants}
    if unknown:
        raise SystemExit("mutants: no such mutant: %s" % " ".join(sorted(unknown)))
    mutants = [m for m in mutants if m["name"] in only]
elif mode == "fast":
    mutants = [m for m in mutants if m.get("fast", "no") == "yes"]
if not mutants:
    print("mutants: none selected")
    sys.exit(1)

t0 = time.time()
ok, log = build()
if not ok:
    print(log)
    print("mutants: the unmutated scratch tree does not build")
    sys.exit(1)
# Baseline: every test named must pass on the unmutated tree, or a KILLED means nothing.
tests = sorted({t for m in mutants for t in m["tests"]})
bad = False
for t in tests:
    passed, out = run_test(t)
    if not passed:
        print(out)
        print("BASELINE-FAILED %s (on the unmutated tree)" % t)
        bad = True
if bad:
    print("mutants: baseline failed; no verdict")
    sys.exit(1)
base = time.time() - t0

killed = survived = broken = 0
for m in mutants:
    t1 = time.time()
    originals = {}  # path -> text before this mutant
    err = None
    for find, replace in m["edits"]:
        rel, err = locate(find)
        if err:
            break
        path = os.path.join(src, rel)
        if path not in originals:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                originals[path] = f.read()
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text.replace(find, replace, 1))
    where = ",".join(sorted(os.path.relpath(p, src) for p in originals))
    try:
        if err:
            print("BROKEN %s: %s (check: %s)" % (m["name"], err, m["check"]))
            broken += 1
            continue
        ok, log = build()
        if not ok:
            print(log)
            print("BROKEN %s: does not build (%s)" % (m["name"], where))
            broken += 1
            continue
        by = None
        for t in m["tests"]:
            passed, out = run_test(t)
            if passed is None:
                print(out)
                print("BROKEN %s: test %s ran nothing" % (m["name"], t))
                broken += 1
                by = "-"
                break
            if not passed:
                by = t
                break
        if by == "-":
            continue
        dt = time.time() - t1
        if by:
            killed += 1
            print("KILLED %s by %s (%.0fs): %s [%s]" % (m["name"], by, dt, m["check"], where))
        else:
            survived += 1
            print("SURVIVED %s (%.0fs): %s [%s]; no failure in: %s" % (
                m["name"], dt, m["check"], where, " ".join(m["tests"])))
    finally:
        for path, text in originals.items():
            with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(text)  # a fresh mtime: the next build compiles the original again
    sys.stdout.flush()

ok, log = build()  # leave the scratch build matching the tree
print("mutants: %d killed, %d survived, %d broken of %d (%s) in %.0fs (baseline %.0fs)" % (
    killed, survived, broken, len(mutants), mode if not only else "named",
    time.time() - t0, base))
sys.exit(0 if survived == 0 and broken == 0 else 1)
PY
