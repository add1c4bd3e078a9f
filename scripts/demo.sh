#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: install, build, and run the demo stack (vault, sshd target, broker as a uid of
# its own) in the foreground; it prints the ssh lines to try. Ctrl-C stops everything it
# started, also when the output goes through a pipe (bash scripts/demo.sh | tee demo.log).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== 1/3 dependencies (scripts/install-deps.sh; the first run takes a few minutes)"
bash scripts/install-deps.sh
echo "== 2/3 build (meson and ninja in build/)"
if [ ! -f build/build.ninja ]; then
  meson setup build -Dwerror=true
fi
ninja -C build vaultd/custos-vaultd broker/custos-broker cli/custos
echo "== 3/3 the demo stack"
exec python3 scripts/demo.py "$@"
