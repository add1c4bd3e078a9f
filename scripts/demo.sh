#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: install, build, and start a throw-away demo vault (unsealed), store a
# credential through the CLI, read it back, and leave custos-vaultd running.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh
bash scripts/build.sh build

custos=$root/build/cli/custos
vaultd=$root/build/vaultd/custos-vaultd
demo=$(mktemp -d /tmp/custos-demo.XXXXXX)
chmod 700 "$demo"
cat >"$demo/vaultd.conf" <<CONF
[vault]
data_dir = $demo/data
socket = $demo/vaultd.sock

[log]
level = info
CONF

# A throw-away passphrase, in a 0600 file (never on a command line).
umask 077
head -c 24 /dev/urandom | base64 >"$demo/passphrase"
head -c 18 /dev/urandom | base64 >"$demo/demo-password"

setsid "$vaultd" -c "$demo/vaultd.conf" </dev/null >>"$demo/vaultd.log" 2>&1 &
pid=$!
echo "$pid" >"$demo/vaultd.pid"
for _ in $(seq 100); do
  [ -S "$demo/vaultd.sock" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$demo/vaultd.log"; exit 1; }
  sleep 0.1
done
export CUSTOS_SOCKET=$demo/vaultd.sock

"$custos" vault init --passphrase --passphrase-file "$demo/passphrase" >/dev/null
"$custos" vault unseal --passphrase-file "$demo/passphrase" >/dev/null
"$custos" target create web01 --host 127.0.0.1 --port 22 >/dev/null
"$custos" account create root@web01 --kind password >/dev/null
"$custos" secret put root@web01 --from-file "$demo/demo-password" >/dev/null
if [ "$("$custos" secret get root@web01)" = "$(cat "$demo/demo-password")" ]; then
  readback="matches what was stored"
else
  readback="DOES NOT MATCH"
fi

echo
"$custos" vault status
echo
"$custos" secret list
echo
echo "Stored a password for root@web01 and read it back through the CLI: $readback."
echo "Audit chain: $("$custos" audit verify | head -n 1)"
echo
echo "custos-vaultd is running (pid $pid), unsealed, in $demo"
echo "  socket:  $demo/vaultd.sock"
echo "  try:     export CUSTOS_SOCKET=$demo/vaultd.sock"
echo "           $custos secret history root@web01"
echo "           $custos audit export | tail -n 3"
echo "  stop:    kill $pid        (it seals and exits; then rm -rf $demo)"
