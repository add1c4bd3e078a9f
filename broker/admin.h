/* SPDX-License-Identifier: Apache-2.0 */
/* The admin leg: libssh's server side of a session, its authentication (key, then TOTP) and
 * requests. */
#ifndef BROKER_ADMIN_H
#define BROKER_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "broker.h"
#include "chanreq.h"

/*
 * libssh's server callbacks answer synchronously, from their return value
 * (../shared/notes/libssh-libuv.md, pitfall 4), so they only record what
 * happened here; the session's pump reads it and acts.  The one exception
 * is the TOTP check, which must be answered inside the callback: a blocking
 * call on the loop's second vault link, bounded by MFA_TIMEOUT_MS.
 */

/*
 * The owner's side.  forward(): once the admin is authenticated, a
 * direct-tcpip channel open or a tcpip-forward global request (answered as
 * libssh's message callback is: 0 handled, 1 default reply, i.e. refused).
 */
struct admin_io {
    void *ctx;
    int (*forward)(void *ctx, ssh_message msg);
};

/*
 * Embedded in its session.  admin_leg_open() takes the accepted connection;
 * then the callbacks fill the fields below as libssh runs them (inside
 * ssh_handle_key_exchange / ssh_execute_message_callbacks on ss).
 */
struct admin_leg {
    struct bloop *bl;
    uint64_t id; /* the session's, for logs */
    char addr[64];
    unsigned port;
    struct admin_io io;
    ssh_session ss; /* owned: freed by admin_leg_close */
    struct ssh_server_callbacks_struct scb;
    ssh_channel ch; /* the session channel (one per connection), or NULL */
    struct ssh_channel_callbacks_struct cb;

    bool authed;    /* the key (and the TOTP code, if needed) was given */
    bool need_totp; /* the key was right; a code is asked for */
    unsigned totp_failures;
    char user[256];        /* what the admin connected as: NAME@TARGET, or custos */
    char fp[96];           /* SHA256 fingerprint of the admin's key */
    char mfa_identity[80]; /* whose TOTP is checked */
    char refuse[256];      /* set during authentication: refuse at the first request, with this */
    struct chanreq req;    /* what the session channel asked for */
};

/*
 * Take the accepted connection fd (non-blocking) into a new libssh server
 * session on the loop's bind: public keys only, callbacks set, libssh quiet.
 * -ERR_NOMEM or -ERR_CONN (libssh refused it), logged; the fd is then
 * closed, or was taken by libssh and went with its session.
 */
MUST_CHECK int admin_leg_open(struct admin_leg *al, struct bloop *bl, uint64_t id, int fd,
                              const char *addr, unsigned port, const struct admin_io *io);

/* Free the channel and the session (libssh closes the fd); forwards on ss go first. */
void admin_leg_close(struct admin_leg *al);

#endif
