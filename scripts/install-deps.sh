#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian 12 packages Custos builds, runs and tests with (root; idempotent).
# libseccomp-dev: tests/sandbox/sandbox_exec, which runs the daemons under their units'
# SystemCallFilter= (test_sandbox.py), with the sets systemd-analyze (systemd) lists;
# debhelper, dpkg-dev: scripts/build-deb.sh and the
# install test; adduser, debconf: the package's maintainer scripts.
set -euo pipefail

pkgs=(
  build-essential meson ninja-build pkg-config clang-format
  libsodium-dev liblmdb-dev lmdb-utils libuv1-dev libjansson-dev libinih-dev
  libssh-dev libssl-dev libcmocka-dev libzstd-dev
  openssh-server openssh-client python3 socat util-linux procps
  libseccomp-dev systemd
  debhelper dpkg-dev adduser debconf
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
