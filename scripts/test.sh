#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite: install dependencies, build twice (plain -Werror, and
# ASan+UBSan), run unit + integration + lint suites in both, print the total.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export MESON_TESTTHREADS=${MESON_TESTTHREADS:-2}

pass=0 fail=0 skip=0
run_suite() { # build-dir label
  local dir=$1 label=$2 log counts rc a b c
  rm -f "$dir/meson-logs/testlog.json" # never count a previous run's results
  meson test -C "$dir" --print-errorlogs --num-processes "$MESON_TESTTHREADS" \
    --no-rebuild >"$dir/test-output.txt" 2>&1
  rc=$?
  tail -n 12 "$dir/test-output.txt" | sed -n '/^Ok:/,$p'
  grep -E '^ *[0-9]+/[0-9]+ ' "$dir/test-output.txt" | sed "s/^/[$label] /"
  log=$dir/meson-logs/testlog.json
  # Count TAP subtests (each unit case, each integration scenario); a test
  # without TAP output counts once.
  counts=$(python3 - "$log" <<'PY'
import json, re, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    out = r.get("stdout") or r.get("stdo") or ""
    oks = len(re.findall(r"^ok \d+", out, re.M))
    bad = len(re.findall(r"^not ok \d+", out, re.M))
    skips = len(re.findall(r"^ok \d+.*# SKIP", out, re.M | re.I))
    if oks + bad == 0:
        if r["result"] in ("OK", "EXPECTEDFAIL"): p += 1
        elif r["result"] == "SKIP": s += 1
        else: f += 1
        continue
    p += oks - skips
    s += skips
    f += bad
    if bad == 0 and r["result"] not in ("OK", "EXPECTEDFAIL", "SKIP"):
        f += 1  # crashed or timed out after its last subtest
print(p, f, s)
PY
) || counts=""
  read -r a b c <<<"$counts"
  if [ -z "${a:-}" ] || [ -z "${b:-}" ] || [ -z "${c:-}" ]; then
    echo "---- $label: no readable test log (meson test exited $rc) ----"
    a=0 b=1 c=0
  elif [ "$rc" -ne 0 ] && [ "$b" -eq 0 ]; then
    echo "---- $label: meson test exited $rc, yet no failure was counted: counted as one ----"
    b=1
  fi
  pass=$((pass + a)) fail=$((fail + b)) skip=$((skip + c))
  if [ "$b" -gt 0 ]; then
    echo "---- failures in $label ----"
    grep -E 'FAIL|TIMEOUT|ERROR' "$dir/test-output.txt" | head -n 40
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

echo "== tests (plain build)"
run_suite build plain
echo "== tests (ASan + UBSan build)"
run_suite build-asan asan

if [ "$pass" -eq 0 ]; then
  echo "---- no test passed at all ----"
  fail=$((fail + 1))
fi
if [ "$skip" -gt 0 ]; then
  echo "$pass passed, $fail failed, $skip skipped"
else
  echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
