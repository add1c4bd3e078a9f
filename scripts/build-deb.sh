#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the Debian package from this tree: build-deb.sh [OUTDIR] (default: build-deb/).
# The tree (tracked and new files, no build directories) is copied to a temp dir, built there
# with `dpkg-buildpackage -us -uc -b`, and the .deb is moved to OUTDIR; its path is printed
# last. Needs the packages of scripts/install-deps.sh (debhelper, dpkg-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-$root/build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/custos-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/custos
mkdir "$src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$root" ls-files -z --cached --others --exclude-standard |
    grep -zv -e '^build' -e '^debian/\.debhelper' |
    (cd "$root" && xargs -0 cp --parents -a -t "$src" 2>/dev/null || true)
  # Files deleted from the work tree but still in the index were skipped by cp above.
else
  tar -C "$root" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
export DEB_BUILD_OPTIONS="nocheck parallel=${DEB_PARALLEL:-2}"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
  tail -n 60 "$work/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed (log above)" >&2
  exit 1
}
deb=$(ls "$work"/custos_*.deb)
mv "$deb" "$out/"
echo "$out/$(basename "$deb")"
