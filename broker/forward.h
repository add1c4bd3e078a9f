/* SPDX-License-Identifier: Apache-2.0 */
/* A session's port forwards: -L and jumps (direct-tcpip), -R (the target listens), as the
 * entitlement allows. */
#ifndef BROKER_FORWARD_H
#define BROKER_FORWARD_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <libssh/libssh.h>

#include "relay.h"
#include "vlink.h"

/* Forwards a session may carry at once (-L, -W/-J and -R connections). */
#define FWDSET_MAX 16u
/* -R listeners a session may ask the target for. */
#define FWDSET_LISTEN_MAX 4u

/*
 * The owner's side, called on the loop thread.  tell(): a line for the
 * admin's stderr now; notice(): a line for once the session channel exists
 * (a refusal that came before it, as OpenSSH sets forwards up first).
 */
struct fwdset_io {
    void *ctx;
    void (*tell)(void *ctx, const char *msg);
    void (*notice)(void *ctx, const char *msg);
};

/* A -R listener: asked of the target once the vault has answered. */
struct fwdset_listener {
    enum { FWDSET_PENDING, FWDSET_LISTENING, FWDSET_DONE } state;
    char addr[256];
    unsigned port;
};

struct fwd;

/*
 * Embedded in its session, all-zero to start; the owner sets the first
 * block.  Every forward attempt is checked against policy (before the vault
 * has answered, an -L waits and is checked once it has) and reported to the
 * vault (session.command, audited there) once the session has a vault id.
 * The set never pumps and never ends the session.
 */
struct fwdset {
    uint64_t id; /* the session's, for logs */
    struct fwdset_io io;
    struct vlink *vault;
    struct relay *relay;  /* bytes are counted there (forwards are never tapped) */
    const char *user;     /* borrowed: what the admin connected as */
    const char *account;  /* borrowed: the account, for messages */
    const char *vsession; /* borrowed: the vault's session id, "" until authorized */
    const json_t *policy; /* borrowed: the entitlement's, NULL until the vault answered */

    struct fwd *fwds, *fwds_new;
    unsigned n_fwds;
    struct fwdset_listener listeners[FWDSET_LISTEN_MAX];
    unsigned n_listeners;
};

/*
 * Requests from libssh's message callbacks (the answer is their return
 * value: 0 handled here, 1 default reply, i.e. refused).  The owner has
 * checked that the session may carry forwards at all.
 * fwdset_open: the admin's direct-tcpip (-L, -W, -J);
 * fwdset_listen: the admin's tcpip-forward (-R): accepted at once, the
 *   target asked to listen by fwdset_step(), refusals told as a notice;
 * fwdset_incoming: the target's forwarded-tcpip, a connection on a -R
 *   listener (the session is relaying).
 */
int fwdset_open(struct fwdset *fs, ssh_message msg);
int fwdset_listen(struct fwdset *fs, ssh_message msg);
int fwdset_incoming(struct fwdset *fs, ssh_message msg);

/*
 * Relaying: ask the target for pending -R listeners, then open, relay,
 * propagate EOF and close every forward (admin: the admin's session, for
 * the channels of -R connections; target: the target's).
 */
void fwdset_step(struct fwdset *fs, ssh_session admin, ssh_session target);

/* No forward is open (or opening). */
bool fwdset_is_empty(const struct fwdset *fs);

/* Free every forward and its channels (before either SSH session is freed). */
void fwdset_fini(struct fwdset *fs);

#endif
