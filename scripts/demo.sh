#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: install, build, and run the demo stack (vault, sshd target, broker) in the
# foreground; it prints the ssh line to try. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build
exec python3 scripts/demo.py
