/* SPDX-License-Identifier: Apache-2.0 */
/* custos-broker: loops, sessions, and what they share. */
#ifndef BROKER_BROKER_H
#define BROKER_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <uv.h>

#include "bconf.h"
#include "vlink.h"

struct bsess;

/*
 * One event loop on its own thread: its own listening socket (SO_REUSEPORT,
 * so the kernel spreads connections over the loops), its own ssh_bind, its
 * own vault link, and the sessions it accepted.  A session pair never
 * leaves its loop.
 */
struct bloop {
    unsigned index;
    const struct bconf *conf;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t stop;
    uv_poll_t lpoll;
    int lfd;
    ssh_bind bind;
    struct vlink *vault;
    /*
     * A second, blocking link used only inside libssh's authentication
     * callbacks, which must answer before they return (TOTP): each call is
     * one local round trip, bounded by MFA_TIMEOUT_MS.
     */
    struct client *sync_vault;
    uv_timer_t watchdog;
    struct bsess *sessions;
    unsigned n_sessions;
    bool stopping;
    uint64_t next_sess;
};

/* Longest a TOTP check may hold the loop (a local socket round trip, normally < 1 ms). */
#define MFA_TIMEOUT_MS 2000

/* loop.c */
MUST_CHECK int bloop_start(struct bloop *bl);
void bloop_request_stop(struct bloop *bl);

/* session.c */
/* Take an accepted admin connection (fd, non-blocking) into a new session. */
void bsess_accept(struct bloop *bl, int fd, const char *addr, unsigned port);
/* A vault event for this loop's sessions. */
void bsess_on_event(struct bloop *bl, const char *type, json_t *data);
/* Once a second: pump every session (missed wake-ups, rekeys), apply deadlines. */
void bsess_watchdog(struct bloop *bl);
/* End every session (the loop is stopping). */
void bsess_close_all(struct bloop *bl, const char *why);

#endif
