/* SPDX-License-Identifier: Apache-2.0 */
/* broker.conf: where the broker listens, its host key, its vault, its limits. */
#ifndef BROKER_BCONF_H
#define BROKER_BCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "custos/err.h"

struct bconf {
    char *listen;                  /* [broker] listen, default 127.0.0.1 */
    unsigned port;                 /* [broker] port, default 2222 */
    char *host_key;                /* [broker] host_key, created (ed25519, 0600) on first start */
    char *vault_socket;            /* [broker] vault_socket */
    char *name;                    /* [broker] name, recorded with every session */
    unsigned loops;                /* [broker] loops, 0 = one per core */
    unsigned keepalive;            /* [broker] keepalive seconds */
    unsigned idle_timeout;         /* [broker] idle_timeout seconds, 0 = none */
    unsigned max_session;          /* [broker] max_session seconds, 0 = none */
    unsigned expiry_warning;       /* [broker] expiry_warning seconds before a grant ends */
    unsigned connect_timeout;      /* [broker] connect_timeout seconds (target and vault) */
    unsigned auth_timeout;         /* [broker] auth_timeout seconds for an admin to authenticate */
    unsigned long long rekey_data; /* [broker] rekey_data bytes, 0 = libssh's default */
    int log_level;                 /* [log] level */
};

/* Load (path NULL: defaults).  -ERR_CONFIG with "file:line: message" in err. */
MUST_CHECK int bconf_load(const char *path, struct bconf **out, char *err, size_t errlen);
void bconf_free(struct bconf *c);
void bconf_print_sample(FILE *f);
void bconf_print_markdown(FILE *f);
void bconf_print(const struct bconf *c, FILE *f);

#endif
