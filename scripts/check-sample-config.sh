#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fail when contrib/config/vaultd.conf.sample differs from `custos-vaultd --sample-config`.
# Regenerate with: build/vaultd/custos-vaultd --sample-config > contrib/config/vaultd.conf.sample
set -euo pipefail
diff -u "$2" <("$1" --sample-config)
