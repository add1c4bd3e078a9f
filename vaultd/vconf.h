/* SPDX-License-Identifier: Apache-2.0 */
/* vaultd.conf: the daemon's settings and its [principal NAME] uid/gid-to-scope map. */
#ifndef VAULTD_VCONF_H
#define VAULTD_VCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "custos/err.h"

/* A [principal NAME] section: who (SO_PEERCRED uid or primary gid) may use which scopes. */
struct vconf_principal {
    char *name;
    uid_t *uids; /* resolved at load; user names become uids */
    size_t n_uids;
    gid_t *gids;
    size_t n_gids;
    unsigned scopes; /* SCOPE() bits from scopes.h; always includes SCOPE(STATUS) */
    char *identity;  /* governance identity acted as; "" = none */
};

struct vconf {
    char *data_dir;                /* [vault] data_dir, default CUSTOS_VAULT_DIR */
    char *socket_path;             /* [vault] socket, default CUSTOS_SOCKET_PATH */
    unsigned socket_mode;          /* [vault] socket_mode, default 0660 */
    char *socket_group;            /* [vault] socket_group, "" = the daemon's group */
    char *key_file;                /* [vault] key_file, "" = none; credentials expanded */
    bool auto_unseal;              /* [vault] auto_unseal: unseal from key_file at start */
    unsigned long long argon2_ops; /* [vault] argon2_ops */
    size_t argon2_mem;             /* [vault] argon2_mem (bytes) */
    size_t map_size;               /* [vault] map_size (bytes) */
    size_t max_line;               /* [api] max_line (bytes): callers that send long requests */
    size_t max_line_short;         /* [api] max_line_short (bytes, at most max_line): the others */
    size_t max_pending_output;     /* [api] max_pending_output (bytes) */
    unsigned max_clients;          /* [api] max_clients */
    unsigned max_clients_per_uid;  /* [api] max_clients_per_uid */
    unsigned idle_timeout;         /* [api] idle_timeout: unfinished line (seconds, 0 = none) */
    unsigned quiet_timeout;        /* [api] quiet_timeout: silent connection (seconds, 0 = none) */
    bool allow_self;               /* [api] allow_self */
    unsigned request_timeout;      /* [gov] request_timeout (seconds) */
    unsigned mfa_max_failures;     /* [mfa] max_failures (wrong codes before a lock) */
    unsigned mfa_failure_window;   /* [mfa] failure_window (seconds) */
    unsigned mfa_free_failures;    /* [mfa] free_failures (wrong codes before any delay) */
    unsigned mfa_delay;            /* [mfa] delay (seconds, doubling) */
    unsigned mfa_lock_time;        /* [mfa] lock_time (seconds) */
    unsigned mfa_max_lock_time;    /* [mfa] max_lock_time (seconds, >= lock_time) */
    unsigned sync_interval_ms;     /* [vault] sync_interval_ms, 0 = fsync every commit */
    int log_level;                 /* [log] level (enum log_level) */
    /* [principal NAME] sections, file order */
    struct vconf_principal *principals;
    size_t n_principals;
};

/*
 * Load vaultd.conf from `path`, or only the defaults when path is NULL.  On
 * success *out is owned by the caller (vconf_free).  Returns -ERR_CONFIG with
 * "file:line: message" in err (unknown key or section, bad value, unknown
 * scope, user or group), -ERR_IO if the file cannot be read, -ERR_NOMEM.
 * The command line may still override data_dir (vconf_set_data_dir); call
 * vconf_check before using the result.
 */
MUST_CHECK int vconf_load(const char *path, struct vconf **out, char *err, size_t errlen);
void vconf_free(struct vconf *c);

/* Override data_dir (from --data-dir); the socket stays where it is.  -ERR_CONFIG if dir is not
 * absolute. */
MUST_CHECK int vconf_set_data_dir(struct vconf *c, const char *dir, char *err, size_t errlen);

/* Final checks once every source is applied: data_dir is set.  -ERR_CONFIG with a message. */
MUST_CHECK int vconf_check(const struct vconf *c, char *err, size_t errlen);

/* First principal whose uids contain uid or whose gids contain gid; NULL if none.  Borrowed from c.
 */
const struct vconf_principal *vconf_principal_for(const struct vconf *c, uid_t uid, gid_t gid);

/* Commented sample file, Markdown reference, and the effective configuration (as INI). */
void vconf_print_sample(FILE *f);
void vconf_print_markdown(FILE *f);
void vconf_print(const struct vconf *c, FILE *f);

#endif
