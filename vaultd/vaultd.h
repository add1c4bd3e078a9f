/* SPDX-License-Identifier: Apache-2.0 */
/* The vault daemon's state: one loop, one store, the keys, the connections. */
#ifndef VAULTD_VAULTD_H
#define VAULTD_VAULTD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

#include "custos/secbuf.h"
#include "agent.h"
#include "audit.h"
#include "keys.h"
#include "peer_limits.h"
#include "store.h"
#include "vconf.h"

enum vault_state { VAULT_UNINITIALIZED, VAULT_SEALED, VAULT_UNSEALED };

struct conn;
struct req;

/*
 * The writer runs every request that writes (and every audited secret
 * release) on the libuv threadpool, one batch at a time, so LMDB's single
 * writer is never contended and one fsync commits a whole batch (group
 * commit).  Exclusive requests (init, unseal, seal, rekey, restore) run alone
 * and apply their state change on the loop thread afterwards, so the keys
 * and the store only ever change between batches.
 */
struct writer {
    uv_work_t work;
    struct req *head, *tail; /* waiting */
    struct req *batch;       /* running (owned by the worker until after_work) */
    int batch_err;           /* commit result of the running batch */
    bool busy;
    bool exclusive; /* the running batch is one exclusive request */
    bool sync_only; /* the running batch only flushes (delayed durability) */
    bool dirty;     /* committed but not yet fsynced (sync_interval_ms > 0) */
    uv_timer_t sync_timer;
};

struct vaultd {
    uv_loop_t *loop;
    struct vconf *conf;
    struct store *store;
    enum vault_state state;
    json_t *kek_desc;   /* STORE_META "kek", NULL while uninitialized */
    struct secbuf *kek; /* both NULL unless unsealed */
    struct secbuf *dek;
    struct audit *audit;        /* NULL unless unsealed */
    struct keys_shares *shares; /* Shamir unseal in progress */
    unsigned shares_given;      /* mirror of keys_shares_count for status */
    unsigned failed_unseals;    /* since the last successful unseal */
    char *restored_from;        /* audited at the next unseal */
    unsigned backups_running;

    uv_pipe_t listener;
    bool listening;
    uv_signal_t sig_term, sig_int;
    uv_timer_t idle_timer; /* 1 s tick: [api] idle_timeout, quiet_timeout, held-back logs */
    struct peer_log refused_unknown; /* peers of no principal, closed at accept */
    struct peer_log refused_full;    /* max_clients / max_clients_per_uid */
    struct conn *conns;
    unsigned n_conns;
    struct writer writer;
    struct agent_set agents; /* per-session agent sockets (agent.c) */
    bool stopping;
    bool closed;
    int exit_code;
};

/* vaultd lifecycle (main.c / server.c). */
MUST_CHECK int vaultd_open(struct vaultd *vd, uv_loop_t *loop, struct vconf *conf);
MUST_CHECK int vaultd_listen(struct vaultd *vd);
/* [vault] socket_group as a gid (empty: the daemon's egid); -ERR_CONFIG for an unknown group. */
MUST_CHECK int vaultd_socket_gid(const struct vconf *conf, gid_t *out);
/* Begin shutdown: stop accepting, close clients, let the writer finish, seal. */
void vaultd_stop(struct vaultd *vd);
/* Called when everything is closed; frees keys and store. */
void vaultd_close(struct vaultd *vd);
/* The idle-client timer (server.c). */
void server_init(struct vaultd *vd);
void server_close(struct vaultd *vd);

/* Writer set-up and the final flush (writer.c). */
void writer_init(struct vaultd *vd);
void writer_close(struct vaultd *vd);

/* Drop the keys from memory (used by seal and at shutdown). */
void vaultd_wipe_keys(struct vaultd *vd);

const char *vaultd_state_name(enum vault_state s);

#endif
