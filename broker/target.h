/* SPDX-License-Identifier: Apache-2.0 */
/* The target leg: resolve, connect, check the pinned host key, log in, open and replay. */
#ifndef BROKER_TARGET_H
#define BROKER_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <uv.h>

#include "chanreq.h"
#include "custos/secbuf.h"

/*
 * A libssh client session to the target, driven without blocking
 * (../shared/notes/libssh-libuv.md, "Client leg"): the address is looked up
 * with uv_getaddrinfo (never getaddrinfo on the loop, never inside libssh),
 * the TCP connect is libuv-watched, and every libssh call is retried on the
 * next wake-up until it stops saying AGAIN.  The leg never pumps and never
 * ends its session: it says what happened through its io and the steps
 * target_leg_step() returns, and leaves decisions to its owner.
 */

enum target_step {
    TARGET_IDLE,
    TARGET_RESOLVE,  /* address lookup */
    TARGET_TCP,      /* TCP connect */
    TARGET_SSH,      /* key exchange, then the pinned host key */
    TARGET_USERAUTH, /* logging in with the vaulted credential */
    TARGET_CH_OPEN,  /* opening the session channel */
    TARGET_CH_PTY,   /* pty request */
    TARGET_CH_REQ,   /* shell / exec / subsystem */
    TARGET_READY,    /* the request runs (a forward-only session: logged in) */
    TARGET_FAILED,   /* error says why, in words for the admin */
};

/*
 * The owner's side, called on the loop thread.  wake(): the leg's socket is
 * ready, or the address lookup ended (the owner pumps, and calls
 * target_leg_step); closed(): a handle or the lookup let go of the leg
 * (the owner may be freed once it is dead and target_leg_is_closed()).
 * Neither is called from inside a target_leg_* call.  message(): a request
 * of the target's (a connection on a -R listener), from libssh's message
 * callback inside target_leg_step or target_leg_process, answered as that
 * callback is: 0 handled, 1 default reply (NULL: always 1).
 */
struct target_io {
    void *ctx;
    void (*wake)(void *ctx);
    void (*closed)(void *ctx);
    int (*message)(void *ctx, ssh_message msg);
};

/*
 * Embedded in its session; target_leg_init() first.  The owner fills in
 * the first block (from the vault's answer) before target_leg_start(); the
 * rest is the leg's, readable by the owner (ch and cs: the channel and
 * session to relay and forward on, once the leg is READY).
 */
struct target_leg {
    uv_loop_t *loop;
    uint64_t id;         /* the session's, for logs */
    uint64_t rekey_data; /* 0: libssh's default */
    struct target_io io;
    struct chanreq *req; /* borrowed; the pty request clears its resize_pending */
    const char *name;    /* borrowed: the target's name, for messages */
    const char *account; /* borrowed: NAME@TARGET as the vault names it */
    char host[256];
    unsigned port;           /* 0: 22 */
    char hostkey[128];       /* the pinned SHA256 fingerprint */
    struct secbuf *password; /* owned, wiped as soon as it was used */
    char agent[108];         /* or vaultd's agent socket for this session ("" if none) */

    enum target_step step;
    uint64_t step_since_ms; /* loop time the current step began */
    bool halted, closing;
    uv_getaddrinfo_t gai;
    bool gai_running;
    int fd;
    uv_poll_t poll;
    bool poll_open;
    unsigned handles; /* uv handles not yet closed */
    ssh_session cs;
    ssh_channel ch;
    struct ssh_channel_callbacks_struct cb;

    /* what the target said, recorded by the channel's callbacks */
    bool have_exit_status, have_exit_signal;
    int exit_status;
    char exit_signal[32];
    char error[512]; /* the longest is a host key mismatch or a refused login, under 450 */
};

void target_leg_init(struct target_leg *tl, uv_loop_t *loop, uint64_t id, uint64_t rekey_data,
                     const struct target_io *io);

/*
 * Look the host up (TARGET_RESOLVE).  -ERR_CONN when the lookup cannot even
 * start (step TARGET_FAILED, error set).  The answer comes through wake().
 */
MUST_CHECK int target_leg_start(struct target_leg *tl);

/*
 * Let libssh process what the target sent (its callbacks run: exit status,
 * the target's requests) and advance as far as the leg goes without
 * blocking.  Returns the step reached: TARGET_READY once, then again at
 * every call; TARGET_FAILED with error.
 */
enum target_step target_leg_step(struct target_leg *tl);

/* Only the first half of target_leg_step(), for a leg that is READY. */
void target_leg_process(struct target_leg *tl);

/* Re-arm the leg's uv_poll from what libssh wants (nothing before the SSH session exists). */
void target_leg_rearm(struct target_leg *tl);

/* Is the target's SSH session gone (disconnected, or closed by libssh)? */
bool target_leg_is_gone(const struct target_leg *tl);

/* The owner gives up on the leg (it ends): a lookup still running is ignored when it ends. */
void target_leg_halt(struct target_leg *tl);

/*
 * Stop the poll, free the channel and the session, close the socket, wipe
 * the credential.  Handles close asynchronously: closed() follows.  Free
 * any channel opened on cs (forwards) before.
 */
void target_leg_close(struct target_leg *tl);

/* After target_leg_close(): nothing is outstanding, the leg's memory may go. */
bool target_leg_is_closed(const struct target_leg *tl);

#endif
