#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fail if any C source differs from .clang-format.
cd "$(dirname "$0")/.." || exit 1
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
