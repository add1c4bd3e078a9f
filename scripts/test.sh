#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite: install dependencies, build twice (plain -Werror, and
# ASan+UBSan), run unit + integration + lint + fuzz-regress suites in both (each
# in a private mount namespace with its own /tmp, which must be left empty), run
# the fast mutant subset, print the breakdown and the total.
set -uo pipefail
cd "$(dirname "$0")/.."

# The suite cannot shrink quietly: no filter may come in from the environment.
filters=$(env | grep -E '^(CUSTOS_[A-Z0-9_]*|CMOCKA_[A-Z_]*FILTER[A-Z_]*|MESON_TEST_[A-Z_]*)=' |
  cut -d= -f1 | grep -v -x 'CUSTOS_SOCKET' || true)
if [ -n "$filters" ]; then
  echo "test.sh: refusing to run with test filter variables set: $(echo $filters)" >&2
  echo "         (unset them; CUSTOS_TEST_ONLY is for running one integration file by hand)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

bash scripts/install-deps.sh || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export MESON_TESTTHREADS=${MESON_TESTTHREADS:-2}

pass=0 fail=0 skip=0
breakdown=()

# Every test file in the tree is run by meson in one of the builds (the package tests run in
# the plain build only): a file that neither lists fails the run.
check_listed() { # build-dir...
  local missing=() f n suite listed="" d
  for d in "$@"; do
    listed+=$(meson test -C "$d" --list 2>/dev/null) || { echo "cannot list the tests of $d"; return 1; }
    listed+=$'\n'
  done
  for f in tests/integration/test_*.py tests/unit/test_*.c tests/fuzz/fuzz_*.c; do
    [ -e "$f" ] || continue
    n=$(basename "$f")
    case $f in
      tests/integration/*) n=${n#test_}; n=${n%.py}; suite=integration ;;
      tests/unit/*) n=${n#test_}; n=${n%.c}; suite=unit ;;
      tests/fuzz/*) n=${n%.c}; suite=fuzz-regress ;;
    esac
    # a test may be in more suites than its folder's ("integration+package / sandbox")
    grep -q -E "^custos:([a-z-]+[+])*${suite}([+][a-z-]+)* / ${n}\$" <<<"$listed" ||
      missing+=("$f")
  done
  if ((${#missing[@]})); then
    echo "---- test files that meson does not run: ${missing[*]} ----"
    return 1
  fi
}

# Run meson test in a private mount namespace whose /tmp is a fresh tmpfs (TMPDIR=/tmp),
# so that what a test leaves behind is seen, and no other run on this machine is. After
# the run, anything left in /tmp, and any process still using that /tmp (a daemon a test
# did not stop), is written to $dir/leftovers.txt.
run_meson_private() { # build-dir
  local dir=$1
  unshare --mount --propagation private -- bash -c '
    set -u
    dir=$1
    mount -t tmpfs -o mode=1777,size=8g custos-test-tmp /tmp || exit 97
    export TMPDIR=/tmp
    meson test -C "$dir" --print-errorlogs --num-processes "$MESON_TESTTHREADS" \
      --no-rebuild >"$dir/test-output.txt" 2>&1
    rc=$?
    python3 - "$dir/leftovers.txt" <<'"'"'PY'"'"'
import os, sys
tmp = os.stat("/tmp")
left = sorted(os.listdir("/tmp"))
procs = []
for d in os.listdir("/proc"):
    if not d.isdigit() or int(d) in (os.getpid(), os.getppid()):
        continue
    try:
        st = os.stat("/proc/%s/root/tmp" % d)
        if (st.st_dev, st.st_ino) == (tmp.st_dev, tmp.st_ino):
            with open("/proc/%s/cmdline" % d, "rb") as f:
                procs.append("%s %s" % (d, f.read().replace(b"\0", b" ").decode(errors="replace")))
    except OSError:
        pass
with open(sys.argv[1], "w") as f:
    for n in left:
        f.write("file /tmp/%s\n" % n)
    for p in procs:
        f.write("process %s\n" % p)
        os.kill(int(p.split()[0]), 9)
PY
    exit $rc
  ' custos-test "$dir"
}

run_suite() { # build-dir label
  local dir=$1 label=$2 counts rc a b c d
  rm -f "$dir/meson-logs/testlog.json" "$dir/leftovers.txt" # never count a previous run
  run_meson_private "$dir"
  rc=$?
  if [ "$rc" -eq 97 ]; then
    echo "---- $label: could not mount a private /tmp (needs root and unshare) ----"
  fi
  tail -n 12 "$dir/test-output.txt" | sed -n '/^Ok:/,$p'
  grep -E '^ *[0-9]+/[0-9]+ ' "$dir/test-output.txt" | sed "s/^/[$label] /"
  # Count TAP subtests (each unit case, each integration scenario); a test
  # without TAP output counts once. The test bed's own self-tests are counted apart.
  counts=$(python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, re, sys
p = f = s = 0
per = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    out = r.get("stdout") or r.get("stdo") or ""
    oks = len(re.findall(r"^ok \d+", out, re.M))
    bad = len(re.findall(r"^not ok \d+", out, re.M))
    skips = len(re.findall(r"^ok \d+.*# SKIP", out, re.M | re.I))
    # "custos:unit / err", "custos:unit+cli / cli": the suite is before " / ".
    name = r.get("name", "?")
    suite = name.split(" / ")[0].split(":")[-1].split("+")[0]
    if name.split(" / ")[-1] == "testbed":
        suite = "testbed"
    if oks + bad == 0:
        if r["result"] in ("OK", "EXPECTEDFAIL"):
            p += 1; per[suite] = per.get(suite, 0) + 1
        elif r["result"] == "SKIP": s += 1
        else: f += 1
        continue
    p += oks - skips
    per[suite] = per.get(suite, 0) + oks - skips
    s += skips
    f += bad
    if bad == 0 and r["result"] not in ("OK", "EXPECTEDFAIL", "SKIP"):
        f += 1  # crashed or timed out after its last subtest
print(p, f, s, ",".join("%s=%d" % kv for kv in sorted(per.items())))
PY
) || counts=""
  read -r a b c d <<<"$counts"
  if [ -z "${a:-}" ] || [ -z "${b:-}" ] || [ -z "${c:-}" ]; then
    echo "---- $label: no readable test log (meson test exited $rc) ----"
    a=0 b=1 c=0 d=""
  elif [ "$rc" -ne 0 ] && [ "$b" -eq 0 ]; then
    echo "---- $label: meson test exited $rc, yet no failure was counted: counted as one ----"
    b=$((b + 1))
  fi
  if [ -s "$dir/leftovers.txt" ]; then
    echo "---- $label: the tests left these behind (counted as one failure) ----"
    head -n 40 "$dir/leftovers.txt"
    b=$((b + 1))
  elif [ ! -e "$dir/leftovers.txt" ]; then
    echo "---- $label: the check for leftovers did not run (counted as one failure) ----"
    b=$((b + 1))
  fi
  pass=$((pass + a)) fail=$((fail + b)) skip=$((skip + c))
  breakdown+=("$label:$a:${d:-}")
  if [ "$b" -gt 0 ]; then
    echo "---- failures in $label ----"
    grep -E 'FAIL|TIMEOUT|ERROR|^not ok' "$dir/test-output.txt" | head -n 40
  fi
}

build_ok=1
echo "== build (gcc, -Werror)"
if ! bash scripts/build.sh build; then build_ok=0; fi
echo "== build (ASan + UBSan)"
if ! bash scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false; then
  build_ok=0
fi
if [ "$build_ok" -ne 1 ]; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

if ! check_listed build build-asan; then
  fail=$((fail + 1))
fi
echo "== tests (plain build)"
run_suite build plain
echo "== tests (ASan + UBSan build)"
run_suite build-asan asan

# Deliberate bugs in a scratch copy: each must be noticed (KILLED) by the tests named
# for it. The fast subset runs here; `bash scripts/mutants.sh` runs them all.
echo "== mutants (fast subset: bash scripts/mutants.sh --fast)"
killed=0
bash scripts/mutants.sh --fast >build/mutants-output.txt 2>&1
mrc=$?
cat build/mutants-output.txt | grep -E '^(KILLED|SURVIVED|BROKEN|mutants:)' || true
killed=$(grep -c '^KILLED' build/mutants-output.txt || true)
mbad=$(grep -c -E '^(SURVIVED|BROKEN)' build/mutants-output.txt || true)
if [ "$mrc" -ne 0 ] && [ "$mbad" -eq 0 ]; then
  echo "---- mutant run exited $mrc without a verdict (counted as one failure) ----"
  tail -n 20 build/mutants-output.txt
  mbad=1
fi
if [ "$killed" -eq 0 ] && [ "$mbad" -eq 0 ]; then
  echo "---- mutant run killed nothing (counted as one failure) ----"
  mbad=1
fi
pass=$((pass + killed)) fail=$((fail + mbad))

if [ "$pass" -eq 0 ]; then
  echo "---- no test passed at all ----"
  fail=$((fail + 1))
fi
# The breakdown: checks per build (the same checks run in each), the test bed's own
# self-tests apart, and the mutants killed; it adds up to the passed count below.
python3 - "$killed" "${breakdown[@]}" <<'PY'
import sys
killed = int(sys.argv[1])
builds = []
for arg in sys.argv[2:]:
    label, total, per = arg.split(":", 2)
    d = dict(kv.split("=") for kv in per.split(",") if kv)
    d = {k: int(v) for k, v in d.items()}
    builds.append((label, int(total), d))
bed = [b[2].get("testbed", 0) for b in builds]
checks = [b[1] - t for b, t in zip(builds, bed)]
names = sorted({k for b in builds for k in b[2] if k != "testbed"})
def per_suite(d):
    return ", ".join("%s %d" % (k, d.get(k, 0)) for k in names)
if len(set(checks)) == 1 and len(set(bed)) == 1 and len({per_suite(b[2]) for b in builds}) == 1:
    line = "%d checks (%s) x %d builds (%s) = %d; test bed self-tests %d x %d = %d" % (
        checks[0], per_suite(builds[0][2]), len(builds), ", ".join(b[0] for b in builds),
        sum(checks), bed[0], len(builds), sum(bed))
else:
    line = "; ".join("%s: %d checks (%s) + test bed self-tests %d" % (b[0], c, per_suite(b[2]), t)
                     for b, c, t in zip(builds, checks, bed))
print("breakdown: %s; mutants killed %d" % (line, killed))
PY
if [ "$skip" -gt 0 ]; then
  echo "$pass passed, $fail failed, $skip skipped"
else
  echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
