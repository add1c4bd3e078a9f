/* SPDX-License-Identifier: Apache-2.0 */
/* Default paths shared by the daemons, the CLI, the units, the package and the docs. */
#ifndef CUSTOS_PATHS_H
#define CUSTOS_PATHS_H

/*
 * These follow the systemd units (contrib/systemd): RuntimeDirectory=custos
 * and StateDirectory=custos for vaultd, StateDirectory=custos-broker for the
 * broker.  systemd places those under /run and /var/lib whatever the build
 * prefix, so they are fixed here and not derived from meson's localstatedir.
 * tests/integration/test_defaults.py fails when a sample config, a unit,
 * --sample-config, docs/config.md or the CLI disagrees with them.
 */
#define CUSTOS_RUN_DIR "/run/custos"
#define CUSTOS_SOCKET_PATH CUSTOS_RUN_DIR "/vaultd.sock"
#define CUSTOS_VAULT_DIR "/var/lib/custos"
#define CUSTOS_BROKER_DIR "/var/lib/custos-broker"
#define CUSTOS_BROKER_HOST_KEY CUSTOS_BROKER_DIR "/host_ed25519"
/* Where the broker writes session recordings (docs/recording-format.md). */
#define CUSTOS_REC_DIR CUSTOS_BROKER_DIR "/recordings"

#endif
